/*
 * test_proxy.c -- the client behind a trusted reverse proxy (proxy.c):
 * the trusted_proxies list, trusted and untrusted peers, the right-to-left
 * walk of X-Forwarded-For (over several header lines), malformed entries,
 * X-Real-IP, and X-Forwarded-Proto.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "check.h"
#include "err.h"
#include "proxy.h"

static struct ddns_addr A(const char *s) {
	struct ddns_addr a;

	memset(&a, 0, sizeof a);
	if (ddns_addr_parse(s, strlen(s), &a) != 0)
		abort();
	return a;
}

static struct ddns_proxies P; /* 10.0.0.0/8, 192.0.2.1, 2001:db8:1::/48 */

static void proxies_setup(void)
{
	const char *v[] = {"10.0.0.0/8", "192.0.2.1", "2001:db8:1::/48"};
	struct ddns_conf_list l;
	char err[128];

	memset(&l, 0, sizeof l);
	for (unsigned i = 0; i < 3; i++)
		l.v[l.n++] = (char *)v[i];
	CHECK_INT(ddns_proxies_init(&P, &l, err, sizeof err), 0);
	CHECK_INT(P.n, 3);
}

/* Headers: NAMES[i] = VALUES[i] for the N pairs, into a fresh list. */
static void headers(struct evkeyvalq *h, const char *const *kv, size_t n)
{
	h->tqh_first = NULL;
	h->tqh_last = &h->tqh_first;
	for (size_t i = 0; i + 1 < n; i += 2)
		if (evhttp_add_header(h, kv[i], kv[i + 1]) != 0)
			abort();
}

struct outcome {
	int rc;
	char client[DDNS_ADDR_STRLEN];
	bool tls;
};

/* ddns_proxy_client from PEER with the N strings of KV as header pairs,
 * TLS the connection's own TLS-ness. */
static struct outcome run(const char *peer, bool tls, const char *const *kv,
			  size_t n)
{
	struct evkeyvalq h;
	struct ddns_addr p = A(peer), client;
	struct outcome o;

	headers(&h, kv, n);
	memset(&client, 0, sizeof client);
	o.tls = tls;
	o.rc = ddns_proxy_client(&P, &p, &h, &client, &o.tls);
	ddns_addr_format(&client, o.client, sizeof o.client);
	evhttp_clear_headers(&h);
	return o;
}

#define RUN(peer, tls, ...)                                                    \
	run(peer, tls, (const char *const[]){__VA_ARGS__},                     \
	    sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static void test_init(void)
{
	const char *v[] = {"10.0.0.0/8", "not-an-address"};
	struct ddns_conf_list l;
	struct ddns_proxies p;
	char err[128] = "";
	struct ddns_addr a;

	memset(&l, 0, sizeof l);
	l.v[l.n++] = (char *)v[0];
	l.v[l.n++] = (char *)v[1];
	CHECK_INT(ddns_proxies_init(&p, &l, err, sizeof err), DDNS_EINVAL);
	CHECK(strstr(err, "trusted_proxies") != NULL);
	CHECK(strstr(err, "'not-an-address'") != NULL);
	memset(&l, 0, sizeof l);
	CHECK_INT(ddns_proxies_init(&p, &l, err, sizeof err), 0);
	CHECK_INT(p.n, 0);
	a = A("10.0.0.1");
	CHECK(!ddns_proxies_trusted(&p, &a)); /* an empty list trusts none */

	a = A("10.255.0.1");
	CHECK(ddns_proxies_trusted(&P, &a));
	a = A("11.0.0.1");
	CHECK(!ddns_proxies_trusted(&P, &a));
	a = A("192.0.2.1");
	CHECK(ddns_proxies_trusted(&P, &a));
	a = A("192.0.2.2");
	CHECK(!ddns_proxies_trusted(&P, &a));
	a = A("2001:db8:1:ffff::1");
	CHECK(ddns_proxies_trusted(&P, &a));
	a = A("2001:db8:2::1");
	CHECK(!ddns_proxies_trusted(&P, &a));
	a = A("::ffff:10.1.2.3"); /* mapped: taken as IPv4 */
	CHECK(ddns_proxies_trusted(&P, &a));
}

static void test_untrusted_peer(void)
{
	struct outcome o;

	o = RUN("198.51.100.1", false, "X-Forwarded-For", "203.0.113.9",
		"X-Real-IP", "203.0.113.8", "X-Forwarded-Proto", "https");
	CHECK_INT(o.rc, DDNS_PROXY_DIRECT);
	CHECK_STR(o.client, "198.51.100.1");
	CHECK(!o.tls); /* its X-Forwarded-Proto is ignored too */
	o = RUN("2001:db8:2::1", true, "X-Forwarded-Proto", "http");
	CHECK_INT(o.rc, DDNS_PROXY_DIRECT);
	CHECK_STR(o.client, "2001:db8:2::1");
	CHECK(o.tls);
}

static void test_trusted_no_headers(void)
{
	struct outcome o = RUN("10.0.0.1", false, "Host", "example.org");

	CHECK_INT(o.rc, DDNS_PROXY_DIRECT);
	CHECK_STR(o.client, "10.0.0.1");
	CHECK(!o.tls);
	o = RUN("10.0.0.1", true, "Host", "example.org");
	CHECK(o.tls); /* no X-Forwarded-Proto: the connection's own */
}

static void test_forwarded_for(void)
{
	static const struct {
		const char *xff, *client;
	} t[] = {
	    {"203.0.113.9", "203.0.113.9"},
	    {" 203.0.113.9 ", "203.0.113.9"},
	    /* right to left: the right end is the one the proxy wrote */
	    {"203.0.113.5, 198.51.100.9", "198.51.100.9"},
	    /* trusted proxies on the way are skipped */
	    {"198.51.100.9, 10.0.0.2", "198.51.100.9"},
	    {"198.51.100.9,10.0.0.2,192.0.2.1", "198.51.100.9"},
	    /* every entry trusted: the leftmost */
	    {"10.0.0.3, 10.0.0.2", "10.0.0.3"},
	    {"2001:db8::9", "2001:db8::9"},
	    {"2001:db8::9, 2001:db8:1::5", "2001:db8::9"},
	    {"::ffff:192.0.2.99", "192.0.2.99"},
	    /* the walk stops at the first untrusted entry: junk to the left
	     * of it, which the client may have sent, does not matter */
	    {"bogus, 198.51.100.10", "198.51.100.10"},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct outcome o =
		    RUN("10.0.0.1", false, "X-Forwarded-For", t[i].xff);

		CHECK_INT(o.rc, DDNS_PROXY_FORWARDED);
		CHECK_STR(o.client, t[i].client);
	}
}

static void test_forwarded_for_lines(void)
{
	struct outcome o;

	/* several header lines are one list, in order */
	o = RUN("10.0.0.1", false, "X-Forwarded-For", "198.51.100.11",
		"X-Forwarded-For", "198.51.100.12");
	CHECK_INT(o.rc, DDNS_PROXY_FORWARDED);
	CHECK_STR(o.client, "198.51.100.12");
	o = RUN("10.0.0.1", false, "X-Forwarded-For", "198.51.100.11",
		"x-forwarded-for", "10.0.0.7, 10.0.0.8");
	CHECK_INT(o.rc, DDNS_PROXY_FORWARDED);
	CHECK_STR(o.client, "198.51.100.11");
	/* more lines than DDNS_PROXY_HEADERS_MAX: not believed */
	o = RUN("10.0.0.1", false, "X-Forwarded-For", "198.51.100.1",
		"X-Forwarded-For", "198.51.100.2", "X-Forwarded-For",
		"198.51.100.3", "X-Forwarded-For", "198.51.100.4",
		"X-Forwarded-For", "198.51.100.5", "X-Forwarded-For",
		"198.51.100.6", "X-Forwarded-For", "198.51.100.7",
		"X-Forwarded-For", "198.51.100.8", "X-Forwarded-For",
		"198.51.100.9");
	CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
	CHECK_STR(o.client, "10.0.0.1");
}

static void test_forwarded_for_malformed(void)
{
	static const char *const bad[] = {
	    "192.0.2.300",
	    "bogus",
	    "192.0.2.7:8080",
	    "192.0.2.0/24",
	    "198.51.100.9, ",
	    "198.51.100.9,,",
	    "[2001:db8::1]",
	    "unknown",
	    "",
	    ",",
	    "0.0.0.0",
	    "224.0.0.1",
	    "10.0.0.2, x", /* malformed behind a trusted entry */
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct outcome o =
		    RUN("10.0.0.1", false, "X-Forwarded-For", bad[i]);

		CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
		CHECK_STR(o.client, "10.0.0.1");
	}
}

static void test_real_ip(void)
{
	struct outcome o;

	o = RUN("10.0.0.1", false, "X-Real-IP", "2001:db8::78");
	CHECK_INT(o.rc, DDNS_PROXY_FORWARDED);
	CHECK_STR(o.client, "2001:db8::78");
	o = RUN("10.0.0.1", false, "X-Real-IP", " 192.0.2.79 ");
	CHECK_INT(o.rc, DDNS_PROXY_FORWARDED);
	CHECK_STR(o.client, "192.0.2.79");
	/* X-Forwarded-For comes first */
	o = RUN("10.0.0.1", false, "X-Real-IP", "192.0.2.79", "X-Forwarded-For",
		"192.0.2.81");
	CHECK_STR(o.client, "192.0.2.81");
	/* and a malformed one is not replaced by X-Real-IP */
	o = RUN("10.0.0.1", false, "X-Forwarded-For", "bogus", "X-Real-IP",
		"192.0.2.80");
	CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
	CHECK_STR(o.client, "10.0.0.1");
	/* malformed, a list, or two of them: not believed */
	o = RUN("10.0.0.1", false, "X-Real-IP", "nonsense");
	CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
	CHECK_STR(o.client, "10.0.0.1");
	o = RUN("10.0.0.1", false, "X-Real-IP", "192.0.2.1, 192.0.2.2");
	CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
	o = RUN("10.0.0.1", false, "X-Real-IP", "192.0.2.1", "X-Real-IP",
		"192.0.2.2");
	CHECK_INT(o.rc, DDNS_PROXY_MALFORMED);
	CHECK_STR(o.client, "10.0.0.1");
}

static void test_forwarded_proto(void)
{
	static const struct {
		const char *v1, *v2; /* v2 NULL: one header line */
		bool conn_tls, tls;
	} t[] = {
	    {"https", NULL, false, true},
	    {"HTTPS", NULL, false, true},
	    {" https ", NULL, false, true},
	    {"http", NULL, true, false}, /* a plain leg behind our TLS */
	    {"http, https", NULL, false, false},
	    {"https, https", NULL, false, true},
	    {"https, http", NULL, false, false},
	    {"https", "https", false, true},
	    {"https", "http", true, false},
	    {"", NULL, true, false},
	    {"wss", NULL, false, false},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct outcome o = t[i].v2 ? RUN("10.0.0.1", t[i].conn_tls,
						 "X-Forwarded-Proto", t[i].v1,
						 "X-Forwarded-Proto", t[i].v2)
					   : RUN("10.0.0.1", t[i].conn_tls,
						 "X-Forwarded-Proto", t[i].v1);

		CHECK(o.tls == t[i].tls);
		CHECK_INT(o.rc, DDNS_PROXY_DIRECT); /* no address header */
	}
}

static void test_edge_cases(void)
{
	struct ddns_addr none, client;
	struct evkeyvalq h;
	bool tls = false;
	const char *kv[] = {"X-Forwarded-For", "203.0.113.1"};

	/* no peer address: nothing to trust */
	memset(&none, 0, sizeof none);
	headers(&h, kv, 2);
	CHECK_INT(ddns_proxy_client(&P, &none, &h, &client, &tls),
		  DDNS_PROXY_DIRECT);
	CHECK_INT(client.family, 0);
	/* no headers at all */
	none = A("10.0.0.1");
	CHECK_INT(ddns_proxy_client(&P, &none, NULL, &client, &tls),
		  DDNS_PROXY_DIRECT);
	CHECK(ddns_addr_equal(&client, &none));
	evhttp_clear_headers(&h);
}

int main(void)
{
	proxies_setup();
	test_init();
	test_untrusted_peer();
	test_trusted_no_headers();
	test_forwarded_for();
	test_forwarded_for_lines();
	test_forwarded_for_malformed();
	test_real_ip();
	test_forwarded_proto();
	test_edge_cases();
	return check_done();
}
