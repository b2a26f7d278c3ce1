/*
 * metrics.c -- /metrics and /healthz of ddns-updater.
 *
 * /healthz is 200 "ok" only when an update could be stored now: the store
 * directory is writable, the map has headroom, and a probe write
 * transaction commits (store_stats.c).  Anything else is 503 with the
 * reason on one line, so a monitor or a load balancer can act on it.
 */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "buf.h"
#include "dyndns2.h"
#include "err.h"
#include "log.h"
#include "prom.h"
#include "proxy.h"

#define N_CODES (DDNS_D2_911 + 1) /* index: enum ddns_d2_code */
/* /healthz fails when less than 1/HEADROOM_DIV of the map is left (at
 * least HEADROOM_PAGES pages): updates would soon answer 911. */
#define HEADROOM_DIV   50
#define HEADROOM_PAGES 16

struct ddns_metrics {
	ddns_store *store;
	char *store_path;
	struct ddns_proxies allow; /* metrics_allow, or loopback */
	time_t started;
	uint64_t results[N_CODES]; /* reply lines by code */
	uint64_t auth_failures, rate_limited, commit_failures;
	struct ddns_prom_hist latency;
	struct ddns_buf out; /* reused for each exposition */
};

int ddns_metrics_new(ddns_metrics **out, ddns_store *store,
		     const struct ddns_conf *conf, char *err, size_t errlen)
{
	static const struct ddns_conf_list loopback = {
	    2, {(char *)"127.0.0.0/8", (char *)"::1"}};
	ddns_metrics *m = calloc(1, sizeof *m);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!m || !(m->store_path = strdup(conf->store_path)))
		goto fail;
	m->store = store;
	m->started = time(NULL);
	rc = ddns_proxies_init(&m->allow,
			       conf->updater_metrics_allow.n > 0
				   ? &conf->updater_metrics_allow
				   : &loopback,
			       err, errlen);
	if (rc != 0)
		goto fail;
	*out = m;
	return 0;
fail:
	ddns_metrics_free(m);
	return rc;
}

void ddns_metrics_free(ddns_metrics *m)
{
	if (!m)
		return;
	ddns_buf_free(&m->out);
	free(m->store_path);
	free(m);
}

void ddns_metrics_update(ddns_metrics *m, const uint8_t *codes, unsigned n,
			 uint64_t ns)
{
	bool badauth = false;

	for (unsigned i = 0; i < n; i++) {
		unsigned c = codes[i] < N_CODES ? codes[i] : DDNS_D2_911;
		m->results[c]++;
		badauth = badauth || c == DDNS_D2_BADAUTH;
	}
	m->auth_failures += badauth;
	ddns_prom_observe(&m->latency, ns);
}

void ddns_metrics_rate_limited(ddns_metrics *m)
{
	m->rate_limited++;
}

void ddns_metrics_commit_failed(ddns_metrics *m)
{
	m->commit_failures++;
}

/* ---- the exposition ----------------------------------------------------- */

static void write_counter(struct ddns_buf *b, const char *name,
			  const char *help, uint64_t v)
{
	ddns_prom_header(b, name, "counter", help);
	ddns_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void write_gauge(struct ddns_buf *b, const char *name, const char *help,
			uint64_t v)
{
	ddns_prom_header(b, name, "gauge", help);
	ddns_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

static void write_updates(ddns_metrics *m, struct ddns_buf *b)
{
	ddns_prom_header(b, "ddns_updater_updates_total", "counter",
			 "dyndns2 reply lines by result code (one per "
			 "hostname of a request)");
	for (int c = DDNS_D2_GOOD; c < N_CODES; c++)
		ddns_buf_printf(b,
				"ddns_updater_updates_total{result=\"%s\"} "
				"%llu\n",
				ddns_d2_code_str(c),
				(unsigned long long)m->results[c]);
	write_counter(b, "ddns_updater_auth_failures_total",
		      "dyndns2 requests answered badauth", m->auth_failures);
	write_counter(b, "ddns_updater_rate_limited_total",
		      "dyndns2 requests refused with 429 before their secret "
		      "was checked",
		      m->rate_limited);
	write_counter(b, "ddns_updater_commit_failures_total",
		      "group commits that failed (their updates answered 911)",
		      m->commit_failures);
	ddns_prom_header(b, "ddns_updater_update_duration_seconds", "histogram",
			 "time from a complete dyndns2 request to its reply");
	ddns_prom_hist(b, "ddns_updater_update_duration_seconds", "",
		       &m->latency);
}

static void write_store(ddns_metrics *m, struct ddns_buf *b)
{
	struct ddns_store_stats st;

	if (ddns_store_stats(m->store, &st) != 0) {
		write_gauge(b, "ddns_store_up",
			    "1 when the store statistics "
			    "could be read",
			    0);
		return;
	}
	write_gauge(b, "ddns_store_up",
		    "1 when the store statistics could be read", 1);
	write_gauge(b, "ddns_store_map_size_bytes",
		    "largest size the store may grow to ([store] map_size)",
		    st.map_size);
	write_gauge(b, "ddns_store_used_bytes",
		    "bytes of the map in use (pages up to the last one "
		    "written)",
		    st.used_bytes);
	write_gauge(b, "ddns_store_hosts", "hosts in the store", st.hosts);
	write_gauge(b, "ddns_store_zones", "zones in the store", st.zones);
	write_gauge(b, "ddns_store_readers",
		    "LMDB reader slots in use (all processes)", st.readers);
	write_gauge(b, "ddns_store_max_readers", "LMDB reader slots",
		    st.max_readers);
	write_counter(b, "ddns_store_transactions_total",
		      "id of the last committed write transaction",
		      st.last_txnid);
}

static void send_body(struct evhttp_request *req, int status, const char *type,
		      const char *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char clen[24];

	snprintf(clen, sizeof clen, "%zu", len);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Content-Length", clen);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(evhttp_request_get_output_buffer(req), data, len);
	evhttp_send_reply(req, status, NULL, NULL);
}

static void send_plain(struct evhttp_request *req, int status, const char *text)
{
	send_body(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void serve_metrics(ddns_metrics *m, struct evhttp_request *req)
{
	struct ddns_buf *b = &m->out;

	ddns_buf_reset(b);
	write_updates(m, b);
	write_store(m, b);
	write_gauge(b, "ddns_updater_start_time_seconds",
		    "Unix time the updater started", (uint64_t)m->started);
	if (b->failed) {
		ddns_buf_free(b);
		send_plain(req, 500, "out of memory\n");
		return;
	}
	send_body(req, 200, DDNS_PROM_CONTENT_TYPE, b->data, b->len);
}

/* ---- health ------------------------------------------------------------- */

/* NULL when an update could be stored now, else why not (static text or
 * WHY). */
static const char *unhealthy(ddns_metrics *m, char *why, size_t cap)
{
	struct ddns_store_stats st;
	uint64_t headroom;
	int rc;

	if (access(m->store_path, W_OK) != 0) {
		snprintf(why, cap, "store directory not writable: %s",
			 strerror(errno));
		return why;
	}
	if (ddns_store_stats(m->store, &st) != 0)
		return "store statistics cannot be read";
	headroom = st.map_size / HEADROOM_DIV;
	if (headroom < HEADROOM_PAGES * st.page_size)
		headroom = HEADROOM_PAGES * st.page_size;
	if (st.used_bytes + headroom > st.map_size)
		return "store nearly full: raise [store] map_size";
	if ((rc = ddns_store_probe_write(m->store)) != 0) {
		snprintf(why, cap, "store write failed: %s", ddns_strerror(rc));
		return why;
	}
	return NULL;
}

static void serve_health(ddns_metrics *m, struct evhttp_request *req)
{
	char why[160], line[176];
	const char *bad = unhealthy(m, why, sizeof why);

	if (!bad) {
		send_plain(req, 200, "ok\n");
		return;
	}
	log_warn("healthz: %s", bad);
	snprintf(line, sizeof line, "%s\n", bad);
	send_plain(req, 503, line);
}

static bool allowed(const ddns_metrics *m, const struct ddns_addr *a)
{
	return ddns_proxies_trusted(&m->allow, a);
}

bool ddns_metrics_handle(ddns_metrics *m, const struct ddns_http_ctx *ctx)
{
	bool is_metrics =
	    ctx->plen == 8 && memcmp(ctx->path, "/metrics", 8) == 0;
	bool is_health =
	    ctx->plen == 8 && memcmp(ctx->path, "/healthz", 8) == 0;

	if (!is_metrics && !is_health)
		return false;
	if (!allowed(m, &ctx->client)) {
		log_debug("%s refused to %s (not in metrics_allow)",
			  is_metrics ? "/metrics" : "/healthz",
			  ctx->client_text);
		send_plain(ctx->req, 403, "forbidden\n");
	} else if (ctx->method != EVHTTP_REQ_GET &&
		   ctx->method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(ctx->req),
				  "Allow", "GET, HEAD");
		send_plain(ctx->req, 405, "method not allowed\n");
	} else if (is_metrics) {
		serve_metrics(m, ctx->req);
	} else {
		serve_health(m, ctx->req);
	}
	return true;
}
