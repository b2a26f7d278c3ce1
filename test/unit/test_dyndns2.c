/*
 * test_dyndns2.c -- the dyndns2 logic: routes, form and Authorization
 * parsing, credentials, hostname lists, address forms, reply text and
 * HTTP status, the decide / apply / commit path, and fault counting with
 * the abuse threshold, on a real LMDB store in a fresh mkdtemp directory
 * (removed at the end).
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dyndns2.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* One request struct for the whole run: it is large. */
static struct ddns_d2_req R;

static void req_reset(void)
{
	ddns_d2_req_clear(&R);
}

/* "Basic " + base64(S) into OUT. */
static void basic(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);

	if (6 + 4 * ((n + 2) / 3) + 1 > cap)
		abort();
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)s,
			(int)n);
}

static const char *field_str(const struct ddns_d2_field *f, char *buf,
			     size_t cap)
{
	if (!f->set)
		return "(unset)";
	if (f->len >= cap)
		abort();
	memcpy(buf, f->p, f->len);
	buf[f->len] = '\0';
	return buf;
}

static struct ddns_addr A(const char *s) {
	struct ddns_addr a;

	memset(&a, 0, sizeof a);
	if (s && ddns_addr_parse(s, strlen(s), &a) != 0)
		abort();
	return a;
}

static const char *
fmt(const struct ddns_addr *a, char *buf)
{
	if (a->family == 0)
		return "";
	return ddns_addr_format(a, buf, DDNS_ADDR_STRLEN);
}

/* ---- routes ----------------------------------------------------------- */

static void test_route(void)
{
	static const struct {
		const char *target;
		int route;
		const char *query; /* NULL: none */
	} t[] = {
	    {"/nic/update", DDNS_D2_ROUTE_UPDATE, NULL},
	    {"/nic/update?hostname=a.b.c", DDNS_D2_ROUTE_UPDATE,
	     "hostname=a.b.c"},
	    {"/nic/update?", DDNS_D2_ROUTE_UPDATE, ""},
	    {"/nic/update?a=1#frag", DDNS_D2_ROUTE_UPDATE, "a=1"},
	    {"/v3/update?x", DDNS_D2_ROUTE_UPDATE, "x"},
	    {"/update?x", DDNS_D2_ROUTE_UPDATE, "x"},
	    {"/myip", DDNS_D2_ROUTE_MYIP, NULL},
	    {"/myip?x=1", DDNS_D2_ROUTE_MYIP, "x=1"},
	    {"http://h.example:8080/nic/update?a=b", DDNS_D2_ROUTE_UPDATE,
	     "a=b"},
	    {"/nic/update/", DDNS_D2_ROUTE_NONE, NULL},
	    {"/nic/updatex", DDNS_D2_ROUTE_NONE, NULL},
	    {"/", DDNS_D2_ROUTE_NONE, NULL},
	    {"", DDNS_D2_ROUTE_NONE, NULL},
	    {"*", DDNS_D2_ROUTE_NONE, NULL},
	    {"http://h.example", DDNS_D2_ROUTE_NONE, NULL},
	    {"/NIC/UPDATE", DDNS_D2_ROUTE_NONE, NULL},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *q = (const char *)1;
		size_t qlen = 99;
		int r =
		    ddns_d2_route(t[i].target, strlen(t[i].target), &q, &qlen);

		CHECK_INT(r, t[i].route);
		if (r == DDNS_D2_ROUTE_NONE)
			continue;
		if (!t[i].query) {
			CHECK(q == NULL && qlen == 0);
		} else {
			CHECK(q != NULL && qlen == strlen(t[i].query) &&
			      memcmp(q, t[i].query, qlen) == 0);
		}
	}
}

/* ---- form parsing ----------------------------------------------------- */

static void test_form(void)
{
	static const struct {
		const char *form;
		int param;
		const char *want; /* "(unset)" when absent */
	} t[] = {
	    {"hostname=h.example.org", DDNS_D2_P_HOSTNAME, "h.example.org"},
	    {"myip=2001%3adb8%3A%3A1", DDNS_D2_P_MYIP, "2001:db8::1"},
	    {"password=a+b%2Bc", DDNS_D2_P_PASSWORD, "a b+c"},
	    {"password=%zz%4", DDNS_D2_P_PASSWORD, "%zz%4"},
	    {"password=%", DDNS_D2_P_PASSWORD, "%"},
	    {"HostName=X.example.org", DDNS_D2_P_HOSTNAME, "X.example.org"},
	    {"hostname=a.b.c&hostname=d.e.f", DDNS_D2_P_HOSTNAME, "a.b.c"},
	    {"system=dyndns&wildcard=ON&mx=x&backmx=NO&offline=NO&myip=1.2.3.4",
	     DDNS_D2_P_MYIP, "1.2.3.4"},
	    {"myip", DDNS_D2_P_MYIP, ""},
	    {"myip=", DDNS_D2_P_MYIP, ""},
	    {"&&myip=1.2.3.4&&", DDNS_D2_P_MYIP, "1.2.3.4"},
	    {"username=h.example.org&password=s3cr3t", DDNS_D2_P_USERNAME,
	     "h.example.org"},
	    {"myipv6=::1&ipv6=2001:db8::2", DDNS_D2_P_IPV6, "2001:db8::2"},
	    {"ip=1.2.3.4", DDNS_D2_P_IP, "1.2.3.4"},
	    {"myipv4=1.2.3.4", DDNS_D2_P_MYIPV4, "1.2.3.4"},
	    {"myip2=1.2.3.4", DDNS_D2_P_MYIP, "(unset)"},
	    {"my%69p=1.2.3.4", DDNS_D2_P_MYIP, "(unset)"},
	    {"hostname=%00x", DDNS_D2_P_HOSTNAME, ""}, /* NUL kept, see len */
	};
	char buf[256];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		req_reset();
		CHECK_INT(ddns_d2_parse_form(&R, t[i].form, strlen(t[i].form)),
			  0);
		CHECK_STR(field_str(&R.param[t[i].param], buf, sizeof buf),
			  t[i].want);
	}
	/* the NUL really is there */
	req_reset();
	ddns_d2_parse_form(&R, "hostname=%00x", 13);
	CHECK_INT(R.param[DDNS_D2_P_HOSTNAME].len, 2);

	/* the query, then a form body: first occurrence wins, both merge */
	req_reset();
	ddns_d2_parse_form(&R, "hostname=a.example.org", 22);
	ddns_d2_parse_form(&R, "hostname=b.example.org&myip=1.2.3.4", 35);
	CHECK_STR(field_str(&R.param[DDNS_D2_P_HOSTNAME], buf, sizeof buf),
		  "a.example.org");
	CHECK_STR(field_str(&R.param[DDNS_D2_P_MYIP], buf, sizeof buf),
		  "1.2.3.4");

	/* size cap, checked before parsing */
	{
		static char big[DDNS_D2_INPUT_MAX + 2];
		memset(big, 'a', sizeof big - 1);
		memcpy(big, "myip=", 5);
		req_reset();
		CHECK_INT(ddns_d2_parse_form(&R, big, DDNS_D2_INPUT_MAX + 1),
			  DDNS_ETOOBIG);
		CHECK(!R.param[DDNS_D2_P_MYIP].set);
		CHECK_INT(ddns_d2_parse_form(&R, big, DDNS_D2_INPUT_MAX), 0);
		CHECK_INT(R.param[DDNS_D2_P_MYIP].len, DDNS_D2_INPUT_MAX - 5);
		/* query + body at their caps + a header fit in the arena */
		CHECK_INT(ddns_d2_parse_form(&R, big, DDNS_D2_INPUT_MAX), 0);
	}
}

/* ---- base64 and Authorization ----------------------------------------- */

static void test_base64(void)
{
	static const struct {
		const char *in;
		int rc; /* length or error */
		const char *out;
	} t[] = {
	    {"", 0, ""},
	    {"QQ==", 1, "A"},
	    {"QUI=", 2, "AB"},
	    {"QUJD", 3, "ABC"},
	    {"QQ", 1, "A"}, /* unpadded is accepted */
	    {"QUI", 2, "AB"},
	    {"Q", DDNS_EINVAL, NULL},
	    {"QQ=", DDNS_EINVAL, NULL},
	    {"QQ===", DDNS_EINVAL, NULL},
	    {"Q===", DDNS_EINVAL, NULL},
	    {"QUJD=", DDNS_EINVAL, NULL},
	    {"QU JD", DDNS_EINVAL, NULL},
	    {"QUJ\n", DDNS_EINVAL, NULL},
	    {"QQ==QQ==", DDNS_EINVAL, NULL},
	    {"QU-D", DDNS_EINVAL, NULL}, /* base64url is not Basic's */
	    {"+/+/", 3, "\xfb\xff\xbf"},
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int n = ddns_d2_base64_decode(t[i].in, strlen(t[i].in), out,
					      sizeof out);
		CHECK_INT(n, t[i].rc);
		if (n >= 0)
			CHECK(memcmp(out, t[i].out, (size_t)n) == 0);
	}
	CHECK_INT(ddns_d2_base64_decode("QUJDRA==", 8, out, 3), DDNS_ETOOBIG);
	CHECK_INT(ddns_d2_base64_decode("QUJDRA==", 8, out, 4), 4);
}

static void test_auth(void)
{
	static const struct {
		const char *plain;  /* base64-encoded into a Basic header */
		const char *header; /* or this header as is */
		int rc;
		bool basic;
		const char *user, *pass;
	} t[] = {
	    {"h.example.org:s3cr3t", NULL, 0, true, "h.example.org", "s3cr3t"},
	    {"h.example.org:se:cr:et", NULL, 0, true, "h.example.org",
	     "se:cr:et"},
	    {"h.example.org:", NULL, 0, true, "h.example.org", ""},
	    {":pw", NULL, 0, true, "", "pw"},
	    {"nocolon", NULL, DDNS_EINVAL, false, NULL, NULL},
	    {"", NULL, DDNS_EINVAL, false, NULL, NULL},
	    {NULL, "basic aC5leGFtcGxlLm9yZzpzM2NyM3Q=", 0, true,
	     "h.example.org", "s3cr3t"},
	    {NULL, "  BASIC \t aC5leGFtcGxlLm9yZzpzM2NyM3Q=  ", 0, true,
	     "h.example.org", "s3cr3t"},
	    {NULL, "Basic aC5leGFtcGxlLm9yZzpzM2NyM3Q", 0, true,
	     "h.example.org", "s3cr3t"},
	    {NULL, "Basic !!!!", DDNS_EINVAL, false, NULL, NULL},
	    {NULL, "Basic aC5leGFtcGxlLm9yZzpzM2NyM3Q=x", DDNS_EINVAL, false,
	     NULL, NULL},
	    {NULL, "Basic a", DDNS_EINVAL, false, NULL, NULL},
	    {NULL, "Basic", DDNS_EINVAL, false, NULL, NULL},
	    {NULL, "Basic ", DDNS_EINVAL, false, NULL, NULL},
	    {NULL, "Bearer abc.def", 0, false, NULL, NULL},
	    {NULL, "Basicfoo", 0, false, NULL, NULL},
	    {NULL, "", 0, false, NULL, NULL},
	};
	char hdr[256], buf[256];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *user, *pass;
		size_t ulen, plen;

		req_reset();
		if (t[i].plain)
			basic(t[i].plain, hdr, sizeof hdr);
		else
			snprintf(hdr, sizeof hdr, "%s", t[i].header);
		CHECK_INT(ddns_d2_parse_auth(&R, hdr, strlen(hdr)), t[i].rc);
		CHECK_INT(R.auth_basic, t[i].basic);
		CHECK_INT(R.auth_broken, t[i].rc != 0);
		if (!t[i].basic)
			continue;
		CHECK_INT(ddns_d2_credentials(&R, &user, &ulen, &pass, &plen),
			  0);
		CHECK(ulen == strlen(t[i].user) &&
		      memcmp(user, t[i].user, ulen) == 0);
		CHECK(plen == strlen(t[i].pass) &&
		      memcmp(pass, t[i].pass, plen) == 0);
		CHECK_STR(field_str(&R.auth_pass, buf, sizeof buf), t[i].pass);
	}
	/* over the cap: broken, not truncated */
	{
		static char big[DDNS_D2_AUTH_MAX + 16];
		memcpy(big, "Basic ", 6);
		memset(big + 6, 'Q', sizeof big - 7);
		req_reset();
		CHECK_INT(ddns_d2_parse_auth(&R, big, strlen(big)),
			  DDNS_EINVAL);
		CHECK(R.auth_broken);
	}
}

static void test_credentials(void)
{
	static const struct {
		const char *query;
		const char *header; /* Basic of this text, or NULL */
		int rc;
		const char *user, *pass;
	} t[] = {
	    {"username=h.example.org&password=pw", NULL, 0, "h.example.org",
	     "pw"},
	    {"username=h.example.org&password=p%3Aw%26", NULL, 0,
	     "h.example.org", "p:w&"},
	    {"username=h.example.org", NULL, DDNS_EINVAL, NULL, NULL},
	    {"password=pw", NULL, DDNS_EINVAL, NULL, NULL},
	    {"", NULL, DDNS_EINVAL, NULL, NULL},
	    /* the header wins over query parameters */
	    {"username=q.example.org&password=q", "h.example.org:h", 0,
	     "h.example.org", "h"},
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char *user = NULL, *pass = NULL;
		size_t ulen = 0, plen = 0;
		char hdr[256];

		req_reset();
		ddns_d2_parse_form(&R, t[i].query, strlen(t[i].query));
		if (t[i].header) {
			basic(t[i].header, hdr, sizeof hdr);
			ddns_d2_parse_auth(&R, hdr, strlen(hdr));
		}
		CHECK_INT(ddns_d2_credentials(&R, &user, &ulen, &pass, &plen),
			  t[i].rc);
		if (t[i].rc != 0)
			continue;
		CHECK(ulen == strlen(t[i].user) &&
		      memcmp(user, t[i].user, ulen) == 0);
		CHECK(plen == strlen(t[i].pass) &&
		      memcmp(pass, t[i].pass, plen) == 0);
	}
	/* a broken header is not rescued by query credentials */
	req_reset();
	ddns_d2_parse_form(&R, "username=h.example.org&password=pw", 34);
	ddns_d2_parse_auth(&R, "Basic %%%%", 10);
	{
		const char *u, *p;
		size_t ul, pl;
		CHECK_INT(ddns_d2_credentials(&R, &u, &ul, &p, &pl),
			  DDNS_EINVAL);
	}
}

/* ---- hostnames -------------------------------------------------------- */

static char code_char(int code)
{
	switch (code) {
	case DDNS_D2_PENDING:
		return 'P';
	case DDNS_D2_NOTFQDN:
		return 'F';
	case DDNS_D2_NOHOST:
		return 'H';
	case DDNS_D2_NUMHOST:
		return 'N';
	default:
		return '?';
	}
}

static void test_hostnames(void)
{
	/* codes: P pending, F notfqdn, H nohost, N numhost */
	static const struct {
		const char *query;
		const char *codes;
	} t[] = {
	    {"", "P"},
	    {"hostname=", "P"},
	    {"hostname=+", "P"},
	    {"hostname=h.example.org", "P"},
	    {"hostname=H.Example.ORG.", "P"},
	    {"hostname=+h.example.org+", "P"},
	    {"hostname=other.example.org", "H"},
	    {"hostname=h", "F"},
	    {"hostname=h..example.org", "F"},
	    {"hostname=-h.example.org", "F"},
	    {"hostname=h_x.example.org", "F"},
	    {"hostname=*.h.example.org", "F"},
	    {"hostname=h.example.org%00", "F"},
	    {"hostname=h.example.org,other.example.org,bad..name,h.example.org",
	     "PHFP"},
	    {"hostname=h.example.org,", "PF"},
	    {"hostname=h.example.org,+h.example.org", "PP"},
	};
	struct ddns_d2_plan plan;
	char q[2048];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char got[DDNS_D2_HOSTS_MAX + 1];

		req_reset();
		ddns_d2_parse_form(&R, t[i].query, strlen(t[i].query));
		memset(&plan, 0, sizeof plan);
		ddns_d2_hostnames(&R, "h.example.org", &plan);
		for (unsigned j = 0; j < plan.n; j++)
			got[j] = code_char(plan.code[j]);
		got[plan.n] = '\0';
		CHECK_STR(got, t[i].codes);
	}
	/* 20 names are fine, 21 are numhost */
	for (int n = 20; n <= 21; n++) {
		size_t off = (size_t)snprintf(q, sizeof q, "hostname=");
		for (int j = 0; j < n; j++)
			off +=
			    (size_t)snprintf(q + off, sizeof q - off,
					     "%sh.example.org", j ? "," : "");
		req_reset();
		ddns_d2_parse_form(&R, q, off);
		ddns_d2_hostnames(&R, "h.example.org", &plan);
		if (n == 20) {
			CHECK_INT(plan.n, 20);
			CHECK_INT(plan.code[19], DDNS_D2_PENDING);
		} else {
			CHECK_INT(plan.n, 1);
			CHECK_INT(plan.code[0], DDNS_D2_NUMHOST);
		}
	}
}

/* ---- addresses -------------------------------------------------------- */

static void test_addresses(void)
{
	static const struct {
		const char *query;
		const char *client;
		int rc;
		const char *v4, *v6; /* "" = untouched */
	} t[] = {
	    {"myip=192.0.2.10", "198.51.100.1", 0, "192.0.2.10", ""},
	    {"myip=2001:db8::1", "198.51.100.1", 0, "", "2001:db8::1"},
	    {"myip=192.0.2.10,2001:db8::1", NULL, 0, "192.0.2.10",
	     "2001:db8::1"},
	    {"myip=2001:db8::1,192.0.2.10", NULL, 0, "192.0.2.10",
	     "2001:db8::1"},
	    {"myip=192.0.2.10,+2001:db8::1", NULL, 0, "192.0.2.10",
	     "2001:db8::1"},
	    {"myip=2001:db8:1:2::/56", NULL, 0, "", "2001:db8:1:2::"},
	    {"myip=192.0.2.10/24", NULL, 0, "192.0.2.10", ""},
	    {"myip=2001%3adb8%3a%3a1", NULL, 0, "", "2001:db8::1"},
	    {"myip=2001%3ADB8%3A%3A1", NULL, 0, "", "2001:db8::1"},
	    {"myip=2001:0db8:0000:0000:0000:0000:0000:0001", NULL, 0, "",
	     "2001:db8::1"},
	    {"myip=2001:DB8:0:0:1:0:0:1", NULL, 0, "", "2001:db8::1:0:0:1"},
	    {"myip=::ffff:192.0.2.10", NULL, 0, "192.0.2.10", ""},
	    {"", "198.51.100.1", 0, "198.51.100.1", ""},
	    {"myip=", "198.51.100.1", 0, "198.51.100.1", ""},
	    {"myip=", "2001:db8::99", 0, "", "2001:db8::99"},
	    {"myip=", "::ffff:198.51.100.1", 0, "198.51.100.1", ""},
	    {"", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=256.1.1.1", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=1.2.3", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=01.2.3.4", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=1.2.3.4.5", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=0.0.0.0", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=::", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=example.org", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=1.2.3.4/", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=1.2.3.4/abc", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=1.2.3.4%00", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=192.0.2.10,192.0.2.11", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=192.0.2.10,192.0.2.10", NULL, 0, "192.0.2.10", ""},
	    {"myip=192.0.2.10,2001:db8::1,2001:db8::2", NULL, DDNS_EBADADDR, "",
	     ""},
	    {"myip=192.0.2.10,", "198.51.100.1", 0, "192.0.2.10", ""},
	    {"myip=192.0.2.10&myipv6=2001:db8::1", NULL, 0, "192.0.2.10",
	     "2001:db8::1"},
	    {"myipv4=192.0.2.10&ipv6=2001:db8::1", NULL, 0, "192.0.2.10",
	     "2001:db8::1"},
	    {"ip=192.0.2.10", NULL, 0, "192.0.2.10", ""},
	    {"myipv4=2001:db8::1", NULL, DDNS_EBADADDR, "", ""},
	    {"myipv6=192.0.2.10", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=192.0.2.10&ip=192.0.2.11", NULL, DDNS_EBADADDR, "", ""},
	    {"myip=&myipv6=2001:db8::1", "198.51.100.1", 0, "", "2001:db8::1"},
	};
	char b4[DDNS_ADDR_STRLEN], b6[DDNS_ADDR_STRLEN];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct ddns_addr client = A(t[i].client), v4, v6;
		int rc;

		req_reset();
		ddns_d2_parse_form(&R, t[i].query, strlen(t[i].query));
		rc = ddns_d2_addresses(&R, t[i].client ? &client : NULL, &v4,
				       &v6);
		CHECK_INT(rc, t[i].rc);
		CHECK_STR(fmt(&v4, b4), t[i].v4);
		CHECK_STR(fmt(&v6, b6), t[i].v6);
	}
}

/* ---- reply text ------------------------------------------------------- */

static void test_format(void)
{
	static const struct {
		int code;
		const char *v4, *v6;
		const char *body;
		int status;
	} t[] = {
	    {DDNS_D2_GOOD, "192.0.2.1", NULL, "good 192.0.2.1", 200},
	    {DDNS_D2_GOOD, NULL, "2001:db8::1", "good 2001:db8::1", 200},
	    {DDNS_D2_GOOD, "192.0.2.1", "2001:db8::1",
	     "good 192.0.2.1,2001:db8::1", 200},
	    {DDNS_D2_NOCHG, "192.0.2.1", NULL, "nochg 192.0.2.1", 200},
	    {DDNS_D2_NOCHG, "192.0.2.1", "2001:db8::1",
	     "nochg 192.0.2.1,2001:db8::1", 200},
	    {DDNS_D2_BADAUTH, NULL, NULL, "badauth", 401},
	    {DDNS_D2_NOTFQDN, NULL, NULL, "notfqdn", 200},
	    {DDNS_D2_NOHOST, NULL, NULL, "nohost", 200},
	    {DDNS_D2_NUMHOST, NULL, NULL, "numhost", 200},
	    {DDNS_D2_ABUSE, NULL, NULL, "abuse", 200},
	    {DDNS_D2_DNSERR, NULL, NULL, "dnserr", 200},
	    {DDNS_D2_911, NULL, NULL, "911", 200},
	};
	/* inadyn counts these words anywhere in a 200 body as success */
	static const char *const success_words[] = {"good", "nochg", "ok",
						    "true", "updated"};
	struct ddns_buf b = {0};
	struct ddns_d2_plan plan;

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&plan, 0, sizeof plan);
		plan.n = 1;
		plan.code[0] = (uint8_t)t[i].code;
		plan.upd.v4 = A(t[i].v4);
		plan.upd.v6 = A(t[i].v6);
		CHECK_INT(ddns_d2_format(&plan, &b), t[i].status);
		CHECK_STR(b.data, t[i].body);
		CHECK_INT(b.len, strlen(t[i].body));
		if (t[i].code == DDNS_D2_GOOD || t[i].code == DDNS_D2_NOCHG)
			continue;
		for (size_t w = 0; w < 5; w++)
			CHECK(strstr(b.data, success_words[w]) == NULL);
	}
	/* several lines, request order, no blank line, no final newline */
	memset(&plan, 0, sizeof plan);
	plan.n = 3;
	plan.code[0] = DDNS_D2_PENDING;
	plan.code[1] = DDNS_D2_NOHOST;
	plan.code[2] = DDNS_D2_PENDING;
	plan.upd.v4 = A("192.0.2.1");
	ddns_d2_plan_finish(&plan, DDNS_D2_GOOD);
	CHECK_INT(ddns_d2_format(&plan, &b), 200);
	CHECK_STR(b.data, "good 192.0.2.1\nnohost\ngood 192.0.2.1");
	/* a badauth outcome makes the whole reply one badauth */
	plan.code[0] = plan.code[2] = DDNS_D2_PENDING;
	ddns_d2_plan_finish(&plan, DDNS_D2_BADAUTH);
	CHECK_INT(ddns_d2_format(&plan, &b), 401);
	CHECK_STR(b.data, "badauth");
	ddns_buf_free(&b);

	CHECK_STR(ddns_d2_code_str(DDNS_D2_PENDING), "911");
}

/* ---- the store path --------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

static void make_zone(ddns_store *s, const char *name)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;

	memset(&z, 0, sizeof z);
	snprintf(z.name, sizeof z.name, "%s", name);
	z.ttl = 60;
	z.n_ns = 1;
	snprintf(z.ns[0], sizeof z.ns[0], "ns1.%s", name);
	snprintf(z.hostmaster, sizeof z.hostmaster, "hostmaster.%s", name);
	CHECK_INT(ddns_txn_begin(s, true, &t), 0);
	CHECK_INT(ddns_zone_add(t, &z), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static void make_host(ddns_store *s, const char *fqdn, const char *zone,
		      char secret[DDNS_SECRET_BUF])
{
	struct ddns_host h;
	struct ddns_zone z;
	ddns_txn *t = NULL;

	memset(&h, 0, sizeof h);
	snprintf(h.fqdn, sizeof h.fqdn, "%s", fqdn);
	CHECK_INT(ddns_cred_new(secret, &h.cred), 0);
	CHECK_INT(ddns_txn_begin(s, true, &t), 0);
	CHECK_INT(ddns_zone_get(t, zone, &z), 0);
	h.zone_id = z.id;
	h.created = 1000;
	CHECK_INT(ddns_host_add(t, &h), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static struct ddns_host get_host(ddns_store *s, const char *fqdn)
{
	struct ddns_host h;
	ddns_txn *t = NULL;

	memset(&h, 0, sizeof h);
	CHECK_INT(ddns_txn_begin(s, false, &t), 0);
	CHECK_INT(ddns_host_get(t, fqdn, &h), 0);
	ddns_txn_abort(t);
	return h;
}

static uint32_t get_serial(ddns_store *s, const char *zone)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;

	memset(&z, 0, sizeof z);
	CHECK_INT(ddns_txn_begin(s, false, &t), 0);
	CHECK_INT(ddns_zone_get(t, zone, &z), 0);
	ddns_txn_abort(t);
	return z.serial;
}

/* Parse QUERY (+ Basic USER:PASS when USER) from CLIENT, decide. */
static int decide(ddns_store *s, const char *query, const char *user,
		  const char *pass, const char *client,
		  struct ddns_d2_plan *plan)
{
	struct ddns_addr c = A(client);
	ddns_txn *t = NULL;
	char cred[512], hdr[768];
	int rc;

	req_reset();
	ddns_d2_parse_form(&R, query, strlen(query));
	if (user) {
		snprintf(cred, sizeof cred, "%s:%s", user, pass);
		basic(cred, hdr, sizeof hdr);
		ddns_d2_parse_auth(&R, hdr, strlen(hdr));
	}
	CHECK_INT(ddns_txn_begin(s, false, &t), 0);
	rc = ddns_d2_decide(t, &R, client ? &c : NULL, plan);
	ddns_txn_abort(t);
	req_reset();
	return rc;
}

/* IN with "@A", "@B", "@C" replaced by SECRETS[0..2], into OUT. */
static void subst(const char *in, const char *const secrets[3], char *out,
		  size_t cap)
{
	size_t o = 0;

	for (; *in; in++) {
		const char *add = NULL;
		char one[2] = {*in, '\0'};

		if (in[0] == '@' && in[1] >= 'A' && in[1] <= 'C')
			add = secrets[*++in - 'A'];
		else
			add = one;
		if (o + strlen(add) >= cap)
			abort();
		memcpy(out + o, add, strlen(add));
		o += strlen(add);
	}
	out[o] = '\0';
}

/* decide + (if needed) commit a batch of one, then format. */
static const char *run(ddns_store *s, const char *query, const char *user,
		       const char *pass, const char *client, int *status,
		       struct ddns_buf *b)
{
	struct ddns_d2_plan plan;
	struct ddns_d2_update *u = &plan.upd;

	CHECK_INT(decide(s, query, user, pass, client, &plan), 0);
	if (plan.write) {
		CHECK_INT(ddns_d2_commit(s, &u, 1, 2000), 0);
		ddns_d2_plan_finish(&plan, plan.upd.code);
	}
	*status = ddns_d2_format(&plan, b);
	return b->data;
}

static void test_store_path(ddns_store *s)
{
	char sa[DDNS_SECRET_BUF], sb[DDNS_SECRET_BUF], sc[DDNS_SECRET_BUF];
	struct ddns_buf b = {0};
	struct ddns_host h;
	uint32_t serial;
	int st;

	make_zone(s, "dyn.example.org");
	make_zone(s, "dyn.example.net");
	make_host(s, "a.dyn.example.org", "dyn.example.org", sa);
	make_host(s, "b.dyn.example.org", "dyn.example.org", sb);
	make_host(s, "c.dyn.example.net", "dyn.example.net", sc);
	serial = get_serial(s, "dyn.example.org");

	static const struct {
		const char *query, *user, *pass, *client;
		const char *body;
		int status;
	} t[] = {
	    /* no credentials at all: a challenge (wget needs it) */
	    {"", NULL, NULL, "192.0.2.1", "badauth", 401},
	    {"hostname=a.dyn.example.org", NULL, NULL, "192.0.2.1", "badauth",
	     401},
	    {"", "a.dyn.example.org", "wrong", "192.0.2.1", "badauth", 401},
	    {"", "nobody.dyn.example.org", "x", "192.0.2.1", "badauth", 401},
	    {"", "not a name", "x", "192.0.2.1", "badauth", 401},
	    {"", "a.dyn.example.org", "@A", "192.0.2.1", "good 192.0.2.1", 200},
	    {"", "A.Dyn.Example.Org.", "@A", "192.0.2.1", "nochg 192.0.2.1",
	     200},
	    {"myip=192.0.2.2", "a.dyn.example.org", "@A", "192.0.2.1",
	     "good 192.0.2.2", 200},
	    {"myip=192.0.2.2,2001:db8::a", "a.dyn.example.org", "@A", NULL,
	     "good 192.0.2.2,2001:db8::a", 200},
	    {"myip=2001:0db8:0:0:0:0:0:000a,192.0.2.2", "a.dyn.example.org",
	     "@A", NULL, "nochg 192.0.2.2,2001:db8::a", 200},
	    {"hostname=b.dyn.example.org", "a.dyn.example.org", "@A",
	     "192.0.2.2", "nohost", 200},
	    {"hostname=nodots", "a.dyn.example.org", "@A", "192.0.2.2",
	     "notfqdn", 200},
	    {"hostname=a.dyn.example.org,b.dyn.example.org",
	     "a.dyn.example.org", "@A", "192.0.2.2", "nochg 192.0.2.2\nnohost",
	     200},
	    {"myip=256.1.1.1", "a.dyn.example.org", "@A", "192.0.2.2", "dnserr",
	     200},
	    {"hostname=nodots&myip=256.1.1.1", "a.dyn.example.org", "@A",
	     "192.0.2.2", "notfqdn", 200},
	    {"username=b.dyn.example.org&password=@B&myip=198.51.100.7", NULL,
	     NULL, "192.0.2.9", "good 198.51.100.7", 200},
	    {"username=b.dyn.example.org&password=@B&myip=198.51.100.7",
	     "b.dyn.example.org", "wrong", "192.0.2.9", "badauth", 401},
	    {"myip=", "c.dyn.example.net", "@C", "2001:db8::c",
	     "good 2001:db8::c", 200},
	};

	const char *secrets[3] = {sa, sb, sc};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char q[256], p[256];

		subst(t[i].query, secrets, q, sizeof q);
		subst(t[i].pass ? t[i].pass : "", secrets, p, sizeof p);
		CHECK_STR(run(s, q, t[i].user, p, t[i].client, &st, &b),
			  t[i].body);
		CHECK_INT(st, t[i].status);
	}
	/* what was written: both families on a, one write per good */
	h = get_host(s, "a.dyn.example.org");
	CHECK_INT(h.flags & (DDNS_HOST_V4 | DDNS_HOST_V6),
		  DDNS_HOST_V4 | DDNS_HOST_V6);
	CHECK_INT(h.updated, 2000);
	CHECK_INT(ntohl(h.v4.s_addr), 0xc0000202);
	CHECK_INT(h.v6.s6_addr[15], 0x0a);
	h = get_host(s, "c.dyn.example.net");
	CHECK_INT(h.flags & (DDNS_HOST_V4 | DDNS_HOST_V6), DDNS_HOST_V6);
	/* a good for a (x3) and b (x1): serial raised once per commit */
	CHECK_INT(get_serial(s, "dyn.example.org"), serial + 4);
	ddns_buf_free(&b);
}

/* A batch: one transaction, one serial bump per zone, per-update codes. */
static void test_batch(ddns_store *s)
{
	struct ddns_d2_plan pa, pb, pa2, pc, pd;
	struct ddns_d2_update *u[5] = {&pa.upd, &pb.upd, &pa2.upd, &pc.upd,
				       &pd.upd};
	uint32_t so = get_serial(s, "dyn.example.org");
	uint32_t sn = get_serial(s, "dyn.example.net");
	struct ddns_host h = get_host(s, "a.dyn.example.org");

	/* build the updates by hand: decide is tested above */
	memset(&pa, 0, sizeof pa);
	snprintf(pa.upd.fqdn, sizeof pa.upd.fqdn, "a.dyn.example.org");
	pa.upd.cred = h.cred;
	pa.upd.v4 = A("203.0.113.1");
	pa2 = pa; /* same host twice in a batch: the second sees the first */
	pb = pa;
	snprintf(pb.upd.fqdn, sizeof pb.upd.fqdn, "b.dyn.example.org");
	pb.upd.cred = get_host(s, "b.dyn.example.org").cred;
	pc = pa;
	snprintf(pc.upd.fqdn, sizeof pc.upd.fqdn, "c.dyn.example.net");
	pc.upd.cred = get_host(s, "c.dyn.example.net").cred;
	pd = pa; /* stale credential: the secret was replaced meanwhile */
	snprintf(pd.upd.fqdn, sizeof pd.upd.fqdn, "b.dyn.example.org");
	pd.upd.cred.hash[0] ^= 1;

	CHECK_INT(ddns_d2_commit(s, u, 5, 3000), 0);
	CHECK_INT(pa.upd.code, DDNS_D2_GOOD);
	CHECK_STR(pa.upd.zone, "dyn.example.org");
	CHECK_INT(pb.upd.code, DDNS_D2_GOOD);
	CHECK_INT(pa2.upd.code, DDNS_D2_NOCHG);
	CHECK_INT(pc.upd.code, DDNS_D2_GOOD);
	CHECK_STR(pc.upd.zone, "dyn.example.net");
	CHECK_INT(pd.upd.code, DDNS_D2_BADAUTH);
	CHECK_INT(get_serial(s, "dyn.example.org"), so + 1);
	CHECK_INT(get_serial(s, "dyn.example.net"), sn + 1);
	CHECK_INT(ntohl(get_host(s, "b.dyn.example.org").v4.s_addr),
		  0xcb007101);

	/* a host deleted meanwhile: badauth; a blocked one: abuse */
	{
		ddns_txn *t = NULL;
		struct ddns_host c = get_host(s, "c.dyn.example.net");

		c.flags |= DDNS_HOST_BLOCKED;
		CHECK_INT(ddns_txn_begin(s, true, &t), 0);
		CHECK_INT(ddns_host_put(t, &c), 0);
		CHECK_INT(ddns_host_del(t, "b.dyn.example.org"), 0);
		CHECK_INT(ddns_txn_commit(t), 0);
	}
	pb.upd.v4 = A("203.0.113.2");
	pc.upd.v4 = A("203.0.113.2");
	CHECK_INT(ddns_d2_commit(s, u + 1, 1, 4000), 0);
	CHECK_INT(pb.upd.code, DDNS_D2_BADAUTH);
	CHECK_INT(ddns_d2_commit(s, u + 3, 1, 4000), 0);
	CHECK_INT(pc.upd.code, DDNS_D2_ABUSE);
	CHECK_INT(get_serial(s, "dyn.example.net"), sn + 1);
	CHECK_INT(get_serial(s, "dyn.example.org"), so + 1);
}

/* ---- faults and abuse ------------------------------------------------- */

static struct ddns_fault get_fault(ddns_store *s, const char *fqdn)
{
	struct ddns_fault f;
	ddns_txn *t = NULL;

	memset(&f, 0, sizeof f);
	CHECK_INT(ddns_txn_begin(s, false, &t), 0);
	CHECK_INT(ddns_fault_get(t, fqdn, &f), 0);
	ddns_txn_abort(t);
	return f;
}

/* Decide QUERY as USER (secret PASS) from CLIENT; the fault it yields. */
static struct ddns_d2_fault fault_of(ddns_store *s, const char *query,
				     const char *user, const char *pass,
				     const char *client)
{
	struct ddns_d2_plan plan;

	CHECK_INT(decide(s, query, user, pass, client, &plan), 0);
	return plan.fault;
}

/* What each reply counts, and the text it leaves. */
static void test_fault_texts(ddns_store *s)
{
	char sf[DDNS_SECRET_BUF], query[512];
	size_t qn;
	const char *h = "f.faults.example";
	struct ddns_d2_plan plan;
	struct ddns_d2_fault f;

	make_zone(s, "faults.example");
	make_host(s, h, "faults.example", sf);
	f = fault_of(s, "myip=192.0.2.1", h, sf, NULL);
	CHECK_INT(f.kind, DDNS_FAULT_NONE); /* a write is no fault */
	/* store it, then the same again is a nochg */
	CHECK_INT(decide(s, "myip=192.0.2.1", h, sf, NULL, &plan), 0);
	{
		struct ddns_d2_update *u = &plan.upd;
		CHECK_INT(ddns_d2_commit(s, &u, 1, 100), 0);
	}
	f = fault_of(s, "myip=192.0.2.1", h, sf, NULL);
	CHECK_INT(f.kind, DDNS_FAULT_CLIENT);
	CHECK_STR(f.fqdn, h);
	CHECK_STR(f.text, "nochg 192.0.2.1");
	f = fault_of(s, "hostname=f.faults.example,other.example,nodots"
			"&myip=192.0.2.1",
		     h, sf, NULL);
	CHECK_STR(f.text,
		  "nochg 192.0.2.1; nohost other.example; notfqdn nodots");
	f = fault_of(s, "myip=01.2.3.4", h, sf, "192.0.2.1");
	CHECK_STR(f.text, "dnserr: 01.2.3.4");
	f = fault_of(s, "myip=192.0.2.1,x&ipv6=y%01", h, sf, NULL);
	CHECK_STR(f.text, "dnserr: 192.0.2.1,x y?");
	f = fault_of(s, "hostname=a%01b.example", h, sf, NULL);
	CHECK_STR(f.text, "notfqdn a?b.example");
	qn = (size_t)snprintf(query, sizeof query, "hostname=");
	for (int i = 0; i < 21 && qn < sizeof query; i++)
		qn += (size_t)snprintf(query + qn, sizeof query - qn,
				       "f.faults.example,");
	CHECK(qn < sizeof query);
	f = fault_of(s, query, h, sf, NULL);
	CHECK_STR(f.text, "numhost");
	/* a long text is cut */
	snprintf(query, sizeof query, "hostname=%0200d", 7);
	f = fault_of(s, query, h, sf, NULL);
	CHECK_INT(strlen(f.text), DDNS_FAULT_TEXT_MAX);

	/* auth: a wrong secret for an existing host is its fault; an
	 * unknown name is nobody's; no credentials are no attempt */
	CHECK_INT(decide(s, "", h, "wrong", "192.0.2.9", &plan), 0);
	CHECK(plan.cred_given && plan.known && !plan.authed);
	CHECK_INT(plan.fault.kind, DDNS_FAULT_AUTH);
	CHECK_STR(plan.fault.text, "badauth from 192.0.2.9");
	CHECK_INT(decide(s, "", "nobody.faults.example", "x", "192.0.2.9",
			 &plan),
		  0);
	CHECK(plan.cred_given && !plan.known);
	CHECK_INT(plan.fault.kind, DDNS_FAULT_NONE);
	CHECK_INT(decide(s, "", NULL, NULL, "192.0.2.9", &plan), 0);
	CHECK(!plan.cred_given && !plan.known);
	CHECK_INT(plan.fault.kind, DDNS_FAULT_NONE);
	CHECK_INT(decide(s, "myip=192.0.2.1", h, sf, NULL, &plan), 0);
	CHECK(plan.authed && plan.known && plan.cred_given);

	/* a store error: 911 and a server fault */
	ddns_d2_plan_fail(&plan, DDNS_EFULL);
	CHECK_INT(plan.n, 1);
	CHECK_INT(plan.code[0], DDNS_D2_911);
	CHECK(!plan.write);
	CHECK_INT(plan.fault.kind, DDNS_FAULT_SERVER);
	CHECK(strncmp(plan.fault.text, "911: ", 5) == 0);

	/* the username before verification */
	{
		char name[DDNS_NAME_BUF], hdr[128];

		req_reset();
		basic("F.Faults.Example.:whatever", hdr, sizeof hdr);
		ddns_d2_parse_auth(&R, hdr, strlen(hdr));
		CHECK_INT(ddns_d2_username(&R, name), 0);
		CHECK_STR(name, h);
		req_reset();
		CHECK_INT(ddns_d2_username(&R, name), DDNS_EINVAL);
		CHECK_STR(name, "");
		ddns_d2_parse_form(&R, "username=not%20a%20name&password=x",
				   34);
		CHECK_INT(ddns_d2_username(&R, name), DDNS_EINVAL);
		req_reset();
	}
}

static int commit_faults(ddns_store *s, struct ddns_d2_fault *f, size_t n,
			 const struct ddns_d2_policy *pol, int64_t now)
{
	return ddns_d2_commit_batch(s, NULL, 0, f, n, pol, now);
}

/* Counters, texts and windows; the abuse flag past the threshold. */
static void test_abuse(ddns_store *s)
{
	static const struct ddns_d2_policy pol = {3, 100};
	char sg[DDNS_SECRET_BUF];
	const char *h = "g.faults.example";
	struct ddns_d2_fault f[4];
	struct ddns_d2_plan plan;
	struct ddns_fault fr;
	struct ddns_host host;
	uint32_t serial;
	int st;

	make_host(s, h, "faults.example", sg);
	for (int i = 0; i < 4; i++)
		ddns_d2_fault_set(&f[i], h, DDNS_FAULT_CLIENT, "nochg 192.0.2.1");
	ddns_d2_fault_set(&f[1], h, DDNS_FAULT_AUTH, "badauth from 192.0.2.9");
	ddns_d2_fault_set(&f[2], h, DDNS_FAULT_SERVER, "911: store error");
	serial = get_serial(s, "faults.example");
	CHECK_INT(commit_faults(s, f, 3, &pol, 1000), 0);
	host = get_host(s, h);
	CHECK_INT(host.client_faults, 1);
	CHECK_INT(host.auth_faults, 1);
	CHECK_INT(host.server_faults, 1);
	CHECK_INT(host.last_fault, 1000);
	fr = get_fault(s, h);
	CHECK_INT(fr.last_kind, DDNS_FAULT_SERVER);
	CHECK_STR(fr.last_text, "911: store error");
	CHECK_INT(fr.window_start, 1000);
	CHECK_INT(fr.window_count, 1); /* only client faults */
	CHECK_INT(get_serial(s, "faults.example"), serial);

	/* a window that ran out starts afresh */
	ddns_d2_fault_set(&f[1], h, DDNS_FAULT_CLIENT, "nohost x.example");
	ddns_d2_fault_set(&f[2], h, DDNS_FAULT_CLIENT, "dnserr: 01.2.3.4");
	CHECK_INT(commit_faults(s, f, 3, &pol, 1100), 0);
	fr = get_fault(s, h);
	CHECK_INT(fr.window_start, 1100);
	CHECK_INT(fr.window_count, 3);
	CHECK_STR(fr.last_text, "dnserr: 01.2.3.4");
	CHECK_INT(get_host(s, h).client_faults, 4);
	CHECK(!(get_host(s, h).flags & DDNS_HOST_ABUSE));
	CHECK(!f[2].flagged);

	/* the 4th in the window exceeds 3: flagged, serial raised once even
	 * with two faults of the zone in the batch */
	CHECK_INT(commit_faults(s, f, 2, &pol, 1150), 0);
	CHECK(f[0].flagged);
	CHECK(!f[1].flagged); /* counted no more once flagged */
	CHECK_STR(f[0].zone, "faults.example");
	host = get_host(s, h);
	CHECK(host.flags & DDNS_HOST_ABUSE);
	CHECK_INT(host.client_faults, 5);
	CHECK_INT(get_fault(s, h).window_count, 4);
	CHECK_INT(get_serial(s, "faults.example"), serial + 1);

	/* a flagged host: its updates answer abuse (200), counting nothing;
	 * its auth failures still count */
	{
		struct ddns_buf b = {0};

		CHECK_INT(decide(s, "myip=192.0.2.77", h, sg, NULL, &plan), 0);
		CHECK(!plan.write);
		CHECK_INT(plan.fault.kind, DDNS_FAULT_NONE);
		st = ddns_d2_format(&plan, &b);
		CHECK_INT(st, 200);
		CHECK_STR(b.data, "abuse");
		ddns_buf_free(&b);
	}
	ddns_d2_fault_set(&f[0], h, DDNS_FAULT_AUTH, "badauth from 192.0.2.9");
	CHECK_INT(commit_faults(s, f, 1, &pol, 1160), 0);
	CHECK_INT(get_host(s, h).auth_faults, 2);
	CHECK_INT(get_host(s, h).client_faults, 5);

	/* faults of a host deleted meanwhile, or of none, are dropped */
	ddns_d2_fault_set(&f[0], "gone.faults.example", DDNS_FAULT_CLIENT, "x");
	ddns_d2_fault_set(&f[1], "", DDNS_FAULT_CLIENT, "x");
	f[2].kind = DDNS_FAULT_NONE;
	CHECK_INT(commit_faults(s, f, 3, &pol, 1170), 0);
	CHECK(!f[0].flagged);

	/* threshold 0 never flags */
	{
		static const struct ddns_d2_policy never = {0, 100};
		const char *h2 = "f.faults.example";

		for (int i = 0; i < 4; i++)
			ddns_d2_fault_set(&f[i], h2, DDNS_FAULT_CLIENT, "nochg");
		CHECK_INT(commit_faults(s, f, 4, &never, 1000), 0);
		CHECK_INT(commit_faults(s, f, 4, &never, 1001), 0);
		CHECK(!(get_host(s, h2).flags & DDNS_HOST_ABUSE));
		CHECK_INT(get_fault(s, h2).window_count, 8);
	}
}

/* An update that turns out nochg in the batch is counted there, and can
 * flag its host. */
static void test_batch_nochg(ddns_store *s)
{
	static const struct ddns_d2_policy pol = {1, 3600};
	char sk[DDNS_SECRET_BUF];
	const char *h = "k.faults.example";
	struct ddns_d2_plan p1, p2;
	struct ddns_d2_update *u[2] = {&p1.upd, &p2.upd};
	struct ddns_d2_fault none;
	uint32_t serial;

	make_host(s, h, "faults.example", sk);
	CHECK_INT(decide(s, "myip=192.0.2.5", h, sk, NULL, &p1), 0);
	CHECK(p1.write);
	p2 = p1;
	memset(&none, 0, sizeof none);
	serial = get_serial(s, "faults.example");
	CHECK_INT(ddns_d2_commit_batch(s, u, 2, &none, 0, &pol, 500), 0);
	CHECK_INT(p1.upd.code, DDNS_D2_GOOD);
	CHECK_INT(p2.upd.code, DDNS_D2_NOCHG);
	CHECK(!p2.upd.flagged);
	CHECK_INT(get_host(s, h).client_faults, 1);
	CHECK_STR(get_fault(s, h).last_text, "nochg 192.0.2.5");
	CHECK_INT(get_serial(s, "faults.example"), serial + 1);
	/* a second nochg exceeds 1: the update flags the host */
	CHECK_INT(ddns_d2_commit_batch(s, u + 1, 1, NULL, 0, &pol, 501), 0);
	CHECK_INT(p2.upd.code, DDNS_D2_NOCHG);
	CHECK(p2.upd.flagged);
	CHECK_STR(p2.upd.zone, "faults.example");
	CHECK(get_host(s, h).flags & DDNS_HOST_ABUSE);
	CHECK_INT(get_serial(s, "faults.example"), serial + 2);
	/* from then on: abuse, and nothing counted */
	CHECK_INT(ddns_d2_commit_batch(s, u + 1, 1, NULL, 0, &pol, 502), 0);
	CHECK_INT(p2.upd.code, DDNS_D2_ABUSE);
	CHECK(!p2.upd.flagged);
	CHECK_INT(get_host(s, h).client_faults, 2);
	CHECK_INT(get_serial(s, "faults.example"), serial + 2);
}

/* A TLS request with the stored address: nochg (a client fault like any
 * nochg), the TLS mark recorded in the commit without a new serial and
 * without moving `updated`. */
static void test_tls_mark_only(ddns_store *s)
{
	char sm[DDNS_SECRET_BUF];
	const char *h = "m.faults.example";
	struct ddns_d2_plan plan;
	struct ddns_d2_update *u = &plan.upd;
	struct ddns_buf b = {0};
	struct ddns_host before, after;
	uint32_t serial;

	make_host(s, h, "faults.example", sm);
	CHECK_INT(decide(s, "myip=192.0.2.8", h, sm, NULL, &plan), 0);
	CHECK_INT(ddns_d2_commit(s, &u, 1, 600), 0);
	CHECK_INT(plan.upd.code, DDNS_D2_GOOD);
	before = get_host(s, h);
	CHECK_INT(before.flags & (DDNS_HOST_TLS4 | DDNS_HOST_TLS6), 0);
	serial = get_serial(s, "faults.example");

	R.tls = true; /* kept by req_reset */
	CHECK_INT(decide(s, "myip=192.0.2.8", h, sm, NULL, &plan), 0);
	CHECK(plan.write); /* the mark must be written */
	CHECK_INT(plan.fault.kind, DDNS_FAULT_NONE);
	CHECK_INT(ddns_d2_commit_batch(s, &u, 1, NULL, 0, NULL, 700), 0);
	CHECK_INT(plan.upd.code, DDNS_D2_NOCHG);
	CHECK(!plan.upd.flagged);
	ddns_d2_plan_finish(&plan, plan.upd.code);
	CHECK_INT(ddns_d2_format(&plan, &b), 200);
	CHECK_STR(b.data, "nochg 192.0.2.8");
	after = get_host(s, h);
	CHECK_INT(after.flags, before.flags | DDNS_HOST_TLS4);
	CHECK_INT(after.updated, before.updated);
	CHECK_INT(after.client_faults, before.client_faults + 1);
	CHECK_INT(get_serial(s, "faults.example"), serial);
	/* the same again over TLS: a plain nochg, nothing to write */
	CHECK_INT(decide(s, "myip=192.0.2.8", h, sm, NULL, &plan), 0);
	CHECK(!plan.write);
	CHECK_INT(plan.code[0], DDNS_D2_NOCHG);
	CHECK_INT(plan.fault.kind, DDNS_FAULT_CLIENT);
	/* a new address over TLS keeps the mark and is good */
	CHECK_INT(decide(s, "myip=192.0.2.9", h, sm, NULL, &plan), 0);
	CHECK_INT(ddns_d2_commit(s, &u, 1, 800), 0);
	CHECK_INT(plan.upd.code, DDNS_D2_GOOD);
	CHECK(get_host(s, h).flags & DDNS_HOST_TLS4);
	CHECK_INT(get_host(s, h).updated, 800);
	CHECK_INT(get_serial(s, "faults.example"), serial + 1);
	R.tls = false;
	ddns_buf_free(&b);
}

/* A username that names no host may be a secret sent in the wrong field:
 * it is kept nowhere the server could log it. */
static void test_unknown_user_not_kept(ddns_store *s)
{
	char sn[DDNS_SECRET_BUF];
	const char *h = "n.faults.example";
	struct ddns_d2_plan plan;

	make_host(s, h, "faults.example", sn);
	CHECK_INT(decide(s, "", sn, h, "192.0.2.1", &plan), 0); /* swapped */
	CHECK_INT(plan.code[0], DDNS_D2_BADAUTH);
	CHECK(plan.cred_given && !plan.known && !plan.authed);
	CHECK_STR(plan.upd.fqdn, "");
	CHECK_INT(plan.fault.kind, DDNS_FAULT_NONE);
	CHECK_INT(decide(s, "", h, "wrong", "192.0.2.1", &plan), 0);
	CHECK_STR(plan.upd.fqdn, h); /* an existing host is named */
}

/* Write raw bytes as the value of hosts[KEY] (another program, a disk
 * error), with the store closed. */
static int raw_host_put(const char *dir, const char *key, const void *val,
			size_t len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {strlen(key), (void *)key}, v = {len, (void *)val};
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 8);
	if (!rc)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "hosts", 0, &dbi);
	if (!rc)
		rc = mdb_put(txn, dbi, &k, &v, 0);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* A host record that does not decode fails its own update (911) and
 * fault, not the rest of the batch. */
static void test_corrupt_in_batch(const char *dir)
{
	static const char junk[3] = {1, 2, 3};
	char err[256];
	ddns_store *s = NULL;
	struct ddns_d2_plan good, bad;
	struct ddns_d2_update *u[2] = {&bad.upd, &good.upd};
	struct ddns_d2_fault f;

	CHECK_INT(raw_host_put(dir, "example.faults.x", junk, sizeof junk), 0);
	CHECK_INT(ddns_store_open(&s, dir, 0, 0, err, sizeof err), 0);
	if (!s)
		return;
	memset(&good, 0, sizeof good);
	snprintf(good.upd.fqdn, sizeof good.upd.fqdn, "a.dyn.example.org");
	good.upd.cred = get_host(s, "a.dyn.example.org").cred;
	good.upd.v4 = A("203.0.113.77");
	bad = good;
	snprintf(bad.upd.fqdn, sizeof bad.upd.fqdn, "x.faults.example");
	ddns_d2_fault_set(&f, "x.faults.example", DDNS_FAULT_CLIENT, "nochg");
	ddns_log_threshold = -1; /* the expected errors are logged */
	CHECK_INT(ddns_d2_commit_batch(s, u, 2, &f, 1, NULL, 900), 0);
	ddns_log_threshold = DDNS_LOG_WARN;
	CHECK_INT(bad.upd.code, DDNS_D2_911);
	CHECK(!bad.upd.flagged);
	CHECK(!f.flagged);
	CHECK_INT(good.upd.code, DDNS_D2_GOOD);
	CHECK_INT(ntohl(get_host(s, "a.dyn.example.org").v4.s_addr),
		  0xcb00714d);
	ddns_store_close(s);
}

/* A failing commit writes nothing: the caller answers 911. */
static void test_commit_failure(const char *dir)
{
	char err[256];
	ddns_store *ro = NULL;
	struct ddns_d2_plan p;
	struct ddns_d2_update *u = &p.upd;

	CHECK_INT(
	    ddns_store_open(&ro, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    0);
	if (!ro)
		return;
	memset(&p, 0, sizeof p);
	snprintf(p.upd.fqdn, sizeof p.upd.fqdn, "a.dyn.example.org");
	p.upd.v4 = A("203.0.113.9");
	p.n = 1;
	p.code[0] = DDNS_D2_PENDING;
	ddns_log_threshold = -1; /* the expected error is logged */
	CHECK(ddns_d2_commit(ro, &u, 1, 5000) != 0);
	ddns_log_threshold = DDNS_LOG_WARN;
	ddns_d2_plan_finish(&p, DDNS_D2_911);
	{
		struct ddns_buf b = {0};
		CHECK_INT(ddns_d2_format(&p, &b), 200);
		CHECK_STR(b.data, "911");
		ddns_buf_free(&b);
	}
	ddns_store_close(ro);
}

int main(void)
{
	char dir[] = "/tmp/test_dyndns2.XXXXXX";
	char err[256];
	ddns_store *s = NULL;

	ddns_log_init("test_dyndns2", DDNS_LOG_WARN);
	test_route();
	test_form();
	test_base64();
	test_auth();
	test_credentials();
	test_hostnames();
	test_addresses();
	test_format();

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_CREATE, 16 << 20, err,
				  sizeof err),
		  0);
	if (s) {
		test_store_path(s);
		test_batch(s);
		test_fault_texts(s);
		test_abuse(s);
		test_batch_nochg(s);
		test_tls_mark_only(s);
		test_unknown_user_not_kept(s);
		ddns_store_close(s);
		test_commit_failure(dir);
		test_corrupt_in_batch(dir);
	}
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
