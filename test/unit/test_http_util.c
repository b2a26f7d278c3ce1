/*
 * test_http_util.c -- the pure parts of the portal side: request targets,
 * percent-decoding, query strings, cookies, content types, JSON bodies,
 * the Origin check, times, portal file names, names made for OpenID
 * users, RNAME to e-mail, name input checks, the EGI booleans, and the
 * worker pool.
 */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "api.h"
#include "auth.h"
#include "check.h"
#include "err.h"
#include "http_util.h"
#include "nicapi.h"
#include "portal_files.h"
#include "worker.h"

static void test_split_target(void)
{
	const char *p, *q;
	size_t pl, ql;

	CHECK_INT(ddns_http_split_target("/a/b?x=1#f", 10, &p, &pl, &q, &ql),
		  0);
	CHECK(pl == 4 && memcmp(p, "/a/b", 4) == 0);
	CHECK(ql == 3 && memcmp(q, "x=1", 3) == 0);
	CHECK_INT(ddns_http_split_target("/", 1, &p, &pl, &q, &ql), 0);
	CHECK(pl == 1 && q == NULL && ql == 0);
	CHECK_INT(
	    ddns_http_split_target("http://h:1/x?y", 14, &p, &pl, &q, &ql), 0);
	CHECK(pl == 2 && memcmp(p, "/x", 2) == 0 && ql == 1);
	CHECK_INT(ddns_http_split_target("HTTPS://h", 9, &p, &pl, &q, &ql),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_split_target("*", 1, &p, &pl, &q, &ql),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_split_target("x/y", 3, &p, &pl, &q, &ql),
		  DDNS_EINVAL);
}

static void test_pct_decode(void)
{
	char out[16];

	CHECK_INT(ddns_http_pct_decode("a%2Fb+c", 7, false, out, sizeof out),
		  5);
	CHECK_STR(out, "a/b+c");
	CHECK_INT(ddns_http_pct_decode("a%2fb+c", 7, true, out, sizeof out), 5);
	CHECK_STR(out, "a/b c");
	CHECK_INT(ddns_http_pct_decode("%", 1, false, out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_pct_decode("%4", 2, false, out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_pct_decode("%zz", 3, false, out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_pct_decode("a%00b", 5, false, out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_pct_decode("a\0b", 3, false, out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_pct_decode("0123456789abcdef", 16, false, out,
				       sizeof out),
		  DDNS_ETOOBIG);
	CHECK_INT(ddns_http_pct_decode("", 0, false, out, sizeof out), 0);
	CHECK_STR(out, "");
}

static void test_query(void)
{
	static const char q[] = "fqdn=a.b&x&wildcard=True&fqdn=c&c=%C3%BC+x"
				"&bad=%G0&nul=%00";
	char out[32];

	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "fqdn", out, sizeof out),
		  0);
	CHECK_STR(out, "a.b"); /* the first one */
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "x", out, sizeof out),
		  0);
	CHECK_STR(out, "");
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "c", out, sizeof out),
		  0);
	CHECK_STR(out, "\xc3\xbc x");
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "Fqdn", out, sizeof out),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "fq", out, sizeof out),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "bad", out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_query_get(q, sizeof q - 1, "nul", out, sizeof out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_http_query_get(NULL, 0, "fqdn", out, sizeof out),
		  DDNS_ENOTFOUND);
}

static void test_cookies(void)
{
	const char *v;
	size_t n;
	char out[DDNS_HTTP_COOKIE_MAX];

	CHECK_INT(ddns_http_cookie_get("a=1; ddns_session=XYZ; b=2",
				       "ddns_session", &v, &n),
		  0);
	CHECK(n == 3 && memcmp(v, "XYZ", 3) == 0);
	CHECK_INT(ddns_http_cookie_get("xddns_session=1;ddns_session=2 ",
				       "ddns_session", &v, &n),
		  0);
	CHECK(n == 1 && v[0] == '2');
	CHECK_INT(ddns_http_cookie_get("ddns_session", "ddns_session", &v, &n),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_http_cookie_get(NULL, "ddns_session", &v, &n),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_http_cookie_get("ddns_oidc=a", "ddns_session", &v, &n),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_http_cookie_format(out, sizeof out, "ddns_session",
					  "abc-_9", "/", 43200, false),
		  0);
	CHECK_STR(out, "ddns_session=abc-_9; Path=/; HttpOnly; SameSite=Lax; "
		       "Max-Age=43200");
	CHECK_INT(ddns_http_cookie_format(out, sizeof out, "ddns_oidc", "",
					  "/oidc/", 0, true),
		  0);
	CHECK_STR(out, "ddns_oidc=; Path=/oidc/; HttpOnly; SameSite=Lax; "
		       "Max-Age=0; Secure");
	CHECK_INT(
	    ddns_http_cookie_format(out, sizeof out, "x", "a;b", "/", 1, false),
	    DDNS_EINVAL);
	CHECK_INT(ddns_http_cookie_format(out, 10, "x", "abc", "/", 1, false),
		  DDNS_ETOOBIG);
}

static void test_json_type_and_body(void)
{
	char why[128];
	json_t *o = NULL;

	CHECK(ddns_http_is_json_type("application/json"));
	CHECK(ddns_http_is_json_type(" Application/JSON ; charset=UTF-8"));
	CHECK(ddns_http_is_json_type("application/json;charset=\"utf-8\""));
	CHECK(!ddns_http_is_json_type(NULL));
	CHECK(!ddns_http_is_json_type("application/jsonx"));
	CHECK(!ddns_http_is_json_type("application/json; charset=latin1"));
	CHECK(!ddns_http_is_json_type("text/plain"));
	CHECK(!ddns_http_is_json_type("application/x-www-form-urlencoded"));
	CHECK_INT(ddns_http_parse_json("{\"a\":1}", 7, &o, why, sizeof why), 0);
	CHECK(json_is_object(o));
	json_decref(o);
	CHECK_INT(
	    ddns_http_parse_json("{\"a\":1,\"a\":2}", 13, &o, why, sizeof why),
	    400);
	CHECK(o == NULL);
	CHECK_INT(ddns_http_parse_json("[1]", 3, &o, why, sizeof why), 400);
	CHECK_INT(ddns_http_parse_json("{\"a\":\"\\u0000\"}", 14, &o, why,
				       sizeof why),
		  400);
	CHECK_INT(
	    ddns_http_parse_json("{\"a\":\"\xff\"}", 9, &o, why, sizeof why),
	    400);
	CHECK_INT(ddns_http_parse_json("{}", DDNS_HTTP_BODY_MAX + 1, &o, why,
				       sizeof why),
		  413);
}

static void test_origin(void)
{
	char o[128];

	ddns_http_origin_of("https://DDNS.example.org/path", o, sizeof o);
	CHECK_STR(o, "https://ddns.example.org");
	ddns_http_origin_of("https://ddns.example.org:443", o, sizeof o);
	CHECK_STR(o, "https://ddns.example.org");
	ddns_http_origin_of("http://127.0.0.1:8080", o, sizeof o);
	CHECK_STR(o, "http://127.0.0.1:8080");
	ddns_http_origin_of("ftp://x", o, sizeof o);
	CHECK_STR(o, "");
	ddns_http_origin_of(NULL, o, sizeof o);
	CHECK_STR(o, "");
	CHECK(ddns_http_origin_ok(NULL, "", false, NULL));
	CHECK(ddns_http_origin_ok("https://ddns.example.org",
				  "https://ddns.example.org", false, "x"));
	CHECK(ddns_http_origin_ok("http://127.0.0.1:8080", "", false,
				  "127.0.0.1:8080"));
	CHECK(ddns_http_origin_ok("https://h.example:443", "", true,
				  "H.example"));
	CHECK(!ddns_http_origin_ok("https://127.0.0.1:8080", "", false,
				   "127.0.0.1:8080"));
	CHECK(!ddns_http_origin_ok("http://evil.example", "https://a.example",
				   false, "a.example"));
	CHECK(!ddns_http_origin_ok("null", "", false, "a.example"));
	CHECK(!ddns_http_origin_ok("http://a.example@evil", "", false,
				   "a.example@evil"));
	CHECK(!ddns_http_origin_ok("http://a.example", "", false, NULL));
}

static void test_time_and_utf8(void)
{
	char t[DDNS_HTTP_TIME_BUF];

	ddns_http_time(0, t);
	CHECK_STR(t, "1970-01-01T00:00:00Z");
	ddns_http_time(1748770200, t);
	CHECK_STR(t, "2025-06-01T09:30:00Z");
	CHECK_INT(ddns_http_utf8_len("a\xc3\xbc\xe2\x82\xac", 6), 3);
}

static void test_portal_names(void)
{
	char name[DDNS_PORTAL_NAME_MAX + 1];
	const char *type;

	CHECK(ddns_portal_name("/", 1, name, &type));
	CHECK_STR(name, "index.html");
	CHECK_STR(type, "text/html; charset=utf-8");
	CHECK(ddns_portal_name("/portal.js", 10, name, &type));
	CHECK_STR(type, "text/javascript; charset=utf-8");
	CHECK(ddns_portal_name("/favicon.svg", 12, name, &type));
	CHECK_STR(type, "image/svg+xml");
	CHECK(ddns_portal_name("/portal.css", 11, name, &type));
	CHECK(ddns_portal_name("/my-page_2.html", 15, name, &type));
	static const char *const bad[] = {
	    "",	       "/..",	     "/../x.js", "/.x.js",   "/a/b.js",
	    "/x.js/",  "/x",	     "/x.",	 "/x.JS",    "/x.js.bak",
	    "/%2e.js", "/-x.js",     "/x y.js",	 "/x\\y.js", "//x.js",
	    "/x.ico",  "index.html", "/x..js",	 "/_x.html",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!ddns_portal_name(bad[i], strlen(bad[i]), name, &type));
	CHECK(!ddns_portal_name("/x\0.js", 6, name, &type));
}

static void test_name_base(void)
{
	char out[DDNS_USER_NAME_MAX + 1];
	char longname[200];

	ddns_auth_name_base("Alice.Smith", "x@y", out);
	CHECK_STR(out, "alice.smith");
	ddns_auth_name_base("", "Bob+lists@example.org", out);
	CHECK_STR(out, "bob+lists");
	ddns_auth_name_base("  --Émile Zola!", "", out);
	CHECK_STR(out, "milezola");
	ddns_auth_name_base("", "", out);
	CHECK_STR(out, "");
	ddns_auth_name_base(NULL, "@example.org", out);
	CHECK_STR(out, "");
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ddns_auth_name_base(longname, "", out);
	CHECK_INT(strlen(out), DDNS_USER_NAME_MAX - 4);
	CHECK(ddns_user_name_valid(out));
}

static void test_rname_and_names(void)
{
	char out[DDNS_NAME_BUF];

	ddns_api_rname_to_mail("hostmaster.example.org", out, sizeof out);
	CHECK_STR(out, "hostmaster@example.org");
	ddns_api_rname_to_mail("host\\.master.example.org", out, sizeof out);
	CHECK_STR(out, "host.master@example.org");
	CHECK(ddns_api_name_input("My-Host.Example.ORG.", 20, false, out) ==
	      NULL);
	CHECK_STR(out, "my-host.example.org");
	CHECK(ddns_api_name_input("b\xc3\xbcro", 5, true, out) == NULL);
	CHECK_STR(out, "xn--bro-hoa");
	CHECK(ddns_api_name_input("a.b", 3, true, out) != NULL);
	CHECK(ddns_api_name_input("a_b", 3, false, out) != NULL);
	CHECK(ddns_api_name_input("a b", 3, false, out) != NULL);
	CHECK(ddns_api_name_input("a/b", 3, false, out) != NULL);
	CHECK(ddns_api_name_input("", 0, false, out) != NULL);
	CHECK(ddns_api_name_input("*.a", 3, false, out) != NULL);
}

static void test_nic_bool(void)
{
	bool on = false;

	CHECK(ddns_nic_parse_bool("TRUE", &on) && on);
	CHECK(ddns_nic_parse_bool("1", &on) && on);
	CHECK(ddns_nic_parse_bool("Yes", &on) && on);
	CHECK(ddns_nic_parse_bool("false", &on) && !on);
	CHECK(ddns_nic_parse_bool("", &on) && !on);
	CHECK(ddns_nic_parse_bool("No", &on) && !on);
	CHECK(!ddns_nic_parse_bool("maybe", &on));
	CHECK(!ddns_nic_parse_bool("2", &on));
}

/* ---- the worker pool ------------------------------------------------------
 */

struct wjob {
	int ran, done, cancelled;
	struct event_base *base;
	int *left;
};

static void wrun(void *arg)
{
	struct wjob *j = arg;

	usleep(1000);
	j->ran++;
}

static void wdone(void *arg, bool cancelled)
{
	struct wjob *j = arg;

	j->done++;
	j->cancelled += cancelled;
	if (--*j->left == 0)
		event_base_loopbreak(j->base);
}

static void test_worker(void)
{
	struct event_base *base = event_base_new();
	ddns_worker *w = ddns_worker_new(base, 2);
	struct wjob jobs[8];
	ddns_worker_job *h[8];
	int left = 8;

	CHECK(w != NULL);
	memset(jobs, 0, sizeof jobs);
	for (int i = 0; i < 8; i++) {
		jobs[i].base = base;
		jobs[i].left = &left;
		CHECK_INT(ddns_worker_submit(w, wrun, wdone, &jobs[i], &h[i]),
			  0);
	}
	ddns_worker_cancel(h[7]);
	event_base_dispatch(base);
	for (int i = 0; i < 8; i++)
		CHECK_INT(jobs[i].done, 1);
	CHECK_INT(jobs[7].cancelled, 1);
	for (int i = 0; i < 7; i++)
		CHECK(jobs[i].ran == 1 && jobs[i].cancelled == 0);
	CHECK_INT(ddns_worker_pending(w), 0);
	/* jobs still pending when the pool goes: cancelled, DONE called */
	left = 100;
	for (int i = 0; i < 4; i++) {
		memset(&jobs[i], 0, sizeof jobs[i]);
		jobs[i].base = base;
		jobs[i].left = &left;
		CHECK_INT(ddns_worker_submit(w, wrun, wdone, &jobs[i], NULL),
			  0);
	}
	ddns_worker_free(w);
	for (int i = 0; i < 4; i++)
		CHECK(jobs[i].done == 1 && jobs[i].cancelled == 1);
	CHECK(ddns_worker_new(base, 0) == NULL);
	event_base_free(base);
}

static void test_worker_queue_cap(void)
{
	struct event_base *base = event_base_new();
	ddns_worker *w = ddns_worker_new(base, 1);
	static struct wjob jobs[DDNS_WORKER_QUEUE_MAX + 1];
	int left = 1000, rc = 0;

	for (int i = 0; i <= DDNS_WORKER_QUEUE_MAX; i++) {
		jobs[i].base = base;
		jobs[i].left = &left;
		rc = ddns_worker_submit(w, wrun, wdone, &jobs[i], NULL);
		if (rc != 0)
			break;
	}
	CHECK_INT(rc, DDNS_EBUSY);
	ddns_worker_free(w);
	event_base_free(base);
}

int main(void)
{
	test_split_target();
	test_pct_decode();
	test_query();
	test_cookies();
	test_json_type_and_body();
	test_origin();
	test_time_and_utf8();
	test_portal_names();
	test_name_base();
	test_rname_and_names();
	test_nic_bool();
	test_worker();
	test_worker_queue_cap();
	return check_done();
}
