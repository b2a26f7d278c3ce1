/*
 * test_store.c -- the LMDB store: opening and versions, zones (their
 * visibility and groups), serials, hosts (owners, comments), fault
 * records, range scans, value encodings (the examples of
 * schema/lmdb-v2.md byte for byte), a full map, a reader in another
 * process; schema 2's fault records, the upgrade from schema 1, loads
 * and backups.  Every store lives in a fresh mkdtemp
 * directory, removed at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "log.h"
#include "accounts.h"
#include "store.h"

#define PIPE_TIMEOUT_MS 10000

/* ---- helpers ---------------------------------------------------------- */

static void path_join(char *out, size_t cap, const char *base, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", base, name);

	if (n < 0 || (size_t)n >= cap)
		abort();
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Expected failures log errors; keep the test output readable. */
static void quiet(int on)
{
	ddns_log_threshold = on ? -1 : DDNS_LOG_ERR;
}

static ddns_store *open_rw(const char *dir, uint64_t map_size)
{
	char err[256];
	ddns_store *s = NULL;
	int rc = ddns_store_open(&s, dir, DDNS_STORE_CREATE, map_size, err,
				 sizeof err);

	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "open %s: %s\n", dir, err);
	return s;
}

static ddns_txn *begin(ddns_store *s, bool write)
{
	ddns_txn *t = NULL;

	CHECK_INT(ddns_txn_begin(s, write, &t), 0);
	return t;
}

static void zone_init(struct ddns_zone *z, const char *name)
{
	memset(z, 0, sizeof *z);
	snprintf(z->name, sizeof z->name, "%s", name);
	z->ttl = DDNS_DEFAULT_TTL;
	z->kind = DDNS_ZONE_NATIVE;
	z->n_ns = 2;
	snprintf(z->ns[0], sizeof z->ns[0], "ns1.%s", name);
	snprintf(z->ns[1], sizeof z->ns[1], "ns2.example.net");
	snprintf(z->hostmaster, sizeof z->hostmaster, "hostmaster.%s", name);
}

static void host_init(struct ddns_host *h, const char *fqdn, uint32_t zone_id)
{
	memset(h, 0, sizeof *h);
	snprintf(h->fqdn, sizeof h->fqdn, "%s", fqdn);
	h->zone_id = zone_id;
	h->flags = DDNS_HOST_V4;
	inet_pton(AF_INET, "192.0.2.1", &h->v4);
	h->created = 1700000000;
	for (int i = 0; i < DDNS_SALT_LEN; i++)
		h->cred.salt[i] = (uint8_t)i;
	for (int i = 0; i < DDNS_HASH_LEN; i++)
		h->cred.hash[i] = (uint8_t)(0xa0 + i);
}

static int add_zone(ddns_store *s, const char *name, uint32_t *id)
{
	struct ddns_zone z;
	ddns_txn *t = begin(s, true);
	int rc;

	zone_init(&z, name);
	rc = ddns_zone_add(t, &z);
	if (rc == 0 && id)
		*id = z.id;
	CHECK_INT(ddns_txn_commit(t), 0);
	return rc;
}

static int add_host(ddns_store *s, const char *fqdn, uint32_t zone_id)
{
	struct ddns_host h;
	ddns_txn *t = begin(s, true);
	int rc;

	host_init(&h, fqdn, zone_id);
	rc = ddns_host_add(t, &h);
	CHECK_INT(ddns_txn_commit(t), 0);
	return rc;
}

/* Raw LMDB access, as another program (or an older/newer ddns) would. */
static int raw_put(const char *dir, const char *db, const void *key,
		   size_t klen, const void *val, size_t len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {klen, (void *)key}, v = {len, (void *)val};
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 8);
	if (!rc)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, db, 0, &dbi);
	if (!rc)
		rc = mdb_put(txn, dbi, &k, &v, 0);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static int raw_meta_put(const char *dir, const char *key, const void *val,
			size_t len)
{
	return raw_put(dir, "meta", key, strlen(key), val, len);
}

static int raw_meta_get_u32(const char *dir, const char *key, uint32_t *out)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 8);
	if (!rc)
		rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", 0, &dbi);
	if (!rc)
		rc = mdb_get(txn, dbi, &k, &v);
	if (!rc && v.mv_size == 4) {
		const uint8_t *b = v.mv_data;
		*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		       (uint32_t)b[2] << 8 | b[3];
	} else if (!rc) {
		rc = -1;
	}
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* ---- open, create, refuse --------------------------------------------- */

static void test_open(const char *base)
{
	char dir[512], file[600], err[256];
	ddns_store *s = NULL;
	struct stat st;

	path_join(dir, sizeof dir, base, "new");
	/* Absent directory: readers and plain writers are refused. */
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    DDNS_ENOSTORE);
	CHECK(s == NULL);
	CHECK(strstr(err, dir) != NULL);
	CHECK(strstr(err, "ddnsctl") != NULL);
	CHECK_INT(ddns_store_open(&s, dir, 0, 0, err, sizeof err),
		  DDNS_ENOSTORE);
	/* RDONLY wins over CREATE. */
	CHECK_INT(ddns_store_open(&s, dir,
				  DDNS_STORE_RDONLY | DDNS_STORE_CREATE, 0, err,
				  sizeof err),
		  DDNS_ENOSTORE);
	CHECK(stat(dir, &st) != 0);

	s = open_rw(dir, 0);
	CHECK(s != NULL);
	CHECK_INT(ddns_store_sync(s), 0);
	ddns_store_close(s);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	path_join(file, sizeof file, dir, "data.mdb");
	CHECK(stat(file, &st) == 0 && (st.st_mode & 0077) == 0);

	s = NULL;
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err), 0);
	CHECK_INT(ddns_store_sync(s), 0);
	ddns_txn *t = NULL;
	CHECK_INT(ddns_txn_begin(s, true, &t), DDNS_EINVAL);
	ddns_store_close(s);
	ddns_store_close(NULL);
}

static void test_open_refused(const char *base)
{
	char dir[512], file[600], err[256];
	ddns_store *s = NULL;
	struct stat st;

	/* An empty directory holds no store; a reader leaves no file. */
	path_join(dir, sizeof dir, base, "empty");
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    DDNS_ENOSTORE);
	CHECK(strstr(err, "no ddns store") != NULL);
	path_join(file, sizeof file, dir, "lock.mdb");
	CHECK(stat(file, &st) != 0);

	/* World-writable directories are refused. */
	path_join(dir, sizeof dir, base, "open-to-all");
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(chmod(dir, 0777), 0);
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_CREATE, 0, err, sizeof err),
	    DDNS_EINVAL);
	CHECK(strstr(err, "writable") != NULL);

	/* A file is not a store directory. */
	path_join(dir, sizeof dir, base, "new/data.mdb");
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    DDNS_EINVAL);
	CHECK_INT(ddns_store_open(&s, "", 0, 0, err, sizeof err), DDNS_EINVAL);
	CHECK(err[0] != '\0');
}

static void test_version(const char *base)
{
	char dir[512], err[256];
	uint8_t v3[4] = {0, 0, 0, 3}, v1[4] = {0, 0, 0, 1}, bad[3] = {0, 0, 1};
	uint32_t found = 0;
	ddns_store *s;

	path_join(dir, sizeof dir, base, "version");
	s = open_rw(dir, 0);
	ddns_store_close(s);
	CHECK_INT(raw_meta_get_u32(dir, "schema", &found), 0);
	CHECK_INT(found, DDNS_SCHEMA_VERSION);
	CHECK_INT(raw_meta_get_u32(dir, "next_zone_id", &found), 0);
	CHECK_INT(found, 1);

	CHECK_INT(raw_meta_put(dir, "schema", v3, sizeof v3), 0);
	s = NULL;
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    DDNS_EVERSION);
	CHECK(s == NULL);
	CHECK(strstr(err, "schema version 3") != NULL);
	CHECK(strstr(err, "needs version 2") != NULL);
	CHECK(strstr(err, "upgrade ddns") != NULL);
	CHECK(strstr(err, dir) != NULL);
	/* A writer with CREATE is refused too and rewrites nothing. */
	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_CREATE, 0, err, sizeof err),
	    DDNS_EVERSION);
	CHECK_INT(raw_meta_get_u32(dir, "schema", &found), 0);
	CHECK_INT(found, 3);
	/* ANYVERSION opens it (for ddnsctl migrate), which refuses it */
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_ANYVERSION, 0, err,
				  sizeof err),
		  0);
	CHECK_INT(ddns_store_version(s), 3);
	CHECK_INT(ddns_store_migrate(s, &found, NULL), DDNS_EVERSION);
	ddns_store_close(s);

	/* an older store: told to run the migration, never upgraded */
	CHECK_INT(raw_meta_put(dir, "schema", v1, sizeof v1), 0);
	s = NULL;
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_CREATE, 0, err,
				  sizeof err),
		  DDNS_EVERSION);
	CHECK(strstr(err, "schema version 1") != NULL);
	CHECK(strstr(err, "ddnsctl migrate") != NULL);
	CHECK_INT(raw_meta_get_u32(dir, "schema", &found), 0);
	CHECK_INT(found, 1);

	CHECK_INT(raw_meta_put(dir, "schema", bad, sizeof bad), 0);
	CHECK_INT(ddns_store_open(&s, dir, 0, 0, err, sizeof err),
		  DDNS_ECORRUPT);
}

/* ---- zones ------------------------------------------------------------ */

static int collect_zone(const struct ddns_zone *z, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s%s", n ? "," : "", z->name);
	return 0;
}

static void test_zone_add(ddns_store *s)
{
	struct ddns_zone z;
	ddns_txn *t = begin(s, true);
	time_t now = time(NULL);

	zone_init(&z, "example.org");
	CHECK_INT(ddns_zone_add(t, &z), 0);
	CHECK_INT(z.id, 1);
	CHECK(z.created >= now - 5 && z.created <= now + 5);
	CHECK(z.serial != 0);
	zone_init(&z, "dyn.example.org");
	snprintf(z.hostmaster, sizeof z.hostmaster, "first\\.last.example.org");
	CHECK_INT(ddns_zone_add(t, &z), 0);
	CHECK_INT(z.id, 2);
	zone_init(&z, "example.org");
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EEXIST);
	zone_init(&z, "Bad_Zone.org");
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EBADNAME);
	zone_init(&z, "other.org");
	snprintf(z.ns[1], sizeof z.ns[1], "NS.Upper.org");
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EBADNAME);
	z.n_ns = DDNS_ZONE_NS_MAX + 1;
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EINVAL);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static void test_zone_get(ddns_store *s)
{
	struct ddns_zone z;
	char names[512] = "";
	ddns_txn *t = begin(s, false);

	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	CHECK_STR(z.name, "example.org");
	CHECK_INT(z.id, 1);
	CHECK_INT(z.ttl, DDNS_DEFAULT_TTL);
	CHECK_INT(z.n_ns, 2);
	CHECK_STR(z.ns[0], "ns1.example.org");
	CHECK_STR(z.ns[1], "ns2.example.net");
	CHECK_STR(z.hostmaster, "hostmaster.example.org");
	CHECK_INT(z.notified_serial, 0);
	CHECK_INT(ddns_zone_get(t, "nope.org", &z), DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_get(t, "", &z), DDNS_ENOTFOUND);

	CHECK_INT(ddns_zone_get_by_id(t, 2, &z), 0);
	CHECK_STR(z.name, "dyn.example.org");
	CHECK_STR(z.hostmaster, "first\\.last.example.org");
	CHECK_INT(ddns_zone_get_by_id(t, 99, &z), DDNS_ENOTFOUND);

	/* The deepest zone wins. */
	CHECK_INT(ddns_zone_find(t, "a.b.dyn.example.org", &z), 0);
	CHECK_STR(z.name, "dyn.example.org");
	CHECK_INT(ddns_zone_find(t, "dyn.example.org", &z), 0);
	CHECK_STR(z.name, "dyn.example.org");
	CHECK_INT(ddns_zone_find(t, "www.example.org", &z), 0);
	CHECK_STR(z.name, "example.org");
	CHECK_INT(ddns_zone_find(t, "example.org", &z), 0);
	CHECK_STR(z.name, "example.org");
	CHECK_INT(ddns_zone_find(t, "example.com", &z), DDNS_ENOZONE);
	CHECK_INT(ddns_zone_find(t, "org", &z), DDNS_ENOZONE);

	CHECK_INT(ddns_zone_foreach(t, collect_zone, names), 0);
	CHECK_STR(names, "dyn.example.org,example.org");
	/* Writes through a read transaction are refused. */
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", NULL), DDNS_EINVAL);
	ddns_txn_abort(t);
}

static void test_zone_update(ddns_store *s)
{
	struct ddns_zone z, got;
	ddns_txn *t = begin(s, true);
	ddns_txn *t2 = NULL;

	quiet(1);
	CHECK_INT(ddns_txn_begin(s, true, &t2), DDNS_EINVAL);
	quiet(0);
	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	z.ttl = 300;
	z.n_ns = 1;
	z.id = 77;     /* ignored */
	z.created = 5; /* ignored */
	z.kind = DDNS_ZONE_MASTER;
	CHECK_INT(ddns_zone_update(t, &z), 0);
	CHECK_INT(ddns_zone_get(t, "example.org", &got), 0);
	CHECK_INT(got.id, 1);
	CHECK_INT(got.ttl, 300);
	CHECK_INT(got.n_ns, 1);
	CHECK_INT(got.kind, DDNS_ZONE_MASTER);
	CHECK(got.created != 5);
	zone_init(&z, "absent.org");
	z.id = 1;
	CHECK_INT(ddns_zone_update(t, &z), DDNS_ENOTFOUND);

	CHECK_INT(ddns_zone_set_notified(t, 1, 4242), 0);
	CHECK_INT(ddns_zone_set_notified(t, 999, 1), DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_get(t, "example.org", &got), 0);
	CHECK_INT(got.notified_serial, 4242);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static void test_serial(ddns_store *s)
{
	struct ddns_zone z;
	uint32_t before, after = 0;
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	before = z.serial;
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", &after), 0);
	CHECK_INT(after, before + 1);
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", NULL), 0);
	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	CHECK_INT(z.serial, before + 2);
	CHECK_INT(ddns_zone_bump_serial(t, "nope.org", NULL), DDNS_ENOTFOUND);
	/* Aborted bumps are not kept. */
	ddns_txn_abort(t);
	t = begin(s, false);
	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	CHECK_INT(z.serial, before);
	ddns_txn_abort(t);
}

/* RFC 1982 wrap: the serial is set with raw LMDB while the store is shut. */
static ddns_store *test_serial_wrap(ddns_store *s, const char *dir)
{
	uint8_t max[4] = {0xff, 0xff, 0xff, 0xff},
		half[4] = {0x7f, 0xff, 0xff, 0xff};
	uint32_t v = 0;
	ddns_txn *t;

	ddns_store_close(s);
	CHECK_INT(raw_meta_put(dir, "serial/example.org", max, 4), 0);
	s = open_rw(dir, 0);
	t = begin(s, true);
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", &v), 0);
	CHECK_INT(v, 1); /* 0 is skipped */
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", &v), 0);
	CHECK_INT(v, 2);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	CHECK_INT(raw_meta_put(dir, "serial/example.org", half, 4), 0);
	s = open_rw(dir, 0);
	t = begin(s, true);
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", &v), 0);
	CHECK_INT(v, 0x80000000u);
	CHECK_INT(ddns_txn_commit(t), 0);
	return s;
}

/* ---- hosts ------------------------------------------------------------ */

static void test_host_add(ddns_store *s)
{
	struct ddns_host h;
	ddns_txn *t = begin(s, true);

	host_init(&h, "a.example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EEXIST);
	host_init(&h, "c.example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), 0);
	host_init(&h, "b.dyn.example.org", 2);
	CHECK_INT(ddns_host_add(t, &h), 0);
	/* one label below the zone, no deeper: y.dyn.example.org would be an
	 * empty non-terminal (see test_legacy_host for old deep hosts) */
	host_init(&h, "x.y.dyn.example.org", 2);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EDEPTH);
	host_init(&h, "q.b.dyn.example.org", 2); /* below a host, too */
	CHECK_INT(ddns_host_add(t, &h), DDNS_EDEPTH);
	host_init(&h, "a.b.c.example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EDEPTH);
	CHECK(strcmp(ddns_strerror(DDNS_EDEPTH), "unknown error") != 0);

	host_init(&h, "z.dyn.example.org", 1); /* belongs to the deeper zone */
	CHECK_INT(ddns_host_add(t, &h), DDNS_EINVAL);
	host_init(&h, "example.org", 1); /* the apex is no host */
	CHECK_INT(ddns_host_add(t, &h), DDNS_EINVAL);
	host_init(&h, "q.example.com", 1);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EINVAL);
	host_init(&h, "q.example.com", 77);
	CHECK_INT(ddns_host_add(t, &h), DDNS_ENOZONE);
	host_init(&h, "q.example.org", 77);
	CHECK_INT(ddns_host_add(t, &h), DDNS_ENOZONE);
	host_init(&h, "Q.example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EBADNAME);
	host_init(&h, "q..example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), DDNS_EBADNAME);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* A host stored deeper than one label below its zone (before that rule):
 * written with raw LMDB while the store is shut, then read, listed and
 * updated as any other. */
static ddns_store *test_legacy_host(ddns_store *s, const char *dir)
{
	struct ddns_host h, got;
	char key[DDNS_NAME_BUF];
	uint8_t val[256];
	int n;
	ddns_txn *t;

	ddns_store_close(s);
	host_init(&h, "x.y.dyn.example.org", 2);
	n = ddns_host_encode(&h, val, sizeof val);
	CHECK(n > 0);
	CHECK_INT(raw_put(dir, "hosts", key, ddns_name_key(h.fqdn, key), val,
			  (size_t)n),
		  0);
	s = open_rw(dir, 0);
	t = begin(s, true);
	CHECK_INT(ddns_host_get(t, "x.y.dyn.example.org", &got), 0);
	CHECK(memcmp(&got, &h, sizeof h) == 0);
	h.updated = 1700000001;
	inet_pton(AF_INET, "192.0.2.99", &h.v4);
	CHECK_INT(ddns_host_put(t, &h), 0);
	CHECK_INT(ddns_host_get(t, "x.y.dyn.example.org", &got), 0);
	CHECK(memcmp(&got, &h, sizeof h) == 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	return s;
}

static void test_host_get_put(ddns_store *s)
{
	struct ddns_host h, got;
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_host_get(t, "a.example.org", &got), 0);
	host_init(&h, "a.example.org", 1);
	CHECK(memcmp(&got, &h, sizeof h) == 0);
	CHECK_STR(got.fqdn, "a.example.org");

	h.flags = DDNS_HOST_V4 | DDNS_HOST_V6 | DDNS_HOST_TLS6;
	inet_pton(AF_INET, "198.51.100.7", &h.v4);
	inet_pton(AF_INET6, "2001:db8::1", &h.v6);
	h.updated = -1; /* times are u32 seconds (schema 2) */
	CHECK_INT(ddns_host_put(t, &h), DDNS_EINVAL);
	h.updated = UINT32_MAX;
	h.client_faults = 3;
	h.server_faults = 4;
	h.auth_faults = 0xffffffffu;
	h.last_fault = UINT32_MAX - 1;
	h.owner = 0xfedcba98;
	CHECK_INT(ddns_host_put(t, &h), 0);
	CHECK_INT(ddns_host_get(t, "a.example.org", &got), 0);
	CHECK(memcmp(&got, &h, sizeof h) == 0);
	CHECK_INT(got.owner, 0xfedcba98);
	h.owner = 0; /* back to an operator's host */
	CHECK_INT(ddns_host_put(t, &h), 0);
	CHECK_INT(ddns_host_get(t, "a.example.org", &got), 0);
	CHECK_INT(got.owner, 0);

	h.zone_id = 2; /* a zone it does not lie in */
	CHECK_INT(ddns_host_put(t, &h), DDNS_EINVAL);
	host_init(&h, "absent.example.org", 1);
	CHECK_INT(ddns_host_put(t, &h), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "absent.example.org", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "", &got), DDNS_ENOTFOUND);

	host_init(&h, "gone.example.org", 1);
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_host_del(t, "gone.example.org"), 0);
	CHECK_INT(ddns_host_del(t, "gone.example.org"), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "gone.example.org", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
}

struct names {
	char list[1024];
	int stop_after; /* 0: never */
	int seen;
};

static int collect_host(const struct ddns_host *h, void *arg)
{
	struct names *n = arg;
	size_t len = strlen(n->list);

	snprintf(n->list + len, sizeof n->list - len, "%s%s", len ? "," : "",
		 h->fqdn);
	n->seen++;
	return n->stop_after && n->seen >= n->stop_after ? 7 : 0;
}

static void test_host_foreach(ddns_store *s)
{
	struct names n;
	struct ddns_zone z;
	ddns_txn *t = begin(s, false);

	memset(&n, 0, sizeof n);
	CHECK_INT(ddns_zone_get(t, "example.org", &z), 0);
	CHECK_INT(ddns_host_foreach(t, &z, collect_host, &n), 0);
	CHECK_STR(n.list, "a.example.org,c.example.org");

	memset(&n, 0, sizeof n);
	CHECK_INT(ddns_zone_get(t, "dyn.example.org", &z), 0);
	CHECK_INT(ddns_host_foreach(t, &z, collect_host, &n), 0);
	CHECK_STR(n.list, "b.dyn.example.org,x.y.dyn.example.org");

	memset(&n, 0, sizeof n);
	CHECK_INT(ddns_host_foreach(t, NULL, collect_host, &n), 0);
	CHECK_STR(n.list, "a.example.org,c.example.org,b.dyn.example.org,"
			  "x.y.dyn.example.org");

	memset(&n, 0, sizeof n);
	n.stop_after = 1;
	CHECK_INT(ddns_host_foreach(t, NULL, collect_host, &n), 7);
	CHECK_INT(n.seen, 1);
	ddns_txn_abort(t);
}

/* A zone may not be added over or above existing hosts. */
static void test_zone_over_hosts(ddns_store *s)
{
	CHECK_INT(add_zone(s, "c.example.org", NULL), DDNS_EBUSY);
	CHECK_INT(add_zone(s, "y.dyn.example.org", NULL), DDNS_EBUSY);
}

static void test_zone_del(ddns_store *s)
{
	struct ddns_zone z;
	struct names n;
	unsigned count = 99;
	uint32_t id = 0;
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_zone_del(t, "dyn.example.org", false, &count),
		  DDNS_EBUSY);
	CHECK_INT(count, 2);
	CHECK_INT(ddns_zone_del(t, "example.org", false, &count), DDNS_EBUSY);
	CHECK_INT(count, 2); /* hosts of the nested zone are not counted */
	CHECK_INT(ddns_zone_del(t, "example.org", true, &count), 0);
	CHECK_INT(count, 2);
	CHECK_INT(ddns_zone_del(t, "example.org", true, &count),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_get(t, "example.org", &z), DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_get_by_id(t, 1, &z), DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_bump_serial(t, "example.org", NULL),
		  DDNS_ENOTFOUND);
	memset(&n, 0, sizeof n);
	CHECK_INT(ddns_host_foreach(t, NULL, collect_host, &n), 0);
	CHECK_STR(n.list, "b.dyn.example.org,x.y.dyn.example.org");
	CHECK_INT(ddns_txn_commit(t), 0);

	/* Ids are never reused. */
	CHECK_INT(add_zone(s, "example.org", &id), 0);
	CHECK_INT(id, 3);
	t = begin(s, true);
	CHECK_INT(ddns_zone_del(t, "example.org", false, NULL), 0);
	CHECK_INT(ddns_zone_del(t, "dyn.example.org", true, NULL), 0);
	memset(&n, 0, sizeof n);
	CHECK_INT(ddns_host_foreach(t, NULL, collect_host, &n), 0);
	CHECK_STR(n.list, "");
	CHECK_INT(ddns_txn_commit(t), 0);
}

static int count_host(const struct ddns_host *h, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

/* Force-deleting a zone whose hosts span many pages, with a nested zone's
 * hosts interleaved in the key range. */
static void test_zone_del_many(ddns_store *s)
{
	char fqdn[DDNS_NAME_BUF];
	struct ddns_host h;
	struct ddns_zone z;
	uint32_t big = 0, nested = 0;
	unsigned count = 0, left = 0;
	ddns_txn *t;

	CHECK_INT(add_zone(s, "big.test", &big), 0);
	CHECK_INT(add_zone(s, "n.big.test", &nested), 0);
	t = begin(s, true);
	for (int i = 0; i < 600; i++) {
		snprintf(fqdn, sizeof fqdn, "h%03d.big.test", i);
		host_init(&h, fqdn, big);
		CHECK_INT(ddns_host_add(t, &h), 0);
		if (i % 10)
			continue;
		snprintf(fqdn, sizeof fqdn, "h%03d.n.big.test", i);
		host_init(&h, fqdn, nested);
		CHECK_INT(ddns_host_add(t, &h), 0);
	}
	CHECK_INT(ddns_zone_del(t, "big.test", true, &count), 0);
	CHECK_INT(count, 600);
	CHECK_INT(ddns_host_foreach(t, NULL, count_host, &left), 0);
	CHECK_INT(left, 60);
	CHECK_INT(ddns_zone_get(t, "n.big.test", &z), 0);
	left = 0;
	CHECK_INT(ddns_host_foreach(t, &z, count_host, &left), 0);
	CHECK_INT(left, 60);
	CHECK_INT(ddns_zone_del(t, "n.big.test", true, &count), 0);
	CHECK_INT(count, 60);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* ---- encodings -------------------------------------------------------- */

/* A zone with every field used, encoded into BUF; returns the length. */
static int zone_sample(struct ddns_zone *z, uint8_t *buf, size_t cap)
{
	zone_init(z, "example.org");
	z->id = 0xfedcba98;
	z->ttl = 123456;
	z->kind = DDNS_ZONE_MASTER;
	z->created = -2;
	z->n_ns = DDNS_ZONE_NS_MAX;
	for (int i = 0; i < DDNS_ZONE_NS_MAX; i++)
		snprintf(z->ns[i], sizeof z->ns[i], "ns%d.example.net", i);
	z->visibility = DDNS_ZONE_PRIVATE;
	z->n_groups = DDNS_ZONE_GROUPS_MAX;
	for (int i = 0; i < DDNS_ZONE_GROUPS_MAX; i++)
		snprintf(z->groups[i], sizeof z->groups[i],
			 "urn:mace:egi.eu:group:vo%d.example.org", i);
	return ddns_zone_encode(z, buf, cap);
}

static void test_zone_codec(void)
{
	struct ddns_zone z, got;
	uint8_t buf[4096];
	int n = zone_sample(&z, buf, sizeof buf);

	CHECK(n > 0);
	memset(&got, 0x55, sizeof got);
	CHECK_INT(ddns_zone_decode(buf, (size_t)n, &got), 0);
	CHECK_STR(got.name, ""); /* filled by the caller, from the key */
	CHECK_INT(got.serial, 0);
	CHECK_INT(got.id, z.id);
	CHECK_INT(got.ttl, z.ttl);
	CHECK_INT(got.kind, z.kind);
	CHECK_INT(got.created, -2);
	CHECK_INT(got.n_ns, DDNS_ZONE_NS_MAX);
	CHECK_STR(got.ns[7], "ns7.example.net");
	CHECK_STR(got.hostmaster, z.hostmaster);
	CHECK_INT(got.visibility, DDNS_ZONE_PRIVATE);
	CHECK_INT(got.n_groups, DDNS_ZONE_GROUPS_MAX);
	CHECK_STR(got.groups[7], "urn:mace:egi.eu:group:vo7.example.org");
	CHECK_INT(buf[0], 1);
	CHECK_INT(buf[1], 0xfe); /* big-endian */
	/* the longest zone value there can be */
	for (int i = 0; i < DDNS_ZONE_NS_MAX; i++) {
		memset(z.ns[i], 'a', 63);
		snprintf(z.ns[i] + 63, sizeof z.ns[i] - 63, ".%d%s", i,
			 ".example.net");
	}
	for (int i = 0; i < DDNS_ZONE_GROUPS_MAX; i++) {
		memset(z.groups[i], 'g', DDNS_GROUP_MAX);
		z.groups[i][0] = (char)('0' + i);
		z.groups[i][DDNS_GROUP_MAX] = '\0';
	}
	n = ddns_zone_encode(&z, buf, sizeof buf);
	CHECK(n > 2048);
	CHECK_INT(ddns_zone_decode(buf, (size_t)n, &got), 0);
	CHECK_STR(got.groups[3], z.groups[3]);
}

static void test_zone_codec_corrupt(void)
{
	struct ddns_zone z, got;
	uint8_t buf[4096], bad[4096];
	int n = zone_sample(&z, buf, sizeof buf);

	CHECK_INT(ddns_zone_encode(&z, buf, (size_t)n - 1), DDNS_ETOOBIG);
	for (int len = 0; len < n; len++)
		if (ddns_zone_decode(buf, (size_t)len, &got) != DDNS_ECORRUPT)
			CHECK_INT(len, -1); /* every truncation is refused */
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	CHECK_INT(ddns_zone_decode(bad, (size_t)n + 1, &got), DDNS_ECORRUPT);
	bad[0] = 2;
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	bad[0] = 0;
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);

	memcpy(bad, buf, (size_t)n);
	bad[18] = DDNS_ZONE_NS_MAX + 1; /* n_ns */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[9] = 2; /* kind */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	memset(bad + 1, 0, 4); /* id 0 */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[20] = 'N'; /* "ns0..." -> "Ns0...": not a normalised name */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[19] = 0; /* empty string */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);

	/* visibility and groups: they end the value (n = value length) */
	z.n_groups = 2;
	snprintf(z.groups[0], sizeof z.groups[0], "ab");
	snprintf(z.groups[1], sizeof z.groups[1], "cd");
	n = ddns_zone_encode(&z, buf, sizeof buf);
	CHECK_INT(buf[n - 8], DDNS_ZONE_PRIVATE);
	CHECK_INT(buf[n - 7], 2);
	CHECK_INT(ddns_zone_decode(buf, (size_t)n, &got), 0);
	memcpy(bad, buf, (size_t)n);
	bad[n - 8] = 3; /* an unknown visibility */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 7] = DDNS_ZONE_GROUPS_MAX + 1;
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 2] = 'a'; /* "cd" -> "ab": the same group twice */
	bad[n - 1] = 'b';
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = '\x7f'; /* a control character */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = ' '; /* a trailing space */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 3] = 0; /* an empty group */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n - 2, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 7] = 1; /* one group and 3 octets left over */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 7] = 0; /* cut after the count: no groups is fine */
	CHECK_INT(ddns_zone_decode(bad, (size_t)n - 6, &got), 0);
	CHECK_INT(got.n_groups, 0);
	z.visibility = 3;
	CHECK_INT(ddns_zone_encode(&z, buf, sizeof buf), DDNS_EINVAL);
	z.visibility = DDNS_ZONE_ADMIN;
	snprintf(z.groups[1], sizeof z.groups[1], "ab");
	CHECK_INT(ddns_zone_encode(&z, buf, sizeof buf), DDNS_EINVAL);
	z.n_groups = DDNS_ZONE_GROUPS_MAX + 1;
	CHECK_INT(ddns_zone_encode(&z, buf, sizeof buf), DDNS_EINVAL);
	z.n_groups = 0;

	/* A string of 254 octets is over the limit even if present. */
	z.n_ns = 1;
	n = ddns_zone_encode(&z, buf, sizeof buf);
	CHECK(n > 0);
	memcpy(bad, buf, 19);
	bad[19] = 254;
	memset(bad + 20, 'a', 254);
	bad[20 + 254] = 1;
	bad[20 + 255] = 'x';
	CHECK_INT(ddns_zone_decode(bad, 20 + 256, &got), DDNS_ECORRUPT);
	z.id = 0;
	CHECK_INT(ddns_zone_encode(&z, buf, sizeof buf), DDNS_EINVAL);
}

static void test_host_codec(void)
{
	struct ddns_host h, got;
	uint8_t buf[256], bad[256];
	int n;

	host_init(&h, "a.example.org", 0x01020304);
	h.flags = 0xffffffffu;
	inet_pton(AF_INET6, "2001:db8::42", &h.v6);
	h.updated = UINT32_MAX; /* u32 seconds: good until 2106 */
	h.owner = 0x0a0b0c0d;
	n = ddns_host_encode(&h, buf, sizeof buf);
	CHECK_INT(n, 89); /* both addresses */
	CHECK_INT(buf[0], 2);
	CHECK_INT(buf[1], 1);
	CHECK_INT(buf[4], 4);
	CHECK_INT(buf[17], 0x0a); /* owner, big-endian */
	CHECK_INT(buf[20], 0x0d);
	CHECK_INT(buf[69], 192); /* v4 in network order, after the hash */
	CHECK_INT(buf[73], 0x20); /* then v6 */
	memset(&got, 0x55, sizeof got);
	CHECK_INT(ddns_host_decode(buf, (size_t)n, &got), 0);
	CHECK_STR(got.fqdn, "");
	memcpy(got.fqdn, h.fqdn, sizeof h.fqdn);
	CHECK(memcmp(&got, &h, sizeof h) == 0);
	/* the counters are not in the host record (schema 2: `faults`) */
	h.client_faults = 1;
	h.last_fault = 1;
	CHECK_INT(ddns_host_encode(&h, buf, sizeof buf), 89);
	h.client_faults = 0;
	h.last_fault = 0;
	/* addresses only when set: 73 with A only, 69 with none */
	h.flags = DDNS_HOST_V4;
	CHECK_INT(ddns_host_encode(&h, bad, sizeof bad), 73);
	h.flags = 0;
	CHECK_INT(ddns_host_encode(&h, bad, sizeof bad), 69);
	h.flags = 0xffffffffu;
	/* times out of u32 are refused */
	h.created = -1;
	CHECK_INT(ddns_host_encode(&h, bad, sizeof bad), DDNS_EINVAL);
	h.created = (int64_t)UINT32_MAX + 1;
	CHECK_INT(ddns_host_encode(&h, bad, sizeof bad), DDNS_EINVAL);
	h.created = 1000;

	CHECK_INT(ddns_host_encode(&h, buf, (size_t)n - 1), DDNS_ETOOBIG);
	for (int len = 0; len < n; len++)
		if (ddns_host_decode(buf, (size_t)len, &got) != DDNS_ECORRUPT)
			CHECK_INT(len, -1);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	CHECK_INT(ddns_host_decode(bad, (size_t)n + 1, &got), DDNS_ECORRUPT);
	bad[0] = 1; /* a v1 record */
	CHECK_INT(ddns_host_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	bad[0] = 2;
	bad[8] &= (uint8_t)~DDNS_HOST_V6; /* length no longer matches */
	CHECK_INT(ddns_host_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	bad[0] = 0;
	CHECK_INT(ddns_host_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	memset(bad + 1, 0, 4);
	CHECK_INT(ddns_host_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	h.zone_id = 0;
	CHECK_INT(ddns_host_encode(&h, buf, sizeof buf), DDNS_EINVAL);
}


/* ---- the examples of schema/lmdb-v1.md, byte for byte ----------------- */

static void test_doc_vectors(void)
{
	static const uint8_t zone_want[] = {
	    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x01, 0x0f, 0x6e, 0x73,
	    0x31, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f,
	    0x72, 0x67, 0x16, 0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, 0x73, 0x74,
	    0x65, 0x72, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e,
	    0x6f, 0x72, 0x67, 0x00, 0x00};
	static const uint8_t groups_tail[] = {0x01, 0x02, 0x04, 'v', 'o', '-',
					      'a',  0x04, 'v',  'o', '-', 'b'};
	uint8_t host_want[73], buf[512];
	struct ddns_zone z;
	struct ddns_host h;
	int n;

	memset(&z, 0, sizeof z);
	z.id = 1;
	z.ttl = 60;
	z.created = 1700000000;
	z.n_ns = 1;
	snprintf(z.ns[0], sizeof z.ns[0], "ns1.example.org");
	snprintf(z.hostmaster, sizeof z.hostmaster, "hostmaster.example.org");
	n = ddns_zone_encode(&z, buf, sizeof buf);
	CHECK_INT(n, (int)sizeof zone_want);
	CHECK(n == (int)sizeof zone_want &&
	      memcmp(buf, zone_want, sizeof zone_want) == 0);
	/* the same zone, private to groups vo-a and vo-b */
	z.visibility = DDNS_ZONE_PRIVATE;
	z.n_groups = 2;
	snprintf(z.groups[0], sizeof z.groups[0], "vo-a");
	snprintf(z.groups[1], sizeof z.groups[1], "vo-b");
	n = ddns_zone_encode(&z, buf, sizeof buf);
	CHECK_INT(n, (int)sizeof zone_want - 2 + (int)sizeof groups_tail);
	CHECK(memcmp(buf, zone_want, sizeof zone_want - 2) == 0);
	CHECK(memcmp(buf + sizeof zone_want - 2, groups_tail,
		     sizeof groups_tail) == 0);

	/* host: zone 1, V4, 192.0.2.1, created 1700000000, updated
	 * 1700000300, salt 16 x 11, hash 32 x 22, no faults, owner 7 */
	memset(host_want, 0, sizeof host_want);
	memcpy(host_want,
	       "\x02\x00\x00\x00\x01\x00\x00\x00\x01\x65\x53\xf1\x00\x65"
	       "\x53\xf2\x2c\x00\x00\x00\x07",
	       21);
	memset(host_want + 21, 0x11, 16);
	memset(host_want + 37, 0x22, 32);
	memcpy(host_want + 69, "\xc0\x00\x02\x01", 4);
	memset(&h, 0, sizeof h);
	h.zone_id = 1;
	h.flags = DDNS_HOST_V4;
	inet_pton(AF_INET, "192.0.2.1", &h.v4);
	h.created = 1700000000;
	h.updated = 1700000300;
	memset(h.cred.salt, 0x11, sizeof h.cred.salt);
	memset(h.cred.hash, 0x22, sizeof h.cred.hash);
	h.owner = 7;
	n = ddns_host_encode(&h, buf, sizeof buf);
	CHECK_INT(n, 73);
	CHECK(memcmp(buf, host_want, sizeof host_want) == 0);
}

/* ---- text checks ------------------------------------------------------ */

static void test_text_checks(void)
{
	char g[DDNS_GROUP_MAX + 2];

	CHECK(ddns_text_valid("", 0));
	CHECK(ddns_text_valid("plain text", 10));
	CHECK(ddns_text_valid("caf\xc3\xa9 \xe2\x98\xba \xf0\x9f\x98\x80", 14));
	CHECK(ddns_text_valid("\xef\xbf\xbd", 3)); /* U+FFFD */
	CHECK(!ddns_text_valid("a\0b", 3));
	CHECK(!ddns_text_valid("a\tb", 3));
	CHECK(!ddns_text_valid("a\nb", 3));
	CHECK(!ddns_text_valid("a\x7f", 2));
	CHECK(!ddns_text_valid("a\xc2\x80", 3));     /* C1 control */
	CHECK(!ddns_text_valid("a\xc2\x9f", 3));     /* C1 control */
	CHECK(ddns_text_valid("a\xc2\xa0", 3));      /* NBSP is text */
	CHECK(!ddns_text_valid("\xc3", 1));          /* truncated */
	CHECK(!ddns_text_valid("\xc3\x28", 2));      /* bad continuation */
	CHECK(!ddns_text_valid("\xc0\xaf", 2));      /* overlong */
	CHECK(!ddns_text_valid("\xe0\x80\xaf", 3));  /* overlong */
	CHECK(!ddns_text_valid("\xed\xa0\x80", 3));  /* surrogate */
	CHECK(!ddns_text_valid("\xf4\x90\x80\x80", 4)); /* over U+10FFFF */
	CHECK(!ddns_text_valid("\xff", 1));
	CHECK(!ddns_text_valid("\x80", 1));
	CHECK(!ddns_text_valid(NULL, 1));

	CHECK(ddns_group_valid("g", 1));
	CHECK(ddns_group_valid("urn:mace:egi.eu:group:vo.example.org:role=member#aai.egi.eu",
			       strlen("urn:mace:egi.eu:group:vo.example.org:role=member#aai.egi.eu")));
	CHECK(ddns_group_valid("ops team", 8));
	CHECK(!ddns_group_valid("", 0));
	CHECK(!ddns_group_valid(" ops", 4));
	CHECK(!ddns_group_valid("ops ", 4));
	CHECK(!ddns_group_valid("o\nps", 4));
	CHECK(!ddns_group_valid(NULL, 0));
	memset(g, 'g', sizeof g);
	CHECK(ddns_group_valid(g, DDNS_GROUP_MAX));
	CHECK(!ddns_group_valid(g, DDNS_GROUP_MAX + 1));
}

/* ---- zone visibility and groups in the store --------------------------- */

static void test_zone_visibility(ddns_store *s)
{
	struct ddns_zone z, got;
	struct ddns_user member, other;
	ddns_txn *t = begin(s, true);

	memset(&member, 0, sizeof member);
	memset(&other, 0, sizeof other);
	member.n_groups = 1;
	snprintf(member.groups[0], sizeof member.groups[0], "vo-b");

	zone_init(&z, "vis.test");
	CHECK_INT(ddns_zone_add(t, &z), 0);
	CHECK_INT(ddns_zone_get(t, "vis.test", &got), 0);
	CHECK_INT(got.visibility, DDNS_ZONE_PUBLIC); /* the default */
	CHECK_INT(got.n_groups, 0);
	CHECK(ddns_zone_usable_by(&got, &other));

	got.visibility = DDNS_ZONE_PRIVATE;
	got.n_groups = 2;
	snprintf(got.groups[0], sizeof got.groups[0], "vo-a");
	snprintf(got.groups[1], sizeof got.groups[1], "vo-b");
	CHECK_INT(ddns_zone_update(t, &got), 0);
	CHECK_INT(ddns_zone_get(t, "vis.test", &z), 0);
	CHECK_INT(z.visibility, DDNS_ZONE_PRIVATE);
	CHECK_INT(z.n_groups, 2);
	CHECK_STR(z.groups[1], "vo-b");
	CHECK(ddns_zone_usable_by(&z, &member));
	CHECK(!ddns_zone_usable_by(&z, &other));

	z.visibility = DDNS_ZONE_ADMIN + 1;
	CHECK_INT(ddns_zone_update(t, &z), DDNS_EINVAL);
	z.visibility = DDNS_ZONE_ADMIN;
	snprintf(z.groups[1], sizeof z.groups[1], "vo-a");
	CHECK_INT(ddns_zone_update(t, &z), DDNS_EINVAL);
	snprintf(z.groups[1], sizeof z.groups[1], "vo\tb");
	CHECK_INT(ddns_zone_update(t, &z), DDNS_EINVAL);
	z.n_groups = 0;
	CHECK_INT(ddns_zone_update(t, &z), 0);
	CHECK_INT(ddns_zone_get(t, "vis.test", &got), 0);
	CHECK_INT(got.visibility, DDNS_ZONE_ADMIN);
	CHECK(!ddns_zone_usable_by(&got, &member));

	zone_init(&z, "vis2.test");
	z.visibility = 9;
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EINVAL);
	z.visibility = DDNS_ZONE_PRIVATE;
	z.n_groups = DDNS_ZONE_GROUPS_MAX + 1;
	CHECK_INT(ddns_zone_add(t, &z), DDNS_EINVAL);
	CHECK_INT(ddns_zone_get(t, "vis2.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_zone_del(t, "vis.test", false, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* ---- host comments ---------------------------------------------------- */

static void test_comments(ddns_store *s)
{
	char got[DDNS_HOST_COMMENT_BUF], big[DDNS_HOST_COMMENT_MAX + 2];
	struct ddns_host h;
	uint32_t zid = 0;
	ddns_txn *t;

	CHECK_INT(add_zone(s, "comments.test", &zid), 0);
	t = begin(s, true);
	host_init(&h, "a.comments.test", zid);
	CHECK_INT(ddns_host_add(t, &h), 0);
	host_init(&h, "b.comments.test", zid);
	CHECK_INT(ddns_host_add(t, &h), 0);

	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, "");
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", "home router ☺"),
		  0);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, "home router ☺");
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", "office"), 0);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, "office");
	/* "" deletes (and deleting none is fine) */
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", ""), 0);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, "");
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", ""), 0);

	/* 256 octets of UTF-8 fit, 257 do not; no control characters */
	for (int i = 0; i < DDNS_HOST_COMMENT_MAX; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[DDNS_HOST_COMMENT_MAX] = '\0';
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", big), 0);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, big);
	big[DDNS_HOST_COMMENT_MAX] = 'x';
	big[DDNS_HOST_COMMENT_MAX + 1] = '\0';
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", big),
		  DDNS_EINVAL);
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", "a\nb"),
		  DDNS_EINVAL);
	CHECK_INT(ddns_host_comment_put(t, "a.comments.test", "\xc3"),
		  DDNS_EINVAL);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_INT(strlen(got), DDNS_HOST_COMMENT_MAX);
	/* only for hosts that exist */
	CHECK_INT(ddns_host_comment_put(t, "x.comments.test", "c"),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_comment_put(t, "Bad_Name", "c"), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_comment_get(t, "x.comments.test", got), 0);
	CHECK_STR(got, "");

	/* deleted with its host; a new host of that name has none */
	CHECK_INT(ddns_host_del(t, "a.comments.test"), 0);
	host_init(&h, "a.comments.test", zid);
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_host_comment_get(t, "a.comments.test", got), 0);
	CHECK_STR(got, "");
	CHECK_INT(ddns_host_comment_put(t, "b.comments.test", "b"), 0);
	CHECK_INT(ddns_txn_commit(t), 0);

	t = begin(s, false);
	CHECK_INT(ddns_host_comment_put(t, "b.comments.test", "c"),
		  DDNS_EINVAL);
	CHECK_INT(ddns_host_comment_get(t, "b.comments.test", got), 0);
	CHECK_STR(got, "b");
	ddns_txn_abort(t);

	/* and with its zone, when that is deleted with --force */
	t = begin(s, true);
	CHECK_INT(ddns_zone_del(t, "comments.test", true, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK_INT(add_zone(s, "comments.test", &zid), 0);
	t = begin(s, true);
	host_init(&h, "b.comments.test", zid);
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_host_comment_get(t, "b.comments.test", got), 0);
	CHECK_STR(got, "");
	CHECK_INT(ddns_zone_del(t, "comments.test", true, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* ---- fault records ---------------------------------------------------- */

static void test_fault_codec(void)
{
	static const uint8_t want[] = {
	    0x02, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, /* client */
	    0x00, 0x00, 0x00, 0x00,				  /* auth */
	    0x65, 0x53, 0xf2, 0x2c,				  /* last */
	    0x65, 0x53, 0xf1, 0x00,				  /* start */
	    0x00, 0x00, 0x00, 0x07,				  /* count */
	    0x01, 0x0f, 'n',  'o',  'c',  'h',  'g',  ' ',  '1',  '9',
	    '2',  '.',	'0',  '.',  '2',  '.',	'1'};
	struct ddns_fault f, got;
	uint8_t buf[256], bad[256];
	int n;

	memset(&f, 0, sizeof f);
	f.client_faults = 7;
	f.last_fault = 1700000300;
	f.window_start = 1700000000;
	f.window_count = 7;
	f.last_kind = DDNS_FAULT_CLIENT;
	snprintf(f.last_text, sizeof f.last_text, "nochg 192.0.2.1");
	n = ddns_fault_encode(&f, buf, sizeof buf);
	CHECK_INT(n, (int)sizeof want);
	CHECK(n == (int)sizeof want && memcmp(buf, want, sizeof want) == 0);
	memset(&got, 0x55, sizeof got);
	CHECK_INT(ddns_fault_decode(buf, (size_t)n, &got), 0);
	CHECK_INT(got.window_start, 1700000000);
	CHECK_INT(got.window_count, 7);
	CHECK_INT(got.client_faults, 7);
	CHECK_INT(got.last_fault, 1700000300);
	CHECK_INT(got.last_kind, DDNS_FAULT_CLIENT);
	CHECK_STR(got.last_text, "nochg 192.0.2.1");
	CHECK_INT(ddns_fault_encode(&f, buf, (size_t)n - 1), DDNS_ETOOBIG);
	for (int len = 0; len < n; len++)
		if (ddns_fault_decode(buf, (size_t)len, &got) != DDNS_ECORRUPT)
			CHECK_INT(len, -1);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 'x';
	CHECK_INT(ddns_fault_decode(bad, (size_t)n + 1, &got), DDNS_ECORRUPT);
	bad[0] = 1; /* a v1 record */
	CHECK_INT(ddns_fault_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[25] = 4; /* unknown kind */
	CHECK_INT(ddns_fault_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[28] = 0x07; /* not printable */
	CHECK_INT(ddns_fault_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);

	/* the longest text; one octet more, a control octet or a bad kind
	 * is refused */
	memset(f.last_text, 'x', DDNS_FAULT_TEXT_MAX);
	f.last_text[DDNS_FAULT_TEXT_MAX] = '\0';
	n = ddns_fault_encode(&f, buf, sizeof buf);
	CHECK_INT(n, 27 + DDNS_FAULT_TEXT_MAX);
	CHECK_INT(ddns_fault_decode(buf, (size_t)n, &got), 0);
	CHECK_INT(strlen(got.last_text), DDNS_FAULT_TEXT_MAX);
	f.last_text[3] = '\n';
	CHECK_INT(ddns_fault_encode(&f, buf, sizeof buf), DDNS_EINVAL);
	f.last_text[0] = '\0';
	f.last_kind = 4;
	CHECK_INT(ddns_fault_encode(&f, buf, sizeof buf), DDNS_EINVAL);
	f.last_kind = DDNS_FAULT_NONE; /* a reset window, no text */
	CHECK_INT(ddns_fault_encode(&f, buf, sizeof buf), 27);
}

static struct ddns_fault fault_sample(const char *text)
{
	struct ddns_fault f;

	memset(&f, 0, sizeof f);
	f.window_start = 100;
	f.window_count = 2;
	f.last_kind = DDNS_FAULT_AUTH;
	snprintf(f.last_text, sizeof f.last_text, "%s", text);
	return f;
}

/* Fault records live beside hosts and die with them. */
static void test_faults(ddns_store *s)
{
	struct ddns_fault f = fault_sample("badauth from 192.0.2.9"), got;
	uint32_t zid = 0, nested = 0;
	ddns_txn *t;

	CHECK_INT(add_zone(s, "faults.test", &zid), 0);
	CHECK_INT(add_zone(s, "n.faults.test", &nested), 0);
	CHECK_INT(add_host(s, "a.faults.test", zid), 0);
	CHECK_INT(add_host(s, "b.faults.test", zid), 0);
	CHECK_INT(add_host(s, "c.n.faults.test", nested), 0);
	t = begin(s, true);
	CHECK_INT(ddns_fault_get(t, "a.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_put(t, "nope.faults.test", &f), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_put(t, "Not A Name", &f), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_put(t, "a.faults.test", &f), 0);
	CHECK_INT(ddns_fault_put(t, "b.faults.test", &f), 0);
	CHECK_INT(ddns_fault_put(t, "c.n.faults.test", &f), 0);
	CHECK_INT(ddns_txn_commit(t), 0);

	t = begin(s, false);
	CHECK_INT(ddns_fault_get(t, "a.faults.test", &got), 0);
	CHECK_STR(got.last_text, "badauth from 192.0.2.9");
	CHECK_INT(got.window_count, 2);
	CHECK_INT(ddns_fault_put(t, "a.faults.test", &f), DDNS_EINVAL);
	CHECK_INT(ddns_fault_del(t, "a.faults.test"), DDNS_EINVAL);
	ddns_txn_abort(t);

	/* host del takes the record; a new host of that name starts clean */
	t = begin(s, true);
	CHECK_INT(ddns_host_del(t, "a.faults.test"), 0);
	CHECK_INT(ddns_fault_get(t, "a.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK_INT(add_host(s, "a.faults.test", zid), 0);
	t = begin(s, true);
	CHECK_INT(ddns_fault_get(t, "a.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_del(t, "a.faults.test"), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_del(t, "b.faults.test"), 0);
	CHECK_INT(ddns_fault_get(t, "b.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_put(t, "b.faults.test", &f), 0);
	/* a forced zone del takes its hosts' records, not a nested zone's */
	CHECK_INT(ddns_zone_del(t, "faults.test", true, NULL), 0);
	CHECK_INT(ddns_fault_get(t, "b.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_get(t, "c.n.faults.test", &got), 0);
	CHECK_INT(ddns_zone_del(t, "n.faults.test", true, NULL), 0);
	CHECK_INT(ddns_fault_get(t, "c.n.faults.test", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* Drop the `faults` database, as in a store written before it existed. */
static int raw_drop(const char *dir, const char *db)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 8);
	if (!rc)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, db, 0, &dbi);
	if (!rc)
		rc = mdb_drop(txn, dbi, 1);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* The `faults` database is additive: a store without it still opens; a
 * CREATE open adds it. */
static void test_faults_added(const char *base)
{
	struct ddns_fault f = fault_sample("911: store error"), got;
	char dir[512], err[256];
	uint32_t zid = 0;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "older");
	s = open_rw(dir, 0);
	CHECK_INT(add_zone(s, "old.test", &zid), 0);
	CHECK_INT(add_host(s, "h.old.test", zid), 0);
	ddns_store_close(s);
	CHECK_INT(raw_drop(dir, "faults"), 0);

	s = NULL;
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err,
				  sizeof err), 0);
	t = begin(s, false);
	CHECK_INT(ddns_fault_get(t, "h.old.test", &got), DDNS_ENOTFOUND);
	ddns_txn_abort(t);
	ddns_store_close(s);

	s = NULL;
	CHECK_INT(ddns_store_open(&s, dir, 0, 0, err, sizeof err), 0);
	t = begin(s, true);
	CHECK_INT(ddns_fault_put(t, "h.old.test", &f), DDNS_EINVAL);
	CHECK_INT(ddns_host_del(t, "h.old.test"), 0);
	ddns_txn_abort(t);
	ddns_store_close(s);

	s = open_rw(dir, 0);
	t = begin(s, true);
	CHECK_INT(ddns_fault_put(t, "h.old.test", &f), 0);
	CHECK_INT(ddns_fault_get(t, "h.old.test", &got), 0);
	CHECK_STR(got.last_text, "911: store error");
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	/* a damaged record is reported */
	{
		uint8_t junk[15] = {2};

		CHECK_INT(raw_put(dir, "faults", "test.old.h", 10, junk,
				  sizeof junk),
			  0);
	}
	s = open_rw(dir, 0);
	t = begin(s, false);
	quiet(1);
	CHECK_INT(ddns_fault_get(t, "h.old.test", &got), DDNS_ECORRUPT);
	quiet(0);
	ddns_txn_abort(t);
	ddns_store_close(s);
}

/* Send what the logger writes (fd 2) into a temporary file until
 * capture_end, which copies it into BUF. */
struct capture {
	FILE *f;
	int saved;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(2);
	CHECK(c->f != NULL && c->saved >= 0);
	if (c->f && c->saved >= 0)
		CHECK(dup2(fileno(c->f), 2) == 2);
}

static void capture_end(struct capture *c, char *buf, size_t cap)
{
	size_t n = 0;

	fflush(stderr);
	if (c->saved >= 0) {
		dup2(c->saved, 2);
		close(c->saved);
	}
	if (c->f) {
		rewind(c->f);
		n = fread(buf, 1, cap - 1, c->f);
		fclose(c->f);
	}
	buf[n] = '\0';
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Damage records behind the store's back: a host value from a future
 * record version, hosts under keys that are no name (one longer than any
 * name), a zone value cut short, a zone under a key that is no name. */
static void corrupt_store(const char *dir, uint32_t good)
{
	uint8_t junk[117] = {2}, val[256];
	char big[400];
	struct ddns_host h;
	int n;

	memcpy(big, "test.good.", 10);
	memset(big + 10, 1, sizeof big - 10);
	CHECK_INT(raw_put(dir, "hosts", big, sizeof big, junk, sizeof junk), 0);

	host_init(&h, "g.good.test", good);
	n = ddns_host_encode(&h, val, sizeof val);
	CHECK_INT(raw_put(dir, "hosts", "test.bad.h", 10, junk, sizeof junk),
		  0);
	CHECK_INT(raw_put(dir, "hosts", "test.good.\xff", 11, val, (size_t)n),
		  0);
	CHECK_INT(raw_put(dir, "zones", "bad.test", 8, junk, 20), 0);
	CHECK_INT(raw_put(dir, "zones", "bad\x01.test", 9, junk, 20), 0);
}

/* A lookup of a damaged record reports it, not a guess; a scan logs it
 * once, by its key, and goes on with the others. */
static void test_corrupt_records(const char *base)
{
	char dir[512], log[4096], names[512] = "";
	struct ddns_zone z;
	struct ddns_host h;
	struct capture cap;
	unsigned n = 0;
	uint32_t zid = 0, good = 0;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "corrupt");
	s = open_rw(dir, 0);
	CHECK_INT(add_zone(s, "bad.test", &zid), 0);
	CHECK_INT(add_zone(s, "good.test", &good), 0);
	CHECK_INT(add_host(s, "h.bad.test", zid), 0);
	CHECK_INT(add_host(s, "g.good.test", good), 0);
	ddns_store_close(s);
	corrupt_store(dir, good);

	s = open_rw(dir, 0);
	t = begin(s, false);
	quiet(1);
	CHECK_INT(ddns_host_get(t, "h.bad.test", &h), DDNS_ECORRUPT);
	CHECK_INT(ddns_zone_get(t, "bad.test", &z), DDNS_ECORRUPT);
	CHECK_INT(ddns_zone_get_by_id(t, zid, &z), DDNS_ECORRUPT);
	CHECK_INT(ddns_zone_find(t, "h.bad.test", &z), DDNS_ECORRUPT);
	quiet(0);

	capture_start(&cap);
	CHECK_INT(ddns_host_foreach(t, NULL, count_host, &n), 0);
	capture_end(&cap, log, sizeof log);
	CHECK_INT(n, 1);
	CHECK_INT(count_lines(log), 3);
	CHECK(strstr(log, "host record test.bad.h is corrupt; skipped"));
	CHECK(strstr(log, "host record test.good.\\xff is corrupt; skipped"));
	/* the long key is escaped and cut */
	CHECK(strstr(log, "host record test.good.\\x01\\x01"));
	CHECK(strstr(log, "\\x01... is corrupt; skipped"));

	capture_start(&cap);
	CHECK_INT(ddns_zone_foreach(t, collect_zone, names), 0);
	CHECK_INT(ddns_zone_get(t, "good.test", &z), 0);
	n = 0;
	CHECK_INT(ddns_host_foreach(t, &z, count_host, &n), 0);
	capture_end(&cap, log, sizeof log);
	CHECK_STR(names, "good.test");
	CHECK_INT(n, 1);
	CHECK_INT(count_lines(log), 4);
	CHECK(strstr(log, "zone record bad.test is corrupt; skipped"));
	CHECK(strstr(log, "zone record bad\\x01.test is corrupt; skipped"));
	ddns_txn_abort(t);
	ddns_store_close(s);
}

/* ---- a full map, then a bigger one ------------------------------------ */

/* Add batches of 20 hosts until the map is full; returns hosts committed. */
static unsigned fill_map(ddns_store *s, uint32_t zid)
{
	char fqdn[DDNS_NAME_BUF];
	struct ddns_host h;
	unsigned committed = 0;
	int rc = 0;

	quiet(1);
	for (int batch = 0; batch < 1000 && rc == 0; batch++) {
		ddns_txn *t = begin(s, true);

		for (int i = 0; i < 20 && rc == 0; i++) {
			snprintf(fqdn, sizeof fqdn, "host-%05d.full.test",
				 batch * 20 + i);
			host_init(&h, fqdn, zid);
			rc = ddns_host_add(t, &h);
		}
		if (rc) {
			ddns_txn_abort(t); /* the only way out after EFULL */
			break;
		}
		rc = ddns_txn_commit(t);
		if (rc == 0)
			committed += 20;
	}
	quiet(0);
	CHECK_INT(rc, DDNS_EFULL);
	return committed;
}

static void test_map_full(const char *base)
{
	char dir[512];
	struct ddns_host h;
	unsigned committed, seen = 0;
	uint32_t zid = 0;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "full");
	s = open_rw(dir, 256 * 1024);
	CHECK_INT(add_zone(s, "full.test", &zid), 0);
	committed = fill_map(s, zid);
	CHECK(committed > 0);
	ddns_store_close(s);

	/* Reopened with a larger map, every committed host is there and
	 * writes go on. */
	s = open_rw(dir, 8 * 1024 * 1024);
	t = begin(s, true);
	CHECK_INT(ddns_host_foreach(t, NULL, count_host, &seen), 0);
	CHECK_INT(seen, committed);
	host_init(&h, "after.full.test", zid);
	CHECK_INT(ddns_host_add(t, &h), 0);
	for (unsigned i = 0; i < 200; i++) {
		snprintf(h.fqdn, sizeof h.fqdn, "more-%u.full.test", i);
		CHECK_INT(ddns_host_add(t, &h), 0);
	}
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	/* map_size 0 keeps the grown map: the data still fits. */
	s = open_rw(dir, 0);
	t = begin(s, false);
	seen = 0;
	CHECK_INT(ddns_host_foreach(t, NULL, count_host, &seen), 0);
	CHECK_INT(seen, committed + 201);
	ddns_txn_abort(t);
	ddns_store_close(s);
}

/* ---- a reader in another process -------------------------------------- */

static bool pipe_read(int fd, void *buf, size_t len)
{
	struct pollfd p = {fd, POLLIN, 0};
	size_t got = 0;

	while (got < len) {
		if (poll(&p, 1, PIPE_TIMEOUT_MS) != 1)
			return false;
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool pipe_write(int fd, const void *buf, size_t len)
{
	return write(fd, buf, len) == (ssize_t)len;
}

/* A child process and the pipes to drive it: the parent writes GO, the
 * child writes READY, and at the end its check counts to RES. */
struct peer {
	int go[2], ready[2], res[2];
	pid_t pid;
};

typedef void (*peer_fn)(const char *dir, int go, int ready);

/* Fork a child running FN on DIR.  No store may be open: LMDB handles must
 * not cross fork(). */
static bool peer_start(struct peer *p, peer_fn fn, const char *dir)
{
	int counts[2];

	if (pipe(p->go) || pipe(p->ready) || pipe(p->res))
		return false;
	fflush(NULL);
	p->pid = fork();
	if (p->pid != 0)
		return p->pid > 0;
	check_passed = check_failed = 0;
	fn(dir, p->go[0], p->ready[1]);
	counts[0] = check_passed;
	counts[1] = check_failed;
	_exit(pipe_write(p->res[1], counts, sizeof counts) ? 0 : 1);
}

/* Add the child's counts to ours and reap it. */
static void peer_finish(struct peer *p)
{
	int counts[2] = {0, 0}, status = -1;

	CHECK(pipe_read(p->res[0], counts, sizeof counts));
	CHECK_INT(waitpid(p->pid, &status, 0), p->pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_passed += counts[0];
	check_failed += counts[1];
	CHECK(counts[0] > 0);
	for (int i = 0; i < 2; i++) {
		close(p->go[i]);
		close(p->ready[i]);
		close(p->res[i]);
	}
}

static ddns_store *open_ro(const char *dir)
{
	char err[256];
	ddns_store *s = NULL;

	CHECK_INT(
	    ddns_store_open(&s, dir, DDNS_STORE_RDONLY, 0, err, sizeof err), 0);
	return s;
}

/* Child: miss the host, wait for the parent's commit, renew, see it. */
static void reader_child(const char *dir, int go, int ready)
{
	struct ddns_host h;
	ddns_store *s = open_ro(dir);
	ddns_txn *t = s ? begin(s, false) : NULL;
	char c = 0;

	if (t)
		CHECK_INT(ddns_host_get(t, "late.dyn.example.org", &h),
			  DDNS_ENOTFOUND);
	CHECK(pipe_write(ready, "r", 1));
	CHECK(pipe_read(go, &c, 1) && c == 'c');
	if (t) {
		/* the old snapshot does not see it; a renewed one does */
		CHECK_INT(ddns_host_get(t, "late.dyn.example.org", &h),
			  DDNS_ENOTFOUND);
		ddns_txn_reset(t);
		CHECK_INT(ddns_txn_renew(t), 0);
		CHECK_INT(ddns_host_get(t, "late.dyn.example.org", &h), 0);
		CHECK_STR(h.fqdn, "late.dyn.example.org");
		CHECK_INT(ddns_txn_renew(t), 0); /* renew of a live txn */
		ddns_txn_abort(t);
	}
	ddns_store_close(s);
}

/* The store is closed around fork() and reopened; returns the new handle. */
static ddns_store *test_reader_process(ddns_store *s, const char *dir)
{
	struct peer p;
	uint32_t zid = 0;
	char c = 0;

	CHECK_INT(add_zone(s, "dyn.example.org", &zid), 0);
	ddns_store_close(s);
	if (!peer_start(&p, reader_child, dir)) {
		CHECK(0);
		return open_rw(dir, 0);
	}
	s = open_rw(dir, 0);
	CHECK(pipe_read(p.ready[0], &c, 1) && c == 'r');
	CHECK_INT(add_host(s, "late.dyn.example.org", zid), 0);
	CHECK(pipe_write(p.go[1], "c", 1));
	peer_finish(&p);
	return s;
}

/* Child: a reader whose map another process grows under it. */
static void grown_child(const char *dir, int go, int ready)
{
	ddns_store *s = open_ro(dir);
	ddns_txn *t = s ? begin(s, false) : NULL;
	unsigned n = 0;
	char c = 0;

	if (t)
		ddns_txn_reset(t);
	CHECK(pipe_write(ready, "r", 1));
	CHECK(pipe_read(go, &c, 1) && c == 'c');
	if (t) {
		CHECK_INT(ddns_txn_renew(t), 0); /* adopts the larger map */
		CHECK_INT(ddns_host_foreach(t, NULL, count_host, &n), 0);
		CHECK_INT(n, 3000);
		ddns_txn_abort(t);
	}
	ddns_store_close(s);
}

static void grow_under(const char *base, const char *name, peer_fn child);

/* ---- one handle, two threads (the updater's committer) ---------------- */

struct holder {
	ddns_store *s;
	int release[2]; /* a byte here: end the transaction */
	int held[2];    /* a byte here: the transaction is active */
	bool write;
	const char *fqdn; /* write: the host to add */
	uint32_t zid;
	int rc;
};

/* Thread: begin a transaction (for WRITE, add a host), say so, wait for the
 * word, then end it. */
static void *holder_run(void *arg)
{
	struct holder *h = arg;
	struct ddns_host host;
	ddns_txn *t = NULL;
	char c = 0;

	h->rc = ddns_txn_begin(h->s, h->write, &t);
	if (h->rc == 0 && h->write) {
		host_init(&host, h->fqdn, h->zid);
		h->rc = ddns_host_add(t, &host);
	}
	pipe_write(h->held[1], "h", 1);
	pipe_read(h->release[0], &c, 1);
	if (t && h->write && h->rc == 0)
		h->rc = ddns_txn_commit(t);
	else
		ddns_txn_abort(t);
	return NULL;
}

static bool holder_start(struct holder *h, pthread_t *th)
{
	if (pipe(h->release) || pipe(h->held))
		return false;
	return pthread_create(th, NULL, holder_run, h) == 0;
}

static void holder_end(struct holder *h, pthread_t th)
{
	CHECK(pipe_write(h->release[1], "x", 1));
	CHECK_INT(pthread_join(th, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(h->release[i]);
		close(h->held[i]);
	}
}

/* Child: a small map held by a reader thread while the parent grows it.
 * The adoption must not remap under that reader: begin fails after its
 * bounded wait, and succeeds once the reader is done. */
static void grown_threads_child(const char *dir, int go, int ready)
{
	struct holder h = {.write = false};
	unsigned n = 0;
	pthread_t th;
	ddns_txn *t = NULL;
	char c = 0;

	h.s = open_rw(dir, 256 * 1024);
	CHECK(h.s && holder_start(&h, &th));
	CHECK(pipe_read(h.held[0], &c, 1) && c == 'h');
	CHECK_INT(h.rc, 0);
	CHECK(pipe_write(ready, "r", 1));
	CHECK(pipe_read(go, &c, 1) && c == 'c');
	quiet(1);
	CHECK(ddns_txn_begin(h.s, false, &t) != 0); /* waited, refused */
	quiet(0);
	holder_end(&h, th);
	CHECK_INT(ddns_txn_begin(h.s, false, &t), 0); /* adopted now */
	if (t) {
		CHECK_INT(ddns_host_foreach(t, NULL, count_host, &n), 0);
		CHECK_INT(n, 3000);
		ddns_txn_abort(t);
	}
	ddns_store_close(h.s);
}

static void test_threads(const char *base)
{
	char dir[512];
	struct holder h = {.write = true, .fqdn = "by-thread.two.test"};
	struct ddns_host host;
	pthread_t th;
	uint32_t zid = 0;
	ddns_store *s;
	ddns_txn *t;
	char c = 0;

	/* Writes from two threads: the second waits for the first. */
	path_join(dir, sizeof dir, base, "two");
	s = open_rw(dir, 0);
	CHECK_INT(add_zone(s, "two.test", &zid), 0);
	t = begin(s, true);
	host_init(&host, "by-main.two.test", zid);
	CHECK_INT(ddns_host_add(t, &host), 0);
	h.s = s;
	h.zid = zid;
	CHECK(holder_start(&h, &th));
	quiet(1);
	CHECK(ddns_txn_begin(s, true, &(ddns_txn *){NULL}) != 0); /* nested */
	quiet(0);
	CHECK_INT(ddns_txn_commit(t), 0); /* lets the thread's write go on */
	CHECK(pipe_read(h.held[0], &c, 1) && c == 'h');
	holder_end(&h, th);
	CHECK_INT(h.rc, 0);
	t = begin(s, false);
	CHECK_INT(ddns_host_get(t, "by-main.two.test", &host), 0);
	CHECK_INT(ddns_host_get(t, "by-thread.two.test", &host), 0);
	ddns_txn_abort(t);
	ddns_store_close(s);

	/* A map grown by another process while a thread reads. */
	grow_under(base, "grow2", grown_threads_child);
}

/* Make store BASE/NAME with zone NAME.test in a small map, run CHILD on it,
 * and once CHILD is ready, grow the map to hold 3000 hosts and let CHILD
 * go on ('c'): CHILD sees MDB_MAP_RESIZED. */
static void grow_under(const char *base, const char *name, peer_fn child)
{
	char dir[512], zone[64], fqdn[DDNS_NAME_BUF];
	struct ddns_host h;
	struct peer p;
	uint32_t zid = 0;
	ddns_store *s;
	ddns_txn *t;
	char c = 0;

	path_join(dir, sizeof dir, base, name);
	snprintf(zone, sizeof zone, "%s.test", name);
	s = open_rw(dir, 256 * 1024);
	CHECK_INT(add_zone(s, zone, &zid), 0);
	ddns_store_close(s);
	if (!peer_start(&p, child, dir)) {
		CHECK(0);
		return;
	}
	CHECK(pipe_read(p.ready[0], &c, 1) && c == 'r');
	s = open_rw(dir, 16 * 1024 * 1024);
	t = begin(s, true);
	for (int i = 0; i < 3000; i++) {
		snprintf(fqdn, sizeof fqdn, "h%04d.%s", i, zone);
		host_init(&h, fqdn, zid);
		CHECK_INT(ddns_host_add(t, &h), 0);
	}
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK(pipe_write(p.go[1], "c", 1));
	peer_finish(&p);
	ddns_store_close(s);
}

static void test_map_resized(const char *base)
{
	grow_under(base, "grow", grown_child);
}

/* Reset / renew within one process. */
static void test_renew(ddns_store *s)
{
	struct ddns_zone z;
	ddns_txn *r = begin(s, false);

	CHECK_INT(ddns_zone_get(r, "renew.test", &z), DDNS_ENOTFOUND);
	ddns_txn_reset(r);
	CHECK_INT(add_zone(s, "renew.test", NULL), 0);
	CHECK_INT(ddns_txn_renew(r), 0);
	CHECK_INT(ddns_zone_get(r, "renew.test", &z), 0);
	CHECK_INT(ddns_txn_commit(r), 0);
	ddns_txn_abort(NULL);
}


/* ---- schema 2: fault counters in `faults`, upgrade, loads, backup ----- */

/* A raw value of DB under KEY into BUF (CAP); its length or -1. */
static int raw_get(const char *dir, const char *db, const char *key,
		   uint8_t *buf, size_t cap)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {strlen(key), (void *)key}, v;
	int rc = mdb_env_create(&env), n = -1;

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 16);
	if (!rc)
		rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, db, 0, &dbi);
	if (!rc)
		rc = mdb_get(txn, dbi, &k, &v);
	if (!rc && v.mv_size <= cap) {
		memcpy(buf, v.mv_data, v.mv_size);
		n = (int)v.mv_size;
	}
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The host record keeps its size without faults; counters and details
 * share the `faults` record, each writer keeping the other's fields. */
static void test_fault_split(const char *base)
{
	struct ddns_fault f, got;
	struct ddns_host h, hg;
	char dir[512];
	uint8_t val[256];
	uint32_t zid = 0;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "split");
	s = open_rw(dir, 0);
	CHECK_INT(add_zone(s, "split.test", &zid), 0);
	CHECK_INT(add_host(s, "a.split.test", zid), 0);
	t = begin(s, true);
	CHECK_INT(ddns_host_get(t, "a.split.test", &h), 0);
	h.auth_faults = 2;
	h.last_fault = 1700000100;
	CHECK_INT(ddns_host_put(t, &h), 0);
	memset(&f, 0, sizeof f);
	f.window_start = 1700000000;
	f.window_count = 5;
	f.last_kind = DDNS_FAULT_AUTH;
	f.client_faults = 99; /* ignored: the host's counters stay */
	snprintf(f.last_text, sizeof f.last_text, "badauth from 192.0.2.9");
	CHECK_INT(ddns_fault_put(t, "a.split.test", &f), 0);
	h.client_faults = 1; /* and a later host write keeps the details */
	CHECK_INT(ddns_host_put(t, &h), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	CHECK_INT(raw_get(dir, "hosts", "test.split.a", val, sizeof val), 73);
	CHECK_INT(be32(val + 5), DDNS_HOST_V4 | 1u << 31); /* FAULTS bit */
	CHECK_INT(raw_get(dir, "faults", "test.split.a", val, sizeof val),
		  27 + 22);
	s = open_rw(dir, 0);
	t = begin(s, false);
	CHECK_INT(ddns_host_get(t, "a.split.test", &hg), 0);
	CHECK_INT(hg.flags, DDNS_HOST_V4); /* the bit is the store's */
	CHECK_INT(hg.client_faults, 1);
	CHECK_INT(hg.auth_faults, 2);
	CHECK_INT(hg.last_fault, 1700000100);
	CHECK_INT(ddns_fault_get(t, "a.split.test", &got), 0);
	CHECK_INT(got.window_count, 5);
	CHECK_INT(got.client_faults, 1);
	CHECK_STR(got.last_text, "badauth from 192.0.2.9");
	ddns_txn_abort(t);
	t = begin(s, true);
	CHECK_INT(ddns_fault_del(t, "a.split.test"), 0);
	CHECK_INT(ddns_host_get(t, "a.split.test", &hg), 0);
	CHECK_INT(hg.client_faults, 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);
	CHECK_INT(raw_get(dir, "hosts", "test.split.a", val, sizeof val), 73);
	CHECK_INT(be32(val + 5), DDNS_HOST_V4);
}

/* A schema-1 host value (schema/lmdb-v1.md section 6). */
static size_t v1_host(uint8_t out[117], uint32_t zone, uint32_t flags,
		      int64_t updated, uint32_t client, int64_t last)
{
	memset(out, 0, 117);
	out[0] = 1;
	out[4] = (uint8_t)zone;
	out[8] = (uint8_t)flags;
	memcpy(out + 9, "\xc0\x00\x02\x01", 4);
	memcpy(out + 13, "\x20\x01\x0d\xb8", 4); /* v6 2001:db8::1 */
	out[28] = 1;
	memcpy(out + 33, "\x65\x53\xf1\x00", 4); /* created 1700000000 */
	for (int i = 0; i < 8; i++)
		out[37 + i] = (uint8_t)((uint64_t)updated >> (56 - 8 * i));
	memset(out + 45, 0x11, 16);
	memset(out + 61, 0x22, 32);
	out[96] = (uint8_t)client;
	for (int i = 0; i < 8; i++)
		out[105 + i] = (uint8_t)((uint64_t)last >> (56 - 8 * i));
	out[116] = 7; /* owner */
	return 117;
}

/* A v2 store made into a v1 one behind the store's back: its hosts and
 * faults in the v1 layout, meta/schema 1. */
static void make_v1(const char *dir, int64_t updated_b)
{
	static const uint8_t fault_v1[] = {
	    0x01, 0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x00,
	    0x00, 0x00, 0x07, 0x01, 0x05, 'n',	'o',  'c',  'h',  'g'};
	uint8_t v1[4] = {0, 0, 0, 1}, val[117];
	uint32_t zid = 0;
	ddns_store *s = open_rw(dir, 0);

	CHECK_INT(add_zone(s, "mig.test", &zid), 0);
	ddns_store_close(s);
	v1_host(val, zid, DDNS_HOST_V4 | DDNS_HOST_V6 | DDNS_HOST_WILDCARD,
		1700000300, 7, 1700000400);
	CHECK_INT(raw_put(dir, "hosts", "test.mig.a", 10, val, 117), 0);
	CHECK_INT(raw_put(dir, "faults", "test.mig.a", 10, fault_v1,
			  sizeof fault_v1),
		  0);
	v1_host(val, zid, 0, updated_b, 0, 0);
	CHECK_INT(raw_put(dir, "hosts", "test.mig.b", 10, val, 117), 0);
	CHECK_INT(raw_put(dir, "faults", "test.mig.zz", 11, fault_v1,
			  sizeof fault_v1),
		  0); /* an orphan: dropped */
	CHECK_INT(raw_meta_put(dir, "schema", v1, sizeof v1), 0);
}

static void check_migrated(const char *dir)
{
	struct ddns_host h;
	struct ddns_fault f;
	uint8_t val[256];
	char addr[64];
	ddns_store *s = open_rw(dir, 0);
	ddns_txn *t = begin(s, false);

	CHECK_INT(ddns_host_get(t, "a.mig.test", &h), 0);
	CHECK_INT(h.flags,
		  DDNS_HOST_V4 | DDNS_HOST_V6 | DDNS_HOST_WILDCARD);
	CHECK_STR(inet_ntop(AF_INET, &h.v4, addr, sizeof addr), "192.0.2.1");
	CHECK_STR(inet_ntop(AF_INET6, &h.v6, addr, sizeof addr),
		  "2001:db8::1");
	CHECK_INT(h.created, 1700000000);
	CHECK_INT(h.updated, 1700000300);
	CHECK_INT(h.client_faults, 7);
	CHECK_INT(h.last_fault, 1700000400);
	CHECK_INT(h.owner, 7);
	CHECK_INT(h.cred.hash[31], 0x22);
	CHECK_INT(ddns_fault_get(t, "a.mig.test", &f), 0);
	CHECK_INT(f.window_count, 7);
	CHECK_STR(f.last_text, "nochg");
	CHECK_INT(ddns_host_get(t, "b.mig.test", &h), 0);
	CHECK_INT(h.flags, 0);
	CHECK_INT(ddns_fault_get(t, "b.mig.test", &f), DDNS_ENOTFOUND);
	ddns_txn_abort(t);
	ddns_store_close(s);
	CHECK_INT(raw_get(dir, "hosts", "test.mig.b", val, sizeof val), 69);
	CHECK_INT(raw_get(dir, "faults", "test.mig.zz", val, sizeof val), -1);
}

/* ddnsctl migrate's part: all or nothing, never by a plain open. */
static void test_migrate(const char *base)
{
	char dir[512], err[256];
	uint32_t found = 0;
	uint64_t n = 0;
	unsigned from = 0;
	ddns_store *s = NULL;

	path_join(dir, sizeof dir, base, "v1-bad");
	make_v1(dir, (int64_t)1 << 40); /* a time past 2106 */
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_ANYVERSION, 0, err,
				  sizeof err),
		  0);
	quiet(1);
	CHECK_INT(ddns_store_migrate(s, &from, &n), DDNS_ECORRUPT);
	quiet(0);
	ddns_store_close(s);
	CHECK_INT(raw_meta_get_u32(dir, "schema", &found), 0);
	CHECK_INT(found, 1); /* untouched */

	path_join(dir, sizeof dir, base, "v1");
	make_v1(dir, 0);
	CHECK_INT(ddns_store_open(&s, dir, 0, 0, err, sizeof err),
		  DDNS_EVERSION);
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_ANYVERSION, 0, err,
				  sizeof err),
		  0);
	CHECK_INT(ddns_store_version(s), 1);
	CHECK_INT(ddns_store_migrate(s, &from, &n), 0);
	CHECK_INT(from, 1);
	CHECK_INT(n, 2);
	CHECK_INT(ddns_store_version(s), DDNS_SCHEMA_VERSION);
	CHECK_INT(ddns_store_migrate(s, &from, &n), 0); /* again: nothing */
	CHECK_INT(from, DDNS_SCHEMA_VERSION);
	ddns_store_close(s);
	CHECK_INT(raw_meta_get_u32(dir, "schema", &found), 0);
	CHECK_INT(found, DDNS_SCHEMA_VERSION);
	check_migrated(dir);
}

/* Zones, hosts and accounts stored exactly as an export has them. */
static void test_loads(const char *base)
{
	struct ddns_zone z, zg;
	struct ddns_host h, hg;
	struct ddns_fault f;
	char dir[512], key[DDNS_NAME_BUF];
	uint32_t id = 0;
	size_t klen = 1;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "loads");
	s = open_rw(dir, 0);
	t = begin(s, true);
	CHECK_INT(ddns_host_last_key(t, key, &klen), 0);
	CHECK_INT(klen, 0);
	zone_init(&z, "load.test");
	z.id = 7;
	z.serial = 42;
	z.notified_serial = 41;
	z.created = 1600000000;
	CHECK_INT(ddns_zone_load(t, &z), 0);
	CHECK_INT(ddns_zone_load(t, &z), DDNS_EEXIST);
	CHECK_INT(ddns_zone_get(t, "load.test", &zg), 0);
	CHECK_INT(zg.id, 7);
	CHECK_INT(zg.serial, 42);
	CHECK_INT(zg.notified_serial, 41);
	CHECK_INT(zg.created, 1600000000);
	memset(&f, 0, sizeof f);
	f.window_count = 3;
	host_init(&h, "b.load.test", 7);
	h.server_faults = 9;
	CHECK_INT(ddns_host_load(t, &h, &f, false, true), 0);
	host_init(&h, "a.load.test", 7); /* before b: no append */
	CHECK_INT(ddns_host_load(t, &h, NULL, false, false), 0);
	host_init(&h, "x.y.load.test", 7);
	CHECK_INT(ddns_host_load(t, &h, NULL, false, true), DDNS_EDEPTH);
	CHECK_INT(ddns_host_load(t, &h, NULL, true, true), 0);
	host_init(&h, "c.load.test", 7); /* sorts before x.y: not appendable */
	CHECK_INT(ddns_host_load(t, &h, NULL, false, true), DDNS_EEXIST);
	CHECK_INT(ddns_host_get(t, "b.load.test", &hg), 0);
	CHECK_INT(hg.server_faults, 9);
	CHECK_INT(ddns_fault_get(t, "b.load.test", &f), 0);
	CHECK_INT(f.window_count, 3);
	CHECK_INT(ddns_host_last_key(t, key, &klen), 0);
	CHECK(klen == 13 && memcmp(key, "test.load.y.x", 13) == 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK_INT(add_zone(s, "next.test", &id), 0);
	CHECK_INT(id, 8); /* next_zone_id was raised past the loaded id */
	ddns_store_close(s);
}

/* A compacted copy written while a write transaction is open holds the
 * last commit and opens as a store. */
static void test_backup(const char *base)
{
	char dir[512], copy[512], file[600];
	struct ddns_host h;
	uint32_t zid = 0;
	ddns_store *s, *c;
	ddns_txn *t, *w;
	FILE *f;

	path_join(dir, sizeof dir, base, "bsrc");
	path_join(copy, sizeof copy, base, "bcopy");
	s = open_rw(dir, 0);
	CHECK_INT(add_zone(s, "b.test", &zid), 0);
	CHECK_INT(add_host(s, "h.b.test", zid), 0);
	CHECK_INT(mkdir(copy, 0700), 0);
	path_join(file, sizeof file, copy, "data.mdb");
	f = fopen(file, "w");
	CHECK(f != NULL);
	w = begin(s, true); /* uncommitted: not in the copy */
	CHECK_INT(ddns_host_del(w, "h.b.test"), 0);
	CHECK_INT(ddns_store_backup_fd(s, fileno(f)), 0);
	ddns_txn_abort(w);
	fclose(f);
	ddns_store_close(s);
	c = open_rw(copy, 0);
	t = begin(c, false);
	CHECK_INT(ddns_host_get(t, "h.b.test", &h), 0);
	ddns_txn_abort(t);
	ddns_store_close(c);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[400], dir[512];
	ddns_store *s;

	ddns_log_init("test_store", DDNS_LOG_ERR);
	snprintf(base, sizeof base, "%s/ddns-test-store-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_open(base);
	test_open_refused(base);
	test_version(base);
	test_zone_codec();
	test_zone_codec_corrupt();
	test_host_codec();
	test_fault_codec();
	test_doc_vectors();
	test_text_checks();

	path_join(dir, sizeof dir, base, "main");
	s = open_rw(dir, 0);
	if (s) {
		test_zone_add(s);
		test_zone_get(s);
		test_zone_update(s);
		test_serial(s);
		s = test_serial_wrap(s, dir);
		test_host_add(s);
		s = test_legacy_host(s, dir);
		test_host_get_put(s);
		test_host_foreach(s);
		test_zone_over_hosts(s);
		test_zone_del(s);
		test_zone_del_many(s);
		test_faults(s);
		test_zone_visibility(s);
		test_comments(s);
		test_renew(s);
		s = test_reader_process(s, dir);
		ddns_store_close(s);
	}
	test_corrupt_records(base);
	test_faults_added(base);
	test_map_full(base);
	test_map_resized(base);
	test_threads(base);
	test_fault_split(base);
	test_migrate(base);
	test_loads(base);
	test_backup(base);
	rm_tree(base);
	return check_done();
}
