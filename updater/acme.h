/*
 * acme.h -- ACME DNS-01 challenges through the host's own secret (issue 7):
 * the TXT values at _acme-challenge.FQDN that ACME clients set and clear.
 *
 * Three ways in, all ending in the same store update (dyndns2.h,
 * ddns_d2_update.txt_op) and the same purge of pdns's caches:
 *   - lego's httpreq contract: POST [acme] path + "/present" and
 *     "/cleanup" with a JSON body {"fqdn": "_acme-challenge.HOST.",
 *     "value": V} and Basic authentication by HOST and its secret, under
 *     the same failed-authentication limits and fault counting as
 *     /nic/update (server.c authenticates, this module does the rest);
 *   - /nic/update with txt= and clear (dyndns2.c);
 *   - /api/v1/hosts/{fqdn}/acme[/{value}] for a session or token of the
 *     host's owner (api.c routes it here).
 * Each value expires after [acme] challenge_ttl seconds (default 3600):
 * the backend never serves an expired one, and a periodic sweep here
 * removes them from the store (and purges their names).
 */
#ifndef DDNS_ACME_H
#define DDNS_ACME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "conf.h"
#include "dyndns2.h"
#include "http_util.h"
#include "purge.h"
#include "store.h"

#define DDNS_ACME_PATH_DEFAULT "/acme"
#define DDNS_ACME_PATH_MAX     64
#define DDNS_ACME_BODY_MAX     1024 /* an httpreq JSON body, bytes */

struct event_base;
typedef struct ddns_acme ddns_acme;

struct ddns_acme_conf {
	struct event_base *base;
	ddns_store *store;	      /* borrowed */
	ddns_purger *purger;	      /* borrowed; may be NULL */
	const struct ddns_conf *conf; /* read during ddns_acme_new only */
};

/*
 * A new ACME module in *OUT, with its expiry sweep running on c->base.
 * 0, or DDNS_EINVAL for an invalid [acme] path / DDNS_ENOMEM, with a
 * reason in ERR.
 */
int ddns_acme_new(ddns_acme **out, const struct ddns_acme_conf *c, char *err,
		  size_t errlen);
/* Stop the sweep and free.  NULL is accepted. */
void ddns_acme_free(ddns_acme *a);

/* Seconds a value lives and values kept per host ([acme]). */
unsigned ddns_acme_ttl(const ddns_acme *a);
unsigned ddns_acme_max(const ddns_acme *a);

enum ddns_acme_op {
	DDNS_ACME_NONE = 0,    /* not under [acme] path */
	DDNS_ACME_UNKNOWN = 1, /* under it, but no such operation: 404 */
	DDNS_ACME_PRESENT = 2, /* PREFIX/present */
	DDNS_ACME_CLEANUP = 3, /* PREFIX/cleanup */
};

/* The httpreq operation of raw request path PATH (PLEN bytes). */
int ddns_acme_route(const ddns_acme *a, const char *path, size_t plen);

/*
 * Answer an httpreq request REQ for OP (PRESENT or CLEANUP) whose
 * credentials server.c has judged into PLAN (ddns_d2_authenticate):
 * 401 unless authenticated, then the body is read and checked, the
 * value added or removed, pdns's caches purged, and 200 sent with
 * {"fqdn", "value"}.  Errors are {"error": text}: 400 (body), 403 (a
 * name that is not _acme-challenge.HOST, or a host flagged or blocked),
 * 413, 500.  CLIENT names the peer in the log.
 */
void ddns_acme_httpreq(ddns_acme *a, struct evhttp_request *req, int op,
		       const struct ddns_d2_plan *plan, const char *client);

/*
 * /api/v1/hosts/{fqdn}/acme for user U (the caller checked method, Origin
 * and CSRF): GET lists the live values, POST {"value": V} adds one, DELETE
 * removes every value or, with VALUE (VLEN bytes, raw path segment; NULL:
 * none), that one.  FQDN is normalised; another user's host is 404 like
 * a missing one (admins: any host).
 */
void ddns_acme_api(ddns_acme *a, const struct ddns_http_ctx *ctx,
		   const struct ddns_user *u, const char *fqdn,
		   const char *value, size_t vlen);

/* Drop the names a challenge change of host FQDN (zone ZONE) affects from
 * pdns's caches: FQDN's subtree and ZONE's apex (its serial grew). */
void ddns_acme_purge(ddns_purger *p, const char *fqdn, const char *zone);

/*
 * Remove from store S every value expired at NOW and every record of a
 * host that is gone (or was made anew); bump the serial of each zone
 * concerned and purge its names through P (may be NULL).  *REMOVED (may be
 * NULL) gets the number of records rewritten or deleted.  0 or a store
 * error.  The sweep timer calls this; tests may too.
 */
int ddns_acme_sweep(ddns_store *s, ddns_purger *p, int64_t now,
		    unsigned *removed);

/* ---- pure helpers, exposed for the unit tests --------------------------- */

/*
 * The host of challenge name NAME (LEN bytes): "_acme-challenge.HOST"
 * with an optional final dot, any case, into HOST (normalised).  0 or
 * DDNS_EBADNAME.
 */
int ddns_acme_host_of(const char *name, size_t len, char host[DDNS_NAME_BUF]);

/*
 * Parse an httpreq body (LEN bytes of JSON: an object with string members
 * "fqdn" and "value"; others are ignored) into HOST (ddns_acme_host_of of
 * fqdn) and VALUE (valid).  0, or 400 / 413 with a reason in WHY.
 */
int ddns_acme_parse_body(const char *body, size_t len, char host[DDNS_NAME_BUF],
			 char value[DDNS_CHALLENGE_VALUE_MAX + 1], char *why,
			 size_t cap);

#endif
