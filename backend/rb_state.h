/*
 * rb_state.h -- what pdns itself writes through the remote backend, kept in
 * a small LMDB environment of the backend's own ([backend] state = DIR;
 * layout in schema/backend-state-v1.md): the serial pdns last sent NOTIFY
 * for, per zone id; DNSSEC keys; domain metadata.
 *
 * The host store stays written by the updater alone: nothing here touches
 * it.  Every call is its own LMDB transaction, so several backend
 * processes (the pipe connector starts one per pdns backend instance and
 * per AXFR) share the environment safely and keep nothing in memory.
 *
 * Zone names are normalised (shared/names.h: lower case, no trailing dot).
 * Key contents are private keys: never log them.
 */
#ifndef DDNS_RB_STATE_H
#define DDNS_RB_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RB_STATE_VERSION    1
#define RB_STATE_KIND_MAX   64	  /* octets of a metadata kind */
#define RB_STATE_VALUE_MAX  65535 /* octets of one metadata value */
#define RB_STATE_VALUES_MAX 256	  /* values of one kind */
#define RB_STATE_KEY_MAX    16384 /* octets of a key's content */

typedef struct rb_state rb_state;

/*
 * Open (creating if absent: directory 0700, files 0600) the state
 * environment in DIR.  Another layout version is refused with
 * DDNS_EVERSION.  On failure a one-line message naming DIR is written into
 * ERR.  Returns 0 or a negative DDNS_E* code.
 */
int rb_state_open(rb_state **out, const char *dir, char *err, size_t errlen);

/* Close; NULL is accepted.  Never use a handle across fork(). */
void rb_state_close(rb_state *s);

/*
 * A slot for data derived from the store that the backend keeps with this
 * handle between requests (the NSEC chains of rb_chain.c): NULL at first.
 * FREE_FN is remembered and called on the slot's value at rb_state_close.
 */
void **rb_state_aux(rb_state *s, void (*free_fn)(void *));

/* ---- notified serials ----------------------------------------------- */

/* The serial last recorded for zone ID into *SERIAL.  0 or ENOTFOUND. */
int rb_state_notified_get(rb_state *s, uint32_t id, uint32_t *serial);
/* Record SERIAL as notified for zone ID.  0 or a DDNS_E* code. */
int rb_state_notified_set(rb_state *s, uint32_t id, uint32_t serial);

/* ---- DNSSEC keys ------------------------------------------------------ */

struct rb_key {
	uint32_t id;	/* >= 1, unique in the environment, never reused */
	uint32_t flags; /* 256 ZSK, 257 KSK/CSK */
	bool active, published;
	const char *content; /* pdns's private key text; see the callback */
	size_t content_len;
};

/* Called per key; K->content is borrowed and valid during the call only.
 * Return 0 to go on, anything else to stop (returned as is). */
typedef int (*rb_key_cb)(const struct rb_key *k, void *arg);

/* Each key of ZONE in id order.  0, a DDNS_E* code or the callback's. */
int rb_state_key_foreach(rb_state *s, const char *zone, rb_key_cb cb,
			 void *arg);
/* Add K (its id ignored) to ZONE; the new id into *ID.  0, DDNS_EINVAL
 * (content empty or over RB_STATE_KEY_MAX) or a store code. */
int rb_state_key_add(rb_state *s, const char *zone, const struct rb_key *k,
		     uint32_t *id);
/* Delete key ID of ZONE.  0 or DDNS_ENOTFOUND. */
int rb_state_key_del(rb_state *s, const char *zone, uint32_t id);
/* Set key ID's ACTIVE and PUBLISHED flags (-1: leave as is).  0 or
 * DDNS_ENOTFOUND. */
int rb_state_key_set(rb_state *s, const char *zone, uint32_t id, int active,
		     int published);

/* ---- metadata --------------------------------------------------------- */

/* Called per value, IDX counting the values of one KIND from 0.  KIND and
 * VAL are borrowed (valid during the call), not NUL-terminated. */
typedef int (*rb_meta_cb)(const char *kind, size_t klen, unsigned idx,
			  const char *val, size_t vlen, void *arg);

/* Each value of KIND (NULL: of every kind, kinds in byte order) of ZONE.
 * 0, a DDNS_E* code or the callback's. */
int rb_state_meta_foreach(rb_state *s, const char *zone, const char *kind,
			  rb_meta_cb cb, void *arg);
/*
 * Replace ZONE's values of KIND by the N values VALS (lengths LENS); N = 0
 * deletes the kind.  KIND: 1..RB_STATE_KIND_MAX printable ASCII octets.
 * 0, DDNS_EINVAL (bad kind, too many or too long values) or a store code.
 */
int rb_state_meta_set(rb_state *s, const char *zone, const char *kind,
		      const char *const *vals, const size_t *lens, size_t n);

/* ---- record decoders, exposed for the fuzz tests ---------------------- */

/* The key record VAL (VLEN octets) under `keys` key KEY (KLEN octets) into
 * OUT; out->content points into VAL.  0 or DDNS_ECORRUPT. */
int rb_state_key_decode(const void *key, size_t klen, const void *val,
			size_t vlen, struct rb_key *out);
/* Call CB for each value of metadata record VAL (VLEN octets) of KIND
 * (KLEN octets, passed through).  0, DDNS_ECORRUPT (values before the
 * damage were passed to CB), or the first nonzero CB return. */
int rb_state_meta_decode(const char *kind, size_t klen, const void *val,
			 size_t vlen, rb_meta_cb cb, void *arg);

#endif
