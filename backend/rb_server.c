/*
 * rb_server.c -- the remote backend's connectors on one libevent loop.
 *
 * Everything runs on one thread, so a request is answered completely
 * (renew snapshot, rb_handle, reset snapshot) before the next one is read.
 * Limits set here, since libevent's defaults are unlimited: request line
 * (RB_LINE_MAX), unsent output before reading pauses, write timeout,
 * connection count, HTTP header and body sizes and idle time.
 */
#include "rb_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "rb_proto.h"

#define RB_BACKLOG 128
#define RB_OUT_HIGH (1024 * 1024) /* unsent bytes at which reading pauses */
#define RB_WRITE_TIMEOUT 30       /* seconds pdns may take to read a reply */
#define RB_HTTP_TIMEOUT 120       /* seconds; pdns reconnects after idling */
#define RB_HTTP_HEADERS_MAX 8192

/* One stream connection (unix socket, or the pipe's two descriptors). */
struct rb_conn {
	rb_server *srv;
	struct bufferevent *in, *out; /* one bufferevent except for the pipe */
	ddns_txn *txn;                /* begun at the first request */
	struct ddns_buf reply;        /* reused for every reply */
	unsigned long id;
	bool pipe;
	bool eof;        /* no more input will come */
	bool paused;     /* reading stopped until the output drains */
	bool discarding; /* inside an over-long line: drop up to its end */
	bool closing;    /* free once the replies are written */
	struct rb_conn *prev, *next;
};

struct rb_unix {
	struct evconnlistener *l;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct rb_server {
	struct event_base *base;
	ddns_store *store;
	unsigned max_conn;
	unsigned n_conn; /* stream and HTTP connections open */
	unsigned long next_id;
	time_t last_full_log;
	struct rb_conn *conns;
	struct rb_unix unix_ls[DDNS_CONF_LIST_MAX];
	unsigned n_unix;
	struct evhttp *http;
	struct http_peer *http_peers; /* HTTP connections counted */
	ddns_txn *http_txn; /* shared: HTTP requests are answered one by one */
	struct ddns_buf http_reply;
};

static void conn_process(struct rb_conn *c);

/* ---- listen entries --------------------------------------------------- */

static int listen_unix_parse(const char *path, struct rb_listen *out,
			     char *err, size_t errlen)
{
	size_t len = strlen(path);

	if (path[0] != '/') {
		snprintf(err, errlen, "unix socket path must be absolute: %s",
			 path);
		return DDNS_EINVAL;
	}
	if (len >= sizeof out->path) {
		snprintf(err, errlen, "unix socket path over %zu bytes",
			 sizeof out->path - 1);
		return DDNS_EINVAL;
	}
	memcpy(out->path, path, len + 1);
	out->kind = RB_LISTEN_UNIX;
	return 0;
}

int rb_listen_parse(const char *spec, struct rb_listen *out, char *err,
		    size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix_parse(spec + 5, out, err, errlen);
	if (strncmp(spec, "http:", 5) == 0) {
		if (ddns_hostport_parse(spec + 5, &out->ss, &out->sslen) != 0) {
			snprintf(err, errlen,
				 "bad listen address \"%s\" (http:ADDR:PORT)",
				 spec);
			return DDNS_EINVAL;
		}
		out->kind = RB_LISTEN_HTTP;
		return 0;
	}
	snprintf(err, errlen,
		 "bad listen entry \"%s\" (unix:/path or http:ADDR:PORT)",
		 spec);
	return DDNS_EINVAL;
}

/* ---- answering -------------------------------------------------------- */

/* A current snapshot in *TXN: renew the kept one, or begin a new one. */
static int txn_fresh(rb_server *s, ddns_txn **txn)
{
	if (*txn) {
		if (ddns_txn_renew(*txn) == 0)
			return 0;
		ddns_txn_abort(*txn);
		*txn = NULL;
	}
	return ddns_txn_begin(s->store, false, txn);
}

/*
 * Answer the request LINE of LEN bytes using the snapshot kept in *TXN
 * and the reply buffer REPLY.  The reply to send is left in *DATA, *DLEN:
 * REPLY's bytes, or the static false reply when REPLY could not grow.
 */
static void serve(rb_server *s, ddns_txn **txn, const char *line,
		  size_t len, struct ddns_buf *reply, const char **data,
		  size_t *dlen)
{
	int rc = txn_fresh(s, txn);

	if (rc == 0) {
		rb_handle(*txn, line, len, reply);
		ddns_txn_reset(*txn);
	} else {
		log_err("cannot begin a read transaction: %s",
			ddns_strerror(rc));
		rb_reply_false(reply);
	}
	if (reply->failed || reply->len == 0) {
		ddns_buf_free(reply);
		*data = RB_REPLY_FALSE;
		*dlen = sizeof RB_REPLY_FALSE - 1;
		return;
	}
	*data = reply->data;
	*dlen = reply->len;
}

static void log_full(rb_server *s)
{
	time_t now = time(NULL);

	if (now != s->last_full_log)
		log_warn("connection refused: %u open, the limit "
			 "(backend_max_connections)", s->n_conn);
	s->last_full_log = now;
}

/* ---- stream connections ----------------------------------------------- */

static void conn_free(struct rb_conn *c)
{
	rb_server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conn--;
	log_debug("connection %lu closed", c->id);
	ddns_txn_abort(c->txn);
	ddns_buf_free(&c->reply);
	if (c->out != c->in)
		bufferevent_free(c->out);
	bufferevent_free(c->in);
	if (c->pipe)
		event_base_loopbreak(s->base);
	free(c);
}

static void conn_send(struct rb_conn *c, const char *data, size_t len)
{
	if (bufferevent_write(c->out, data, len) != 0) {
		log_err("connection %lu: cannot queue a reply", c->id);
		c->closing = true;
	}
}

static void conn_answer(struct rb_conn *c, const char *line, size_t len)
{
	const char *data;
	size_t dlen;

	serve(c->srv, &c->txn, line, len, &c->reply, &data, &dlen);
	conn_send(c, data, dlen);
}

/*
 * Consume one line of IN (answered, or dropped while discarding).  Returns
 * 0 when something was consumed, 1 when a whole line is not there yet.
 */
static int conn_one(struct rb_conn *c, struct evbuffer *in)
{
	size_t eol_len = 0, len = evbuffer_get_length(in);
	struct evbuffer_ptr p;
	const char *line;

	if (len == 0)
		return 1;
	p = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
	if (c->discarding) {
		evbuffer_drain(in, p.pos < 0 ? len : (size_t)p.pos + eol_len);
		c->discarding = p.pos < 0;
		return c->discarding;
	}
	if (p.pos < 0 && len <= RB_LINE_MAX)
		return 1;
	if (p.pos < 0 || (size_t)p.pos > RB_LINE_MAX) {
		log_warn("connection %lu: request line over %d bytes refused",
			 c->id, RB_LINE_MAX);
		conn_send(c, RB_REPLY_FALSE, sizeof RB_REPLY_FALSE - 1);
		c->discarding = true;
		return 0;
	}
	line = (const char *)evbuffer_pullup(in, p.pos + eol_len);
	conn_answer(c, line ? line : "", p.pos);
	evbuffer_drain(in, p.pos + eol_len);
	return 0;
}

/* At end of input, a last request without its newline is still answered. */
static void conn_last(struct rb_conn *c, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in);
	const char *line;

	if (len && !c->discarding) {
		line = (const char *)evbuffer_pullup(in, -1);
		conn_answer(c, line ? line : "", len);
	}
	evbuffer_drain(in, len);
	c->closing = true;
}

/* Answer every whole line buffered, unless too much output is waiting;
 * may free C. */
static void conn_process(struct rb_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->in);
	struct evbuffer *out = bufferevent_get_output(c->out);

	while (!c->closing) {
		if (evbuffer_get_length(out) >= RB_OUT_HIGH) {
			c->paused = true;
			bufferevent_disable(c->in, EV_READ);
			return;
		}
		if (conn_one(c, in) != 0)
			break;
	}
	if (c->eof && !c->closing)
		conn_last(c, in);
	if (c->closing && evbuffer_get_length(out) == 0)
		conn_free(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_process(arg);
}

/* The output is empty: close, or read again after a pause. */
static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct rb_conn *c = arg;

	if (c->closing) {
		conn_free(c);
		return;
	}
	if (c->paused) {
		c->paused = false;
		bufferevent_enable(c->in, EV_READ);
		conn_process(c);
	}
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rb_conn *c = arg;

	if ((what & BEV_EVENT_EOF) && bev == c->in && !(what & BEV_EVENT_ERROR)) {
		c->eof = true;
		conn_process(c);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		log_info("connection %lu: %s", c->id,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else if (what & BEV_EVENT_TIMEOUT)
		log_warn("connection %lu: reply not read in %d s", c->id,
			 RB_WRITE_TIMEOUT);
	conn_free(c);
}

/* Take IN and OUT (freed with the connection).  0 or DDNS_ENOMEM. */
static int conn_new(rb_server *s, struct bufferevent *in,
		    struct bufferevent *out, bool pipe)
{
	struct timeval wto = {RB_WRITE_TIMEOUT, 0};
	struct rb_conn *c = calloc(1, sizeof *c);

	if (!c)
		return DDNS_ENOMEM;
	c->srv = s;
	c->in = in;
	c->out = out;
	c->pipe = pipe;
	c->id = ++s->next_id;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conn++;
	/* Reading stops once a line could not be a valid request any more. */
	bufferevent_setwatermark(in, EV_READ, 0, RB_LINE_MAX + 2);
	bufferevent_setcb(in, conn_read_cb, NULL, conn_event_cb, c);
	if (out != in)
		bufferevent_setcb(out, NULL, conn_write_cb, conn_event_cb, c);
	else
		bufferevent_setcb(in, conn_read_cb, conn_write_cb,
				  conn_event_cb, c);
	bufferevent_set_timeouts(out, NULL, &wto);
	bufferevent_enable(in, EV_READ);
	bufferevent_enable(out, EV_WRITE);
	log_debug("connection %lu opened (%u open)", c->id, s->n_conn);
	return 0;
}

static void unix_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
			   struct sockaddr *sa, int salen, void *arg)
{
	rb_server *s = arg;
	struct bufferevent *bev;

	if (s->n_conn >= s->max_conn) {
		log_full(s);
		evutil_closesocket(fd);
		return;
	}
	bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		log_err("cannot set up a connection: out of memory");
		evutil_closesocket(fd);
		return;
	}
	if (conn_new(s, bev, bev, false) != 0) {
		log_err("cannot set up a connection: out of memory");
		bufferevent_free(bev);
	}
}

static void listener_error_cb(struct evconnlistener *l, void *arg)
{
	/* EMFILE and the like: the listener goes on once fds are free. */
	log_err("accept: %s",
		evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

/* ---- unix sockets ----------------------------------------------------- */

/* True if a process accepts connections on the socket at PATH. */
static bool unix_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return false;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	if (rc != 0 && errno == EAGAIN)
		rc = 0; /* backlog full: alive all the same */
	close(fd);
	return rc == 0;
}

/* Remove a socket file left by a process that is gone.  0 or DDNS_EIO. */
static int unix_clear_stale(const struct sockaddr_un *sun)
{
	const char *path = sun->sun_path;
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		log_err("%s: %s", path, strerror(errno));
		return DDNS_EIO;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket", path);
		return DDNS_EIO;
	}
	if (unix_in_use(sun)) {
		log_err("%s: another process is listening on it", path);
		return DDNS_EIO;
	}
	if (unlink(path) != 0) {
		log_err("cannot remove stale socket %s: %s", path,
			strerror(errno));
		return DDNS_EIO;
	}
	return 0;
}

/* A bound, listening unix socket at PATH with MODE; -1 (logged) on error. */
static int unix_socket(const struct sockaddr_un *sun, unsigned mode)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old;
	int rc;

	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	/* Born private; opened up to MODE once it exists. */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sun, sizeof *sun);
	umask(old);
	if (rc != 0) {
		log_err("cannot bind %s: %s", sun->sun_path, strerror(errno));
		goto fail;
	}
	if (chmod(sun->sun_path, mode & 07777) != 0 ||
	    listen(fd, RB_BACKLOG) != 0) {
		log_err("cannot set up %s: %s", sun->sun_path, strerror(errno));
		unlink(sun->sun_path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int unix_listen(rb_server *s, const char *path, unsigned mode)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct rb_unix *u;
	int fd;

	if (s->n_unix >= DDNS_CONF_LIST_MAX)
		return DDNS_EINVAL;
	u = &s->unix_ls[s->n_unix];
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if (unix_clear_stale(&sun) != 0)
		return DDNS_EIO;
	fd = unix_socket(&sun, mode);
	if (fd < 0)
		return DDNS_EIO;
	u->l = evconnlistener_new(s->base, unix_accept_cb, s,
				  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
				  0, fd);
	if (!u->l) {
		log_err("cannot listen on %s", path);
		unlink(path);
		close(fd);
		return DDNS_ENOMEM;
	}
	evconnlistener_set_error_cb(u->l, listener_error_cb);
	snprintf(u->path, sizeof u->path, "%s", path);
	s->n_unix++;
	log_info("listening on unix:%s (mode %04o)", path, mode & 07777);
	return 0;
}

/* ---- HTTP (pdns "http:url=...,post,post_json") ------------------------- */

/*
 * Counting HTTP connections: libevent 2.1's evhttp has no limit of its own
 * and tells the server of a connection only through its requests.  A
 * connection is counted from its first request until evhttp closes it;
 * one over the limit gets 503 and is closed.  Connections that never send
 * a request are ended by the evhttp timeout.
 */
struct http_peer {
	rb_server *srv;
	struct evhttp_connection *evcon;
	struct http_peer *prev, *next;
};

static void http_peer_gone(struct evhttp_connection *evcon, void *arg)
{
	struct http_peer *p = arg;
	rb_server *s = p->srv;

	if (p->prev)
		p->prev->next = p->next;
	else
		s->http_peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	s->n_conn--;
	free(p);
}

/* 0 if the request's connection is (now) counted, DDNS_EBUSY if the limit
 * is reached, DDNS_ENOMEM. */
static int http_peer_track(rb_server *s, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_peer *p;

	for (p = s->http_peers; p; p = p->next)
		if (p->evcon == evcon)
			return 0;
	if (s->n_conn >= s->max_conn)
		return DDNS_EBUSY;
	p = calloc(1, sizeof *p);
	if (!p)
		return DDNS_ENOMEM;
	p->srv = s;
	p->evcon = evcon;
	p->next = s->http_peers;
	if (p->next)
		p->next->prev = p;
	s->http_peers = p;
	s->n_conn++;
	evhttp_connection_set_closecb(evcon, http_peer_gone, p);
	return 0;
}

/*
 * pdns 4.7 with post,post_json POSTs the request object
 * {"method":...,"parameters":{...}} as the body, to the url exactly as
 * configured, one keep-alive connection per backend instance; any path is
 * served here.  The reply is the same JSON as on the stream connectors.
 */
static void http_request_cb(struct evhttp_request *req, void *arg)
{
	rb_server *s = arg;
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	size_t len = evbuffer_get_length(body);
	const char *line = NULL, *data;
	size_t dlen;

	if (http_peer_track(s, req) != 0) {
		log_full(s);
		/* evhttp_send_error closes the connection after it. */
		evhttp_send_error(req, 503, "Too many connections");
		return;
	}
	if (len)
		line = (const char *)evbuffer_pullup(body, -1);
	serve(s, &s->http_txn, line ? line : "", line ? len : 0,
	      &s->http_reply, &data, &dlen);
	evhttp_add_header(hdr, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), data, dlen);
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static int http_setup(rb_server *s)
{
	s->http = evhttp_new(s->base);
	if (!s->http)
		return DDNS_ENOMEM;
	evhttp_set_max_headers_size(s->http, RB_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(s->http, RB_LINE_MAX);
	evhttp_set_timeout(s->http, RB_HTTP_TIMEOUT);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_POST);
	/* Read an over-long body to its end, so the 413 reaches the client. */
	evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(s->http, http_request_cb, s);
	return 0;
}

static int http_listen(rb_server *s, const struct rb_listen *l)
{
	char addr[DDNS_ADDR_STRLEN] = "?";
	struct evconnlistener *lev;
	struct ddns_addr a;
	unsigned port;

	port = ntohs(l->ss.ss_family == AF_INET6
			     ? ((const struct sockaddr_in6 *)&l->ss)->sin6_port
			     : ((const struct sockaddr_in *)&l->ss)->sin_port);
	if (ddns_addr_from_sockaddr((const struct sockaddr *)&l->ss, &a) == 0)
		ddns_addr_format(&a, addr, sizeof addr);
	if (!s->http && http_setup(s) != 0)
		return DDNS_ENOMEM;
	lev = evconnlistener_new_bind(s->base, NULL, NULL,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
					      LEV_OPT_CLOSE_ON_EXEC,
				      RB_BACKLOG,
				      (const struct sockaddr *)&l->ss, l->sslen);
	if (!lev) {
		log_err("cannot listen on http:%s:%u: %s", addr, port,
			evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return DDNS_EIO;
	}
	if (!evhttp_bind_listener(s->http, lev)) {
		evconnlistener_free(lev);
		return DDNS_ENOMEM;
	}
	log_info("listening on http:%s:%u", addr, port);
	return 0;
}

/* ---- server ----------------------------------------------------------- */

int rb_server_new(struct event_base *base, ddns_store *store,
		  unsigned max_conn, rb_server **out)
{
	rb_server *s = calloc(1, sizeof *s);

	if (!s)
		return DDNS_ENOMEM;
	s->base = base;
	s->store = store;
	s->max_conn = max_conn ? max_conn : 1;
	*out = s;
	return 0;
}

int rb_server_listen(rb_server *s, const struct rb_listen *l,
		     unsigned socket_mode)
{
	switch (l->kind) {
	case RB_LISTEN_UNIX:
		return unix_listen(s, l->path, socket_mode);
	case RB_LISTEN_HTTP:
		return http_listen(s, l);
	}
	return DDNS_EINVAL;
}

int rb_server_pipe(rb_server *s, int in_fd, int out_fd)
{
	struct bufferevent *in = NULL, *out = NULL;

	if (evutil_make_socket_nonblocking(in_fd) != 0 ||
	    evutil_make_socket_nonblocking(out_fd) != 0)
		return DDNS_EIO;
	in = bufferevent_socket_new(s->base, in_fd, 0);
	out = bufferevent_socket_new(s->base, out_fd, 0);
	if (!in || !out || conn_new(s, in, out, true) != 0)
		goto fail;
	return 0;
fail:
	if (in)
		bufferevent_free(in);
	if (out)
		bufferevent_free(out);
	return DDNS_ENOMEM;
}

void rb_server_free(rb_server *s)
{
	if (!s)
		return;
	while (s->conns) {
		s->conns->pipe = false; /* no loopbreak while tearing down */
		conn_free(s->conns);
	}
	for (unsigned i = 0; i < s->n_unix; i++) {
		evconnlistener_free(s->unix_ls[i].l);
		unlink(s->unix_ls[i].path);
	}
	if (s->http)
		evhttp_free(s->http); /* its connections call http_peer_gone */
	while (s->http_peers) /* none left, unless evhttp changes */
		http_peer_gone(NULL, s->http_peers);
	ddns_txn_abort(s->http_txn);
	ddns_buf_free(&s->http_reply);
	free(s);
}
