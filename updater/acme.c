/*
 * acme.c -- ACME DNS-01 challenges (acme.h): lego's httpreq endpoints, the
 * API for a host's owner, and the expiry sweep.
 *
 * Every change goes through ddns_d2_commit with a challenge operation, so
 * it is checked against the stored host (secret, abuse flag) inside its
 * write transaction, bumps the zone's serial and is purged like an
 * address change.
 */
#include "acme.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "err.h"
#include "log.h"
#include "names.h"

#define WHY	      160
#define SWEEP_BATCH   64 /* records rewritten by one sweep transaction */
#define SWEEP_MAX_GAP 60 /* seconds between two sweeps at most */

struct ddns_acme {
	ddns_store *store;
	ddns_purger *purger;
	struct event *sweep_ev;
	unsigned ttl, max;
	char path[DDNS_ACME_PATH_MAX + 1]; /* without a final slash */
	size_t plen;
};

/* ---- names and bodies -------------------------------------------------- */

int ddns_acme_host_of(const char *name, size_t len, char host[DDNS_NAME_BUF])
{
	if (len <= DDNS_CHALLENGE_NAME_LEN ||
	    strncasecmp(name, DDNS_CHALLENGE_NAME, DDNS_CHALLENGE_NAME_LEN) !=
		0)
		return DDNS_EBADNAME;
	name += DDNS_CHALLENGE_NAME_LEN;
	len -= DDNS_CHALLENGE_NAME_LEN;
	if (ddns_name_normalize(name, len, host) != 0 ||
	    !ddns_name_parent(host))
		return DDNS_EBADNAME;
	return 0;
}

int ddns_acme_parse_body(const char *body, size_t len, char host[DDNS_NAME_BUF],
			 char value[DDNS_CHALLENGE_VALUE_MAX + 1], char *why,
			 size_t cap)
{
	json_t *o = NULL, *f, *v;
	int st;

	if (len > DDNS_ACME_BODY_MAX) {
		snprintf(why, cap, "body over %d bytes", DDNS_ACME_BODY_MAX);
		return 413;
	}
	if ((st = ddns_http_parse_json(body, len, &o, why, cap)) != 0)
		return st;
	f = json_object_get(o, "fqdn");
	v = json_object_get(o, "value");
	st = 400;
	if (!json_is_string(f) || !json_is_string(v))
		snprintf(why, cap, "fqdn and value must be strings");
	else if (ddns_acme_host_of(json_string_value(f), json_string_length(f),
				   host) != 0)
		snprintf(why, cap, "fqdn must be _acme-challenge.HOST");
	else if (!ddns_challenge_value_valid(json_string_value(v),
					     json_string_length(v)))
		snprintf(why, cap,
			 "value must be 1 to %d characters of base64url",
			 DDNS_CHALLENGE_VALUE_MAX);
	else
		st = 0;
	if (st == 0)
		snprintf(value, DDNS_CHALLENGE_VALUE_MAX + 1, "%s",
			 json_string_value(v));
	json_decref(o);
	return st;
}

/* ---- applying a change ------------------------------------------------- */

void ddns_acme_purge(ddns_purger *p, const char *fqdn, const char *zone)
{
	if (p)
		ddns_purger_add_host(p, fqdn, zone, true);
}

/* Commit challenge operation OP (enum ddns_d2_txt_op) of VALUE ("" for
 * CLEAR) on host FQDN checked against CRED.  Returns the update's code
 * (GOOD, BADAUTH, ABUSE, 911); purges after GOOD. */
static int acme_commit(ddns_acme *a, const char *fqdn,
		       const struct ddns_cred *cred, int op, const char *value)
{
	struct ddns_d2_update u, *up = &u;
	int rc;

	memset(&u, 0, sizeof u);
	snprintf(u.fqdn, sizeof u.fqdn, "%s", fqdn);
	u.cred = *cred;
	u.txt_op = (uint8_t)op;
	snprintf(u.txt, sizeof u.txt, "%s", value);
	u.txt_ttl = a->ttl;
	u.txt_max = a->max;
	rc = ddns_d2_commit(a->store, &up, 1, (int64_t)time(NULL));
	if (rc != 0) {
		log_err("acme: storing a challenge of %s failed: %s", fqdn,
			ddns_strerror(rc));
		return DDNS_D2_911;
	}
	if (u.code == DDNS_D2_GOOD)
		ddns_acme_purge(a->purger, u.fqdn, u.zone);
	return u.code;
}

/* The HTTP reply to a change that ended in CODE (GOOD: nothing sent). */
static bool reply_code(struct evhttp_request *req, int code)
{
	switch (code) {
	case DDNS_D2_GOOD:
		return false;
	case DDNS_D2_BADAUTH:
		ddns_http_header(req, "WWW-Authenticate",
				 "Basic realm=\"ddns\"");
		ddns_http_error(req, 401, "the host or its secret changed");
		break;
	case DDNS_D2_ABUSE:
		ddns_http_error(req, 403, "host blocked or flagged for abuse");
		break;
	default:
		ddns_http_error(req, 500, "internal error");
		break;
	}
	return true;
}

/* ---- lego's httpreq ---------------------------------------------------- */

int ddns_acme_route(const ddns_acme *a, const char *path, size_t plen)
{
	const char *rest;
	size_t n;

	if (plen <= a->plen || memcmp(path, a->path, a->plen) != 0 ||
	    path[a->plen] != '/')
		return DDNS_ACME_NONE;
	rest = path + a->plen;
	n = plen - a->plen;
	if (n == 8 && memcmp(rest, "/present", 8) == 0)
		return DDNS_ACME_PRESENT;
	if (n == 8 && memcmp(rest, "/cleanup", 8) == 0)
		return DDNS_ACME_CLEANUP;
	return DDNS_ACME_UNKNOWN;
}

/* REQ's body (at most DDNS_ACME_BODY_MAX + 1 bytes looked at) parsed into
 * HOST and VALUE; false when an error was sent. */
static bool read_body(struct evhttp_request *req, char host[DDNS_NAME_BUF],
		      char value[DDNS_CHALLENGE_VALUE_MAX + 1])
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(b);
	const char *p = NULL;
	char why[WHY];
	int st;

	if (len > DDNS_ACME_BODY_MAX)
		len = DDNS_ACME_BODY_MAX + 1; /* parse_body refuses it */
	else if (!(p = (const char *)evbuffer_pullup(b, (ev_ssize_t)len)) &&
		 len > 0) {
		ddns_http_error(req, 500, "internal error");
		return false;
	}
	st =
	    ddns_acme_parse_body(p ? p : "", len, host, value, why, sizeof why);
	if (st != 0)
		ddns_http_error(req, st, why);
	return st == 0;
}

void ddns_acme_httpreq(ddns_acme *a, struct evhttp_request *req, int op,
		       const struct ddns_d2_plan *plan, const char *client)
{
	char host[DDNS_NAME_BUF], value[DDNS_CHALLENGE_VALUE_MAX + 1];
	const char *what = op == DDNS_ACME_PRESENT ? "present" : "cleanup";
	int code;

	if (plan->n == 1 && plan->code[0] == DDNS_D2_911) {
		ddns_http_error(req, 500, "internal error");
		return;
	}
	if (!plan->authed) {
		log_info("acme %s from %s for %s: badauth", what, client,
			 plan->upd.fqdn[0] ? plan->upd.fqdn : "(unknown user)");
		reply_code(req, DDNS_D2_BADAUTH);
		return;
	}
	if (!read_body(req, host, value))
		return;
	if (strcmp(host, plan->upd.fqdn) != 0) {
		ddns_http_errorf(req, 403, "fqdn must be _acme-challenge.%s",
				 plan->upd.fqdn);
		return;
	}
	code = acme_commit(
	    a, host, &plan->upd.cred,
	    op == DDNS_ACME_PRESENT ? DDNS_D2_TXT_ADD : DDNS_D2_TXT_DEL, value);
	log_info("acme %s from %s for %s: %s", what, client, host,
		 ddns_d2_code_str(code));
	if (reply_code(req, code))
		return;
	ddns_http_json(req, 200,
		       json_pack("{s:s+, s:s}", "fqdn", DDNS_CHALLENGE_NAME,
				 host, "value", value));
}

/* ---- the API: /api/v1/hosts/{fqdn}/acme -------------------------------- */

/* The live values of H as JSON (new reference; NULL: out of memory). */
static json_t *values_json(const struct ddns_host *h,
			   const struct ddns_challenges *c)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr && i < c->n; i++)
		json_array_append_new(
		    arr, json_pack("{s:s, s:o}", "value", c->v[i].value,
				   "expires", ddns_json_time(c->v[i].expires)));
	return json_pack("{s:s+, s:o*}", "fqdn", DDNS_CHALLENGE_NAME, h->fqdn,
			 "values", arr);
}

/* Host FQDN if U may use it, with its live challenge values (C may be
 * NULL).  0, or the HTTP error already sent. */
static int api_host(ddns_acme *a, struct evhttp_request *req,
		    const struct ddns_user *u, const char *fqdn,
		    struct ddns_host *h, struct ddns_challenges *c)
{
	ddns_txn *t = NULL;
	int rc = ddns_txn_begin(a->store, false, &t);

	if (rc == 0)
		rc = ddns_host_get(t, fqdn, h);
	if (rc == 0 && !(u->flags & DDNS_USER_ADMIN) &&
	    (h->owner == 0 || h->owner != u->id))
		rc = DDNS_ENOTFOUND;
	if (rc == 0 && c) {
		rc = ddns_challenge_live(t, h, (int64_t)time(NULL), c);
		if (rc == DDNS_ENOTFOUND || rc == DDNS_ECORRUPT) {
			c->n = 0;
			rc = 0;
		}
	}
	ddns_txn_abort(t);
	if (rc == DDNS_ENOTFOUND)
		ddns_http_errorf(req, 404, "no such host: %s", fqdn);
	else if (rc != 0)
		ddns_http_error(req, 500, "internal error");
	return rc;
}

/* The value of a POST body {"value": V} into VALUE; false: error sent. */
static bool api_value(struct evhttp_request *req,
		      char value[DDNS_CHALLENGE_VALUE_MAX + 1])
{
	json_t *b = NULL, *v;
	char why[WHY];
	int st = ddns_http_read_json(req, &b, why, sizeof why);

	if (st != 0) {
		ddns_http_error(req, st, why);
		return false;
	}
	v = json_object_get(b, "value");
	if (json_object_size(b) != 1 || !json_is_string(v) ||
	    !ddns_challenge_value_valid(json_string_value(v),
					json_string_length(v))) {
		ddns_http_error(req, 400,
				"the body must be {\"value\": V}, V 1 to 128 "
				"characters of base64url");
		json_decref(b);
		return false;
	}
	snprintf(value, DDNS_CHALLENGE_VALUE_MAX + 1, "%s",
		 json_string_value(v));
	json_decref(b);
	return true;
}

/* The challenge operation of an API request; VALUE gets its value. */
static int api_op(const struct ddns_http_ctx *ctx, const char *seg, size_t slen,
		  char value[DDNS_CHALLENGE_VALUE_MAX + 1])
{
	value[0] = '\0';
	if (ctx->method == EVHTTP_REQ_POST)
		return api_value(ctx->req, value) ? DDNS_D2_TXT_ADD : -1;
	if (!seg)
		return DDNS_D2_TXT_CLEAR;
	if (!ddns_challenge_value_valid(seg, slen)) {
		ddns_http_error(ctx->req, 404, "no such value");
		return -1;
	}
	memcpy(value, seg, slen);
	value[slen] = '\0';
	return DDNS_D2_TXT_DEL;
}

void ddns_acme_api(ddns_acme *a, const struct ddns_http_ctx *ctx,
		   const struct ddns_user *u, const char *fqdn, const char *seg,
		   size_t slen)
{
	char value[DDNS_CHALLENGE_VALUE_MAX + 1];
	struct ddns_challenges c;
	struct ddns_host h;
	bool get =
	    ctx->method == EVHTTP_REQ_GET || ctx->method == EVHTTP_REQ_HEAD;
	int op, code;

	if (api_host(a, ctx->req, u, fqdn, &h, get ? &c : NULL) != 0)
		return;
	if (get) {
		ddns_http_json(ctx->req, 200, values_json(&h, &c));
		return;
	}
	if ((op = api_op(ctx, seg, slen, value)) < 0)
		return;
	code = acme_commit(a, fqdn, &h.cred, op, value);
	log_info("acme %s by user %s for %s: %s",
		 op == DDNS_D2_TXT_ADD ? "present" : "cleanup", u->name, fqdn,
		 ddns_d2_code_str(code));
	if (code == DDNS_D2_BADAUTH) { /* a new secret or host meanwhile */
		ddns_http_error(ctx->req, 409, "the host changed; try again");
		return;
	}
	if (reply_code(ctx->req, code))
		return;
	if (op != DDNS_D2_TXT_ADD) {
		ddns_http_empty(ctx->req, 204);
		return;
	}
	if (api_host(a, ctx->req, u, fqdn, &h, &c) == 0)
		ddns_http_json(ctx->req, 200, values_json(&h, &c));
}

/* ---- the expiry sweep -------------------------------------------------- */

/* Records to rewrite, found by a read-only scan. */
struct sweep {
	ddns_txn *t;
	int64_t now;
	unsigned n;
	char fqdn[SWEEP_BATCH][DDNS_NAME_BUF];
};

/* Note FQDN when C holds an expired value or is not its host's. */
static int sweep_scan(const char *fqdn, const struct ddns_challenges *c,
		      void *arg)
{
	struct sweep *sw = arg;
	struct ddns_host h;
	bool stale = c->n == 0;
	int rc;

	for (unsigned i = 0; i < c->n; i++)
		stale = stale || c->v[i].expires <= sw->now;
	if (!stale) {
		rc = ddns_host_get(sw->t, fqdn, &h);
		if (rc != 0 && rc != DDNS_ENOTFOUND && rc != DDNS_ECORRUPT)
			return rc;
		stale = rc != 0 || h.created != c->host_created;
	}
	if (stale)
		snprintf(sw->fqdn[sw->n++], DDNS_NAME_BUF, "%s", fqdn);
	return sw->n == SWEEP_BATCH ? 1 : 0;
}

/* Rewrite the record of FQDN in T at NOW; ZONE gets the zone whose serial
 * to bump ("" when the host is gone). */
static int sweep_one(ddns_txn *t, const char *fqdn, int64_t now,
		     char zone[DDNS_NAME_BUF])
{
	struct ddns_challenges c;
	struct ddns_host h;
	struct ddns_zone z;
	int rc;

	zone[0] = '\0';
	if ((rc = ddns_challenge_get(t, fqdn, &c)) != 0)
		return rc == DDNS_ENOTFOUND ? 0 : rc;
	rc = ddns_host_get(t, fqdn, &h);
	/* values of a host gone, made anew or unreadable are never served */
	if (rc == DDNS_ENOTFOUND || rc == DDNS_ECORRUPT ||
	    (rc == 0 && h.created != c.host_created))
		return ddns_challenge_del(t, fqdn);
	if (rc != 0)
		return rc;
	ddns_challenge_expire(&c, now);
	if ((rc = ddns_challenge_put(t, fqdn, &c)) != 0)
		return rc;
	if (ddns_zone_get_by_id(t, h.zone_id, &z) == 0 &&
	    (rc = ddns_zone_bump_serial(t, z.name, NULL)) == 0)
		memcpy(zone, z.name, DDNS_NAME_BUF);
	return rc;
}

/* Scan S at NOW into SW (a read transaction). */
static int sweep_find(ddns_store *s, struct sweep *sw)
{
	int rc = ddns_txn_begin(s, false, &sw->t);

	if (rc != 0)
		return rc;
	rc = ddns_challenge_foreach(sw->t, sweep_scan, sw);
	ddns_txn_abort(sw->t);
	sw->t = NULL;
	return rc == 1 ? 0 : rc;
}

int ddns_acme_sweep(ddns_store *s, ddns_purger *p, int64_t now,
		    unsigned *removed)
{
	struct sweep *sw = calloc(1, sizeof *sw);
	char(*zones)[DDNS_NAME_BUF] = calloc(SWEEP_BATCH, DDNS_NAME_BUF);
	ddns_txn *t = NULL;
	int rc = DDNS_ENOMEM;

	if (removed)
		*removed = 0;
	if (!sw || !zones)
		goto done;
	sw->now = now;
	if ((rc = sweep_find(s, sw)) != 0 || sw->n == 0)
		goto done;
	if ((rc = ddns_txn_begin(s, true, &t)) != 0)
		goto done;
	for (unsigned i = 0; rc == 0 && i < sw->n; i++)
		rc = sweep_one(t, sw->fqdn[i], now, zones[i]);
	if (rc == 0)
		rc = ddns_txn_commit(t);
	else
		ddns_txn_abort(t);
	for (unsigned i = 0; rc == 0 && i < sw->n; i++)
		if (zones[i][0])
			ddns_acme_purge(p, sw->fqdn[i], zones[i]);
	if (rc == 0 && removed)
		*removed = sw->n;
done:
	free(sw);
	free(zones);
	return rc;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	ddns_acme *a = arg;
	unsigned n = 0;
	int rc = ddns_acme_sweep(a->store, a->purger, (int64_t)time(NULL), &n);

	if (rc != 0)
		log_err("acme: the challenge sweep failed: %s",
			ddns_strerror(rc));
	else if (n > 0)
		log_info("acme: %u challenge record(s) expired or orphaned "
			 "swept",
			 n);
}

/* ---- setup ------------------------------------------------------------- */

/* [acme] path P (NULL: the default) into A; false when invalid. */
static bool set_path(ddns_acme *a, const char *p)
{
	size_t n;

	if (!p)
		p = DDNS_ACME_PATH_DEFAULT;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	if (n < 2 || n > DDNS_ACME_PATH_MAX || p[0] != '/' ||
	    strcspn(p, "?#% \t") < n)
		return false;
	memcpy(a->path, p, n);
	a->path[n] = '\0';
	a->plen = n;
	return true;
}

int ddns_acme_new(ddns_acme **out, const struct ddns_acme_conf *c, char *err,
		  size_t errlen)
{
	ddns_acme *a = calloc(1, sizeof *a);
	const struct ddns_conf *conf = c->conf;
	struct timeval every = {0, 0};

	*out = NULL;
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	a->store = c->store;
	a->purger = c->purger;
	a->ttl = conf->acme_challenge_ttl ? conf->acme_challenge_ttl : 3600;
	a->max = conf->acme_max_values ? conf->acme_max_values : 4;
	if (!set_path(a, conf->acme_path)) {
		snprintf(err, errlen,
			 "[acme] path must start with '/' and be a plain path "
			 "of at most %d characters",
			 DDNS_ACME_PATH_MAX);
		free(a);
		return DDNS_EINVAL;
	}
	/* often enough that the store holds few expired values */
	every.tv_sec = a->ttl / 4 > SWEEP_MAX_GAP ? SWEEP_MAX_GAP
		       : a->ttl / 4 > 0		  ? a->ttl / 4
						  : 1;
	a->sweep_ev = event_new(c->base, -1, EV_PERSIST, on_sweep, a);
	if (!a->sweep_ev || event_add(a->sweep_ev, &every) != 0) {
		ddns_acme_free(a);
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	*out = a;
	return 0;
}

void ddns_acme_free(ddns_acme *a)
{
	if (!a)
		return;
	if (a->sweep_ev)
		event_free(a->sweep_ev);
	free(a);
}

unsigned ddns_acme_ttl(const ddns_acme *a)
{
	return a->ttl;
}

unsigned ddns_acme_max(const ddns_acme *a)
{
	return a->max;
}
