/*
 * challenge.h -- ACME DNS-01 challenge values of hosts (the `challenges`
 * database, schema/lmdb-v2.md section 13; issue 7).
 *
 * A host may hold a few TXT values at `_acme-challenge.FQDN` (a name and
 * its wildcard need two at once), each with its own expiry time.  The
 * record names the host's `created` time: a host deleted and made again
 * never inherits the values of the old one, whether or not the record was
 * removed with it.  Expired values are never served (the backend filters
 * them at read time) and are removed by the updater's periodic sweep.
 *
 * Like every store record, a struct ddns_challenges is copied out: nothing
 * points into LMDB memory.
 */
#ifndef DDNS_CHALLENGE_H
#define DDNS_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define DDNS_CHALLENGE_NAME	 "_acme-challenge."
#define DDNS_CHALLENGE_NAME_LEN	 16
#define DDNS_CHALLENGE_MAX	 8   /* values one record can hold */
#define DDNS_CHALLENGE_VALUE_MAX 128 /* octets of one value */

struct ddns_challenge {
	int64_t expires; /* unix seconds; served while now < expires */
	char value[DDNS_CHALLENGE_VALUE_MAX + 1]; /* NUL-terminated */
};

struct ddns_challenges {
	int64_t host_created; /* the `created` of the host they belong to */
	unsigned n;	      /* 0..DDNS_CHALLENGE_MAX */
	struct ddns_challenge v[DDNS_CHALLENGE_MAX];
};

/*
 * True if S (LEN octets) may be a challenge value: 1..DDNS_CHALLENGE_VALUE_MAX
 * octets of base64 / base64url ([A-Za-z0-9_+/=-]).  ACME's are 43 octets
 * of base64url; nothing accepted needs quoting or escaping in a TXT record.
 */
bool ddns_challenge_value_valid(const char *s, size_t len);

/* The values of host FQDN (normalised) into OUT, as stored (expired ones
 * included).  0, DDNS_ENOTFOUND (none, or a store without the database),
 * or DDNS_ECORRUPT. */
int ddns_challenge_get(ddns_txn *t, const char *fqdn,
		       struct ddns_challenges *out);

/*
 * The values of host H that are served at NOW into OUT: none unless the
 * record belongs to this very host (its `created`), expired ones dropped.
 * 0 with out->n >= 1, DDNS_ENOTFOUND, or DDNS_ECORRUPT.
 */
int ddns_challenge_live(ddns_txn *t, const struct ddns_host *h, int64_t now,
			struct ddns_challenges *out);

/* Write C as the record of FQDN (n == 0 deletes it).  Write transactions
 * only.  0, DDNS_EINVAL (read transaction, invalid value, n too large),
 * DDNS_EBADNAME, or a store error. */
int ddns_challenge_put(ddns_txn *t, const char *fqdn,
		       const struct ddns_challenges *c);

/* Delete the record of FQDN.  0 or DDNS_ENOTFOUND (or a store error). */
int ddns_challenge_del(ddns_txn *t, const char *fqdn);

/* Callback of ddns_challenge_foreach: 0 to go on, else stop (returned). */
typedef int (*ddns_challenge_cb)(const char *fqdn,
				 const struct ddns_challenges *c, void *arg);
/* Each record in key order; one that does not decode is skipped with a
 * log line.  Returns 0, a store error, or the callback's first nonzero
 * value.  The callback must not write through T. */
int ddns_challenge_foreach(ddns_txn *t, ddns_challenge_cb cb, void *arg);

/* ---- pure helpers on a record ------------------------------------------ */

/*
 * Add VALUE (valid, NUL-terminated) expiring at EXPIRES to C: a value
 * already there only gets the new expiry; when C already holds MAX values
 * (MAX capped at DDNS_CHALLENGE_MAX) the one expiring first makes room.
 */
void ddns_challenge_add(struct ddns_challenges *c, const char *value,
			int64_t expires, unsigned max);
/* Remove VALUE from C; true if it was there. */
bool ddns_challenge_remove(struct ddns_challenges *c, const char *value);
/* Remove every value expired at NOW; returns how many went. */
unsigned ddns_challenge_expire(struct ddns_challenges *c, int64_t now);

/* Encode C into BUF (CAP bytes): the length, or DDNS_ETOOBIG / EINVAL.
 * Decode: 0 or DDNS_ECORRUPT (OUT untouched then). */
int ddns_challenge_encode(const struct ddns_challenges *c, void *buf,
			  size_t cap);
int ddns_challenge_decode(const void *val, size_t len,
			  struct ddns_challenges *out);

#endif
