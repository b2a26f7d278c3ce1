/*
 * fuzz_dyndns2.c -- a dyndns2 request from the bytes a client sends to the
 * reply body, the way updater/server.c handles it: route, proxy headers,
 * query, form body, Authorization, then a decision on a read snapshot of
 * the seeded store (fuzz.h), the write it asks for (applied in a write
 * transaction that is aborted: nothing is kept, nothing is synced), the
 * reply text and its HTTP status.  A challenge request (txt=VALUE, clear;
 * issue 7) is applied the same way, and the host's live challenge values
 * read back in that transaction must be what it asked for.
 *
 * Input: an HTTP/1.x request without its framing limits,
 *
 *   METHOD SP TARGET [SP VERSION] LF
 *   Name: value LF          (any number; a CR before LF is dropped)
 *   LF
 *   body
 *
 * Two headers are the harness's own: "X-Fuzz-Peer: ADDR" is the
 * connection's peer (default 127.0.0.1, which is a trusted proxy, as are
 * 10.0.0.0/8 and ::1), "X-Fuzz-TLS: 1" says the connection is TLS.
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "challenge.h"
#include "dyndns2.h"
#include "err.h"
#include "proxy.h"

#define HEADERS_MAX 100 /* libevent's limit is on bytes; this is plenty */
#define NOW	    1700000100

/* The fixture: the store, the trusted proxies, and the request struct,
 * which is large and reused as server.c reuses it. */
static ddns_store *store;
static struct ddns_proxies proxies;
static struct ddns_d2_req req;
static const struct ddns_d2_policy policy = {2, 3600};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char p1[] = "127.0.0.0/8", p2[] = "10.0.0.0/8", p3[] = "::1";
	struct ddns_conf_list list = {3, {p1, p2, p3}};
	char err[128];

	fuzz_quiet_logs("fuzz_dyndns2");
	store = fuzz_store_open();
	if (ddns_proxies_init(&proxies, &list, err, sizeof err) != 0)
		abort();
	return 0;
}

/* A request as the server sees it. */
struct http_in {
	char *method, *target; /* NUL-terminated copies */
	size_t tlen;	       /* target bytes (may hold NULs) */
	struct evkeyvalq headers;
	const char *body;
	size_t blen;
	struct ddns_addr peer;
	bool tls;
};

/* LINE without its final CR, as a NUL-terminated copy. */
static char *line_dup(const uint8_t *p, size_t n)
{
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return fuzz_strndup(p, n);
}

/* "Name: value" into IN's headers (lines without a colon are dropped, as
 * a server would refuse them), the harness's own headers into IN. */
static void add_header(struct http_in *in, char *line)
{
	char *colon = strchr(line, ':'), *v;

	if (!colon || colon == line)
		return;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	if (strcasecmp(line, "X-Fuzz-Peer") == 0) {
		if (ddns_addr_parse(v, strlen(v), &in->peer) != 0)
			memset(&in->peer, 0, sizeof in->peer);
		return;
	}
	if (strcasecmp(line, "X-Fuzz-TLS") == 0) {
		in->tls = strcmp(v, "1") == 0;
		return;
	}
	evhttp_add_header(&in->headers, line, v);
}

/* Split DATA into IN.  False when there is no request line. */
static bool parse_http(const uint8_t *data, size_t size, struct http_in *in)
{
	const uint8_t *line, *sp;
	size_t len;
	unsigned n = 0;

	memset(in, 0, sizeof *in);
	in->headers.tqh_first = NULL; /* TAILQ_INIT */
	in->headers.tqh_last = &in->headers.tqh_first;
	in->peer.family = AF_INET;
	in->peer.u.v4.s_addr = htonl(0x7f000001);
	if (!fuzz_split(&data, &size, '\n', &line, &len))
		return false;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	sp = memchr(line, ' ', len);
	in->method = fuzz_strndup(line, sp ? (size_t)(sp - line) : len);
	if (sp) {
		const uint8_t *t = sp + 1, *end = line + len;
		const uint8_t *sp2 = memchr(t, ' ', (size_t)(end - t));

		in->tlen = (size_t)((sp2 ? sp2 : end) - t);
		in->target = fuzz_strndup(t, in->tlen);
	} else {
		in->target = fuzz_strndup(NULL, 0);
	}
	while (fuzz_split(&data, &size, '\n', &line, &len)) {
		char *h;

		if (len == 0 || (len == 1 && line[0] == '\r'))
			break;
		h = line_dup(line, len);
		if (n++ < HEADERS_MAX)
			add_header(in, h);
		free(h);
	}
	in->body = (const char *)data;
	in->blen = data ? size : 0;
	return true;
}

static void http_free(struct http_in *in)
{
	evhttp_clear_headers(&in->headers);
	free(in->method);
	free(in->target);
}

/* server.c's test for a form body. */
static bool is_form(const struct http_in *in)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const size_t n = sizeof form - 1;
	const char *ct = evhttp_find_header(&in->headers, "Content-Type");

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return strncasecmp(ct, form, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* Query, form body and Authorization into req.  0 or DDNS_ETOOBIG. */
static int parse_request(const struct http_in *in, const char *query,
			 size_t qlen)
{
	const char *auth;
	int rc;

	if (query && (rc = ddns_d2_parse_form(&req, query, qlen)) != 0)
		return rc;
	if (strcmp(in->method, "POST") == 0 && in->blen > 0 && is_form(in)) {
		if (in->blen > DDNS_D2_INPUT_MAX)
			return DDNS_ETOOBIG;
		if ((rc = ddns_d2_parse_form(&req, in->body, in->blen)) != 0)
			return rc;
	}
	auth = evhttp_find_header(&in->headers, "Authorization");
	if (auth) {
		rc = ddns_d2_parse_auth(&req, auth, strlen(auth));
		FUZZ_CHECK(rc == 0 || (rc == DDNS_EINVAL && req.auth_broken));
	}
	return 0;
}

static bool printable(const char *s, size_t len, bool newline_ok)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 0x20 && s[i] < 0x7f) ||
		      (newline_ok && s[i] == '\n')))
			return false;
	return true;
}

/* What every plan must look like after ddns_d2_decide returned 0. */
static void check_plan(const struct ddns_d2_plan *p)
{
	const struct ddns_d2_fault *f = &p->fault;

	FUZZ_CHECK(p->n >= 1 && p->n <= DDNS_D2_HOSTS_MAX);
	for (unsigned i = 0; i < p->n; i++)
		FUZZ_CHECK(p->code[i] <= DDNS_D2_911);
	if (!p->authed)
		FUZZ_CHECK(!p->write && p->n == 1 &&
			   p->code[0] == DDNS_D2_BADAUTH);
	/* a username that is no host may be a secret: never kept */
	if (!p->known)
		FUZZ_CHECK(p->upd.fqdn[0] == '\0' &&
			   f->kind == DDNS_FAULT_NONE);
	/* a challenge request (txt=, clear) may set no address */
	if (p->write && p->upd.txt_op == DDNS_D2_TXT_NONE)
		FUZZ_CHECK(p->upd.v4.family == AF_INET ||
			   p->upd.v6.family == AF_INET6);
	if (p->upd.txt_op == DDNS_D2_TXT_ADD ||
	    p->upd.txt_op == DDNS_D2_TXT_DEL)
		FUZZ_CHECK(
		    ddns_challenge_value_valid(p->upd.txt, strlen(p->upd.txt)));
	FUZZ_CHECK(p->upd.txt_op <= DDNS_D2_TXT_CLEAR);
	if (p->upd.fqdn[0])
		FUZZ_CHECK(
		    ddns_name_is_normal(p->upd.fqdn, strlen(p->upd.fqdn)));
	if (f->kind != DDNS_FAULT_NONE) {
		FUZZ_CHECK(f->kind <= DDNS_FAULT_AUTH);
		FUZZ_CHECK(strcmp(f->fqdn, p->upd.fqdn) == 0);
		FUZZ_CHECK(strlen(f->text) <= DDNS_FAULT_TEXT_MAX &&
			   printable(f->text, strlen(f->text), false));
	}
}

/* A challenge update U was applied in T: the host's live values are what
 * it asked for (txt=V has V, txt=V&clear has not, clear has none). */
static void check_txt(ddns_txn *t, const struct ddns_d2_update *u)
{
	struct ddns_challenges c;
	struct ddns_host h;
	bool has = false;
	int rc;

	FUZZ_CHECK(u->code == DDNS_D2_GOOD || u->code == DDNS_D2_ABUSE);
	if (u->code != DDNS_D2_GOOD)
		return;
	FUZZ_CHECK(ddns_host_get(t, u->fqdn, &h) == 0);
	rc = ddns_challenge_live(t, &h, NOW, &c);
	FUZZ_CHECK(rc == 0 || rc == DDNS_ENOTFOUND);
	for (unsigned i = 0; rc == 0 && i < c.n; i++)
		has = has || strcmp(c.v[i].value, u->txt) == 0;
	if (u->txt_op == DDNS_D2_TXT_ADD)
		FUZZ_CHECK(has);
	else if (u->txt_op == DDNS_D2_TXT_DEL)
		FUZZ_CHECK(!has);
	else
		FUZZ_CHECK(rc == DDNS_ENOTFOUND);
}

/* The write PLAN asks for, and its fault, in a write transaction that is
 * aborted; then PLAN's final lines as on_commit gives them. */
static void write_and_forget(struct ddns_d2_plan *plan)
{
	struct ddns_d2_update u = plan->upd;
	struct ddns_d2_fault f = plan->fault;
	ddns_txn *t = NULL;
	int rc;

	if (!plan->write && f.kind == DDNS_FAULT_NONE)
		return;
	FUZZ_CHECK(ddns_txn_begin(store, true, &t) == 0);
	if (plan->write) {
		rc = ddns_d2_apply(t, &u, NOW);
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(u.code == DDNS_D2_GOOD || u.code == DDNS_D2_NOCHG ||
			   u.code == DDNS_D2_ABUSE);
		if (u.code == DDNS_D2_GOOD)
			FUZZ_CHECK(ddns_name_below(u.fqdn, u.zone));
		if (u.txt_op != DDNS_D2_TXT_NONE)
			check_txt(t, &u);
		ddns_d2_plan_finish(plan, u.code);
	}
	if (f.kind != DDNS_FAULT_NONE) {
		rc = ddns_d2_fault_apply(t, &f, &policy, NOW);
		/* the corrupt host's server fault is not counted */
		FUZZ_CHECK(rc == 0 || rc == DDNS_ECORRUPT);
	}
	ddns_txn_abort(t);
}

/* The reply body and status of PLAN. */
static void check_reply(const struct ddns_d2_plan *plan)
{
	struct ddns_buf body = {0};
	int status = ddns_d2_format(plan, &body);
	size_t lines = 1;

	for (unsigned i = 0; i < plan->n; i++)
		FUZZ_CHECK(plan->code[i] != DDNS_D2_PENDING);
	FUZZ_CHECK(!body.failed && body.len > 0);
	FUZZ_CHECK(status == (plan->code[0] == DDNS_D2_BADAUTH ? 401 : 200));
	FUZZ_CHECK(printable(body.data, body.len, true));
	for (size_t i = 0; i < body.len; i++)
		lines += body.data[i] == '\n';
	FUZZ_CHECK(lines == plan->n);
	FUZZ_CHECK(
	    !memmem(body.data, body.len, FUZZ_SECRET, sizeof FUZZ_SECRET - 1));
	fuzz_show("%d %s", status, body.data);
	ddns_buf_free(&body);
}

/* parse -> authenticate and validate -> store -> reply */
static void handle_update(const struct http_in *in,
			  const struct ddns_addr *client, const char *query,
			  size_t qlen)
{
	struct ddns_d2_plan plan;
	char fqdn[DDNS_NAME_BUF];
	ddns_txn *t = NULL;
	int rc;

	if (strcmp(in->method, "HEAD") == 0)
		return; /* 405 */
	if (parse_request(in, query, qlen) != 0)
		return; /* 413 */
	if (ddns_d2_username(&req, fqdn) == 0)
		FUZZ_CHECK(ddns_name_is_normal(fqdn, strlen(fqdn)));
	else
		FUZZ_CHECK(fqdn[0] == '\0');
	FUZZ_CHECK(ddns_txn_begin(store, false, &t) == 0);
	rc = ddns_d2_decide(t, &req, client, &plan);
	ddns_txn_abort(t);
	if (rc == 0)
		check_plan(&plan);
	else /* only the corrupt host may fail */
		FUZZ_CHECK(rc == DDNS_ECORRUPT && plan.code[0] == DDNS_D2_911);
	write_and_forget(&plan);
	check_reply(&plan);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_in in;
	struct ddns_addr client;
	const char *query;
	size_t qlen;
	int route;

	if (!parse_http(data, size, &in))
		return 0;
	route = ddns_d2_route(in.target, in.tlen, &query, &qlen);
	if (query)
		FUZZ_CHECK(query >= in.target &&
			   query + qlen <= in.target + in.tlen);
	ddns_proxy_client(&proxies, &in.peer, &in.headers, &client, &in.tls);
	req.tls = in.tls;
	fuzz_show("route %d, %s", route, in.method);
	if (route == DDNS_D2_ROUTE_UPDATE)
		handle_update(&in, &client, query, qlen);
	else if (route == DDNS_D2_ROUTE_MYIP && client.family != 0)
		FUZZ_CHECK(client.family == AF_INET ||
			   client.family == AF_INET6);
	ddns_d2_req_clear(&req);
	FUZZ_CHECK(req.used == 0);
	http_free(&in);
	return 0;
}
