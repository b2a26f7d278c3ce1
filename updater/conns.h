/*
 * conns.h -- ddns-updater's limits on client connections, for evhttp
 * servers (libevent 2.1 has none of its own):
 *
 *   - a deadline: a connection must deliver a complete request within
 *     DEADLINE seconds of its accept, or of the end of its previous reply
 *     on a kept-alive connection, or it is closed.  evhttp's timeout is an
 *     idle timeout, which a client trickling one byte at a time never
 *     meets (Slowloris);
 *   - at most PER_SOURCE connections from one IPv4 address or IPv6 /64,
 *     judged on the socket's peer: a reverse proxy is one source, so the
 *     trusted proxies are exempt.  A connection over the cap is closed as
 *     soon as it is accepted;
 *   - at most MAX connections in all.  At the limit, the connection that
 *     has waited longest for a request (accepted, or idle between
 *     requests) is closed to make room for the next one; only when every
 *     connection is busy with a request does accepting pause, and the
 *     clients wait in the listen backlog.
 *
 * A connection is "waiting" from its accept until its request is complete
 * (ddns_conns_request), and again once the reply has been sent; it is
 * "busy" in between, and then never closed by these limits: evhttp would
 * free a request that the server still holds.
 */
#ifndef DDNS_CONNS_H
#define DDNS_CONNS_H

#include <stdbool.h>

#include "proxy.h"

struct bufferevent;
struct event_base;
struct evconnlistener;
struct evhttp_request;

struct ddns_conns_conf {
	unsigned max;	     /* connections in all, >= 1 */
	unsigned per_source; /* from one source; 0: no cap */
	unsigned deadline;   /* seconds to a complete request, >= 1 */
};

typedef struct ddns_conns ddns_conns;

/*
 * New limits on BASE.  CONF is copied; EXEMPT (the trusted proxies, may be
 * NULL) is borrowed and must outlive the result.  NULL when out of memory.
 */
ddns_conns *ddns_conns_new(struct event_base *base,
			   const struct ddns_conns_conf *conf,
			   const struct ddns_proxies *exempt);

/* Pause and resume LEV (borrowed) with the limit.  0 or DDNS_ENOMEM. */
int ddns_conns_add_listener(ddns_conns *cs, struct evconnlistener *lev);

/*
 * For an evhttp bevcb: count BEV, a new connection's bufferevent without
 * its socket yet, and start its deadline.  Returns BEV, or NULL after
 * freeing BEV when it cannot be tracked (out of memory).
 */
struct bufferevent *ddns_conns_track(ddns_conns *cs, struct bufferevent *bev);

/*
 * Call first in the request callback: REQ is complete, its connection is
 * busy (no deadline, never closed by the limits) until the reply to REQ
 * has been sent.  Returns false for a connection that is not tracked (the
 * caller should then close it after the reply).
 */
bool ddns_conns_request(ddns_conns *cs, struct evhttp_request *req);

/* Connections open now (tracked, busy or waiting). */
unsigned ddns_conns_count(const ddns_conns *cs);

/*
 * Stop touching the listeners: call before the evhttp servers (and their
 * listeners) are freed.  Their connections may still close afterwards.
 */
void ddns_conns_shutdown(ddns_conns *cs);

/* Free, after the evhttp servers have been freed.  NULL is accepted. */
void ddns_conns_free(ddns_conns *cs);

#endif
