/*
 * http_util.h -- what the portal, the JSON API and the EGI endpoints share
 * on top of evhttp: the request as they see it, JSON replies and errors,
 * JSON bodies with their caps, cookies, query strings, percent-decoding,
 * the Origin check, times, and requests held across asynchronous work.
 *
 * The parsing helpers are pure (no libevent) and unit-tested; every input
 * they take is untrusted and length-delimited.
 */
#ifndef DDNS_HTTP_UTIL_H
#define DDNS_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "addr.h"

struct evhttp_request;

#define DDNS_HTTP_BODY_MAX   16384 /* a JSON request body, bytes */
#define DDNS_HTTP_PATH_MAX   1024  /* a request path, bytes */
#define DDNS_HTTP_TIME_BUF   21	   /* "2025-06-01T09:30:00Z" + NUL */
#define DDNS_HTTP_COOKIE_MAX 512   /* a Set-Cookie value we build */

/* One request as the portal side sees it.  PATH and QUERY point into the
 * request's URI: valid while REQ is (until its reply is sent). */
struct ddns_http_ctx {
	struct evhttp_request *req;
	struct ddns_addr client; /* after trusted proxies */
	char client_text[DDNS_ADDR_STRLEN];
	bool tls;	  /* TLS, or a trusted proxy said https */
	int method;	  /* enum evhttp_cmd_type */
	const char *path; /* raw (not percent-decoded), from '/' */
	size_t plen;
	const char *query; /* without '?', NULL when none */
	size_t qlen;
};

/*
 * Split request target TARGET (LEN bytes: origin form "/p?q" or absolute
 * form "http://host/p?q") into *PATH / *PLEN and *QUERY / *QLEN (NULL, 0
 * without one); a '#fragment' is dropped.  DDNS_EINVAL for anything else
 * or a path over DDNS_HTTP_PATH_MAX.
 */
int ddns_http_split_target(const char *target, size_t len, const char **path,
			   size_t *plen, const char **query, size_t *qlen);

/* ---- replies ------------------------------------------------------------ */

/*
 * Send BODY (ownership taken; NULL: a 500 internal error) as JSON with
 * STATUS, Content-Length, Cache-Control: no-store and
 * X-Content-Type-Options: nosniff (no body for HEAD).  A 401 carries
 * WWW-Authenticate: Bearer realm="ddns".
 */
void ddns_http_json(struct evhttp_request *req, int status, json_t *body);

/* {"error": TEXT} with STATUS (ddns_http_json).  TEXT is cut to 300
 * bytes at a character boundary; it must hold no secret. */
void ddns_http_error(struct evhttp_request *req, int status, const char *text);
/* The same with a printf format. */
void ddns_http_errorf(struct evhttp_request *req, int status, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* A reply without a body (204, 302...) with the JSON headers. */
void ddns_http_empty(struct evhttp_request *req, int status);

/* 405 with Allow: ALLOW and {"error": "method not allowed"}. */
void ddns_http_bad_method(struct evhttp_request *req, const char *allow);

/* Add header NAME: VALUE to REQ's reply. */
void ddns_http_header(struct evhttp_request *req, const char *name,
		      const char *value);

/* ---- request bodies ----------------------------------------------------- */

/* True if content type CT (NULL: absent) is application/json, with at
 * most a charset=utf-8 parameter (any case). */
bool ddns_http_is_json_type(const char *ct);

/*
 * Read REQ's body as one JSON object into *OUT (caller's reference).
 * Returns 0, or the HTTP status to answer with a reason in WHY: 413 (over
 * DDNS_HTTP_BODY_MAX), 415 (not application/json), 400 (not JSON, not an
 * object, duplicate members, invalid UTF-8, a NUL).
 */
int ddns_http_read_json(struct evhttp_request *req, json_t **out, char *why,
			size_t cap);

/* For requests that take no body: 0 when it is empty or "{}" (blanks
 * around allowed), else 400 or 413 with WHY. */
int ddns_http_no_body(struct evhttp_request *req, char *why, size_t cap);

/* Parse BODY (LEN bytes) as a JSON object as ddns_http_read_json does,
 * without the content type check: 0, 400 or 413. */
int ddns_http_parse_json(const char *body, size_t len, json_t **out, char *why,
			 size_t cap);

/* ---- encoding ----------------------------------------------------------- */

/*
 * Percent-decode IN (LEN bytes) into OUT (CAP bytes, NUL-terminated);
 * PLUS: '+' is a space (query strings).  Returns the decoded length, or
 * DDNS_EINVAL for a broken escape or a NUL (encoded or not), DDNS_ETOOBIG
 * when it does not fit.
 */
int ddns_http_pct_decode(const char *in, size_t len, bool plus, char *out,
			 size_t cap);

/*
 * The value of parameter KEY (exact, case-sensitive) in query string Q
 * (QLEN bytes), decoded into OUT (CAP bytes).  The first occurrence
 * counts.  0, DDNS_ENOTFOUND, or DDNS_EINVAL / DDNS_ETOOBIG as
 * ddns_http_pct_decode.
 */
int ddns_http_query_get(const char *q, size_t qlen, const char *key, char *out,
			size_t cap);

/* Characters (code points) of the valid UTF-8 text S of LEN bytes. */
size_t ddns_http_utf8_len(const char *s, size_t len);

/* UTC RFC 3339 with whole seconds and Z into OUT. */
void ddns_http_time(int64_t t, char out[DDNS_HTTP_TIME_BUF]);

/* ---- cookies ------------------------------------------------------------ */

/*
 * Cookie NAME in Cookie header value HDR (NULL: none): *VAL / *LEN borrow
 * its value (the first one, quotes kept).  0 or DDNS_ENOTFOUND.
 */
int ddns_http_cookie_get(const char *hdr, const char *name, const char **val,
			 size_t *len);

/*
 * A Set-Cookie value into OUT (CAP bytes): "NAME=VALUE; Path=PATH;
 * HttpOnly; SameSite=Lax; Max-Age=MAX_AGE" and "; Secure" when SECURE.
 * VALUE must be cookie-safe (base64url).  0 or DDNS_ETOOBIG / EINVAL.
 */
int ddns_http_cookie_format(char *out, size_t cap, const char *name,
			    const char *value, const char *path,
			    long long max_age, bool secure);

/* ---- Origin ------------------------------------------------------------- */

/*
 * The origin "scheme://host[:port]" of URL (e.g. [portal] public_url)
 * into OUT, lower-cased, without a default port; "" when URL is NULL or
 * not http(s).
 */
void ddns_http_origin_of(const char *url, char *out, size_t cap);

/*
 * May a state-changing request with header Origin ORIGIN (NULL: absent,
 * allowed) go on?  Yes when it equals PUBLIC_ORIGIN (ddns_http_origin_of
 * of public_url; "" none) or the request's own origin: TLS ? "https" :
 * "http", "://", HOST (its Host header; NULL: none).  Compared without
 * regard to case, default ports ignored.
 */
bool ddns_http_origin_ok(const char *origin, const char *public_origin,
			 bool tls, const char *host);

/* ---- requests held across asynchronous work ----------------------------- */

typedef struct ddns_http_hold ddns_http_hold;

/*
 * Watch REQ's connection while the server holds REQ for work that ends
 * later (a password check, an identity provider): when the client closes
 * it (end of stream on the socket), GONE(ARG) is called, then the hold
 * is freed and the connection closed with REQ: the caller must cancel its
 * work in GONE, forget the hold (never end it) and never touch REQ again.
 * NULL when REQ has no connection or memory runs out (nothing is watched
 * then).  Release with ddns_http_hold_end before replying.
 */
ddns_http_hold *ddns_http_hold_new(struct evhttp_request *req,
				   void (*gone)(void *arg), void *arg);
/* Stop watching; NULL is accepted. */
void ddns_http_hold_end(ddns_http_hold *h);

/* JSON of a Unix time as RFC 3339 UTC ("2026-11-29T10:00:00Z"), or null
 * for 0.  New reference, or NULL on allocation failure. */
json_t *ddns_json_time(int64_t t);

struct ddns_host;
/* JSON of host H's address of FAMILY (AF_INET / AF_INET6) in canonical
 * text, or null when it has none.  New reference. */
json_t *ddns_json_host_addr(const struct ddns_host *h, int family);

#endif
