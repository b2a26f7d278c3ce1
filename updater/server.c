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
 * Connection limit: libevent 2.1 has no evhttp_set_max_connections.  Our
 * bufferevent callback (evhttp_set_bevcb) runs once per accepted socket
 * and counts it; when the count reaches the limit every listener is
 * disabled, so further clients wait in the kernel's backlog instead of
 * being reset.  The connection's end is learned through
 * evhttp_connection_set_closecb, installed from a deferred callback (the
 * evhttp_connection is created only after our callback returns; evhttp
 * registers it as the bufferevent's callback argument, and bufferevent_free
 * clears those callbacks, which tells a connection that died early).  A
 * reference on the bufferevent keeps it valid until then.
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
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "addr.h"
#include "buf.h"
#include "dyndns2.h"
#include "err.h"
#include "log.h"

#define MAX_HEADERS_SIZE   8192 /* request line and headers, each */
#define MAX_BODY_SIZE	   DDNS_D2_INPUT_MAX /* a form body */
#define LISTEN_BACKLOG	   511
#define LIMIT_LOG_INTERVAL 60 /* seconds between "limit reached" */

struct update_job {
	struct evhttp_request *req;
	struct ddns_d2_plan plan;
	char client[DDNS_ADDR_STRLEN];
};

struct ddns_server {
	struct event_base *base;
	ddns_store *store;
	ddns_purger *purger;
	struct evhttp *http;
	struct evconnlistener *lev[DDNS_CONF_LIST_MAX];
	unsigned nlev;
	bool paused;  /* listeners disabled at the connection limit */
	bool closing; /* ddns_server_free is running */
	unsigned max_conns, nconns;
	time_t limit_logged;
	/* accepted sockets whose evhttp_connection is not adopted yet */
	struct bufferevent **fresh;
	unsigned nfresh, capfresh;
	struct event *adopt_ev;
	/* group commit */
	struct update_job **queue;
	size_t nqueue, capqueue;
	struct event *commit_ev;
	/* scratch, reused by every request (the loop is single-threaded) */
	struct ddns_d2_req req;
	struct ddns_buf body;
};

/* ---- connection limit ------------------------------------------------- */

static void accept_pause(struct ddns_server *srv)
{
	time_t now = time(NULL);

	for (unsigned i = 0; i < srv->nlev; i++)
		evconnlistener_disable(srv->lev[i]);
	if (!srv->paused && now - srv->limit_logged >= LIMIT_LOG_INTERVAL) {
		log_warn("connection limit %u reached; new clients wait in the "
			 "listen backlog",
			 srv->max_conns);
		srv->limit_logged = now;
	}
	srv->paused = true;
}

static void accept_resume(struct ddns_server *srv)
{
	if (!srv->paused || srv->closing)
		return;
	for (unsigned i = 0; i < srv->nlev; i++)
		evconnlistener_enable(srv->lev[i]);
	srv->paused = false;
}

static void conn_gone(struct ddns_server *srv)
{
	if (srv->nconns > 0)
		srv->nconns--;
	log_debug("connection closed, %u open", srv->nconns);
	if (srv->nconns < srv->max_conns)
		accept_resume(srv);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	conn_gone(arg);
}

/* evhttp's bufferevent callback: one call per accepted socket. */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
	struct ddns_server *srv = arg;
	struct bufferevent *bev;

	if (srv->nfresh == srv->capfresh)
		return NULL; /* cannot happen: accepting pauses first */
	if (!(bev = bufferevent_socket_new(base, -1, 0)))
		return NULL;
	bufferevent_incref(bev);
	srv->fresh[srv->nfresh++] = bev;
	srv->nconns++;
	event_active(srv->adopt_ev, EV_TIMEOUT, 1);
	if (srv->nconns >= srv->max_conns)
		accept_pause(srv);
	return bev;
}

static void adopt_one(struct ddns_server *srv, struct bufferevent *bev)
{
	bufferevent_event_cb eventcb = NULL;
	void *evcon = NULL;

	bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
	if (eventcb && evcon)
		evhttp_connection_set_closecb(evcon, on_conn_close, srv);
	else
		conn_gone(srv); /* freed before we got here */
	bufferevent_decref(bev);
}

static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_server *srv = arg;

	for (unsigned i = 0; i < srv->nfresh; i++)
		adopt_one(srv, srv->fresh[i]);
	srv->nfresh = 0;
}

static void on_resume_listener(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

/* accept() failed (EMFILE...): pause that listener for a second rather
 * than spin.  Called with evhttp's argument, so the server is unknown; an
 * early resume is corrected by the next accept's limit check. */
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
 * HTTP/1.0 clients that do not ask for keep-alive). */
static void send_text(struct evhttp_request *req, int status, const char *text,
		      size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	char clen[24];

	if (evbuffer_add(out, text, len) != 0)
		status = 500;
	snprintf(clen, sizeof clen, "%zu", evbuffer_get_length(out));
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

static void log_result(const struct update_job *job, const struct ddns_buf *b)
{
	char line[200];
	size_t n = b->len < sizeof line - 1 ? b->len : sizeof line - 1;

	if (n > 0)
		memcpy(line, b->data, n);
	line[n] = '\0';
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ';';
	log_info("update from %s for %s: %s", job->client,
		 job->plan.upd.fqdn[0] ? job->plan.upd.fqdn
				       : "(no valid username)",
		 line);
}

/* Answer JOB from its (final) plan and free it. */
static void finish_job(struct ddns_server *srv, struct update_job *job)
{
	int status = ddns_d2_format(&job->plan, &srv->body);

	if (srv->body.failed) {
		status = 200;
		ddns_buf_reset(&srv->body);
		ddns_buf_adds(&srv->body, "911");
	}
	log_result(job, &srv->body);
	send_text(job->req, status, srv->body.data ? srv->body.data : "",
		  srv->body.len);
	free(job);
}

/* ---- group commit ----------------------------------------------------- */

static void purge_host(struct ddns_server *srv, const struct ddns_d2_update *u)
{
	char subtree[DDNS_NAME_BUF + 2];

	/* A wildcard host's synthesized answers are cached under the names
	 * asked for: purge the whole subtree ("name$" includes the name). */
	if (u->wildcard) {
		snprintf(subtree, sizeof subtree, "%s$", u->fqdn);
		ddns_purger_add(srv->purger, subtree);
	} else {
		ddns_purger_add(srv->purger, u->fqdn);
	}
	ddns_purger_add(srv->purger, u->zone); /* its SOA serial changed */
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_server *srv = arg;
	struct update_job **jobs = srv->queue;
	struct ddns_d2_update **batch;
	size_t n = srv->nqueue;
	int rc = DDNS_ENOMEM;

	if (n == 0)
		return;
	/* Take the queue: requests arriving meanwhile start a new one. */
	srv->queue = NULL;
	srv->nqueue = srv->capqueue = 0;
	if ((batch = calloc(n, sizeof *batch)) != NULL) {
		for (size_t i = 0; i < n; i++)
			batch[i] = &jobs[i]->plan.upd;
		rc = ddns_d2_commit(srv->store, batch, n, (int64_t)time(NULL));
		free(batch);
	}
	if (rc != 0)
		log_err("storing %zu update(s) failed: %s", n,
			ddns_strerror(rc));
	else
		log_debug("committed a batch of %zu update(s)", n);
	for (size_t i = 0; i < n; i++) {
		struct update_job *job = jobs[i];
		int code = rc != 0 ? DDNS_D2_911 : job->plan.upd.code;

		if (code == DDNS_D2_GOOD)
			purge_host(srv, &job->plan.upd);
		ddns_d2_plan_finish(&job->plan, code);
		finish_job(srv, job);
	}
	free(jobs);
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

/* Query, form body and Authorization header into srv->req. */
static int parse_request(struct ddns_server *srv, struct evhttp_request *req,
			 const char *query, size_t qlen)
{
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t blen = evbuffer_get_length(body);
	const char *auth;
	int rc;

	if (query && (rc = ddns_d2_parse_form(&srv->req, query, qlen)) != 0)
		return rc;
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && blen > 0 &&
	    is_form(req)) {
		const char *p;

		if (blen > DDNS_D2_INPUT_MAX)
			return DDNS_ETOOBIG;
		if (!(p = (const char *)evbuffer_pullup(body,
							(ev_ssize_t)blen)))
			return DDNS_ENOMEM;
		if ((rc = ddns_d2_parse_form(&srv->req, p, blen)) != 0)
			return rc;
	}
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
				  "Authorization");
	if (auth)
		ddns_d2_parse_auth(&srv->req, auth, strlen(auth));
	return 0;
}

static int decide(struct ddns_server *srv, const struct ddns_addr *client,
		  struct ddns_d2_plan *plan)
{
	ddns_txn *t = NULL;
	int rc = ddns_txn_begin(srv->store, false, &t);

	if (rc != 0)
		return rc;
	rc = ddns_d2_decide(t, &srv->req, client, plan);
	ddns_txn_abort(t);
	return rc;
}

static void handle_update(struct ddns_server *srv, struct evhttp_request *req,
			  const struct ddns_addr *client, const char *query,
			  size_t qlen)
{
	struct update_job *job;
	int rc;

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* HEAD must not change anything, and a GET would. */
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, POST");
		send_str(req, 405, "method not allowed");
		return;
	}
	if (!(job = calloc(1, sizeof *job))) {
		send_str(req, 200, "911");
		return;
	}
	job->req = req;
	ddns_addr_format(client, job->client, sizeof job->client);
	rc = parse_request(srv, req, query, qlen);
	if (rc == 0)
		rc = decide(srv, client, &job->plan);
	ddns_d2_req_clear(&srv->req); /* wipes the password */
	if (rc == DDNS_ETOOBIG) {
		send_str(req, 413, "request too large");
		free(job);
		return;
	}
	if (rc != 0) {
		log_err("update from %s: %s", job->client, ddns_strerror(rc));
		memset(&job->plan, 0, sizeof job->plan);
		job->plan.n = 1;
		job->plan.code[0] = DDNS_D2_911;
	}
	if (job->plan.write) {
		if (enqueue(srv, job) == 0)
			return;
		ddns_d2_plan_finish(&job->plan, DDNS_D2_911);
	}
	finish_job(srv, job);
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

static void on_request(struct evhttp_request *req, void *arg)
{
	struct ddns_server *srv = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa =
	    evcon ? evhttp_connection_get_addr(evcon) : NULL;
	const char *uri = evhttp_request_get_uri(req), *query;
	struct ddns_addr client;
	size_t qlen;

	if (!sa || ddns_addr_from_sockaddr(sa, &client) != 0)
		memset(&client, 0, sizeof client);
	if (!uri) {
		send_str(req, 400, "bad request");
		return;
	}
	switch (ddns_d2_route(uri, strlen(uri), &query, &qlen)) {
	case DDNS_D2_ROUTE_UPDATE:
		handle_update(srv, req, &client, query, qlen);
		break;
	case DDNS_D2_ROUTE_MYIP:
		handle_myip(req, &client);
		break;
	default:
		send_str(req, 404, "not found");
		break;
	}
}

/* ---- setup ------------------------------------------------------------ */

static int bind_one(struct ddns_server *srv, const char *spec, char *err,
		    size_t errlen)
{
	unsigned flags =
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
	struct sockaddr_storage ss;
	struct evconnlistener *lev;
	socklen_t sslen;

	if (ddns_hostport_parse(spec, &ss, &sslen) != 0) {
		snprintf(err, errlen,
			 "[updater] listen: invalid address '%s' "
			 "(want ADDR:PORT or [IPV6]:PORT)",
			 spec);
		return DDNS_EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |=
		    LEV_OPT_BIND_IPV6ONLY; /* [::] and 0.0.0.0 may coexist */
	lev = evconnlistener_new_bind(srv->base, NULL, NULL, flags,
				      LISTEN_BACKLOG, (struct sockaddr *)&ss,
				      (int)sslen);
	if (!lev) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
			 strerror(errno));
		return DDNS_EIO;
	}
	if (!evhttp_bind_listener(srv->http, lev)) {
		evconnlistener_free(lev);
		snprintf(err, errlen, "cannot listen on %s: out of memory",
			 spec);
		return DDNS_ENOMEM;
	}
	evconnlistener_set_error_cb(lev, on_accept_error);
	srv->lev[srv->nlev++] = lev;
	log_info("listening on %s", spec);
	return 0;
}

static void set_limits(struct evhttp *http, const struct ddns_conf *conf)
{
	evhttp_set_max_headers_size(http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(http, MAX_BODY_SIZE);
	evhttp_set_timeout(
	    http, conf->updater_timeout ? (int)conf->updater_timeout : 10);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
					     EVHTTP_REQ_HEAD);
	evhttp_set_default_content_type(http, "text/plain; charset=utf-8");
	/* read and drop an oversized body before closing, so the client
	 * sees the 413 instead of a reset */
	evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
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
	srv->max_conns = conf->updater_max_connections
			     ? conf->updater_max_connections
			     : 1024;
	srv->capfresh = srv->max_conns + 1;
	if (!(srv->fresh = calloc(srv->capfresh, sizeof *srv->fresh)) ||
	    !(srv->adopt_ev = event_new(base, -1, 0, on_adopt, srv)) ||
	    !(srv->commit_ev = event_new(base, -1, 0, on_commit, srv)) ||
	    !(srv->http = evhttp_new(base)))
		goto fail;
	set_limits(srv->http, conf);
	evhttp_set_gencb(srv->http, on_request, srv);
	evhttp_set_bevcb(srv->http, on_accept, srv);
	if (conf->updater_listen.n == 0) {
		snprintf(err, errlen,
			 "[updater] listen: no address to listen on");
		rc = DDNS_EINVAL;
		goto fail;
	}
	for (unsigned i = 0; i < conf->updater_listen.n; i++)
		if ((rc = bind_one(srv, conf->updater_listen.v[i], err,
				   errlen)) != 0)
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
	on_commit(-1, 0, srv); /* durable first; replies go out if they can */
	srv->closing = true;
	if (srv->http)
		evhttp_free(srv->http); /* listeners and connections too */
	for (unsigned i = 0; i < srv->nfresh; i++)
		bufferevent_decref(srv->fresh[i]);
	if (srv->adopt_ev)
		event_free(srv->adopt_ev);
	if (srv->commit_ev)
		event_free(srv->commit_ev);
	free(srv->fresh);
	free(srv->queue);
	ddns_d2_req_clear(&srv->req);
	ddns_buf_free(&srv->body);
	free(srv);
}
