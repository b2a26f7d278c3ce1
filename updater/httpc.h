/*
 * httpc.h -- a small asynchronous HTTP/1.1 client on the updater's
 * libevent loop, for talking to OpenID providers: GET, and POST of a form
 * body, one request per connection, the whole reply handed to a callback.
 *
 * Safety: https only, with the peer's certificate verified against the
 * system CA store (or a configured CA file) and its name checked against
 * the URL's host (SSL_set1_host; an IP literal against the certificate's
 * IP addresses); TLS 1.2 or newer.  Plain http only to a loopback host
 * (127.0.0.0/8, ::1, "localhost"), or anywhere when the configuration
 * explicitly allows it.  Every request has a deadline, reply headers and
 * body have caps, redirects are not followed.  Host names are resolved
 * asynchronously (evdns).
 */
#ifndef DDNS_HTTPC_H
#define DDNS_HTTPC_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
typedef struct ddns_httpc ddns_httpc;
typedef struct ddns_httpc_req ddns_httpc_req;

#define DDNS_HTTPC_URL_MAX  2048
#define DDNS_HTTPC_BODY_MAX (1024 * 1024) /* default reply cap */
#define DDNS_HTTPC_HEADERS_MAX                                                 \
	16384		      /* reply status line and                         \
				 headers */
#define DDNS_HTTPC_TIMEOUT 10 /* default seconds */

struct ddns_httpc_conf {
	const char *ca_file; /* PEM CA bundle; NULL: the system store */
	unsigned timeout;    /* seconds for a whole request; 0: default */
	size_t max_body;     /* reply body cap in bytes; 0: default */
	bool allow_http;     /* plain http to non-loopback hosts too */
};

/* What came back.  Everything is borrowed for the callback's duration. */
struct ddns_httpc_resp {
	int err;		  /* 0: a reply arrived (any status); DDNS_EIO:
				     no reply (connect, TLS, timeout, broken
				     reply); DDNS_ETOOBIG: reply over a cap */
	const char *why;	  /* for the log when err != 0: "timeout",
				     "TLS: certificate verify failed..." */
	int status;		  /* HTTP status, 0 without a reply */
	const char *body;	  /* NUL-terminated; "" when none */
	size_t len;		  /* body bytes (the body may hold NULs) */
	const char *content_type; /* "" when absent */
	const char *www_authenticate; /* "" when absent */
};

/*
 * Called once per request that ddns_httpc_request accepted, from the
 * event loop (never from inside ddns_httpc_request), unless the request
 * was cancelled first.  The request's handle is invalid from then on.
 * The callback may start requests, cancel others and free the client.
 */
typedef void (*ddns_httpc_cb)(const struct ddns_httpc_resp *r, void *arg);

/* One request.  Strings are copied by ddns_httpc_request. */
struct ddns_httpc_call {
	const char *url;  /* http:// or https://, no user info */
	const char *form; /* NULL: GET; else the POST body of type
			     application/x-www-form-urlencoded */
	size_t form_len;
	const char *authorization; /* whole Authorization value, or NULL;
				      never logged */
};

/*
 * A new client on BASE in *OUT (freed with ddns_httpc_free).  CONF is
 * read during the call only; its CA file is loaded now.  0, or a negative
 * ddns_err with a one-line reason in ERR (DDNS_EIO: CA file unreadable).
 */
int ddns_httpc_new(ddns_httpc **out, struct event_base *base,
		   const struct ddns_httpc_conf *conf, char *err,
		   size_t errlen);

/*
 * Cancel every pending request (their callbacks are not called) and free
 * C.  NULL is accepted.
 */
void ddns_httpc_free(ddns_httpc *c);

/*
 * Start CALL; CB(ARG) gets the reply later.  *HANDLE (may be NULL) gets a
 * handle for ddns_httpc_cancel, valid until the callback starts.  0, or
 * without any callback: DDNS_EINVAL (malformed URL, unknown scheme, user
 * info, or plain http to a host not allowed), DDNS_ETOOBIG (URL over
 * DDNS_HTTPC_URL_MAX), DDNS_ENOMEM or DDNS_EIO.
 */
int ddns_httpc_request(ddns_httpc *c, const struct ddns_httpc_call *call,
		       ddns_httpc_cb cb, void *arg, ddns_httpc_req **handle);

/* Drop a pending request; its callback is not called.  NULL is fine, and
 * so is a call from the request's own callback (nothing happens). */
void ddns_httpc_cancel(ddns_httpc_req *r);

/*
 * True if URL may be fetched by a client whose allow_http is ALLOW_HTTP:
 * https, or http to a loopback host (or any host with ALLOW_HTTP).
 */
bool ddns_httpc_url_allowed(const char *url, bool allow_http);

/* True if HOST (an evhttp_uri host: IPv6 in brackets) is loopback. */
bool ddns_httpc_host_loopback(const char *host);

#endif
