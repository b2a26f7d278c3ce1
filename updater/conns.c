/*
 * conns.c -- limits on client connections for evhttp servers (see
 * conns.h).
 *
 * libevent ownership.  evhttp owns each connection and its bufferevent.
 * Our bevcb (ddns_conns_track) runs before evhttp has made the
 * connection, so a record starts "fresh": it holds a reference on the
 * bufferevent and is adopted by a deferred callback later in the same loop
 * iteration, once the evhttp_connection exists (evhttp installs it as the
 * bufferevent's callback argument; bufferevent_free clears the callbacks,
 * which tells a connection that died before adoption).  Adoption installs
 * a close callback, the one place where a record ends, and maps the
 * socket to the record: a request finds its record through its socket.
 *
 * The limits close a connection only with evhttp_connection_free, only
 * from callbacks of our own (its deadline timer, the adoption, another
 * connection's accept), never while evhttp is inside a callback of that
 * connection, and only while it is waiting: evhttp_connection_free frees
 * every request of the connection, including one the server still holds.
 */
#include "conns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "addr.h"
#include "err.h"
#include "log.h"

#define LOG_INTERVAL 60 /* seconds between two warnings of one kind */

/* A source: an IPv4 address or the first 64 bits of an IPv6 one. */
struct src_key {
	uint64_t bits;
	uint8_t fam; /* 4 or 6; 0: not counted */
};

struct src_ent {
	struct src_key key;
	uint32_t count; /* 0: slot free */
};

struct conn {
	ddns_conns *cs;
	struct bufferevent *bev; /* evhttp's; our reference while fresh */
	struct evhttp_connection *evcon; /* NULL while fresh */
	struct event *deadline;		 /* pending while waiting */
	struct conn *prev, *next;	 /* the waiting list */
	struct src_key src;
	int fd;	      /* -1 while fresh */
	bool waiting; /* on the waiting list */
	char peer[DDNS_ADDR_STRLEN];
};

struct ddns_conns {
	struct event_base *base;
	struct ddns_conns_conf c;
	const struct ddns_proxies *exempt;
	struct evconnlistener **lev;
	unsigned nlev;
	bool paused, closing;
	unsigned n;	     /* records alive, fresh or adopted */
	struct conn **fresh; /* tracked, not adopted yet */
	unsigned nfresh, capfresh;
	struct event *adopt_ev;
	struct conn *head, *tail; /* waiting, oldest first */
	struct conn **byfd;	  /* adopted records by socket */
	size_t nbyfd;
	struct src_ent *src; /* open addressing, linear probing */
	size_t src_mask, src_used;
	uint64_t seed;
	time_t logged_full, logged_busy, logged_source;
};

static bool log_due(time_t *last)
{
	time_t now = time(NULL);

	if (now - *last < LOG_INTERVAL)
		return false;
	*last = now;
	return true;
}

/* ---- connections per source ------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static size_t src_home(const ddns_conns *cs, const struct src_key *k)
{
	return (size_t)mix64(k->bits ^ cs->seed ^ k->fam) & cs->src_mask;
}

static size_t src_find(const ddns_conns *cs, const struct src_key *k)
{
	size_t i = src_home(cs, k);

	while (cs->src[i].count != 0 &&
	       (cs->src[i].key.fam != k->fam || cs->src[i].key.bits != k->bits))
		i = (i + 1) & cs->src_mask;
	return i;
}

/* One more connection from K: its count, or 0 when the table is too full
 * to count it (cannot happen within the limit). */
static uint32_t src_inc(ddns_conns *cs, const struct src_key *k)
{
	size_t i = src_find(cs, k);

	if (cs->src[i].count == 0) {
		if (2 * (cs->src_used + 1) > cs->src_mask + 1)
			return 0;
		cs->src[i].key = *k;
		cs->src_used++;
	}
	return ++cs->src[i].count;
}

/* One connection from K less; a freed slot is filled by moving back the
 * entries after it that may live there (no tombstones). */
static void src_dec(ddns_conns *cs, const struct src_key *k)
{
	const size_t mask = cs->src_mask;
	size_t i = src_find(cs, k);

	if (cs->src[i].count == 0 || --cs->src[i].count > 0)
		return;
	cs->src_used--;
	for (size_t j = (i + 1) & mask; cs->src[j].count != 0;
	     j = (j + 1) & mask) {
		size_t home = src_home(cs, &cs->src[j].key);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			cs->src[i] = cs->src[j];
			i = j;
		}
	}
	cs->src[i].count = 0;
}

/* C's source key from A; false when it is not counted (no cap, exempt). */
static bool src_key_of(const ddns_conns *cs, const struct ddns_addr *a,
		       struct src_key *k)
{
	memset(k, 0, sizeof *k);
	if (cs->c.per_source == 0 ||
	    (cs->exempt && ddns_proxies_trusted(cs->exempt, a)))
		return false;
	if (a->family == AF_INET) {
		k->fam = 4;
		k->bits = a->u.v4.s_addr;
	} else if (a->family == AF_INET6) {
		k->fam = 6;
		memcpy(&k->bits, a->u.v6.s6_addr, sizeof k->bits);
	}
	return k->fam != 0;
}

/* ---- accepting -------------------------------------------------------- */

/* Accept while there is room, or a waiting connection to make room. */
static void update_accept(ddns_conns *cs)
{
	bool room = cs->n < cs->c.max || (cs->n == cs->c.max && cs->head);

	if (cs->closing || room == !cs->paused)
		return;
	for (unsigned i = 0; i < cs->nlev; i++) {
		if (room)
			evconnlistener_enable(cs->lev[i]);
		else
			evconnlistener_disable(cs->lev[i]);
	}
	cs->paused = !room;
	if (!room && log_due(&cs->logged_busy))
		log_warn("connection limit %u reached and every connection is "
			 "busy with a request: new clients wait in the listen "
			 "backlog (said once a minute)",
			 cs->c.max);
}

static void wait_push(struct conn *c)
{
	ddns_conns *cs = c->cs;
	struct timeval tv = {(time_t)cs->c.deadline, 0};

	if (c->waiting)
		return;
	c->prev = cs->tail;
	c->next = NULL;
	if (cs->tail)
		cs->tail->next = c;
	else
		cs->head = c;
	cs->tail = c;
	c->waiting = true;
	event_add(c->deadline, &tv);
}

static void wait_remove(struct conn *c)
{
	ddns_conns *cs = c->cs;

	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		cs->tail = c->prev;
	c->prev = c->next = NULL;
	c->waiting = false;
	event_del(c->deadline);
}

/* The end of record C: its connection is gone, or was never made. */
static void conn_end(struct conn *c)
{
	ddns_conns *cs = c->cs;

	if (c->waiting)
		wait_remove(c);
	if (c->fd >= 0 && (size_t)c->fd < cs->nbyfd && cs->byfd[c->fd] == c)
		cs->byfd[c->fd] = NULL;
	if (c->src.fam != 0)
		src_dec(cs, &c->src);
	event_free(c->deadline);
	free(c);
	cs->n--;
	log_debug("connection closed, %u open", cs->n);
	update_accept(cs);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	conn_end(arg);
}

/* Close the connection that has waited longest for a request. */
static void evict_oldest(ddns_conns *cs)
{
	struct conn *c = cs->head;

	if (!c)
		return;
	if (log_due(&cs->logged_full))
		log_warn("connection limit %u reached: closing the "
			 "connections that have waited longest for a request "
			 "(said once a minute)",
			 cs->c.max);
	log_debug("closing the connection from %s to make room", c->peer);
	evhttp_connection_free(c->evcon); /* on_close ends C */
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!c->waiting || !c->evcon)
		return;
	log_debug("closing the connection from %s: no complete request "
		  "within %u s",
		  c->peer, c->cs->c.deadline);
	evhttp_connection_free(c->evcon); /* on_close ends C */
}

struct bufferevent *ddns_conns_track(ddns_conns *cs, struct bufferevent *bev)
{
	struct conn *c = NULL;

	if (cs->nfresh == cs->capfresh || !(c = calloc(1, sizeof *c)) ||
	    !(c->deadline = event_new(cs->base, -1, 0, on_deadline, c))) {
		free(c);
		bufferevent_free(bev);
		return NULL;
	}
	c->cs = cs;
	c->bev = bev;
	c->fd = -1;
	bufferevent_incref(bev);
	cs->fresh[cs->nfresh++] = c;
	cs->n++;
	event_active(cs->adopt_ev, EV_TIMEOUT, 1);
	if (cs->n > cs->c.max)
		evict_oldest(cs);
	update_accept(cs);
	return bev;
}

/* ---- adopting --------------------------------------------------------- */

static int map_fd(ddns_conns *cs, struct conn *c, int fd)
{
	if (fd < 0)
		return DDNS_EINVAL;
	if ((size_t)fd >= cs->nbyfd) {
		size_t n = cs->nbyfd ? cs->nbyfd : 64;
		struct conn **p;

		while (n <= (size_t)fd)
			n *= 2;
		if (!(p = realloc(cs->byfd, n * sizeof *p)))
			return DDNS_ENOMEM;
		memset(p + cs->nbyfd, 0, (n - cs->nbyfd) * sizeof *p);
		cs->byfd = p;
		cs->nbyfd = n;
	}
	if (cs->byfd[fd])
		log_err("socket %d taken over from a connection that did not "
			"report its end",
			fd);
	cs->byfd[fd] = c;
	c->fd = fd;
	return 0;
}

/* Count C's source; false when that puts it over the cap. */
static bool source_ok(ddns_conns *cs, struct conn *c)
{
	const struct sockaddr *sa = evhttp_connection_get_addr(c->evcon);
	struct ddns_addr a;

	if (!sa || ddns_addr_from_sockaddr(sa, &a) != 0)
		return true; /* not counted */
	ddns_addr_format(&a, c->peer, sizeof c->peer);
	if (!src_key_of(cs, &a, &c->src))
		return true;
	if (src_inc(cs, &c->src) <= cs->c.per_source)
		return true;
	if (log_due(&cs->logged_source))
		log_warn("%s: more than %u connections from one address (an "
			 "IPv6 /64 counts as one); closing the new ones (said "
			 "once a minute)",
			 c->peer, cs->c.per_source);
	return false;
}

static void adopt_one(ddns_conns *cs, struct conn *c)
{
	struct bufferevent *bev = c->bev;
	bufferevent_event_cb eventcb = NULL;
	void *evcon = NULL;

	bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
	if (!eventcb || !evcon) {
		conn_end(c); /* freed before we got here */
	} else {
		c->evcon = evcon;
		evhttp_connection_set_closecb(c->evcon, on_close, c);
		if (map_fd(cs, c, bufferevent_getfd(bev)) != 0 ||
		    !source_ok(cs, c))
			evhttp_connection_free(c->evcon); /* on_close ends C */
		else
			wait_push(c);
	}
	bufferevent_decref(bev);
}

static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
	ddns_conns *cs = arg;

	/* closing connections here runs on_close for adopted records only */
	for (unsigned i = 0; i < cs->nfresh; i++)
		adopt_one(cs, cs->fresh[i]);
	cs->nfresh = 0;
	update_accept(cs);
}

/* ---- requests --------------------------------------------------------- */

static struct conn *find(ddns_conns *cs, struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	int fd = bev ? bufferevent_getfd(bev) : -1;
	struct conn *c =
	    fd >= 0 && (size_t)fd < cs->nbyfd ? cs->byfd[fd] : NULL;

	return c && c->evcon == evcon ? c : NULL;
}

/* The reply went out and the connection stays: it waits again.  (Not
 * called when the connection died meanwhile: evhttp then drops the reply
 * and frees the request without completing it.) */
static void on_replied(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	wait_push(c);
	update_accept(c->cs);
}

bool ddns_conns_request(ddns_conns *cs, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct conn *c = evcon ? find(cs, evcon) : NULL;

	if (!c)
		return false;
	if (c->waiting)
		wait_remove(c);
	evhttp_request_set_on_complete_cb(req, on_replied, c);
	update_accept(cs);
	return true;
}

/* ---- lifecycle -------------------------------------------------------- */

static uint64_t random_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, GRND_NONBLOCK) == (ssize_t)sizeof s)
		return s;
	/* without entropy the table works; only placement is predictable */
	return mix64((uint64_t)time(NULL) ^ (uint64_t)getpid());
}

ddns_conns *ddns_conns_new(struct event_base *base,
			   const struct ddns_conns_conf *conf,
			   const struct ddns_proxies *exempt)
{
	ddns_conns *cs = calloc(1, sizeof *cs);
	size_t slots = 16;

	if (!cs)
		return NULL;
	cs->base = base;
	cs->c = *conf;
	cs->c.max = cs->c.max ? cs->c.max : 1;
	cs->c.deadline = cs->c.deadline ? cs->c.deadline : 1;
	cs->exempt = exempt;
	cs->seed = random_seed();
	cs->capfresh = cs->c.max + 1;
	while (slots < 2 * (size_t)cs->capfresh)
		slots *= 2;
	cs->src_mask = slots - 1;
	if (!(cs->fresh = calloc(cs->capfresh, sizeof *cs->fresh)) ||
	    !(cs->src = calloc(slots, sizeof *cs->src)) ||
	    !(cs->adopt_ev = event_new(base, -1, 0, on_adopt, cs))) {
		ddns_conns_free(cs);
		return NULL;
	}
	return cs;
}

int ddns_conns_add_listener(ddns_conns *cs, struct evconnlistener *lev)
{
	struct evconnlistener **p =
	    realloc(cs->lev, (cs->nlev + 1) * sizeof *p);

	if (!p)
		return DDNS_ENOMEM;
	cs->lev = p;
	cs->lev[cs->nlev++] = lev;
	if (cs->paused)
		evconnlistener_disable(lev);
	return 0;
}

unsigned ddns_conns_count(const ddns_conns *cs)
{
	return cs->n;
}

void ddns_conns_shutdown(ddns_conns *cs)
{
	if (cs)
		cs->closing = true;
}

void ddns_conns_free(ddns_conns *cs)
{
	if (!cs)
		return;
	cs->closing = true;
	/* adopted records have ended in on_close when evhttp_free closed
	 * their connections; fresh ones never got a close callback */
	for (unsigned i = 0; i < cs->nfresh; i++) {
		bufferevent_decref(cs->fresh[i]->bev);
		event_free(cs->fresh[i]->deadline);
		free(cs->fresh[i]);
	}
	if (cs->adopt_ev)
		event_free(cs->adopt_ev);
	free(cs->fresh);
	free(cs->byfd);
	free(cs->src);
	free(cs->lev);
	free(cs);
}
