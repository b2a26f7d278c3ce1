/*
 * http_util.c -- shared HTTP helpers of the portal side (http_util.h).
 */
#include "http_util.h"
#include "store.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "err.h"
#include "log.h"

#define ERROR_TEXT_MAX 300

/* ---- targets ------------------------------------------------------------ */

int ddns_http_split_target(const char *target, size_t len, const char **path,
			   size_t *plen, const char **query, size_t *qlen)
{
	const char *end = target + len, *p = target, *q, *hash;

	*query = NULL;
	*qlen = 0;
	if (len >= 7 && strncasecmp(target, "http://", 7) == 0)
		p = target + 7;
	else if (len >= 8 && strncasecmp(target, "https://", 8) == 0)
		p = target + 8;
	if (p != target && !(p = memchr(p, '/', (size_t)(end - p))))
		return DDNS_EINVAL;
	if (p == end || *p != '/')
		return DDNS_EINVAL;
	if ((hash = memchr(p, '#', (size_t)(end - p))) != NULL)
		end = hash;
	q = memchr(p, '?', (size_t)(end - p));
	*path = p;
	*plen = (size_t)((q ? q : end) - p);
	if (q) {
		*query = q + 1;
		*qlen = (size_t)(end - q - 1);
	}
	return *plen <= DDNS_HTTP_PATH_MAX ? 0 : DDNS_EINVAL;
}

/* ---- replies ------------------------------------------------------------ */

void ddns_http_header(struct evhttp_request *req, const char *name,
		      const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), name, value);
}

static void json_headers(struct evhttp_request *req, int status)
{
	ddns_http_header(req, "Cache-Control", "no-store");
	ddns_http_header(req, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		ddns_http_header(req, "WWW-Authenticate",
				 "Bearer realm=\"ddns\"");
}

void ddns_http_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char *text = NULL, clen[24];
	size_t len = 0;

	if (body)
		text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(body);
	if (!text) {
		status = 500;
		text = strdup("{\"error\":\"internal error\"}");
	}
	len = text ? strlen(text) : 0;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD && text &&
	    evbuffer_add(out, text, len) != 0)
		status = 500;
	free(text);
	json_headers(req, status);
	snprintf(clen, sizeof clen, "%zu", len);
	ddns_http_header(req, "Content-Type", "application/json");
	ddns_http_header(req, "Content-Length", clen);
	evhttp_send_reply(req, status, NULL, NULL);
}

/* TEXT cut to ERROR_TEXT_MAX bytes at a UTF-8 boundary, into OUT. */
static void cut_text(const char *text, char out[ERROR_TEXT_MAX + 1])
{
	size_t n = strnlen(text, ERROR_TEXT_MAX + 1);

	if (n > ERROR_TEXT_MAX) {
		n = ERROR_TEXT_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, text, n);
	out[n] = '\0';
}

void ddns_http_error(struct evhttp_request *req, int status, const char *text)
{
	char t[ERROR_TEXT_MAX + 1];

	cut_text(text && *text ? text : "error", t);
	ddns_http_json(req, status, json_pack("{s:s}", "error", t));
}

void ddns_http_errorf(struct evhttp_request *req, int status, const char *fmt,
		      ...)
{
	char t[ERROR_TEXT_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	ddns_http_error(req, status, t);
}

void ddns_http_empty(struct evhttp_request *req, int status)
{
	json_headers(req, status);
	if (status != 204) /* a 204 has no Content-Length (RFC 9110 8.6) */
		ddns_http_header(req, "Content-Length", "0");
	evhttp_send_reply(req, status, NULL, NULL);
}

void ddns_http_bad_method(struct evhttp_request *req, const char *allow)
{
	ddns_http_header(req, "Allow", allow);
	ddns_http_error(req, 405, "method not allowed");
}

/* ---- request bodies ----------------------------------------------------- */

static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

bool ddns_http_is_json_type(const char *ct)
{
	static const char type[] = "application/json";
	const size_t n = sizeof type - 1;
	const char *p;

	if (!ct)
		return false;
	ct = skip_ows(ct);
	if (strncasecmp(ct, type, n) != 0)
		return false;
	p = skip_ows(ct + n);
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	p = skip_ows(p + 1);
	if (strncasecmp(p, "charset=", 8) != 0)
		return false;
	p += 8;
	if (strncasecmp(p, "utf-8", 5) == 0)
		p += 5;
	else if (strncasecmp(p, "\"utf-8\"", 7) == 0)
		p += 7;
	else
		return false;
	return *skip_ows(p) == '\0';
}

int ddns_http_parse_json(const char *body, size_t len, json_t **out, char *why,
			 size_t cap)
{
	json_error_t e;
	json_t *v;

	*out = NULL;
	if (len > DDNS_HTTP_BODY_MAX) {
		snprintf(why, cap, "request body too large (16 KiB at most)");
		return 413;
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!v) {
		/* jansson quotes the body near the error, maybe one octet of
		 * a UTF-8 character: the reply must stay a valid JSON string
		 * (found by fuzzing) */
		for (char *p = e.text; *p; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p > 0x7e)
				*p = '?';
		snprintf(why, cap, "the body is not valid JSON: %s", e.text);
		return 400;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(why, cap, "body: must be a JSON object");
		return 400;
	}
	*out = v;
	return 0;
}

/* REQ's body (*LEN bytes, contiguous), or NULL with *STATUS set. */
static const char *body_of(struct evhttp_request *req, size_t *len, int *status,
			   char *why, size_t cap)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	const char *p;

	*len = evbuffer_get_length(b);
	if (*len > DDNS_HTTP_BODY_MAX) {
		snprintf(why, cap, "request body too large (16 KiB at most)");
		*status = 413;
		return NULL;
	}
	if (*len == 0)
		return "";
	if (!(p = (const char *)evbuffer_pullup(b, (ev_ssize_t)*len))) {
		snprintf(why, cap, "internal error");
		*status = 500;
	}
	return p;
}

int ddns_http_read_json(struct evhttp_request *req, json_t **out, char *why,
			size_t cap)
{
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	const char *p;
	size_t len;
	int status = 0;

	*out = NULL;
	if (!(p = body_of(req, &len, &status, why, cap)))
		return status;
	if (!ddns_http_is_json_type(ct)) {
		snprintf(why, cap, "send the body as application/json");
		return 415;
	}
	return ddns_http_parse_json(p, len, out, why, cap);
}

int ddns_http_no_body(struct evhttp_request *req, char *why, size_t cap)
{
	const char *p, *end;
	size_t len;
	int status = 0;

	if (!(p = body_of(req, &len, &status, why, cap)))
		return status;
	end = p + len;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	if (p == end)
		return 0;
	if (end - p >= 2 && p[0] == '{' && end[-1] == '}') {
		for (p++; p < end - 1 && isspace((unsigned char)*p); p++)
			;
		if (p == end - 1)
			return 0;
	}
	snprintf(why, cap, "this request takes no body");
	return 400;
}

/* ---- encoding ----------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ddns_http_pct_decode(const char *in, size_t len, bool plus, char *out,
			 size_t cap)
{
	size_t n = 0;

	if (cap == 0)
		return DDNS_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(in[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return DDNS_EINVAL;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c == 0)
			return DDNS_EINVAL;
		if (n + 1 >= cap)
			return DDNS_ETOOBIG;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}

int ddns_http_query_get(const char *q, size_t qlen, const char *key, char *out,
			size_t cap)
{
	const char *p = q, *end = q ? q + qlen : NULL;
	size_t klen = strlen(key);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *k_end = eq ? eq : e;

		if ((size_t)(k_end - p) == klen && memcmp(p, key, klen) == 0) {
			const char *v = eq ? eq + 1 : e;
			int n = ddns_http_pct_decode(v, (size_t)(e - v), true,
						     out, cap);

			return n < 0 ? n : 0;
		}
		p = amp ? amp + 1 : end;
	}
	return DDNS_ENOTFOUND;
}

size_t ddns_http_utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void ddns_http_time(int64_t t, char out[DDNS_HTTP_TIME_BUF])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, DDNS_HTTP_TIME_BUF, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, DDNS_HTTP_TIME_BUF, "1970-01-01T00:00:00Z");
}

/* ---- cookies ------------------------------------------------------------ */

int ddns_http_cookie_get(const char *hdr, const char *name, const char **val,
			 size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = hdr;

	while (p && *p) {
		const char *end = strchr(p, ';');
		const char *e = end ? end : p + strlen(p);

		p = skip_ows(p);
		if ((size_t)(e - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			const char *v = p + nlen + 1, *ve = e;

			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*val = v;
			*len = (size_t)(ve - v);
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return DDNS_ENOTFOUND;
}

static bool cookie_safe(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

int ddns_http_cookie_format(char *out, size_t cap, const char *name,
			    const char *value, const char *path,
			    long long max_age, bool secure)
{
	int n;

	if (!cookie_safe(name) || !cookie_safe(value) || max_age < 0)
		return DDNS_EINVAL;
	n = snprintf(out, cap,
		     "%s=%s; Path=%s; HttpOnly; SameSite=Lax; Max-Age=%lld%s",
		     name, value, path, max_age, secure ? "; Secure" : "");
	return n >= 0 && (size_t)n < cap ? 0 : DDNS_ETOOBIG;
}

/* ---- Origin ------------------------------------------------------------- */

/* SCHEME://HOST[:PORT] of URL (LEN bytes) normalised into OUT: lower
 * case, default port dropped. */
static void origin_norm(const char *url, size_t len, char *out, size_t cap)
{
	size_t skip, hlen, n;
	const char *host, *end;
	bool https;

	out[0] = '\0';
	if (len >= 7 && strncasecmp(url, "http://", 7) == 0)
		https = false, skip = 7;
	else if (len >= 8 && strncasecmp(url, "https://", 8) == 0)
		https = true, skip = 8;
	else
		return;
	host = url + skip;
	for (end = host; end < url + len && !strchr("/?#", *end); end++)
		;
	hlen = (size_t)(end - host);
	if (hlen > 3 && strncmp(end - 3, ":80", 3) == 0 && !https)
		hlen -= 3;
	else if (hlen > 4 && strncmp(end - 4, ":443", 4) == 0 && https)
		hlen -= 4;
	if (hlen == 0 || memchr(host, '@', hlen))
		return;
	n = (size_t)snprintf(out, cap, "%s://%.*s", https ? "https" : "http",
			     (int)hlen, host);
	if (n >= cap) {
		out[0] = '\0';
		return;
	}
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
}

void ddns_http_origin_of(const char *url, char *out, size_t cap)
{
	if (cap == 0)
		return;
	out[0] = '\0';
	if (url)
		origin_norm(url, strlen(url), out, cap);
}

bool ddns_http_origin_ok(const char *origin, const char *public_origin,
			 bool tls, const char *host)
{
	char o[512], raw[512], self[512];

	if (!origin)
		return true;
	origin_norm(origin, strlen(origin), o, sizeof o);
	if (!o[0] || strlen(origin) > 400)
		return false;
	if (public_origin && public_origin[0] && strcmp(o, public_origin) == 0)
		return true;
	if (!host || !*host || strlen(host) > 400)
		return false;
	snprintf(raw, sizeof raw, "%s://%s", tls ? "https" : "http", host);
	origin_norm(raw, strlen(raw), self, sizeof self);
	return self[0] && strcmp(o, self) == 0;
}

/* ---- held requests ------------------------------------------------------ */

struct ddns_http_hold {
	struct evhttp_request *req;
	struct event *ev;
	void (*gone)(void *arg);
	void *arg;
};

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_http_hold *h = arg;
	struct evhttp_connection *evcon;
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	/* bytes (a pipelined request, TLS records): the client is there;
	 * stop watching rather than spin on them */
	event_del(h->ev);
	if (n > 0)
		return;
	evcon = evhttp_request_get_connection(h->req);
	h->gone(h->arg); /* the caller drops its work */
	ddns_http_hold_end(h);
	if (evcon)
		evhttp_connection_free(evcon); /* frees the request too */
}

ddns_http_hold *ddns_http_hold_new(struct evhttp_request *req,
				   void (*gone)(void *arg), void *arg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev =
	    evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	struct ddns_http_hold *h;

	if (fd < 0 || !(h = calloc(1, sizeof *h)))
		return NULL;
	h->req = req;
	h->gone = gone;
	h->arg = arg;
	h->ev = event_new(bufferevent_get_base(bev), fd, EV_READ | EV_PERSIST,
			  on_readable, h);
	if (!h->ev || event_add(h->ev, NULL) != 0) {
		ddns_http_hold_end(h);
		return NULL;
	}
	return h;
}

void ddns_http_hold_end(ddns_http_hold *h)
{
	if (!h)
		return;
	if (h->ev)
		event_free(h->ev);
	free(h);
}

json_t *ddns_json_time(int64_t t)
{
	char s[DDNS_HTTP_TIME_BUF];

	if (t == 0)
		return json_null();
	ddns_http_time(t, s);
	return json_string(s);
}

json_t *ddns_json_host_addr(const struct ddns_host *h, int family)
{
	struct ddns_addr a = {.family = family};
	char s[DDNS_ADDR_STRLEN];

	if (family == AF_INET && (h->flags & DDNS_HOST_V4))
		a.u.v4 = h->v4;
	else if (family == AF_INET6 && (h->flags & DDNS_HOST_V6))
		a.u.v6 = h->v6;
	else
		return json_null();
	return json_string(ddns_addr_format(&a, s, sizeof s));
}
