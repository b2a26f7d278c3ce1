/*
 * test_challenge.c -- ACME challenge values (shared/challenge.c) on a real
 * store in a temporary directory, and how the remote backend serves them
 * (rb_proto.c: lookup TXT / ANY at _acme-challenge.HOST, list).
 */
#include "challenge.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "rb_proto.h"
#include "store.h"

#define V1 "Zm9vYmFyMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY"
#define V2 "YmF6cXV4MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY"

static char dir[64];
static ddns_store *S;
static struct ddns_zone Z;

static void open_store(void)
{
	char err[256];
	ddns_txn *t = NULL;
	struct ddns_host h;

	snprintf(dir, sizeof dir, "/tmp/ddns-test-chal-XXXXXX");
	if (!mkdtemp(dir) || ddns_store_open(&S, dir, DDNS_STORE_CREATE,
					     1 << 24, err, sizeof err) != 0) {
		fprintf(stderr, "cannot make a store: %s\n", err);
		exit(1);
	}
	memset(&Z, 0, sizeof Z);
	snprintf(Z.name, sizeof Z.name, "dyn.example.org");
	snprintf(Z.ns[0], sizeof Z.ns[0], "ns1.example.org");
	snprintf(Z.hostmaster, sizeof Z.hostmaster, "hostmaster.example.org");
	Z.n_ns = 1;
	Z.ttl = 60;
	CHECK_INT(ddns_txn_begin(S, true, &t), 0);
	CHECK_INT(ddns_zone_add(t, &Z), 0);
	memset(&h, 0, sizeof h);
	h.zone_id = Z.id;
	h.created = 1000;
	snprintf(h.fqdn, sizeof h.fqdn, "h.dyn.example.org");
	CHECK_INT(ddns_host_add(t, &h), 0);
	snprintf(h.fqdn, sizeof h.fqdn, "blocked.dyn.example.org");
	h.flags = DDNS_HOST_BLOCKED;
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

static void test_values(void)
{
	char big[DDNS_CHALLENGE_VALUE_MAX + 2];

	CHECK(ddns_challenge_value_valid(V1, strlen(V1)));
	CHECK(ddns_challenge_value_valid("a+b/c=", 6));
	CHECK(!ddns_challenge_value_valid("", 0));
	CHECK(!ddns_challenge_value_valid("a b", 3));
	CHECK(!ddns_challenge_value_valid("a\"b", 3));
	CHECK(!ddns_challenge_value_valid("a\\b", 3));
	CHECK(!ddns_challenge_value_valid("ab\0c", 4));
	CHECK(!ddns_challenge_value_valid(NULL, 3));
	memset(big, 'a', sizeof big);
	CHECK(ddns_challenge_value_valid(big, DDNS_CHALLENGE_VALUE_MAX));
	CHECK(!ddns_challenge_value_valid(big, DDNS_CHALLENGE_VALUE_MAX + 1));
}

static void test_helpers(void)
{
	struct ddns_challenges c;

	memset(&c, 0, sizeof c);
	ddns_challenge_add(&c, "a", 100, 3);
	ddns_challenge_add(&c, "b", 200, 3);
	ddns_challenge_add(&c, "a", 300, 3); /* refresh, no second copy */
	CHECK_INT(c.n, 2);
	CHECK_INT(c.v[0].expires, 300);
	ddns_challenge_add(&c, "c", 400, 3);
	ddns_challenge_add(&c, "d", 500,
			   3); /* full: b (first to expire) goes */
	CHECK_INT(c.n, 3);
	CHECK(!ddns_challenge_remove(&c, "b"));
	CHECK(ddns_challenge_remove(&c, "c"));
	CHECK_INT(c.n, 2);
	CHECK_STR(c.v[0].value, "a");
	CHECK_STR(c.v[1].value, "d");
	CHECK_INT(ddns_challenge_expire(&c, 300), 1); /* a: expires == now */
	CHECK_INT(c.n, 1);
	CHECK_STR(c.v[0].value, "d");
	for (int i = 0; i < 20; i++) {
		char v[8];

		snprintf(v, sizeof v, "v%d", i);
		ddns_challenge_add(&c, v, 1000 + i, 0); /* 0: the hard cap */
	}
	CHECK_INT(c.n, DDNS_CHALLENGE_MAX);
}

static void test_codec(void)
{
	struct ddns_challenges c, d;
	uint8_t buf[2048];
	int len;

	memset(&c, 0, sizeof c);
	c.host_created = 1234567890123LL;
	ddns_challenge_add(&c, V1, 99, 4);
	ddns_challenge_add(&c, V2, -5, 4);
	len = ddns_challenge_encode(&c, buf, sizeof buf);
	CHECK(len > 0);
	CHECK_INT(ddns_challenge_decode(buf, (size_t)len, &d), 0);
	CHECK_INT(d.host_created, c.host_created);
	CHECK_INT(d.n, 2);
	CHECK_STR(d.v[1].value, V2);
	CHECK_INT(d.v[1].expires, -5);
	for (int cut = 0; cut < len; cut++)
		CHECK_INT(ddns_challenge_decode(buf, (size_t)cut, &d),
			  DDNS_ECORRUPT);
	buf[0] = 9;
	CHECK_INT(ddns_challenge_decode(buf, (size_t)len, &d), DDNS_ECORRUPT);
	CHECK_INT(ddns_challenge_encode(&c, buf, 10), DDNS_ETOOBIG);
	snprintf(c.v[0].value, sizeof c.v[0].value, "bad value");
	CHECK_INT(ddns_challenge_encode(&c, buf, sizeof buf), DDNS_EINVAL);
}

/* Write VALUES (NULL-terminated) with EXPIRES for FQDN owned by CREATED. */
static void put(const char *fqdn, int64_t created, int64_t expires,
		const char *const *values)
{
	struct ddns_challenges c;
	ddns_txn *t = NULL;

	memset(&c, 0, sizeof c);
	c.host_created = created;
	for (; *values; values++)
		ddns_challenge_add(&c, *values, expires, 8);
	CHECK_INT(ddns_txn_begin(S, true, &t), 0);
	CHECK_INT(ddns_challenge_put(t, fqdn, &c), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static int count_cb(const char *fqdn, const struct ddns_challenges *c,
		    void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_store(void)
{
	const char *const two[] = {V1, V2, NULL};
	struct ddns_challenges c;
	struct ddns_host h;
	ddns_txn *t = NULL;
	int64_t now = (int64_t)time(NULL);
	int n = 0;

	put("h.dyn.example.org", 1000, now + 600, two);
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(ddns_challenge_get(t, "h.dyn.example.org", &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(ddns_host_get(t, "h.dyn.example.org", &h), 0);
	CHECK_INT(ddns_challenge_live(t, &h, now, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(ddns_challenge_live(t, &h, now + 600, &c), DDNS_ENOTFOUND);
	h.created = 1001; /* a host made anew under the same name */
	CHECK_INT(ddns_challenge_live(t, &h, now, &c), DDNS_ENOTFOUND);
	CHECK_INT(ddns_challenge_get(t, "x.dyn.example.org", &c),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_challenge_get(t, "Not A Name", &c), DDNS_ENOTFOUND);
	CHECK_INT(ddns_challenge_foreach(t, count_cb, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(ddns_challenge_put(t, "h.dyn.example.org", &c), DDNS_EINVAL);
	ddns_txn_abort(t);
}

/* The reply to a lookup of QTYPE QNAME. */
static const char *lookup(struct ddns_buf *b, const char *qtype,
			  const char *qname)
{
	char req[512];
	ddns_txn *t = NULL;

	snprintf(req, sizeof req,
		 "{\"method\":\"lookup\",\"parameters\":{\"qtype\":\"%s\","
		 "\"qname\":\"%s\",\"remote\":\"127.0.0.1\",\"local\":"
		 "\"0.0.0.0\",\"real-remote\":\"127.0.0.1/32\",\"zone-id\":"
		 "-1}}",
		 qtype, qname);
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(rb_handle(t, req, strlen(req), b), 0);
	ddns_txn_abort(t);
	return b->data ? b->data : "";
}

static int count(const char *s, const char *sub)
{
	int n = 0;

	for (; (s = strstr(s, sub)) != NULL; s++)
		n++;
	return n;
}

static void test_backend(void)
{
	const char *const two[] = {V1, V2, NULL};
	const char *const one[] = {V1, NULL};
	struct ddns_buf b = {0};
	int64_t now = (int64_t)time(NULL);
	const char *r;
	char req[256];
	ddns_txn *t = NULL;

	put("h.dyn.example.org", 1000, now + 600, two);
	r = lookup(&b, "TXT", "_acme-challenge.h.dyn.example.org.");
	CHECK_INT(count(r, "\"qtype\":\"TXT\""), 2);
	CHECK(strstr(r, "\"content\":\"\\\"" V1 "\\\"\"") != NULL);
	CHECK(strstr(r, "\"qname\":\"_acme-challenge.h.dyn.example.org.\""));
	CHECK(strstr(r, "\"ttl\":60,"));
	r = lookup(&b, "ANY", "_ACME-Challenge.H.dyn.example.org.");
	CHECK_INT(count(r, "\"qtype\":\"TXT\""), 2);
	r = lookup(&b, "A", "_acme-challenge.h.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	r = lookup(&b, "TXT", "h.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	r = lookup(&b, "TXT", "_acme-challenge.x.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	r = lookup(&b, "TXT", "_acme-challenge.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	r = lookup(&b, "TXT", "_other.h.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	r = lookup(&b, "TXT",
		   "_acme-challenge._acme-challenge.h.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	/* a value about to expire has a TTL that ends with it */
	put("h.dyn.example.org", 1000, now + 5, one);
	r = lookup(&b, "TXT", "_acme-challenge.h.dyn.example.org.");
	CHECK_INT(count(r, "\"qtype\":\"TXT\""), 1);
	CHECK(strstr(r, "\"ttl\":60,") == NULL);
	/* expired: never served */
	put("h.dyn.example.org", 1000, now - 1, one);
	r = lookup(&b, "TXT", "_acme-challenge.h.dyn.example.org.");
	CHECK_STR(r, RB_REPLY_FALSE);
	/* another host's record (made anew), and a blocked host */
	put("h.dyn.example.org", 999, now + 600, one);
	CHECK_STR(lookup(&b, "TXT", "_acme-challenge.h.dyn.example.org."),
		  RB_REPLY_FALSE);
	put("blocked.dyn.example.org", 1000, now + 600, one);
	CHECK_STR(lookup(&b, "TXT", "_acme-challenge.blocked.dyn.example.org."),
		  RB_REPLY_FALSE);
	/* AXFR: the live values of each host */
	put("h.dyn.example.org", 1000, now + 600, two);
	snprintf(req, sizeof req,
		 "{\"method\":\"list\",\"parameters\":{\"zonename\":"
		 "\"dyn.example.org.\",\"domain_id\":%u}}",
		 (unsigned)Z.id);
	CHECK_INT(ddns_txn_begin(S, false, &t), 0);
	CHECK_INT(rb_handle(t, req, strlen(req), &b), 0);
	ddns_txn_abort(t);
	CHECK_INT(count(b.data, "\"qtype\":\"TXT\""), 2);
	CHECK_INT(count(b.data, "_acme-challenge.blocked"), 0);
	ddns_buf_free(&b);
}

int main(void)
{
	ddns_log_init("test_challenge", DDNS_LOG_ERR);
	open_store();
	test_values();
	test_helpers();
	test_codec();
	test_store();
	test_backend();
	close_store();
	return check_done();
}
