/*
 * oidc.h -- OpenID Connect relying party for the portal: login with the
 * authorization code flow (PKCE S256, state, nonce) at one or more
 * configured providers, and validation of provider access tokens sent as
 * "Authorization: Bearer" to the API.
 *
 * Per provider: discovery (ISSUER/.well-known/openid-configuration,
 * cached for a day and fetched again after a failure), the JWKS (cached
 * for an hour, fetched again once when an ID token names an unknown key),
 * the token endpoint (client_secret_basic or client_secret_post, as the
 * provider advertises), ID token verification (jwt.h), and userinfo for
 * the profile, e-mail and group claims.
 *
 * This module knows nothing of the HTTP server, sessions or the store: it
 * gets an event loop and its configuration, and hands the caller an
 * identity (issuer, subject, name, e-mail, groups); the caller finds or
 * creates the ddns user (accounts.h) and opens the session.
 *
 * Every operation is asynchronous: it returns a job handle at once and
 * calls its callback later from the event loop (never from inside the
 * starting call).  A job whose HTTP client went away must be cancelled
 * (ddns_oidc_cancel): its callback is then not called.
 */
#ifndef DDNS_OIDC_H
#define DDNS_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "accounts.h"
#include "buf.h"
#include "jwt.h"

struct event_base;
typedef struct ddns_oidc ddns_oidc;
typedef struct ddns_oidc_job ddns_oidc_job;

#define DDNS_OIDC_PROVIDERS_MAX 16
#define DDNS_OIDC_ID_LEN	32   /* provider id: [a-z0-9_-]{1,32} */
#define DDNS_OIDC_URL_MAX	1024 /* an endpoint URL */
#define DDNS_OIDC_RETURN_MAX	255  /* a return path */
#define DDNS_OIDC_RAND_BUF	44   /* base64url of 32 random bytes + NUL */
#define DDNS_OIDC_LOGIN_TTL	600  /* seconds a login may take */
#define DDNS_OIDC_PENDING_MAX	1024 /* logins in progress */
#define DDNS_OIDC_BEARER_TTL	60   /* seconds a bearer verdict is kept */
#define DDNS_OIDC_BEARER_MAX	256  /* bearer verdicts kept */
#define DDNS_OIDC_TOKEN_MAX	8192 /* bytes of an access token */

enum ddns_oidc_err {
	DDNS_OIDC_ESTATE = -130,	/* unknown, expired or used state */
	DDNS_OIDC_EDENIED = -131,	/* the provider sent error= back */
	DDNS_OIDC_EMIXUP = -132,	/* iss= of the reply is another
					   provider (RFC 9207) */
	DDNS_OIDC_EDISCOVERY = -133,	/* discovery unusable */
	DDNS_OIDC_EJWKS = -134,		/* key set unreachable/unusable */
	DDNS_OIDC_ETOKEN = -135,	/* token endpoint refused or its
					   reply is malformed */
	DDNS_OIDC_EUSERINFO = -136,	/* userinfo failed or another sub */
	DDNS_OIDC_EUNAUTHORIZED = -137, /* bearer token refused */
	DDNS_OIDC_EUNREACHABLE = -138,	/* provider not reachable: connect,
					   TLS, timeout, reply too big */
	DDNS_OIDC_ENOPROVIDER = -139,	/* no such provider configured */
	DDNS_OIDC_ERR_LAST_ = -140
};

/* Static English text for an oidc, jwt or ddns code; never NULL. */
const char *ddns_oidc_strerror(int code);

/* ---- configuration ------------------------------------------------------ */

/* One provider: an [oidc ID] section.  Strings are copied by new. */
struct ddns_oidc_provider_conf {
	const char *id;	    /* section name: [a-z0-9_-]{1,32} */
	const char *title;  /* login button, e.g. "EGI Check-in" */
	const char *issuer; /* exact issuer URL */
	const char *client_id;
	const char *client_secret; /* from client_secret(_file) */
	const char *scopes;	   /* NULL: "openid profile email"; openid
				      is added when missing */
	const char *groups_claim;  /* e.g. "eduperson_entitlement"; NULL:
				      no groups */
	const char *admin_group;   /* members are admins; NULL: none */
	const char *ca_file;	   /* NULL: the system CA store */
	const char *token_auth;	   /* "client_secret_basic" or
				      "client_secret_post": how this client
				      is registered; NULL: from discovery */
	bool allow_http;	   /* plain http to a non-loopback issuer
				      (tests only) */
};

struct ddns_oidc_conf {
	const char *redirect_uri; /* [portal] public_url + "/oidc/callback" */
	unsigned n_providers;
	const struct ddns_oidc_provider_conf *providers;
	unsigned timeout; /* seconds per HTTP request; 0: 10 */
	unsigned leeway;  /* clock skew for ID tokens; 0: 60 */
	/* Unix time; NULL: time(NULL).  For tests. */
	int64_t (*clock)(void *arg);
	void *clock_arg;
};

/*
 * A new relying party on BASE in *OUT (ddns_oidc_free).  CONF is copied.
 * Nothing is fetched yet: discovery happens at the first use.  0, or
 * DDNS_EINVAL (bad id, issuer, redirect URI, duplicate id...), DDNS_EIO
 * (CA file) or DDNS_ENOMEM, with one line in ERR.
 */
int ddns_oidc_new(ddns_oidc **out, struct event_base *base,
		  const struct ddns_oidc_conf *conf, char *err, size_t errlen);

/* Cancel every job (no callbacks) and free O.  NULL is accepted. */
void ddns_oidc_free(ddns_oidc *o);

/* Providers, for the login page: index 0..count-1. */
unsigned ddns_oidc_count(const ddns_oidc *o);
/* Id and title of provider I; borrowed for O's lifetime. */
const char *ddns_oidc_provider_id(const ddns_oidc *o, unsigned i);
const char *ddns_oidc_provider_title(const ddns_oidc *o, unsigned i);

/* ---- results ------------------------------------------------------------ */

/* Who logged in, or whose bearer token it is. */
struct ddns_oidc_identity {
	char provider[DDNS_OIDC_ID_LEN + 1]; /* config id */
	char issuer[DDNS_OIDC_ID_MAX + 1];   /* for ddns_user_*_oidc */
	char subject[DDNS_OIDC_ID_MAX + 1];
	char name[DDNS_USER_DISPLAY_MAX + 1];	  /* "" when not given */
	char username[DDNS_USER_DISPLAY_MAX + 1]; /* preferred_username */
	char email[DDNS_USER_EMAIL_MAX + 1];	  /* "" when not given */
	bool email_verified;
	bool admin; /* admin_group is among the groups */
	unsigned n_groups;
	char groups[DDNS_GROUPS_MAX][DDNS_GROUP_MAX + 1];
};

/* What a job ends with.  Borrowed for the callback's duration. */
struct ddns_oidc_result {
	int err;	       /* 0, or a code for ddns_oidc_strerror */
	const char *detail;    /* more for the log (never a secret); "" */
	const char *url;       /* login_begin: where to redirect */
	const char *binding;   /* login_begin: value of the browser-binding
				  cookie to set with the redirect */
	const char *return_to; /* login_finish: the path given to begin
				  ("/" if unknown) */
	const struct ddns_oidc_identity *id; /* finish and bearer on 0 */
};

typedef void (*ddns_oidc_cb)(const struct ddns_oidc_result *r, void *arg);

/*
 * Start a login at provider PROVIDER (its config id) that should end on
 * RETURN_TO (a local path; anything else becomes "/").  A fresh state,
 * nonce, PKCE verifier and browser binding are kept for
 * DDNS_OIDC_LOGIN_TTL seconds; the callback gets the authorization URL to
 * redirect the browser to, and the binding: the caller must set it as a
 * cookie on that redirect (HttpOnly, SameSite=Lax -- the provider's
 * redirect back is a cross-site top-level GET --, Secure over TLS,
 * Max-Age DDNS_OIDC_LOGIN_TTL) and pass it back to login_finish.  That
 * ties the reply to the browser that began the login (no login CSRF).
 * 0 (and *JOB, may be NULL) or DDNS_OIDC_ENOPROVIDER / DDNS_ENOMEM, with
 * no callback.
 */
int ddns_oidc_login_begin(ddns_oidc *o, const char *provider,
			  const char *return_to, ddns_oidc_cb cb, void *arg,
			  ddns_oidc_job **job);

/*
 * Finish a login from the redirect back to our redirect URI: QUERY is its
 * raw query string (state, code or error, iss), QLEN bytes, untrusted;
 * BINDING (BLEN bytes, may be NULL) the browser-binding cookie the
 * request carried.  The state is looked up and used up, and the binding
 * must be the one given to its browser; then the code is exchanged, the
 * ID token verified and userinfo read.  The callback gets the identity
 * and return_to, or an error (DDNS_OIDC_ESTATE, _EDENIED, _EMIXUP,
 * _ETOKEN, a DDNS_JWT_* code, ...).  0 or DDNS_ENOMEM (no callback).
 */
int ddns_oidc_login_finish(ddns_oidc *o, const char *query, size_t qlen,
			   const char *binding, size_t blen, ddns_oidc_cb cb,
			   void *arg, ddns_oidc_job **job);

/*
 * Validate TOKEN (LEN bytes: an "Authorization: Bearer" value) as an
 * access token of a configured provider by calling its userinfo endpoint;
 * verdicts (good or refused) are cached for DDNS_OIDC_BEARER_TTL seconds
 * under the token's SHA-256.  PROVIDER may name the provider; with NULL it
 * is the only one configured, the one whose issuer a JWT-shaped token
 * names (unverified, for routing only), or else each in turn until one
 * accepts (so every configured provider may see the token).  The
 * callback gets the identity, or DDNS_OIDC_EUNAUTHORIZED.  0 or
 * DDNS_EINVAL (empty or over DDNS_OIDC_TOKEN_MAX), DDNS_ENOMEM.
 */
int ddns_oidc_bearer(ddns_oidc *o, const char *provider, const char *token,
		     size_t len, ddns_oidc_cb cb, void *arg,
		     ddns_oidc_job **job);

/* Drop a job before its callback; NULL is fine, and so is a call from
 * the job's own callback (nothing happens then). */
void ddns_oidc_cancel(ddns_oidc_job *job);

/* ---- building blocks, exposed for the unit tests ------------------------ */

/* S256 code challenge of VERIFIER (LEN bytes, RFC 7636 4.2) into OUT. */
int ddns_oidc_pkce_challenge(const char *verifier, size_t len,
			     char out[DDNS_OIDC_RAND_BUF]);

/* 32 random bytes as base64url (43 characters) into OUT.  0 or DDNS_EIO. */
int ddns_oidc_random(char out[DDNS_OIDC_RAND_BUF]);

/* Append S percent-encoded (all but ALPHA DIGIT - . _ ~) to B. */
int ddns_oidc_urlencode(struct ddns_buf *b, const char *s);

struct ddns_oidc_auth_params {
	const char *client_id, *redirect_uri, *scope, *state, *nonce;
	const char *challenge; /* S256 */
};

/*
 * The authorization request URL: ENDPOINT (may already hold a query) with
 * response_type=code, client_id, redirect_uri, scope, state, nonce,
 * code_challenge and code_challenge_method=S256, percent-encoded, written
 * to OUT (reset first).  0 or DDNS_ENOMEM.
 */
int ddns_oidc_auth_url(struct ddns_buf *out, const char *endpoint,
		       const struct ddns_oidc_auth_params *p);

/* RETURN_TO if it is a safe local path ("/..." without "//", "\", control
 * characters, at most DDNS_OIDC_RETURN_MAX bytes), else "/". */
const char *ddns_oidc_safe_return(const char *return_to);

/* A provider's discovery document, the parts we use. */
enum ddns_oidc_auth_method {
	DDNS_OIDC_AUTH_BASIC = 0, /* client_secret_basic */
	DDNS_OIDC_AUTH_POST,	  /* client_secret_post */
};

struct ddns_oidc_discovery {
	char issuer[DDNS_OIDC_URL_MAX + 1];
	char authorization_endpoint[DDNS_OIDC_URL_MAX + 1];
	char token_endpoint[DDNS_OIDC_URL_MAX + 1];
	char jwks_uri[DDNS_OIDC_URL_MAX + 1];
	char userinfo_endpoint[DDNS_OIDC_URL_MAX + 1]; /* "" if none */
	enum ddns_oidc_auth_method auth_method;
};

/*
 * Parse a discovery document (LEN bytes of JSON) of the provider ISSUER:
 * issuer must equal ISSUER exactly; authorization_endpoint,
 * token_endpoint and jwks_uri are required, and every endpoint must be
 * https (or http where ALLOW_HTTP or the issuer is loopback, see
 * httpc.h); response_types_supported must offer "code",
 * code_challenge_methods_supported (if given) "S256",
 * id_token_signing_alg_values_supported (if given) one of RS256, ES256,
 * PS256; the token endpoint auth method is basic if offered (or nothing
 * is said), else post.  0 or DDNS_OIDC_EDISCOVERY (*WHY names the
 * problem; may be NULL).
 */
int ddns_oidc_discovery_parse(const char *json, size_t len, const char *issuer,
			      bool allow_http, struct ddns_oidc_discovery *out,
			      const char **why);

/*
 * Groups of ID from claim CLAIM of CLAIMS: a string (one group) or an
 * array of strings; entries that are empty, over DDNS_GROUP_MAX bytes,
 * with control characters, or duplicates are skipped; at most
 * DDNS_GROUPS_MAX are kept.  Missing or of another type: no groups.
 * Sets id->n_groups and id->admin (ADMIN_GROUP, may be NULL, is a
 * member).  Returns the number of groups.
 */
unsigned ddns_oidc_map_groups(const json_t *claims, const char *claim,
			      const char *admin_group,
			      struct ddns_oidc_identity *id);

/*
 * Profile of ID from CLAIMS (an ID token's or userinfo's): name (or
 * given_name + family_name), preferred_username, email (dropped when over
 * DDNS_USER_EMAIL_MAX or without '@') and email_verified.  Over-long names
 * are cut at a UTF-8 character boundary.  Claims absent from CLAIMS leave
 * ID's fields as they are.
 */
void ddns_oidc_map_profile(const json_t *claims, struct ddns_oidc_identity *id);

/* A login in progress, kept under its state. */
struct ddns_oidc_login {
	unsigned provider; /* index */
	char verifier[DDNS_OIDC_RAND_BUF];
	char nonce[DDNS_OIDC_RAND_BUF];
	char binding[DDNS_OIDC_RAND_BUF]; /* the browser's cookie */
	char return_to[DDNS_OIDC_RETURN_MAX + 1];
};

/* The table of logins in progress: bounded, entries expire.  Times are
 * passed in (an injectable clock). */
typedef struct ddns_oidc_pending ddns_oidc_pending;

/* A table of at most MAX entries living TTL seconds.  NULL: no memory. */
ddns_oidc_pending *ddns_oidc_pending_new(unsigned max, unsigned ttl);
void ddns_oidc_pending_free(ddns_oidc_pending *t);

/*
 * Keep L under STATE at time NOW.  Expired entries are dropped first;
 * when the table is still full the oldest entry makes room (a flood of
 * begun logins cannot lock logins out for TTL).  0 or DDNS_EINVAL
 * (STATE empty or over DDNS_OIDC_RAND_BUF - 1 bytes).
 */
int ddns_oidc_pending_put(ddns_oidc_pending *t, const char *state,
			  const struct ddns_oidc_login *l, int64_t now);

/*
 * Remove the entry under STATE (LEN bytes, untrusted) and copy it to OUT:
 * each state works once.  DDNS_ENOTFOUND when unknown or expired at NOW.
 */
int ddns_oidc_pending_take(ddns_oidc_pending *t, const char *state, size_t len,
			   int64_t now, struct ddns_oidc_login *out);

/* Entries held (expired ones included until dropped). */
unsigned ddns_oidc_pending_count(const ddns_oidc_pending *t);

#endif
