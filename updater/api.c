/*
 * api.c -- the JSON API under /api/v1 (api.h, schema/api/README.md).
 *
 * A request is routed and its method checked; a state change must pass
 * the Origin check; the caller is identified (auth.c; an access token may
 * make that asynchronous), a cookie session's state change must carry its
 * CSRF token; then the handler reads as parse -> validate -> store ->
 * reply.  Every change is one write transaction, begun after the body
 * has been checked and committed before anything is sent; the names it
 * changed are then handed to the asynchronous purger.
 */
#include "api.h"
#include "acme.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "names.h"

#define WHY		   256
#define API_PREFIX	   "/api/v1"
#define COMMENT_CHARS	   200
#define ZONE_GROUPS_SCHEMA 32  /* common.json zone_groups maxItems */
#define GROUP_CHARS	   256 /* common.json group maxLength */

struct ddns_api {
	ddns_store *store;
	ddns_purger *purger;
	ddns_worker *worker;
	ddns_auth *auth;
	ddns_oidc *oidc;
	bool local_login;
	char *update_url;     /* NULL: the portal's own origin */
	char *control_socket; /* NULL: no REDISCOVER */
	unsigned purge_timeout;
	ddns_acme *acme; /* /hosts/{fqdn}/acme (issue 7); NULL: none */
};

enum route {
	R_NONE,
	R_SESSION,
	R_LOGIN,
	R_LOGOUT,
	R_CONFIG,
	R_DOMAINS,
	R_DOMAIN,
	R_HOSTS,
	R_HOST,
	R_SECRET,
	R_ACME, /* /hosts/{fqdn}/acme[/{value}] (acme.c) */
};

/* A request waiting for its caller to be known. */
struct api_req {
	ddns_api *api;
	struct ddns_http_ctx ctx;
	int route;
	char arg[DDNS_NAME_BUF]; /* the {fqdn} or {zone}, normalised */
	bool arg_ok;		 /* ARG is a valid name */
	const char *value;	 /* R_ACME: the {value} segment, or NULL */
	size_t vlen;
};

static int fail(struct ddns_api_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ddns_api_err *e, int status, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof e->text, fmt, ap);
	va_end(ap);
	return status;
}

/* A store error RC while DOING: logged, 500 for the client. */
static int store_fail(struct ddns_api_err *e, const char *doing,
		      const char *name, int rc)
{
	log_err("api: %s %s: %s", doing, name, ddns_strerror(rc));
	return fail(e, 500, "internal error");
}

static void reply_err(struct evhttp_request *req, const struct ddns_api_err *e)
{
	ddns_http_error(req, e->status, e->text);
}

ddns_store *ddns_api_store(ddns_api *api)
{
	return api->store;
}

/* ---- purges ----------------------------------------------------------------
 */

static void purge_host(ddns_api *api, const char *fqdn, const char *zone,
		       bool subtree)
{
	if (api->purger)
		ddns_purger_add_host(api->purger, fqdn, zone, subtree);
}

/* ZONE and every name below it. */
static void purge_zone(ddns_api *api, const char *zone)
{
	char sub[DDNS_NAME_BUF + 1];

	snprintf(sub, sizeof sub, "%s$", zone);
	if (api->purger)
		ddns_purger_add(api->purger, sub);
}

/* A zone added or deleted: pdns re-reads its zone list (a blocking
 * exchange on its control socket, so on a worker thread), then forgets
 * what it cached below the zone. */
struct rediscover {
	char *sock;
	unsigned timeout;
	ddns_purger *purger;
	char zone[DDNS_NAME_BUF + 1];
};

static void rediscover_run(void *arg)
{
	struct rediscover *r = arg;

	ddns_pdns_rediscover(r->sock, r->timeout); /* logs a failure */
}

static void rediscover_done(void *arg, bool cancelled)
{
	struct rediscover *r = arg;

	if (!cancelled && r->purger)
		ddns_purger_add(r->purger, r->zone);
	free(r->sock);
	free(r);
}

static void zone_changed(ddns_api *api, const char *zone)
{
	struct rediscover *r;

	if (!api->control_socket) {
		purge_zone(api, zone);
		return;
	}
	if (!(r = calloc(1, sizeof *r)) ||
	    !(r->sock = strdup(api->control_socket))) {
		free(r);
		purge_zone(api, zone);
		return;
	}
	r->timeout = api->purge_timeout;
	r->purger = api->purger;
	snprintf(r->zone, sizeof r->zone, "%s$", zone);
	if (ddns_worker_submit(api->worker, rediscover_run, rediscover_done, r,
			       NULL) != 0) {
		log_warn("pdns not asked to rediscover zones (busy): %s may "
			 "take up to zone-cache-refresh-interval to show",
			 zone);
		rediscover_done(r, false);
	}
}

/* ---- JSON of the store's records -------------------------------------------
 */

/* The label of FQDN left of ZONE into OUT. */
static void host_label(const char *fqdn, const char *zone, char *out,
		       size_t cap)
{
	size_t f = strlen(fqdn), z = strlen(zone);

	if (f > z + 1 && strcmp(fqdn + f - z, zone) == 0)
		snprintf(out, cap, "%.*s", (int)(f - z - 1), fqdn);
	else
		snprintf(out, cap, "%s", fqdn);
}

static json_t *host_json(const struct ddns_host_view *v)
{
	const struct ddns_host *h = &v->h;
	char name[DDNS_NAME_BUF];
	json_t *o = json_object();

	host_label(h->fqdn, v->zone, name, sizeof name);
	if (!o || json_object_set_new(o, "fqdn", json_string(h->fqdn)) ||
	    json_object_set_new(o, "name", json_string(name)) ||
	    json_object_set_new(o, "zone", json_string(v->zone)) ||
	    json_object_set_new(o, "ipv4", ddns_json_host_addr(h, AF_INET)) ||
	    json_object_set_new(o, "ipv6", ddns_json_host_addr(h, AF_INET6)) ||
	    json_object_set_new(o, "updated", ddns_json_time(h->updated)) ||
	    json_object_set_new(o, "created", ddns_json_time(h->created)) ||
	    json_object_set_new(o, "comment", json_string(v->comment)) ||
	    json_object_set_new(o, "wildcard",
				json_boolean(h->flags & DDNS_HOST_WILDCARD)) ||
	    json_object_set_new(o, "tls4",
				json_boolean(h->flags & DDNS_HOST_TLS4)) ||
	    json_object_set_new(o, "tls6",
				json_boolean(h->flags & DDNS_HOST_TLS6)) ||
	    json_object_set_new(o, "abuse",
				json_boolean(h->flags & DDNS_HOST_ABUSE)) ||
	    json_object_set_new(o, "blocked",
				json_boolean(h->flags & DDNS_HOST_BLOCKED)) ||
	    json_object_set_new(o, "client_faults",
				json_integer(h->client_faults)) ||
	    json_object_set_new(o, "server_faults",
				json_integer(h->server_faults)) ||
	    json_object_set_new(o, "auth_faults",
				json_integer(h->auth_faults)) ||
	    json_object_set_new(o, "last_fault", ddns_json_time(h->last_fault)) ||
	    json_object_set_new(o, "last_fault_text",
				v->fault_text[0] ? json_string(v->fault_text)
						 : json_null()) ||
	    json_object_set_new(o, "owner",
				v->owner[0] ? json_string(v->owner)
					    : json_null())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

void ddns_api_rname_to_mail(const char *rname, char *out, size_t cap)
{
	size_t n = 0;
	bool at = false;

	for (const char *p = rname; *p && n + 1 < cap; p++) {
		if (*p == '\\' && p[1] == '.' && !at) {
			out[n++] = '.';
			p++;
		} else if (*p == '.' && !at) {
			out[n++] = '@';
			at = true;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static const char *visibility_name(unsigned v)
{
	return v == DDNS_ZONE_PRIVATE ? "private"
	       : v == DDNS_ZONE_ADMIN ? "admin"
				      : "public";
}

static json_t *domain_json(const struct ddns_zone *z)
{
	char mail[DDNS_NAME_BUF];
	json_t *ns = json_array(), *groups = json_array();

	for (unsigned i = 0; ns && i < z->n_ns; i++)
		json_array_append_new(ns, json_string(z->ns[i]));
	for (unsigned i = 0; groups && i < z->n_groups; i++)
		json_array_append_new(groups, json_string(z->groups[i]));
	ddns_api_rname_to_mail(z->hostmaster, mail, sizeof mail);
	return json_pack("{s:s, s:I, s:o*, s:s, s:s, s:o*}", "zone", z->name,
			 "ttl", (json_int_t)z->ttl, "ns", ns, "hostmaster",
			 mail, "visibility", visibility_name(z->visibility),
			 "groups", groups);
}

/* ---- body checks (the schema/api JSON schemas)
 * --------------------------------------- */

/* KEY as it may appear in an error: printable ASCII, cut. */
static void member_text(const char *key, char out[48])
{
	size_t n = 0;

	for (; *key && n < 40; key++)
		out[n++] = *key > ' ' && *key < 0x7f ? *key : '?';
	out[n] = '\0';
}

/* True if every member of O is one of NAMES (NULL-terminated). */
static bool only_members(const json_t *o, const char *const *names, char *why,
			 size_t cap)
{
	const char *k;
	json_t *v;
	char m[48];

	json_object_foreach((json_t *)o, k, v)
	{
		bool ok = false;

		for (const char *const *n = names; *n && !ok; n++)
			ok = strcmp(*n, k) == 0;
		if (!ok) {
			member_text(k, m);
			snprintf(why, cap, "%s: unknown member", m);
			return false;
		}
	}
	return true;
}

/*
 * Member KEY of O as a string of MIN..MAX characters into *S / *LEN:
 * 1, 0 when absent, -1 (WHY) when invalid.  CHARS (may be NULL) checks
 * the characters.
 */
static int str_member(const json_t *o, const char *key, size_t min, size_t max,
		      bool (*chars)(const char *, size_t), const char **s,
		      size_t *len, char *why, size_t cap)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, cap, "%s: must be a string", key);
		return -1;
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	n = ddns_http_utf8_len(*s, *len);
	if (n < min || n > max) {
		snprintf(why, cap, "%s: must be %zu to %zu characters long",
			 key, min, max);
		return -1;
	}
	if (chars && !chars(*s, *len)) {
		snprintf(why, cap, "%s: holds characters it may not", key);
		return -1;
	}
	return 1;
}

/* Member KEY of O as a boolean into *B: 1, 0 absent, -1 invalid. */
static int bool_member(const json_t *o, const char *key, bool *b, char *why,
		       size_t cap)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(why, cap, "%s: must be true or false", key);
		return -1;
	}
	*b = json_is_true(v);
	return 1;
}

/* No C0 control character or DEL (common.json comment, display_text). */
static bool no_controls(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Printable ASCII without blanks: ^[!-~]+$ */
static bool visible_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '!' || s[i] > '~')
			return false;
	return true;
}

const char *ddns_api_name_input(const char *s, size_t len, bool label,
				char out[DDNS_NAME_BUF])
{
	static const char bad[] = "/\\:@?#*,;\"'<>%&=+ \t\r\n\v\f";

	if (len == 0 || len > (label ? DDNS_LABEL_MAX : DDNS_NAME_MAX + 1))
		return "too long or empty";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (c < 0x80 && strchr(bad, c)))
			return "holds characters a DNS name may not";
		if (label && c == '.')
			return "must be one label, without dots";
	}
	if (ddns_name_normalize(s, len, out) != 0)
		return "not a valid DNS name";
	return NULL;
}

/* Member KEY of O: a name (LABEL: one label) normalised into OUT.  1, 0
 * absent, -1 invalid. */
static int name_member(const json_t *o, const char *key, bool label,
		       char out[DDNS_NAME_BUF], char *why, size_t cap)
{
	const char *s, *bad;
	size_t len;
	int r = str_member(o, key, 1, label ? DDNS_LABEL_MAX : 254, NULL, &s,
			   &len, why, cap);

	if (r <= 0)
		return r;
	if ((bad = ddns_api_name_input(s, len, label, out)) != NULL) {
		snprintf(why, cap, "%s: %s", key, bad);
		return -1;
	}
	return 1;
}

/* Member KEY of O: an address of FAMILY (string) into A; with NULLABLE
 * null clears (*CLEAR).  1, 0 absent, -1 invalid. */
static int addr_member(const json_t *o, const char *key, int family,
		       bool nullable, struct ddns_addr *a, bool *clear,
		       char *why, size_t cap)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t len;

	if (!v)
		return 0;
	if (nullable && json_is_null(v)) {
		*clear = true;
		return 1;
	}
	if (!json_is_string(v)) {
		snprintf(why, cap, "%s: must be a string%s", key,
			 nullable ? " or null" : "");
		return -1;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len > 45 || memchr(s, '/', len) ||
	    ddns_addr_parse(s, len, a) != 0 || a->family != family) {
		snprintf(why, cap, "%s: not an %s address", key,
			 family == AF_INET ? "IPv4" : "IPv6");
		return -1;
	}
	return 1;
}

/* ---- hosts: lookups -------------------------------------------------------
 */

static bool owns(const struct ddns_user *u, const struct ddns_host *h)
{
	return (u->flags & DDNS_USER_ADMIN) ||
	       (h->owner != 0 && h->owner == u->id);
}

/* Comment, fault text and owner name of V->h (zone ZONE) from T; U, the
 * caller, saves a lookup for its own hosts.  0 or a store error. */
static int view_fill(ddns_txn *t, struct ddns_host_view *v, const char *zone,
		     const struct ddns_user *u)
{
	struct ddns_fault f;
	struct ddns_user *o;
	int rc;

	if (zone != v->zone)
		snprintf(v->zone, sizeof v->zone, "%s", zone);
	v->owner[0] = v->fault_text[0] = '\0';
	if ((rc = ddns_host_comment_get(t, v->h.fqdn, v->comment)) != 0)
		return rc;
	rc = ddns_fault_get(t, v->h.fqdn, &f);
	if (rc == 0)
		snprintf(v->fault_text, sizeof v->fault_text, "%s",
			 f.last_text);
	else if (rc != DDNS_ENOTFOUND)
		return rc;
	if (v->h.owner == 0)
		return 0;
	if (u && u->id == v->h.owner) {
		snprintf(v->owner, sizeof v->owner, "%s", u->name);
		return 0;
	}
	if (!(o = malloc(sizeof *o)))
		return DDNS_ENOMEM;
	rc = ddns_user_get(t, v->h.owner, o);
	if (rc == 0)
		snprintf(v->owner, sizeof v->owner, "%s", o->name);
	free(o);
	return rc == DDNS_ENOTFOUND ? 0 : rc;
}

/* Host FQDN of U (or any, for an admin) with its zone: 0, or 404 / 500 in
 * E (another user's host is 404 like a missing one). */
static int host_owned(ddns_txn *t, const struct ddns_user *u, const char *fqdn,
		      struct ddns_host_view *v, struct ddns_zone *z,
		      struct ddns_api_err *e)
{
	int rc = ddns_host_get(t, fqdn, &v->h);

	if (rc == DDNS_ENOTFOUND || (rc == 0 && !owns(u, &v->h)))
		return fail(e, 404, "no such host: %s", fqdn);
	if (rc == 0 && (rc = ddns_zone_get_by_id(t, v->h.zone_id, z)) == 0)
		rc = view_fill(t, v, z->name, u);
	return rc ? store_fail(e, "reading host", fqdn, rc) : 0;
}

/* ---- hosts: create, delete, new secret --------------------------------- */

/* The zone host S goes into, in Z: 0, or 400 / 404 / 500 in E. */
static int host_zone(ddns_txn *t, const struct ddns_host_spec *s,
		     struct ddns_zone *z, struct ddns_api_err *e)
{
	const char *parent = ddns_name_parent(s->fqdn);
	int rc;

	if (s->zone[0]) {
		rc = ddns_zone_get(t, s->zone, z);
		if (rc == DDNS_ENOTFOUND)
			return fail(e, 404, "no such domain: %s", s->zone);
		if (rc != 0)
			return store_fail(e, "reading zone", s->zone, rc);
	}
	rc = ddns_zone_find(t, s->fqdn, z);
	if (rc == DDNS_ENOZONE)
		return fail(e, 404, "no domain contains %s", s->fqdn);
	if (rc != 0)
		return store_fail(e, "finding the zone of", s->fqdn, rc);
	if (strcmp(z->name, s->fqdn) == 0)
		return fail(e, 400, "%s is a domain, not a host name", s->fqdn);
	if (!parent || strcmp(parent, z->name) != 0)
		return fail(e, 400, "%s must lie one label below its domain %s",
			    s->fqdn, z->name);
	return 0;
}

/* The new host record of S in zone Z for U, at NOW. */
static void host_init(struct ddns_host *h, const struct ddns_host_spec *s,
		      const struct ddns_zone *z, const struct ddns_user *u,
		      int64_t now)
{
	memset(h, 0, sizeof *h);
	memcpy(h->fqdn, s->fqdn, sizeof h->fqdn);
	h->zone_id = z->id;
	h->created = now;
	h->owner = u->id;
	if (s->wildcard)
		h->flags |= DDNS_HOST_WILDCARD;
	if (s->v4.family == AF_INET) {
		h->v4 = s->v4.u.v4;
		h->flags |= DDNS_HOST_V4 | (s->tls ? DDNS_HOST_TLS4 : 0);
		h->updated = now;
	}
	if (s->v6.family == AF_INET6) {
		h->v6 = s->v6.u.v6;
		h->flags |= DDNS_HOST_V6 | (s->tls ? DDNS_HOST_TLS6 : 0);
		h->updated = now;
	}
}

/* Insert the host of S in T (zone found, caller allowed). */
static int host_insert(ddns_txn *t, const struct ddns_host_spec *s,
		       const struct ddns_zone *z, const struct ddns_user *u,
		       struct ddns_host_view *v, char secret[DDNS_SECRET_BUF],
		       struct ddns_api_err *e)
{
	int rc;

	host_init(&v->h, s, z, u, (int64_t)time(NULL));
	if ((rc = ddns_cred_new(secret, &v->h.cred)) != 0)
		return store_fail(e, "making a secret for", s->fqdn, rc);
	rc = ddns_host_add(t, &v->h);
	if (rc == DDNS_EEXIST)
		return fail(e, 409, "%s exists", s->fqdn);
	if (rc == DDNS_EDEPTH || rc == DDNS_EINVAL || rc == DDNS_EBADNAME)
		return fail(e, 400, "%s cannot be a host of %s", s->fqdn,
			    z->name);
	if (rc == 0 && (rc = ddns_zone_bump_serial(t, z->name, NULL)) == 0 &&
	    s->comment[0])
		rc = ddns_host_comment_put(t, s->fqdn, s->comment);
	if (rc == DDNS_EINVAL)
		return fail(e, 400, "comment: at most %d bytes of UTF-8 text",
			    DDNS_HOST_COMMENT_MAX);
	if (rc == 0)
		rc = view_fill(t, v, z->name, u);
	return rc ? store_fail(e, "adding host", s->fqdn, rc) : 0;
}

int ddns_api_host_create(ddns_api *api, const struct ddns_user *u,
			 const struct ddns_host_spec *s,
			 struct ddns_host_view *out,
			 char secret[DDNS_SECRET_BUF], struct ddns_api_err *e)
{
	struct ddns_host other;
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	secret[0] = '\0';
	if ((rc = ddns_txn_begin(api->store, true, &t)) != 0)
		return store_fail(e, "adding host", s->fqdn, rc);
	if ((rc = host_zone(t, s, &z, e)) != 0)
		goto fail;
	if (!ddns_zone_usable_by(&z, u)) {
		rc = fail(e, 403, "you may not add hosts to %s", z.name);
		goto fail;
	}
	rc = ddns_host_get(t, s->fqdn, &other);
	if (rc != DDNS_ENOTFOUND) {
		rc = rc == 0 ? fail(e, 409, "%s exists", s->fqdn)
			     : store_fail(e, "reading host", s->fqdn, rc);
		goto fail;
	}
	if ((rc = host_insert(t, s, &z, u, out, secret, e)) != 0)
		goto fail;
	if ((rc = ddns_txn_commit(t)) != 0) {
		OPENSSL_cleanse(secret, DDNS_SECRET_BUF);
		return store_fail(e, "adding host", s->fqdn, rc);
	}
	log_info("api: host %s added by %s", s->fqdn, u->name);
	purge_host(api, s->fqdn, z.name, true);
	return 0;
fail:
	ddns_txn_abort(t);
	OPENSSL_cleanse(secret, DDNS_SECRET_BUF);
	return rc;
}

int ddns_api_host_delete(ddns_api *api, const struct ddns_user *u,
			 const char *fqdn, struct ddns_host_view *out,
			 struct ddns_api_err *e)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(api->store, true, &t)) != 0)
		return store_fail(e, "deleting host", fqdn, rc);
	if ((rc = host_owned(t, u, fqdn, out, &z, e)) != 0)
		goto fail;
	if ((rc = ddns_host_del(t, fqdn)) != 0 ||
	    (rc = ddns_zone_bump_serial(t, z.name, NULL)) != 0) {
		rc = store_fail(e, "deleting host", fqdn, rc);
		goto fail;
	}
	if ((rc = ddns_txn_commit(t)) != 0)
		return store_fail(e, "deleting host", fqdn, rc);
	log_info("api: host %s deleted by %s", fqdn, u->name);
	purge_host(api, fqdn, z.name, true);
	return 0;
fail:
	ddns_txn_abort(t);
	return rc;
}

int ddns_api_host_secret(ddns_api *api, const struct ddns_user *u,
			 const char *fqdn, char secret[DDNS_SECRET_BUF],
			 struct ddns_api_err *e)
{
	struct ddns_host_view *v = malloc(sizeof *v);
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	secret[0] = '\0';
	if (!v)
		return fail(e, 500, "internal error");
	if ((rc = ddns_txn_begin(api->store, true, &t)) != 0) {
		rc = store_fail(e, "new secret of", fqdn, rc);
		goto out;
	}
	if ((rc = host_owned(t, u, fqdn, v, &z, e)) == 0 &&
	    ((rc = ddns_cred_new(secret, &v->h.cred)) != 0 ||
	     (rc = ddns_host_put(t, &v->h)) != 0))
		rc = store_fail(e, "new secret of", fqdn, rc);
	/* DNS answers do not change: no serial, no purge */
	if (rc != 0)
		ddns_txn_abort(t);
	else if ((rc = ddns_txn_commit(t)) != 0)
		rc = store_fail(e, "new secret of", fqdn, rc);
	if (rc == 0)
		log_info("api: new secret of %s made by %s", fqdn, u->name);
	else
		OPENSSL_cleanse(secret, DDNS_SECRET_BUF);
out:
	free(v);
	return rc;
}

/* ---- hosts: lists -----------------------------------------------------------
 */

struct zone_ref {
	uint32_t id;
	char name[DDNS_NAME_BUF];
};

struct host_walk {
	ddns_txn *t;
	const struct ddns_user *u; /* NULL: every host */
	const char *zone;	   /* NULL: any */
	struct zone_ref *zones;
	size_t nzones, capzones;
	struct ddns_host_view *v;
	size_t n, cap;
};

static int zone_collect(const struct ddns_zone *z, void *arg)
{
	struct host_walk *w = arg;

	if (w->nzones == w->capzones) {
		size_t cap = w->capzones ? 2 * w->capzones : 16;
		struct zone_ref *p = reallocarray(w->zones, cap, sizeof *p);

		if (!p)
			return DDNS_ENOMEM;
		w->zones = p;
		w->capzones = cap;
	}
	w->zones[w->nzones].id = z->id;
	memcpy(w->zones[w->nzones++].name, z->name, DDNS_NAME_BUF);
	return 0;
}

static const char *zone_name(const struct host_walk *w, uint32_t id)
{
	for (size_t i = 0; i < w->nzones; i++)
		if (w->zones[i].id == id)
			return w->zones[i].name;
	return NULL;
}

static int host_collect(const struct ddns_host *h, void *arg)
{
	struct host_walk *w = arg;
	const char *zone = zone_name(w, h->zone_id);

	if ((w->u && h->owner != w->u->id) || !zone ||
	    (w->zone && strcmp(zone, w->zone) != 0))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		struct ddns_host_view *p = reallocarray(w->v, cap, sizeof *p);

		if (!p)
			return DDNS_ENOMEM;
		w->v = p;
		w->cap = cap;
	}
	w->v[w->n].h = *h;
	snprintf(w->v[w->n++].zone, DDNS_NAME_BUF, "%s", zone);
	return 0;
}

static int view_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ddns_host_view *)a)->h.fqdn,
		      ((const struct ddns_host_view *)b)->h.fqdn);
}

int ddns_api_host_list(ddns_api *api, const struct ddns_user *u,
		       const char *zone, struct ddns_host_view **out, size_t *n)
{
	struct host_walk w = {.u = u, .zone = zone};
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = ddns_txn_begin(api->store, false, &w.t)) != 0)
		return rc;
	rc = ddns_zone_foreach(w.t, zone_collect, &w);
	if (rc == 0)
		rc = ddns_host_foreach(w.t, NULL, host_collect, &w);
	/* comments, faults, owners: after the walk (callbacks only read) */
	for (size_t i = 0; rc == 0 && i < w.n; i++)
		rc = view_fill(w.t, &w.v[i], w.v[i].zone, u);
	ddns_txn_abort(w.t);
	free(w.zones);
	if (rc != 0) {
		free(w.v);
		return rc;
	}
	if (w.n > 1)
		qsort(w.v, w.n, sizeof *w.v, view_cmp);
	*out = w.v;
	*n = w.n;
	return 0;
}

/* ---- /api/v1/hosts ------------------------------------------------------- */

static void hosts_get(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_host_view *v = NULL;
	char all[8];
	size_t n = 0;
	json_t *arr;
	bool every = ddns_http_query_get(r->ctx.query, r->ctx.qlen, "all", all,
					 sizeof all) == 0 &&
		     strcmp(all, "true") == 0;
	int rc;

	if (every && !ddns_caller_admin(c)) {
		ddns_http_error(r->ctx.req, 403,
				"only administrators may list every host");
		return;
	}
	rc = ddns_api_host_list(r->api, every ? NULL : &c->user, NULL, &v, &n);
	if (rc != 0 || !(arr = json_array())) {
		log_err("api: listing hosts: %s", ddns_strerror(rc));
		ddns_http_error(r->ctx.req, 500, "internal error");
		free(v);
		return;
	}
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, host_json(&v[i]));
	free(v);
	ddns_http_json(r->ctx.req, 200, json_pack("{s:o}", "hosts", arr));
}

/* host-create-request.json into S.  False with WHY. */
static bool create_body(const json_t *b, struct ddns_host_spec *s, bool tls,
			char *why, size_t cap)
{
	static const char *const members[] = {"name",	 "domain",   "fqdn",
					      "comment", "wildcard", "ipv4",
					      "ipv6",	 NULL};
	char label[DDNS_NAME_BUF];
	const char *cm = NULL;
	size_t cl = 0;
	bool clear = false;
	int hn, hd, hf;

	memset(s, 0, sizeof *s);
	s->tls = tls;
	if (!only_members(b, members, why, cap) ||
	    (hn = name_member(b, "name", true, label, why, cap)) < 0 ||
	    (hd = name_member(b, "domain", false, s->zone, why, cap)) < 0 ||
	    (hf = name_member(b, "fqdn", false, s->fqdn, why, cap)) < 0)
		return false;
	if (hf && (hn || hd)) {
		snprintf(why, cap, "fqdn: give fqdn, or name and domain");
		return false;
	}
	if (!hf && !(hn && hd)) {
		snprintf(why, cap, "%s: required",
			 hn   ? "domain"
			 : hd ? "name"
			      : "fqdn");
		return false;
	}
	if (hn && (size_t)snprintf(s->fqdn, sizeof s->fqdn, "%s.%s", label,
				   s->zone) > DDNS_NAME_MAX) {
		snprintf(why, cap, "name: the full name is too long");
		return false;
	}
	if (str_member(b, "comment", 0, COMMENT_CHARS, no_controls, &cm, &cl,
		       why, cap) < 0 ||
	    bool_member(b, "wildcard", &s->wildcard, why, cap) < 0 ||
	    addr_member(b, "ipv4", AF_INET, false, &s->v4, &clear, why, cap) <
		0 ||
	    addr_member(b, "ipv6", AF_INET6, false, &s->v6, &clear, why, cap) <
		0)
		return false;
	if (json_object_get(b, "comment")) {
		if (cl > DDNS_HOST_COMMENT_MAX) {
			snprintf(why, cap,
				 "comment: at most %d bytes of UTF-8 text",
				 DDNS_HOST_COMMENT_MAX);
			return false;
		}
		memcpy(s->comment, cm, cl);
		s->comment[cl] = '\0';
	}
	return true;
}

/* Location: PREFIX + NAME. */
static void location(struct evhttp_request *req, const char *prefix,
		     const char *name)
{
	char loc[DDNS_NAME_BUF + 32];

	snprintf(loc, sizeof loc, "%s%s", prefix, name);
	ddns_http_header(req, "Location", loc);
}

static void hosts_post(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_host_spec s;
	struct ddns_host_view *v = malloc(sizeof *v);
	struct ddns_api_err e;
	char why[WHY], secret[DDNS_SECRET_BUF] = "";
	json_t *b = NULL;
	int st;

	if (!v) {
		ddns_http_error(r->ctx.req, 500, "internal error");
		return;
	}
	if ((st = ddns_http_read_json(r->ctx.req, &b, why, sizeof why)) ||
	    (st = create_body(b, &s, r->ctx.tls, why, sizeof why) ? 0 : 400))
		ddns_http_error(r->ctx.req, st, why);
	else if (ddns_api_host_create(r->api, &c->user, &s, v, secret, &e))
		reply_err(r->ctx.req, &e);
	else {
		location(r->ctx.req, API_PREFIX "/hosts/", s.fqdn);
		ddns_http_json(r->ctx.req, 201,
			       json_pack("{s:o, s:s}", "host", host_json(v),
					 "secret", secret));
	}
	OPENSSL_cleanse(secret, sizeof secret);
	json_decref(b);
	free(v);
}

static void host_get(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_host_view *v = malloc(sizeof *v);
	struct ddns_api_err e;
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if (!v || (rc = ddns_txn_begin(r->api->store, false, &t)) != 0) {
		ddns_http_error(r->ctx.req, 500, "internal error");
		free(v);
		return;
	}
	rc = host_owned(t, &c->user, r->arg, v, &z, &e);
	ddns_txn_abort(t);
	if (rc != 0)
		reply_err(r->ctx.req, &e);
	else
		ddns_http_json(r->ctx.req, 200, host_json(v));
	free(v);
}

/* A PATCH of a host (host-update-request.json). */
struct host_patch {
	const char *comment; /* NULL: unchanged */
	int wildcard;	     /* -1: unchanged */
	int blocked;	     /* -1: unchanged */
	bool clear_abuse;
	bool set4, clear4, set6, clear6;
	struct ddns_addr v4, v6;
};

static bool patch_body(const json_t *b, struct host_patch *p, char *why,
		       size_t cap)
{
	static const char *const members[] = {
	    "comment",	   "wildcard", "ipv4", "ipv6",
	    "clear_abuse", "blocked",  NULL};
	json_t *ca = json_object_get(b, "clear_abuse");
	bool w = false, bl = false;
	size_t cl;
	int r;

	memset(p, 0, sizeof *p);
	if (!only_members(b, members, why, cap))
		return false;
	if (json_object_size(b) == 0) {
		snprintf(why, cap, "body: give at least one member to change");
		return false;
	}
	if (str_member(b, "comment", 0, COMMENT_CHARS, no_controls, &p->comment,
		       &cl, why, cap) < 0 ||
	    (r = bool_member(b, "wildcard", &w, why, cap)) < 0)
		return false;
	p->wildcard = r ? w : -1;
	if ((r = bool_member(b, "blocked", &bl, why, cap)) < 0)
		return false;
	p->blocked = r ? bl : -1;
	if (ca && !json_is_true(ca)) {
		snprintf(why, cap, "clear_abuse: must be true");
		return false;
	}
	p->clear_abuse = ca != NULL;
	if ((r = addr_member(b, "ipv4", AF_INET, true, &p->v4, &p->clear4, why,
			     cap)) < 0)
		return false;
	p->set4 = r && !p->clear4;
	if ((r = addr_member(b, "ipv6", AF_INET6, true, &p->v6, &p->clear6, why,
			     cap)) < 0)
		return false;
	p->set6 = r && !p->clear6;
	return true;
}

/* Set or clear one address family of H; true if the record changed. */
static bool patch_addr(struct ddns_host *h, bool set, bool clear,
		       const struct ddns_addr *a, uint32_t has, uint32_t tls,
		       bool over_tls, int64_t now)
{
	struct ddns_host old = *h;
	bool v4 = has == DDNS_HOST_V4;

	if (!set && !clear)
		return false;
	if (clear) {
		if (!(h->flags & has))
			return false;
		h->flags &= ~(has | tls);
		if (v4)
			memset(&h->v4, 0, sizeof h->v4);
		else
			memset(&h->v6, 0, sizeof h->v6);
		h->updated = now;
		return true;
	}
	h->flags = (h->flags | has) & ~tls;
	h->flags |= over_tls ? tls : 0;
	if (v4)
		h->v4 = a->u.v4;
	else
		h->v6 = a->u.v6;
	h->updated = now;
	return !(old.flags & has) ||
	       (v4 ? memcmp(&old.v4, &h->v4, sizeof h->v4)
		   : memcmp(&old.v6, &h->v6, sizeof h->v6)) != 0;
}

/* Apply P to H; true if DNS answers change. */
static bool patch_apply(struct ddns_host *h, const struct host_patch *p,
			bool tls, int64_t now)
{
	uint32_t f0 = h->flags, mask = DDNS_HOST_WILDCARD | DDNS_HOST_ABUSE |
				       DDNS_HOST_BLOCKED;
	bool dns = patch_addr(h, p->set4, p->clear4, &p->v4, DDNS_HOST_V4,
			      DDNS_HOST_TLS4, tls, now);

	dns |= patch_addr(h, p->set6, p->clear6, &p->v6, DDNS_HOST_V6,
			  DDNS_HOST_TLS6, tls, now);
	if (p->wildcard >= 0)
		h->flags = p->wildcard
			       ? h->flags | DDNS_HOST_WILDCARD
			       : h->flags & ~(uint32_t)DDNS_HOST_WILDCARD;
	if (p->blocked >= 0)
		h->flags = p->blocked ? h->flags | DDNS_HOST_BLOCKED
				      : h->flags & ~(uint32_t)DDNS_HOST_BLOCKED;
	if (p->clear_abuse)
		h->flags &= ~(uint32_t)DDNS_HOST_ABUSE;
	return dns || ((f0 ^ h->flags) & mask) != 0;
}

/* Start counting FQDN's client faults afresh (clear_abuse). */
static int reset_fault_window(ddns_txn *t, const char *fqdn)
{
	struct ddns_fault f;
	int rc = ddns_fault_get(t, fqdn, &f);

	if (rc == DDNS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	f.window_start = 0;
	f.window_count = 0;
	return ddns_fault_put(t, fqdn, &f);
}

/* Write the patched host V (zone Z) in T; *DNS: answers changed. */
static int patch_write(ddns_txn *t, struct ddns_host_view *v,
		       const struct ddns_zone *z, const struct host_patch *p,
		       bool tls, bool *dns, struct ddns_api_err *e)
{
	struct ddns_host before = v->h;
	int rc = 0;

	*dns = patch_apply(&v->h, p, tls, (int64_t)time(NULL));
	if (memcmp(&before, &v->h, sizeof before) != 0)
		rc = ddns_host_put(t, &v->h);
	if (rc == 0 && *dns)
		rc = ddns_zone_bump_serial(t, z->name, NULL);
	if (rc == 0 && p->clear_abuse)
		rc = reset_fault_window(t, v->h.fqdn);
	if (rc == 0 && p->comment && strcmp(p->comment, v->comment) != 0) {
		rc = ddns_host_comment_put(t, v->h.fqdn, p->comment);
		if (rc == DDNS_EINVAL)
			return fail(e, 400,
				    "comment: at most %d bytes of UTF-8 text",
				    DDNS_HOST_COMMENT_MAX);
	}
	if (rc == 0)
		rc = view_fill(t, v, z->name, NULL);
	return rc ? store_fail(e, "changing host", v->h.fqdn, rc) : 0;
}

static int host_patch_txn(struct api_req *r, const struct ddns_caller *c,
			  const struct host_patch *p, struct ddns_host_view *v,
			  struct ddns_api_err *e)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	bool dns, was_wild;
	int rc;

	if ((rc = ddns_txn_begin(r->api->store, true, &t)) != 0)
		return store_fail(e, "changing host", r->arg, rc);
	if ((rc = host_owned(t, &c->user, r->arg, v, &z, e)) != 0)
		goto fail;
	if (p->blocked >= 0 && !ddns_caller_admin(c)) {
		rc = fail(e, 403,
			  "blocked: only administrators may block or "
			  "unblock a host");
		goto fail;
	}
	was_wild = v->h.flags & DDNS_HOST_WILDCARD;
	if ((rc = patch_write(t, v, &z, p, r->ctx.tls, &dns, e)) != 0)
		goto fail;
	if ((rc = ddns_txn_commit(t)) != 0)
		return store_fail(e, "changing host", r->arg, rc);
	log_info("api: host %s changed by %s", r->arg, c->user.name);
	if (dns)
		purge_host(r->api, r->arg, z.name,
			   was_wild || (v->h.flags & DDNS_HOST_WILDCARD));
	return 0;
fail:
	ddns_txn_abort(t);
	return rc;
}

static void host_patch(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_host_view *v = malloc(sizeof *v);
	struct host_patch p;
	struct ddns_api_err e;
	char why[WHY];
	json_t *b = NULL;
	int st;

	if (!v)
		ddns_http_error(r->ctx.req, 500, "internal error");
	else if ((st = ddns_http_read_json(r->ctx.req, &b, why, sizeof why)) ||
		 (st = patch_body(b, &p, why, sizeof why) ? 0 : 400))
		ddns_http_error(r->ctx.req, st, why);
	else if (host_patch_txn(r, c, &p, v, &e) != 0)
		reply_err(r->ctx.req, &e);
	else
		ddns_http_json(r->ctx.req, 200, host_json(v));
	json_decref(b);
	free(v);
}

static void host_delete(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_host_view *v = malloc(sizeof *v);
	struct ddns_api_err e;
	char why[WHY];
	int st;

	if (!v)
		ddns_http_error(r->ctx.req, 500, "internal error");
	else if ((st = ddns_http_no_body(r->ctx.req, why, sizeof why)) != 0)
		ddns_http_error(r->ctx.req, st, why);
	else if (ddns_api_host_delete(r->api, &c->user, r->arg, v, &e) != 0)
		reply_err(r->ctx.req, &e);
	else
		ddns_http_empty(r->ctx.req, 204);
	free(v);
}

static void host_secret(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_api_err e;
	char why[WHY], secret[DDNS_SECRET_BUF] = "";
	int st;

	if ((st = ddns_http_no_body(r->ctx.req, why, sizeof why)) != 0)
		ddns_http_error(r->ctx.req, st, why);
	else if (ddns_api_host_secret(r->api, &c->user, r->arg, secret, &e))
		reply_err(r->ctx.req, &e);
	else
		ddns_http_json(
		    r->ctx.req, 200,
		    json_pack("{s:s, s:s}", "fqdn", r->arg, "secret", secret));
	OPENSSL_cleanse(secret, sizeof secret);
}

/* ---- /api/v1/domains
 * ---------------------------------------------------------- */

struct zone_list {
	const struct ddns_caller *c;
	json_t *arr;
};

static int zone_list_cb(const struct ddns_zone *z, void *arg)
{
	struct zone_list *l = arg;

	if (ddns_zone_usable_by(z, &l->c->user) &&
	    json_array_append_new(l->arr, domain_json(z)) != 0)
		return DDNS_ENOMEM;
	return 0;
}

static void domains_get(struct api_req *r, const struct ddns_caller *c)
{
	struct zone_list l = {c, json_array()};
	ddns_txn *t = NULL;
	int rc = DDNS_ENOMEM;

	if (l.arr && (rc = ddns_txn_begin(r->api->store, false, &t)) == 0) {
		rc = ddns_zone_foreach(t, zone_list_cb, &l);
		ddns_txn_abort(t);
	}
	if (rc != 0) {
		log_err("api: listing zones: %s", ddns_strerror(rc));
		json_decref(l.arr);
		ddns_http_error(r->ctx.req, 500, "internal error");
		return;
	}
	ddns_http_json(r->ctx.req, 200, json_pack("{s:o}", "domains", l.arr));
}

/* ns (1..8 names) of B into Z.  1, 0 absent, -1 invalid. */
static int ns_member(const json_t *b, struct ddns_zone *z, char *why,
		     size_t cap)
{
	json_t *ns = json_object_get(b, "ns"), *v;
	const char *bad;
	size_t i;

	if (!ns)
		return 0;
	if (!json_is_array(ns) || json_array_size(ns) < 1 ||
	    json_array_size(ns) > DDNS_ZONE_NS_MAX) {
		snprintf(why, cap, "ns: must be a list of 1 to %d names",
			 DDNS_ZONE_NS_MAX);
		return -1;
	}
	json_array_foreach(ns, i, v)
	{
		if (!json_is_string(v) ||
		    (bad = ddns_api_name_input(json_string_value(v),
					       json_string_length(v), false,
					       z->ns[i])) != NULL) {
			snprintf(why, cap, "ns.%zu: %s", i,
				 json_is_string(v) ? bad : "must be a string");
			return -1;
		}
	}
	z->n_ns = (uint8_t)json_array_size(ns);
	return 1;
}

/* groups (distinct, printable ASCII) of B into Z.  1, 0, -1. */
static int groups_member(const json_t *b, struct ddns_zone *z, char *why,
			 size_t cap)
{
	json_t *g = json_object_get(b, "groups"), *v;
	size_t i;

	if (!g)
		return 0;
	if (!json_is_array(g) || json_array_size(g) > ZONE_GROUPS_SCHEMA) {
		snprintf(why, cap,
			 "groups: must be a list of at most %d "
			 "groups",
			 ZONE_GROUPS_SCHEMA);
		return -1;
	}
	if (json_array_size(g) > DDNS_ZONE_GROUPS_MAX) {
		snprintf(why, cap, "groups: a zone may name at most %d groups",
			 DDNS_ZONE_GROUPS_MAX);
		return -1;
	}
	json_array_foreach(g, i, v)
	{
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (!json_is_string(v) || len == 0 || len > DDNS_GROUP_MAX ||
		    !visible_ascii(s, len)) {
			snprintf(why, cap,
				 "groups.%zu: must be 1 to %d "
				 "printable characters without blanks",
				 i, DDNS_GROUP_MAX);
			return -1;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(z->groups[k], s) == 0) {
				snprintf(why, cap, "groups: %s is listed twice",
					 s);
				return -1;
			}
		memcpy(z->groups[i], s, len + 1);
	}
	z->n_groups = (uint8_t)json_array_size(g);
	return 1;
}

/* The members zone-create and zone-update share, applied to Z. */
static bool zone_members(const json_t *b, struct ddns_zone *z, char *why,
			 size_t cap)
{
	json_t *ttl = json_object_get(b, "ttl");
	json_t *vis = json_object_get(b, "visibility");
	const char *hm, *vs;
	size_t hl;
	int r;

	if (ns_member(b, z, why, cap) < 0 || groups_member(b, z, why, cap) < 0)
		return false;
	r = str_member(b, "hostmaster", 3, 254, visible_ascii, &hm, &hl, why,
		       cap);
	if (r < 0)
		return false;
	if (r > 0 && ddns_mailbox_to_rname(hm, z->hostmaster) != 0) {
		snprintf(why, cap,
			 "hostmaster: not an e-mail address or "
			 "mailbox name");
		return false;
	}
	if (ttl && (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
		    json_integer_value(ttl) > 86400)) {
		snprintf(why, cap, "ttl: must be an integer from 1 to 86400");
		return false;
	}
	if (ttl)
		z->ttl = (uint32_t)json_integer_value(ttl);
	vs = json_string_value(vis);
	if (vis && (!vs || (strcmp(vs, "public") && strcmp(vs, "private") &&
			    strcmp(vs, "admin")))) {
		snprintf(why, cap,
			 "visibility: must be public, private or "
			 "admin");
		return false;
	}
	if (vs)
		z->visibility = !strcmp(vs, "private") ? DDNS_ZONE_PRIVATE
				: !strcmp(vs, "admin") ? DDNS_ZONE_ADMIN
						       : DDNS_ZONE_PUBLIC;
	if (z->visibility == DDNS_ZONE_PRIVATE && z->n_groups == 0) {
		snprintf(why, cap,
			 "groups: a private domain needs at least "
			 "one group");
		return false;
	}
	return true;
}

static bool zone_create_body(const json_t *b, struct ddns_zone *z, char *why,
			     size_t cap)
{
	static const char *const members[] = {
	    "zone", "ns", "hostmaster", "ttl", "visibility", "groups", NULL};
	static const char *const req[] = {"zone", "ns", "hostmaster", NULL};

	memset(z, 0, sizeof *z);
	z->ttl = DDNS_DEFAULT_TTL;
	z->kind = DDNS_ZONE_NATIVE;
	if (!only_members(b, members, why, cap))
		return false;
	for (const char *const *k = req; *k; k++)
		if (!json_object_get(b, *k)) {
			snprintf(why, cap, "%s: required", *k);
			return false;
		}
	return name_member(b, "zone", false, z->name, why, cap) > 0 &&
	       zone_members(b, z, why, cap);
}

static int zone_add_txn(ddns_api *api, struct ddns_zone *z,
			struct ddns_api_err *e)
{
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(api->store, true, &t)) != 0)
		return store_fail(e, "adding zone", z->name, rc);
	rc = ddns_zone_add(t, z);
	if (rc != 0) {
		ddns_txn_abort(t);
		if (rc == DDNS_EEXIST)
			return fail(e, 409, "%s exists", z->name);
		if (rc == DDNS_EBUSY)
			return fail(e, 409,
				    "%s: hosts of an enclosing domain "
				    "lie at or below it",
				    z->name);
		if (rc == DDNS_EBADNAME || rc == DDNS_EINVAL)
			return fail(e, 400,
				    "%s: invalid name server, "
				    "hostmaster or group",
				    z->name);
		return store_fail(e, "adding zone", z->name, rc);
	}
	if ((rc = ddns_txn_commit(t)) != 0)
		return store_fail(e, "adding zone", z->name, rc);
	return 0;
}

static void domains_post(struct api_req *r, const struct ddns_caller *c)
{
	struct ddns_zone z;
	struct ddns_api_err e;
	char why[WHY];
	json_t *b = NULL;
	int st;

	if ((st = ddns_http_read_json(r->ctx.req, &b, why, sizeof why)) ||
	    (st = zone_create_body(b, &z, why, sizeof why) ? 0 : 400))
		ddns_http_error(r->ctx.req, st, why);
	else if (zone_add_txn(r->api, &z, &e) != 0)
		reply_err(r->ctx.req, &e);
	else {
		log_info("api: zone %s added by %s", z.name, c->user.name);
		zone_changed(r->api, z.name);
		location(r->ctx.req, API_PREFIX "/domains/", z.name);
		ddns_http_json(r->ctx.req, 201, domain_json(&z));
	}
	json_decref(b);
}

static bool zone_dns_differs(const struct ddns_zone *a,
			     const struct ddns_zone *b)
{
	bool d = a->ttl != b->ttl || a->n_ns != b->n_ns ||
		 strcmp(a->hostmaster, b->hostmaster) != 0;

	for (unsigned i = 0; !d && i < a->n_ns; i++)
		d = strcmp(a->ns[i], b->ns[i]) != 0;
	return d;
}

/* PATCH body B applied to zone R->arg in one transaction; Z the result,
 * *DNS whether its DNS answers changed. */
static int zone_patch_txn(struct api_req *r, const json_t *b,
			  struct ddns_zone *z, bool *dns,
			  struct ddns_api_err *e)
{
	struct ddns_zone old;
	char why[WHY];
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(r->api->store, true, &t)) != 0)
		return store_fail(e, "changing zone", r->arg, rc);
	rc = ddns_zone_get(t, r->arg, z);
	if (rc != 0) {
		ddns_txn_abort(t);
		return rc == DDNS_ENOTFOUND
			   ? fail(e, 404, "no such domain: %s", r->arg)
			   : store_fail(e, "reading zone", r->arg, rc);
	}
	old = *z;
	if (!zone_members(b, z, why, sizeof why)) {
		ddns_txn_abort(t);
		return fail(e, 400, "%s", why);
	}
	*dns = zone_dns_differs(&old, z);
	if (memcmp(&old, z, sizeof old) == 0) {
		ddns_txn_abort(t);
		return 0;
	}
	rc = ddns_zone_update(t, z);
	if (rc == 0)
		rc = ddns_zone_bump_serial(t, z->name, &z->serial);
	if (rc != 0) {
		ddns_txn_abort(t);
		return rc == DDNS_EBADNAME || rc == DDNS_EINVAL
			   ? fail(e, 400,
				  "invalid name server, hostmaster "
				  "or group")
			   : store_fail(e, "changing zone", r->arg, rc);
	}
	if ((rc = ddns_txn_commit(t)) != 0)
		return store_fail(e, "changing zone", r->arg, rc);
	log_info("api: zone %s changed", z->name);
	return 0;
}

static void domain_patch(struct api_req *r, const struct ddns_caller *c)
{
	static const char *const members[] = {"ns",	    "hostmaster", "ttl",
					      "visibility", "groups",	  NULL};
	struct ddns_zone z;
	struct ddns_api_err e;
	char why[WHY];
	json_t *b = NULL;
	bool dns = false;
	int st;

	if ((st = ddns_http_read_json(r->ctx.req, &b, why, sizeof why)) ||
	    (st = only_members(b, members, why, sizeof why) ? 0 : 400)) {
		ddns_http_error(r->ctx.req, st, why);
	} else if (json_object_size(b) == 0) {
		ddns_http_error(r->ctx.req, 400,
				"body: give at least one member to change");
	} else if (zone_patch_txn(r, b, &z, &dns, &e) != 0) {
		reply_err(r->ctx.req, &e);
	} else {
		if (dns)
			purge_zone(r->api, z.name);
		else if (r->api->purger) /* a new serial: the apex's SOA */
			ddns_purger_add(r->api->purger, z.name);
		ddns_http_json(r->ctx.req, 200, domain_json(&z));
	}
	json_decref(b);
}

static void domain_delete(struct api_req *r, const struct ddns_caller *c)
{
	char why[WHY];
	ddns_txn *t = NULL;
	unsigned n = 0;
	int rc;

	if ((rc = ddns_http_no_body(r->ctx.req, why, sizeof why)) != 0) {
		ddns_http_error(r->ctx.req, rc, why);
		return;
	}
	if ((rc = ddns_txn_begin(r->api->store, true, &t)) == 0 &&
	    (rc = ddns_zone_del(t, r->arg, false, &n)) == 0)
		rc = ddns_txn_commit(t);
	else
		ddns_txn_abort(t);
	if (rc == DDNS_ENOTFOUND) {
		ddns_http_errorf(r->ctx.req, 404, "no such domain: %s", r->arg);
	} else if (rc == DDNS_EBUSY) {
		ddns_http_errorf(r->ctx.req, 409,
				 "%s still has %u host(s): delete them first",
				 r->arg, n);
	} else if (rc != 0) {
		log_err("api: deleting zone %s: %s", r->arg, ddns_strerror(rc));
		ddns_http_error(r->ctx.req, 500, "internal error");
	} else {
		log_info("api: zone %s deleted by %s", r->arg, c->user.name);
		zone_changed(r->api, r->arg);
		ddns_http_empty(r->ctx.req, 204);
	}
}

/* ---- /api/v1/config
 * ---------------------------------------------------------- */

static void config_get(ddns_api *api, struct evhttp_request *req)
{
	json_t *prov = json_array();
	unsigned n = api->oidc ? ddns_oidc_count(api->oidc) : 0;

	for (unsigned i = 0; prov && i < n; i++) {
		const char *id = ddns_oidc_provider_id(api->oidc, i);
		const char *title = ddns_oidc_provider_title(api->oidc, i);
		char url[64];

		snprintf(url, sizeof url, "/oidc/login/%s", id);
		json_array_append_new(
		    prov,
		    json_pack("{s:s, s:s, s:s}", "id", id, "title",
			      title && *title ? title : id, "login_url", url));
	}
	ddns_http_json(req, 200,
		       json_pack("{s:o*, s:b, s:o}", "oidc_providers", prov,
				 "local_login", api->local_login, "update_url",
				 api->update_url ? json_string(api->update_url)
						 : json_null()));
}

/* ---- routing
 * ------------------------------------------------------------------ */

/* The route of PATH (after /api/v1) and its {fqdn} or {zone} segment. */
static int route_of(const char *p, size_t n, const char **seg, size_t *slen)
{
	static const struct {
		const char *path;
		int route;
	} fixed[] = {{"/session", R_SESSION}, {"/login", R_LOGIN},
		     {"/logout", R_LOGOUT},   {"/config", R_CONFIG},
		     {"/domains", R_DOMAINS}, {"/hosts", R_HOSTS}};
	const char *slash;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (strlen(fixed[i].path) == n &&
		    memcmp(fixed[i].path, p, n) == 0)
			return fixed[i].route;
	if (n > 9 && memcmp(p, "/domains/", 9) == 0 &&
	    !memchr(p + 9, '/', n - 9)) {
		*seg = p + 9, *slen = n - 9;
		return R_DOMAIN;
	}
	if (n <= 7 || memcmp(p, "/hosts/", 7) != 0)
		return R_NONE;
	*seg = p + 7;
	slash = memchr(*seg, '/', n - 7);
	*slen = slash ? (size_t)(slash - *seg) : n - 7;
	if (!slash)
		return R_HOST;
	if (*slen > 0 && (size_t)(p + n - slash) == 7 &&
	    memcmp(slash, "/secret", 7) == 0)
		return R_SECRET;
	if (*slen > 0 && (size_t)(p + n - slash) >= 5 &&
	    memcmp(slash, "/acme", 5) == 0 &&
	    ((size_t)(p + n - slash) == 5 ||
	     ((size_t)(p + n - slash) > 6 && slash[5] == '/' &&
	      !memchr(slash + 6, '/', (size_t)(p + n - slash) - 6))))
		return R_ACME;
	return R_NONE;
}

/* The methods ROUTE takes, for Allow; true if METHOD is one. */
static bool method_ok(int route, int method, const char **allow)
{
	static const struct {
		int route;
		unsigned mask;
		const char *allow;
	} m[] = {
	    {R_SESSION, EVHTTP_REQ_GET, "GET, HEAD"},
	    {R_LOGIN, EVHTTP_REQ_POST, "POST"},
	    {R_LOGOUT, EVHTTP_REQ_POST, "POST"},
	    {R_CONFIG, EVHTTP_REQ_GET, "GET, HEAD"},
	    {R_DOMAINS, EVHTTP_REQ_GET | EVHTTP_REQ_POST, "GET, HEAD, POST"},
	    {R_DOMAIN, EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE, "PATCH, DELETE"},
	    {R_HOSTS, EVHTTP_REQ_GET | EVHTTP_REQ_POST, "GET, HEAD, POST"},
	    {R_HOST, EVHTTP_REQ_GET | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE,
	     "GET, HEAD, PATCH, DELETE"},
	    {R_SECRET, EVHTTP_REQ_POST, "POST"},
	    {R_ACME, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE,
	     "GET, HEAD, POST, DELETE"},
	};
	int meth = method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : method;

	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
		if (m[i].route == route) {
			*allow = m[i].allow;
			return (m[i].mask & (unsigned)meth) != 0;
		}
	*allow = "";
	return false;
}

static bool admin_only(int route)
{
	return route == R_DOMAIN;
}

/* /hosts/{fqdn}/acme (GET, POST, DELETE) and /acme/{value} (DELETE). */
static void acme_route(struct api_req *r, const struct ddns_caller *c)
{
	if (!r->api->acme)
		ddns_http_error(r->ctx.req, 404, "no such API path");
	else if (r->value && r->ctx.method != EVHTTP_REQ_DELETE)
		ddns_http_bad_method(r->ctx.req, "DELETE");
	else
		ddns_acme_api(r->api->acme, &r->ctx, &c->user, r->arg,
			      r->value, r->vlen);
}

static void dispatch(struct api_req *r, const struct ddns_caller *c)
{
	int m =
	    r->ctx.method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : r->ctx.method;

	if ((admin_only(r->route) ||
	     (r->route == R_DOMAINS && m == EVHTTP_REQ_POST)) &&
	    !ddns_caller_admin(c)) {
		ddns_http_error(r->ctx.req, 403,
				"only administrators may do this");
		return;
	}
	if (!r->arg_ok && (r->route == R_HOST || r->route == R_SECRET ||
			   r->route == R_DOMAIN || r->route == R_ACME)) {
		ddns_http_error(r->ctx.req, 404,
				r->route == R_DOMAIN ? "no such domain"
						     : "no such host");
		return;
	}
	switch (r->route) {
	case R_DOMAINS:
		(m == EVHTTP_REQ_GET ? domains_get : domains_post)(r, c);
		break;
	case R_DOMAIN:
		(m == EVHTTP_REQ_PATCH ? domain_patch : domain_delete)(r, c);
		break;
	case R_HOSTS:
		(m == EVHTTP_REQ_GET ? hosts_get : hosts_post)(r, c);
		break;
	case R_HOST:
		(m == EVHTTP_REQ_GET	 ? host_get
		 : m == EVHTTP_REQ_PATCH ? host_patch
					 : host_delete)(r, c);
		break;
	case R_ACME:
		acme_route(r, c);
		break;
	default:
		host_secret(r, c);
		break;
	}
}

static void on_caller(const struct ddns_caller *c, int status, void *arg)
{
	struct api_req *r = arg;

	if (status == DDNS_AUTH_CANCELLED) {
		free(r);
		return;
	}
	if (status == 500)
		ddns_http_error(r->ctx.req, 500, "internal error");
	else if (status == 401)
		ddns_http_error(r->ctx.req, 401, "unknown or refused token");
	else if (c->kind == DDNS_CALLER_NONE)
		ddns_http_error(r->ctx.req, 401, "log in first");
	else if (!ddns_auth_csrf_ok(c, &r->ctx))
		ddns_http_error(r->ctx.req, 403, "missing or wrong CSRF token");
	else
		dispatch(r, c);
	free(r);
}

/* The {fqdn} / {zone} segment SEG into R->arg. */
static void path_arg(struct api_req *r, const char *seg, size_t slen)
{
	char raw[DDNS_NAME_BUF + 1];
	int n = ddns_http_pct_decode(seg, slen, false, raw, sizeof raw);

	r->arg_ok = n > 0 && ddns_name_normalize(raw, (size_t)n, r->arg) == 0;
}

/* Routes that need no caller, or a caller of their own. */
static bool handle_open(ddns_api *api, const struct ddns_http_ctx *ctx,
			int route)
{
	switch (route) {
	case R_SESSION:
		ddns_auth_session(api->auth, ctx);
		return true;
	case R_LOGIN:
		ddns_auth_login(api->auth, ctx);
		return true;
	case R_LOGOUT:
		ddns_auth_logout(api->auth, ctx);
		return true;
	case R_CONFIG:
		config_get(api, ctx->req);
		return true;
	default:
		return false;
	}
}

void ddns_api_handle(ddns_api *api, const struct ddns_http_ctx *ctx)
{
	const size_t pl = sizeof API_PREFIX - 1;
	const char *seg = NULL, *allow;
	size_t slen = 0;
	int route = ctx->plen > pl
			? route_of(ctx->path + pl, ctx->plen - pl, &seg, &slen)
			: R_NONE;
	struct api_req *r;

	if (route == R_NONE) {
		ddns_http_error(ctx->req, 404, "no such API path");
		return;
	}
	if (!method_ok(route, ctx->method, &allow)) {
		ddns_http_bad_method(ctx->req, allow);
		return;
	}
	if (!ddns_auth_origin_ok(api->auth, ctx)) {
		ddns_http_error(ctx->req, 403, "cross-origin request refused");
		return;
	}
	if (handle_open(api, ctx, route))
		return;
	if (!(r = calloc(1, sizeof *r))) {
		ddns_http_error(ctx->req, 500, "internal error");
		return;
	}
	r->api = api;
	r->ctx = *ctx;
	r->route = route;
	if (seg)
		path_arg(r, seg, slen);
	if (route == R_ACME && seg + slen + 6 <= ctx->path + ctx->plen) {
		r->value = seg + slen + 6; /* after "/acme/" */
		r->vlen = (size_t)(ctx->path + ctx->plen - r->value);
	}
	ddns_auth_identify(api->auth, ctx, DDNS_AUTH_ANY, on_caller, r, NULL);
}

/* ---- setup
 * ------------------------------------------------------------------- */

/* The origin (scheme://host[:port]) of URL, or NULL. */
static char *dup_url(const char *url)
{
	char o[512];

	ddns_http_origin_of(url, o, sizeof o);
	return o[0] ? strdup(o) : NULL;
}

int ddns_api_new(ddns_api **out, const struct ddns_api_conf *c, char *err,
		 size_t errlen)
{
	ddns_api *api = calloc(1, sizeof *api);
	const struct ddns_conf *conf = c->conf;

	*out = NULL;
	if (!api) {
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	api->store = c->store;
	api->purger = c->purger;
	api->worker = c->worker;
	api->auth = c->auth;
	api->oidc = c->oidc;
	api->acme = c->acme;
	api->local_login = conf->portal_local_login;
	api->purge_timeout = conf->pdns_purge_timeout_ms;
	api->update_url = dup_url(conf->portal_update_url);
	if (conf->pdns_control_socket && conf->pdns_control_socket[0])
		api->control_socket = strdup(conf->pdns_control_socket);
	if ((conf->portal_update_url && !api->update_url) ||
	    (conf->pdns_control_socket && conf->pdns_control_socket[0] &&
	     !api->control_socket)) {
		ddns_api_free(api);
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	*out = api;
	return 0;
}

void ddns_api_free(ddns_api *api)
{
	if (!api)
		return;
	free(api->update_url);
	free(api->control_socket);
	free(api);
}
