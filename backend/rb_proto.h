/*
 * rb_proto.h -- the PowerDNS 4.7 remote backend protocol over the ddns
 * store: one JSON request in, one JSON reply line out.
 *
 * Pure request handling, with no I/O of its own, so that the unit tests and
 * the fuzzers drive it directly.  The connectors (unix socket, pipe, HTTP)
 * live in rb_server.c.
 *
 * Methods: initialize, lookup, list, getAllDomains, getDomainInfo,
 * getAllDomainMetadata, getDomainMetadata; with a backend state
 * (rb_handle_state) also the primary role, DNSSEC keys, metadata writes
 * and the NSEC chain (rb_dnssec.h).  Anything else, and anything
 * malformed, is answered {"result":false} with a log line on stderr.
 */
#ifndef DDNS_RB_PROTO_H
#define DDNS_RB_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rb_state.h"
#include "store.h"

/* Longest request accepted, in bytes, without its line end.  pdns's
 * requests are a few hundred bytes; longer lines are refused unparsed. */
#define RB_LINE_MAX (64 * 1024)

/* TTL of the SOA and NS records. */
#define RB_SOA_NS_TTL 3600

/* The reply to anything refused, line end included. */
#define RB_REPLY_FALSE "{\"result\":false}\n"

/* Zones a cache keeps at once. */
#define RB_ZONE_CACHE 4

/*
 * Zones read for earlier lookups, valid as long as the store is unchanged:
 * they belong to one snapshot (ddns_txn_snapshot), and the first request
 * made in another snapshot empties the cache.  One cache serves every
 * transaction on one store handle; zero-initialise it before first use.
 */
struct rb_cache {
	uint64_t snapshot; /* 0: nothing kept */
	unsigned n, next;
	struct ddns_zone zone[RB_ZONE_CACHE];
};

/*
 * Answer the request REQ of LEN bytes (need not be NUL-terminated; a final
 * "\n" or "\r\n" is allowed) from the read transaction T, which the caller
 * has begun or renewed and resets afterwards.
 *
 * OUT is emptied and receives the whole reply, ending in "\n".  It is the
 * caller's reusable buffer: the hot path allocates only when OUT has to
 * grow.  Returns 0 when the request was served (the reply may still be
 * {"result":false}, meaning "nothing here"), or a negative DDNS_E* code for
 * a refused request (malformed, unknown method, too long: the reply is
 * RB_REPLY_FALSE and a line was logged).  On DDNS_ENOMEM OUT may hold
 * nothing usable (out->failed): send RB_REPLY_FALSE instead.
 */
int rb_handle(ddns_txn *t, const char *req, size_t len, struct ddns_buf *out);

/* rb_handle with CACHE (NULL: none), which lookups use and fill.  The
 * answers are the same as rb_handle's; only fewer reads are made. */
int rb_handle_cached(struct rb_cache *cache, ddns_txn *t, const char *req,
		     size_t len, struct ddns_buf *out);

/* rb_handle_cached with the backend state STATE (NULL: none; rb_state.h),
 * which answers the primary role's, DNSSEC and metadata methods
 * (rb_dnssec.h).  Lookups and list are answered as by rb_handle. */
int rb_handle_state(struct rb_cache *cache, rb_state *state, ddns_txn *t,
		    const char *req, size_t len, struct ddns_buf *out);

/* rb_handle without its fast path: every request parsed by jansson, and no
 * cache.  The replies are byte for byte rb_handle's; this exists for the
 * tests and fuzzers that check so. */
int rb_handle_json(ddns_txn *t, const char *req, size_t len,
		   struct ddns_buf *out);

/* Empty OUT and put RB_REPLY_FALSE in it.  Returns 0 or DDNS_ENOMEM. */
int rb_reply_false(struct ddns_buf *out);

#endif
