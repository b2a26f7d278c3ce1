/*
 * server.c -- ddns-updater's evhttp server.
 *
 * A request is parsed, authenticated and judged at once against a read
 * snapshot (dyndns2.c); answers that need no write (badauth, nochg, ...)
 * go out immediately.  Updates are queued, and a one-shot event activated
 * by the first of them commits the whole queue of this loop iteration in
 * one write transaction (group commit), then answers each and hands the
 * changed names to the purger.  No transaction is held across network I/O.
 *
 * Connections: conns.c limits them (in all, per source, and the time to
 * a complete request); our bufferevent callbacks (evhttp_set_bevcb) hand
 * it every accepted connection, on_request tells it when a request is
 * complete.
 *
 * HTTPS: a second evhttp serves the tls_listen addresses with the same
 * handlers; its bufferevent callback wraps each socket in an OpenSSL
 * bufferevent made from the current context of tls.c, which SIGHUP
 * replaces (ddns_server_reload) without touching open connections.  The
 * connection limits count both kinds.  A request is TLS when its
 * connection's bufferevent has an SSL object; proxy.c then lets a trusted
 * proxy's headers name the client address and TLS-ness, which travels in
 * ddns_d2_req.tls to the host's DDNS_HOST_TLS4/6 marks.
 *
 * Portal: any other path is handed, as a struct ddns_http_ctx, to the
 * API, the EGI endpoints, the OpenID redirects or the static files.  Their
 * slow work (scrypt on the worker threads, an identity provider's reply)
 * holds the request without blocking the loop.  /nic/update with
 * "Authorization: Bearer" is judged here: the token's user must own the
 * host (ddns_d2_decide_host); then it joins the same group commit.
 *
 * Abuse: the fault a request ends in (nochg, dnserr, badauth...) is queued
 * after its reply and counted by the next group commit, never by a
 * transaction of its own; a host flagged for abuse there is purged like an
 * update.  Failed authentications are limited in memory per source and per
 * host (ratelimit.c): over a limit, a request gets 429 before its secret
 * is verified.
 */
#include "server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "acme.h"
#include "addr.h"
#include "api.h"
#include "auth.h"
#include "buf.h"
#include "conns.h"
#include "dyndns2.h"
#include "err.h"
#include "http_util.h"
#include "log.h"
#include "metrics.h"
#include "nicapi.h"
#include "oidc.h"
#include "portal_files.h"
#include "prom.h"
#include "proxy.h"
#include "ratelimit.h"
#include "tls.h"
#include "worker.h"

#define MAX_HEADERS_SIZE 8192 /* request line and headers, each */
/* evhttp's own cap on a body; below it each handler applies its own
 * (DDNS_D2_INPUT_MAX for a form, DDNS_HTTP_BODY_MAX for JSON) and answers
 * 413 in its own format */
#define MAX_BODY_SIZE	   (4 * DDNS_HTTP_BODY_MAX)
#define WORKER_THREADS	   2 /* password hashing, pdns REDISCOVER */
#define LISTEN_BACKLOG	   511
#define LIMIT_LOG_INTERVAL 60	/* seconds between two warnings */
#define FAULTS_MAX	   1024 /* fault records queued for one commit */

/* How a request reached us, besides the client address. */
struct origin {
	bool tls;		/* the client's own connection was TLS */
	struct ddns_addr proxy; /* the trusted proxy that relayed it;
				    family 0: none */
};

struct update_job {
	struct evhttp_request *req;
	struct ddns_d2_plan plan;
	char client[DDNS_ADDR_STRLEN];
	char proxy[DDNS_ADDR_STRLEN]; /* "" when direct */
	uint64_t start_ns;	      /* arrival, for the latency */
};

struct ddns_server {
	struct event_base *base;
	ddns_store *store;
	ddns_purger *purger;
	struct evhttp *http;  /* plain listeners */
	struct evhttp *https; /* TLS listeners; NULL without tls_listen */
	ddns_tls *tls;
	struct ddns_proxies proxies;
	time_t proxy_logged; /* last "bad forwarding header" warning */
	ddns_conns *conns;   /* connection limits */
	/* group commit */
	struct update_job **queue;
	size_t nqueue, capqueue;
	struct event *commit_ev;
	ddns_worker *committer; /* one thread: the synced commits */
	bool committing;	/* a batch is on the committer */
	/* abuse: faults counted by the next commit, auth-failure limits */
	struct ddns_d2_fault *faults; /* FAULTS_MAX */
	struct ddns_d2_fault *spare;  /* FAULTS_MAX: faults of the batch on
					 the committer, or free */
	size_t nfaults, dropped;
	struct ddns_d2_policy policy;
	struct ddns_rl_conf rlconf;
	ddns_ratelimit *rl;
	/* the portal side: static files, JSON API, EGI endpoints, logins */
	ddns_worker *worker;
	ddns_oidc *oidc; /* NULL without [oidc] sections */
	ddns_auth *auth;
	ddns_api *api;
	ddns_nic *nic;
	ddns_acme *acme; /* DNS-01 challenges: httpreq, sweep (issue 7) */
	ddns_portal_files *files; /* NULL: the portal is not served */
	ddns_metrics *metrics;    /* /metrics, /healthz and their counters */
	/* scratch, reused by every request (the loop is single-threaded) */
	struct ddns_d2_req req;
	struct ddns_buf body;
};

/* ---- accepting ------------------------------------------------------- */

/* evhttp's bufferevent callback: one call per accepted socket. */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
	struct ddns_server *srv = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

	return bev ? ddns_conns_track(srv->conns, bev) : NULL;
}

/* The same for a TLS listener: the handshake starts once evhttp gives the
 * bufferevent its socket.  Returning NULL would make evhttp speak plain
 * HTTP on this socket; on_request refuses such a connection. */
static struct bufferevent *on_accept_tls(struct event_base *base, void *arg)
{
	struct ddns_server *srv = arg;
	struct bufferevent *bev;
	SSL *ssl;

	if (!(ssl = ddns_tls_ssl_new(srv->tls)))
		return NULL;
	bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	/* a client closing without close_notify is just a close */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return ddns_conns_track(srv->conns, bev);
}

static void on_resume_listener(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/* accept() failed (EMFILE...): pause that listener for a second rather
 * than spin.  Called with evhttp's argument, so the server is unknown; an
 * early resume is corrected by the next accept (conns.c). */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	static const struct timeval one_second = {1, 0};
	int err = EVUTIL_SOCKET_ERROR();

	log_err("accept failed: %s; pausing that listener for 1 s",
		evutil_socket_error_to_string(err));
	evconnlistener_disable(lev);
	event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT,
			on_resume_listener, lev, &one_second);
}

/* ---- replies ---------------------------------------------------------- */

/* A complete text/plain reply with Content-Length (libevent omits it for
 * HTTP/1.0 clients that do not ask for keep-alive).  A reply to HEAD ends
 * after its headers (libevent would send the body anyway): a body there
 * would be read as the next reply on a kept-alive connection. */
static void send_text(struct evhttp_request *req, int status, const char *text,
		      size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char clen[24];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD &&
	    evbuffer_add(out, text, len) != 0) {
		status = 500;
		len = evbuffer_get_length(out);
	}
	snprintf(clen, sizeof clen, "%zu", len);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Content-Length", clen);
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (status == 401)
		evhttp_add_header(h, "WWW-Authenticate",
				  "Basic realm=\"ddns\"");
	evhttp_send_reply(req, status, NULL, NULL);
}

static void send_str(struct evhttp_request *req, int status, const char *text)
{
	send_text(req, status, text, strlen(text));
}

static void log_result(const struct update_job *job, const struct ddns_buf *b,
		       uint64_t ns)
{
	char line[200];
	size_t n = b->len < sizeof line - 1 ? b->len : sizeof line - 1;

	if (n > 0)
		memcpy(line, b->data, n);
	line[n] = '\0';
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ';';
	log_info("update from %s%s%s%s for %s: %s (%llu.%03llu ms)",
		 job->client, job->proxy[0] ? " via " : "", job->proxy,
		 job->plan.upd.tls ? " over TLS" : "",
		 job->plan.upd.fqdn[0] ? job->plan.upd.fqdn : "(unknown user)",
		 line, (unsigned long long)(ns / 1000000),
		 (unsigned long long)(ns / 1000 % 1000));
}

/* Answer JOB from its (final) plan and free it. */
static void finish_job(struct ddns_server *srv, struct update_job *job)
{
	int status = ddns_d2_format(&job->plan, &srv->body);
	uint64_t ns = ddns_prom_now_ns() - job->start_ns;

	if (srv->body.failed) {
		status = 200;
		ddns_buf_reset(&srv->body);
		ddns_buf_adds(&srv->body, "911");
	}
	ddns_metrics_update(srv->metrics, job->plan.code, job->plan.n, ns);
	log_result(job, &srv->body, ns);
	send_text(job->req, status, srv->body.data ? srv->body.data : "",
		  srv->body.len);
	free(job);
}

/* ---- abuse: fault counting, failed-authentication limits -------------- */

/* Seconds of a clock that only goes forward, for the limiter. */
static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static int abuse_init(struct ddns_server *srv, const struct ddns_conf *conf)
{
	srv->policy.client_faults = conf->abuse_client_faults;
	srv->policy.fault_window = conf->abuse_fault_window;
	srv->rlconf.per_source = conf->abuse_auth_per_source;
	srv->rlconf.per_host = conf->abuse_auth_per_host;
	srv->rlconf.window = conf->abuse_auth_window;
	srv->faults = calloc(FAULTS_MAX, sizeof *srv->faults);
	srv->spare = calloc(FAULTS_MAX, sizeof *srv->spare);
	srv->rl = ddns_rl_new(&srv->rlconf);
	return srv->faults && srv->spare && srv->rl ? 0 : DDNS_ENOMEM;
}

/* Queue F (if it is one) for the next group commit: counting a fault
 * never costs a transaction of its own.  Dropped when the queue is full. */
static void queue_fault(struct ddns_server *srv, const struct ddns_d2_fault *f)
{
	if (f->kind == DDNS_FAULT_NONE || !f->fqdn[0])
		return;
	if (srv->nfaults == FAULTS_MAX) {
		srv->dropped++;
		return;
	}
	srv->faults[srv->nfaults++] = *f;
	event_active(srv->commit_ev, EV_TIMEOUT, 1);
}

static void server_fault(struct ddns_server *srv, const char *fqdn, int rc)
{
	struct ddns_d2_fault f;
	char text[64];

	snprintf(text, sizeof text, "911: %s", ddns_strerror(rc));
	ddns_d2_fault_set(&f, fqdn, DDNS_FAULT_SERVER, text);
	queue_fault(srv, &f);
}

/*
 * Refuse with 429 and Retry-After, before its secret is verified, a
 * request whose source or host has used up its failed authentications.
 * The body is "abuse", the dyndns2 code for "stop sending"; it holds none
 * of the words clients take for success.
 */
static bool rate_limited(struct ddns_server *srv, struct evhttp_request *req,
			 const struct ddns_addr *client, const char *text)
{
	char fqdn[DDNS_NAME_BUF], secs[16];
	unsigned wait;

	ddns_d2_username(&srv->req, fqdn);
	wait = ddns_rl_check(srv->rl, client, fqdn, mono_now());
	if (wait == 0)
		return false;
	/* FQDN is not known to exist yet: it may be a secret, never logged */
	log_debug("update from %s: too many failed authentications; 429 for "
		  "%u s",
		  text, wait);
	ddns_metrics_rate_limited(srv->metrics);
	snprintf(secs, sizeof secs, "%u", wait);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
			  secs);
	send_str(req, 429, "abuse");
	return true;
}

/* Tell the limiter how JOB's authentication went (when JUDGED: a store
 * error is no failure of the client's), and queue its fault. */
static void count_request(struct ddns_server *srv, const struct update_job *job,
			  const struct ddns_addr *client, bool judged)
{
	const struct ddns_d2_plan *p = &job->plan;
	int reached = 0;

	if (judged && p->authed)
		ddns_rl_success(srv->rl, client, p->upd.fqdn, mono_now());
	else if (judged && p->cred_given)
		reached = ddns_rl_failure(
		    srv->rl, client, p->known ? p->upd.fqdn : NULL, mono_now());
	if (reached & DDNS_RL_SOURCE_REACHED)
		log_warn("%s: %u failed authentications within %u s; its "
			 "requests get 429 until that window ends",
			 job->client, srv->rlconf.per_source,
			 srv->rlconf.window);
	if (reached & DDNS_RL_HOST_REACHED)
		log_warn("host %s: %u failed authentications within %u s; "
			 "only its recent good sources are heard until that "
			 "window ends",
			 p->upd.fqdn, srv->rlconf.per_host, srv->rlconf.window);
	queue_fault(srv, &p->fault);
}

/* ---- group commit ----------------------------------------------------- */

/* A host's answers changed: drop them from pdns's caches (purge.h has
 * the policy; a wildcard host's answers are cached under every name
 * asked for below it). */
static void purge_host(struct ddns_server *srv, const char *fqdn,
		       const char *zone, bool wildcard)
{
	ddns_purger_add_host(srv->purger, fqdn, zone, wildcard);
}

/* A host just flagged for abuse: its records are withdrawn (and its
 * zone's serial raised), so drop its answers from pdns's caches. */
static void abuse_flagged(struct ddns_server *srv, const char *fqdn,
			  const char *zone, bool wildcard)
{
	log_warn("host %s flagged for abuse: more than %u client faults "
		 "within %u s; its records are withdrawn until "
		 "'ddnsctl host clear-abuse %s'",
		 fqdn, srv->policy.client_faults, srv->policy.fault_window,
		 fqdn);
	purge_host(srv, fqdn, zone, wildcard);
}

/*
 * A batch of the group commit: the queued jobs' updates and the queued
 * faults, written in one synced transaction on the committer thread while
 * the loop goes on judging new requests (they form the next batch).  The
 * batch owns its jobs and its faults array until commit_done; the thread
 * touches only the batch and the store (LMDB with MDB_NOTLS: read
 * snapshots of the loop thread and the thread's write transaction may
 * overlap; store.c lets another thread's write wait for LMDB's lock).
 */
struct commit {
	struct ddns_server *srv;
	ddns_store *store;
	struct update_job **jobs;
	struct ddns_d2_update **batch;
	size_t n, nf;
	struct ddns_d2_fault *faults;
	struct ddns_d2_policy policy;
	int64_t now;
	int rc;
	bool ran; /* commit_run has run (read after the thread is done) */
};

/* On the committer thread (or inline): write the batch, durable on
 * return when rc is 0. */
static void commit_run(void *arg)
{
	struct commit *c = arg;

	c->rc = ddns_d2_commit_batch(c->store, c->batch, c->n, c->faults, c->nf,
				     &c->policy, c->now);
	c->ran = true;
}

/* Take the queued jobs and faults into a new batch (NULL: no memory; the
 * queues are then left alone). */
static struct commit *commit_take(struct ddns_server *srv)
{
	struct commit *c = calloc(1, sizeof *c);

	if (!c || (srv->nqueue > 0 &&
		   !(c->batch = calloc(srv->nqueue, sizeof *c->batch)))) {
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->store = srv->store;
	c->jobs = srv->queue;
	c->n = srv->nqueue;
	for (size_t i = 0; i < c->n; i++)
		c->batch[i] = &c->jobs[i]->plan.upd;
	c->faults = srv->faults;
	c->nf = srv->nfaults;
	c->policy = srv->policy;
	c->now = (int64_t)time(NULL);
	/* requests arriving meanwhile start new queues */
	srv->faults = srv->spare;
	srv->spare = NULL;
	srv->queue = NULL;
	srv->nqueue = srv->capqueue = srv->nfaults = 0;
	return c;
}

static void commit_log(struct ddns_server *srv, const struct commit *c)
{
	if (c->rc != 0) {
		ddns_metrics_commit_failed(srv->metrics);
		log_err("storing %zu update(s) and %zu fault(s) failed: %s",
			c->n, c->nf, ddns_strerror(c->rc));
	} else {
		log_debug("committed a batch of %zu update(s) and %zu "
			  "fault(s)",
			  c->n, c->nf);
	}
	if (srv->dropped > 0)
		log_warn("%zu fault(s) not counted: more than %d in one batch",
			 srv->dropped, FAULTS_MAX);
	srv->dropped = 0;
}

/* Answer the N committed JOBS (RC: the commit's result), purge what
 * changed, and free JOBS. */
static void answer_jobs(struct ddns_server *srv, struct update_job **jobs,
			size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		struct update_job *job = jobs[i];
		const struct ddns_d2_update *u = &job->plan.upd;
		int code = rc != 0 ? DDNS_D2_911 : u->code;

		if (code == DDNS_D2_GOOD)
			purge_host(srv, u->fqdn, u->zone,
				   u->wildcard || u->txt_op != DDNS_D2_TXT_NONE);
		else if (rc == 0 && u->flagged)
			abuse_flagged(srv, u->fqdn, u->zone, u->wildcard);
		if (rc != 0)
			server_fault(srv, u->fqdn, rc);
		ddns_d2_plan_finish(&job->plan, code);
		finish_job(srv, job);
	}
	free(jobs);
}

/* On the loop thread: answer C's jobs, purge, free C; start the next
 * batch if one has queued up meanwhile.  At shutdown (CANCELLED) a batch
 * the thread did not take is written here. */
static void commit_done(void *arg, bool cancelled)
{
	struct commit *c = arg;
	struct ddns_server *srv = c->srv;

	if (!c->ran)
		commit_run(c);
	(void)cancelled;
	srv->committing = false;
	commit_log(srv, c);
	for (size_t i = 0; c->rc == 0 && i < c->nf; i++)
		if (c->faults[i].flagged)
			abuse_flagged(srv, c->faults[i].fqdn, c->faults[i].zone,
				      c->faults[i].wildcard);
	srv->spare = c->faults;
	answer_jobs(srv, c->jobs, c->n, c->rc); /* may queue faults */
	free(c->batch);
	free(c);
	if (srv->nqueue > 0 || srv->nfaults > 0)
		event_active(srv->commit_ev, EV_TIMEOUT, 1);
}

/* Group commit: everything queued goes to the committer thread as one
 * batch, unless a batch is there already (its end starts the next); with
 * no thread (shutdown) or no memory for it, the batch is written here. */
static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_server *srv = arg;
	struct commit *c;

	if ((srv->nqueue == 0 && srv->nfaults == 0) || srv->committing)
		return;
	if (!(c = commit_take(srv))) {
		struct update_job **jobs = srv->queue;
		size_t n = srv->nqueue;

		srv->queue = NULL;
		srv->nqueue = srv->capqueue = 0;
		answer_jobs(srv, jobs, n, DDNS_ENOMEM); /* 911 each */
		return;
	}
	if (srv->committer && ddns_worker_submit(srv->committer, commit_run,
						 commit_done, c, NULL) == 0) {
		srv->committing = true;
		return;
	}
	commit_run(c);
	commit_done(c, false);
}

static int enqueue(struct ddns_server *srv, struct update_job *job)
{
	if (srv->nqueue == srv->capqueue) {
		size_t cap = srv->capqueue ? srv->capqueue * 2 : 64;
		struct update_job **q = realloc(srv->queue, cap * sizeof *q);

		if (!q)
			return DDNS_ENOMEM;
		srv->queue = q;
		srv->capqueue = cap;
	}
	srv->queue[srv->nqueue++] = job;
	if (srv->nqueue == 1)
		event_active(srv->commit_ev, EV_TIMEOUT, 1);
	return 0;
}

/* ---- requests --------------------------------------------------------- */

static bool is_form(struct evhttp_request *req)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const size_t n = sizeof form - 1;
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return strncasecmp(ct, form, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

/* Query, form body and Authorization header into R. */
static int parse_request(struct ddns_d2_req *r, struct evhttp_request *req,
			 const char *query, size_t qlen)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t blen = evbuffer_get_length(body);
	const char *auth;
	int rc;

	if (query && (rc = ddns_d2_parse_form(r, query, qlen)) != 0)
		return rc;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && blen > 0 &&
	    is_form(req)) {
		const char *p;

		if (blen > DDNS_D2_INPUT_MAX)
			return DDNS_ETOOBIG;
		if (!(p = (const char *)evbuffer_pullup(body,
							(ev_ssize_t)blen)))
			return DDNS_ENOMEM;
		if ((rc = ddns_d2_parse_form(r, p, blen)) != 0)
			return rc;
	}
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
				  "Authorization");
	if (auth)
		ddns_d2_parse_auth(r, auth, strlen(auth));
	return 0;
}

/* HEAD must not change anything, and a GET would: 405, true (so for
 * PATCH, DELETE...).  False for GET and POST. */
static bool refuse_method(struct evhttp_request *req)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_POST)
		return false;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
			  "GET, POST");
	send_str(req, 405, "method not allowed");
	return true;
}

/* A new job for REQ from CLIENT, or NULL (REQ answered 911). */
static struct update_job *job_new(struct evhttp_request *req,
				  const struct ddns_addr *client,
				  const struct origin *o)
{
	struct update_job *job = calloc(1, sizeof *job);

	if (!job) {
		send_str(req, 200, "911");
		return NULL;
	}
	job->req = req;
	job->start_ns = ddns_prom_now_ns();
	ddns_addr_format(client, job->client, sizeof job->client);
	if (o->proxy.family != 0)
		ddns_addr_format(&o->proxy, job->proxy, sizeof job->proxy);
	return job;
}

/* Parse JOB's request into R.  False when it was answered (413 for an
 * oversized one, 911). */
static bool parse_update(struct ddns_d2_req *r, struct update_job *job,
			 bool tls, const char *query, size_t qlen)
{
	int rc;

	r->tls = tls;
	if ((rc = parse_request(r, job->req, query, qlen)) == 0)
		return true;
	if (rc == DDNS_ETOOBIG) {
		send_str(job->req, 413, "request too large");
	} else {
		log_err("update from %s: %s", job->client, ddns_strerror(rc));
		send_str(job->req, 200, "911");
	}
	return false;
}

/* Authenticate and validate srv->req on one read snapshot into
 * job->plan (a 911 plan after a store error), and count the outcome;
 * AUTH_ONLY: authenticate only (the ACME endpoints).  False when the
 * request was refused with 429 before that. */
static bool judge_update(struct ddns_server *srv, struct update_job *job,
			 const struct ddns_addr *client, bool auth_only)
{
	struct ddns_host h;
	ddns_txn *t = NULL;
	int rc;

	if (rate_limited(srv, job->req, client, job->client))
		return false;
	if ((rc = ddns_txn_begin(srv->store, false, &t)) == 0) {
		rc = auth_only ? ddns_d2_authenticate(t, &srv->req, client,
						      &job->plan, &h)
			       : ddns_d2_decide(t, &srv->req, client,
						&job->plan);
		ddns_txn_abort(t);
	}
	if (rc != 0) {
		log_err("update from %s: %s", job->client, ddns_strerror(rc));
		ddns_d2_plan_fail(&job->plan, rc);
	}
	count_request(srv, job, client, rc == 0);
	return true;
}

/* Queue JOB for the group commit, or answer it now when it writes
 * nothing (or cannot be queued: 911). */
static void store_or_reply(struct ddns_server *srv, struct update_job *job)
{
	if (job->plan.write) {
		if (enqueue(srv, job) == 0)
			return; /* on_commit answers */
		ddns_d2_plan_finish(&job->plan, DDNS_D2_911);
	}
	finish_job(srv, job);
}

/* ---- /nic/update with a bearer token ----------------------------------- */

/* An update authenticated by "Authorization: Bearer": its own parsed
 * request (identifying the caller may take a provider's reply, while
 * srv->req serves other requests). */
struct bearer_job {
	struct ddns_server *srv;
	struct update_job *job;
	struct ddns_addr client;
	struct ddns_d2_req r;
};

static bool is_bearer(struct evhttp_request *req)
{
	const char *a = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");

	while (a && (*a == ' ' || *a == '\t'))
		a++;
	return a && strncasecmp(a, "Bearer", 6) == 0 &&
	       (a[6] == ' ' || a[6] == '\t');
}

static void bearer_free(struct bearer_job *bj)
{
	ddns_d2_req_clear(&bj->r);
	free(bj);
}

/* A one-line plan answering CODE. */
static void plan_only(struct ddns_d2_plan *plan, int code)
{
	memset(plan, 0, sizeof *plan);
	plan->n = 1;
	plan->code[0] = (uint8_t)code;
}

/* The first name of the hostname list of R, normalised into FQDN;
 * false when there is none or it is not a valid name. */
static bool first_hostname(const struct ddns_d2_req *r,
			   char fqdn[DDNS_NAME_BUF])
{
	const struct ddns_d2_field *f = &r->param[DDNS_D2_P_HOSTNAME];
	const char *s = f->p, *comma;
	size_t len = f->set ? f->len : 0;

	if (len == 0)
		return false;
	if ((comma = memchr(s, ',', len)) != NULL)
		len = (size_t)(comma - s);
	while (len > 0 && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len > 0 && ddns_name_normalize(s, len, fqdn) == 0;
}

/* Judge BJ for caller C: notfqdn without a hostname, nohost for a host
 * that is not C's (admins: any), else as a Basic update would be. */
static void bearer_decide(struct bearer_job *bj, const struct ddns_caller *c)
{
	struct ddns_d2_plan *plan = &bj->job->plan;
	char fqdn[DDNS_NAME_BUF];
	struct ddns_host h;
	ddns_txn *t = NULL;
	int rc;

	if (!first_hostname(&bj->r, fqdn)) {
		plan_only(plan, DDNS_D2_NOTFQDN);
		return;
	}
	if ((rc = ddns_txn_begin(bj->srv->store, false, &t)) == 0) {
		rc = ddns_host_get(t, fqdn, &h);
		ddns_txn_abort(t);
	}
	if (rc == DDNS_ENOTFOUND || (rc == 0 && !ddns_caller_admin(c) &&
				     (h.owner == 0 || h.owner != c->user.id))) {
		plan_only(plan, DDNS_D2_NOHOST);
	} else if (rc != 0) {
		log_err("update from %s: %s", bj->job->client,
			ddns_strerror(rc));
		plan_only(plan, DDNS_D2_911);
	} else {
		ddns_d2_decide_host(&bj->r, &h, &bj->client, plan);
		plan->upd.tls = bj->r.tls;
	}
}

static void on_bearer_caller(const struct ddns_caller *c, int status, void *arg)
{
	struct bearer_job *bj = arg;
	struct ddns_server *srv = bj->srv;
	struct update_job *job = bj->job;

	if (status == DDNS_AUTH_CANCELLED) {
		free(job);
		bearer_free(bj);
		return;
	}
	if (status == 500)
		plan_only(&job->plan, DDNS_D2_911);
	else if (status != 0 || c->kind == DDNS_CALLER_NONE)
		plan_only(&job->plan, DDNS_D2_BADAUTH);
	else
		bearer_decide(bj, c);
	queue_fault(srv, &job->plan.fault);
	bearer_free(bj);
	store_or_reply(srv, job);
}

static void handle_bearer_update(struct ddns_server *srv,
				 struct update_job *job,
				 const struct ddns_http_ctx *ctx,
				 const struct origin *o, const char *query,
				 size_t qlen)
{
	struct bearer_job *bj = calloc(1, sizeof *bj);

	if (!bj) {
		send_str(job->req, 200, "911");
		free(job);
		return;
	}
	bj->srv = srv;
	bj->job = job;
	bj->client = ctx->client;
	bj->r.txt_ttl = srv->req.txt_ttl;
	bj->r.txt_max = srv->req.txt_max;
	if (!parse_update(&bj->r, job, o->tls, query, qlen)) {
		free(job);
		bearer_free(bj);
		return;
	}
	ddns_auth_identify(srv->auth, ctx, DDNS_AUTH_BEARER, on_bearer_caller,
			   bj, NULL);
}

/* parse -> authenticate and validate -> store -> reply */
static void handle_update(struct ddns_server *srv, struct evhttp_request *req,
			  const struct ddns_http_ctx *ctx,
			  const struct origin *o, const char *query,
			  size_t qlen)
{
	const struct ddns_addr *client = &ctx->client;
	struct update_job *job;
	bool go;

	if (refuse_method(req) || !(job = job_new(req, client, o)))
		return;
	if (is_bearer(req)) {
		handle_bearer_update(srv, job, ctx, o, query, qlen);
		return;
	}
	go = parse_update(&srv->req, job, o->tls, query, qlen) &&
	     judge_update(srv, job, client, false);
	ddns_d2_req_clear(&srv->req); /* wipes the password */
	if (go)
		store_or_reply(srv, job);
	else
		free(job);
}

static void handle_myip(struct evhttp_request *req,
			const struct ddns_addr *client)
{
	char a[DDNS_ADDR_STRLEN];

	if (client->family == 0) {
		send_str(req, 500, "unknown address");
		return;
	}
	send_str(req, 200, ddns_addr_format(client, a, sizeof a));
}

/* A trusted proxy's forwarding headers that we could not use. */
static void warn_proxy(struct ddns_server *srv, const struct ddns_addr *peer)
{
	char a[DDNS_ADDR_STRLEN];
	time_t now = time(NULL);

	ddns_addr_format(peer, a, sizeof a);
	if (now - srv->proxy_logged < LIMIT_LOG_INTERVAL) {
		log_debug("malformed X-Forwarded-For/X-Real-IP from %s", a);
		return;
	}
	srv->proxy_logged = now;
	log_warn("trusted proxy %s sent a malformed X-Forwarded-For or "
		 "X-Real-IP; its own address is used (said once a minute)",
		 a);
}

/* The believed client address of REQ and how it reached us.  DDNS_EINVAL
 * for a plain connection on a TLS listener (see on_accept_tls). */
static int request_origin(struct ddns_server *srv, struct evhttp_request *req,
			  struct ddns_addr *client, struct origin *o)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa =
	    evcon ? evhttp_connection_get_addr(evcon) : NULL;
	struct bufferevent *bev =
	    evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct ddns_addr peer;
	int rc;

	memset(o, 0, sizeof *o);
	if (!sa || ddns_addr_from_sockaddr(sa, &peer) != 0)
		memset(&peer, 0, sizeof peer);
	o->tls = bev && bufferevent_openssl_get_ssl(bev) != NULL;
	if (!o->tls && evcon && srv->https &&
	    evhttp_connection_get_server(evcon) == srv->https)
		return DDNS_EINVAL;
	rc = ddns_proxy_client(&srv->proxies, &peer,
			       evhttp_request_get_input_headers(req), client,
			       &o->tls);
	if (rc == DDNS_PROXY_FORWARDED)
		o->proxy = peer;
	else if (rc == DDNS_PROXY_MALFORMED)
		warn_proxy(srv, &peer);
	return 0;
}

/* CTX for REQ from CLIENT (how it came in O); false for a target that
 * is neither origin nor absolute form. */
static bool make_ctx(struct ddns_http_ctx *ctx, struct evhttp_request *req,
		     const char *uri, const struct ddns_addr *client,
		     const struct origin *o)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->req = req;
	ctx->client = *client;
	ddns_addr_format(client, ctx->client_text, sizeof ctx->client_text);
	ctx->tls = o->tls;
	ctx->method = (int)evhttp_request_get_command(req);
	return ddns_http_split_target(uri, strlen(uri), &ctx->path, &ctx->plen,
				      &ctx->query, &ctx->qlen) == 0;
}

static bool has_prefix(const struct ddns_http_ctx *ctx, const char *p)
{
	size_t n = strlen(p);

	return ctx->plen >= n && memcmp(ctx->path, p, n) == 0;
}

/* /oidc/login/{id} and /oidc/callback (GET only). */
static void handle_oidc(struct ddns_server *srv,
			const struct ddns_http_ctx *ctx)
{
	static const char login[] = "/oidc/login/";
	const size_t ln = sizeof login - 1;

	if (ctx->method != EVHTTP_REQ_GET) {
		ddns_http_bad_method(ctx->req, "GET");
	} else if (ctx->plen == 14 &&
		   memcmp(ctx->path, "/oidc/callback", 14) == 0) {
		ddns_auth_oidc_callback(srv->auth, ctx);
	} else if (ctx->plen > ln && has_prefix(ctx, login) &&
		   !memchr(ctx->path + ln, '/', ctx->plen - ln)) {
		ddns_auth_oidc_login(srv->auth, ctx, ctx->path + ln,
				     ctx->plen - ln);
	} else {
		ddns_http_error(ctx->req, 404, "no such path");
	}
}

/* Everything but the dyndns2 paths: the API, the EGI endpoints, the
 * OpenID redirects, the portal's files. */
static void handle_portal(struct ddns_server *srv,
			  const struct ddns_http_ctx *ctx)
{
	/* the path only: a query may hold an OpenID code or state */
	log_debug("%s %.*s from %s",
		  ctx->method == EVHTTP_REQ_GET	   ? "GET"
		  : ctx->method == EVHTTP_REQ_POST ? "POST"
		  : ctx->method == EVHTTP_REQ_HEAD ? "HEAD"
						   : "PATCH/DELETE",
		  (int)(ctx->plen < 200 ? ctx->plen : 200), ctx->path,
		  ctx->client_text);
	if (has_prefix(ctx, "/api/v1/") ||
	    (ctx->plen == 7 && has_prefix(ctx, "/api/v1")))
		ddns_api_handle(srv->api, ctx);
	else if (has_prefix(ctx, "/nic/")) {
		if (!ddns_nic_handle(srv->nic, ctx))
			send_str(ctx->req, 404, "not found");
	} else if (has_prefix(ctx, "/oidc/"))
		handle_oidc(srv, ctx);
	else
		ddns_portal_serve(srv->files, ctx->req, ctx->path, ctx->plen);
}

/* lego's httpreq: POST [acme] path/present or /cleanup (OP), Basic
 * authentication judged here as for /nic/update (429 limits, faults),
 * the rest in acme.c. */
static void handle_acme(struct ddns_server *srv,
			const struct ddns_http_ctx *ctx, const struct origin *o,
			int op)
{
	struct update_job *job;
	bool go;

	if (op == DDNS_ACME_UNKNOWN) {
		ddns_http_error(ctx->req, 404, "no such path");
		return;
	}
	if (ctx->method != EVHTTP_REQ_POST) {
		ddns_http_bad_method(ctx->req, "POST");
		return;
	}
	if (!(job = job_new(ctx->req, &ctx->client, o)))
		return;
	go = parse_update(&srv->req, job, o->tls, ctx->query, ctx->qlen) &&
	     judge_update(srv, job, &ctx->client, true);
	ddns_d2_req_clear(&srv->req); /* wipes the password */
	if (go)
		ddns_acme_httpreq(srv->acme, job->req, op, &job->plan,
				  job->client);
	free(job);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct ddns_server *srv = arg;
	const char *uri = evhttp_request_get_uri(req), *query;
	struct ddns_http_ctx ctx;
	struct ddns_addr client;
	struct origin o;
	size_t qlen;
	bool target_ok;
	int route;

	/* the request is complete: no deadline until its reply is out */
	if (!ddns_conns_request(srv->conns, req))
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Connection", "close"); /* untracked */
	if (request_origin(srv, req, &client, &o) != 0 || !uri) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Connection", "close");
		send_str(req, 400, "bad request");
		return;
	}
	target_ok = make_ctx(&ctx, req, uri, &client, &o);
	route = ddns_d2_route(uri, strlen(uri), &query, &qlen);
	if (route == DDNS_D2_ROUTE_UPDATE)
		handle_update(srv, req, &ctx, &o, query, qlen);
	else if (route == DDNS_D2_ROUTE_MYIP)
		handle_myip(req, &client);
	else if (!target_ok)
		send_str(req, 404, "not found");
	else if ((route = ddns_acme_route(srv->acme, ctx.path, ctx.plen)) !=
		 DDNS_ACME_NONE)
		handle_acme(srv, &ctx, &o, route);
	else if (!ddns_metrics_handle(srv->metrics, &ctx))
		handle_portal(srv, &ctx);
}

/* ---- setup ------------------------------------------------------------ */

/* Listen on SPEC, an entry of [updater] KEY, for HTTP. */
static int bind_one(struct ddns_server *srv, struct evhttp *http,
		    const char *key, const char *spec, char *err, size_t errlen)
{
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
	struct sockaddr_storage ss;
	struct evconnlistener *lev;
	socklen_t sslen;

	if (ddns_hostport_parse(spec, &ss, &sslen) != 0) {
		snprintf(err, errlen,
			 "[updater] %s: invalid address '%s' "
			 "(want ADDR:PORT or [IPV6]:PORT)",
			 key, spec);
		return DDNS_EINVAL;
	}
	if (ss.ss_family == AF_INET6) /* [::] and 0.0.0.0 may coexist */
		flags |= LEV_OPT_BIND_IPV6ONLY;
	lev = evconnlistener_new_bind(srv->base, NULL, NULL, flags,
				      LISTEN_BACKLOG, (struct sockaddr *)&ss,
				      (int)sslen);
	if (!lev) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
			 strerror(errno));
		return DDNS_EIO;
	}
	if (!evhttp_bind_listener(http, lev)) {
		evconnlistener_free(lev);
		lev = NULL;
	}
	if (!lev || ddns_conns_add_listener(srv->conns, lev) != 0) {
		snprintf(err, errlen, "cannot listen on %s: out of memory",
			 spec);
		return DDNS_ENOMEM;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	log_info("listening on %s%s", spec,
		 http == srv->https ? " (HTTPS)" : "");
	return 0;
}

static void set_limits(struct evhttp *http, const struct ddns_conf *conf)
{
	evhttp_set_max_headers_size(http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(http, MAX_BODY_SIZE);
	evhttp_set_timeout(
	    http, conf->updater_timeout ? (int)conf->updater_timeout : 10);
	evhttp_set_allowed_methods(
	    http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
		      EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	evhttp_set_default_content_type(http, "text/plain; charset=utf-8");
	/* read and drop an oversized body before closing, so the client
	 * sees the 413 instead of a reset */
	evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
}

/* A new evhttp in *HTTP serving the [updater] KEY addresses SPECS, with
 * ACCEPT making each connection's bufferevent. */
static int serve_on(struct ddns_server *srv, struct evhttp **http,
		    const char *key, const struct ddns_conf_list *specs,
		    struct bufferevent *(*accept)(struct event_base *, void *),
		    const struct ddns_conf *conf, char *err, size_t errlen)
{
	int rc;

	if (!(*http = evhttp_new(srv->base))) {
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	set_limits(*http, conf);
	evhttp_set_gencb(*http, on_request, srv);
	evhttp_set_bevcb(*http, accept, srv);
	for (unsigned i = 0; i < specs->n; i++)
		if ((rc = bind_one(srv, *http, key, specs->v[i], err,
				   errlen)) != 0)
			return rc;
	return 0;
}

static int setup_tls(struct ddns_server *srv, const struct ddns_conf *conf,
		     char *err, size_t errlen)
{
	int rc;

	if (conf->updater_tls_listen.n == 0)
		return 0;
	if (!conf->updater_tls_cert || !conf->updater_tls_key) {
		snprintf(err, errlen,
			 "[updater] tls_listen needs tls_cert and tls_key");
		return DDNS_EINVAL;
	}
	if ((rc = ddns_tls_new(&srv->tls, conf->updater_tls_cert,
			       conf->updater_tls_key, err, errlen)) != 0)
		return rc;
	return serve_on(srv, &srv->https, "tls_listen",
			&conf->updater_tls_listen, on_accept_tls, conf, err,
			errlen);
}

/* The connection limits.  The time to a complete request is [updater]
 * timeout, which ddns.conf.example documents as "the seconds a client may
 * take to send its request" (evhttp's own timeout is only an idle one). */
static int conns_init(struct ddns_server *srv, const struct ddns_conf *conf)
{
	struct ddns_conns_conf cc = {
	    .max = conf->updater_max_connections ? conf->updater_max_connections
						 : 1024,
	    .per_source = conf->updater_max_conns_per_source,
	    .deadline = conf->updater_timeout ? conf->updater_timeout : 10,
	};

	srv->conns = ddns_conns_new(srv->base, &cc, &srv->proxies);
	return srv->conns ? 0 : DDNS_ENOMEM;
}

/* The relying party of the [oidc ID] sections; none without them. */
static int oidc_init(struct ddns_server *srv, const struct ddns_conf *conf,
		     char *err, size_t errlen)
{
	struct ddns_oidc_provider_conf p[DDNS_CONF_OIDC_MAX];
	struct ddns_oidc_conf oc;
	char redirect[DDNS_OIDC_URL_MAX + 1];
	const char *pub = conf->portal_public_url;
	size_t n = pub ? strlen(pub) : 0;

	if (conf->n_oidc == 0)
		return 0;
	while (n > 0 && pub[n - 1] == '/')
		n--;
	if (n == 0 ||
	    (size_t)snprintf(redirect, sizeof redirect, "%.*s/oidc/callback",
			     (int)n, pub) >= sizeof redirect) {
		snprintf(err, errlen,
			 "[portal] public_url is required (and "
			 "short) with [oidc] sections");
		return DDNS_EINVAL;
	}
	memset(p, 0, sizeof p);
	for (unsigned i = 0; i < conf->n_oidc; i++) {
		const struct ddns_conf_oidc *c = &conf->oidc[i];

		p[i] = (struct ddns_oidc_provider_conf){
		    c->id,	     c->title,	       c->issuer,
		    c->client_id,    c->client_secret, c->scopes,
		    c->groups_claim, c->admin_group,   c->ca_file,
		    c->token_auth,   c->allow_http};
	}
	memset(&oc, 0, sizeof oc);
	oc.redirect_uri = redirect;
	oc.n_providers = conf->n_oidc;
	oc.providers = p;
	return ddns_oidc_new(&srv->oidc, srv->base, &oc, err, errlen);
}

/* The ACME module ([acme]); the challenge settings of /nic/update. */
static int acme_init(struct ddns_server *srv, const struct ddns_conf *conf,
		     char *err, size_t errlen)
{
	struct ddns_acme_conf ac = {srv->base, srv->store, srv->purger, conf};
	int rc = ddns_acme_new(&srv->acme, &ac, err, errlen);

	if (rc != 0)
		return rc;
	srv->req.txt_ttl = ddns_acme_ttl(srv->acme);
	srv->req.txt_max = ddns_acme_max(srv->acme);
	return 0;
}

/* The portal side: worker threads, OpenID, logins, API, files. */
static int portal_init(struct ddns_server *srv, const struct ddns_conf *conf,
		       char *err, size_t errlen)
{
	struct ddns_auth_conf ac = {srv->base, srv->store, NULL, NULL, conf};
	struct ddns_api_conf pc = {srv->base, srv->store, srv->purger, NULL,
				   NULL,      NULL,	  conf,	       NULL};
	struct ddns_nic_conf nc = {NULL, NULL, conf};
	int rc;

	if (!(srv->worker = ddns_worker_new(srv->base, WORKER_THREADS))) {
		snprintf(err, errlen, "cannot start the worker threads");
		return DDNS_ENOMEM;
	}
	if ((rc = oidc_init(srv, conf, err, errlen)) != 0)
		return rc;
	ac.worker = pc.worker = srv->worker;
	ac.oidc = pc.oidc = srv->oidc;
	if ((rc = ddns_auth_new(&srv->auth, &ac, err, errlen)) != 0)
		return rc;
	pc.auth = nc.auth = srv->auth;
	pc.acme = srv->acme;
	if ((rc = ddns_api_new(&srv->api, &pc, err, errlen)) != 0)
		return rc;
	nc.api = srv->api;
	if ((rc = ddns_nic_new(&srv->nic, &nc, err, errlen)) != 0)
		return rc;
	rc = ddns_portal_files_new(&srv->files, conf->portal_static_dir, err,
				   errlen);
	if (rc != 0 && conf->portal_static_dir)
		return rc;
	if (rc != 0)
		log_warn("the portal is not served: %s", err);
	else
		log_info("portal files from %s",
			 ddns_portal_files_dir(srv->files));
	return 0;
}

/* Free the portal side, in the order its pending work needs: worker jobs
 * first (their requests are still alive), then identifications. */
static void portal_free(struct ddns_server *srv)
{
	ddns_worker_free(srv->worker);
	srv->worker = NULL;
	ddns_auth_free(srv->auth);
	srv->auth = NULL;
	ddns_nic_free(srv->nic);
	ddns_api_free(srv->api);
	ddns_portal_files_free(srv->files);
	srv->nic = NULL;
	srv->api = NULL;
	srv->files = NULL;
}

int ddns_server_new(ddns_server **out, struct event_base *base,
		    ddns_store *store, ddns_purger *purger,
		    const struct ddns_conf *conf, char *err, size_t errlen)
{
	struct ddns_server *srv = calloc(1, sizeof *srv);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!srv)
		return rc;
	srv->base = base;
	srv->store = store;
	srv->purger = purger;
	if (!(srv->commit_ev = event_new(base, -1, 0, on_commit, srv)) ||
	    !(srv->committer = ddns_worker_new(base, 1)) ||
	    abuse_init(srv, conf) != 0 || conns_init(srv, conf) != 0)
		goto fail;
	if (conf->updater_listen.n == 0 && conf->updater_tls_listen.n == 0) {
		snprintf(err, errlen,
			 "[updater] neither listen nor tls_listen is set: "
			 "no address to listen on");
		rc = DDNS_EINVAL;
		goto fail;
	}
	if ((rc = ddns_proxies_init(&srv->proxies,
				    &conf->updater_trusted_proxies, err,
				    errlen)) != 0 ||
	    (rc = ddns_metrics_new(&srv->metrics, store, conf, err,
				   errlen)) != 0 ||
	    (rc = acme_init(srv, conf, err, errlen)) != 0 ||
	    (rc = portal_init(srv, conf, err, errlen)) != 0 ||
	    (rc = setup_tls(srv, conf, err, errlen)) != 0 ||
	    (rc = serve_on(srv, &srv->http, "listen", &conf->updater_listen,
			   on_accept, conf, err, errlen)) != 0)
		goto fail;
	*out = srv;
	return 0;
fail:
	ddns_server_free(srv);
	return rc;
}

void ddns_server_free(ddns_server *srv)
{
	if (!srv)
		return;
	/* durable first; replies go out if they can: the batch on the
	 * committer, then what is still queued */
	ddns_worker_free(srv->committer);
	srv->committer = NULL;
	on_commit(-1, 0, srv);
	portal_free(srv);      /* its pending requests die unanswered */
	ddns_acme_free(srv->acme); /* after the API, which uses it */
	ddns_conns_shutdown(srv->conns); /* the listeners go next */
	if (srv->http)
		evhttp_free(srv->http); /* listeners and connections too */
	if (srv->https)
		evhttp_free(srv->https);
	ddns_conns_free(srv->conns);
	ddns_oidc_free(srv->oidc);
	ddns_tls_free(srv->tls);
	ddns_metrics_free(srv->metrics);
	if (srv->commit_ev)
		event_free(srv->commit_ev);
	free(srv->queue);
	free(srv->faults);
	free(srv->spare);
	ddns_rl_free(srv->rl);
	ddns_d2_req_clear(&srv->req);
	ddns_buf_free(&srv->body);
	free(srv);
}

int ddns_server_reload(ddns_server *srv)
{
	char err[512];
	int rc;

	if (!srv->tls) {
		log_info("reload: no tls_listen, nothing to reload");
		return 0;
	}
	if ((rc = ddns_tls_reload(srv->tls, err, sizeof err)) != 0) {
		log_err("reload failed, the certificate in use stays: %s", err);
		return rc;
	}
	log_info("reload: new TLS connections use the new certificate");
	return 0;
}
