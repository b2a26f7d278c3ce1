/*
 * httpc.c -- asynchronous HTTP(S) client for the OpenID Connect module
 * (see httpc.h).
 *
 * Each request gets its own evhttp_connection (one request, then the
 * connection is closed): providers are asked a few times per login, so
 * keep-alive would buy little and cost state.  A request's one event is
 * first its deadline and then, once evhttp has finished with it, the
 * delivery: evhttp's callbacks only record the outcome, and our own
 * event callback frees the connection and calls the user.  So the user
 * is never called from inside libevent's HTTP code or from inside
 * ddns_httpc_request, and may free whatever it likes from its callback.
 *
 * TLS: a verifying client context (system CA store or ca_file); each
 * connection's SSL gets the URL's host for SNI and for the name check.
 * A verify callback remembers the first verification error, since
 * evhttp's connection reset clears the SSL object before we hear of the
 * failure.
 */
#include "httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "err.h"
#include "log.h"

#define HOST_MAX   255
#define WHY_MAX	   200
#define HDR_MAX	   512 /* a reply header value we keep */
#define USER_AGENT "ddns-updater"

struct ddns_httpc {
	struct event_base *base;
	struct evdns_base *dns; /* NULL: resolve with getaddrinfo */
	SSL_CTX *ssl;
	unsigned timeout;
	size_t max_body;
	bool allow_http;
	struct ddns_httpc_req *reqs; /* in flight */
};

struct ddns_httpc_req {
	struct ddns_httpc *c;
	struct ddns_httpc_req *prev, *next;
	struct evhttp_connection *evcon; /* owns the bufferevent and SSL */
	struct event *ev;		 /* deadline, then delivery */
	ddns_httpc_cb cb;
	void *arg;
	bool done;	 /* evhttp has finished: the outcome is below */
	bool delivering; /* the user's callback runs */
	/* outcome */
	int err;
	int status;
	int verify_err; /* first X509_V_ERR_*, 0: none */
	struct ddns_buf body;
	char why[WHY_MAX];
	char ctype[HDR_MAX];
	char wwwauth[HDR_MAX];
	char host[HOST_MAX + 10]; /* "host:port", for the log */
};

/* The parts of a URL we need. */
struct target {
	bool tls;
	int port;
	char host[HOST_MAX + 1];     /* bare, no brackets */
	char hosthdr[HOST_MAX + 10]; /* Host: header value */
	char *path;		     /* path and query; owned */
};

/* ---- URLs --------------------------------------------------------------- */

bool ddns_httpc_host_loopback(const char *host)
{
	char bare[HOST_MAX + 1];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n < 3 || n - 2 > HOST_MAX || host[0] != '[' || host[n - 1] != ']')
		return false;
	memcpy(bare, host + 1, n - 2);
	bare[n - 2] = '\0';
	return inet_pton(AF_INET6, bare, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* True if S has only characters safe in a request line / Host header. */
static bool printable(const char *s, bool host)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch <= 0x20 || ch >= 0x7f)
			return false;
		if (host &&
		    !(ch == '.' || ch == '-' || ch == ':' || ch == '[' ||
		      ch == ']' || ch == '_' || (ch >= '0' && ch <= '9') ||
		      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
			return false;
	}
	return true;
}

/* Host, port and Host header of U into T. */
static int target_host(const struct evhttp_uri *u, struct target *t)
{
	const char *host = evhttp_uri_get_host(u);
	size_t n = host ? strlen(host) : 0;
	int port = evhttp_uri_get_port(u);
	int def = t->tls ? 443 : 80;

	if (n == 0 || n > HOST_MAX || !printable(host, true) ||
	    evhttp_uri_get_userinfo(u))
		return DDNS_EINVAL;
	t->port = port < 0 ? def : port;
	if (t->port <= 0 || t->port > 65535)
		return DDNS_EINVAL;
	if (host[0] == '[') { /* evhttp keeps an IPv6 literal's brackets */
		memcpy(t->host, host + 1, n - 2);
		t->host[n - 2] = '\0';
	} else {
		memcpy(t->host, host, n + 1);
	}
	if (t->port == def)
		snprintf(t->hosthdr, sizeof t->hosthdr, "%s", host);
	else
		snprintf(t->hosthdr, sizeof t->hosthdr, "%s:%d", host, t->port);
	return 0;
}

/* The request target: path (or "/") and query. */
static int target_path(const struct evhttp_uri *u, struct target *t)
{
	const char *path = evhttp_uri_get_path(u);
	const char *query = evhttp_uri_get_query(u);
	size_t n;

	if (!path || !*path)
		path = "/";
	n = strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
	if (!(t->path = malloc(n)))
		return DDNS_ENOMEM;
	snprintf(t->path, n, "%s%s%s", path, query ? "?" : "",
		 query ? query : "");
	return printable(t->path, false) && t->path[0] == '/' ? 0 : DDNS_EINVAL;
}

static int parse_url(const char *url, bool allow_http, struct target *t)
{
	struct evhttp_uri *u = NULL;
	const char *scheme;
	int rc = DDNS_EINVAL;

	memset(t, 0, sizeof *t);
	if (strlen(url) > DDNS_HTTPC_URL_MAX)
		return DDNS_ETOOBIG;
	if (!printable(url, false) || !(u = evhttp_uri_parse(url)) ||
	    !(scheme = evhttp_uri_get_scheme(u)))
		goto done;
	if (strcasecmp(scheme, "https") == 0)
		t->tls = true;
	else if (strcasecmp(scheme, "http") != 0)
		goto done;
	if ((rc = target_host(u, t)) != 0)
		goto done;
	if (!t->tls && !allow_http &&
	    !ddns_httpc_host_loopback(evhttp_uri_get_host(u))) {
		rc = DDNS_EINVAL;
		goto done;
	}
	rc = target_path(u, t);
done:
	if (u)
		evhttp_uri_free(u);
	if (rc != 0) {
		free(t->path);
		t->path = NULL;
	}
	return rc;
}

bool ddns_httpc_url_allowed(const char *url, bool allow_http)
{
	struct target t;

	if (parse_url(url, allow_http, &t) != 0)
		return false;
	free(t.path);
	return true;
}

/* ---- TLS ---------------------------------------------------------------- */

/* Remember the first verification error of the connection: evhttp's
 * reset clears the SSL object before we learn of the failure. */
static int on_verify(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ddns_httpc_req *r = ssl ? SSL_get_app_data(ssl) : NULL;

	if (!ok && r && r->verify_err == 0)
		r->verify_err = X509_STORE_CTX_get_error(xs);
	return ok;
}

static int ctx_new(struct ddns_httpc *c, const char *ca_file, char *err,
		   size_t errlen)
{
	const char *what = "cannot create a TLS context";

	ERR_clear_error();
	if (!(c->ssl = SSL_CTX_new(TLS_client_method())) ||
	    SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, on_verify);
	SSL_CTX_set_options(c->ssl,
			    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	what = ca_file ? "cannot load ca_file" : "cannot load the system CAs";
	if (ca_file ? SSL_CTX_load_verify_locations(c->ssl, ca_file, NULL) != 1
		    : SSL_CTX_set_default_verify_paths(c->ssl) != 1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s%s%s: %s", what, ca_file ? " " : "",
		 ca_file ? ca_file : "",
		 ERR_reason_error_string(ERR_peek_last_error())
		     ? ERR_reason_error_string(ERR_peek_last_error())
		     : "unknown OpenSSL error");
	ERR_clear_error();
	return ca_file ? DDNS_EIO : DDNS_ENOMEM;
}

/* A TLS bufferevent for R, checking the peer's name against HOST. */
static struct bufferevent *tls_bev(struct ddns_httpc_req *r, const char *host)
{
	struct bufferevent *bev;
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, host, ip) == 1 ||
		       inet_pton(AF_INET6, host, ip) == 1;
	SSL *ssl = SSL_new(r->c->ssl);

	if (!ssl)
		return NULL;
	SSL_set_app_data(ssl, r);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (literal
		? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
		: (SSL_set_tlsext_host_name(ssl, host) != 1 ||
		   SSL_set1_host(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(
	    r->c->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* a server closing without close_notify after the reply is fine:
	 * evhttp knows the reply's end from its length */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* ---- the outcome -------------------------------------------------------- */

static void list_unlink(struct ddns_httpc_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else if (r->c && r->c->reqs == r)
		r->c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void req_free(struct ddns_httpc_req *r)
{
	if (!r)
		return;
	list_unlink(r);
	if (r->evcon)
		evhttp_connection_free(r->evcon);
	if (r->ev)
		event_free(r->ev);
	ddns_buf_free(&r->body);
	free(r);
}

static const char *failure_text(enum evhttp_request_error e)
{
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		return "timeout";
	case EVREQ_HTTP_EOF:
		return "connection closed";
	case EVREQ_HTTP_INVALID_HEADER:
		return "malformed reply";
	case EVREQ_HTTP_DATA_TOO_LONG:
		return "reply too large";
	case EVREQ_HTTP_BUFFER_ERROR:
	default:
		return "connection failed";
	}
}

/* evhttp says why a request failed, just before on_done(NULL). */
static void on_error(enum evhttp_request_error e, void *arg)
{
	struct ddns_httpc_req *r = arg;
	int saved = errno;

	if (r->verify_err)
		snprintf(r->why, sizeof r->why,
			 "TLS: certificate verify "
			 "failed: %s",
			 X509_verify_cert_error_string(r->verify_err));
	else if (saved != 0 && e != EVREQ_HTTP_DATA_TOO_LONG &&
		 e != EVREQ_HTTP_TIMEOUT)
		snprintf(r->why, sizeof r->why, "%s: %s", failure_text(e),
			 strerror(saved));
	else
		snprintf(r->why, sizeof r->why, "%s", failure_text(e));
	r->err = e == EVREQ_HTTP_DATA_TOO_LONG ? DDNS_ETOOBIG : DDNS_EIO;
}

static void copy_header(struct evhttp_request *req, const char *name, char *out,
			size_t cap)
{
	const char *v =
	    evhttp_find_header(evhttp_request_get_input_headers(req), name);

	snprintf(out, cap, "%s", v ? v : "");
}

static void take_reply(struct ddns_httpc_req *r, struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	r->status = evhttp_request_get_response_code(req);
	copy_header(req, "Content-Type", r->ctype, sizeof r->ctype);
	copy_header(req, "WWW-Authenticate", r->wwwauth, sizeof r->wwwauth);
	if (n > r->c->max_body) {
		r->err = DDNS_ETOOBIG;
		snprintf(r->why, sizeof r->why, "reply too large");
		return;
	}
	ddns_buf_reset(&r->body);
	ddns_buf_add(&r->body, "", 0); /* a body even when empty */
	if (n > 0 && ddns_buf_add(&r->body, evbuffer_pullup(in, -1), n) != 0)
		r->body.failed = 1;
	if (r->body.failed) {
		r->err = DDNS_ENOMEM;
		snprintf(r->why, sizeof r->why, "out of memory");
	}
}

/* evhttp is done with the request (REQ NULL: it failed; on_error said
 * why).  Record, and let our event deliver outside evhttp's code. */
static void on_done(struct evhttp_request *req, void *arg)
{
	struct ddns_httpc_req *r = arg;

	if (r->done)
		return;
	r->done = true;
	if (req && evhttp_request_get_response_code(req) > 0) {
		take_reply(r, req);
	} else if (r->err == 0) {
		/* a failed connect or handshake: evhttp calls us with a
		 * request without a status, and no error callback */
		r->err = DDNS_EIO;
		if (r->verify_err)
			snprintf(r->why, sizeof r->why,
				 "TLS: certificate verify failed: %s",
				 X509_verify_cert_error_string(r->verify_err));
		else
			snprintf(r->why, sizeof r->why,
				 "cannot connect (refused, unreachable, or "
				 "the TLS handshake failed)");
	}
	event_del(r->ev);
	event_active(r->ev, EV_TIMEOUT, 1);
}

/* The deadline passed, or the outcome is ready: call the user. */
static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_httpc_req *r = arg;
	struct ddns_httpc_resp resp = {0};

	if (!r->done) {
		r->err = DDNS_EIO;
		snprintf(r->why, sizeof r->why, "timeout after %u s",
			 r->c->timeout);
	}
	list_unlink(r);
	if (r->evcon) /* safe here: we are not inside evhttp */
		evhttp_connection_free(r->evcon);
	r->evcon = NULL;
	if (r->err != 0)
		log_debug("HTTP request to %s failed: %s", r->host, r->why);
	resp.err = r->err;
	resp.why = r->why;
	resp.status = r->err == 0 ? r->status : 0;
	resp.body = r->err == 0 && r->body.data ? r->body.data : "";
	resp.len = r->err == 0 ? r->body.len : 0;
	resp.content_type = r->ctype;
	resp.www_authenticate = r->wwwauth;
	r->c = NULL; /* the user may free the client now */
	r->delivering = true;
	r->cb(&resp, r->arg);
	req_free(r);
}

/* ---- requests ----------------------------------------------------------- */

static int add_headers(struct evhttp_request *req, const struct target *t,
		       const struct ddns_httpc_call *call)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	int bad = 0;

	bad |= evhttp_add_header(h, "Host", t->hosthdr);
	bad |= evhttp_add_header(h, "User-Agent", USER_AGENT);
	bad |= evhttp_add_header(h, "Accept", "application/json");
	bad |= evhttp_add_header(h, "Connection", "close");
	if (call->authorization)
		bad |=
		    evhttp_add_header(h, "Authorization", call->authorization);
	if (call->form) {
		bad |= evhttp_add_header(h, "Content-Type",
					 "application/x-www-form-urlencoded");
		bad |= evbuffer_add(evhttp_request_get_output_buffer(req),
				    call->form, call->form_len);
	}
	return bad ? DDNS_EINVAL : 0;
}

/* The connection for R to T (its bufferevent TLS when T says so). */
static int connect_to(struct ddns_httpc_req *r, const struct target *t)
{
	struct ddns_httpc *c = r->c;
	struct bufferevent *bev =
	    t->tls ? tls_bev(r, t->host)
		   : bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);

	if (!bev)
		return DDNS_ENOMEM;
	r->evcon = evhttp_connection_base_bufferevent_new(
	    c->base, c->dns, bev, t->host, (ev_uint16_t)t->port);
	if (!r->evcon) {
		bufferevent_free(bev);
		return DDNS_ENOMEM;
	}
	evhttp_connection_set_timeout(r->evcon, (int)c->timeout);
	evhttp_connection_set_max_headers_size(r->evcon,
					       DDNS_HTTPC_HEADERS_MAX);
	evhttp_connection_set_max_body_size(r->evcon, (ev_ssize_t)c->max_body);
	evhttp_connection_set_retries(r->evcon, 0);
	snprintf(r->host, sizeof r->host, "%s", t->hosthdr);
	return 0;
}

/* Send CALL over R's connection. */
static int send_call(struct ddns_httpc_req *r, const struct target *t,
		     const struct ddns_httpc_call *call)
{
	struct evhttp_request *req = evhttp_request_new(on_done, r);
	struct timeval tv = {(time_t)r->c->timeout, 0};

	if (!req)
		return DDNS_ENOMEM;
	evhttp_request_set_error_cb(req, on_error);
	if (add_headers(req, t, call) != 0) {
		evhttp_request_free(req);
		return DDNS_ENOMEM;
	}
	if (evtimer_add(r->ev, &tv) != 0) {
		evhttp_request_free(req);
		return DDNS_EIO;
	}
	/* on failure evhttp has freed REQ or dropped it from the queue */
	if (evhttp_make_request(r->evcon, req,
				call->form ? EVHTTP_REQ_POST : EVHTTP_REQ_GET,
				t->path) != 0)
		return DDNS_EIO;
	return 0;
}

int ddns_httpc_request(ddns_httpc *c, const struct ddns_httpc_call *call,
		       ddns_httpc_cb cb, void *arg, ddns_httpc_req **handle)
{
	struct ddns_httpc_req *r = NULL;
	struct target t;
	int rc;

	if (handle)
		*handle = NULL;
	if ((rc = parse_url(call->url, c->allow_http, &t)) != 0)
		return rc;
	rc = DDNS_ENOMEM;
	if (!(r = calloc(1, sizeof *r)) ||
	    !(r->ev = evtimer_new(c->base, on_event, r)))
		goto fail;
	r->c = c;
	r->cb = cb;
	r->arg = arg;
	if ((rc = connect_to(r, &t)) != 0 || (rc = send_call(r, &t, call)) != 0)
		goto fail;
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	free(t.path);
	if (handle)
		*handle = r;
	return 0;
fail:
	free(t.path);
	req_free(r);
	return rc;
}

void ddns_httpc_cancel(ddns_httpc_req *r)
{
	if (r && !r->delivering)
		req_free(r);
}

int ddns_httpc_new(ddns_httpc **out, struct event_base *base,
		   const struct ddns_httpc_conf *conf, char *err, size_t errlen)
{
	struct ddns_httpc *c = calloc(1, sizeof *c);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!c)
		return rc;
	c->base = base;
	c->timeout = conf->timeout ? conf->timeout : DDNS_HTTPC_TIMEOUT;
	c->max_body = conf->max_body ? conf->max_body : DDNS_HTTPC_BODY_MAX;
	c->allow_http = conf->allow_http;
	if ((rc = ctx_new(c, conf->ca_file, err, errlen)) != 0)
		goto fail;
	/* without a resolver (no resolv.conf) names resolve blocking */
	c->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					  EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (!c->dns)
		log_warn("HTTP client: no asynchronous DNS resolver; host "
			 "names will be resolved blocking");
	*out = c;
	return 0;
fail:
	ddns_httpc_free(c);
	return rc;
}

void ddns_httpc_free(ddns_httpc *c)
{
	if (!c)
		return;
	while (c->reqs)
		req_free(c->reqs);
	if (c->dns)
		evdns_base_free(c->dns, 0);
	SSL_CTX_free(c->ssl);
	free(c);
}
