/*
 * test_rb_state.c -- the backend's state environment (backend/rb_state.c)
 * and the methods answered from it (backend/rb_dnssec.c): notified
 * serials, DNSSEC keys, metadata, getUpdatedMasters, and the NSEC chain
 * in canonical order.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "challenge.h"
#include "check.h"
#include "err.h"
#include "log.h"
#include "rb_chain.h"
#include "rb_dnssec.h"
#include "rb_proto.h"
#include "rb_state.h"
#include "store.h"

static char tmpdir[] = "/tmp/ddns-test-rb-state-XXXXXX";

static void path(char *out, size_t cap, const char *leaf)
{
	snprintf(out, cap, "%s/%s", tmpdir, leaf);
}

/* ---- rb_state on its own ---------------------------------------------- */

static int count_keys(const struct rb_key *k, void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

struct seen_key {
	uint32_t id, flags;
	bool active, published;
	char content[64];
};

static int first_key(const struct rb_key *k, void *arg)
{
	struct seen_key *s = arg;

	s->id = k->id;
	s->flags = k->flags;
	s->active = k->active;
	s->published = k->published;
	snprintf(s->content, sizeof s->content, "%.*s", (int)k->content_len,
		 k->content);
	return 1;
}

static void test_notified(rb_state *st)
{
	uint32_t serial = 0;

	CHECK_INT(rb_state_notified_get(st, 7, &serial), DDNS_ENOTFOUND);
	CHECK_INT(rb_state_notified_set(st, 7, 2026112901), 0);
	CHECK_INT(rb_state_notified_get(st, 7, &serial), 0);
	CHECK_INT(serial, 2026112901);
	CHECK_INT(rb_state_notified_set(st, 7, 5), 0);
	CHECK_INT(rb_state_notified_get(st, 7, &serial), 0);
	CHECK_INT(serial, 5);
}

static void test_keys(rb_state *st)
{
	struct rb_key k = {.flags = 257,
			   .active = true,
			   .published = true,
			   .content = "Private-key-format: v1.2\n",
			   .content_len = 25};
	struct seen_key s = {0};
	uint32_t id1 = 0, id2 = 0;
	unsigned n = 0;

	CHECK_INT(rb_state_key_add(st, "a.example", &k, &id1), 0);
	k.flags = 256;
	CHECK_INT(rb_state_key_add(st, "a.example", &k, &id2), 0);
	CHECK(id1 >= 1 && id2 == id1 + 1);
	CHECK_INT(rb_state_key_add(st, "b.example", &k, &id2), 0);
	CHECK_INT(rb_state_key_foreach(st, "a.example", count_keys, &n), 0);
	CHECK_INT(n, 2);
	/* a zone whose name extends another's is not mixed in */
	n = 0;
	CHECK_INT(rb_state_key_foreach(st, "a.exampl", count_keys, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(rb_state_key_foreach(st, "a.example", first_key, &s), 1);
	CHECK_INT(s.id, id1);
	CHECK_INT(s.flags, 257);
	CHECK(s.active && s.published);
	CHECK_STR(s.content, "Private-key-format: v1.2\n");
	CHECK_INT(rb_state_key_set(st, "a.example", id1, 0, -1), 0);
	CHECK_INT(rb_state_key_set(st, "a.example", id1, -1, 0), 0);
	CHECK_INT(rb_state_key_foreach(st, "a.example", first_key, &s), 1);
	CHECK(!s.active && !s.published);
	CHECK_STR(s.content, "Private-key-format: v1.2\n");
	CHECK_INT(rb_state_key_set(st, "a.example", 9999, 1, 1),
		  DDNS_ENOTFOUND);
	CHECK_INT(rb_state_key_del(st, "b.example", id1), DDNS_ENOTFOUND);
	CHECK_INT(rb_state_key_del(st, "a.example", id1), 0);
	n = 0;
	CHECK_INT(rb_state_key_foreach(st, "a.example", count_keys, &n), 0);
	CHECK_INT(n, 1);
	k.content_len = 0;
	CHECK_INT(rb_state_key_add(st, "a.example", &k, &id2), DDNS_EINVAL);
}

static int join_meta(const char *kind, size_t klen, unsigned idx,
		     const char *val, size_t vlen, void *arg)
{
	char *out = arg;
	size_t used = strlen(out);

	snprintf(out + used, 256 - used, "%s%.*s=%.*s", used ? ";" : "",
		 (int)klen, kind, (int)vlen, val);
	return 0;
}

static void test_meta(rb_state *st)
{
	const char *vals[] = {"127.0.0.1:5300", "127.0.0.1:5301"};
	size_t lens[] = {14, 14};
	char out[256] = "";

	CHECK_INT(
	    rb_state_meta_set(st, "a.example", "ALSO-NOTIFY", vals, lens, 2),
	    0);
	CHECK_INT(rb_state_meta_set(st, "a.example", "SOA-EDIT", vals, lens, 0),
		  0);
	CHECK_INT(
	    rb_state_meta_set(st, "a.example", "NSEC3NARROW", vals, lens, 1),
	    0);
	CHECK_INT(rb_state_meta_foreach(st, "a.example", "ALSO-NOTIFY",
					join_meta, out),
		  0);
	CHECK_STR(out, "ALSO-NOTIFY=127.0.0.1:5300;ALSO-NOTIFY=127.0.0.1:5301");
	out[0] = '\0';
	CHECK_INT(rb_state_meta_foreach(st, "a.example", NULL, join_meta, out),
		  0);
	CHECK_STR(out, "ALSO-NOTIFY=127.0.0.1:5300;ALSO-NOTIFY=127.0.0.1:5301;"
		       "NSEC3NARROW=127.0.0.1:5300");
	CHECK_INT(
	    rb_state_meta_set(st, "a.example", "NSEC3NARROW", vals, lens, 0),
	    0);
	out[0] = '\0';
	CHECK_INT(rb_state_meta_foreach(st, "a.example", "NSEC3NARROW",
					join_meta, out),
		  0);
	CHECK_STR(out, "");
	CHECK_INT(rb_state_meta_set(st, "a.example", "BAD KIND", vals, lens, 1),
		  DDNS_EINVAL);
}

static void test_reopen(void)
{
	char dir[256], err[256];
	rb_state *st = NULL;
	uint32_t serial = 0;

	path(dir, sizeof dir, "state");
	CHECK_INT(rb_state_open(&st, dir, err, sizeof err), 0);
	CHECK_INT(rb_state_notified_get(st, 7, &serial), 0);
	CHECK_INT(serial, 5);
	rb_state_close(st);
}

/* A world-writable directory is refused; another layout version too. */
static void test_refused(void)
{
	char dir[256], err[256];
	rb_state *st = NULL;
	MDB_env *env = NULL;
	MDB_txn *t = NULL;
	MDB_dbi dbi;
	MDB_val k = {6, "schema"}, v = {4, "\0\0\0\2"};

	path(dir, sizeof dir, "open");
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(chmod(dir, 0777), 0);
	CHECK_INT(rb_state_open(&st, dir, err, sizeof err), DDNS_EINVAL);
	CHECK(st == NULL && strstr(err, "writable by everyone") != NULL);
	CHECK_INT(chmod(dir, 0700), 0);
	CHECK_INT(rb_state_open(&st, dir, err, sizeof err), 0);
	rb_state_close(st);
	st = NULL;
	/* a layout of another version, written behind its back */
	CHECK_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 4);
	CHECK_INT(mdb_env_open(env, dir, 0, 0600), 0);
	CHECK_INT(mdb_txn_begin(env, NULL, 0, &t), 0);
	CHECK_INT(mdb_dbi_open(t, "info", 0, &dbi), 0);
	CHECK_INT(mdb_put(t, dbi, &k, &v, 0), 0);
	CHECK_INT(mdb_txn_commit(t), 0);
	mdb_env_close(env);
	CHECK_INT(rb_state_open(&st, dir, err, sizeof err), DDNS_EVERSION);
	CHECK(st == NULL && strstr(err, "version 1") != NULL);
}

/* ---- canonical order -------------------------------------------------- */

static void test_canon(void)
{
	int err = 0;

	CHECK(rb_canon_cmp("", "a", &err) < 0 && err == 0);
	CHECK(rb_canon_cmp(".", "", &err) == 0 && err == 0);
	CHECK(rb_canon_cmp("a.", "a", &err) == 0);
	CHECK(rb_canon_cmp("host", "*.host", &err) < 0);
	CHECK(rb_canon_cmp("*.host", "host-2", &err) < 0);
	CHECK(rb_canon_cmp("host", "host-2", &err) < 0);
	CHECK(rb_canon_cmp("z", "a.b", &err) > 0);
	CHECK(rb_canon_cmp("Host", "host", &err) == 0);
	CHECK(rb_canon_cmp("\\000", "a", &err) < 0 && err == 0);
	CHECK(rb_canon_cmp("a\\.b", "a", &err) > 0 && err == 0);
	rb_canon_cmp("a..b", "a", &err);
	CHECK_INT(err, DDNS_EINVAL);
	rb_canon_cmp("\\999", "a", &err);
	CHECK_INT(err, DDNS_EINVAL);
}

/* ---- methods through rb_handle_state ---------------------------------- */

struct fix {
	ddns_store *store;
	rb_state *st;
	struct ddns_buf out;
	struct ddns_zone z;
};

static void add_host(ddns_txn *t, const struct ddns_zone *z, const char *name,
		     uint32_t flags)
{
	struct ddns_host h;

	memset(&h, 0, sizeof h);
	CHECK(strlen(name) + strlen(z->name) + 2 <= sizeof h.fqdn);
	memcpy(h.fqdn, name, strlen(name));
	h.fqdn[strlen(name)] = '.';
	memcpy(h.fqdn + strlen(name) + 1, z->name, strlen(z->name) + 1);
	h.zone_id = z->id;
	h.flags = flags;
	h.v4.s_addr = htonl(0xc0000201);
	CHECK_INT(ddns_host_add(t, &h), 0);
}

static void fix_open(struct fix *f)
{
	char dir[256], err[256];
	ddns_txn *t = NULL;

	memset(f, 0, sizeof *f);
	path(dir, sizeof dir, "store");
	CHECK_INT(ddns_store_open(&f->store, dir, DDNS_STORE_CREATE, 0, err,
				  sizeof err),
		  0);
	path(dir, sizeof dir, "state");
	CHECK_INT(rb_state_open(&f->st, dir, err, sizeof err), 0);
	CHECK_INT(ddns_txn_begin(f->store, true, &t), 0);
	snprintf(f->z.name, sizeof f->z.name, "dyn.example.org");
	f->z.ttl = 60;
	f->z.kind = DDNS_ZONE_MASTER;
	f->z.n_ns = 1;
	snprintf(f->z.ns[0], sizeof f->z.ns[0], "ns1.example.org");
	snprintf(f->z.hostmaster, sizeof f->z.hostmaster,
		 "hostmaster.example.org");
	CHECK_INT(ddns_zone_add(t, &f->z), 0);
	{
		struct ddns_zone n = f->z; /* a native zone: never notified */

		snprintf(n.name, sizeof n.name, "native.example");
		n.kind = DDNS_ZONE_NATIVE;
		CHECK_INT(ddns_zone_add(t, &n), 0);
	}
	add_host(t, &f->z, "b", DDNS_HOST_V4);
	add_host(t, &f->z, "d", DDNS_HOST_V4 | DDNS_HOST_WILDCARD);
	add_host(t, &f->z, "d-1", DDNS_HOST_V4);
	add_host(t, &f->z, "f", DDNS_HOST_V4 | DDNS_HOST_BLOCKED);
	add_host(t, &f->z, "g", 0); /* no address: no records */
	add_host(t, &f->z, "m", DDNS_HOST_V4);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* The reply to REQ, without its line end. */
static const char *ask(struct fix *f, const char *req)
{
	ddns_txn *t = NULL;

	CHECK_INT(ddns_txn_begin(f->store, false, &t), 0);
	rb_handle_state(NULL, f->st, t, req, strlen(req), &f->out);
	ddns_txn_abort(t);
	if (f->out.len && f->out.data[f->out.len - 1] == '\n')
		f->out.data[--f->out.len] = '\0';
	return f->out.data;
}

static const char *before_after(struct fix *f, const char *qname)
{
	static char req[256];

	snprintf(req, sizeof req,
		 "{\"method\":\"getBeforeAndAfterNamesAbsolute\","
		 "\"parameters\":{\"id\":%u,\"qname\":\"%s\"}}",
		 (unsigned)f->z.id, qname);
	return ask(f, req);
}

/* Put a challenge on host NAME of the fixture's zone, expiring at EXP. */
static void put_challenge(struct fix *f, const char *name, int64_t exp)
{
	char fqdn[DDNS_NAME_BUF];
	struct ddns_challenges c;
	struct ddns_host h;
	ddns_txn *t = NULL;

	snprintf(fqdn, sizeof fqdn, "%s.dyn.example.org", name);
	memset(&c, 0, sizeof c);
	CHECK_INT(ddns_txn_begin(f->store, true, &t), 0);
	CHECK_INT(ddns_host_get(t, fqdn, &h), 0);
	c.host_created = h.created;
	c.n = 1;
	c.v[0].expires = exp;
	snprintf(c.v[0].value, sizeof c.v[0].value, "abc");
	CHECK_INT(ddns_challenge_put(t, fqdn, &c), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* A live ACME challenge puts "_acme-challenge.host" in the chain (after
 * "*.host" in canonical order); an expired one does not. */
static void test_acme_names(struct fix *f)
{
	put_challenge(f, "m", (int64_t)time(NULL) + 3600);
	put_challenge(f, "d-1", (int64_t)time(NULL) - 1);
	CHECK_STR(before_after(f, "_acme-challenge.m."),
		  "{\"result\":{\"before\":\"_acme-challenge.m\","
		  "\"after\":\"\",\"unhashed\":\"\"}}");
	CHECK_STR(before_after(f, "0.m."),
		  "{\"result\":{\"before\":\"m\","
		  "\"after\":\"_acme-challenge.m\",\"unhashed\":\"\"}}");
	CHECK_STR(before_after(f, "_acme-challenge.d-1."),
		  "{\"result\":{\"before\":\"d-1\",\"after\":\"e\","
		  "\"unhashed\":\"\"}}");
}

static void test_methods(void)
{
	struct fix f;
	char req[512];

	fix_open(&f);
	snprintf(req, sizeof req,
		 "{\"method\":\"getUpdatedMasters\",\"parameters\":{}}");
	CHECK(strstr(ask(&f, req), "\"zone\":\"dyn.example.org.\"") != NULL);
	snprintf(req, sizeof req,
		 "{\"method\":\"setNotified\",\"parameters\":{\"id\":%u,"
		 "\"serial\":%u.0}}",
		 (unsigned)f.z.id, (unsigned)f.z.serial);
	CHECK_STR(ask(&f, req), "{\"result\":true}");
	CHECK_STR(ask(&f, "{\"method\":\"getUpdatedMasters\","
			  "\"parameters\":{}}"),
		  "{\"result\":[]}");
	/* every change raises the serial: the zone is due again */
	{
		ddns_txn *t = NULL;
		uint32_t serial = 0;

		CHECK_INT(ddns_txn_begin(f.store, true, &t), 0);
		CHECK_INT(ddns_zone_bump_serial(t, f.z.name, &serial), 0);
		CHECK_INT(ddns_txn_commit(t), 0);
		CHECK_INT(serial, f.z.serial + 1);
	}
	CHECK(strstr(ask(&f, "{\"method\":\"getUpdatedMasters\","
			     "\"parameters\":{}}"),
		     "\"notified_serial\":") != NULL);
	CHECK(strstr(f.out.data, "native.example") == NULL);
	CHECK_STR(ask(&f, "{\"method\":\"setNotified\",\"parameters\":"
			  "{\"id\":\"x\",\"serial\":1}}"),
		  "{\"result\":false}");
	CHECK_STR(ask(&f,
		      "{\"method\":\"addDomainKey\",\"parameters\":{"
		      "\"name\":\"Dyn.Example.Org.\",\"key\":{\"flags\":257,"
		      "\"active\":true,\"published\":true,"
		      "\"content\":\"k\\nx\"}}}"),
		  "{\"result\":4}");
	CHECK_STR(ask(&f, "{\"method\":\"getDomainKeys\",\"parameters\":{"
			  "\"name\":\"dyn.example.org.\"}}"),
		  "{\"result\":[{\"id\":4,\"flags\":257,\"active\":true,"
		  "\"published\":true,\"content\":\"k\\u000ax\"}]}");
	CHECK_STR(ask(&f, "{\"method\":\"addDomainKey\",\"parameters\":{"
			  "\"name\":\"nozone.example.\",\"key\":{\"flags\":257,"
			  "\"active\":true,\"content\":\"k\"}}}"),
		  "{\"result\":false}");
	CHECK_STR(ask(&f, "{\"method\":\"setDomainMetadata\",\"parameters\":{"
			  "\"name\":\"dyn.example.org.\",\"kind\":\"SOA-EDIT\","
			  "\"value\":[\"INCEPTION-INCREMENT\"]}}"),
		  "{\"result\":true}");
	CHECK_STR(ask(&f,
		      "{\"method\":\"getAllDomainMetadata\",\"parameters\":{"
		      "\"name\":\"dyn.example.org.\"}}"),
		  "{\"result\":{\"SOA-EDIT\":[\"INCEPTION-INCREMENT\"]}}");
	CHECK_STR(ask(&f,
		      "{\"method\":\"getDomainMetadata\",\"parameters\":{"
		      "\"name\":\"dyn.example.org.\",\"kind\":\"PRESIGNED\"}}"),
		  "{\"result\":[]}");
	/* the chain: "" b d *.d d-1 m (f blocked, g without address) */
	CHECK_STR(before_after(&f, "."),
		  "{\"result\":{\"before\":\"\",\"after\":\"b\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "c."),
		  "{\"result\":{\"before\":\"b\",\"after\":\"d\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "d."),
		  "{\"result\":{\"before\":\"d\",\"after\":\"*.d\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "x.d."),
		  "{\"result\":{\"before\":\"*.d\",\"after\":\"d-1\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "f."),
		  "{\"result\":{\"before\":\"d-1\",\"after\":\"m\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "zz."),
		  "{\"result\":{\"before\":\"m\",\"after\":\"\","
		  "\"unhashed\":\"\"}}");
	/* a commit makes the next request read the chain again */
	{
		ddns_txn *t = NULL;

		CHECK_INT(ddns_txn_begin(f.store, true, &t), 0);
		add_host(t, &f.z, "e", DDNS_HOST_V6);
		CHECK_INT(ddns_txn_commit(t), 0);
	}
	CHECK_STR(before_after(&f, "e1."),
		  "{\"result\":{\"before\":\"e\",\"after\":\"m\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "E."),
		  "{\"result\":{\"before\":\"e\",\"after\":\"m\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "a\\\\.b."),
		  "{\"result\":{\"before\":\"\",\"after\":\"b\","
		  "\"unhashed\":\"\"}}");
	CHECK_STR(before_after(&f, "a..b"), "{\"result\":false}");
	test_acme_names(&f);
	ddns_buf_free(&f.out);
	rb_state_close(f.st);
	ddns_store_close(f.store);
}

int main(void)
{
	char dir[256], err[256];
	rb_state *st = NULL;

	ddns_log_init("test_rb_state", DDNS_LOG_ERR);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	path(dir, sizeof dir, "state");
	CHECK_INT(rb_state_open(&st, dir, err, sizeof err), 0);
	if (st) {
		test_notified(st);
		test_keys(st);
		test_meta(st);
		rb_state_close(st);
	}
	test_reopen();
	test_refused();
	test_canon();
	test_methods();
	{
		char cmd[512];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return check_done();
}
