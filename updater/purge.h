/*
 * purge.h -- removing changed names from pdns's packet and query caches
 * through its control socket ("PURGE name [name...]\n", one command per
 * connection, the reply read until EOF; the non-blocking purger puts the
 * names pending at once in one command).  A failed purge is logged by
 * the caller and never fails an update: the cache entry then simply
 * expires.
 */
#ifndef DDNS_PURGE_H
#define DDNS_PURGE_H

#include <stdbool.h>
#include <stddef.h>

#include "names.h"

#define DDNS_PURGE_ARG_MAX  (DDNS_NAME_BUF + 2) /* a name, "*." or "$" */
#define DDNS_PURGE_HOST_MAX 2			/* names purged for one host */

struct event_base;
typedef struct ddns_purger ddns_purger;

/* The purge arguments for a change of one host (ddns_purge_host_names). */
struct ddns_purge_names {
	unsigned n;
	char v[DDNS_PURGE_HOST_MAX][DDNS_PURGE_ARG_MAX];
};

/*
 * The one purge policy for a changed host, used by ddns-updater and
 * ddnsctl: into OUT the names to purge after host FQDN of ZONE changed:
 * ZONE's apex (its SOA serial changed) and the host, as "FQDN$" (FQDN and
 * every name below it) when SUBTREE, else FQDN alone.  SUBTREE is for a
 * host that is or was a wildcard (its answers are cached under the names
 * asked for) and for a host added or deleted (negative answers cached for
 * its name and the names below it).  A zone added or deleted is purged as
 * "ZONE$" instead.
 */
void ddns_purge_host_names(const char *fqdn, const char *zone, bool subtree,
			   struct ddns_purge_names *out);

/*
 * Blocking form, for ddnsctl: send one PURGE per entry of NAMES (each a
 * pdns purge argument: "host.zone" exact, "zone$" a whole subtree) to the
 * unix socket SOCKET_PATH, waiting at most TIMEOUT_MS for each.  Returns 0
 * when every purge was acknowledged, else a negative ddns_err (the
 * remaining names are still tried).
 */
int ddns_purge_sync(const char *socket_path, const char *const *names, size_t n,
		    unsigned timeout_ms);

/*
 * Blocking: ask pdns to re-read its zone list (control command REDISCOVER),
 * so a zone added or removed is served or dropped at once instead of after
 * pdns's zone-cache-refresh-interval.  0 when pdns answered; a failure is
 * logged here.
 */
int ddns_pdns_rediscover(const char *socket_path, unsigned timeout_ms);

/*
 * Non-blocking form, for ddns-updater: a purger on BASE that queues names
 * and sends them without ever delaying the reply path.  SOCKET_PATH NULL
 * gives a purger that drops everything.  Returns NULL on allocation failure.
 */
ddns_purger *ddns_purger_new(struct event_base *base, const char *socket_path,
			     unsigned timeout_ms);
/* Queue NAME (copied) for purging.  Duplicates pending at once are sent once.
 */
void ddns_purger_add(ddns_purger *p, const char *name);
/* Queue the names of ddns_purge_host_names. */
void ddns_purger_add_host(ddns_purger *p, const char *fqdn, const char *zone,
			  bool subtree);
/* Free; pending purges are dropped.  NULL is accepted. */
void ddns_purger_free(ddns_purger *p);

#endif
