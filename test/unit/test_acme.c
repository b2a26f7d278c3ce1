/*
 * test_acme.c -- ACME challenges in the updater: the httpreq body and name
 * checks of acme.c, /nic/update's txt= and clear (dyndns2.c: decide,
 * commit, the values stored), and the expiry sweep, on a real store in a
 * temporary directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "acme.h"
#include "challenge.h"
#include "check.h"
#include "dyndns2.h"
#include "err.h"
#include "log.h"
#include "store.h"

#define V1   "Zm9vYmFyMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY"
#define V2   "YmF6cXV4MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY"
#define HOST "h.dyn.example.org"

static struct ddns_d2_req R; /* large: one for the run */
static char dir[64];
static ddns_store *S;
static char secret[DDNS_SECRET_BUF];

static void test_host_of(void)
{
	static const struct {
		const char *in, *host;
	} t[] = {
	    {"_acme-challenge.h.dyn.example.org.", HOST},
	    {"_ACME-CHALLENGE.H.Dyn.Example.Org", HOST},
	    {"_acme-challenge.h.dyn.example.org..", NULL},
	    {"_acme-challenge.", NULL},
	    {"_acme-challenge.org", NULL}, /* a single label: no host */
	    {"h.dyn.example.org", NULL},
	    {"_acme-challenge._acme-challenge.h.dyn.example.org", NULL},
	    {"x_acme-challenge.h.dyn.example.org", NULL},
	    {"_acme-challenge.*.dyn.example.org", NULL},
	};
	char host[DDNS_NAME_BUF];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = ddns_acme_host_of(t[i].in, strlen(t[i].in), host);

		CHECK_INT(rc, t[i].host ? 0 : DDNS_EBADNAME);
		if (t[i].host && rc == 0)
			CHECK_STR(host, t[i].host);
	}
}

static int body(const char *json, char *host, char *value)
{
	char why[160];

	return ddns_acme_parse_body(json, strlen(json), host, value, why,
				    sizeof why);
}

static void test_body(void)
{
	char host[DDNS_NAME_BUF], value[DDNS_CHALLENGE_VALUE_MAX + 1];
	char big[DDNS_ACME_BODY_MAX + 64];

	CHECK_INT(body("{\"fqdn\":\"_acme-challenge.h.dyn.example.org.\","
		       "\"value\":\"" V1 "\"}",
		       host, value),
		  0);
	CHECK_STR(host, HOST);
	CHECK_STR(value, V1);
	CHECK_INT(body("{\"fqdn\":\"_acme-challenge.h.dyn.example.org.\","
		       "\"value\":\"" V1 "\",\"extra\":1}",
		       host, value),
		  0);
	CHECK_INT(body("{\"fqdn\":\"h.dyn.example.org.\",\"value\":\"x\"}",
		       host, value),
		  400);
	CHECK_INT(body("{\"fqdn\":\"_acme-challenge.h.dyn.example.org.\","
		       "\"value\":\"a b\"}",
		       host, value),
		  400);
	CHECK_INT(body("{\"fqdn\":\"_acme-challenge.h.dyn.example.org.\","
		       "\"value\":\"\\\"x\"}",
		       host, value),
		  400);
	CHECK_INT(body("{\"fqdn\":\"_acme-challenge.h.dyn.example.org.\"}",
		       host, value),
		  400);
	CHECK_INT(body("{\"fqdn\":1,\"value\":\"x\"}", host, value), 400);
	CHECK_INT(body("[]", host, value), 400);
	CHECK_INT(body("not json", host, value), 400);
	CHECK_INT(body("", host, value), 400);
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(body(big, host, value), 413);
}

/* ---- the store side ------------------------------------------------------ */

static void open_store(void)
{
	char err[256];
	struct ddns_zone z;
	struct ddns_host h;
	ddns_txn *t = NULL;

	snprintf(dir, sizeof dir, "/tmp/ddns-test-acme-XXXXXX");
	if (!mkdtemp(dir) || ddns_store_open(&S, dir, DDNS_STORE_CREATE,
					     1 << 24, err, sizeof err) != 0) {
		fprintf(stderr, "cannot make a store: %s\n", err);
		exit(1);
	}
	memset(&z, 0, sizeof z);
	snprintf(z.name, sizeof z.name, "dyn.example.org");
	snprintf(z.ns[0], sizeof z.ns[0], "ns1.example.org");
	snprintf(z.hostmaster, sizeof z.hostmaster, "hostmaster.example.org");
	z.n_ns = 1;
	z.ttl = 60;
	memset(&h, 0, sizeof h);
	snprintf(h.fqdn, sizeof h.fqdn, HOST);
	h.created = 1000;
	CHECK_INT(ddns_cred_new(secret, &h.cred), 0);
	CHECK_INT(ddns_txn_begin(S, true, &t), 0);
	CHECK_INT(ddns_zone_add(t, &z), 0);
	h.zone_id = z.id;
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static void close_store(void)
{
	char cmd[128];

	ddns_store_close(S);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* /nic/update?QUERY with the host's secret (username/password in the
 * query) from 192.0.2.9, committed at NOW; the reply text into OUT.
 * Returns the plan's first code. */
static int update(const char *query, int64_t now, char *out, size_t cap)
{
	struct ddns_d2_plan plan;
	struct ddns_addr client;
	struct ddns_buf b = {0};
	struct ddns_d2_update *u = &plan.upd;
	char q[512];
	ddns_txn *t = NULL;

	CHECK_INT(ddns_addr_parse("192.0.2.9", 9, &client), 0);
	snprintf(q, sizeof q, "username=" HOST "&password=%s&%s", secret,
		 query);
	ddns_d2_req_clear(&R);
	R.txt_ttl = 100;
	R.txt_max = 4;
	ddns_d2_parse_form(&R, q, strlen(q));
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(ddns_d2_decide(t, &R, &client, &plan), 0);
	ddns_txn_abort(t);
	if (plan.write) {
		CHECK_INT(ddns_d2_commit(S, &u, 1, now), 0);
		ddns_d2_plan_finish(&plan, u->code);
	}
	ddns_d2_format(&plan, &b);
	snprintf(out, cap, "%s", b.data ? b.data : "");
	ddns_buf_free(&b);
	return plan.code[0];
}

/* The stored values of HOST, as "v1,v2" (expiries in *EXP of the first). */
static const char *stored(char *out, size_t cap, int64_t *exp)
{
	struct ddns_challenges c;
	ddns_txn *t = NULL;
	size_t o = 0;

	out[0] = '\0';
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	if (ddns_challenge_get(t, HOST, &c) == 0)
		for (unsigned i = 0; i < c.n; i++) {
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      i ? "," : "", c.v[i].value);
			if (i == 0 && exp)
				*exp = c.v[0].expires;
		}
	ddns_txn_abort(t);
	return out;
}

static void test_nic_update(void)
{
	char reply[128], vals[512];
	int64_t exp = 0;
	struct ddns_host h;
	ddns_txn *t = NULL;

	CHECK_INT(update("txt=" V1, 5000, reply, sizeof reply), DDNS_D2_GOOD);
	CHECK_STR(reply, "good");
	CHECK_STR(stored(vals, sizeof vals, &exp), V1);
	CHECK_INT(exp, 5100);
	/* no address given: the host's addresses were left alone */
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(ddns_host_get(t, HOST, &h), 0);
	ddns_txn_abort(t);
	CHECK_INT(h.flags & (DDNS_HOST_V4 | DDNS_HOST_V6), 0);
	CHECK_INT(
	    update("txt=" V2 "&myip=192.0.2.1", 5001, reply, sizeof reply),
	    DDNS_D2_GOOD);
	CHECK_STR(reply, "good 192.0.2.1");
	CHECK_STR(stored(vals, sizeof vals, NULL), V1 "," V2);
	/* the same address again with a value: still good, no nochg */
	CHECK_INT(
	    update("txt=" V1 "&myip=192.0.2.1", 5002, reply, sizeof reply),
	    DDNS_D2_GOOD);
	CHECK_STR(stored(vals, sizeof vals, &exp), V1 "," V2);
	CHECK_INT(exp, 5102);
	/* clear one value, then all */
	CHECK_INT(update("txt=" V1 "&clear=true", 5003, reply, sizeof reply),
		  DDNS_D2_GOOD);
	CHECK_STR(stored(vals, sizeof vals, NULL), V2);
	CHECK_INT(update("clear", 5004, reply, sizeof reply), DDNS_D2_GOOD);
	CHECK_STR(stored(vals, sizeof vals, NULL), "");
	/* clear=false alone is an ordinary update (the client's address) */
	CHECK_INT(update("clear=false", 5005, reply, sizeof reply),
		  DDNS_D2_GOOD);
	CHECK_STR(reply, "good 192.0.2.9");
	/* bad input: dnserr, nothing stored */
	CHECK_INT(update("txt=a%20b", 5006, reply, sizeof reply),
		  DDNS_D2_DNSERR);
	CHECK_INT(update("txt=", 5006, reply, sizeof reply), DDNS_D2_DNSERR);
	CHECK_INT(update("txt=" V1 "&clear=maybe", 5006, reply, sizeof reply),
		  DDNS_D2_DNSERR);
	CHECK_INT(
	    update("txt=" V1 "&myip=300.1.1.1", 5006, reply, sizeof reply),
	    DDNS_D2_DNSERR);
	CHECK_STR(stored(vals, sizeof vals, NULL), "");
	/* at most txt_max values: the first to expire makes room */
	update("txt=a1", 6000, reply, sizeof reply);
	update("txt=a2", 6001, reply, sizeof reply);
	update("txt=a3", 6002, reply, sizeof reply);
	update("txt=a4", 6003, reply, sizeof reply);
	update("txt=a5", 6004, reply, sizeof reply);
	CHECK_STR(stored(vals, sizeof vals, NULL), "a2,a3,a4,a5");
}

static void test_sweep(void)
{
	char reply[128], vals[512];
	unsigned n = 9;
	int64_t now = (int64_t)time(NULL);
	struct ddns_challenges c;
	struct ddns_host h;
	ddns_txn *t = NULL;

	update("clear", now, reply, sizeof reply);
	update("txt=" V1, now - 50, reply, sizeof reply);  /* ends now + 50 */
	update("txt=" V2, now - 150, reply, sizeof reply); /* ended */
	CHECK_STR(stored(vals, sizeof vals, NULL), V1 "," V2);
	CHECK_INT(ddns_acme_sweep(S, NULL, now, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(stored(vals, sizeof vals, NULL), V1);
	CHECK_INT(ddns_acme_sweep(S, NULL, now, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(ddns_acme_sweep(S, NULL, now + 50, &n), 0);
	CHECK_INT(n, 1);
	CHECK_STR(stored(vals, sizeof vals, NULL), "");
	/* a host's values go with it; a record left without its host (or
	 * of a former host of the name) goes with the sweep */
	update("txt=" V1, now, reply, sizeof reply);
	CHECK_INT(ddns_txn_begin(S, true, &t), 0);
	CHECK_INT(ddns_host_get(t, HOST, &h), 0);
	CHECK_INT(ddns_host_del(t, HOST), 0);
	memset(&c, 0, sizeof c);
	ddns_challenge_add(&c, V1, now + 100, 4);
	CHECK_INT(ddns_challenge_put(t, "gone.dyn.example.org", &c), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK_STR(stored(vals, sizeof vals, NULL), "");
	CHECK_INT(ddns_acme_sweep(S, NULL, now, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(ddns_challenge_get(t, "gone.dyn.example.org", &c),
		  DDNS_ENOTFOUND);
	ddns_txn_abort(t);
}

/* ddns_acme_new's [acme] path checks and ddns_acme_route. */
static void test_route(void)
{
	static const char *const bad[] = {"acme", "/", "/a?b", "/a b", "/a%2f"};
	struct event_base *base = event_base_new();
	struct ddns_conf conf;
	struct ddns_acme_conf ac = {base, NULL, NULL, &conf};
	ddns_acme *a = NULL;
	char err[256];

	memset(&conf, 0, sizeof conf);
	CHECK_INT(ddns_acme_new(&a, &ac, err, sizeof err), 0);
	CHECK_INT(ddns_acme_ttl(a), 3600);
	CHECK_INT(ddns_acme_max(a), 4);
	CHECK_INT(ddns_acme_route(a, "/acme/present", 13), DDNS_ACME_PRESENT);
	CHECK_INT(ddns_acme_route(a, "/acme/cleanup", 13), DDNS_ACME_CLEANUP);
	CHECK_INT(ddns_acme_route(a, "/acme/other", 11), DDNS_ACME_UNKNOWN);
	CHECK_INT(ddns_acme_route(a, "/acme/", 6), DDNS_ACME_UNKNOWN);
	CHECK_INT(ddns_acme_route(a, "/acme", 5), DDNS_ACME_NONE);
	CHECK_INT(ddns_acme_route(a, "/acmex/present", 14), DDNS_ACME_NONE);
	CHECK_INT(ddns_acme_route(a, "/", 1), DDNS_ACME_NONE);
	ddns_acme_free(a);
	conf.acme_path = "/x/dns01/";
	conf.acme_challenge_ttl = 60;
	CHECK_INT(ddns_acme_new(&a, &ac, err, sizeof err), 0);
	CHECK_INT(ddns_acme_route(a, "/x/dns01/present", 16),
		  DDNS_ACME_PRESENT);
	CHECK_INT(ddns_acme_route(a, "/acme/present", 13), DDNS_ACME_NONE);
	ddns_acme_free(a);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		conf.acme_path = (char *)bad[i];
		CHECK_INT(ddns_acme_new(&a, &ac, err, sizeof err), DDNS_EINVAL);
	}
	event_base_free(base);
}

int main(void)
{
	ddns_log_init("test_acme", DDNS_LOG_ERR);
	test_host_of();
	test_body();
	test_route();
	open_store();
	test_nic_update();
	test_sweep();
	close_store();
	return check_done();
}
