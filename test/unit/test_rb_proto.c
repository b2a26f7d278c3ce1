/*
 * test_rb_proto.c -- the remote backend protocol against a real store in a
 * temporary directory: request lines in, reply lines parsed with jansson.
 *
 * Every request is answered three ways and the replies must be the same
 * bytes: rb_handle_cached with a cache kept across the tests (the
 * backend's way), rb_handle (no cache) and rb_handle_json (no flat fast
 * path).  The flat parser (rb_flat.h) is also tested directly and with
 * mutated requests.
 */
#include "rb_proto.h"
#include "check.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "rb_flat.h"
#include "store.h"

struct fixture {
	char dir[64];
	ddns_store *store;
	struct ddns_zone dyn, sub, other;
	struct ddns_buf out, plain, slow;
	struct rb_cache cache;
	int rc; /* rb_handle's return for the last request */
};

/* ---- building the store ----------------------------------------------- */

static void zone_init(struct ddns_zone *z, const char *name, const char *ns1,
		      const char *ns2, const char *hostmaster, uint8_t kind)
{
	memset(z, 0, sizeof *z);
	snprintf(z->name, sizeof z->name, "%s", name);
	snprintf(z->ns[0], sizeof z->ns[0], "%s", ns1);
	z->n_ns = 1;
	if (ns2) {
		snprintf(z->ns[1], sizeof z->ns[1], "%s", ns2);
		z->n_ns = 2;
	}
	snprintf(z->hostmaster, sizeof z->hostmaster, "%s", hostmaster);
	z->ttl = DDNS_DEFAULT_TTL;
	z->kind = kind;
}

static void host_add(ddns_txn *t, const struct ddns_zone *z, const char *fqdn,
		     const char *v4, const char *v6, uint32_t flags)
{
	struct ddns_host h;

	memset(&h, 0, sizeof h);
	snprintf(h.fqdn, sizeof h.fqdn, "%s", fqdn);
	h.zone_id = z->id;
	h.flags = flags;
	if (v4 && inet_pton(AF_INET, v4, &h.v4) == 1)
		h.flags |= DDNS_HOST_V4;
	if (v6 && inet_pton(AF_INET6, v6, &h.v6) == 1)
		h.flags |= DDNS_HOST_V6;
	CHECK_INT(ddns_host_add(t, &h), 0);
}

static int fixture_open(struct fixture *f)
{
	char err[256];
	ddns_txn *t = NULL;

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/ddns-test-rb-XXXXXX");
	if (!mkdtemp(f->dir) ||
	    ddns_store_open(&f->store, f->dir, DDNS_STORE_CREATE, 1 << 24, err,
			    sizeof err) != 0 ||
	    ddns_txn_begin(f->store, true, &t) != 0) {
		fprintf(stderr, "cannot make a store in %s: %s\n", f->dir, err);
		return -1;
	}
	zone_init(&f->dyn, "dyn.example.org", "ns1.example.org",
		  "ns2.example.org", "hostmaster.example.org", DDNS_ZONE_NATIVE);
	zone_init(&f->sub, "sub.dyn.example.org", "ns1.example.org", NULL,
		  "hostmaster.example.org", DDNS_ZONE_NATIVE);
	zone_init(&f->other, "other.test", "ns.other.test", NULL,
		  "first\\.last.other.test", DDNS_ZONE_MASTER);
	f->other.ttl = 120;
	CHECK_INT(ddns_zone_add(t, &f->dyn), 0);
	CHECK_INT(ddns_zone_add(t, &f->sub), 0);
	CHECK_INT(ddns_zone_add(t, &f->other), 0);
	host_add(t, &f->dyn, "h.dyn.example.org", "192.0.2.1", "2001:db8::1", 0);
	host_add(t, &f->dyn, "v4only.dyn.example.org", "192.0.2.2", NULL, 0);
	host_add(t, &f->dyn, "w.dyn.example.org", "192.0.2.3", NULL,
		 DDNS_HOST_WILDCARD);
	host_add(t, &f->dyn, "blocked.dyn.example.org", "192.0.2.4", NULL,
		 DDNS_HOST_BLOCKED);
	host_add(t, &f->dyn, "abuse.dyn.example.org", "192.0.2.5", NULL,
		 DDNS_HOST_ABUSE | DDNS_HOST_WILDCARD);
	host_add(t, &f->dyn, "empty.dyn.example.org", NULL, NULL, 0);
	host_add(t, &f->sub, "x.sub.dyn.example.org", "198.51.100.1", NULL, 0);
	host_add(t, &f->other, "o.other.test", NULL, "2001:db8::2", 0);
	return ddns_txn_commit(t);
}

static void fixture_close(struct fixture *f)
{
	char path[128];

	ddns_buf_free(&f->out);
	ddns_buf_free(&f->plain);
	ddns_buf_free(&f->slow);
	ddns_store_close(f->store);
	snprintf(path, sizeof path, "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
}

/* ---- asking ----------------------------------------------------------- */

/* The reply in f->out (and its code) is what the uncached and the
 * jansson-only paths give for REQ too. */
static void same_as_uncached(struct fixture *f, ddns_txn *t, const char *req,
			     size_t len)
{
	int plain = rb_handle(t, req, len, &f->plain);
	int slow = rb_handle_json(t, req, len, &f->slow);
	bool same = plain == f->rc && slow == f->rc &&
		    f->plain.len == f->out.len && f->slow.len == f->out.len &&
		    memcmp(f->plain.data, f->out.data, f->out.len) == 0 &&
		    memcmp(f->slow.data, f->out.data, f->out.len) == 0;

	CHECK(same);
	if (!same)
		fprintf(stderr, "  request %.*s\n  cached %d %s  plain %d %s"
				"  json %d %s",
			(int)(len > 300 ? 300 : len), req, f->rc, f->out.data,
			plain, f->plain.data, slow, f->slow.data);
}

/* Send LEN bytes; check the reply is one line; return it parsed (owned). */
static json_t *ask_len(struct fixture *f, ddns_txn *t, const char *req,
		       size_t len)
{
	json_error_t jerr;
	json_t *r;

	f->rc = rb_handle_cached(&f->cache, t, req, len, &f->out);
	same_as_uncached(f, t, req, len);
	CHECK(f->out.len > 0 && f->out.data[f->out.len - 1] == '\n');
	CHECK(memchr(f->out.data, '\n', f->out.len) ==
	      f->out.data + f->out.len - 1);
	r = json_loadb(f->out.data, f->out.len, 0, &jerr);
	CHECK(r != NULL && json_is_object(r));
	if (!r)
		fprintf(stderr, "bad reply: %s\n", f->out.data);
	return r;
}

static json_t *ask(struct fixture *f, ddns_txn *t, const char *req)
{
	return ask_len(f, t, req, strlen(req));
}

static bool is_false(json_t *r)
{
	return json_is_false(json_object_get(r, "result"));
}

/* A lookup request line (into BUF) for QTYPE QNAME in zone ZONE_ID. */
static const char *lookup_req(char *buf, size_t len, const char *qtype,
			      const char *qname, long long zone_id)
{
	snprintf(buf, len,
		 "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\","
		 "\"qname\":\"%s\",\"remote\":\"127.0.0.1\",\"local\":"
		 "\"0.0.0.0\",\"real-remote\":\"127.0.0.1/32\",\"zone-id\":%lld}}\n",
		 qtype, qname, zone_id);
	return buf;
}

static json_t *lookup(struct fixture *f, ddns_txn *t, const char *qtype,
		      const char *qname, long long zone_id)
{
	char req[512];

	return ask(f, t, lookup_req(req, sizeof req, qtype, qname, zone_id));
}

/* The record of REPLY's result array with QTYPE and CONTENT, or NULL. */
static json_t *find_rr(json_t *reply, const char *qtype, const char *content)
{
	json_t *arr = json_object_get(reply, "result"), *rr;
	size_t i;

	json_array_foreach(arr, i, rr) {
		if (strcmp(json_string_value(json_object_get(rr, "qtype")),
			   qtype) == 0 &&
		    strcmp(json_string_value(json_object_get(rr, "content")),
			   content) == 0)
			return rr;
	}
	return NULL;
}

static size_t n_rr(json_t *reply)
{
	return json_array_size(json_object_get(reply, "result"));
}

/* Every record has pdns's field types: numbers, auth 1, scopeMask 0. */
static void check_shapes(json_t *reply)
{
	json_t *rr;
	size_t i;

	json_array_foreach(json_object_get(reply, "result"), i, rr) {
		const char *qname = json_string_value(json_object_get(rr, "qname"));
		CHECK(qname && qname[strlen(qname) - 1] == '.');
		CHECK(json_is_integer(json_object_get(rr, "ttl")));
		CHECK(json_is_integer(json_object_get(rr, "domain_id")));
		CHECK_INT(json_integer_value(json_object_get(rr, "auth")), 1);
		CHECK(json_is_integer(json_object_get(rr, "scopeMask")));
		CHECK_INT(json_integer_value(json_object_get(rr, "scopeMask")), 0);
	}
}

/* ---- tests ------------------------------------------------------------ */

static void test_initialize(struct fixture *f, ddns_txn *t)
{
	json_t *r = ask(f, t,
			"{\"method\":\"initialize\",\"parameters\":{\"path\":"
			"\"/run/ddns/backend.sock\",\"timeout\":\"2000\"}}\n");

	CHECK(json_is_true(json_object_get(r, "result")));
	CHECK_INT(f->rc, 0);
	json_decref(r);
}

static void test_soa_ns(struct fixture *f, ddns_txn *t)
{
	char soa[256];
	json_t *r, *rr;

	snprintf(soa, sizeof soa,
		 "ns1.example.org. hostmaster.example.org. %u 10800 3600 "
		 "604800 60",
		 (unsigned)f->dyn.serial);
	r = lookup(f, t, "SOA", "DYN.Example.ORG.", -1);
	CHECK_INT(n_rr(r), 1);
	rr = find_rr(r, "SOA", soa);
	CHECK(rr != NULL);
	if (rr) {
		CHECK_STR(json_string_value(json_object_get(rr, "qname")),
			  "dyn.example.org.");
		CHECK_INT(json_integer_value(json_object_get(rr, "ttl")), 3600);
		CHECK_INT(json_integer_value(json_object_get(rr, "domain_id")),
			  f->dyn.id);
	}
	check_shapes(r);
	json_decref(r);

	/* Without the trailing dot, with the zone's id. */
	r = lookup(f, t, "soa", "dyn.example.org", f->dyn.id);
	CHECK_INT(n_rr(r), 1);
	json_decref(r);

	/* SOA only at the apex, even for a name that has records. */
	r = lookup(f, t, "SOA", "h.dyn.example.org.", f->dyn.id);
	CHECK(is_false(r));
	CHECK_INT(f->rc, 0);
	json_decref(r);

	r = lookup(f, t, "NS", "dyn.EXAMPLE.org.", f->dyn.id);
	CHECK_INT(n_rr(r), 2);
	CHECK(find_rr(r, "NS", "ns1.example.org.") != NULL);
	CHECK(find_rr(r, "NS", "ns2.example.org.") != NULL);
	check_shapes(r);
	json_decref(r);

	r = lookup(f, t, "ANY", "dyn.example.org.", -1);
	CHECK_INT(n_rr(r), 3);
	check_shapes(r);
	json_decref(r);

	/* The hostmaster's escaped dot survives the JSON round trip. */
	r = lookup(f, t, "SOA", "other.test.", -1);
	rr = json_array_get(json_object_get(r, "result"), 0);
	CHECK(rr && strncmp(json_string_value(json_object_get(rr, "content")),
			    "ns.other.test. first\\.last.other.test. ", 39) == 0);
	json_decref(r);
}

static void test_addresses(struct fixture *f, ddns_txn *t)
{
	json_t *r, *rr;

	r = lookup(f, t, "A", "H.DYN.example.org.", f->dyn.id);
	CHECK_INT(n_rr(r), 1);
	rr = find_rr(r, "A", "192.0.2.1");
	CHECK(rr != NULL);
	if (rr) {
		CHECK_STR(json_string_value(json_object_get(rr, "qname")),
			  "h.dyn.example.org.");
		CHECK_INT(json_integer_value(json_object_get(rr, "ttl")), 60);
	}
	check_shapes(r);
	json_decref(r);

	r = lookup(f, t, "AAAA", "h.dyn.example.org", -1);
	CHECK_INT(n_rr(r), 1);
	CHECK(find_rr(r, "AAAA", "2001:db8::1") != NULL);
	json_decref(r);

	r = lookup(f, t, "ANY", "h.Dyn.Example.Org.", f->dyn.id);
	CHECK_INT(n_rr(r), 2);
	CHECK(find_rr(r, "A", "192.0.2.1") != NULL);
	CHECK(find_rr(r, "AAAA", "2001:db8::1") != NULL);
	json_decref(r);

	r = lookup(f, t, "AAAA", "v4only.dyn.example.org.", f->dyn.id);
	CHECK(is_false(r));
	json_decref(r);

	/* The other zone's TTL. */
	r = lookup(f, t, "ANY", "o.other.test.", -1);
	rr = find_rr(r, "AAAA", "2001:db8::2");
	CHECK(rr && json_integer_value(json_object_get(rr, "ttl")) == 120);
	CHECK(rr && json_integer_value(json_object_get(rr, "domain_id")) ==
			    f->other.id);
	json_decref(r);
}

static void test_absent(struct fixture *f, ddns_txn *t)
{
	static const char *names[] = {
		"nope.dyn.example.org.", "example.org.", "example.com.", ".",
		"_acme-challenge.h.dyn.example.org.", "blocked.dyn.example.org.",
		"abuse.dyn.example.org.", "*.abuse.dyn.example.org.",
		"empty.dyn.example.org.", "*.h.dyn.example.org.",
		"*.dyn.example.org.", "a.h.dyn.example.org.",
	};
	json_t *r;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		r = lookup(f, t, "ANY", names[i], -1);
		CHECK(is_false(r));
		CHECK_INT(f->rc, 0);
		if (!is_false(r))
			fprintf(stderr, "  for %s: %s", names[i], f->out.data);
		json_decref(r);
	}
	/* A type we never serve. */
	r = lookup(f, t, "TXT", "h.dyn.example.org.", f->dyn.id);
	CHECK(is_false(r));
	json_decref(r);
	/* A zone-id that is not the name's zone. */
	r = lookup(f, t, "A", "h.dyn.example.org.", f->other.id);
	CHECK(is_false(r));
	json_decref(r);
	r = lookup(f, t, "A", "h.dyn.example.org.", 99999);
	CHECK(is_false(r));
	json_decref(r);
}

static void test_wildcard_nested(struct fixture *f, ddns_txn *t)
{
	json_t *r, *rr;

	r = lookup(f, t, "ANY", "*.W.dyn.example.org.", f->dyn.id);
	CHECK_INT(n_rr(r), 1);
	rr = find_rr(r, "A", "192.0.2.3");
	CHECK(rr && strcmp(json_string_value(json_object_get(rr, "qname")),
			   "*.w.dyn.example.org.") == 0);
	json_decref(r);
	r = lookup(f, t, "A", "w.dyn.example.org.", f->dyn.id);
	CHECK(find_rr(r, "A", "192.0.2.3") != NULL);
	json_decref(r);

	/* A host of a zone nested below another answers with its own id. */
	r = lookup(f, t, "A", "x.sub.dyn.example.org.", -1);
	rr = find_rr(r, "A", "198.51.100.1");
	CHECK(rr && json_integer_value(json_object_get(rr, "domain_id")) ==
			    f->sub.id);
	json_decref(r);
	r = lookup(f, t, "A", "x.sub.dyn.example.org.", f->dyn.id);
	CHECK(is_false(r));
	json_decref(r);
	r = lookup(f, t, "SOA", "sub.dyn.example.org.", -1);
	rr = json_array_get(json_object_get(r, "result"), 0);
	CHECK(rr && json_integer_value(json_object_get(rr, "domain_id")) ==
			    f->sub.id);
	json_decref(r);
}

static void check_domain_info(json_t *di, const struct ddns_zone *z,
			      const char *kind)
{
	char name[300];

	snprintf(name, sizeof name, "%s.", z->name);
	CHECK_STR(json_string_value(json_object_get(di, "zone")), name);
	CHECK(json_is_integer(json_object_get(di, "id")));
	CHECK_INT(json_integer_value(json_object_get(di, "id")), z->id);
	CHECK_INT(json_integer_value(json_object_get(di, "serial")), z->serial);
	CHECK(json_is_integer(json_object_get(di, "notified_serial")));
	CHECK_INT(json_integer_value(json_object_get(di, "last_check")), 0);
	CHECK(json_is_array(json_object_get(di, "masters")));
	CHECK_INT(json_array_size(json_object_get(di, "masters")), 0);
	CHECK_STR(json_string_value(json_object_get(di, "kind")), kind);
}

static void test_domains(struct fixture *f, ddns_txn *t)
{
	json_t *r, *res, *di;
	size_t i, seen = 0;

	r = ask(f, t, "{\"method\":\"getAllDomains\",\"parameters\":"
		      "{\"include_disabled\":false}}\n");
	res = json_object_get(r, "result");
	CHECK_INT(json_array_size(res), 3);
	json_array_foreach(res, i, di) {
		const char *zone = json_string_value(json_object_get(di, "zone"));
		if (zone && strcmp(zone, "dyn.example.org.") == 0)
			check_domain_info(di, &f->dyn, "native"), seen++;
		if (zone && strcmp(zone, "other.test.") == 0)
			check_domain_info(di, &f->other, "master"), seen++;
	}
	CHECK_INT(seen, 2);
	json_decref(r);

	r = ask(f, t, "{\"method\":\"getDomainInfo\",\"parameters\":"
		      "{\"name\":\"Dyn.Example.Org.\"}}\n");
	check_domain_info(json_object_get(r, "result"), &f->dyn, "native");
	json_decref(r);
	r = ask(f, t, "{\"method\":\"getDomainInfo\",\"parameters\":"
		      "{\"name\":\"h.dyn.example.org.\"}}\n");
	CHECK(is_false(r));
	CHECK_INT(f->rc, 0);
	json_decref(r);

	r = ask(f, t, "{\"method\":\"getAllDomainMetadata\",\"parameters\":"
		      "{\"name\":\"dyn.example.org.\"}}\n");
	res = json_object_get(r, "result");
	CHECK(json_is_object(res) && json_object_size(res) == 0);
	json_decref(r);
	r = ask(f, t, "{\"method\":\"getDomainMetadata\",\"parameters\":"
		      "{\"name\":\"dyn.example.org.\",\"kind\":\"ALSO-NOTIFY\"}}\n");
	res = json_object_get(r, "result");
	CHECK(json_is_array(res) && json_array_size(res) == 0);
	json_decref(r);
}

static json_t *list(struct fixture *f, ddns_txn *t, const char *zone,
		    long long id)
{
	char req[256];

	snprintf(req, sizeof req,
		 "{\"method\":\"list\",\"parameters\":{\"zonename\":\"%s\","
		 "\"domain_id\":%lld,\"include_disabled\":false}}\n",
		 zone, id);
	return ask(f, t, req);
}

static void test_list(struct fixture *f, ddns_txn *t)
{
	json_t *r, *rr;
	size_t i;

	r = list(f, t, "dyn.example.org.", f->dyn.id);
	/* SOA, 2 NS, h A+AAAA, v4only A, w A and *.w A; no blocked, abuse,
	 * empty, nor the nested zone's host. */
	CHECK_INT(n_rr(r), 8);
	CHECK(find_rr(r, "A", "192.0.2.1") != NULL);
	CHECK(find_rr(r, "AAAA", "2001:db8::1") != NULL);
	CHECK(find_rr(r, "A", "192.0.2.2") != NULL);
	CHECK(find_rr(r, "A", "192.0.2.4") == NULL);
	CHECK(find_rr(r, "A", "192.0.2.5") == NULL);
	CHECK(find_rr(r, "A", "198.51.100.1") == NULL);
	rr = json_array_get(json_object_get(r, "result"), 0);
	CHECK_STR(json_string_value(json_object_get(rr, "qtype")), "SOA");
	/* a transfer's records leave out what pdns defaults (rb_proto.c) */
	json_array_foreach(json_object_get(r, "result"), i, rr) {
		CHECK(json_is_integer(json_object_get(rr, "ttl")));
		CHECK(json_is_string(json_object_get(rr, "content")));
		CHECK(!json_object_get(rr, "domain_id"));
		CHECK(!json_object_get(rr, "auth"));
		CHECK(!json_object_get(rr, "scopeMask"));
	}
	json_decref(r);

	r = list(f, t, "DYN.example.org", -1);
	CHECK_INT(n_rr(r), 8);
	json_decref(r);
	r = list(f, t, "sub.dyn.example.org.", f->sub.id);
	CHECK_INT(n_rr(r), 3);
	json_decref(r);
	r = list(f, t, "other.test.", f->dyn.id);
	CHECK(is_false(r));
	json_decref(r);
	r = list(f, t, "nowhere.test.", -1);
	CHECK(is_false(r));
	json_decref(r);
	r = ask(f, t, "{\"method\":\"list\",\"parameters\":{\"domain_id\":1}}");
	CHECK(n_rr(r) >= 3);
	json_decref(r);
}

/* Each of these is refused: {"result":false} and a negative code. */
static void test_refused(struct fixture *f, ddns_txn *t)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"null",
		"\"lookup\"",
		"{}",
		"{\"method\":1}",
		"{\"method\":\"nope\",\"parameters\":{}}",
		"{\"method\":\"lookup\"}",
		"{\"method\":\"lookup\",\"parameters\":[]}",
		"{\"method\":\"lookup\",\"parameters\":{\"qname\":\"a.\"}}",
		"{\"method\":\"lookup\",\"parameters\":{\"qtype\":1,"
		"\"qname\":\"h.dyn.example.org.\"}}",
		"{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
		"\"qname\":\"h.dyn.example.org.\",\"zone-id\":\"1\"}}",
		"{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"A\","
		"\"qname\":\"h.dyn.example.org.\",\"zone-id\":1.5}}",
		"{\"method\":\"list\",\"parameters\":{}}",
		"{\"method\":\"list\",\"parameters\":{\"zonename\":7}}",
		"{\"method\":\"getDomainInfo\",\"parameters\":{}}",
		"{\"method\":\"getDomainMetadata\",\"parameters\":{\"name\":"
		"\"dyn.example.org.\"}}",
		"{\"method\":\"initialize\"} trailing",
		"{\"method\":\"initialize\"}\n{\"method\":\"initialize\"}",
	};
	static const char nul[] = "{\"method\":\"init\0ialize\"}";
	size_t huge_len = RB_LINE_MAX + 1;
	char *huge = malloc(huge_len);
	json_t *r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = ask(f, t, bad[i]);
		CHECK(is_false(r));
		CHECK(f->rc < 0);
		if (!is_false(r) || f->rc >= 0)
			fprintf(stderr, "  for: %s\n", bad[i]);
		json_decref(r);
	}
	r = ask_len(f, t, nul, sizeof nul - 1);
	CHECK(is_false(r));
	json_decref(r);

	/* A valid request padded past the limit is refused unparsed; one
	 * exactly at the limit is served. */
	if (!huge)
		return;
	memset(huge, ' ', huge_len);
	memcpy(huge, "{\"method\":\"initialize\"}", 23);
	r = ask_len(f, t, huge, huge_len);
	CHECK(is_false(r));
	CHECK_INT(f->rc, DDNS_ETOOBIG);
	json_decref(r);
	r = ask_len(f, t, huge, huge_len - 1);
	CHECK(json_is_true(json_object_get(r, "result")));
	json_decref(r);
	free(huge);
}

/* A reset and renewed snapshot sees a change committed in between. */
static void test_renew(struct fixture *f, ddns_txn *t)
{
	ddns_txn *w = NULL;
	uint32_t serial = 0;
	char want[256];
	json_t *r;

	ddns_txn_reset(t);
	CHECK_INT(ddns_txn_begin(f->store, true, &w), 0);
	CHECK_INT(ddns_zone_bump_serial(w, "dyn.example.org", &serial), 0);
	CHECK_INT(ddns_txn_commit(w), 0);
	CHECK_INT(ddns_txn_renew(t), 0);
	snprintf(want, sizeof want,
		 "ns1.example.org. hostmaster.example.org. %u 10800 3600 "
		 "604800 60",
		 (unsigned)serial);
	r = lookup(f, t, "SOA", "dyn.example.org.", f->dyn.id);
	CHECK(serial != f->dyn.serial && find_rr(r, "SOA", want) != NULL);
	json_decref(r);
}

/* ---- the flat parser -------------------------------------------------- */

static const char *const flat_want[] = {"qtype", "qname", "zone-id"};

/* The request pdns 4.7 sends, byte for byte (from strace). */
#define PDNS_LOOKUP                                                            \
	"{\"method\": \"lookup\", \"parameters\": {\"local\": \"0.0.0.0\", "   \
	"\"qname\": \"h.dyn.example.org.\", \"qtype\": \"ANY\", "              \
	"\"real-remote\": \"0.0.0.0/0\", \"remote\": \"0.0.0.0\", "            \
	"\"zone-id\": 1}}"

static int flat(const char *in, struct rb_flat *f)
{
	return rb_flat_parse(in, strlen(in), flat_want, 3, f);
}

static void test_flat_accepts(void)
{
	struct rb_flat f;

	CHECK_INT(flat(PDNS_LOOKUP, &f), 0);
	CHECK(rb_flat_is(&f.method, "lookup") && f.has_params);
	CHECK(rb_flat_is(&f.val[0], "ANY"));
	CHECK(rb_flat_is(&f.val[1], "h.dyn.example.org."));
	CHECK(f.val[2].kind == RB_FLAT_INT && f.val[2].n == 1);

	CHECK_INT(flat(" \t\r\n{ \"parameters\" :{\"zone-id\":-1 ,\"x\":null,"
		       "\"y\":true,\"z\":false,\"qname\":\"\"} ,\"method\":"
		       "\"lookup\",\"other\":\"\"}\r\n", &f), 0);
	CHECK(f.val[2].kind == RB_FLAT_INT && f.val[2].n == -1);
	CHECK(f.val[1].kind == RB_FLAT_STR && f.val[1].len == 0);
	CHECK(f.val[0].kind == RB_FLAT_ABSENT);
	CHECK_INT(flat("{\"method\":\"initialize\"}", &f), 0);
	CHECK(!f.has_params);
	CHECK_INT(flat("{}", &f), 0);
	CHECK_INT(flat("{\"parameters\":{}}", &f), 0);
	CHECK_INT(flat("{\"method\":\"x\",\"parameters\":{\"zone-id\":"
		       "-999999999999999999}}", &f), 0);
	CHECK(f.val[2].n == -999999999999999999LL);
	CHECK_INT(flat("{\"method\":\"x\",\"parameters\":{\"zone-id\":-0}}",
		       &f), 0);
	CHECK(f.val[2].kind == RB_FLAT_INT && f.val[2].n == 0);
	/* a key nobody asked for may come twice, as jansson allows */
	CHECK_INT(flat("{\"a\":1,\"a\":2,\"parameters\":{\"b\":1,\"b\":2}}",
		       &f), 0);
}

static void test_flat_declines(void)
{
	static const char *other[] = {
		"", " ", "{", "}", "[]", "null", "\"x\"", "{}x", "{} {}",
		"{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}",
		"{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}",
		"{\"method\":\"lookup\",\"method\":\"lookup\"}",
		"{\"parameters\":{},\"parameters\":{}}",
		"{\"parameters\":{\"qname\":\"a\",\"qname\":\"b\"}}",
		"{\"parameters\":[]}", "{\"parameters\":\"x\"}",
		"{\"parameters\":{\"parameters\":{}}}",
		"{\"parameters\":{\"qname\":{}}}", "{\"x\":[]}", "{\"x\":{}}",
		"{\"x\":\"a\\\"b\"}", "{\"x\":\"\\u0041\"}", "{\"x\":\"\\\\\"}",
		"{\"x\":\"caf\xc3\xa9\"}", "{\"x\":\"a\x7f\"}",
		"{\"x\":\"a\tb\"}", "{\"x\":\"unterminated}",
		"{\"x\":1.0}", "{\"x\":1e3}", "{\"x\":1E3}", "{\"x\":01}",
		"{\"x\":-}", "{\"x\":+1}", "{\"x\":.5}", "{\"x\":-01}",
		"{\"x\":1234567890123456789}", "{\"x\":0x10}", "{\"x\":1a}",
		"{\"x\":tru}", "{\"x\":nul}", "{\"x\":True}", "{\"x\":NaN}",
		"{\"x\":truex}", "\xef\xbb\xbf{}", "{\"x\":1}\x0b",
		"{\"x\":1}//", "{\"x\":1\x0c}",
	};
	struct rb_flat f;

	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		CHECK_INT(flat(other[i], &f), 1);
		if (flat(other[i], &f) != 1)
			fprintf(stderr, "  accepted: %s\n", other[i]);
	}
	/* NUL bytes, anywhere */
	CHECK_INT(rb_flat_parse("{\"x\":\"a\0\"}", 9, flat_want, 3, &f), 1);
	CHECK_INT(rb_flat_parse("{}\0", 3, flat_want, 3, &f), 1);
	CHECK_INT(rb_flat_parse("{\"x\"\0:1}", 8, flat_want, 3, &f), 1);
	/* every proper prefix of a good request is declined */
	for (size_t n = 0; n < sizeof PDNS_LOOKUP - 1; n++)
		CHECK_INT(rb_flat_parse(PDNS_LOOKUP, n, flat_want, 3, &f), 1);
	CHECK_INT(rb_flat_parse(NULL, 0, flat_want, 3, &f), 1);
	CHECK_INT(rb_flat_parse("{}", 2, flat_want, RB_FLAT_WANT_MAX + 1, &f),
		  1);
}

/*
 * Mutants of pdns's request: each byte replaced, each byte dropped, a
 * byte inserted.  Whatever the fast path makes of them, the reply must be
 * the jansson path's (ask_len checks it), and one well-formed line.
 */
static void test_flat_mutants(struct fixture *f, ddns_txn *t)
{
	static const char subst[] = {'"', '\\', ',', ':', '{', '}', '[', ' ',
				     '0', '9', '-', '.', 'e', 'A', '\0', '\n',
				     '\x80', 't', 'n', '\x1f'};
	char base[] = PDNS_LOOKUP, m[sizeof base + 1];
	size_t n = sizeof base - 1;
	json_t *r;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof subst; k++) {
			memcpy(m, base, n);
			m[i] = subst[k];
			json_decref(ask_len(f, t, m, n));
			memcpy(m, base, i); /* insert before byte i */
			m[i] = subst[k];
			memcpy(m + i + 1, base + i, n - i);
			json_decref(ask_len(f, t, m, n + 1));
		}
		memcpy(m, base, i); /* drop byte i */
		memcpy(m + i, base + i + 1, n - i - 1);
		json_decref(ask_len(f, t, m, n - 1));
	}
	r = ask(f, t, base);
	CHECK(find_rr(r, "A", "192.0.2.1") != NULL);
	json_decref(r);
}

/* A lookup written with escapes (the jansson path) or plainly (the flat
 * path) has one answer. */
static void test_flat_escaped(struct fixture *f, ddns_txn *t)
{
	json_t *a, *b;
	char *sa, *sb;

	a = ask(f, t, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":"
		      "\"\\u0041NY\",\"qname\":\"\\u0048.dyn.example.org.\","
		      "\"zone-id\":1.0}}");
	b = ask(f, t, "{\"method\":\"lookup\",\"parameters\":{\"qtype\":"
		      "\"ANY\",\"qname\":\"H.dyn.example.org.\",\"zone-id\":1}}");
	sa = json_dumps(a, JSON_SORT_KEYS);
	sb = json_dumps(b, JSON_SORT_KEYS);
	CHECK(sa && sb && strcmp(sa, sb) == 0);
	CHECK_INT(n_rr(a), 2);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
}

/* ---- the zone cache --------------------------------------------------- */

static void zone_ttl(struct fixture *f, const char *name, uint32_t ttl)
{
	struct ddns_zone z;
	ddns_txn *w = NULL;

	CHECK_INT(ddns_txn_begin(f->store, true, &w), 0);
	CHECK_INT(ddns_zone_get(w, name, &z), 0);
	z.ttl = ttl;
	CHECK_INT(ddns_zone_update(w, &z), 0);
	CHECK_INT(ddns_txn_commit(w), 0);
}

/* The TTL of NAME's A record answered in zone ZONE_ID. */
static long long answered_ttl(struct fixture *f, ddns_txn *t,
			      const char *name, long long zone_id)
{
	json_t *r = lookup(f, t, "A", name, zone_id);
	json_t *rr = json_array_get(json_object_get(r, "result"), 0);
	long long ttl = rr ? json_integer_value(json_object_get(rr, "ttl")) : -1;

	json_decref(r);
	return ttl;
}

/*
 * More zones than the cache holds, asked in turn; then a zone setting
 * changed without a serial bump: the next snapshot must answer the new
 * TTL, since the cache belongs to one snapshot, not to a serial.
 */
static void test_cache(struct fixture *f, ddns_txn *t)
{
	char name[64], host[80];
	struct ddns_zone z[RB_ZONE_CACHE + 2];
	ddns_txn *w = NULL;
	uint64_t snap;

	ddns_txn_reset(t);
	CHECK_INT(ddns_txn_begin(f->store, true, &w), 0);
	for (unsigned i = 0; i < RB_ZONE_CACHE + 2; i++) {
		snprintf(name, sizeof name, "c%u.test", i);
		snprintf(host, sizeof host, "h.c%u.test", i);
		zone_init(&z[i], name, "ns.test", NULL, "hm.test",
			  DDNS_ZONE_NATIVE);
		z[i].ttl = 100 + i;
		CHECK_INT(ddns_zone_add(w, &z[i]), 0);
		host_add(w, &z[i], host, "192.0.2.9", NULL, 0);
	}
	CHECK_INT(ddns_txn_commit(w), 0);
	CHECK_INT(ddns_txn_renew(t), 0);
	snap = ddns_txn_snapshot(t);
	CHECK(snap != 0);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < RB_ZONE_CACHE + 2; i++) {
			snprintf(host, sizeof host, "h.c%u.test.", i);
			CHECK_INT(answered_ttl(f, t, host, z[i].id), 100 + i);
		}
	CHECK(f->cache.snapshot == snap && f->cache.n == RB_ZONE_CACHE);
	CHECK_INT(answered_ttl(f, t, "h.c1.test.", z[0].id), -1);

	ddns_txn_reset(t);
	zone_ttl(f, "c0.test", 7);
	CHECK_INT(ddns_txn_renew(t), 0);
	CHECK(ddns_txn_snapshot(t) > snap);
	CHECK_INT(answered_ttl(f, t, "h.c0.test.", z[0].id), 7);
	CHECK_INT(answered_ttl(f, t, "h.c1.test.", z[1].id), 101);
	CHECK_INT(ddns_txn_snapshot(NULL), 0);

	ddns_txn_reset(t);
	CHECK_INT(ddns_txn_begin(f->store, true, &w), 0);
	CHECK_INT(ddns_txn_snapshot(w), 0);
	for (unsigned i = 0; i < RB_ZONE_CACHE + 2; i++)
		CHECK_INT(ddns_zone_del(w, z[i].name, true, NULL), 0);
	CHECK_INT(ddns_txn_commit(w), 0);
	CHECK_INT(ddns_txn_renew(t), 0);
	CHECK_INT(answered_ttl(f, t, "h.c1.test.", z[1].id), -1);
}


int main(void)
{
	struct fixture f;
	ddns_txn *t = NULL;

	ddns_log_init("test_rb_proto", DDNS_LOG_ERR);
	if (fixture_open(&f) != 0 || ddns_txn_begin(f.store, false, &t) != 0) {
		CHECK(0);
		return check_done();
	}
	test_initialize(&f, t);
	test_soa_ns(&f, t);
	test_addresses(&f, t);
	test_absent(&f, t);
	test_wildcard_nested(&f, t);
	test_domains(&f, t);
	test_list(&f, t);
	test_refused(&f, t);
	test_renew(&f, t);
	test_flat_accepts();
	test_flat_declines();
	test_flat_mutants(&f, t);
	test_flat_escaped(&f, t);
	test_cache(&f, t);
	ddns_txn_abort(t);
	fixture_close(&f);
	return check_done();
}
