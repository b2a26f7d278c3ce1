/*
 * store.h -- the LMDB store shared by every ddns program (layout in
 * schema/lmdb-v2.md; schema/lmdb-v1.md for stores to migrate).
 *
 * One environment (a directory), several named databases.  ddns-updater and
 * ddnsctl write; ddns-backend only reads.  LMDB admits one writer at a time
 * across processes: keep write transactions short and never hold one across
 * network I/O.
 *
 * Ownership: every record is copied out into the caller's struct; nothing
 * returned points into LMDB memory, so records outlive their transaction.
 */
#ifndef DDNS_STORE_H
#define DDNS_STORE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "secret.h"

#define DDNS_SCHEMA_VERSION 2
#define DDNS_ZONE_NS_MAX 8
#define DDNS_DEFAULT_TTL 60
#define DDNS_ZONE_GROUPS_MAX 8 /* groups a private zone may name */
#define DDNS_GROUP_MAX 255     /* one group name (e.g. an entitlement URN) */
#define DDNS_HOST_COMMENT_MAX 256 /* octets of UTF-8 */
#define DDNS_HOST_COMMENT_BUF (DDNS_HOST_COMMENT_MAX + 1)

typedef struct ddns_store ddns_store;
typedef struct ddns_txn ddns_txn;

enum ddns_store_flags {
	DDNS_STORE_RDONLY = 1 << 0, /* reader (ddns-backend) */
	DDNS_STORE_CREATE = 1 << 1, /* create directory + store if absent */
	/* open a store of any schema version (ddnsctl migrate only): then
	 * nothing but ddns_store_version and ddns_store_migrate may be used */
	DDNS_STORE_ANYVERSION = 1 << 2,
};

/*
 * Open the store in directory DIR.  MAP_SIZE is the LMDB map size in bytes
 * (0: keep the store's own, or 1 GiB for a new one); a larger value than
 * the store's grows it.  A store of another schema version is refused with
 * DDNS_EVERSION; a directory without a store with DDNS_ENOSTORE (unless
 * CREATE).  On failure a one-line message naming DIR, and for a version
 * mismatch the version found and the one needed, is written into ERR.
 */
int ddns_store_open(ddns_store **out, const char *dir, unsigned flags,
		    uint64_t map_size, char *err, size_t errlen);

/* Close; all transactions must be finished.  NULL is accepted.  Never use
 * a handle across fork(): open the store again in the child. */
void ddns_store_close(ddns_store *s);

/* The DDNS_E* code of LMDB return code RC (0 for MDB_SUCCESS, DDNS_ESTORE
 * for anything without a closer match): the one translation of LMDB's
 * codes, also for the backend's own environment (rb_state.c). */
int ddns_lmdb_err(int rc);

/* Flush to disk.  Commits are already durable (LMDB's default sync mode),
 * so this matters only for a relaxed mode later; 0 for a RDONLY store. */
int ddns_store_sync(ddns_store *s);

/*
 * Begin a transaction.  Read transactions may be kept and recycled with
 * ddns_txn_reset / ddns_txn_renew (one per connection in the backend).
 * A write transaction blocks while another process or thread writes; a
 * second write transaction in the same thread is refused (DDNS_EINVAL), as
 * is any on a RDONLY store.  A handle may serve several threads, each
 * transaction used only by the thread that began it.  Begin and renew
 * adopt a map grown by another process once no other transaction of this
 * handle is active (they wait up to 2 s for that, then fail).
 */
int ddns_txn_begin(ddns_store *s, bool write, ddns_txn **out);
/* Commit (durable on return for write transactions) and free T, even when
 * the commit fails.  After DDNS_EFULL from any write, only abort is left. */
int ddns_txn_commit(ddns_txn *t);
/* Abort and free; NULL is accepted. */
void ddns_txn_abort(ddns_txn *t);
/* Read transactions only: release the snapshot, keep the handle. */
void ddns_txn_reset(ddns_txn *t);
/* Read transactions only: take a fresh snapshot (after a reset, or of a
 * live transaction, which is reset first). */
int ddns_txn_renew(ddns_txn *t);

/* ---- text checks (added for issue 4) ------------------------------ */

/* True if S (LEN octets) is valid UTF-8 (shortest forms, no surrogates,
 * at most U+10FFFF) without control characters (C0, DEL, C1) and without
 * NUL: what the store accepts for comments, display names, labels. */
bool ddns_text_valid(const char *s, size_t len);
/* True if S (LEN octets) is a valid group name: 1..DDNS_GROUP_MAX octets
 * of ddns_text_valid text, not starting or ending with a space. */
bool ddns_group_valid(const char *s, size_t len);

/* ---- zones ------------------------------------------------------------ */

enum ddns_zone_kind {
	DDNS_ZONE_NATIVE = 0,
	DDNS_ZONE_MASTER = 1,
};

/* Who may add hosts to a zone (ddns_zone_usable_by in accounts.h).  A
 * zone an operator adds without saying is PUBLIC (0). */
enum ddns_zone_visibility {
	DDNS_ZONE_PUBLIC = 0,  /* every user */
	DDNS_ZONE_PRIVATE = 1, /* members of one of its groups (and admins) */
	DDNS_ZONE_ADMIN = 2,   /* admins only */
};

struct ddns_zone {
	char name[DDNS_NAME_BUF];    /* normalised, no trailing dot */
	uint32_t id;                  /* pdns domain_id, >= 1, never reused */
	uint32_t ttl;                 /* TTL of host records */
	uint32_t serial;              /* SOA serial (kept in meta) */
	uint32_t notified_serial;     /* last serial pdns notified (meta) */
	uint8_t kind;                 /* enum ddns_zone_kind */
	uint8_t n_ns;
	char ns[DDNS_ZONE_NS_MAX][DDNS_NAME_BUF];
	char hostmaster[DDNS_NAME_BUF]; /* SOA RNAME form, no trailing dot */
	int64_t created;              /* unix seconds */
	uint8_t visibility;           /* enum ddns_zone_visibility */
	uint8_t n_groups;             /* 0..DDNS_ZONE_GROUPS_MAX */
	char groups[DDNS_ZONE_GROUPS_MAX][DDNS_GROUP_MAX + 1];
};

/* Copy zone NAME (normalised) into OUT.  0 or DDNS_ENOTFOUND. */
int ddns_zone_get(ddns_txn *t, const char *name, struct ddns_zone *out);
/* Zone by pdns domain_id.  0 or DDNS_ENOTFOUND. */
int ddns_zone_get_by_id(ddns_txn *t, uint32_t id, struct ddns_zone *out);
/* The deepest zone that contains NAME (or equals it).  0 or ENOZONE. */
int ddns_zone_find(ddns_txn *t, const char *name, struct ddns_zone *out);
/* Add Z (name, ttl, ns, hostmaster, kind, visibility and groups set by
 * the caller); assigns Z->id, Z->serial (current unix time) and
 * Z->created.  0 or EEXIST; DDNS_EBADNAME for an invalid name, ns or
 * hostmaster; DDNS_EINVAL for an unknown visibility or an invalid or
 * duplicate group; DDNS_EBUSY if a host is named NAME or a host of an
 * enclosing zone lies below it (hosts of zones nested below NAME are
 * fine). */
int ddns_zone_add(ddns_txn *t, struct ddns_zone *z);
/* Rewrite an existing zone's settings (not its id, created or serial).
 * 0, DDNS_ENOTFOUND, DDNS_EBADNAME, or DDNS_EINVAL for an unknown
 * visibility or an invalid group (as ddns_zone_add). */
int ddns_zone_update(ddns_txn *t, const struct ddns_zone *z);
/* Delete zone NAME.  Refused with DDNS_EBUSY while it has hosts, unless
 * FORCE, which deletes them too (with their fault records and comments).
 * *N_HOSTS (may be NULL) gets their count. */
int ddns_zone_del(ddns_txn *t, const char *name, bool force,
		  unsigned *n_hosts);
/* Raise the zone's SOA serial by one (RFC 1982 wrap); new value in *OUT
 * (may be NULL). */
int ddns_zone_bump_serial(ddns_txn *t, const char *name, uint32_t *out);
/* Record the serial pdns has sent NOTIFY for.  0 or DDNS_ENOTFOUND. */
int ddns_zone_set_notified(ddns_txn *t, uint32_t id, uint32_t serial);

/* Callbacks return 0 to go on, anything else to stop (returned as is).
 * They may read through the transaction but must not write through it. */
typedef int (*ddns_zone_cb)(const struct ddns_zone *z, void *arg);
/* Each zone in name order.  A zone record that does not decode (see
 * schema/lmdb-v1.md section 9) is skipped with one error log line naming
 * its key, so one damaged record does not hide the others.  Returns 0, a
 * store error, or the callback's first nonzero value. */
int ddns_zone_foreach(ddns_txn *t, ddns_zone_cb cb, void *arg);

/* ---- hosts ------------------------------------------------------------ */

enum ddns_host_flags {
	DDNS_HOST_V4 = 1 << 0,       /* v4 holds an address */
	DDNS_HOST_V6 = 1 << 1,       /* v6 holds an address */
	DDNS_HOST_WILDCARD = 1 << 2, /* *.fqdn answers the same */
	DDNS_HOST_ABUSE = 1 << 3,    /* set past the client-fault limit */
	DDNS_HOST_BLOCKED = 1 << 4,  /* set by an operator */
	DDNS_HOST_TLS4 = 1 << 5,     /* last IPv4 update came over TLS */
	DDNS_HOST_TLS6 = 1 << 6,     /* last IPv6 update came over TLS */
};

struct ddns_host {
	char fqdn[DDNS_NAME_BUF]; /* normalised, no trailing dot */
	uint32_t zone_id;
	uint32_t flags;           /* enum ddns_host_flags */
	struct in_addr v4;
	struct in6_addr v6;
	int64_t created;          /* unix seconds */
	int64_t updated;          /* last change of an address; 0 = never */
	struct ddns_cred cred;
	uint32_t client_faults;
	uint32_t server_faults;
	uint32_t auth_faults;
	int64_t last_fault;       /* unix seconds of the last fault; 0 = none */
	uint32_t owner;           /* user id (accounts.h); 0 = none: made by
				     an operator, visible to admins only */
};

/* Copy host FQDN (normalised) into OUT.  0 or DDNS_ENOTFOUND.  Schema 2:
 * the fault counters come from the host's `faults` record, read only for
 * a host that has one. */
int ddns_host_get(ddns_txn *t, const char *fqdn, struct ddns_host *out);
/* Insert a new host.  0, DDNS_EEXIST, or DDNS_ENOZONE if h->zone_id names
 * no zone; DDNS_EBADNAME if h->fqdn is not normalised; DDNS_EINVAL if
 * h->zone_id is not the deepest zone containing h->fqdn, or h->fqdn is
 * that zone's apex (hosts lie strictly below their zone); DDNS_EDEPTH if
 * h->fqdn is more than one label below that zone (a deeper name needs a
 * zone of its own: names between a host and its zone would be empty
 * non-terminals). */
int ddns_host_add(ddns_txn *t, const struct ddns_host *h);
/* Replace an existing host.  0 or DDNS_ENOTFOUND; a changed zone_id is
 * checked as in ddns_host_add, except for the depth (hosts stored deeper
 * before that rule stay usable).  Schema 2: nonzero fault counters are
 * written to the host's `faults` record (made when needed; its window and
 * text are kept); times must fit in u32 (else DDNS_EINVAL). */
int ddns_host_put(ddns_txn *t, const struct ddns_host *h);
/* Delete, with its fault record and comment.  0 or DDNS_ENOTFOUND. */
int ddns_host_del(ddns_txn *t, const char *fqdn);

/* ---- host comments (`host_comments`, schema/lmdb-v1.md section 12) --- */

/* Copy the comment of host FQDN into OUT: "" when it has none (or there is
 * no such host).  0 or DDNS_ECORRUPT. */
int ddns_host_comment_get(ddns_txn *t, const char *fqdn,
			  char out[DDNS_HOST_COMMENT_BUF]);
/* Set the comment of the existing host FQDN; "" deletes it.  0,
 * DDNS_ENOTFOUND (no such host), or DDNS_EINVAL for a comment over
 * DDNS_HOST_COMMENT_MAX octets or not ddns_text_valid (or a store opened
 * without CREATE that has no `host_comments` database yet). */
int ddns_host_comment_put(ddns_txn *t, const char *fqdn, const char *comment);

typedef int (*ddns_host_cb)(const struct ddns_host *h, void *arg);
/* Each host of zone ZONE (NULL: all hosts) in key order (labels reversed).
 * With ZONE, hosts of nested zones below it are skipped.  A host record
 * that does not decode is skipped with one error log line naming its key
 * (ddns_host_get of that name still returns DDNS_ECORRUPT).  Returns 0,
 * DDNS_EINVAL for an invalid ZONE, a store error, or the callback's first
 * nonzero value. */
int ddns_host_foreach(ddns_txn *t, const struct ddns_zone *zone,
		      ddns_host_cb cb, void *arg);

/* ---- fault details (`faults` database, schema/lmdb-v1.md section 7) --- */

/*
 * What the host record's counters do not hold: the text of the last fault
 * and the client-fault window that the abuse threshold is judged on.  A
 * record exists only for hosts that had a fault; ddns_host_del and a
 * forced ddns_zone_del remove it with the host.
 */
#define DDNS_FAULT_TEXT_MAX 120 /* octets of printable ASCII */

enum ddns_fault_kind {
	DDNS_FAULT_NONE = 0,
	DDNS_FAULT_CLIENT = 1, /* nochg, nohost, notfqdn, numhost, dnserr */
	DDNS_FAULT_SERVER = 2, /* 911 */
	DDNS_FAULT_AUTH = 3,   /* a wrong secret for this host */
};

struct ddns_fault {
	int64_t window_start;  /* unix seconds the window began; 0 = none */
	uint32_t window_count; /* client faults counted in that window */
	uint8_t last_kind;     /* enum ddns_fault_kind of the last fault */
	/* printable ASCII (0x20..0x7e), NUL-terminated; "" = none */
	char last_text[DDNS_FAULT_TEXT_MAX + 1];
	/* schema 2: the host's counters live in this record too.  They are
	 * struct ddns_host's (written by ddns_host_put); ddns_fault_get fills
	 * them, ddns_fault_put ignores them and keeps the stored ones. */
	uint32_t client_faults, server_faults, auth_faults;
	int64_t last_fault;
};

/* Copy the fault record of host FQDN into OUT.  0 or DDNS_ENOTFOUND (the
 * host never had a fault, or does not exist). */
int ddns_fault_get(ddns_txn *t, const char *fqdn, struct ddns_fault *out);
/* Write the fault record of the existing host FQDN.  0, DDNS_ENOTFOUND
 * (no such host), or DDNS_EINVAL for a text that is too long or not
 * printable ASCII, an unknown kind, or a store opened without CREATE that
 * has no `faults` database yet. */
int ddns_fault_put(ddns_txn *t, const char *fqdn, const struct ddns_fault *f);
/* Delete the fault record of FQDN.  0 or DDNS_ENOTFOUND. */
int ddns_fault_del(ddns_txn *t, const char *fqdn);
/* Encode / decode a fault value (as the host codecs below). */
int ddns_fault_encode(const struct ddns_fault *f, void *buf, size_t cap);
int ddns_fault_decode(const void *val, size_t len, struct ddns_fault *out);

/* ---- encoding (exposed for the fuzzers and unit tests) ---------------- */

/* Decode a stored value; 0 or DDNS_ECORRUPT (OUT untouched then).  The
 * name / fqdn and the zone's serials live elsewhere (key, meta): they are
 * left empty / 0 for the caller to fill. */
int ddns_zone_decode(const void *val, size_t len, struct ddns_zone *out);
int ddns_host_decode(const void *val, size_t len, struct ddns_host *out);
/* Encode into BUF of CAP bytes; returns length or DDNS_ETOOBIG, or
 * DDNS_EINVAL / DDNS_EBADNAME for a record that would not decode (id 0,
 * unknown kind or visibility, too many or invalid ns or groups, invalid
 * hostmaster). */
int ddns_zone_encode(const struct ddns_zone *z, void *buf, size_t cap);
int ddns_host_encode(const struct ddns_host *h, void *buf, size_t cap);

/* ---- snapshots (added for the backend's per-snapshot caches) ---------- */

/*
 * An identifier of the snapshot that the live read transaction T sees:
 * two equal values mean the same committed contents of the whole store,
 * and a later commit gives a larger value.  Only meaningful between begin
 * (or renew) and reset.  0 for a write transaction or NULL.
 */
uint64_t ddns_txn_snapshot(const ddns_txn *t);

/* ---- schema upgrades, backups, bulk loads (issue 9; schema v2) -------- */

/* The schema version recorded in S (meta/schema): DDNS_SCHEMA_VERSION
 * unless S was opened with DDNS_STORE_ANYVERSION. */
unsigned ddns_store_version(const ddns_store *s);

/*
 * Upgrade S (opened with DDNS_STORE_ANYVERSION, not RDONLY) to
 * DDNS_SCHEMA_VERSION in one write transaction (schema/lmdb-v2.md section
 * 10): all of it is committed or nothing.  *FROM (may be NULL) gets the
 * version found, *N_HOSTS (may be NULL) the host records rewritten.
 * Returns 0 (also when S is already current: *FROM says so),
 * DDNS_EVERSION for a version it cannot upgrade (newer than this
 * program), DDNS_ECORRUPT for a record it cannot convert (logged with its
 * key), DDNS_EFULL, or a store error.  Run it with the daemons stopped.
 */
int ddns_store_migrate(ddns_store *s, unsigned *from, uint64_t *n_hosts);

/*
 * Write a consistent, compacted copy of the whole store (one data.mdb
 * file, free pages dropped: mdb_env_copyfd2 with MDB_CP_COMPACT) to the
 * file descriptor FD, from a read transaction: other processes go on
 * writing meanwhile.  FD is not closed or synced.  0 or DDNS_EIO.
 */
int ddns_store_backup_fd(ddns_store *s, int fd);

/*
 * Store zone Z exactly as given (an import): its id, created, serial and
 * notified serial are kept, and next_zone_id is raised past its id.
 * 0, DDNS_EEXIST (a zone of that name or id exists), DDNS_EBADNAME or
 * DDNS_EINVAL as ddns_zone_add, DDNS_EBUSY as ddns_zone_add.
 */
int ddns_zone_load(ddns_txn *t, const struct ddns_zone *z);

/*
 * Insert host H exactly as given (an import): its times, credential and
 * fault counters are kept; F (may be NULL) gives its fault details.  The
 * zone rules are those of ddns_host_add, except that with DEEP a host
 * more than one label below its zone is accepted (an export of a store
 * that has such hosts).  APPEND: the caller inserts keys in ascending
 * order past every existing key, which makes each insert O(1) (LMDB's
 * MDB_APPEND); an out-of-order key then fails with DDNS_EEXIST, so only
 * say so when sure.  Returns as ddns_host_add.  The zone's serial is the
 * caller's (ddns_zone_bump_serial once per zone and transaction).
 */
int ddns_host_load(ddns_txn *t, const struct ddns_host *h,
		   const struct ddns_fault *f, bool deep, bool append);

/* The largest host key in the store into KEY (DDNS_NAME_BUF), its length
 * in *LEN (0: no hosts).  For a caller deciding about APPEND above: a
 * sorted batch whose first key is larger may append.  0 or an error. */
int ddns_host_last_key(ddns_txn *t, char key[DDNS_NAME_BUF], size_t *len);

/* ---- statistics and health (added for issue 9: /metrics, /healthz) ---- */

struct ddns_store_stats {
	uint64_t map_size;    /* bytes the store may grow to */
	uint64_t used_bytes;  /* pages in use up to the last commit */
	uint64_t page_size;
	uint64_t last_txnid;  /* grows with every commit */
	unsigned max_readers, readers; /* reader slots: all, in use */
	uint64_t hosts, zones; /* records in those databases */
};

/*
 * Fill OUT from the environment (mdb_env_info, mdb_stat) in a short read
 * transaction of its own.  Returns 0 or DDNS_ESTORE.
 */
int ddns_store_stats(ddns_store *s, struct ddns_store_stats *out);

/*
 * Prove the store writable: a write transaction that writes and removes a
 * probe key in the meta database and commits (so pages really reach the
 * file and are synced).  Nothing visible changes.  Returns 0, DDNS_EFULL
 * when the map has no room, DDNS_EINVAL for a RDONLY store or while this
 * handle has a write transaction open, or DDNS_ESTORE / DDNS_EIO.
 */
int ddns_store_probe_write(ddns_store *s);

#endif
