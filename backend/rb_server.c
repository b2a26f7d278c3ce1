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
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "prom.h"
#include "rb_metrics.h"
#include "rb_proto.h"

#define RB_BACKLOG 128
#define RB_OUT_HIGH (1024 * 1024) /* unsent bytes at which reading pauses */
#define RB_WRITE_TIMEOUT 30       /* seconds pdns may take to read a reply */
#define RB_HTTP_TIMEOUT 120       /* seconds; pdns reconnects after idling */
#define RB_HTTP_HEADERS_MAX 8192
#define RB_READ_CHUNK 4096        /* bytes asked of each read() */

/* One stream connection (unix socket, or the pipe's two descriptors). */
struct rb_conn {
	rb_server *srv;
	int in_fd, out_fd;        /* the same socket except for the pipe */
	struct event *rev, *wev;  /* readable; writable with a timeout */
	ddns_txn *txn;            /* begun at the first request */
	char *ibuf;               /* input not yet answered */
	size_t ilen, icap;
	struct ddns_buf reply;    /* reused for every reply */
	struct ddns_buf pending;  /* output the peer has not taken yet */
	size_t poff;              /* ... from this offset */
	unsigned long id;
	bool pipe;       /* the pipe connector: its end ends the process */
	bool own_fd;     /* a socket, closed with the connection */
	bool eof;        /* no more input will come */
	bool paused;     /* reading stopped until the output drains */
	bool discarding; /* inside an over-long line: drop up to its end */
	bool closing;    /* free once the replies are written */
	bool broken;     /* a write failed: free at once */
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
	struct rb_cache cache; /* zones of the current snapshot, for all */
	rb_state *state;       /* [backend] state; NULL: none (owned) */
	rb_metrics *metrics;   /* NULL: nothing counted */
};

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
	uint64_t t0 = s->metrics ? ddns_prom_now_ns() : 0;
	int rc = txn_fresh(s, txn);

	if (rc == 0) {
		rb_handle_state(&s->cache, s->state, *txn, line, len, reply);
		ddns_txn_reset(*txn);
		if (s->metrics)
			rb_metrics_observe(s->metrics, line, len,
					   ddns_prom_now_ns() - t0);
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

/*
 * Stream connections do their own reads and writes on the descriptors
 * (no bufferevent): a request costs one read and one write, where
 * bufferevents add an ioctl(FIONREAD) and two epoll_ctl calls per reply.
 * pdns sends one request and waits for its reply, so a write almost always
 * completes at once; only what the peer did not take is kept in PENDING,
 * with a write event (and its timeout) until it drains.
 */

/* Make room for at least RB_READ_CHUNK more input bytes.  Input past
 * RB_LINE_MAX without a newline is dropped first, so the buffer stays
 * under twice that.  0 or DDNS_ENOMEM. */
static int conn_in_reserve(struct rb_conn *c)
{
	size_t cap = c->icap ? c->icap : RB_READ_CHUNK;
	char *p;

	while (cap - c->ilen < RB_READ_CHUNK)
		cap *= 2;
	if (cap == c->icap)
		return 0;
	if (cap > 4 * (size_t)RB_LINE_MAX)
		return DDNS_ETOOBIG; /* cannot happen: lines are capped first */
	p = realloc(c->ibuf, cap);
	if (!p)
		return DDNS_ENOMEM;
	c->ibuf = p;
	c->icap = cap;
	return 0;
}

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
	ddns_buf_free(&c->pending);
	free(c->ibuf);
	event_free(c->rev);
	event_free(c->wev);
	if (c->own_fd)
		evutil_closesocket(c->in_fd);
	if (c->pipe)
		event_base_loopbreak(s->base);
	free(c);
}

/* Write as much of DATA as the descriptor takes now.  Returns the count
 * written, or -1 (logged) when the connection is broken. */
static ssize_t conn_write_now(struct rb_conn *c, const char *data,
			      size_t len)
{
	ssize_t n;

	do
		n = write(c->out_fd, data, len);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	log_info("connection %lu: %s", c->id, strerror(errno));
	return -1;
}

/* Queue DATA after what is pending, or write it at once if nothing is.
 * A failure marks the connection broken. */
static void conn_send(struct rb_conn *c, const char *data, size_t len)
{
	struct timeval wto = {RB_WRITE_TIMEOUT, 0};
	ssize_t n = 0;

	if (c->broken)
		return;
	if (c->pending.len == c->poff) {
		n = conn_write_now(c, data, len);
		if (n < 0) {
			c->broken = true;
			return;
		}
		if ((size_t)n == len)
			return;
	}
	if (ddns_buf_add(&c->pending, data + n, len - (size_t)n) != 0) {
		log_err("connection %lu: cannot queue a reply", c->id);
		c->broken = true;
		return;
	}
	if (!event_pending(c->wev, EV_WRITE, NULL))
		event_add(c->wev, &wto);
}

static void conn_answer(struct rb_conn *c, const char *line, size_t len)
{
	const char *data;
	size_t dlen;

	serve(c->srv, &c->txn, line, len, &c->reply, &data, &dlen);
	conn_send(c, data, dlen);
}

/* Answer (or, while discarding, drop) each whole line buffered; returns
 * how many input bytes were consumed. */
static size_t conn_lines(struct rb_conn *c)
{
	size_t off = 0, len;
	const char *nl;

	while (!c->broken && c->pending.len - c->poff < RB_OUT_HIGH &&
	       (nl = memchr(c->ibuf + off, '\n', c->ilen - off))) {
		len = (size_t)(nl - (c->ibuf + off));
		if (c->discarding) {
			c->discarding = false;
		} else if (len > RB_LINE_MAX) {
			log_warn("connection %lu: request line over %d bytes "
				 "refused", c->id, RB_LINE_MAX);
			conn_send(c, RB_REPLY_FALSE, sizeof RB_REPLY_FALSE - 1);
		} else {
			conn_answer(c, c->ibuf + off, len);
		}
		off += len + 1;
	}
	return off;
}

/*
 * Answer every whole line buffered, unless too much output is waiting;
 * then handle an over-long partial line and the end of input.  May free C.
 */
static void conn_process(struct rb_conn *c)
{
	size_t used = conn_lines(c);

	memmove(c->ibuf, c->ibuf + used, c->ilen - used);
	c->ilen -= used;
	c->paused = c->pending.len - c->poff >= RB_OUT_HIGH;
	if (c->paused) {
		event_del(c->rev); /* resumed once the output drains */
	} else if (c->discarding) {
		c->ilen = 0; /* still inside the over-long line */
	} else if (c->ilen > RB_LINE_MAX) {
		log_warn("connection %lu: request line over %d bytes refused",
			 c->id, RB_LINE_MAX);
		conn_send(c, RB_REPLY_FALSE, sizeof RB_REPLY_FALSE - 1);
		c->discarding = true;
		c->ilen = 0;
	} else if (c->eof) {
		/* a last request without its newline is still answered */
		if (c->ilen)
			conn_answer(c, c->ibuf, c->ilen);
		c->ilen = 0;
		c->closing = true;
		event_del(c->rev);
	}
	if (c->broken || (c->closing && c->pending.len == c->poff))
		conn_free(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_conn *c = arg;
	ssize_t n;

	if (conn_in_reserve(c) != 0) {
		log_err("connection %lu: out of memory", c->id);
		conn_free(c);
		return;
	}
	n = read(c->in_fd, c->ibuf + c->ilen, c->icap - c->ilen);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		return;
	if (n < 0) {
		log_info("connection %lu: %s", c->id, strerror(errno));
		conn_free(c);
		return;
	}
	if (n == 0)
		c->eof = true;
	c->ilen += (size_t)n;
	conn_process(c);
}

/* The descriptor takes output again (or the write timeout expired). */
static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_conn *c = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		log_warn("connection %lu: reply not read in %d s", c->id,
			 RB_WRITE_TIMEOUT);
		conn_free(c);
		return;
	}
	n = conn_write_now(c, c->pending.data + c->poff,
			   c->pending.len - c->poff);
	if (n < 0) {
		conn_free(c);
		return;
	}
	c->poff += (size_t)n;
	if (c->poff < c->pending.len)
		return;
	if (c->pending.cap > RB_OUT_HIGH)
		ddns_buf_free(&c->pending); /* an AXFR's worth: give it back */
	ddns_buf_reset(&c->pending);
	c->poff = 0;
	event_del(c->wev);
	if (c->closing) {
		conn_free(c);
	} else if (c->paused) {
		event_add(c->rev, NULL);
		conn_process(c);
	}
}

/* A connection reading IN_FD and writing OUT_FD (non-blocking; a socket
 * is closed with the connection, the pipe's descriptors are not).  0 or
 * DDNS_ENOMEM. */
static int conn_new(rb_server *s, int in_fd, int out_fd, bool pipe)
{
	struct rb_conn *c = calloc(1, sizeof *c);

	if (!c)
		return DDNS_ENOMEM;
	c->srv = s;
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->pipe = pipe;
	c->own_fd = !pipe;
	c->rev = event_new(s->base, in_fd, EV_READ | EV_PERSIST, conn_read_cb,
			   c);
	c->wev = event_new(s->base, out_fd, EV_WRITE | EV_PERSIST,
			   conn_write_cb, c);
	if (!c->rev || !c->wev || event_add(c->rev, NULL) != 0) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		free(c);
		return DDNS_ENOMEM;
	}
	c->id = ++s->next_id;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conn++;
	log_debug("connection %lu opened (%u open)", c->id, s->n_conn);
	return 0;
}

static void unix_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
			   struct sockaddr *sa, int salen, void *arg)
{
	rb_server *s = arg;

	if (s->n_conn >= s->max_conn) {
		log_full(s);
		evutil_closesocket(fd);
		return;
	}
	/* evconnlistener hands over sockets already non-blocking */
	if (conn_new(s, fd, fd, false) != 0) {
		log_err("cannot set up a connection: out of memory");
		evutil_closesocket(fd);
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

int rb_server_open_state(rb_server *s, const char *dir)
{
	char err[512];
	int rc = rb_state_open(&s->state, dir, err, sizeof err);

	if (rc != 0)
		log_err("%s", err);
	return rc;
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
	if (evutil_make_socket_nonblocking(in_fd) != 0 ||
	    evutil_make_socket_nonblocking(out_fd) != 0)
		return DDNS_EIO;
	return conn_new(s, in_fd, out_fd, true);
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
	rb_state_close(s->state);
	free(s);
}

void rb_server_set_metrics(rb_server *s, rb_metrics *m)
{
	s->metrics = m;
}
