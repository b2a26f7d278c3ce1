/*
 * prom.h -- helpers for the Prometheus text exposition format 0.0.4
 * (/metrics of ddns-updater and ddns-backend): a latency histogram with
 * fixed buckets, and the HELP/TYPE lines.  No I/O and no globals: each
 * program owns its counters and writes them into a ddns_buf.
 */
#ifndef DDNS_PROM_H
#define DDNS_PROM_H

#include <stdint.h>

#include "buf.h"

/* The Content-Type of an exposition. */
#define DDNS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Upper bounds of the histogram buckets, 25 µs to 10 s; +Inf is extra. */
#define DDNS_PROM_BUCKETS 17

struct ddns_prom_hist {
	uint64_t bucket[DDNS_PROM_BUCKETS + 1]; /* per bucket, last: +Inf */
	uint64_t count;
	uint64_t sum_ns;
};

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t ddns_prom_now_ns(void);

/* Count one observation of NS nanoseconds in H. */
void ddns_prom_observe(struct ddns_prom_hist *h, uint64_t ns);

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" lines into B. */
void ddns_prom_header(struct ddns_buf *b, const char *name, const char *type,
		      const char *help);

/*
 * H as NAME_bucket{LABELS,le="..."} (cumulative), NAME_sum (seconds) and
 * NAME_count lines into B.  LABELS is "" or text such as type="A" (the
 * caller's label values must need no escaping).
 */
void ddns_prom_hist(struct ddns_buf *b, const char *name, const char *labels,
		    const struct ddns_prom_hist *h);

#endif
