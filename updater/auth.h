/*
 * auth.h -- who is calling the portal side of ddns-updater, and the ways
 * in (schema/api/README.md section 3):
 *
 *   - identification: "Authorization: Bearer ddns_<token>" (a personal
 *     token, looked up by digest), "Authorization: Bearer <other>" (an
 *     OpenID provider's access token, checked at its userinfo endpoint:
 *     asynchronous), else the ddns_session cookie, else nobody;
 *   - CSRF: the X-CSRF-Token of a cookie session, and the Origin check;
 *   - local login (POST /api/v1/login: scrypt on a worker thread, failures
 *     limited per source and per user name), logout, GET /api/v1/session;
 *   - OpenID Connect login: /oidc/login/{id} and /oidc/callback, finding
 *     or making the user of a provider identity.
 *
 * Secrets (passwords, session ids, tokens, codes) are never logged.
 */
#ifndef DDNS_AUTH_H
#define DDNS_AUTH_H

#include <stdbool.h>

#include <jansson.h>

#include "accounts.h"
#include "conf.h"
#include "http_util.h"
#include "oidc.h"
#include "store.h"
#include "worker.h"

typedef struct ddns_auth ddns_auth;
typedef struct ddns_auth_job ddns_auth_job;

struct ddns_auth_conf {
	struct event_base *base;
	ddns_store *store;	      /* borrowed */
	ddns_worker *worker;	      /* borrowed */
	ddns_oidc *oidc;	      /* borrowed; NULL: no provider */
	const struct ddns_conf *conf; /* read during ddns_auth_new only */
};

/*
 * A new authenticator in *OUT.  Hashes a dummy password once (about
 * 50-100 ms), spent on logins of unknown users.  0, or a negative
 * ddns_err with a reason in ERR.
 */
int ddns_auth_new(ddns_auth **out, const struct ddns_auth_conf *c, char *err,
		  size_t errlen);

/*
 * Cancel every pending identification and login: their callbacks get
 * DDNS_AUTH_CANCELLED and no reply is sent.  Call after
 * ddns_worker_free and before the evhttp servers are freed.  NULL is
 * accepted.
 */
void ddns_auth_free(ddns_auth *a);

/* The public origin ([portal] public_url's scheme://host[:port]), "" when
 * none is configured. */
const char *ddns_auth_public_origin(const ddns_auth *a);

enum ddns_caller_kind {
	DDNS_CALLER_NONE = 0, /* nobody */
	DDNS_CALLER_SESSION,  /* the ddns_session cookie */
	DDNS_CALLER_TOKEN,    /* a personal token (Bearer ddns_...) */
	DDNS_CALLER_BEARER,   /* an OpenID provider's access token */
};

struct ddns_caller {
	int kind;		     /* enum ddns_caller_kind */
	struct ddns_user user;	     /* unless NONE */
	struct ddns_session session; /* SESSION only */
};

static inline bool ddns_caller_admin(const struct ddns_caller *c)
{
	return c->kind != DDNS_CALLER_NONE && (c->user.flags & DDNS_USER_ADMIN);
}

enum ddns_auth_mode {
	DDNS_AUTH_ANY = 0,    /* a bearer token, else the cookie */
	DDNS_AUTH_BEARER = 1, /* a bearer token only (the /nic endpoints) */
};

#define DDNS_AUTH_CANCELLED (-1)

/*
 * The outcome of an identification.  STATUS: 0 (C says who, possibly
 * nobody: no credentials), 401 (credentials refused: an unknown token, a
 * refused access token, a non-Bearer Authorization header), 500 (store
 * error), or DDNS_AUTH_CANCELLED (the client went away or the server
 * stops: free what belongs to the request, send nothing, never touch the
 * request again).  C is borrowed for the call.
 */
typedef void (*ddns_auth_cb)(const struct ddns_caller *c, int status,
			     void *arg);

/*
 * Identify the caller of CTX (MODE: enum ddns_auth_mode).  CB runs
 * before this returns for cookies and personal tokens, later for access
 * tokens (the request is held; *JOB, may be NULL, is then a handle for
 * ddns_auth_cancel, else NULL).  CTX is copied.
 */
void ddns_auth_identify(ddns_auth *a, const struct ddns_http_ctx *ctx, int mode,
			ddns_auth_cb cb, void *arg, ddns_auth_job **job);

/* Drop a pending identification: its callback is not called.  NULL is
 * accepted. */
void ddns_auth_cancel(ddns_auth_job *job);

/* True if CTX may change state: a request that is GET or HEAD, or whose
 * Origin header (if any) is the portal's own origin. */
bool ddns_auth_origin_ok(const ddns_auth *a, const struct ddns_http_ctx *ctx);

/* True unless C is a cookie session and the request (not GET or HEAD)
 * lacks the session's X-CSRF-Token. */
bool ddns_auth_csrf_ok(const struct ddns_caller *c,
		       const struct ddns_http_ctx *ctx);

/* user.json of U (a new reference; NULL when out of memory). */
json_t *ddns_auth_user_json(const struct ddns_user *u);

/* ---- endpoints (the caller has checked the method and the Origin) ------ */

/* GET /api/v1/session. */
void ddns_auth_session(ddns_auth *a, const struct ddns_http_ctx *ctx);
/* POST /api/v1/login. */
void ddns_auth_login(ddns_auth *a, const struct ddns_http_ctx *ctx);
/* POST /api/v1/logout. */
void ddns_auth_logout(ddns_auth *a, const struct ddns_http_ctx *ctx);
/* GET /oidc/login/{ID} (ID: the raw path segment) and /oidc/callback. */
void ddns_auth_oidc_login(ddns_auth *a, const struct ddns_http_ctx *ctx,
			  const char *id, size_t idlen);
void ddns_auth_oidc_callback(ddns_auth *a, const struct ddns_http_ctx *ctx);

/* ---- pure helpers, exposed for the unit tests --------------------------- */

/*
 * A login name made from a provider identity's PREFERRED (its
 * preferred_username) or else the local part of EMAIL (either may be ""):
 * lower-cased, characters outside [a-z0-9._@+-] dropped, leading ones
 * that are not a letter or digit dropped, cut to leave room for a
 * "-NN" suffix.  OUT is "" when nothing usable remains.
 */
void ddns_auth_name_base(const char *preferred, const char *email,
			 char out[DDNS_USER_NAME_MAX + 1]);

#endif
