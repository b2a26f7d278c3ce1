/*
 * rb_metrics.h -- ddns-backend's /metrics (Prometheus text format 0.0.4):
 * requests by method, lookups by query type, and a latency histogram per
 * method, served on the backend's own HTTP listener ([backend]
 * metrics_listen), to the addresses of [backend] metrics_allow (default:
 * loopback) only.
 *
 * Why a listener of its own rather than counters shared with the updater:
 * the backend is a separate process that pdns needs even when the updater
 * is down, and counting in the process that answers keeps the hot path
 * free of any shared memory.  The pipe connector (one process per pdns
 * thread, all with the same config) serves no metrics: the processes would
 * compete for one port.
 */
#ifndef DDNS_RB_METRICS_H
#define DDNS_RB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"

typedef struct rb_metrics rb_metrics;

/*
 * Counters, and an HTTP listener on BASE for each conf->backend_metrics_listen
 * entry.  CONF is read during the call only.  Returns 0, or DDNS_EIO /
 * DDNS_ENOMEM / DDNS_EINVAL with a one-line message in ERR.
 */
int rb_metrics_new(struct event_base *base, const struct ddns_conf *conf,
		   rb_metrics **out, char *err, size_t errlen);

/* Close the listeners and free.  NULL is accepted. */
void rb_metrics_free(rb_metrics *m);

/* Count the request REQ (LEN bytes of pdns JSON, parsed here only as far
 * as its method and qtype) answered in NS nanoseconds. */
void rb_metrics_observe(rb_metrics *m, const char *req, size_t len,
			uint64_t ns);

#endif
