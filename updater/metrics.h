/*
 * metrics.h -- ddns-updater's /metrics (Prometheus text format 0.0.4) and
 * /healthz.
 *
 * Counters live in the server's one event-loop thread, so they are plain
 * integers.  Both paths answer only clients of [updater] metrics_allow
 * (default: loopback), judged on the client address after trusted
 * proxies; others get 403.  /healthz writes to the store (a probe
 * transaction), which is one more reason to keep it private.
 */
#ifndef DDNS_METRICS_H
#define DDNS_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "http_util.h"
#include "store.h"

typedef struct ddns_metrics ddns_metrics;

/*
 * New counters for STORE (borrowed: it must outlive them).  CONF is read
 * during the call only (store path, metrics_allow).  Returns 0, or
 * DDNS_ENOMEM / DDNS_EINVAL with a one-line message in ERR.
 */
int ddns_metrics_new(ddns_metrics **out, ddns_store *store,
		     const struct ddns_conf *conf, char *err, size_t errlen);

/* NULL is accepted. */
void ddns_metrics_free(ddns_metrics *m);

/*
 * One answered dyndns2 request: its N reply codes (enum ddns_d2_code, one
 * per hostname) and the nanoseconds from its arrival to its reply.  A
 * request with a badauth line counts as one authentication failure.
 */
void ddns_metrics_update(ddns_metrics *m, const uint8_t *codes, unsigned n,
			 uint64_t ns);

/* One request refused with 429 before its secret was checked. */
void ddns_metrics_rate_limited(ddns_metrics *m);

/* One failed group commit (the updates of a batch answered 911). */
void ddns_metrics_commit_failed(ddns_metrics *m);

/*
 * Answer CTX if its path is /metrics or /healthz and return true; false
 * for any other path (CTX untouched).
 */
bool ddns_metrics_handle(ddns_metrics *m, const struct ddns_http_ctx *ctx);

#endif
