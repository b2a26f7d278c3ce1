/*
 * bench_seed.c -- fill a ddns store with COUNT synthetic hosts, fast: a
 * benchmark helper, not an operator tool (that is "ddnsctl import").
 *
 *   bench-seed [--map-size BYTES] [--secret S] [--secrets FILE]
 *              [--zonefile FILE] [--shuffle] STORE ZONE COUNT
 *
 * Hosts are h0.ZONE .. h<COUNT-1>.ZONE, each with an A record
 * (10.0.0.0/8, from its number) and every tenth one also with an AAAA
 * (2001:db8::/64).  One write transaction per SEED_BATCH hosts instead of
 * one synced commit per "ddnsctl host add".  Every host gets the same
 * credential (the secret S, default "benchsecret"), so an update benchmark
 * can authenticate as any of them; with --secrets FILE each host gets a
 * secret of its own instead, written to FILE as "FQDN SECRET" lines (a
 * benchmark's credentials, for an update load generator).  Hosts are added in the order of their
 * numbers, or with --shuffle in a fixed pseudo-random order (as hosts
 * registered over time would be), which leaves LMDB's pages less full.
 *
 * --zonefile writes the same data as a zone file for "pdnsutil load-zone",
 * SOA and NS as ddns-backend answers them, so the native LMDB backend of
 * pdns serves exactly what ddns serves.  The zone is created if absent.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "secret.h"
#include "store.h"

#define SEED_BATCH   10000
#define SEED_NS	     "ns1.example.org"
#define SEED_HMASTER "hostmaster.example.org"
#define SEED_MAX     100000000UL

struct seed {
	const char *dir, *zone, *zonefile, *secret, *secrets;
	unsigned long count;
	bool shuffle;
	uint64_t map_size;
};

static void usage(void)
{
	fprintf(stderr, "usage: bench-seed [--map-size BYTES] [--secret S] "
			"[--secrets FILE] [--zonefile FILE] [--shuffle] STORE "
			"ZONE COUNT\n");
}

/* Range-checked unsigned parse; 0 or -1. */
static int parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct seed *o)
{
	const char *pos[3];
	unsigned long v;
	int n = 0;

	memset(o, 0, sizeof *o);
	o->secret = "benchsecret";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--map-size") == 0 && i + 1 < argc) {
			if (parse_ul(argv[++i], (unsigned long)-1, &v) != 0)
				return -1;
			o->map_size = v;
		} else if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc) {
			o->secret = argv[++i];
		} else if (strcmp(argv[i], "--secrets") == 0 && i + 1 < argc) {
			o->secrets = argv[++i];
		} else if (strcmp(argv[i], "--shuffle") == 0) {
			o->shuffle = true;
		} else if (strcmp(argv[i], "--zonefile") == 0 && i + 1 < argc) {
			o->zonefile = argv[++i];
		} else if (argv[i][0] == '-' || n == 3) {
			return -1;
		} else {
			pos[n++] = argv[i];
		}
	}
	if (n != 3 || parse_ul(pos[2], SEED_MAX, &o->count) != 0)
		return -1;
	o->dir = pos[0];
	o->zone = pos[1];
	return 0;
}

/* Host I's name and addresses into H (zone id ZID, credential CRED). */
static void host_make(unsigned long i, const char *zone, uint32_t zid,
		      const struct ddns_cred *cred, int64_t now,
		      struct ddns_host *h)
{
	uint32_t a = 0x0a000000u | (uint32_t)((i + 1) & 0xffffff);

	memset(h, 0, sizeof *h);
	snprintf(h->fqdn, sizeof h->fqdn, "h%lu.%s", i, zone);
	h->zone_id = zid;
	h->flags = DDNS_HOST_V4;
	h->v4.s_addr = htonl(a);
	if (i % 10 == 0) {
		h->flags |= DDNS_HOST_V6;
		h->v6.s6_addr[0] = 0x20;
		h->v6.s6_addr[1] = 0x01;
		h->v6.s6_addr[2] = 0x0d;
		h->v6.s6_addr[3] = 0xb8;
		for (int b = 0; b < 4; b++)
			h->v6.s6_addr[15 - b] = (uint8_t)(i >> (8 * b));
	}
	h->created = now;
	h->updated = now;
	memcpy(&h->cred, cred, sizeof *cred);
}

/* The zone, created when absent, into Z. */
static int zone_ensure(ddns_store *s, const char *name, struct ddns_zone *z)
{
	ddns_txn *t = NULL;
	int rc = ddns_txn_begin(s, true, &t);

	if (rc)
		return rc;
	rc = ddns_zone_get(t, name, z);
	if (rc == DDNS_ENOTFOUND) {
		memset(z, 0, sizeof *z);
		snprintf(z->name, sizeof z->name, "%s", name);
		snprintf(z->ns[0], sizeof z->ns[0], "%s", SEED_NS);
		z->n_ns = 1;
		snprintf(z->hostmaster, sizeof z->hostmaster, "%s",
			 SEED_HMASTER);
		z->ttl = DDNS_DEFAULT_TTL;
		z->kind = DDNS_ZONE_NATIVE;
		rc = ddns_zone_add(t, z);
	}
	if (rc) {
		ddns_txn_abort(t);
		return rc;
	}
	return ddns_txn_commit(t);
}

/* The K-th host number to add: K itself, or with SHUFFLE a permutation of
 * 0..N-1 (a step coprime with N walks every number once). */
static unsigned long seed_order(unsigned long k, unsigned long n, bool shuffle)
{
	unsigned long step = 2654435761UL % n, a, b, t;

	if (!shuffle || n < 3)
		return k;
	for (;; step++) { /* smallest step >= the start that is coprime */
		for (a = step, b = n; b; t = a % b, a = b, b = t)
			;
		if (a == 1)
			break;
	}
	return (unsigned long)(((unsigned long long)k * step + 7) % n);
}

/* With SF, a new secret for H, written to SF as "FQDN SECRET". */
static int own_secret(FILE *sf, struct ddns_host *h)
{
	char secret[DDNS_SECRET_BUF];
	int rc;

	if (!sf)
		return 0;
	if ((rc = ddns_cred_new(secret, &h->cred)) != 0)
		return rc;
	rc = fprintf(sf, "%s %s\n", h->fqdn, secret) < 0 ? DDNS_EIO : 0;
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

static int seed_hosts(ddns_store *s, const struct seed *o,
		      const struct ddns_zone *z, const struct ddns_cred *cred,
		      FILE *sf)
{
	int64_t now = (int64_t)time(NULL);
	ddns_txn *t = NULL;
	struct ddns_host h;
	int rc = 0;

	for (unsigned long i = 0; i < o->count && rc == 0; i++) {
		if (!t && (rc = ddns_txn_begin(s, true, &t)) != 0)
			break;
		host_make(seed_order(i, o->count, o->shuffle), o->zone, z->id,
			  cred, now, &h);
		if ((rc = own_secret(sf, &h)) != 0)
			break;
		rc = ddns_host_add(t, &h);
		if (rc == DDNS_EEXIST)
			rc = ddns_host_put(t, &h);
		if (rc == 0 && (i + 1) % SEED_BATCH == 0) {
			rc = ddns_txn_commit(t);
			t = NULL;
		}
	}
	if (t && rc == 0)
		return ddns_txn_commit(t);
	ddns_txn_abort(t);
	return rc;
}

static int write_zonefile(const struct seed *o, const struct ddns_zone *z)
{
	char a[INET6_ADDRSTRLEN];
	struct ddns_cred none;
	struct ddns_host h;
	FILE *f = fopen(o->zonefile, "w");

	if (!f)
		return DDNS_EIO;
	memset(&none, 0, sizeof none);
	fprintf(f,
		"%s. 3600 IN SOA %s. %s. %" PRIu32 " 10800 3600 604800 %" PRIu32
		"\n",
		z->name, z->ns[0], z->hostmaster, z->serial, z->ttl);
	for (unsigned i = 0; i < z->n_ns; i++)
		fprintf(f, "%s. 3600 IN NS %s.\n", z->name, z->ns[i]);
	for (unsigned long i = 0; i < o->count; i++) {
		host_make(i, o->zone, z->id, &none, 0, &h);
		inet_ntop(AF_INET, &h.v4, a, sizeof a);
		fprintf(f, "%s. %" PRIu32 " IN A %s\n", h.fqdn, z->ttl, a);
		if (h.flags & DDNS_HOST_V6) {
			inet_ntop(AF_INET6, &h.v6, a, sizeof a);
			fprintf(f, "%s. %" PRIu32 " IN AAAA %s\n", h.fqdn,
				z->ttl, a);
		}
	}
	return fclose(f) == 0 ? 0 : DDNS_EIO;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct ddns_cred cred;
	struct ddns_zone z;
	ddns_store *s = NULL;
	FILE *sf = NULL;
	struct seed o;
	char err[512];
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		usage();
		return 2;
	}
	ddns_log_init("bench-seed", DDNS_LOG_WARN);
	memset(&cred, 0, sizeof cred);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ddns_store_open(&s, o.dir, DDNS_STORE_CREATE, o.map_size, err,
			     sizeof err);
	if (rc) {
		fprintf(stderr, "bench-seed: %s\n", err);
		return 1;
	}
	rc = ddns_secret_hash(o.secret, strlen(o.secret), cred.salt, cred.hash);
	if (!rc)
		rc = zone_ensure(s, o.zone, &z);
	if (!rc && o.secrets && !(sf = fopen(o.secrets, "w")))
		rc = DDNS_EIO;
	if (!rc)
		rc = seed_hosts(s, &o, &z, &cred, sf);
	if (sf && fclose(sf) != 0 && !rc)
		rc = DDNS_EIO;
	if (!rc && o.zonefile)
		rc = write_zonefile(&o, &z);
	ddns_store_close(s);
	if (rc) {
		fprintf(stderr, "bench-seed: %s\n", ddns_strerror(rc));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("seeded %lu hosts into %s (zone id %" PRIu32 ", serial %" PRIu32
	       ") in %.2f s\n",
	       o.count, o.zone, z.id, z.serial,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}
