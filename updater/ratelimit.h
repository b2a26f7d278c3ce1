/*
 * ratelimit.h -- limits on failed authentications, kept in memory by
 * ddns-updater ([abuse] auth_failures_per_source, auth_failures_per_host,
 * auth_window).
 *
 * Two fixed-size tables, allocated once: one per source (an IPv4 address,
 * or an IPv6 /64, since whoever holds one address of a /64 usually holds
 * them all), one per host name.  Each counts failed authentications in a
 * fixed window of auth_window seconds that starts with the first failure.
 * A request is refused, before its secret is verified, while its source
 * or its host has reached its limit in the current window:
 *
 *   - per source: at most auth_failures_per_source failures, whatever the
 *     hosts; a correct client elsewhere is not concerned;
 *   - per host: at most auth_failures_per_host failures from all sources,
 *     against distributed guessing.  Sources that authenticated
 *     successfully for that host recently (the last DDNS_RL_GOOD_MAX
 *     distinct ones, each for DDNS_RL_GOOD_TTL) are let through to
 *     verification anyway, still under their own per-source limit: the
 *     host's usual client keeps updating while its name is under attack.
 *     A client that comes from a new address during an attack waits for
 *     the window to end like everyone else.
 *
 * A success resets nothing.  When a table is full the least useful entry
 * of its bucket is reused (an expired one first, else the one with the
 * fewest failures, else the oldest), so a spray of source addresses cannot
 * grow memory, and evicts entries that hold few failures before those that
 * block.  Bucket positions come from a hash keyed with a random seed.
 *
 * Time is passed in by the caller (seconds of a monotonic clock; any
 * origin), which lets the tests drive it.  Not thread-safe: one event loop.
 */
#ifndef DDNS_RATELIMIT_H
#define DDNS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define DDNS_RL_SOURCES_DEFAULT 65536 /* entries of the source table */
#define DDNS_RL_HOSTS_DEFAULT	65536 /* entries of the host table */
#define DDNS_RL_GOOD_MAX	4     /* good sources remembered per host */
#define DDNS_RL_GOOD_TTL	(30 * 86400) /* seconds one is remembered */

struct ddns_rl_conf {
	unsigned per_source;  /* failures per window from one source; 0: no
				 limit */
	unsigned per_host;    /* failures per window against one host; 0: no
				 limit */
	unsigned window;      /* seconds (0 is taken as 1) */
	unsigned max_sources; /* table caps, rounded down to a multiple of the
				 bucket size (8); 0: the defaults above */
	unsigned max_hosts;
};

typedef struct ddns_ratelimit ddns_ratelimit;

/* What ddns_rl_failure reports, to log a limit once per window. */
enum ddns_rl_reached {
	DDNS_RL_SOURCE_REACHED = 1 << 0, /* this failure used up the source's */
	DDNS_RL_HOST_REACHED = 1 << 1,	 /* ... the host's */
};

/* A new limiter with both tables allocated (zeroed); NULL when out of
 * memory.  CONF is copied. */
ddns_ratelimit *ddns_rl_new(const struct ddns_rl_conf *conf);

/* Free; NULL is accepted. */
void ddns_rl_free(ddns_ratelimit *rl);

/*
 * May a request from SRC for host FQDN (its normalised username; NULL or
 * "" when it names none) go on to verify its secret at time NOW?  Returns
 * 0 if so, else the seconds until the window that refuses it ends (>= 1,
 * for Retry-After).  A SRC of family 0 is not limited per source.
 */
unsigned ddns_rl_check(ddns_ratelimit *rl, const struct ddns_addr *src,
		       const char *fqdn, int64_t now);

/*
 * Count a failed authentication from SRC; against host FQDN too when it
 * names an existing host (NULL otherwise: names that do not exist are not
 * tracked, so they cannot crowd out real ones).  Returns a mask of enum
 * ddns_rl_reached.
 */
int ddns_rl_failure(ddns_ratelimit *rl, const struct ddns_addr *src,
		    const char *fqdn, int64_t now);

/* Remember SRC as a good source of host FQDN (a successful
 * authentication).  Failures already counted stay. */
void ddns_rl_success(ddns_ratelimit *rl, const struct ddns_addr *src,
		     const char *fqdn, int64_t now);

/* Entries in use in each table (for the tests and for logs). */
size_t ddns_rl_nsources(const ddns_ratelimit *rl);
size_t ddns_rl_nhosts(const ddns_ratelimit *rl);

#endif
