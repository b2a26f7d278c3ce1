/*
 * api.h -- the JSON API under /api/v1 (schema/api/README.md): session,
 * login, logout, config, domains, hosts.  Request bodies are checked by
 * hand against the schema/api JSON schemas (same members, types, limits,
 * patterns: an unknown member, a wrong type or an over-long string is 400
 * naming the member); each change is one write transaction, after which the
 * zone's serial has grown and pdns's caches are purged as ddnsctl does,
 * through the updater's asynchronous purger.
 *
 * The host operations are shared with the EGI endpoints (nicapi.c).
 */
#ifndef DDNS_API_H
#define DDNS_API_H

#include <stdbool.h>

#include "accounts.h"
#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "http_util.h"
#include "purge.h"
#include "store.h"
#include "worker.h"

typedef struct ddns_api ddns_api;
struct ddns_acme;

struct ddns_api_conf {
	struct event_base *base;
	ddns_store *store;	      /* borrowed */
	ddns_purger *purger;	      /* borrowed; may be NULL */
	ddns_worker *worker;	      /* borrowed: pdns REDISCOVER runs there */
	ddns_auth *auth;	      /* borrowed */
	ddns_oidc *oidc;	      /* borrowed; NULL: no provider */
	const struct ddns_conf *conf; /* read during ddns_api_new only */
	struct ddns_acme *acme;	      /* borrowed; NULL: no /acme routes */
};

/* 0 or DDNS_ENOMEM (with ERR). */
int ddns_api_new(ddns_api **out, const struct ddns_api_conf *c, char *err,
		 size_t errlen);
/* Free; pending identifications must have been cancelled
 * (ddns_auth_free) first.  NULL is accepted. */
void ddns_api_free(ddns_api *api);

/* Answer CTX, whose path starts with "/api/v1/" (or is "/api/v1"). */
void ddns_api_handle(ddns_api *api, const struct ddns_http_ctx *ctx);

/* ---- host operations shared with nicapi.c -------------------------------- */

/* An error for the client: an HTTP status and one sentence. */
struct ddns_api_err {
	int status;
	char text[300];
};

/* A host to make. */
struct ddns_host_spec {
	char fqdn[DDNS_NAME_BUF]; /* normalised */
	char zone[DDNS_NAME_BUF]; /* normalised; "" = the deepest zone
				     containing fqdn */
	struct ddns_addr v4, v6;  /* family 0: none */
	bool wildcard;
	bool tls; /* the request came over TLS */
	char comment[DDNS_HOST_COMMENT_BUF];
};

/* A host with what its JSON needs besides the record. */
struct ddns_host_view {
	struct ddns_host h;
	char zone[DDNS_NAME_BUF];
	char comment[DDNS_HOST_COMMENT_BUF];
	char fault_text[DDNS_FAULT_TEXT_MAX + 1]; /* "" = none */
	char owner[DDNS_USER_NAME_MAX + 1];	  /* "" = none */
};

/*
 * Make host S owned by U (who must be allowed to use its zone), with a
 * new secret in SECRET (wiped by the caller once shown) and the result
 * in OUT.  0, or the HTTP status also in E (400, 403, 404, 409, 500).
 */
int ddns_api_host_create(ddns_api *api, const struct ddns_user *u,
			 const struct ddns_host_spec *s,
			 struct ddns_host_view *out,
			 char secret[DDNS_SECRET_BUF], struct ddns_api_err *e);

/* Delete host FQDN (normalised) of U (or any, for an admin); OUT gets
 * what it was.  0, or 404 / 500 in E. */
int ddns_api_host_delete(ddns_api *api, const struct ddns_user *u,
			 const char *fqdn, struct ddns_host_view *out,
			 struct ddns_api_err *e);

/* A new secret for host FQDN of U (or any, for an admin).  0, or 404 /
 * 500 in E. */
int ddns_api_host_secret(ddns_api *api, const struct ddns_user *u,
			 const char *fqdn, char secret[DDNS_SECRET_BUF],
			 struct ddns_api_err *e);

/*
 * The hosts owned by U (NULL: every host), of zone ZONE only unless
 * NULL, sorted by fqdn, in a new array *OUT (free) of *N.  0 or a store
 * error.
 */
int ddns_api_host_list(ddns_api *api, const struct ddns_user *u,
		       const char *zone, struct ddns_host_view **out,
		       size_t *n);

/* The store (for the EGI zone list). */
ddns_store *ddns_api_store(ddns_api *api);

/* ---- helpers exposed for the unit tests ------------------------------------
 */

/* The SOA RNAME form RNAME as an e-mail address into OUT ("a\.b.example.org"
 * -> "a.b@example.org"). */
void ddns_api_rname_to_mail(const char *rname, char *out, size_t cap);

/*
 * Check the name a client sent (name_input of common.json: no blanks,
 * control characters or URL punctuation; LABEL: no dot either) and
 * normalise it into OUT.  NULL when fine, else a reason.
 */
const char *ddns_api_name_input(const char *s, size_t len, bool label,
				char out[DDNS_NAME_BUF]);

#endif
