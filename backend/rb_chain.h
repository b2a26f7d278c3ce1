/*
 * rb_chain.h -- a zone's names in canonical DNS order (RFC 4034 section
 * 6.1), for NSEC denial (getBeforeAndAfterNamesAbsolute).
 *
 * The chain holds the apex and every name with records: each host with an
 * address that is neither blocked nor flagged for abuse, "*.host" for
 * wildcard hosts, and "_acme-challenge.host" while the host has a live
 * ACME challenge (shared/challenge.h).  It is built with one pass over the
 * zone's hosts and kept for the rest of the store snapshot it was read
 * from (a new commit makes the next request build it again) or until the
 * first of its challenges expires, so that a query for a name that does
 * not exist costs a binary search, not a scan.
 */
#ifndef DDNS_RB_CHAIN_H
#define DDNS_RB_CHAIN_H

#include <stddef.h>

#include "rb_state.h"
#include "store.h"

/* Longest relative name text returned: a host name, "_acme-challenge."
 * (16 octets) and a NUL. */
#define RB_CHAIN_NAME_BUF (DDNS_NAME_BUF + 17)

/*
 * The names of zone Z (read through T) just before-or-at and just after
 * QNAME, a name relative to Z as pdns sends it ("www." ; "" or "." for the
 * apex; "\\." and "\\DDD" escapes), into BEFORE and AFTER as relative
 * names ("" for the apex; after the last name the chain wraps to it).
 * The chain is kept with STATE (freed by rb_state_close) for T's
 * snapshot.  Returns 0, DDNS_EINVAL for a QNAME that does not parse, or a
 * store / DDNS_ENOMEM code.
 */
int rb_chain_find(rb_state *state, ddns_txn *t, const struct ddns_zone *z,
		  const char *qname, char before[RB_CHAIN_NAME_BUF],
		  char after[RB_CHAIN_NAME_BUF]);

/*
 * Canonical order of two relative names given as text (forms as QNAME
 * above; letters compare without case).  Returns <0, 0 or >0; *ERR (may be
 * NULL) gets DDNS_EINVAL when either does not parse (the result is then
 * 0), else 0.
 */
int rb_canon_cmp(const char *a, const char *b, int *err);

#endif
