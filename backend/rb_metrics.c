/*
 * rb_metrics.c -- counters of ddns-backend and their /metrics listener.
 *
 * A request is classified by scanning its raw line for the "method" and
 * "qtype" string members: no JSON parse on the hot path.  Names outside
 * the fixed tables count as "other", so label values are never taken from
 * the request.
 */
#include "rb_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "prom.h"

#define METRICS_HEADERS_MAX 4096
#define METRICS_TIMEOUT	    10 /* seconds */

static const char *const methods[] = {
    "initialize",
    "lookup",
    "list",
    "getAllDomains",
    "getDomainInfo",
    "getAllDomainMetadata",
    "getDomainMetadata",
    "setDomainMetadata",
    "getUpdatedMasters",
    "setNotified",
    "getDomainKeys",
    "addDomainKey",
    "getBeforeAndAfterNamesAbsolute",
    "other",
};
#define N_METHODS (sizeof methods / sizeof methods[0])
#define M_LOOKUP  1

static const char *const qtypes[] = {
    "A",   "AAAA", "ANY", "SOA", "NS",	   "CNAME",
    "TXT", "MX",   "CAA", "DS",	 "DNSKEY", "other",
};
#define N_QTYPES (sizeof qtypes / sizeof qtypes[0])

struct rb_metrics {
	struct evhttp *http;
	struct ddns_prefix allow[DDNS_CONF_LIST_MAX];
	unsigned n_allow;
	uint64_t lookups[N_QTYPES];
	struct ddns_prom_hist latency[N_METHODS]; /* count: requests */
	struct ddns_buf out;
};

/* ---- classifying -------------------------------------------------------- */

/* The string value of member "KEY" in LINE, or NULL; *VLEN its length
 * (escapes are not decoded: the names we count have none). */
static const char *member(const char *line, size_t len, const char *key,
			  size_t *vlen)
{
	size_t klen = strlen(key);
	const char *p = memmem(line, len, key, klen);
	const char *end = line + len, *q;

	if (!p)
		return NULL;
	for (p += klen; p < end && (*p == ' ' || *p == ':'); p++)
		;
	if (p >= end || *p++ != '"')
		return NULL;
	if (!(q = memchr(p, '"', (size_t)(end - p))))
		return NULL;
	*vlen = (size_t)(q - p);
	return p;
}

/* Index in TABLE of N names (the last is "other") of the LEN bytes at S. */
static unsigned find(const char *const *table, size_t n, const char *s,
		     size_t len, bool nocase)
{
	for (size_t i = 0; s && i + 1 < n; i++)
		if (strlen(table[i]) == len &&
		    (nocase ? strncasecmp(table[i], s, len)
			    : memcmp(table[i], s, len)) == 0)
			return (unsigned)i;
	return (unsigned)n - 1;
}

void rb_metrics_observe(rb_metrics *m, const char *req, size_t len, uint64_t ns)
{
	size_t mlen = 0, qlen = 0;
	const char *mv = member(req, len, "\"method\"", &mlen);
	unsigned mi = find(methods, N_METHODS, mv, mlen, false);

	ddns_prom_observe(&m->latency[mi], ns);
	if (mi == M_LOOKUP) {
		const char *qv = member(req, len, "\"qtype\"", &qlen);
		m->lookups[find(qtypes, N_QTYPES, qv, qlen, true)]++;
	}
}

/* ---- the exposition ----------------------------------------------------- */

static void write_all(rb_metrics *m, struct ddns_buf *b)
{
	char label[64];

	ddns_prom_header(b, "ddns_backend_requests_total", "counter",
			 "remote backend requests from pdns by method");
	for (size_t i = 0; i < N_METHODS; i++)
		ddns_buf_printf(b,
				"ddns_backend_requests_total{method=\"%s\"} "
				"%llu\n",
				methods[i],
				(unsigned long long)m->latency[i].count);
	ddns_prom_header(b, "ddns_backend_lookups_total", "counter",
			 "lookup requests by query type");
	for (size_t i = 0; i < N_QTYPES; i++)
		ddns_buf_printf(b,
				"ddns_backend_lookups_total{qtype=\"%s\"} "
				"%llu\n",
				qtypes[i], (unsigned long long)m->lookups[i]);
	ddns_prom_header(b, "ddns_backend_request_duration_seconds",
			 "histogram",
			 "time to answer one request (store read and reply "
			 "encoding), by method");
	for (size_t i = 0; i < N_METHODS; i++) {
		snprintf(label, sizeof label, "method=\"%s\"", methods[i]);
		ddns_prom_hist(b, "ddns_backend_request_duration_seconds",
			       label, &m->latency[i]);
	}
}

static void reply(struct evhttp_request *req, int status, const char *type,
		  const char *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(evhttp_request_get_output_buffer(req), data, len);
	evhttp_send_reply(req, status, NULL, NULL);
}

static bool allowed(const rb_metrics *m, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa =
	    evcon ? evhttp_connection_get_addr(evcon) : NULL;
	struct ddns_addr a;

	if (!sa || ddns_addr_from_sockaddr(sa, &a) != 0)
		return false;
	for (unsigned i = 0; i < m->n_allow; i++)
		if (ddns_prefix_match(&m->allow[i], &a))
			return true;
	return false;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	rb_metrics *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	static const char text[] = "text/plain; charset=utf-8";

	if (!allowed(m, req)) {
		reply(req, 403, text, "forbidden\n", 10);
		return;
	}
	if (!path || strcmp(path, "/metrics") != 0) {
		reply(req, 404, text, "not found\n", 10);
		return;
	}
	ddns_buf_reset(&m->out);
	write_all(m, &m->out);
	if (m->out.failed) {
		ddns_buf_free(&m->out);
		reply(req, 500, text, "out of memory\n", 14);
		return;
	}
	reply(req, 200, DDNS_PROM_CONTENT_TYPE, m->out.data, m->out.len);
}

/* ---- setup -------------------------------------------------------------- */

static int set_allow(rb_metrics *m, const struct ddns_conf_list *l, char *err,
		     size_t errlen)
{
	static const char *const loopback[] = {"127.0.0.0/8", "::1"};
	unsigned n = l->n > 0 ? l->n : 2;

	for (unsigned i = 0; i < n && i < DDNS_CONF_LIST_MAX; i++) {
		const char *v = l->n > 0 ? l->v[i] : loopback[i];
		if (ddns_prefix_parse(v, &m->allow[i]) != 0) {
			snprintf(err, errlen,
				 "[backend] metrics_allow: bad prefix '%s'", v);
			return DDNS_EINVAL;
		}
		m->n_allow = i + 1;
	}
	return 0;
}

static int bind_one(rb_metrics *m, struct event_base *base, const char *spec,
		    char *err, size_t errlen)
{
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC;
	struct evconnlistener *lev;
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (ddns_hostport_parse(spec, &ss, &sslen) != 0) {
		snprintf(err, errlen,
			 "[backend] metrics_listen: bad address '%s'", spec);
		return DDNS_EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	lev = evconnlistener_new_bind(base, NULL, NULL, flags, 16,
				      (const struct sockaddr *)&ss, (int)sslen);
	if (!lev) {
		snprintf(err, errlen, "cannot listen on %s for metrics: %s",
			 spec, strerror(errno));
		return DDNS_EIO;
	}
	if (!evhttp_bind_listener(m->http, lev)) {
		evconnlistener_free(lev);
		return DDNS_ENOMEM;
	}
	log_info("metrics on http://%s/metrics", spec);
	return 0;
}

int rb_metrics_new(struct event_base *base, const struct ddns_conf *conf,
		   rb_metrics **out, char *err, size_t errlen)
{
	rb_metrics *m = calloc(1, sizeof *m);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!m || !(m->http = evhttp_new(base)))
		goto fail;
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, METRICS_TIMEOUT);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(m->http, on_request, m);
	if ((rc = set_allow(m, &conf->backend_metrics_allow, err, errlen)) != 0)
		goto fail;
	for (unsigned i = 0; i < conf->backend_metrics_listen.n; i++)
		if ((rc = bind_one(m, base, conf->backend_metrics_listen.v[i],
				   err, errlen)) != 0)
			goto fail;
	*out = m;
	return 0;
fail:
	rb_metrics_free(m);
	return rc;
}

void rb_metrics_free(rb_metrics *m)
{
	if (!m)
		return;
	if (m->http)
		evhttp_free(m->http);
	ddns_buf_free(&m->out);
	free(m);
}
