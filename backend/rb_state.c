/*
 * rb_state.c -- the backend's own LMDB environment
 * (schema/backend-state-v1.md).
 *
 * Four named databases: `info` (layout version, next key id), `notified`
 * (zone id -> serial), `keys` (zone NUL key id -> key record) and `meta`
 * (zone NUL kind -> values).  Integers are big-endian; every record value
 * starts with its version octet.  LMDB codes are translated in ddns_lmdb_err()
 * below, as shared/store.c does for the host store.
 */
#include "rb_state.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "log.h"
#include "names.h"
#include "store.h"

#define STATE_MAP_SIZE (64ULL << 20)
#define STATE_MAXDBS   4
#define REC_VERSION    1
#define KEY_HDR	       6 /* version, flags u32, bits */
#define KEY_ACTIVE     1
#define KEY_PUBLISHED  2
#define ZKEY_MAX       (DDNS_NAME_BUF + 1 + RB_STATE_KIND_MAX)

struct rb_state {
	MDB_env *env;
	MDB_dbi info, notified, keys, meta;
	void *aux;
	void (*aux_free)(void *);
};

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* "ZONE\0" + TAIL (TLEN octets) into BUF (ZKEY_MAX); the length, or 0 for
 * a zone name that is not normalised. */
static size_t zkey(unsigned char *buf, const char *zone, const void *tail,
		   size_t tlen)
{
	size_t zlen = strnlen(zone, DDNS_NAME_BUF);

	if (zlen == 0 || zlen >= DDNS_NAME_BUF || zlen + 1 + tlen > ZKEY_MAX)
		return 0;
	memcpy(buf, zone, zlen);
	buf[zlen] = '\0';
	if (tlen > 0) /* TAIL may be NULL then: memcpy wants a pointer */
		memcpy(buf + zlen + 1, tail, tlen);
	return zlen + 1 + tlen;
}

/* ---- open ------------------------------------------------------------- */

/* Open the databases and check the layout version; with CREATE (a write
 * transaction) create what is missing.  Without CREATE, DDNS_ENOTFOUND
 * means "not created yet".  The handles are kept for the environment's
 * life, also after a read-only transaction commits. */
static int state_dbs(rb_state *s, bool create)
{
	static const char *const names[] = {"info", "notified", "keys", "meta"};
	MDB_dbi *dbis[] = {&s->info, &s->notified, &s->keys, &s->meta};
	MDB_val k = {6, "schema"}, v;
	unsigned char ver[4];
	MDB_txn *t = NULL;
	int rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &t);

	for (size_t i = 0; rc == 0 && i < 4; i++)
		rc =
		    mdb_dbi_open(t, names[i], create ? MDB_CREATE : 0, dbis[i]);
	if (rc == 0)
		rc = mdb_get(t, s->info, &k, &v);
	if (rc == MDB_NOTFOUND && create) {
		put_u32(ver, RB_STATE_VERSION);
		v.mv_size = 4;
		v.mv_data = ver;
		rc = mdb_put(t, s->info, &k, &v, 0);
	} else if (rc == 0 &&
		   (v.mv_size != 4 || get_u32(v.mv_data) != RB_STATE_VERSION)) {
		mdb_txn_abort(t);
		return DDNS_EVERSION;
	}
	if (rc != 0) {
		if (t)
			mdb_txn_abort(t);
		return ddns_lmdb_err(rc);
	}
	return ddns_lmdb_err(mdb_txn_commit(t));
}

/* Open the databases, creating them on the first start only: the pipe
 * connector starts a process per AXFR, which then writes nothing. */
static int state_init(rb_state *s)
{
	int rc = state_dbs(s, false);

	return rc == DDNS_ENOTFOUND ? state_dbs(s, true) : rc;
}

/* Refuse a directory that others may write to (like the store) and warn
 * about one others may read: it holds private keys. */
static int state_dir_check(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "backend state %s: not a directory", dir);
		return DDNS_EIO;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "backend state %s: writable by everyone",
			 dir);
		return DDNS_EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		log_warn("backend state %s: mode %04o lets others in; it holds "
			 "private keys (chmod 0700)",
			 dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

int rb_state_open(rb_state **out, const char *dir, char *err, size_t errlen)
{
	rb_state *s = calloc(1, sizeof *s);
	int rc;

	*out = NULL;
	if (!s)
		return DDNS_ENOMEM;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "backend state %s: %s", dir,
			 strerror(errno));
		free(s);
		return DDNS_EIO;
	}
	if ((rc = state_dir_check(dir, err, errlen)) != 0) {
		free(s);
		return rc;
	}
	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, STATE_MAXDBS);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, STATE_MAP_SIZE);
	if (rc == 0)
		rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
	if (rc != 0) {
		snprintf(err, errlen, "backend state %s: %s", dir,
			 mdb_strerror(rc));
		rb_state_close(s);
		return ddns_lmdb_err(rc);
	}
	rc = state_init(s);
	if (rc != 0) {
		snprintf(err, errlen, "backend state %s: %s%s", dir,
			 ddns_strerror(rc),
			 rc == DDNS_EVERSION ? " (layout version 1 needed)"
					     : "");
		rb_state_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void rb_state_close(rb_state *s)
{
	if (!s)
		return;
	if (s->aux && s->aux_free)
		s->aux_free(s->aux);
	if (s->env)
		mdb_env_close(s->env);
	free(s);
}

void **rb_state_aux(rb_state *s, void (*free_fn)(void *))
{
	s->aux_free = free_fn;
	return &s->aux;
}

/* ---- small transactions ----------------------------------------------- */

static int txn_begin(rb_state *s, bool write, MDB_txn **t)
{
	int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, t);

	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, t);
	}
	if (rc != 0)
		log_err("backend state: %s", mdb_strerror(rc));
	return ddns_lmdb_err(rc);
}

/* Commit T if RC is 0, else abort it; returns the outcome. */
static int txn_end(MDB_txn *t, int rc)
{
	if (rc != 0) {
		mdb_txn_abort(t);
		return rc;
	}
	return ddns_lmdb_err(mdb_txn_commit(t));
}

/* ---- notified serials ------------------------------------------------- */

int rb_state_notified_get(rb_state *s, uint32_t id, uint32_t *serial)
{
	unsigned char kb[4];
	MDB_val k = {4, kb}, v;
	MDB_txn *t;
	int rc;

	put_u32(kb, id);
	if ((rc = txn_begin(s, false, &t)) != 0)
		return rc;
	rc = ddns_lmdb_err(mdb_get(t, s->notified, &k, &v));
	if (rc == 0 && v.mv_size != 4)
		rc = DDNS_ECORRUPT;
	if (rc == 0)
		*serial = get_u32(v.mv_data);
	mdb_txn_abort(t);
	return rc;
}

int rb_state_notified_set(rb_state *s, uint32_t id, uint32_t serial)
{
	unsigned char kb[4], vb[4];
	MDB_val k = {4, kb}, v = {4, vb};
	MDB_txn *t;
	int rc;

	put_u32(kb, id);
	put_u32(vb, serial);
	if ((rc = txn_begin(s, true, &t)) != 0)
		return rc;
	rc = ddns_lmdb_err(mdb_put(t, s->notified, &k, &v, 0));
	return txn_end(t, rc);
}

/* ---- keys ------------------------------------------------------------- */

static int key_decode(const MDB_val *k, const MDB_val *v, struct rb_key *out)
{
	const unsigned char *p = v->mv_data;

	if (k->mv_size < 5 || v->mv_size <= KEY_HDR || p[0] != REC_VERSION)
		return DDNS_ECORRUPT;
	out->id = get_u32((const unsigned char *)k->mv_data + k->mv_size - 4);
	out->flags = get_u32(p + 1);
	out->active = p[5] & KEY_ACTIVE;
	out->published = p[5] & KEY_PUBLISHED;
	out->content = (const char *)p + KEY_HDR;
	out->content_len = v->mv_size - KEY_HDR;
	return 0;
}

int rb_state_key_decode(const void *key, size_t klen, const void *val,
			size_t vlen, struct rb_key *out)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

	return key_decode(&k, &v, out);
}

/* Position CUR at the first key of prefix PFX (PLEN octets) and call FN
 * for each entry under it until FN returns nonzero. */
typedef int (*prefix_fn)(const MDB_val *k, const MDB_val *v, void *arg);

static int prefix_walk(MDB_txn *t, MDB_dbi dbi, const unsigned char *pfx,
		       size_t plen, prefix_fn fn, void *arg)
{
	MDB_cursor *cur;
	MDB_val k = {plen, (void *)pfx}, v;
	int rc = mdb_cursor_open(t, dbi, &cur), cb_rc = 0;

	if (rc != 0)
		return ddns_lmdb_err(rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size >= plen &&
	       memcmp(k.mv_data, pfx, plen) == 0) {
		if ((cb_rc = fn(&k, &v, arg)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (cb_rc != 0)
		return cb_rc;
	return rc == MDB_NOTFOUND ? 0 : ddns_lmdb_err(rc);
}

struct key_walk {
	rb_key_cb cb;
	void *arg;
};

static int key_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct key_walk *w = arg;
	struct rb_key key;

	if (key_decode(k, v, &key) != 0) {
		log_err("backend state: a key record does not decode; skipped");
		return 0;
	}
	return w->cb(&key, w->arg);
}

int rb_state_key_foreach(rb_state *s, const char *zone, rb_key_cb cb, void *arg)
{
	struct key_walk w = {cb, arg};
	unsigned char kb[ZKEY_MAX];
	size_t klen = zkey(kb, zone, NULL, 0);
	MDB_txn *t;
	int rc;

	if (klen == 0)
		return DDNS_EBADNAME;
	if ((rc = txn_begin(s, false, &t)) != 0)
		return rc;
	rc = prefix_walk(t, s->keys, kb, klen, key_walk_fn, &w);
	mdb_txn_abort(t);
	return rc;
}

/* The next key id from `info`, counted up.  0 or a DDNS_E* code. */
static int next_key_id(rb_state *s, MDB_txn *t, uint32_t *id)
{
	MDB_val k = {11, "next_key_id"}, v;
	unsigned char vb[4];
	int rc = mdb_get(t, s->info, &k, &v);

	if (rc == MDB_NOTFOUND) {
		*id = 1;
	} else if (rc != 0) {
		return ddns_lmdb_err(rc);
	} else if (v.mv_size != 4 || get_u32(v.mv_data) == 0) {
		return DDNS_ECORRUPT;
	} else {
		*id = get_u32(v.mv_data);
	}
	if (*id == UINT32_MAX)
		return DDNS_EFULL;
	put_u32(vb, *id + 1);
	v.mv_size = 4;
	v.mv_data = vb;
	return ddns_lmdb_err(mdb_put(t, s->info, &k, &v, 0));
}

int rb_state_key_add(rb_state *s, const char *zone, const struct rb_key *k,
		     uint32_t *id)
{
	unsigned char kb[ZKEY_MAX], idb[4] = {0}, *vb = NULL;
	MDB_val key, val;
	MDB_txn *t;
	int rc;

	if (!k->content_len || k->content_len > RB_STATE_KEY_MAX)
		return DDNS_EINVAL;
	if (!zkey(kb, zone, idb, 4))
		return DDNS_EBADNAME;
	if (!(vb = malloc(KEY_HDR + k->content_len)))
		return DDNS_ENOMEM;
	vb[0] = REC_VERSION;
	put_u32(vb + 1, k->flags);
	vb[5] =
	    (k->active ? KEY_ACTIVE : 0) | (k->published ? KEY_PUBLISHED : 0);
	memcpy(vb + KEY_HDR, k->content, k->content_len);
	if ((rc = txn_begin(s, true, &t)) != 0)
		goto done;
	rc = next_key_id(s, t, id);
	if (rc == 0) {
		put_u32(idb, *id);
		key.mv_size = zkey(kb, zone, idb, 4);
		key.mv_data = kb;
		val.mv_size = KEY_HDR + k->content_len;
		val.mv_data = vb;
		rc = ddns_lmdb_err(mdb_put(t, s->keys, &key, &val, MDB_NOOVERWRITE));
	}
	rc = txn_end(t, rc);
done:
	explicit_bzero(vb, KEY_HDR + k->content_len); /* a private key */
	free(vb);
	return rc;
}

int rb_state_key_del(rb_state *s, const char *zone, uint32_t id)
{
	unsigned char kb[ZKEY_MAX], idb[4];
	MDB_val key;
	MDB_txn *t;
	int rc;

	put_u32(idb, id);
	key.mv_size = zkey(kb, zone, idb, 4);
	key.mv_data = kb;
	if (!key.mv_size)
		return DDNS_EBADNAME;
	if ((rc = txn_begin(s, true, &t)) != 0)
		return rc;
	rc = ddns_lmdb_err(mdb_del(t, s->keys, &key, NULL));
	return txn_end(t, rc);
}

/* Bits of a key's flags octet: BIT set to ON, unless ON is -1. */
static unsigned char key_bit(unsigned char bits, unsigned char bit, int on)
{
	if (on < 0)
		return bits;
	return on ? (unsigned char)(bits | bit) : (unsigned char)(bits & ~bit);
}

int rb_state_key_set(rb_state *s, const char *zone, uint32_t id, int active,
		     int published)
{
	unsigned char kb[ZKEY_MAX], idb[4], *copy = NULL;
	MDB_val key, val;
	MDB_txn *t;
	int rc;

	put_u32(idb, id);
	key.mv_size = zkey(kb, zone, idb, 4);
	key.mv_data = kb;
	if (!key.mv_size)
		return DDNS_EBADNAME;
	if ((rc = txn_begin(s, true, &t)) != 0)
		return rc;
	rc = ddns_lmdb_err(mdb_get(t, s->keys, &key, &val));
	if (rc == 0 && (val.mv_size <= KEY_HDR ||
			((unsigned char *)val.mv_data)[0] != REC_VERSION))
		rc = DDNS_ECORRUPT;
	if (rc == 0 && !(copy = malloc(val.mv_size)))
		rc = DDNS_ENOMEM;
	if (rc == 0) {
		memcpy(copy, val.mv_data, val.mv_size);
		copy[5] = key_bit(copy[5], KEY_ACTIVE, active);
		copy[5] = key_bit(copy[5], KEY_PUBLISHED, published);
		val.mv_data = copy;
		rc = ddns_lmdb_err(mdb_put(t, s->keys, &key, &val, 0));
		explicit_bzero(copy, val.mv_size); /* a private key */
	}
	free(copy);
	return txn_end(t, rc);
}

/* ---- metadata --------------------------------------------------------- */

static bool kind_valid(const char *kind, size_t len)
{
	if (len == 0 || len > RB_STATE_KIND_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (kind[i] <= 0x20 || kind[i] >= 0x7f)
			return false;
	return true;
}

struct meta_walk {
	rb_meta_cb cb;
	void *arg;
	size_t zlen; /* the kind starts after "ZONE\0" */
};

int rb_state_meta_decode(const char *kind, size_t klen, const void *val,
			 size_t vlen, rb_meta_cb cb, void *arg)
{
	const unsigned char *p = val, *end = p + vlen;
	unsigned n, i;
	int rc;

	if (vlen < 3 || p[0] != REC_VERSION)
		return DDNS_ECORRUPT;
	n = (unsigned)p[1] << 8 | p[2];
	p += 3;
	for (i = 0; i < n; i++) {
		size_t len;

		if (end - p < 2)
			return DDNS_ECORRUPT;
		len = (size_t)p[0] << 8 | p[1];
		if ((size_t)(end - p - 2) < len)
			return DDNS_ECORRUPT;
		rc = cb(kind, klen, i, (const char *)p + 2, len, arg);
		if (rc != 0)
			return rc;
		p += 2 + len;
	}
	return 0;
}

/* Call the callback for each value of one meta record. */
static int meta_walk_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct meta_walk *w = arg;
	int rc = rb_state_meta_decode((const char *)k->mv_data + w->zlen,
				      k->mv_size - w->zlen, v->mv_data,
				      v->mv_size, w->cb, w->arg);

	if (rc == DDNS_ECORRUPT) {
		log_err("backend state: a metadata record does not decode; "
			"skipped");
		return 0;
	}
	return rc;
}

int rb_state_meta_foreach(rb_state *s, const char *zone, const char *kind,
			  rb_meta_cb cb, void *arg)
{
	unsigned char kb[ZKEY_MAX];
	size_t klen, kindlen = kind ? strlen(kind) : 0;
	struct meta_walk w = {cb, arg, 0};
	MDB_txn *t;
	MDB_val key, val;
	int rc;

	if (kind && !kind_valid(kind, kindlen))
		return DDNS_EINVAL;
	klen = zkey(kb, zone, kind, kindlen);
	if (!klen)
		return DDNS_EBADNAME;
	w.zlen = klen - kindlen;
	if ((rc = txn_begin(s, false, &t)) != 0)
		return rc;
	if (!kind) {
		rc = prefix_walk(t, s->meta, kb, klen, meta_walk_fn, &w);
	} else {
		key.mv_size = klen;
		key.mv_data = kb;
		rc = mdb_get(t, s->meta, &key, &val);
		rc = rc == MDB_NOTFOUND ? 0
		     : rc		? ddns_lmdb_err(rc)
					: meta_walk_fn(&key, &val, &w);
	}
	mdb_txn_abort(t);
	return rc;
}

/* The encoded record of N values into *OUT (malloc'd), its size into
 * *LEN.  0, DDNS_EINVAL or DDNS_ENOMEM. */
static int meta_encode(const char *const *vals, const size_t *lens, size_t n,
		       unsigned char **out, size_t *len)
{
	size_t total = 3;
	unsigned char *p;

	if (n > RB_STATE_VALUES_MAX)
		return DDNS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (lens[i] > RB_STATE_VALUE_MAX)
			return DDNS_EINVAL;
		total += 2 + lens[i];
	}
	if (!(p = malloc(total)))
		return DDNS_ENOMEM;
	*out = p;
	*len = total;
	p[0] = REC_VERSION;
	p[1] = (unsigned char)(n >> 8);
	p[2] = (unsigned char)n;
	p += 3;
	for (size_t i = 0; i < n; i++) {
		p[0] = (unsigned char)(lens[i] >> 8);
		p[1] = (unsigned char)lens[i];
		if (lens[i])
			memcpy(p + 2, vals[i], lens[i]);
		p += 2 + lens[i];
	}
	return 0;
}

int rb_state_meta_set(rb_state *s, const char *zone, const char *kind,
		      const char *const *vals, const size_t *lens, size_t n)
{
	unsigned char kb[ZKEY_MAX], *vb = NULL;
	size_t kindlen = strlen(kind), vlen = 0;
	MDB_val key, val;
	MDB_txn *t;
	int rc;

	if (!kind_valid(kind, kindlen))
		return DDNS_EINVAL;
	key.mv_size = zkey(kb, zone, kind, kindlen);
	key.mv_data = kb;
	if (!key.mv_size)
		return DDNS_EBADNAME;
	if (n && (rc = meta_encode(vals, lens, n, &vb, &vlen)) != 0)
		return rc;
	if ((rc = txn_begin(s, true, &t)) == 0) {
		val.mv_size = vlen;
		val.mv_data = vb;
		rc = n ? mdb_put(t, s->meta, &key, &val, 0)
		       : mdb_del(t, s->meta, &key, NULL);
		rc = rc == MDB_NOTFOUND ? 0 : ddns_lmdb_err(rc);
		rc = txn_end(t, rc);
	}
	free(vb);
	return rc;
}
