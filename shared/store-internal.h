/*
 * store-internal.h -- what store.c and accounts.c share about the LMDB
 * store: the handle and transaction structs, the named-database handles,
 * the value cursors and the raw access helpers.  Include it from those two
 * files (and store_stats.c) only; every other module uses store.h /
 * accounts.h.
 *
 * The cursors and byte-order helpers are static inline so that each file
 * gets its own copy and nothing here is exported from libddns; the LMDB
 * wrappers (store_*) are defined once, in store.c.
 */
#ifndef DDNS_STORE_INTERNAL_H
#define DDNS_STORE_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store.h"

#define STORE_REC_VERSION 0x01 /* first octet of every versioned value */
#define STORE_REC_V2	  0x02 /* schema 2: hosts and faults records */
/* Schema 2, host flag bit 31: the host has a `faults` record.  The store
 * keeps it; struct ddns_host never shows it (ddns_host_decode does: it is
 * the raw codec). */
#define STORE_HOST_FAULTS (1u << 31)

struct ddns_store {
	MDB_env *env;
	MDB_dbi meta, zones, zone_ids, hosts, faults;
	/* added to v1 with issue 4 (schema/lmdb-v1.md section 12) */
	MDB_dbi users, user_names, user_oidc, sessions, tokens, host_comments;
	MDB_dbi challenges; /* issue 7 (challenge.c); additive like faults */
	bool has_challenges;
	bool has_faults;   /* false: a store without `faults`, opened
			      without CREATE (it then has no fault records) */
	bool has_accounts; /* the same for the six issue-4 databases */
	unsigned flags;
	unsigned version; /* meta/schema as found (DDNS_STORE_ANYVERSION) */
	/* Threads (store.c, "transactions"): a write txn of this handle is
	 * open (atomic: changed only while LMDB's writer lock is held), by
	 * thread `writer`; every active txn holds a share of `remap`. */
	bool writing;
	pthread_t writer;
	pthread_rwlock_t remap;
	bool remap_ready; /* remap initialised */
};

struct ddns_txn {
	ddns_store *s;
	MDB_txn *txn;
	bool write;
	bool active; /* live snapshot: holds a share of s->remap */
};

/* ---- byte order ----------------------------------------------------- */

static inline void store_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t store_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- bounded writer: once over capacity, further writes are dropped -- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool over;
};

static inline void w_bytes(struct wbuf *w, const void *d, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static inline void w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static inline void w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];

	store_put_u32(b, v);
	w_bytes(w, b, 4);
}

static inline void w_i64(struct wbuf *w, int64_t v)
{
	uint64_t u = (uint64_t)v;

	w_u32(w, (uint32_t)(u >> 32));
	w_u32(w, (uint32_t)u);
}

/* String as one length octet and its bytes (LEN <= 255 checked by caller). */
static inline void w_str(struct wbuf *w, const char *s, size_t len)
{
	w_u8(w, (uint8_t)len);
	w_bytes(w, s, len);
}

/* ---- bounded reader: a short read sets BAD and yields zeros ---------- */

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static inline void r_bytes(struct rbuf *r, void *out, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, r->p + r->off, n);
	r->off += n;
}

static inline uint8_t r_u8(struct rbuf *r)
{
	uint8_t b;

	r_bytes(r, &b, 1);
	return b;
}

static inline uint32_t r_u32(struct rbuf *r)
{
	uint8_t b[4];

	r_bytes(r, b, 4);
	return store_get_u32(b);
}

static inline int64_t r_i64(struct rbuf *r)
{
	uint64_t hi = r_u32(r);

	return (int64_t)(hi << 32 | r_u32(r));
}

/*
 * Read a length-prefixed string of MIN..MAX octets into OUT (MAX + 1
 * bytes, NUL-terminated); false if the length is out of range, the value
 * is truncated, or the string holds a NUL.
 */
static inline bool r_text(struct rbuf *r, char *out, size_t min, size_t max,
			  size_t *len)
{
	size_t n = r_u8(r);

	if (n < min || n > max)
		return false;
	r_bytes(r, out, n);
	out[n] = '\0';
	*len = n;
	return !r->bad && memchr(out, '\0', n) == NULL;
}

/* ---- checks (store.c) ----------------------------------------------- */

/* N group names, each a char[DDNS_GROUP_MAX + 1] starting at G, are valid
 * (ddns_group_valid) and distinct: a duplicate would be a second name for
 * the same membership; encoders refuse it, decoders call it corrupt. */
bool store_groups_valid(const char *g, unsigned n);

/* ---- LMDB access (store.c) ------------------------------------------ */

/* Open the `challenges` database (challenge.c) in TXN, creating it with
 * MDB_CREATE in FLAGS; without, a store lacking it is fine
 * (has_challenges stays false).  An LMDB code. */
int store_challenges_open(ddns_store *s, MDB_txn *txn, unsigned flags);

/* Open (creating the missing ones) every named database of the store in
 * the write transaction TXN (ddns_store_migrate).  An LMDB code. */
int store_open_all_dbs(ddns_store *s, MDB_txn *txn);

/* Translate an LMDB code to enum ddns_err, logging LMDB's text for
 * anything but "not found" / "exists"; WHAT names the operation. */
int store_lmdb_code(int rc, const char *what);

/* Get / put / delete KEY in DBI through T.  Put FLAGS are LMDB's
 * (MDB_NOOVERWRITE); delete of an absent key is 0 when MISSING_OK.  A
 * value from store_db_get points into the map: valid until T ends or
 * writes. */
int store_db_get(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 MDB_val *v);
int store_db_put(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 const void *val, size_t vlen, unsigned flags);
int store_db_del(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 bool missing_ok);

/* `meta` values are 4-octet u32 (other sizes: DDNS_ECORRUPT). */
int store_meta_get_u32(ddns_txn *t, const char *key, size_t klen,
		       uint32_t *out);
int store_meta_put_u32(ddns_txn *t, const char *key, size_t klen, uint32_t val);

/* The one log line for a WHAT record (under KEY) that does not decode;
 * SKIPPED when the caller goes on past it.  Non-printable key octets are
 * written as \xHH. */
void store_log_corrupt(const char *what, const void *key, size_t klen,
		       bool skipped);

#endif
