/*
 * auth.c -- identification, CSRF, local and OpenID Connect login (auth.h).
 *
 * Asynchronous work (an access token checked at a provider, scrypt on a
 * worker thread, an OpenID login) is a job on the authenticator's list,
 * holding its request with a ddns_http_hold: a client that goes away
 * cancels the job, and ddns_auth_free cancels what is left.  No store
 * transaction is ever held across that work: each step opens its own.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "err.h"
#include "log.h"
#include "password.h"
#include "ratelimit.h"

#define SESSION_COOKIE	 "ddns_session"
#define OIDC_COOKIE	 "ddns_oidc"
#define TOKEN_PREFIX	 "ddns_"
#define TOKEN_PREFIX_LEN 5
#define LOGIN_USER_MAX	 128 /* login-request.json username */
#define EXPIRE_BATCH	 64  /* expired sessions purged per login */
#define NAME_TRIES	 50  /* base, base-2 ... for a new OIDC user */
#define ERRBUF		 256

enum job_kind { JOB_IDENTIFY, JOB_LOGIN, JOB_OIDC_BEGIN, JOB_OIDC_FINISH };

/* What an [oidc ID] section says about the users it makes. */
struct prov_info {
	char id[DDNS_OIDC_ID_LEN + 1];
	bool groups; /* groups_claim set: groups come from the provider */
	bool admin;  /* admin_group set: so does the admin flag */
};

struct ddns_auth {
	struct event_base *base;
	ddns_store *store;
	ddns_worker *worker;
	ddns_oidc *oidc;
	char public_origin[256];
	int64_t lifetime;
	bool local_login;
	char dummy_hash[DDNS_PWHASH_MAX + 1];
	ddns_ratelimit *rl; /* failed logins per source and user name */
	struct ddns_rl_conf rlconf;
	unsigned nprov;
	struct prov_info prov[DDNS_CONF_OIDC_MAX];
	struct ddns_auth_job *jobs; /* pending, doubly linked */
};

struct ddns_auth_job {
	ddns_auth *a;
	int kind;
	struct ddns_auth_job *prev, *next;
	struct ddns_http_ctx ctx; /* ctx.req NULL once the client is gone */
	ddns_http_hold *hold;
	ddns_oidc_job *oj;
	ddns_worker_job *wj;
	ddns_auth_cb cb; /* JOB_IDENTIFY */
	void *arg;
	/* JOB_LOGIN: in for the worker, then its verdict */
	char *pw;
	size_t pwlen;
	char hash[DDNS_PWHASH_MAX + 1];
	char name[DDNS_USER_NAME_MAX + 1]; /* "" when unknown */
	bool ok;
};

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* ---- jobs -----------------------------------------------------------------
 */

static void on_gone(void *arg);

static struct ddns_auth_job *job_new(ddns_auth *a, int kind,
				     const struct ddns_http_ctx *ctx)
{
	struct ddns_auth_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->a = a;
	j->kind = kind;
	j->ctx = *ctx;
	j->next = a->jobs;
	if (a->jobs)
		a->jobs->prev = j;
	a->jobs = j;
	j->hold = ddns_http_hold_new(ctx->req, on_gone, j);
	return j;
}

static void job_free(struct ddns_auth_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		j->a->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	ddns_http_hold_end(j->hold);
	if (j->pw) {
		OPENSSL_cleanse(j->pw, j->pwlen);
		free(j->pw);
	}
	free(j);
}

/* The client closed its connection: drop the work; REQ is gone. */
static void on_gone(void *arg)
{
	struct ddns_auth_job *j = arg;

	j->hold = NULL; /* freed by http_util after this */
	j->ctx.req = NULL;
	log_debug("%s closed its connection before its reply; work dropped",
		  j->ctx.client_text);
	if (j->kind == JOB_LOGIN) {
		ddns_worker_cancel(j->wj); /* its done frees J */
		return;
	}
	ddns_oidc_cancel(j->oj);
	if (j->kind == JOB_IDENTIFY)
		j->cb(NULL, DDNS_AUTH_CANCELLED, j->arg);
	job_free(j);
}

/* Reply helpers that forget the hold first (a reply ends the wait). */
static struct evhttp_request *job_req(struct ddns_auth_job *j)
{
	ddns_http_hold_end(j->hold);
	j->hold = NULL;
	return j->ctx.req;
}

/* ---- users ------------------------------------------------------------------
 */

json_t *ddns_auth_user_json(const struct ddns_user *u)
{
	json_t *groups = json_array(), *o;

	for (unsigned i = 0; groups && i < u->n_groups; i++)
		if (json_array_append_new(groups, json_string(u->groups[i])))
			break;
	o = json_pack(
	    "{s:I, s:s, s:s, s:o, s:b, s:o*}", "id", (json_int_t)u->id, "name",
	    u->name, "display_name", u->display_name, "email",
	    u->email[0] ? json_string(u->email) : json_null(), "admin",
	    (u->flags & DDNS_USER_ADMIN) != 0, "groups", groups);
	return o;
}

/* session.json of C (NULL: nobody). */
static json_t *session_json(const struct ddns_caller *c)
{
	char csrf[DDNS_CSRF_BUF], t[DDNS_HTTP_TIME_BUF];

	if (!c || c->kind == DDNS_CALLER_NONE)
		return json_pack("{s:n, s:n, s:n}", "user", "csrf", "expires");
	if (c->kind != DDNS_CALLER_SESSION)
		return json_pack("{s:o, s:n, s:n}", "user",
				 ddns_auth_user_json(&c->user), "csrf",
				 "expires");
	ddns_session_csrf(&c->session, csrf);
	ddns_http_time(c->session.expires, t);
	return json_pack("{s:o, s:s, s:s}", "user",
			 ddns_auth_user_json(&c->user), "csrf", csrf, "expires",
			 t);
}

/* ---- identification: cookies and personal tokens ------------------------- */

static const char *header(const struct ddns_http_ctx *ctx, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
				  name);
}

/* The session of CTX's cookie into C: 0 (C->kind NONE when there is no
 * valid one) or a store error. */
static int from_cookie(ddns_auth *a, const struct ddns_http_ctx *ctx,
		       struct ddns_caller *c)
{
	const char *v;
	size_t len;
	ddns_txn *t = NULL;
	int rc;

	c->kind = DDNS_CALLER_NONE;
	if (ddns_http_cookie_get(header(ctx, "Cookie"), SESSION_COOKIE, &v,
				 &len) != 0)
		return 0;
	if ((rc = ddns_txn_begin(a->store, false, &t)) != 0)
		return rc;
	rc = ddns_session_get(t, v, len, (int64_t)time(NULL), &c->session);
	if (rc == 0)
		rc = ddns_user_get(t, c->session.user_id, &c->user);
	ddns_txn_abort(t);
	if (rc == 0)
		c->kind = DDNS_CALLER_SESSION;
	return rc == DDNS_ENOTFOUND ? 0 : rc;
}

/* A personal token (without its prefix) into C: 0, 401 or 500. */
static int from_token(ddns_auth *a, const char *tok, size_t len,
		      struct ddns_caller *c)
{
	struct ddns_token tk;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(a->store, false, &t)) != 0)
		return 500;
	rc = ddns_token_get(t, tok, len, &tk);
	if (rc == 0)
		rc = ddns_user_get(t, tk.user_id, &c->user);
	ddns_txn_abort(t);
	if (rc == DDNS_ENOTFOUND)
		return 401;
	if (rc != 0) {
		log_err("token lookup failed: %s", ddns_strerror(rc));
		return 500;
	}
	c->kind = DDNS_CALLER_TOKEN;
	return 0;
}

/* The token of a "Bearer" header value V into *TOK / *LEN; false for
 * another scheme or an empty token. */
static bool bearer_token(const char *v, const char **tok, size_t *len)
{
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
		return false;
	v += 6;
	while (*v == ' ' || *v == '\t')
		v++;
	*len = strlen(v);
	while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
		(*len)--;
	*tok = v;
	return *len > 0;
}

/* ---- identification: provider access tokens ------------------------------ */

static const struct prov_info *prov_of(const ddns_auth *a, const char *id)
{
	for (unsigned i = 0; i < a->nprov; i++)
		if (strcmp(a->prov[i].id, id) == 0)
			return &a->prov[i];
	return NULL;
}

static bool email_ok(const char *e)
{
	size_t n = strlen(e);
	const char *at = strchr(e, '@');

	if (n == 0 || n > DDNS_USER_EMAIL_MAX || !at || at == e ||
	    at == e + n - 1 || !ddns_text_valid(e, n))
		return false;
	for (; *e; e++)
		if (*e == ' ')
			return false;
	return true;
}

/* A group as user.json shows them: printable ASCII without blanks (the
 * store would take more: such groups could not name a zone anyway). */
static bool group_ok(const char *g)
{
	size_t n = strlen(g);

	for (size_t i = 0; i < n; i++)
		if (g[i] < '!' || g[i] > '~')
			return false;
	return ddns_group_valid(g, n);
}

/* The groups of ID that the store takes, into U. */
static void identity_groups(const struct ddns_oidc_identity *id,
			    struct ddns_user *u)
{
	u->n_groups = 0;
	for (unsigned i = 0; i < id->n_groups && u->n_groups < DDNS_GROUPS_MAX;
	     i++) {
		const char *g = id->groups[i];
		bool dup = false;

		if (!group_ok(g))
			continue;
		for (unsigned k = 0; k < u->n_groups && !dup; k++)
			dup = strcmp(u->groups[k], g) == 0;
		if (!dup)
			snprintf(u->groups[u->n_groups++], DDNS_GROUP_MAX + 1,
				 "%s", g);
	}
}

/* Bring U up to date with ID (groups, admin flag, e-mail); true if
 * something changed. */
static bool identity_apply(const ddns_auth *a,
			   const struct ddns_oidc_identity *id,
			   struct ddns_user *u)
{
	const struct prov_info *p = prov_of(a, id->provider);
	struct ddns_user old = *u;
	uint32_t flags = u->flags;

	if (p && p->groups)
		identity_groups(id, u);
	if (p && p->admin)
		flags = id->admin ? flags | DDNS_USER_ADMIN
				  : flags & ~(uint32_t)DDNS_USER_ADMIN;
	u->flags = flags;
	if (email_ok(id->email))
		snprintf(u->email, sizeof u->email, "%s", id->email);
	return memcmp(&old, u, sizeof old) != 0;
}

void ddns_auth_name_base(const char *preferred, const char *email,
			 char out[DDNS_USER_NAME_MAX + 1])
{
	const char *s = preferred && *preferred ? preferred : email;
	const char *end = s ? s + strlen(s) : NULL;
	size_t n = 0;

	out[0] = '\0';
	if (!s)
		return;
	if (s == email && (end = strchr(s, '@')) == NULL)
		end = s + strlen(s);
	for (; s < end && n < DDNS_USER_NAME_MAX - 4; s++) {
		char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (alnum || (n > 0 && strchr("._@+-", c) && c != '\0'))
			out[n++] = c;
	}
	out[n] = '\0';
}

/* Add U under a random name, then rename it "u<id>" (or "u<id>-N") once
 * the store has given it an id; it keeps the random name if all are
 * taken. */
static int user_add_uid(ddns_txn *t, struct ddns_user *u)
{
	uint8_t rnd[8];
	int rc;

	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return DDNS_EIO;
	snprintf(u->name, sizeof u->name,
		 "new-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		 rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if ((rc = ddns_user_add(t, u)) != 0)
		return rc;
	for (unsigned i = 1; i <= NAME_TRIES; i++) {
		struct ddns_user *v = malloc(sizeof *v);

		if (!v)
			return DDNS_ENOMEM;
		*v = *u;
		snprintf(v->name, sizeof v->name, i == 1 ? "u%u" : "u%u-%u",
			 u->id, i);
		rc = ddns_user_put(t, v);
		if (rc == 0)
			*u = *v;
		free(v);
		if (rc != DDNS_EEXIST)
			return rc;
	}
	return 0;
}

/* Give the new user U (not stored yet) a free name made from the
 * identity's (base, base-2, ...), else "u<id>"; add it. */
static int user_add_named(ddns_txn *t, const struct ddns_oidc_identity *id,
			  struct ddns_user *u)
{
	char base[DDNS_USER_NAME_MAX + 1];
	struct ddns_user *other = malloc(sizeof *other);
	int rc = DDNS_ENOMEM;

	if (!other)
		return rc;
	ddns_auth_name_base(id->username, id->email, base);
	for (unsigned i = 1; base[0] && i <= NAME_TRIES; i++) {
		snprintf(u->name, sizeof u->name, i == 1 ? "%s" : "%s-%u", base,
			 i);
		rc = ddns_user_get_by_name(t, u->name, other);
		if (rc == DDNS_ENOTFOUND) {
			rc = ddns_user_add(t, u);
			goto out;
		}
		if (rc != 0)
			goto out;
	}
	rc = user_add_uid(t, u);
out:
	free(other);
	return rc;
}

/* Make the user of identity ID in write transaction T. */
static int user_create(const ddns_auth *a, ddns_txn *t,
		       const struct ddns_oidc_identity *id, struct ddns_user *u)
{
	const char *dn = id->name[0] ? id->name : id->username;

	memset(u, 0, sizeof *u);
	if (strlen(dn) <= DDNS_USER_DISPLAY_MAX &&
	    ddns_text_valid(dn, strlen(dn)))
		snprintf(u->display_name, sizeof u->display_name, "%s", dn);
	snprintf(u->oidc_issuer, sizeof u->oidc_issuer, "%s", id->issuer);
	snprintf(u->oidc_subject, sizeof u->oidc_subject, "%s", id->subject);
	identity_groups(id, u);
	if (id->admin)
		u->flags |= DDNS_USER_ADMIN;
	identity_apply(a, id, u);
	return user_add_named(t, id, u);
}

/* The user of ID, found (and updated) or made, in write transaction T. */
static int user_sync(const ddns_auth *a, ddns_txn *t,
		     const struct ddns_oidc_identity *id, struct ddns_user *u)
{
	int rc = ddns_user_get_by_oidc(t, id->issuer, id->subject, u);

	if (rc == DDNS_ENOTFOUND) {
		if ((rc = user_create(a, t, id, u)) == 0)
			log_info("new user %s (id %u) from OpenID provider %s",
				 u->name, u->id, id->provider);
		return rc;
	}
	if (rc == 0 && identity_apply(a, id, u))
		rc = ddns_user_put(t, u);
	return rc;
}

/* The user of a bearer identity: a read first, a write only when the
 * user is new or changed. */
static int bearer_user(ddns_auth *a, const struct ddns_oidc_identity *id,
		       struct ddns_user *u)
{
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(a->store, false, &t)) != 0)
		return rc;
	rc = ddns_user_get_by_oidc(t, id->issuer, id->subject, u);
	ddns_txn_abort(t);
	if (rc == 0 && !identity_apply(a, id, u))
		return 0;
	if (rc != 0 && rc != DDNS_ENOTFOUND)
		return rc;
	if ((rc = ddns_txn_begin(a->store, true, &t)) != 0)
		return rc;
	if ((rc = user_sync(a, t, id, u)) != 0) {
		ddns_txn_abort(t);
		return rc;
	}
	return ddns_txn_commit(t);
}

static void on_bearer(const struct ddns_oidc_result *r, void *arg)
{
	struct ddns_auth_job *j = arg;
	struct ddns_caller *c = calloc(1, sizeof *c);
	int status = 0, rc;

	j->oj = NULL;
	job_req(j);
	if (!c) {
		status = 500;
	} else if (r->err != 0) {
		log_info("access token from %s refused: %s%s%s",
			 j->ctx.client_text, ddns_oidc_strerror(r->err),
			 r->detail[0] ? ": " : "", r->detail);
		status = 401;
	} else if ((rc = bearer_user(j->a, r->id, &c->user)) != 0) {
		log_err("user of access token from %s: %s", j->ctx.client_text,
			ddns_strerror(rc));
		status = 500;
	} else {
		c->kind = DDNS_CALLER_BEARER;
	}
	j->cb(c, status, j->arg);
	free(c);
	job_free(j);
}

static void identify_bearer(ddns_auth *a, const struct ddns_http_ctx *ctx,
			    const char *tok, size_t len, ddns_auth_cb cb,
			    void *arg, ddns_auth_job **job)
{
	struct ddns_auth_job *j;
	int rc;

	if (!a->oidc) {
		cb(NULL, 401, arg);
		return;
	}
	if (!(j = job_new(a, JOB_IDENTIFY, ctx))) {
		cb(NULL, 500, arg);
		return;
	}
	j->cb = cb;
	j->arg = arg;
	rc = ddns_oidc_bearer(a->oidc, NULL, tok, len, on_bearer, j, &j->oj);
	if (rc != 0) {
		job_free(j);
		cb(NULL, rc == DDNS_ENOMEM ? 500 : 401, arg);
		return;
	}
	if (job)
		*job = j;
}

void ddns_auth_identify(ddns_auth *a, const struct ddns_http_ctx *ctx, int mode,
			ddns_auth_cb cb, void *arg, ddns_auth_job **job)
{
	const char *authz = header(ctx, "Authorization"), *tok;
	struct ddns_caller *c = calloc(1, sizeof *c);
	size_t len;
	int status = 0;

	if (job)
		*job = NULL;
	if (!c) {
		status = 500;
	} else if (authz && !bearer_token(authz, &tok, &len)) {
		status = 401; /* Basic is for /nic/update only */
	} else if (authz && len > TOKEN_PREFIX_LEN &&
		   strncmp(tok, TOKEN_PREFIX, TOKEN_PREFIX_LEN) == 0) {
		status = from_token(a, tok + TOKEN_PREFIX_LEN,
				    len - TOKEN_PREFIX_LEN, c);
	} else if (authz) {
		free(c);
		identify_bearer(a, ctx, tok, len, cb, arg, job);
		return;
	} else if (mode == DDNS_AUTH_ANY && from_cookie(a, ctx, c) != 0) {
		status = 500;
	}
	cb(c, status, arg);
	free(c);
}

void ddns_auth_cancel(ddns_auth_job *job)
{
	if (!job)
		return;
	ddns_oidc_cancel(job->oj);
	job_free(job);
}

/* ---- CSRF and Origin
 * --------------------------------------------------------- */

static bool is_safe_method(int m)
{
	return m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
}

bool ddns_auth_origin_ok(const ddns_auth *a, const struct ddns_http_ctx *ctx)
{
	if (is_safe_method(ctx->method))
		return true;
	return ddns_http_origin_ok(header(ctx, "Origin"), a->public_origin,
				   ctx->tls, header(ctx, "Host"));
}

bool ddns_auth_csrf_ok(const struct ddns_caller *c,
		       const struct ddns_http_ctx *ctx)
{
	const char *tok;

	if (c->kind != DDNS_CALLER_SESSION || is_safe_method(ctx->method))
		return true;
	tok = header(ctx, "X-CSRF-Token");
	return tok && ddns_session_csrf_ok(&c->session, tok, strlen(tok));
}

const char *ddns_auth_public_origin(const ddns_auth *a)
{
	return a->public_origin;
}

/* ---- sessions
 * ---------------------------------------------------------------- */

static void set_cookie(struct evhttp_request *req, const char *name,
		       const char *value, const char *path, long long max_age,
		       bool secure)
{
	char c[DDNS_HTTP_COOKIE_MAX];

	if (ddns_http_cookie_format(c, sizeof c, name, value, path, max_age,
				    secure) == 0)
		ddns_http_header(req, "Set-Cookie", c);
}

/* Open a session for user U in write transaction T (purging a few
 * expired ones), commit, and put its cookie on REQ.  C gets the caller. */
static int session_open(ddns_auth *a, ddns_txn *t, struct evhttp_request *req,
			bool tls, struct ddns_caller *c)
{
	char sid[DDNS_TOKEN_BUF];
	unsigned n = 0;
	int rc;

	if ((rc = ddns_session_expire(t, (int64_t)time(NULL), EXPIRE_BATCH,
				      &n)) != 0 ||
	    (rc = ddns_session_new(t, c->user.id, a->lifetime, sid,
				   &c->session)) != 0) {
		ddns_txn_abort(t);
		return rc;
	}
	if ((rc = ddns_txn_commit(t)) == 0) {
		c->kind = DDNS_CALLER_SESSION;
		set_cookie(req, SESSION_COOKIE, sid, "/", a->lifetime, tls);
	}
	OPENSSL_cleanse(sid, sizeof sid);
	return rc;
}

static void on_session_caller(const struct ddns_caller *c, int status,
			      void *arg)
{
	struct evhttp_request *req = arg;

	if (status == DDNS_AUTH_CANCELLED)
		return;
	if (status == 500)
		ddns_http_error(req, 500, "internal error");
	else /* always 200: a refused token is nobody here */
		ddns_http_json(req, 200, session_json(status ? NULL : c));
}

void ddns_auth_session(ddns_auth *a, const struct ddns_http_ctx *ctx)
{
	ddns_auth_identify(a, ctx, DDNS_AUTH_ANY, on_session_caller, ctx->req,
			   NULL);
}

void ddns_auth_logout(ddns_auth *a, const struct ddns_http_ctx *ctx)
{
	struct ddns_caller *c = calloc(1, sizeof *c);
	char why[ERRBUF];
	const char *v;
	size_t len;
	ddns_txn *t = NULL;
	int rc;

	if (!c || from_cookie(a, ctx, c) != 0) {
		ddns_http_error(ctx->req, 500, "internal error");
		goto out;
	}
	if (!ddns_auth_csrf_ok(c, ctx)) {
		ddns_http_error(ctx->req, 403, "missing or wrong CSRF token");
		goto out;
	}
	if ((rc = ddns_http_no_body(ctx->req, why, sizeof why)) != 0) {
		ddns_http_error(ctx->req, rc, why);
		goto out;
	}
	if (c->kind == DDNS_CALLER_SESSION &&
	    ddns_http_cookie_get(header(ctx, "Cookie"), SESSION_COOKIE, &v,
				 &len) == 0 &&
	    ddns_txn_begin(a->store, true, &t) == 0) {
		if (ddns_session_del(t, v, len) == 0)
			ddns_txn_commit(t);
		else
			ddns_txn_abort(t);
		log_info("logout of %s from %s", c->user.name,
			 ctx->client_text);
	}
	set_cookie(ctx->req, SESSION_COOKIE, "", "/", 0, ctx->tls);
	ddns_http_empty(ctx->req, 204);
out:
	free(c);
}

/* ---- local login ------------------------------------------------------------
 */

/* The members of login-request.json into *NAME / *PW; false with WHY. */
static bool login_body(const json_t *b, const char **name, const char **pw,
		       size_t *pwlen, char *why, size_t cap)
{
	const char *k;
	json_t *v;
	json_t *jn = json_object_get(b, "username");
	json_t *jp = json_object_get(b, "password");

	json_object_foreach((json_t *)b, k, v) if (strcmp(k, "username") != 0 &&
						   strcmp(k, "password") != 0)
	{
		snprintf(why, cap, "%.64s: unknown member", k);
		return false;
	}
	if (!json_is_string(jn) || json_string_length(jn) == 0) {
		snprintf(why, cap, "username: %s",
			 jn ? "must be a non-empty string" : "required");
		return false;
	}
	*name = json_string_value(jn);
	if (!ddns_text_valid(*name, json_string_length(jn)) ||
	    ddns_http_utf8_len(*name, json_string_length(jn)) >
		LOGIN_USER_MAX) {
		snprintf(why, cap, "username: not a valid user name");
		return false;
	}
	if (!json_is_string(jp) || json_string_length(jp) == 0 ||
	    ddns_http_utf8_len(json_string_value(jp), json_string_length(jp)) >
		DDNS_PASSWORD_MAX) {
		snprintf(why, cap, "password: %s",
			 jp ? "must be a string of 1 to 1024 characters"
			    : "required");
		return false;
	}
	*pw = json_string_value(jp);
	*pwlen = json_string_length(jp);
	return true;
}

/* NAME lower-cased into OUT when it may be a login name; else "". */
static void login_name(const char *name, char out[DDNS_USER_NAME_MAX + 1])
{
	size_t n = strlen(name);

	out[0] = '\0';
	if (n == 0 || n > DDNS_USER_NAME_MAX)
		return;
	for (size_t i = 0; i <= n; i++)
		out[i] = name[i] >= 'A' && name[i] <= 'Z'
			     ? (char)(name[i] - 'A' + 'a')
			     : name[i];
	if (!ddns_user_name_valid(out))
		out[0] = '\0';
}

static void verify_run(void *arg)
{
	struct ddns_auth_job *j = arg;

	j->ok = ddns_password_verify(j->hash, j->pw, j->pwlen);
	OPENSSL_cleanse(j->pw, j->pwlen);
}

/* The verdict of a login: a session, or 401. */
static void login_finish(struct ddns_auth_job *j)
{
	ddns_auth *a = j->a;
	struct evhttp_request *req = job_req(j);
	struct ddns_caller *c = calloc(1, sizeof *c);
	ddns_txn *t = NULL;
	int rc = DDNS_ENOMEM;

	if (!j->ok || !j->name[0]) {
		if (ddns_rl_failure(a->rl, &j->ctx.client,
				    j->name[0] ? j->name : NULL, mono_now()))
			log_warn("%s: too many failed logins; 429 until the "
				 "window ends",
				 j->ctx.client_text);
		log_info("failed login from %s%s%s", j->ctx.client_text,
			 j->name[0] ? " as " : "", j->name);
		ddns_http_error(req, 401, "wrong user name or password");
		free(c);
		return;
	}
	if (c && (rc = ddns_txn_begin(a->store, true, &t)) == 0 &&
	    (rc = ddns_user_get_by_name(t, j->name, &c->user)) != 0)
		ddns_txn_abort(t);
	else if (c)
		rc = session_open(a, t, req, j->ctx.tls, c);
	if (rc != 0) {
		log_err("login of %s: %s", j->name, ddns_strerror(rc));
		ddns_http_error(req, rc == DDNS_ENOTFOUND ? 401 : 500,
				rc == DDNS_ENOTFOUND
				    ? "wrong user name or password"
				    : "internal error");
	} else {
		ddns_rl_success(a->rl, &j->ctx.client, j->name, mono_now());
		log_info("login of %s from %s", j->name, j->ctx.client_text);
		ddns_http_json(req, 200, session_json(c));
	}
	free(c);
}

static void verify_done(void *arg, bool cancelled)
{
	struct ddns_auth_job *j = arg;

	j->wj = NULL;
	if (!cancelled && j->ctx.req)
		login_finish(j);
	job_free(j);
}

/* The stored hash of login NAME (or the dummy) into J; J->name is
 * cleared unless the user exists with a password.  0 or a store error. */
static int login_lookup(ddns_auth *a, struct ddns_auth_job *j)
{
	struct ddns_user *u = malloc(sizeof *u);
	ddns_txn *t = NULL;
	int rc = DDNS_ENOMEM;

	snprintf(j->hash, sizeof j->hash, "%s", a->dummy_hash);
	if (!u)
		return rc;
	if (j->name[0] && (rc = ddns_txn_begin(a->store, false, &t)) == 0) {
		rc = ddns_user_get_by_name(t, j->name, u);
		ddns_txn_abort(t);
	} else if (!j->name[0]) {
		rc = DDNS_ENOTFOUND;
	}
	if (rc == 0 && u->password[0])
		snprintf(j->hash, sizeof j->hash, "%s", u->password);
	else if (rc == 0 || rc == DDNS_ENOTFOUND)
		j->name[0] = '\0', rc = 0;
	free(u);
	return rc;
}

/* Refused before any hashing: 429 with Retry-After. */
static bool login_limited(ddns_auth *a, const struct ddns_http_ctx *ctx,
			  const char *name)
{
	unsigned wait = ddns_rl_check(a->rl, &ctx->client, name, mono_now());
	char secs[16];

	if (wait == 0)
		return false;
	snprintf(secs, sizeof secs, "%u", wait);
	ddns_http_header(ctx->req, "Retry-After", secs);
	ddns_http_error(ctx->req, 429,
			"too many failed logins; try again later");
	return true;
}

/* Start checking PW of NAME (from the body) on a worker thread. */
static void login_start(ddns_auth *a, const struct ddns_http_ctx *ctx,
			const char *name, const char *pw, size_t pwlen)
{
	struct ddns_auth_job *j = job_new(a, JOB_LOGIN, ctx);
	int rc = DDNS_ENOMEM;

	if (!j || !(j->pw = malloc(pwlen + 1)))
		goto fail;
	memcpy(j->pw, pw, pwlen);
	j->pwlen = pwlen;
	login_name(name, j->name);
	if ((rc = login_lookup(a, j)) != 0 ||
	    (rc = ddns_worker_submit(a->worker, verify_run, verify_done, j,
				     &j->wj)) != 0)
		goto fail;
	return;
fail:
	if (j)
		job_free(j);
	if (rc == DDNS_EBUSY) {
		ddns_http_header(ctx->req, "Retry-After", "1");
		ddns_http_error(ctx->req, 429,
				"too many logins at once; try again");
		return;
	}
	log_err("login from %s: %s", ctx->client_text, ddns_strerror(rc));
	ddns_http_error(ctx->req, 500, "internal error");
}

void ddns_auth_login(ddns_auth *a, const struct ddns_http_ctx *ctx)
{
	char why[ERRBUF], name[DDNS_USER_NAME_MAX + 1];
	const char *user = NULL, *pw = NULL;
	json_t *b = NULL;
	size_t pwlen = 0;
	int status;

	if (!a->local_login) {
		ddns_http_error(ctx->req, 403, "local login is disabled");
		return;
	}
	if ((status = ddns_http_read_json(ctx->req, &b, why, sizeof why))) {
		ddns_http_error(ctx->req, status, why);
		return;
	}
	if (!login_body(b, &user, &pw, &pwlen, why, sizeof why)) {
		ddns_http_error(ctx->req, 400, why);
	} else {
		login_name(user, name);
		if (!login_limited(a, ctx, name))
			login_start(a, ctx, user, pw, pwlen);
	}
	json_decref(b); /* jansson's copy of the password is not wiped */
}

/* ---- OpenID Connect login ----------------------------------------------- */

static void redirect(struct evhttp_request *req, const char *location)
{
	ddns_http_header(req, "Location", location);
	ddns_http_empty(req, 302);
}

static void oidc_fail(struct ddns_auth_job *j, const char *code)
{
	struct evhttp_request *req = job_req(j);
	char loc[64];

	snprintf(loc, sizeof loc, "/login.html?error=%s", code);
	set_cookie(req, OIDC_COOKIE, "", "/oidc/", 0, j->ctx.tls);
	redirect(req, loc);
}

static void on_begin(const struct ddns_oidc_result *r, void *arg)
{
	struct ddns_auth_job *j = arg;
	struct evhttp_request *req;

	j->oj = NULL;
	if (r->err != 0) {
		log_warn("OpenID login from %s: %s%s%s", j->ctx.client_text,
			 ddns_oidc_strerror(r->err), r->detail[0] ? ": " : "",
			 r->detail);
		oidc_fail(j, "oidc_provider");
	} else {
		req = job_req(j);
		set_cookie(req, OIDC_COOKIE, r->binding, "/oidc/",
			   DDNS_OIDC_LOGIN_TTL, j->ctx.tls);
		redirect(req, r->url);
	}
	job_free(j);
}

void ddns_auth_oidc_login(ddns_auth *a, const struct ddns_http_ctx *ctx,
			  const char *id, size_t idlen)
{
	char prov[DDNS_OIDC_ID_LEN + 1], next[DDNS_OIDC_RETURN_MAX + 1];
	struct ddns_auth_job *j;
	int rc;

	if (!a->oidc || idlen == 0 || idlen > DDNS_OIDC_ID_LEN) {
		ddns_http_error(ctx->req, 404, "no such identity provider");
		return;
	}
	memcpy(prov, id, idlen);
	prov[idlen] = '\0';
	if (ddns_http_query_get(ctx->query, ctx->qlen, "next", next,
				sizeof next) != 0)
		snprintf(next, sizeof next, "/");
	if (!(j = job_new(a, JOB_OIDC_BEGIN, ctx))) {
		ddns_http_error(ctx->req, 500, "internal error");
		return;
	}
	rc = ddns_oidc_login_begin(a->oidc, prov, ddns_oidc_safe_return(next),
				   on_begin, j, &j->oj);
	if (rc != 0) {
		job_free(j);
		if (rc == DDNS_OIDC_ENOPROVIDER)
			ddns_http_error(ctx->req, 404,
					"no such identity provider");
		else
			ddns_http_error(ctx->req, 500, "internal error");
	}
}

/* The login page's code for a failed callback. */
static const char *finish_code(int err)
{
	switch (err) {
	case DDNS_OIDC_ESTATE:
		return "oidc_state";
	case DDNS_OIDC_EDENIED:
		return "oidc_denied";
	case DDNS_OIDC_EUNREACHABLE:
	case DDNS_OIDC_EDISCOVERY:
		return "oidc_provider";
	default:
		return "oidc_token";
	}
}

/* The user of identity ID with a new session, cookie on REQ. */
static int oidc_session(ddns_auth *a, const struct ddns_oidc_identity *id,
			struct evhttp_request *req, bool tls,
			struct ddns_caller *c)
{
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(a->store, true, &t)) != 0)
		return rc;
	if ((rc = user_sync(a, t, id, &c->user)) != 0) {
		ddns_txn_abort(t);
		return rc;
	}
	return session_open(a, t, req, tls, c);
}

static void on_finish(const struct ddns_oidc_result *r, void *arg)
{
	struct ddns_auth_job *j = arg;
	struct ddns_caller *c = NULL;
	struct evhttp_request *req;
	int rc;

	j->oj = NULL;
	if (r->err != 0) {
		log_warn("OpenID login from %s refused: %s%s%s",
			 j->ctx.client_text, ddns_oidc_strerror(r->err),
			 r->detail[0] ? ": " : "", r->detail);
		oidc_fail(j, finish_code(r->err));
	} else if (!(c = calloc(1, sizeof *c)) ||
		   (rc = oidc_session(j->a, r->id, j->ctx.req, j->ctx.tls,
				      c)) != 0) {
		log_err("OpenID login of %s at %s: %s", r->id->subject,
			r->id->provider, ddns_strerror(c ? rc : DDNS_ENOMEM));
		oidc_fail(j, "oidc_account");
	} else {
		log_info("login of %s from %s through %s", c->user.name,
			 j->ctx.client_text, r->id->provider);
		req = job_req(j);
		set_cookie(req, OIDC_COOKIE, "", "/oidc/", 0, j->ctx.tls);
		redirect(req, r->return_to);
	}
	free(c);
	job_free(j);
}

void ddns_auth_oidc_callback(ddns_auth *a, const struct ddns_http_ctx *ctx)
{
	const char *b = NULL;
	size_t blen = 0;
	struct ddns_auth_job *j;
	int rc;

	if (!a->oidc) {
		ddns_http_error(ctx->req, 404, "no identity provider");
		return;
	}
	if (ddns_http_cookie_get(header(ctx, "Cookie"), OIDC_COOKIE, &b,
				 &blen) != 0)
		b = NULL, blen = 0;
	if (!(j = job_new(a, JOB_OIDC_FINISH, ctx))) {
		ddns_http_error(ctx->req, 500, "internal error");
		return;
	}
	rc = ddns_oidc_login_finish(a->oidc, ctx->query ? ctx->query : "",
				    ctx->qlen, b, blen, on_finish, j, &j->oj);
	if (rc != 0) {
		job_free(j);
		ddns_http_error(ctx->req, 500, "internal error");
	}
}

/* ---- setup ------------------------------------------------------------------
 */

static void prov_init(ddns_auth *a, const struct ddns_conf *conf)
{
	for (unsigned i = 0; i < conf->n_oidc && i < DDNS_CONF_OIDC_MAX; i++) {
		const struct ddns_conf_oidc *o = &conf->oidc[i];

		snprintf(a->prov[i].id, sizeof a->prov[i].id, "%s", o->id);
		a->prov[i].groups = o->groups_claim && o->groups_claim[0];
		a->prov[i].admin = o->admin_group && o->admin_group[0];
		a->nprov++;
	}
}

int ddns_auth_new(ddns_auth **out, const struct ddns_auth_conf *c, char *err,
		  size_t errlen)
{
	static const char dummy[] = "not a password of anyone here";
	const struct ddns_conf *conf = c->conf;
	ddns_auth *a = calloc(1, sizeof *a);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!a)
		return rc;
	a->base = c->base;
	a->store = c->store;
	a->worker = c->worker;
	a->oidc = c->oidc;
	a->lifetime = conf->portal_session_lifetime
			  ? conf->portal_session_lifetime
			  : 43200;
	a->local_login = conf->portal_local_login;
	ddns_http_origin_of(conf->portal_public_url, a->public_origin,
			    sizeof a->public_origin);
	a->rlconf.per_source = conf->abuse_auth_per_source;
	a->rlconf.per_host = conf->abuse_auth_per_host;
	a->rlconf.window = conf->abuse_auth_window;
	a->rlconf.max_sources = 4096;
	a->rlconf.max_hosts = 4096;
	prov_init(a, conf);
	if (!(a->rl = ddns_rl_new(&a->rlconf)))
		goto fail;
	if ((rc = ddns_password_hash(dummy, sizeof dummy - 1, a->dummy_hash)) !=
	    0) {
		snprintf(err, errlen, "cannot hash a password: %s",
			 ddns_strerror(rc));
		goto fail;
	}
	*out = a;
	return 0;
fail:
	ddns_auth_free(a);
	return rc;
}

void ddns_auth_free(ddns_auth *a)
{
	if (!a)
		return;
	while (a->jobs) {
		struct ddns_auth_job *j = a->jobs;

		ddns_oidc_cancel(j->oj);
		ddns_worker_cancel(j->wj);
		if (j->kind == JOB_IDENTIFY)
			j->cb(NULL, DDNS_AUTH_CANCELLED, j->arg);
		job_free(j);
	}
	ddns_rl_free(a->rl);
	free(a);
}
