/*
 * nicapi.c -- the EGI JSON endpoints (nicapi.h).
 *
 * Each request: route and method -> the bearer caller (auth.c, perhaps
 * asynchronous) -> its query parameters -> the host operation of api.c,
 * which checks the zone's visibility and the ownership -> the reply in
 * the original service's shapes.
 */
#include "nicapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "names.h"

#define COMMENT_CHARS 200
#define PARAM_MAX     1024 /* a decoded query parameter, bytes */
#define BASE_MAX      320  /* scheme://host[:port] */

enum nic_route {
	N_NONE,
	N_REGISTER,
	N_UNREGISTER,
	N_HOSTS,
	N_DOMAINS,
	N_SECRET
};

struct ddns_nic {
	ddns_api *api;
	ddns_auth *auth;
	char *update_base; /* [portal] update_url, else public_url; NULL:
			      the request's own scheme and Host */
};

struct nic_req {
	ddns_nic *nic;
	struct ddns_http_ctx ctx;
	int route;
};

void ddns_nic_error(struct evhttp_request *req, int status, const char *text)
{
	ddns_http_json(
	    req, status,
	    json_pack("{s:s, s:s}", "status", "error", "message", text));
}

static void nic_errorf(struct evhttp_request *req, int status, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

static void nic_errorf(struct evhttp_request *req, int status, const char *fmt,
		       ...)
{
	char t[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	ddns_nic_error(req, status, t);
}

bool ddns_nic_parse_bool(const char *v, bool *on)
{
	static const char *const yes[] = {"true", "1", "yes"};
	static const char *const no[] = {"false", "0", "no", ""};

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *on = true;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strcasecmp(v, no[i]) == 0) {
			*on = false;
			return true;
		}
	return false;
}

/* ---- JSON ------------------------------------------------------------------
 */

/* The time of the last update of a family the host has, else null. */
static json_t *time_or_null(int64_t t, bool has)
{
	return has ? ddns_json_time(t) : json_null();
}

static void label_of(const struct ddns_host_view *v, char *out, size_t cap)
{
	size_t f = strlen(v->h.fqdn), z = strlen(v->zone);

	snprintf(out, cap, "%.*s", (int)(f > z + 1 ? f - z - 1 : f), v->h.fqdn);
}

static json_t *comment_json(const struct ddns_host_view *v)
{
	return v->comment[0] ? json_string(v->comment) : json_null();
}

/* nic-host.json of V. */
static json_t *nic_host_json(const struct ddns_host_view *v)
{
	const struct ddns_host *h = &v->h;
	char name[DDNS_NAME_BUF];
	bool abuse = h->flags & DDNS_HOST_ABUSE;
	bool blocked = h->flags & DDNS_HOST_BLOCKED;

	label_of(v, name, sizeof name);
	return json_pack(
	    "{s:s, s:s, s:s, s:b, s:o, s:b, s:I, s:I, s:b, s:b, s:o, s:b, "
	    "s:o, s:o, s:b, s:o}",
	    "fqdn", h->fqdn, "name", name, "domain", v->zone, "wildcard",
	    (h->flags & DDNS_HOST_WILDCARD) != 0, "comment", comment_json(v),
	    "available", !abuse && !blocked, "client_faults",
	    (json_int_t)h->client_faults, "server_faults",
	    (json_int_t)h->server_faults, "abuse_blocked", blocked, "abuse",
	    abuse, "last_update_ipv4",
	    time_or_null(h->updated, h->flags & DDNS_HOST_V4),
	    "tls_update_ipv4", (h->flags & DDNS_HOST_TLS4) != 0, "ipv4",
	    ddns_json_host_addr(h, AF_INET), "last_update_ipv6",
	    time_or_null(h->updated, h->flags & DDNS_HOST_V6),
	    "tls_update_ipv6", (h->flags & DDNS_HOST_TLS6) != 0, "ipv6",
	    ddns_json_host_addr(h, AF_INET6));
}

/* ---- parameters
 * --------------------------------------------------------------- */

/* Parameter KEY into OUT: 1, 0 absent, -1 (answered 400) malformed. */
static int param(const struct nic_req *r, const char *key, char *out,
		 size_t cap)
{
	int rc = ddns_http_query_get(r->ctx.query, r->ctx.qlen, key, out, cap);

	if (rc == 0)
		return 1;
	if (rc == DDNS_ENOTFOUND)
		return 0;
	nic_errorf(r->ctx.req, 400, "Invalid parameter: %s", key);
	return -1;
}

/*
 * The host named by fqdn= or name= + domain= into FQDN (and ZONE, "" for
 * fqdn=).  False when the request was answered (400).
 */
static bool host_params(const struct nic_req *r, char fqdn[DDNS_NAME_BUF],
			char zone[DDNS_NAME_BUF])
{
	char v[PARAM_MAX], label[DDNS_NAME_BUF];
	int f, n, d;

	zone[0] = '\0';
	if ((f = param(r, "fqdn", v, sizeof v)) < 0)
		return false;
	if (f > 0) {
		if (ddns_api_name_input(v, strlen(v), false, fqdn) == NULL)
			return true;
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: fqdn");
		return false;
	}
	if ((n = param(r, "name", v, sizeof v)) < 0)
		return false;
	if (n > 0 && ddns_api_name_input(v, strlen(v), true, label) != NULL) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: name");
		return false;
	}
	if ((d = param(r, "domain", v, sizeof v)) < 0)
		return false;
	if (d > 0 && ddns_api_name_input(v, strlen(v), false, zone) != NULL) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: domain");
		return false;
	}
	if (!n || !d) {
		nic_errorf(r->ctx.req, 400, "Missing parameter: %s",
			   !n && !d ? "fqdn"
			   : !n	    ? "name"
				    : "domain");
		return false;
	}
	if ((size_t)snprintf(fqdn, DDNS_NAME_BUF, "%s.%s", label, zone) >
	    DDNS_NAME_MAX) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: name");
		return false;
	}
	return true;
}

/* ip=, wildcard=, comment= of a registration into S. */
static bool register_params(const struct nic_req *r, struct ddns_host_spec *s)
{
	char v[PARAM_MAX];
	struct ddns_addr a;
	int p;

	if ((p = param(r, "ip", v, sizeof v)) < 0)
		return false;
	if (p > 0 && v[0]) {
		if (strchr(v, '/') || ddns_addr_parse(v, strlen(v), &a) != 0) {
			ddns_nic_error(r->ctx.req, 400,
				       "Invalid parameter: ip");
			return false;
		}
	} else {
		a = r->ctx.client; /* the caller's own address */
	}
	if (a.family == AF_INET)
		s->v4 = a;
	else if (a.family == AF_INET6)
		s->v6 = a;
	if ((p = param(r, "wildcard", v, sizeof v)) < 0)
		return false;
	if (p > 0 && !ddns_nic_parse_bool(v, &s->wildcard)) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: wildcard");
		return false;
	}
	if ((p = param(r, "comment", v, sizeof v)) < 0)
		return false;
	if (p > 0 && (strlen(v) > DDNS_HOST_COMMENT_MAX ||
		      !ddns_text_valid(v, strlen(v)) ||
		      ddns_http_utf8_len(v, strlen(v)) > COMMENT_CHARS)) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: comment");
		return false;
	}
	if (p > 0)
		snprintf(s->comment, sizeof s->comment, "%s", v);
	return true;
}

/* The updater's base URL for the reply's update URLs into OUT. */
static void update_base(const struct nic_req *r, char out[BASE_MAX])
{
	const char *host = evhttp_find_header(
	    evhttp_request_get_input_headers(r->ctx.req), "Host");
	bool ok = host && *host && strlen(host) < BASE_MAX - 10;

	if (r->nic->update_base) {
		snprintf(out, BASE_MAX, "%s", r->nic->update_base);
		return;
	}
	for (const char *c = host; ok && *c; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		     (*c >= '0' && *c <= '9') || strchr(".-:[]", *c);
	snprintf(out, BASE_MAX, "%s://%s", r->ctx.tls ? "https" : "http",
		 ok ? host : "localhost");
}

/* ---- endpoints
 * ----------------------------------------------------------------- */

static void nic_register(struct nic_req *r, const struct ddns_caller *c)
{
	struct ddns_host_spec s;
	struct ddns_host_view *v = malloc(sizeof *v);
	struct ddns_api_err e;
	char secret[DDNS_SECRET_BUF] = "", base[BASE_MAX], url[1024];
	const char *sep;
	json_t *h;

	memset(&s, 0, sizeof s);
	s.tls = r->ctx.tls;
	if (!v) {
		ddns_nic_error(r->ctx.req, 500, "internal error");
		return;
	}
	if (!host_params(r, s.fqdn, s.zone) || !register_params(r, &s))
		goto out;
	if (ddns_api_host_create(r->nic->api, &c->user, &s, v, secret, &e)) {
		ddns_nic_error(r->ctx.req, e.status, e.text);
		goto out;
	}
	update_base(r, base);
	sep = strstr(base, "://");
	sep = sep ? sep + 3 : base;
	h = nic_host_json(v);
	json_object_set_new(h, "update_secret", json_string(secret));
	snprintf(url, sizeof url, "%.*s%s:%s@%s/nic/update", (int)(sep - base),
		 base, v->h.fqdn, secret, sep);
	json_object_set_new(h, "IPv4_update_url_basic_auth", json_string(url));
	snprintf(url, sizeof url, "%s/nic/update?hostname=%s&myip=${myip}",
		 base, v->h.fqdn);
	json_object_set_new(h, "IPv4_update_url_bearer_auth", json_string(url));
	OPENSSL_cleanse(url, sizeof url);
	ddns_http_json(r->ctx.req, 200,
		       json_pack("{s:s, s:s, s:o}", "status", "ok", "message",
				 "Host registered.", "host", h));
out:
	OPENSSL_cleanse(secret, sizeof secret);
	free(v);
}

static void nic_unregister(struct nic_req *r, const struct ddns_caller *c)
{
	struct ddns_host_view *v = malloc(sizeof *v);
	char fqdn[DDNS_NAME_BUF], zone[DDNS_NAME_BUF], name[DDNS_NAME_BUF];
	struct ddns_api_err e;

	if (!v) {
		ddns_nic_error(r->ctx.req, 500, "internal error");
		return;
	}
	if (!host_params(r, fqdn, zone))
		goto out;
	if (ddns_api_host_delete(r->nic->api, &c->user, fqdn, v, &e)) {
		ddns_nic_error(r->ctx.req, e.status, e.text);
		goto out;
	}
	label_of(v, name, sizeof name);
	ddns_http_json(
	    r->ctx.req, 200,
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:b, s:o}}", "status", "ok",
		      "message", "Host unregistered.", "host", "fqdn",
		      v->h.fqdn, "name", name, "domain", v->zone, "wildcard",
		      (v->h.flags & DDNS_HOST_WILDCARD) != 0, "comment",
		      comment_json(v)));
out:
	free(v);
}

static void nic_secret(struct nic_req *r, const struct ddns_caller *c)
{
	char fqdn[DDNS_NAME_BUF], v[PARAM_MAX], secret[DDNS_SECRET_BUF] = "";
	struct ddns_api_err e;
	int p = param(r, "fqdn", v, sizeof v);

	if (p < 0)
		return;
	if (p == 0 || !v[0]) {
		ddns_nic_error(r->ctx.req, 400, "Missing parameter: fqdn");
		return;
	}
	if (ddns_api_name_input(v, strlen(v), false, fqdn) != NULL) {
		ddns_nic_error(r->ctx.req, 400, "Invalid parameter: fqdn");
		return;
	}
	if (ddns_api_host_secret(r->nic->api, &c->user, fqdn, secret, &e))
		ddns_nic_error(r->ctx.req, e.status, e.text);
	else
		ddns_http_json(
		    r->ctx.req, 200,
		    json_pack("{s:s, s:s}", "status", "ok", "secret", secret));
	OPENSSL_cleanse(secret, sizeof secret);
}

/* True if zone NAME exists and U may use it. */
static bool zone_usable(ddns_api *api, const char *name,
			const struct ddns_user *u)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if (ddns_txn_begin(ddns_api_store(api), false, &t) != 0)
		return false;
	rc = ddns_zone_get(t, name, &z);
	ddns_txn_abort(t);
	return rc == 0 && ddns_zone_usable_by(&z, u);
}

static void nic_hosts(struct nic_req *r, const struct ddns_caller *c)
{
	char v[PARAM_MAX], zone[DDNS_NAME_BUF];
	struct ddns_host_view *hv = NULL;
	size_t n = 0;
	json_t *arr;
	int p = param(r, "domain", v, sizeof v), rc = 0;

	if (p < 0)
		return;
	if (!(arr = json_array())) {
		ddns_nic_error(r->ctx.req, 500, "internal error");
		return;
	}
	/* a domain that cannot exist, or that the caller may not use,
	 * lists nothing, as an unknown one */
	if (p == 0 || !v[0])
		rc = ddns_api_host_list(r->nic->api, &c->user, NULL, &hv, &n);
	else if (ddns_api_name_input(v, strlen(v), false, zone) == NULL &&
		 zone_usable(r->nic->api, zone, &c->user))
		rc = ddns_api_host_list(r->nic->api, &c->user, zone, &hv, &n);
	if (rc != 0) {
		log_err("nic: listing hosts: %s", ddns_strerror(rc));
		json_decref(arr);
		ddns_nic_error(r->ctx.req, 500, "internal error");
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, nic_host_json(&hv[i]));
	free(hv);
	ddns_http_json(r->ctx.req, 200,
		       json_pack("{s:s, s:o}", "status", "ok", "hosts", arr));
}

struct nic_zones {
	const struct ddns_caller *c;
	json_t *pub, *priv;
};

static int nic_zone_cb(const struct ddns_zone *z, void *arg)
{
	struct nic_zones *l = arg;
	bool pub = z->visibility == DDNS_ZONE_PUBLIC;
	json_t *d;

	if (!ddns_zone_usable_by(z, &l->c->user))
		return 0;
	d = json_pack("{s:s, s:b, s:b, s:s, s:n}", "name", z->name, "public",
		      pub, "available", 1, "comment", "", "owner");
	return json_array_append_new(pub ? l->pub : l->priv, d) ? DDNS_ENOMEM
								: 0;
}

static void nic_domains(struct nic_req *r, const struct ddns_caller *c)
{
	struct nic_zones l = {c, json_array(), json_array()};
	ddns_txn *t = NULL;
	int rc = DDNS_ENOMEM;

	if (l.pub && l.priv &&
	    (rc = ddns_txn_begin(ddns_api_store(r->nic->api), false, &t)) ==
		0) {
		rc = ddns_zone_foreach(t, nic_zone_cb, &l);
		ddns_txn_abort(t);
	}
	if (rc != 0) {
		log_err("nic: listing zones: %s", ddns_strerror(rc));
		json_decref(l.pub);
		json_decref(l.priv);
		ddns_nic_error(r->ctx.req, 500, "internal error");
		return;
	}
	ddns_http_json(r->ctx.req, 200,
		       json_pack("{s:s, s:o, s:o}", "status", "ok", "public",
				 l.pub, "private", l.priv));
}

/* ---- routing
 * ------------------------------------------------------------------- */

static void on_caller(const struct ddns_caller *c, int status, void *arg)
{
	struct nic_req *r = arg;

	if (status == DDNS_AUTH_CANCELLED) {
		free(r);
		return;
	}
	if (status == 500)
		ddns_nic_error(r->ctx.req, 500, "internal error");
	else if (status != 0 || c->kind == DDNS_CALLER_NONE)
		ddns_nic_error(r->ctx.req, 401,
			       status ? "Invalid token"
				      : "Missing Authorization: Bearer token");
	else if (r->route == N_REGISTER)
		nic_register(r, c);
	else if (r->route == N_UNREGISTER)
		nic_unregister(r, c);
	else if (r->route == N_HOSTS)
		nic_hosts(r, c);
	else if (r->route == N_DOMAINS)
		nic_domains(r, c);
	else
		nic_secret(r, c);
	free(r);
}

static int nic_route(const char *p, size_t n)
{
	static const struct {
		const char *path;
		int route;
	} routes[] = {
	    {"/nic/register", N_REGISTER},
	    {"/nic/unregister", N_UNREGISTER},
	    {"/nic/hosts", N_HOSTS},
	    {"/nic/domains", N_DOMAINS},
	    {"/nic/generate_secret", N_SECRET},
	};

	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strlen(routes[i].path) == n &&
		    memcmp(routes[i].path, p, n) == 0)
			return routes[i].route;
	return N_NONE;
}

bool ddns_nic_handle(ddns_nic *n, const struct ddns_http_ctx *ctx)
{
	int route = nic_route(ctx->path, ctx->plen);
	bool read_only = route == N_HOSTS || route == N_DOMAINS;
	struct nic_req *r;

	if (route == N_NONE)
		return false;
	if (ctx->method != EVHTTP_REQ_GET &&
	    !(read_only && ctx->method == EVHTTP_REQ_HEAD)) {
		ddns_http_header(ctx->req, "Allow",
				 read_only ? "GET, HEAD" : "GET");
		ddns_nic_error(ctx->req, 405, "method not allowed");
		return true;
	}
	if (!(r = calloc(1, sizeof *r))) {
		ddns_nic_error(ctx->req, 500, "internal error");
		return true;
	}
	r->nic = n;
	r->ctx = *ctx;
	r->route = route;
	ddns_auth_identify(n->auth, ctx, DDNS_AUTH_BEARER, on_caller, r, NULL);
	return true;
}

/* ---- setup
 * --------------------------------------------------------------------- */

static char *base_of(const char *url)
{
	char o[BASE_MAX];

	ddns_http_origin_of(url, o, sizeof o);
	return o[0] ? strdup(o) : NULL;
}

int ddns_nic_new(ddns_nic **out, const struct ddns_nic_conf *c, char *err,
		 size_t errlen)
{
	ddns_nic *n = calloc(1, sizeof *n);

	*out = NULL;
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	n->api = c->api;
	n->auth = c->auth;
	n->update_base = base_of(c->conf->portal_update_url);
	if (!n->update_base)
		n->update_base = base_of(c->conf->portal_public_url);
	*out = n;
	return 0;
}

void ddns_nic_free(ddns_nic *n)
{
	if (!n)
		return;
	free(n->update_base);
	free(n);
}
