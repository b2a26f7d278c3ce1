/*
 * purge.c -- pdns cache purges through its control socket.
 *
 * pdns 4.7 reads one line per connection and answers the number of purged
 * entries as bare decimal text ("0", no newline), then closes; an unknown
 * command gets "Unknown command: 'X'".  So a reply is accepted when it
 * starts with a digit.  "PURGE a b c" purges each name given: the
 * non-blocking purger sends the names pending at once in one command (one
 * connection for up to PURGE_BATCH_MAX names instead of one each), which
 * is what lets purges keep up with thousands of updates a second.
 */
#include "purge.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "err.h"
#include "log.h"
#include "names.h"

#define PURGE_ARG_MAX	DDNS_PURGE_ARG_MAX
#define PURGE_REPLY_MAX 128
#define PURGE_INFLIGHT	4    /* connections at once; pdns serves one */
#define PURGE_QUEUE_MAX 4096 /* pending names; beyond, drop */
#define PURGE_BATCH_MAX 64   /* names in one PURGE command */
#define PURGE_CMD_MAX	4096 /* bytes of one PURGE command, about */

struct purge_item {
	struct purge_item *next;
	char name[PURGE_ARG_MAX];
};

struct purge_conn {
	struct ddns_purger *p;
	struct bufferevent *bev;
	struct purge_conn *prev, *next;
	size_t rlen;
	char reply[PURGE_REPLY_MAX];
	char name[PURGE_ARG_MAX]; /* the first name of the command, for logs */
	unsigned count;		  /* names in the command */
};

struct ddns_purger {
	struct event_base *base;
	struct event *kick;
	bool enabled;
	struct sockaddr_un sun;
	socklen_t sunlen;
	struct timeval timeout;
	struct purge_item *head, *tail;
	unsigned queued;
	struct purge_conn *conns;
	unsigned inflight;
	bool failing;	 /* inside a burst of failures (logged once) */
	unsigned failed; /* failures in the current burst */
};

/* A purge argument: printable ASCII without blanks, so it cannot smuggle a
 * second command or an empty one ("PURGE" alone purges everything). */
static bool valid_arg(const char *name)
{
	size_t len = strnlen(name, PURGE_ARG_MAX);

	if (len == 0 || len >= PURGE_ARG_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

static int unix_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof sun->sun_path)
		return DDNS_EINVAL;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static bool reply_ok(const char *reply, size_t len)
{
	return len > 0 && reply[0] >= '0' && reply[0] <= '9';
}

void ddns_purge_host_names(const char *fqdn, const char *zone, bool subtree,
			   struct ddns_purge_names *out)
{
	out->n = 0;
	snprintf(out->v[out->n++], sizeof out->v[0], subtree ? "%s$" : "%s",
		 fqdn);
	snprintf(out->v[out->n++], sizeof out->v[0], "%s", zone);
}

/* ---- blocking form ---------------------------------------------------- */

static long ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Wait for EVENTS on FD until DEADLINE.  0, or DDNS_EIO with errno set
 * (ETIMEDOUT on timeout). */
static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		long left = ms_left(deadline);
		int n;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return DDNS_EIO;
		}
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return DDNS_EIO;
	}
}

static int send_all(int fd, const char *s, size_t len,
		    const struct timespec *deadline)
{
	while (len > 0) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, deadline) != 0)
			return DDNS_EIO;
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return DDNS_EIO;
		if (n > 0) {
			s += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* Read until EOF, keeping the first CAP - 1 bytes in BUF (NUL-terminated). */
static int recv_all(int fd, char *buf, size_t cap, size_t *len,
		    const struct timespec *deadline)
{
	char chunk[512];

	*len = 0;
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) != 0)
			return DDNS_EIO;
		n = recv(fd, chunk, sizeof chunk, 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return DDNS_EIO;
		}
		size_t take =
		    (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
		memcpy(buf + *len, chunk, take);
		*len += take;
	}
	buf[*len] = '\0';
	return 0;
}

/* Deadline TIMEOUT_MS from now on the monotonic clock. */
static void deadline_in(struct timespec *d, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += timeout_ms / 1000;
	d->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (d->tv_nsec >= 1000000000) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000;
	}
}

/* Send CMD (a whole line) over one new connection and read the reply until
 * EOF into REPLY.  On failure WHY gets the reason. */
static int exchange(const struct sockaddr_un *sun, socklen_t sunlen,
		    const char *cmd, size_t cmdlen, char *reply, size_t cap,
		    unsigned timeout_ms, char *why, size_t whylen)
{
	struct timespec deadline;
	size_t rlen = 0;
	int fd, rc = DDNS_EIO;

	deadline_in(&deadline, timeout_ms);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (connect(fd, (const struct sockaddr *)sun, sunlen) != 0 &&
	     errno != EINPROGRESS) ||
	    send_all(fd, cmd, cmdlen, &deadline) != 0 ||
	    recv_all(fd, reply, cap, &rlen, &deadline) != 0)
		snprintf(why, whylen, "%s", strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* One PURGE over one connection.  On failure WHY gets the reason. */
static int purge_one(const struct sockaddr_un *sun, socklen_t sunlen,
		     const char *name, unsigned timeout_ms, char *why,
		     size_t whylen)
{
	char cmd[PURGE_ARG_MAX + 8], reply[PURGE_REPLY_MAX];
	int n, rc;

	n = snprintf(cmd, sizeof cmd, "PURGE %s\n", name);
	if (n < 0 || (size_t)n >= sizeof cmd)
		return DDNS_EINVAL;
	rc = exchange(sun, sunlen, cmd, (size_t)n, reply, sizeof reply,
		      timeout_ms, why, whylen);
	if (rc == 0 && !reply_ok(reply, strlen(reply))) {
		snprintf(why, whylen, "pdns answered '%.60s'", reply);
		rc = DDNS_EIO;
	}
	return rc;
}

int ddns_pdns_rediscover(const char *socket_path, unsigned timeout_ms)
{
	static const char cmd[] = "REDISCOVER\n";
	struct sockaddr_un sun;
	socklen_t sunlen;
	char reply[PURGE_REPLY_MAX], why[128];
	int rc;

	if (!socket_path || unix_addr(socket_path, &sun, &sunlen) != 0)
		return DDNS_EINVAL;
	rc = exchange(&sun, sunlen, cmd, sizeof cmd - 1, reply, sizeof reply,
		      timeout_ms, why, sizeof why);
	if (rc != 0)
		log_warn("cannot ask pdns to rediscover zones via %s: %s",
			 socket_path, why);
	return rc;
}

int ddns_purge_sync(const char *socket_path, const char *const *names, size_t n,
		    unsigned timeout_ms)
{
	struct sockaddr_un sun;
	socklen_t sunlen;
	char why[128];
	int ret = 0;

	if (!socket_path || unix_addr(socket_path, &sun, &sunlen) != 0)
		return DDNS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		int rc = valid_arg(names[i])
			     ? purge_one(&sun, sunlen, names[i], timeout_ms,
					 why, sizeof why)
			     : DDNS_EINVAL;
		if (rc == DDNS_EINVAL)
			snprintf(why, sizeof why, "invalid name");
		/* One line per call: the first failure says why. */
		if (rc != 0 && ret == 0)
			log_warn("cannot purge %s from pdns's cache via %s: %s",
				 names[i], socket_path, why);
		if (rc != 0 && ret == 0)
			ret = rc;
	}
	return ret;
}

/* ---- non-blocking form ------------------------------------------------ */

/* N names (NAME the first) could not be purged: WHY. */
static void note_failure(struct ddns_purger *p, const char *name, unsigned n,
			 const char *why)
{
	p->failed += n;
	if (p->failing)
		return;
	p->failing = true;
	log_warn("cannot purge %s from pdns's cache via %s: %s (further "
		 "failures are not logged until a purge succeeds)",
		 name, p->sun.sun_path, why);
}

static void note_success(struct ddns_purger *p)
{
	if (!p->failing)
		return;
	log_info("pdns cache purges work again (%u failed meanwhile)",
		 p->failed);
	p->failing = false;
	p->failed = 0;
}

static void start_more(struct ddns_purger *p);

static void conn_finish(struct purge_conn *c, const char *why)
{
	struct ddns_purger *p = c->p;

	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->inflight--;
	bufferevent_free(c->bev);
	if (why) {
		note_failure(p, c->name, c->count, why);
	} else {
		log_debug("purged %s%s from pdns's cache (%s)", c->name,
			  c->count > 1 ? " and others" : "", c->reply);
		note_success(p);
	}
	free(c);
	start_more(p);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct purge_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t room = sizeof c->reply - 1 - c->rlen;
	int n;

	n = evbuffer_remove(in, c->reply + c->rlen, room);
	if (n > 0)
		c->rlen += (size_t)n;
	c->reply[c->rlen] = '\0';
	evbuffer_drain(in, evbuffer_get_length(in)); /* beyond the cap */
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct purge_conn *c = arg;
	char why[128];

	if (what & BEV_EVENT_EOF) {
		conn_read(bev, c);
		if (reply_ok(c->reply, c->rlen)) {
			conn_finish(c, NULL);
			return;
		}
		snprintf(why, sizeof why, "pdns answered '%.60s'", c->reply);
	} else if (what & BEV_EVENT_TIMEOUT) {
		snprintf(why, sizeof why, "timed out");
	} else {
		snprintf(why, sizeof why, "%s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	conn_finish(c, why);
}

/* Move pending names, up to PURGE_BATCH_MAX of them and about
 * PURGE_CMD_MAX bytes, into one command "PURGE a b c\n" on CMD; C learns
 * the first name and the count.  -1 when CMD cannot grow (the names taken
 * are lost then, and counted in C). */
static int batch_take(struct ddns_purger *p, struct purge_conn *c,
		      struct evbuffer *cmd)
{
	int rc = evbuffer_add(cmd, "PURGE", 5);

	c->count = 0;
	while (p->head && c->count < PURGE_BATCH_MAX &&
	       evbuffer_get_length(cmd) < PURGE_CMD_MAX) {
		struct purge_item *it = p->head;

		p->head = it->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		if (c->count++ == 0)
			memcpy(c->name, it->name, sizeof c->name);
		if (rc == 0 && evbuffer_add_printf(cmd, " %s", it->name) < 0)
			rc = -1;
		free(it);
	}
	return rc == 0 ? evbuffer_add(cmd, "\n", 1) : -1;
}

/* Open one connection for the next batch of pending names.  When it
 * cannot, the batch is dropped and its failure noted. */
static void conn_start(struct ddns_purger *p)
{
	struct purge_conn *c = calloc(1, sizeof *c);
	struct evbuffer *cmd = evbuffer_new();
	const char *why = "out of memory";
	int fd = -1;

	if (!c || !cmd) {
		/* drop one name, so that the queue shrinks */
		struct purge_item *it = p->head;

		p->head = it->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		note_failure(p, it->name, 1, why);
		free(it);
		goto fail;
	}
	if (batch_take(p, c, cmd) != 0) {
		why = "cannot queue the command";
		goto fail_batch;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (connect(fd, (struct sockaddr *)&p->sun, p->sunlen) != 0 &&
	     errno != EINPROGRESS)) {
		why = strerror(errno);
		goto fail_batch;
	}
	if (!(c->bev = bufferevent_socket_new(p->base, fd,
					      BEV_OPT_CLOSE_ON_FREE)))
		goto fail_batch;
	fd = -1; /* owned by the bufferevent now */
	c->p = p;
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_set_timeouts(c->bev, &p->timeout, &p->timeout);
	if (bufferevent_write_buffer(c->bev, cmd) != 0 ||
	    bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0) {
		why = "cannot queue the command";
		goto fail_batch;
	}
	evbuffer_free(cmd);
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->inflight++;
	return;
fail_batch:
	note_failure(p, c->name, c->count, why);
fail:
	if (c && c->bev)
		bufferevent_free(c->bev);
	free(c);
	if (cmd)
		evbuffer_free(cmd);
	if (fd >= 0)
		close(fd);
}

static void start_more(struct ddns_purger *p)
{
	while (p->inflight < PURGE_INFLIGHT && p->head)
		conn_start(p);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	start_more(arg);
}

ddns_purger *ddns_purger_new(struct event_base *base, const char *socket_path,
			     unsigned timeout_ms)
{
	ddns_purger *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->base = base;
	if (!(p->kick = event_new(base, -1, 0, on_kick, p))) {
		free(p);
		return NULL;
	}
	if (timeout_ms == 0)
		timeout_ms = 1000;
	p->timeout.tv_sec = timeout_ms / 1000;
	p->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	if (socket_path && unix_addr(socket_path, &p->sun, &p->sunlen) != 0)
		log_warn("pdns control socket path '%s' is unusable: cache "
			 "purges are off",
			 socket_path);
	else
		p->enabled = socket_path != NULL;
	return p;
}

void ddns_purger_add(ddns_purger *p, const char *name)
{
	struct purge_item *it;

	if (!p || !p->enabled)
		return;
	if (!valid_arg(name)) {
		log_debug("not purging invalid name '%.80s'", name);
		return;
	}
	for (it = p->head; it; it = it->next)
		if (strcmp(it->name, name) == 0)
			return; /* already pending */
	if (p->queued >= PURGE_QUEUE_MAX || !(it = calloc(1, sizeof *it))) {
		note_failure(p, name, 1, "purge queue full");
		return;
	}
	memcpy(it->name, name, strlen(name) + 1);
	if (p->tail)
		p->tail->next = it;
	else
		p->head = it;
	p->tail = it;
	p->queued++;
	/* Connect later in this loop iteration, after the replies went out. */
	event_active(p->kick, EV_TIMEOUT, 1);
}

void ddns_purger_add_host(ddns_purger *p, const char *fqdn, const char *zone,
			  bool subtree)
{
	struct ddns_purge_names names;

	ddns_purge_host_names(fqdn, zone, subtree, &names);
	for (unsigned i = 0; i < names.n; i++)
		ddns_purger_add(p, names.v[i]);
}

void ddns_purger_free(ddns_purger *p)
{
	if (!p)
		return;
	while (p->conns) {
		struct purge_conn *c = p->conns;
		p->conns = c->next;
		bufferevent_free(c->bev);
		free(c);
	}
	while (p->head) {
		struct purge_item *it = p->head;
		p->head = it->next;
		free(it);
	}
	event_free(p->kick);
	free(p);
}
