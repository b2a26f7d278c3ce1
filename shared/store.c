/*
 * store.c -- the ddns store over LMDB.  The on-disk layout (schema v2) is
 * documented in schema/lmdb-v2.md; keep the two in step.  The upgrade
 * from schema v1 is in store_bulk.c.
 *
 * Every value is copied out of LMDB memory with memcpy while its
 * transaction is alive; no pointer into the map leaves this file.
 */
#include "store.h"
#include "store-internal.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define STORE_MAXDBS	  16   /* 11 used */
#define STORE_MAXREADERS  1024 /* backend: one read txn per connection */
#define STORE_DEFAULT_MAP ((uint64_t)1 << 30)

#define REC_VERSION STORE_REC_VERSION
/* version, id, ttl, kind, created, n_ns | ns[] | hostmaster | visibility,
 * n_groups | groups[] */
#define ZONE_FIXED_LEN (1 + 4 + 4 + 1 + 8 + 1)
#define ZONE_VAL_MAX                                                           \
	(ZONE_FIXED_LEN + (DDNS_ZONE_NS_MAX + 1) * (1 + DDNS_NAME_MAX) + 2 +   \
	 DDNS_ZONE_GROUPS_MAX * (1 + DDNS_GROUP_MAX))
/* v2: version, zone_id, flags, created, updated, owner, salt, hash | v4
 * if V4 | v6 if V6 */
#define HOST_FIXED_LEN (1 + 4 + 4 + 4 + 4 + 4 + DDNS_SALT_LEN + DDNS_HASH_LEN)
#define HOST_VAL_MAX   (HOST_FIXED_LEN + 4 + 16)
/* version | comment (1..DDNS_HOST_COMMENT_MAX octets) */
#define COMMENT_VAL_MAX (1 + DDNS_HOST_COMMENT_MAX)
/* v2: version, client/server/auth faults, last_fault, window_start,
 * window_count, last_kind, text length | text */
#define FAULT_FIXED_LEN (1 + 4 + 4 + 4 + 4 + 4 + 4 + 1 + 1)
#define FAULT_VAL_MAX	(FAULT_FIXED_LEN + DDNS_FAULT_TEXT_MAX)

#define META_SCHEMA   "schema"
#define META_NEXT_ID  "next_zone_id"
#define META_NEXT_LEN (sizeof META_NEXT_ID - 1)
#define META_SERIAL   "serial/"
#define META_NOTIFIED "notified/"
#define META_KEY_BUF  272 /* "notified/" + a name */

/* ---- LMDB error codes: translated here and only here ------------------ */

int ddns_lmdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return DDNS_ENOTFOUND;
	case MDB_KEYEXIST:
		return DDNS_EEXIST;
	case MDB_MAP_FULL:
		return DDNS_EFULL;
	case ENOMEM:
		return DDNS_ENOMEM;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
		return DDNS_ECORRUPT;
	default:
		return DDNS_ESTORE;
	}
}

/* Translate, logging LMDB's text for anything but "not found" / "exists".
 * (Open failures are reported through the caller's ERR buffer instead.) */
int store_lmdb_code(int rc, const char *what)
{
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND && rc != MDB_KEYEXIST)
		log_err("store: %s: %s", what, mdb_strerror(rc));
	return ddns_lmdb_err(rc);
}

/* ---- log lines about records ---------------------------------------- */

#define KEY_TEXT_BUF 300

/* KEY of LEN octets as printable ASCII for a log line: octets outside
 * 0x21..0x7e and the backslash as \xHH; cut with "..." to fit. */
static const char *key_text(const void *key, size_t len, char out[KEY_TEXT_BUF])
{
	const unsigned char *k = key;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (o + 8 > KEY_TEXT_BUF) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (k[i] > 0x20 && k[i] < 0x7f && k[i] != '\\')
			out[o++] = (char)k[i];
		else
			o += (size_t)snprintf(out + o, KEY_TEXT_BUF - o,
					      "\\x%02x", k[i]);
	}
	out[o] = '\0';
	return out;
}

/* The one log line for a WHAT record (under KEY) that does not decode;
 * SKIPPED when the caller goes on past it. */
void store_log_corrupt(const char *what, const void *key, size_t klen,
		       bool skipped)
{
	char text[KEY_TEXT_BUF];

	log_err("store: %s record %s is corrupt%s", what,
		key_text(key, klen, text), skipped ? "; skipped" : "");
}

/* ---- name checks (pure byte checks: decoding must not depend on idn2) -- */

/* SOA RNAME: a local part of printable ASCII in which a dot is escaped as
 * "\.", then an unescaped dot and a normalised domain name. */
static bool rname_is_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (!s || len == 0 || len > DDNS_NAME_MAX)
		return false;
	for (; i < len && s[i] != '.'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
		if (c == '\\' && (++i == len || (unsigned char)s[i] <= 0x20 ||
				  (unsigned char)s[i] >= 0x7f))
			return false;
	}
	if (i == 0 || i + 1 >= len)
		return false;
	return ddns_name_is_normal(s + i + 1, len - i - 1);
}

/* Read a length-prefixed string into OUT (NUL-terminated); false if the
 * length is 0 or over DDNS_NAME_MAX or the value is truncated. */
static bool r_str(struct rbuf *r, char out[DDNS_NAME_BUF], size_t *len)
{
	size_t n = r_u8(r);

	if (n == 0 || n > DDNS_NAME_MAX)
		return false;
	r_bytes(r, out, n);
	out[n] = '\0';
	*len = n;
	return !r->bad;
}

/* ---- text checks ------------------------------------------------------ */

/* Length of the UTF-8 sequence at S (at most N octets) and its code point
 * in *CP; 0 if it is not a valid shortest-form sequence. */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
	size_t len = 0;
	uint32_t c;

	if (s[0] < 0x80)
		len = 1;
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	if (len == 0 || len > n)
		return 0;
	c = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[len - 1] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool ddns_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c;

	if (!s && len)
		return false;
	while (i < len) {
		n = utf8_seq(p + i, len - i, &c);
		/* C0 (NUL included), DEL and C1 controls */
		if (n == 0 || c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

bool ddns_group_valid(const char *s, size_t len)
{
	return s && len >= 1 && len <= DDNS_GROUP_MAX && s[0] != ' ' &&
	       s[len - 1] != ' ' && ddns_text_valid(s, len);
}

bool store_groups_valid(const char *g, unsigned n)
{
	const size_t stride = DDNS_GROUP_MAX + 1;

	for (unsigned i = 0; i < n; i++) {
		const char *gi = g + i * stride;

		if (!ddns_group_valid(gi, strnlen(gi, stride)))
			return false;
		for (unsigned k = 0; k < i; k++)
			if (strcmp(g + k * stride, gi) == 0)
				return false;
	}
	return true;
}

/* ---- zone values ------------------------------------------------------ */

int ddns_zone_encode(const struct ddns_zone *z, void *buf, size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};
	size_t len;

	if (z->id == 0 || z->kind > DDNS_ZONE_MASTER ||
	    z->n_ns > DDNS_ZONE_NS_MAX || z->visibility > DDNS_ZONE_ADMIN ||
	    z->n_groups > DDNS_ZONE_GROUPS_MAX ||
	    !store_groups_valid(z->groups[0], z->n_groups))
		return DDNS_EINVAL;
	w_u8(&w, REC_VERSION);
	w_u32(&w, z->id);
	w_u32(&w, z->ttl);
	w_u8(&w, z->kind);
	w_i64(&w, z->created);
	w_u8(&w, z->n_ns);
	for (unsigned i = 0; i < z->n_ns; i++) {
		len = strnlen(z->ns[i], DDNS_NAME_BUF);
		if (!ddns_name_is_normal(z->ns[i], len))
			return DDNS_EBADNAME;
		w_str(&w, z->ns[i], len);
	}
	len = strnlen(z->hostmaster, DDNS_NAME_BUF);
	if (!rname_is_valid(z->hostmaster, len))
		return DDNS_EBADNAME;
	w_str(&w, z->hostmaster, len);
	w_u8(&w, z->visibility);
	w_u8(&w, z->n_groups);
	for (unsigned i = 0; i < z->n_groups; i++)
		w_str(&w, z->groups[i], strlen(z->groups[i]));
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_zone_decode(const void *val, size_t len, struct ddns_zone *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_zone z;
	size_t n;

	memset(&z, 0, sizeof z);
	if (r_u8(&r) != REC_VERSION)
		return DDNS_ECORRUPT;
	z.id = r_u32(&r);
	z.ttl = r_u32(&r);
	z.kind = r_u8(&r);
	z.created = r_i64(&r);
	z.n_ns = r_u8(&r);
	if (r.bad || z.id == 0 || z.kind > DDNS_ZONE_MASTER ||
	    z.n_ns > DDNS_ZONE_NS_MAX)
		return DDNS_ECORRUPT;
	for (unsigned i = 0; i < z.n_ns; i++)
		if (!r_str(&r, z.ns[i], &n) || !ddns_name_is_normal(z.ns[i], n))
			return DDNS_ECORRUPT;
	if (!r_str(&r, z.hostmaster, &n) || !rname_is_valid(z.hostmaster, n))
		return DDNS_ECORRUPT;
	z.visibility = r_u8(&r);
	z.n_groups = r_u8(&r);
	if (r.bad || z.visibility > DDNS_ZONE_ADMIN ||
	    z.n_groups > DDNS_ZONE_GROUPS_MAX)
		return DDNS_ECORRUPT;
	for (unsigned i = 0; i < z.n_groups; i++)
		if (!r_text(&r, z.groups[i], 1, DDNS_GROUP_MAX, &n))
			return DDNS_ECORRUPT;
	if (r.off != len || !store_groups_valid(z.groups[0], z.n_groups))
		return DDNS_ECORRUPT;
	memcpy(out, &z, sizeof z);
	return 0;
}

/* ---- host values ------------------------------------------------------ */

/* A time for a u32 field: 0..2^32-1 Unix seconds (until 2106). */
static bool time_fits(int64_t t)
{
	return t >= 0 && t <= (int64_t)UINT32_MAX;
}

/* The value's length for FLAGS: addresses are stored only when set. */
static size_t host_val_len(uint32_t flags)
{
	return HOST_FIXED_LEN + (flags & DDNS_HOST_V4 ? 4 : 0) +
	       (flags & DDNS_HOST_V6 ? 16 : 0);
}

int ddns_host_encode(const struct ddns_host *h, void *buf, size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};

	if (h->zone_id == 0 || !time_fits(h->created) || !time_fits(h->updated))
		return DDNS_EINVAL;
	w_u8(&w, STORE_REC_V2);
	w_u32(&w, h->zone_id);
	w_u32(&w, h->flags);
	w_u32(&w, (uint32_t)h->created);
	w_u32(&w, (uint32_t)h->updated);
	w_u32(&w, h->owner);
	w_bytes(&w, h->cred.salt, DDNS_SALT_LEN);
	w_bytes(&w, h->cred.hash, DDNS_HASH_LEN);
	if (h->flags & DDNS_HOST_V4)
		w_bytes(&w, &h->v4.s_addr, 4); /* already network order */
	if (h->flags & DDNS_HOST_V6)
		w_bytes(&w, h->v6.s6_addr, 16);
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_host_decode(const void *val, size_t len, struct ddns_host *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_host h;

	if (len < HOST_FIXED_LEN || r_u8(&r) != STORE_REC_V2)
		return DDNS_ECORRUPT;
	memset(&h, 0, sizeof h);
	h.zone_id = r_u32(&r);
	h.flags = r_u32(&r);
	h.created = r_u32(&r);
	h.updated = r_u32(&r);
	h.owner = r_u32(&r);
	r_bytes(&r, h.cred.salt, DDNS_SALT_LEN);
	r_bytes(&r, h.cred.hash, DDNS_HASH_LEN);
	if (len != host_val_len(h.flags))
		return DDNS_ECORRUPT;
	if (h.flags & DDNS_HOST_V4)
		r_bytes(&r, &h.v4.s_addr, 4);
	if (h.flags & DDNS_HOST_V6)
		r_bytes(&r, h.v6.s6_addr, 16);
	if (r.bad || r.off != len || h.zone_id == 0)
		return DDNS_ECORRUPT;
	memcpy(out, &h, sizeof h);
	return 0;
}

/* ---- fault values ----------------------------------------------------- */

static bool text_is_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

int ddns_fault_encode(const struct ddns_fault *f, void *buf, size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};
	size_t len = strnlen(f->last_text, sizeof f->last_text);

	if (f->last_kind > DDNS_FAULT_AUTH || len > DDNS_FAULT_TEXT_MAX ||
	    !text_is_printable(f->last_text, len) ||
	    !time_fits(f->window_start) || !time_fits(f->last_fault))
		return DDNS_EINVAL;
	w_u8(&w, STORE_REC_V2);
	w_u32(&w, f->client_faults);
	w_u32(&w, f->server_faults);
	w_u32(&w, f->auth_faults);
	w_u32(&w, (uint32_t)f->last_fault);
	w_u32(&w, (uint32_t)f->window_start);
	w_u32(&w, f->window_count);
	w_u8(&w, f->last_kind);
	w_u8(&w, (uint8_t)len);
	w_bytes(&w, f->last_text, len);
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_fault_decode(const void *val, size_t len, struct ddns_fault *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_fault f;
	size_t n;

	if (len < FAULT_FIXED_LEN || r_u8(&r) != STORE_REC_V2)
		return DDNS_ECORRUPT;
	memset(&f, 0, sizeof f);
	f.client_faults = r_u32(&r);
	f.server_faults = r_u32(&r);
	f.auth_faults = r_u32(&r);
	f.last_fault = r_u32(&r);
	f.window_start = r_u32(&r);
	f.window_count = r_u32(&r);
	f.last_kind = r_u8(&r);
	n = r_u8(&r);
	if (f.last_kind > DDNS_FAULT_AUTH || n > DDNS_FAULT_TEXT_MAX ||
	    len != FAULT_FIXED_LEN + n)
		return DDNS_ECORRUPT;
	r_bytes(&r, f.last_text, n);
	f.last_text[n] = '\0';
	if (r.bad || !text_is_printable(f.last_text, n))
		return DDNS_ECORRUPT;
	memcpy(out, &f, sizeof f);
	return 0;
}

/* ---- raw access ------------------------------------------------------- */

int store_db_get(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 MDB_val *v)
{
	MDB_val k = {klen, (void *)key};

	return store_lmdb_code(mdb_get(t->txn, dbi, &k, v), "get");
}

int store_db_put(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

	return store_lmdb_code(mdb_put(t->txn, dbi, &k, &v, flags), "put");
}

/* Delete KEY; an absent key is not an error when MISSING_OK. */
int store_db_del(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		 bool missing_ok)
{
	MDB_val k = {klen, (void *)key};
	int rc = store_lmdb_code(mdb_del(t->txn, dbi, &k, NULL), "del");

	return rc == DDNS_ENOTFOUND && missing_ok ? 0 : rc;
}

/* Meta key PREFIX + ZONE into BUF; returns its length. */
static size_t meta_key(char buf[META_KEY_BUF], const char *prefix,
		       const char *zone)
{
	int n = snprintf(buf, META_KEY_BUF, "%s%s", prefix, zone);

	return n < 0 || n >= META_KEY_BUF ? 0 : (size_t)n;
}

int store_meta_get_u32(ddns_txn *t, const char *key, size_t klen, uint32_t *out)
{
	MDB_val v;
	int rc = store_db_get(t, t->s->meta, key, klen, &v);

	if (rc)
		return rc;
	if (v.mv_size != 4)
		return DDNS_ECORRUPT;
	*out = store_get_u32(v.mv_data);
	return 0;
}

int store_meta_put_u32(ddns_txn *t, const char *key, size_t klen, uint32_t val)
{
	uint8_t b[4];

	store_put_u32(b, val);
	return store_db_put(t, t->s->meta, key, klen, b, 4, 0);
}

/* ---- opening ---------------------------------------------------------- */

static int no_store(const char *dir, char *err, size_t errlen)
{
	return ddns_err_set(err, errlen, DDNS_ENOSTORE,
			 "no ddns store in %s; create it with 'ddnsctl zone "
			 "add' or by starting ddns-updater",
			 dir);
}

/* An LMDB failure RC while opening the store in DIR. */
static int lmdb_fail(const char *dir, int rc, char *err, size_t errlen)
{
	return ddns_err_set(err, errlen, ddns_lmdb_err(rc), "store %s: %s", dir,
			 mdb_strerror(rc));
}

/* Create DIR (0700) if asked, check it, and tell whether data.mdb is new. */
static int prepare_dir(const char *dir, unsigned flags, bool *fresh, char *err,
		       size_t errlen)
{
	char file[PATH_MAX];
	struct stat st;
	int n;

	if (stat(dir, &st) != 0 && errno == ENOENT &&
	    (flags & DDNS_STORE_CREATE) && mkdir(dir, 0700) != 0 &&
	    errno != EEXIST)
		return ddns_err_set(err, errlen, DDNS_EIO,
				 "cannot create store directory %s: %s", dir,
				 strerror(errno));
	if (stat(dir, &st) != 0)
		return errno == ENOENT
			   ? no_store(dir, err, errlen)
			   : ddns_err_set(err, errlen, DDNS_EIO, "%s: %s", dir,
				       strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ddns_err_set(err, errlen, DDNS_EINVAL,
				 "store path %s is not a directory", dir);
	if (st.st_mode & S_IWOTH)
		return ddns_err_set(err, errlen, DDNS_EINVAL,
				 "store directory %s is writable by everyone; "
				 "refusing it (chmod o-w %s)",
				 dir, dir);
	n = snprintf(file, sizeof file, "%s/data.mdb", dir);
	if (n < 0 || (size_t)n >= sizeof file)
		return ddns_err_set(err, errlen, DDNS_ETOOBIG,
				 "store path %s is too long", dir);
	*fresh = stat(file, &st) != 0;
	if (*fresh && errno != ENOENT)
		return ddns_err_set(err, errlen, DDNS_EIO, "%s: %s", file,
				 strerror(errno));
	if (*fresh && !(flags & DDNS_STORE_CREATE))
		return no_store(dir, err, errlen);
	return 0;
}

/* An existing store's files must not be writable by everyone, and its
 * lock file must be writable by us (LMDB readers register there too): a
 * read-only mount or directory is refused here with a clear message. */
static int check_files(const char *dir, char *err, size_t errlen)
{
	static const char *const names[] = {"data.mdb", "lock.mdb"};
	char file[PATH_MAX];
	struct stat st;
	int n;

	for (size_t i = 0; i < 2; i++) {
		n = snprintf(file, sizeof file, "%s/%s", dir, names[i]);
		if (n < 0 || (size_t)n >= sizeof file)
			return ddns_err_set(err, errlen, DDNS_ETOOBIG,
					 "store path %s is too long", dir);
		if (lstat(file, &st) == 0 && (st.st_mode & S_IWOTH))
			return ddns_err_set(err, errlen, DDNS_EINVAL,
					 "store file %s is writable by "
					 "everyone; refusing it (chmod o-w %s)",
					 file, file);
	}
	/* FILE is lock.mdb now; a new store creates it in DIR. */
	if (access(lstat(file, &st) == 0 ? file : dir, W_OK) != 0)
		return ddns_err_set(err, errlen, DDNS_EIO,
				 "store %s is not writable (%s): ddns needs to "
				 "write its lock file even to read",
				 dir, strerror(errno));
	return 0;
}

/* Create and open the LMDB environment and size its map. */
static int env_open(ddns_store *s, const char *dir, bool fresh,
		    uint64_t map_size, char *err, size_t errlen)
{
	unsigned envflags = MDB_NOTLS;
	MDB_envinfo info;
	int rc, dead = 0;

	if (s->flags & DDNS_STORE_RDONLY)
		envflags |= MDB_RDONLY;
	rc = mdb_env_create(&s->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->env, STORE_MAXDBS);
	if (!rc)
		rc = mdb_env_set_maxreaders(s->env, STORE_MAXREADERS);
	/* A new store takes MAP_SIZE as is; an existing one keeps its own
	 * unless MAP_SIZE is larger (LMDB would shrink it otherwise). */
	if (!rc && fresh)
		rc = mdb_env_set_mapsize(s->env, map_size ? map_size
							  : STORE_DEFAULT_MAP);
	if (!rc)
		rc = mdb_env_open(s->env, dir, envflags, 0600);
	if (!rc && !fresh)
		rc = mdb_env_info(s->env, &info);
	if (!rc && !fresh && map_size > info.me_mapsize)
		rc = mdb_env_set_mapsize(s->env, map_size);
	if (rc)
		return ddns_err_set(err, errlen, ddns_lmdb_err(rc),
				 "cannot open store %s: %s", dir,
				 mdb_strerror(rc));
	if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
		log_info("store: cleared %d stale reader slot(s) in %s", dead,
			 dir);
	return 0;
}

static int adopt_map(ddns_store *s);

/* Begin an LMDB transaction, adopting a map grown by another process
 * (opening only: no other transaction of the handle exists yet). */
static int txn_begin_raw(ddns_store *s, unsigned flags, MDB_txn **out)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, out);

	if (rc == MDB_MAP_RESIZED && (rc = adopt_map(s)) == 0)
		rc = mdb_txn_begin(s->env, NULL, flags, out);
	return rc;
}

/* The six databases of issue 4, additive like `faults`: all or none (a
 * store with some of them is refused as incompatible). */
static int open_account_dbis(ddns_store *s, MDB_txn *txn, unsigned flags)
{
	static const char *const names[] = {"users",	 "user_names",
					    "user_oidc", "sessions",
					    "tokens",	 "host_comments"};
	MDB_dbi *dbis[] = {&s->users,	 &s->user_names, &s->user_oidc,
			   &s->sessions, &s->tokens,	 &s->host_comments};
	int rc = 0;

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		rc = mdb_dbi_open(txn, names[i], flags, dbis[i]);
		if (rc == MDB_NOTFOUND && i == 0 && !(flags & MDB_CREATE))
			return 0; /* has_accounts stays false */
		if (rc)
			return rc == MDB_NOTFOUND ? MDB_INCOMPATIBLE : rc;
	}
	s->has_accounts = true;
	return 0;
}

static int open_dbis(ddns_store *s, MDB_txn *txn, unsigned flags)
{
	int rc = mdb_dbi_open(txn, "meta", flags, &s->meta);

	if (!rc)
		rc = mdb_dbi_open(txn, "zones", flags, &s->zones);
	if (!rc)
		rc = mdb_dbi_open(txn, "zone_ids", flags, &s->zone_ids);
	if (!rc)
		rc = mdb_dbi_open(txn, "hosts", flags, &s->hosts);
	if (rc)
		return rc;
	/* Added to v1 later (additive): a store written before it lacks it,
	 * and only a CREATE open adds it. */
	rc = mdb_dbi_open(txn, "faults", flags, &s->faults);
	s->has_faults = rc == 0;
	if (rc && (rc != MDB_NOTFOUND || (flags & MDB_CREATE)))
		return rc;
	rc = open_account_dbis(s, txn, flags);
	return rc ? rc : store_challenges_open(s, txn, flags); /* issue 7 */
}

int store_open_all_dbs(ddns_store *s, MDB_txn *txn)
{
	return open_dbis(s, txn, MDB_CREATE);
}

/* Write the schema version into an empty meta database. */
static int stamp_schema(ddns_store *s, MDB_txn *txn)
{
	uint8_t b[4];
	MDB_val k = {sizeof META_SCHEMA - 1, META_SCHEMA}, v = {4, b};
	MDB_stat st;
	int rc = mdb_stat(txn, s->meta, &st);

	if (rc)
		return rc;
	/* MDB_INCOMPATIBLE stands for "meta has data but no version" */
	if (st.ms_entries != 0)
		return MDB_INCOMPATIBLE;
	store_put_u32(b, DDNS_SCHEMA_VERSION);
	rc = mdb_put(txn, s->meta, &k, &v, MDB_NOOVERWRITE);
	store_put_u32(b, 1);
	k.mv_size = META_NEXT_LEN;
	k.mv_data = META_NEXT_ID;
	if (!rc)
		rc = mdb_put(txn, s->meta, &k, &v, MDB_NOOVERWRITE);
	return rc;
}

static int check_version(ddns_store *s, const uint8_t *b, size_t len,
			 const char *dir, char *err, size_t errlen)
{
	uint32_t found;

	if (len != 4)
		return ddns_err_set(err, errlen, DDNS_ECORRUPT,
				 "store %s: schema version record is corrupt",
				 dir);
	found = store_get_u32(b);
	s->version = found;
	if (found == DDNS_SCHEMA_VERSION || (s->flags & DDNS_STORE_ANYVERSION))
		return 0;
	if (found > DDNS_SCHEMA_VERSION)
		return ddns_err_set(err, errlen, DDNS_EVERSION,
				 "store %s has schema version %u; this program "
				 "needs version %u (upgrade ddns, see "
				 "schema/README.md)",
				 dir, (unsigned)found,
				 (unsigned)DDNS_SCHEMA_VERSION);
	/* never upgraded silently: the operator runs the migration */
	return ddns_err_set(err, errlen, DDNS_EVERSION,
			 "store %s has schema version %u; this program needs "
			 "version %u (run 'ddnsctl migrate' with the daemons "
			 "stopped, see schema/lmdb-v%u.md)",
			 dir, (unsigned)found, (unsigned)DDNS_SCHEMA_VERSION,
			 (unsigned)DDNS_SCHEMA_VERSION);
}

/* Read (or, for a new store, write) the schema version and check it. */
static int check_schema(ddns_store *s, MDB_txn *txn, const char *dir, char *err,
			size_t errlen)
{
	MDB_val k = {sizeof META_SCHEMA - 1, META_SCHEMA}, v;
	int rc = mdb_get(txn, s->meta, &k, &v);

	if (rc == MDB_NOTFOUND && (s->flags & DDNS_STORE_CREATE)) {
		rc = stamp_schema(s, txn);
		if (rc == MDB_INCOMPATIBLE)
			return ddns_err_set(err, errlen, DDNS_ECORRUPT,
					 "store %s has data but no schema "
					 "version; not a ddns store?",
					 dir);
		if (!rc)
			rc = mdb_get(txn, s->meta, &k, &v);
	}
	if (rc == MDB_NOTFOUND)
		return no_store(dir, err, errlen);
	if (rc)
		return lmdb_fail(dir, rc, err, errlen);
	return check_version(s, v.mv_data, v.mv_size, dir, err, errlen);
}

/* Open the named databases (creating them with CREATE) and check the
 * schema version, in one transaction whose commit keeps the handles. */
static int init_dbs(ddns_store *s, const char *dir, char *err, size_t errlen)
{
	bool create = s->flags & DDNS_STORE_CREATE;
	MDB_txn *txn = NULL;
	int rc = txn_begin_raw(s, create ? 0 : MDB_RDONLY, &txn);

	if (rc)
		return lmdb_fail(dir, rc, err, errlen);
	rc = open_dbis(s, txn, create ? MDB_CREATE : 0);
	if (rc) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? no_store(dir, err, errlen)
					  : lmdb_fail(dir, rc, err, errlen);
	}
	rc = check_schema(s, txn, dir, err, errlen);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	return rc ? lmdb_fail(dir, rc, err, errlen) : 0;
}

int ddns_store_open(ddns_store **out, const char *dir, unsigned flags,
		    uint64_t map_size, char *err, size_t errlen)
{
	ddns_store *s = NULL;
	bool fresh = false;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!out || !dir || !dir[0])
		return ddns_err_set(err, errlen, DDNS_EINVAL,
				 "no store directory given");
	*out = NULL;
	if (flags & DDNS_STORE_RDONLY)
		flags &= ~(unsigned)DDNS_STORE_CREATE;
	rc = prepare_dir(dir, flags, &fresh, err, errlen);
	if (!rc)
		rc = check_files(dir, err, errlen);
	if (rc)
		return rc;
	s = calloc(1, sizeof *s);
	if (!s)
		return ddns_err_set(err, errlen, DDNS_ENOMEM, "out of memory");
	s->flags = flags;
	if (pthread_rwlock_init(&s->remap, NULL) != 0) {
		free(s);
		return ddns_err_set(err, errlen, DDNS_ENOMEM, "out of memory");
	}
	s->remap_ready = true;
	rc = env_open(s, dir, fresh, map_size, err, errlen);
	if (!rc)
		rc = init_dbs(s, dir, err, errlen);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	ddns_store_close(s);
	return rc;
}

void ddns_store_close(ddns_store *s)
{
	if (!s)
		return;
	if (s->env)
		mdb_env_close(s->env);
	if (s->remap_ready)
		pthread_rwlock_destroy(&s->remap);
	free(s);
}

unsigned ddns_store_version(const ddns_store *s)
{
	return s ? s->version : 0;
}

int ddns_store_sync(ddns_store *s)
{
	if (!s || (s->flags & DDNS_STORE_RDONLY))
		return 0;
	return store_lmdb_code(mdb_env_sync(s->env, 1), "sync");
}

/* ---- transactions ----------------------------------------------------- */

/*
 * Threads.  One handle may serve two threads at once (ddns-updater commits
 * on a thread of its own while its event loop reads), each transaction
 * used only by the thread that began it.  Two things need care:
 * - LMDB allows one write transaction per process at a time: a second one
 *   in the same thread would deadlock on its writer lock and is refused;
 *   one in another thread waits for that lock.  `writing` and `writer` are
 *   changed only while the lock is held, and read by any thread.
 * - A map grown by another process is adopted with mdb_env_set_mapsize,
 *   which LMDB allows only while no transaction of this process is
 *   active: every active transaction holds a share of `remap`, and the
 *   adoption takes it alone.
 */
#define STORE_REMAP_WAIT 2 /* seconds an adoption waits for the others */

static void writing_set(ddns_store *s, bool on)
{
	pthread_t self = pthread_self();

	if (on)
		__atomic_store(&s->writer, &self, __ATOMIC_RELAXED);
	__atomic_store_n(&s->writing, on, __ATOMIC_RELEASE);
}

static bool writing_here(ddns_store *s)
{
	pthread_t w;

	if (!__atomic_load_n(&s->writing, __ATOMIC_ACQUIRE))
		return false;
	__atomic_load(&s->writer, &w, __ATOMIC_RELAXED);
	return pthread_equal(w, pthread_self()) != 0;
}

/* Adopt a map grown by another process once no transaction of ours is
 * active.  The caller holds no share; if another transaction of its own
 * thread is active the wait ends after STORE_REMAP_WAIT with
 * MDB_MAP_RESIZED (the request fails instead of deadlocking). */
static int adopt_map(ddns_store *s)
{
	struct timespec until;
	int rc;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STORE_REMAP_WAIT;
	if (pthread_rwlock_timedwrlock(&s->remap, &until) != 0)
		return MDB_MAP_RESIZED;
	rc = mdb_env_set_mapsize(s->env, 0);
	pthread_rwlock_unlock(&s->remap);
	if (!rc)
		log_info("store: adopted a map grown by another process");
	return rc;
}

/* Begin (T->txn NULL) or renew T's LMDB transaction with FLAGS, holding a
 * share of remap while it is active. */
static int txn_activate(ddns_txn *t, unsigned flags)
{
	ddns_store *s = t->s;
	int rc;

	for (int tries = 0;; tries++) {
		pthread_rwlock_rdlock(&s->remap);
		rc = t->txn ? mdb_txn_renew(t->txn)
			    : mdb_txn_begin(s->env, NULL, flags, &t->txn);
		if (rc == 0) {
			t->active = true;
			return 0;
		}
		pthread_rwlock_unlock(&s->remap);
		if (rc != MDB_MAP_RESIZED || tries > 0 ||
		    (rc = adopt_map(s)) != 0)
			return rc;
	}
}

/* End T's snapshot (commit, abort or reset done by the caller). */
static void txn_release(ddns_txn *t)
{
	if (t->active)
		pthread_rwlock_unlock(&t->s->remap);
	t->active = false;
}

int ddns_txn_begin(ddns_store *s, bool write, ddns_txn **out)
{
	ddns_txn *t;
	int rc;

	*out = NULL;
	if (write && (s->flags & DDNS_STORE_RDONLY))
		return DDNS_EINVAL;
	if (write && writing_here(s)) {
		/* a second write txn in one thread would deadlock LMDB */
		log_err("store: nested write transaction refused");
		return DDNS_EINVAL;
	}
	t = calloc(1, sizeof *t);
	if (!t)
		return DDNS_ENOMEM;
	t->s = s;
	t->write = write;
	rc = txn_activate(t, write ? 0 : MDB_RDONLY);
	if (rc) {
		free(t);
		return store_lmdb_code(rc, "begin transaction");
	}
	if (write)
		writing_set(s, true);
	*out = t;
	return 0;
}

int ddns_txn_commit(ddns_txn *t)
{
	int rc;

	if (!t)
		return DDNS_EINVAL;
	if (t->write) /* before LMDB's writer lock is released */
		writing_set(t->s, false);
	/* LMDB frees its transaction whether or not the commit succeeds. */
	rc = mdb_txn_commit(t->txn);
	txn_release(t);
	free(t);
	return store_lmdb_code(rc, "commit");
}

void ddns_txn_abort(ddns_txn *t)
{
	if (!t)
		return;
	if (t->write)
		writing_set(t->s, false);
	mdb_txn_abort(t->txn);
	txn_release(t);
	free(t);
}

void ddns_txn_reset(ddns_txn *t)
{
	if (t && !t->write && t->active) {
		mdb_txn_reset(t->txn);
		txn_release(t);
	}
}

int ddns_txn_renew(ddns_txn *t)
{
	if (!t || t->write)
		return DDNS_EINVAL;
	ddns_txn_reset(t); /* a live snapshot is reset first */
	return store_lmdb_code(txn_activate(t, 0), "renew transaction");
}

/* ---- zones ------------------------------------------------------------ */

static size_t zone_name_len(const char *name)
{
	size_t len = name ? strnlen(name, DDNS_NAME_BUF) : 0;

	return len > DDNS_NAME_MAX ? 0 : len;
}

/* Decode zone value V stored under NAME and add the serials from meta.
 * A corrupt zone is logged (SKIPPED: the caller goes on past it). */
static int zone_fill(ddns_txn *t, const char *name, size_t len,
		     const MDB_val *v, struct ddns_zone *out, bool skipped)
{
	char key[META_KEY_BUF];
	int rc = ddns_zone_decode(v->mv_data, v->mv_size, out);

	if (!rc && !ddns_name_is_normal(name, len))
		rc = DDNS_ECORRUPT;
	if (rc)
		goto out;
	memcpy(out->name, name, len);
	out->name[len] = '\0';
	rc = store_meta_get_u32(t, key, meta_key(key, META_SERIAL, out->name),
				&out->serial);
	if (rc == DDNS_ENOTFOUND)
		rc = DDNS_ECORRUPT;
	if (rc)
		goto out;
	rc = store_meta_get_u32(t, key, meta_key(key, META_NOTIFIED, out->name),
				&out->notified_serial);
	if (rc == DDNS_ENOTFOUND) {
		out->notified_serial = 0;
		rc = 0;
	}
out:
	if (rc == DDNS_ECORRUPT)
		store_log_corrupt("zone", name, len, skipped);
	return rc;
}

int ddns_zone_get(ddns_txn *t, const char *name, struct ddns_zone *out)
{
	size_t len = zone_name_len(name);
	MDB_val v;
	int rc;

	if (len == 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->zones, name, len, &v);
	if (rc)
		return rc;
	return zone_fill(t, name, len, &v, out, false);
}

/* The name of zone ID from the zone_ids index into NAME. */
static int zone_name_by_id(ddns_txn *t, uint32_t id, char name[DDNS_NAME_BUF])
{
	uint8_t k[4];
	MDB_val v;
	int rc;

	store_put_u32(k, id);
	rc = store_db_get(t, t->s->zone_ids, k, 4, &v);
	if (rc)
		return rc;
	if (!ddns_name_is_normal(v.mv_data, v.mv_size)) {
		log_err("store: zone id %u has a corrupt name", (unsigned)id);
		return DDNS_ECORRUPT;
	}
	memcpy(name, v.mv_data, v.mv_size);
	name[v.mv_size] = '\0';
	return 0;
}

int ddns_zone_get_by_id(ddns_txn *t, uint32_t id, struct ddns_zone *out)
{
	char name[DDNS_NAME_BUF];
	int rc = zone_name_by_id(t, id, name);

	if (rc)
		return rc;
	rc = ddns_zone_get(t, name, out);
	if (rc == DDNS_ENOTFOUND || (rc == 0 && out->id != id)) {
		log_err("store: zone id %u does not match zone %s",
			(unsigned)id, name);
		return DDNS_ECORRUPT;
	}
	return rc;
}

int ddns_zone_find(ddns_txn *t, const char *name, struct ddns_zone *out)
{
	const char *n = name;
	int rc;

	while (n) {
		rc = ddns_zone_get(t, n, out);
		if (rc != DDNS_ENOTFOUND)
			return rc;
		n = ddns_name_parent(n);
	}
	return DDNS_ENOZONE;
}

/* ---- range scans over the hosts database ------------------------------ */

enum { SCAN_NEXT = 0, SCAN_STOP = 1, SCAN_DELETED = 2 };

/* Called per record: SCAN_NEXT, SCAN_STOP, SCAN_DELETED after deleting the
 * current record through C, or a negative error that ends the scan. */
typedef int (*scan_fn)(ddns_txn *t, MDB_cursor *c, const MDB_val *k,
		       const MDB_val *v, void *arg);

/* Zone NAME's host key prefix: its key and a dot.  Returns the length. */
static size_t zone_prefix(const char *name, char out[DDNS_NAME_BUF])
{
	size_t n = ddns_name_key(name, out);

	out[n++] = '.';
	out[n] = '\0';
	return n;
}

/* Step C after FN's verdict: a deleted record is re-sought by its key
 * (copied before the delete), which lands on its successor. */
static int scan_step(MDB_cursor *c, MDB_val *k, MDB_val *v, int verdict,
		     const char *last, size_t last_len)
{
	if (verdict != SCAN_DELETED)
		return mdb_cursor_get(c, k, v, MDB_NEXT);
	k->mv_data = (void *)last;
	k->mv_size = last_len;
	return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

/* Call FN for each hosts record whose key starts with PREFIX (PLEN 0: every
 * record), in key order.  Returns 0 or the first error. */
static int hosts_scan(ddns_txn *t, const char *prefix, size_t plen, scan_fn fn,
		      void *arg)
{
	char last[512]; /* LMDB's largest key (MDB_MAXKEYSIZE) is 511 */
	MDB_cursor *c = NULL;
	MDB_val k = {plen, (void *)prefix}, v;
	int rc, verdict = SCAN_NEXT;

	rc = mdb_cursor_open(t->txn, t->s->hosts, &c);
	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0 && k.mv_size >= plen &&
	       memcmp(k.mv_data, prefix, plen) == 0) {
		if (k.mv_size > sizeof last) {
			verdict =
			    store_lmdb_code(MDB_BAD_VALSIZE, "scan hosts");
			break;
		}
		memcpy(last, k.mv_data, k.mv_size);
		verdict = fn(t, c, &k, &v, arg);
		if (verdict != SCAN_NEXT && verdict != SCAN_DELETED)
			break;
		rc = scan_step(c, &k, &v, verdict, last, k.mv_size);
	}
	mdb_cursor_close(c);
	if (verdict < 0)
		return verdict;
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "scan hosts");
}

/* Schema 2: a host with a `faults` record (STORE_HOST_FAULTS) has its
 * counters there.  T NULL: the caller needs no counters.  A damaged fault
 * record is logged and read as no faults: it must not hide the host. */
static void host_fill_faults(ddns_txn *t, const MDB_val *k, struct ddns_host *h)
{
	struct ddns_fault f;
	MDB_val v;
	int rc;

	if (!(h->flags & STORE_HOST_FAULTS))
		return;
	h->flags &= ~STORE_HOST_FAULTS;
	if (!t || !t->s->has_faults)
		return;
	rc = store_db_get(t, t->s->faults, k->mv_data, k->mv_size, &v);
	if (rc == 0)
		rc = ddns_fault_decode(v.mv_data, v.mv_size, &f);
	if (rc) {
		store_log_corrupt("fault", k->mv_data, k->mv_size, false);
		return;
	}
	h->client_faults = f.client_faults;
	h->server_faults = f.server_faults;
	h->auth_faults = f.auth_faults;
	h->last_fault = f.last_fault;
}

/* Decode a hosts record from its key and value, with its fault counters
 * when T is given; 0 or DDNS_ECORRUPT, logged (SKIPPED: the caller goes
 * on past it). */
static int host_from_kv(ddns_txn *t, const MDB_val *k, const MDB_val *v,
			struct ddns_host *out, bool skipped)
{
	int n, rc = ddns_host_decode(v->mv_data, v->mv_size, out);

	if (!rc) {
		n = ddns_name_from_key(k->mv_data, k->mv_size, out->fqdn);
		if (n < 0 || !ddns_name_is_normal(out->fqdn, (size_t)n))
			rc = DDNS_ECORRUPT;
	}
	if (rc) {
		store_log_corrupt("host", k->mv_data, k->mv_size, skipped);
		return rc;
	}
	host_fill_faults(t, k, out);
	return 0;
}

struct zone_free {
	const char *name; /* the zone to be added */
	uint32_t nested;  /* last zone id seen to lie below it */
	bool busy;
};

/* A host below the new zone must belong to a zone nested in it: a host of
 * an enclosing zone would silently change zones. */
static int zone_free_fn(ddns_txn *t, MDB_cursor *c, const MDB_val *k,
			const MDB_val *v, void *arg)
{
	struct zone_free *zf = arg;
	char zname[DDNS_NAME_BUF];
	struct ddns_host h;
	int rc = host_from_kv(NULL, k, v, &h, false);

	if (rc || h.zone_id == zf->nested)
		return rc;
	rc = zone_name_by_id(t, h.zone_id, zname);
	if (rc)
		return rc == DDNS_ENOTFOUND ? DDNS_ECORRUPT : rc;
	if (ddns_name_below(zname, zf->name)) {
		zf->nested = h.zone_id;
		return SCAN_NEXT;
	}
	zf->busy = true;
	return SCAN_STOP;
}

/* DDNS_EBUSY if a host is NAME itself or a host of an enclosing zone lies
 * below it. */
static int zone_check_free(ddns_txn *t, const char *name)
{
	struct zone_free zf = {name, 0, false};
	char key[DDNS_NAME_BUF];
	size_t n = zone_prefix(name, key);
	MDB_val v;
	int rc = store_db_get(t, t->s->hosts, key, n - 1, &v);

	if (rc == 0)
		return DDNS_EBUSY;
	if (rc != DDNS_ENOTFOUND)
		return rc;
	rc = hosts_scan(t, key, n, zone_free_fn, &zf);
	return rc ? rc : zf.busy ? DDNS_EBUSY : 0;
}

/* Write a zone's value, id index and serial; all new. */
static int zone_insert(ddns_txn *t, const struct ddns_zone *z, size_t len)
{
	uint8_t buf[ZONE_VAL_MAX], k[4];
	char mk[META_KEY_BUF];
	int rc, n = ddns_zone_encode(z, buf, sizeof buf);

	if (n < 0)
		return n;
	rc = store_db_put(t, t->s->zones, z->name, len, buf, (size_t)n,
			  MDB_NOOVERWRITE);
	store_put_u32(k, z->id);
	if (!rc)
		rc = store_db_put(t, t->s->zone_ids, k, 4, z->name, len,
				  MDB_NOOVERWRITE);
	if (rc == DDNS_EEXIST)
		rc = DDNS_ECORRUPT; /* an id handed out twice */
	if (!rc)
		rc = store_meta_put_u32(
		    t, mk, meta_key(mk, META_SERIAL, z->name), z->serial);
	if (!rc)
		rc = store_db_del(t, t->s->meta, mk,
				  meta_key(mk, META_NOTIFIED, z->name), true);
	return rc;
}

int ddns_zone_add(ddns_txn *t, struct ddns_zone *z)
{
	struct ddns_zone tmp;
	size_t len = zone_name_len(z->name);
	uint32_t id;
	MDB_val v;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	if (!ddns_name_is_normal(z->name, len))
		return DDNS_EBADNAME;
	rc = store_db_get(t, t->s->zones, z->name, len, &v);
	if (rc != DDNS_ENOTFOUND)
		return rc ? rc : DDNS_EEXIST;
	rc = zone_check_free(t, z->name);
	if (!rc)
		rc = store_meta_get_u32(t, META_NEXT_ID, META_NEXT_LEN, &id);
	if (rc)
		return rc == DDNS_ENOTFOUND ? DDNS_ECORRUPT : rc;
	if (id == 0 || id == UINT32_MAX)
		return DDNS_ETOOBIG;
	memcpy(&tmp, z, sizeof tmp);
	tmp.id = id;
	tmp.created = (int64_t)time(NULL);
	tmp.serial = (uint32_t)tmp.created ? (uint32_t)tmp.created : 1;
	tmp.notified_serial = 0;
	rc = zone_insert(t, &tmp, len);
	if (!rc)
		rc = store_meta_put_u32(t, META_NEXT_ID, META_NEXT_LEN, id + 1);
	if (!rc)
		memcpy(z, &tmp, sizeof tmp);
	return rc;
}

int ddns_zone_load(ddns_txn *t, const struct ddns_zone *z)
{
	size_t len = zone_name_len(z->name);
	char mk[META_KEY_BUF];
	uint32_t next = 1;
	uint8_t k[4];
	MDB_val v;
	int rc;

	if (!t->write || z->id == 0 || z->id == UINT32_MAX)
		return DDNS_EINVAL;
	if (!ddns_name_is_normal(z->name, len))
		return DDNS_EBADNAME;
	store_put_u32(k, z->id);
	rc = store_db_get(t, t->s->zones, z->name, len, &v);
	if (rc == DDNS_ENOTFOUND)
		rc = store_db_get(t, t->s->zone_ids, k, 4, &v);
	if (rc != DDNS_ENOTFOUND)
		return rc ? rc : DDNS_EEXIST;
	if ((rc = zone_check_free(t, z->name)) != 0 ||
	    (rc = zone_insert(t, z, len)) != 0)
		return rc;
	if (z->notified_serial &&
	    (rc = store_meta_put_u32(t, mk, meta_key(mk, META_NOTIFIED, z->name),
				     z->notified_serial)) != 0)
		return rc;
	rc = store_meta_get_u32(t, META_NEXT_ID, META_NEXT_LEN, &next);
	if (rc && rc != DDNS_ENOTFOUND)
		return rc;
	if (next > z->id)
		return 0;
	return store_meta_put_u32(t, META_NEXT_ID, META_NEXT_LEN, z->id + 1);
}

int ddns_zone_update(ddns_txn *t, const struct ddns_zone *z)
{
	struct ddns_zone cur, tmp;
	uint8_t buf[ZONE_VAL_MAX];
	size_t len = zone_name_len(z->name);
	int n, rc;

	if (!t->write)
		return DDNS_EINVAL;
	rc = ddns_zone_get(t, z->name, &cur);
	if (rc)
		return rc;
	memcpy(&tmp, z, sizeof tmp);
	tmp.id = cur.id;
	tmp.created = cur.created;
	n = ddns_zone_encode(&tmp, buf, sizeof buf);
	if (n < 0)
		return n;
	return store_db_put(t, t->s->zones, z->name, len, buf, (size_t)n, 0);
}

struct zone_hosts {
	uint32_t id;
	bool del;
	unsigned n;
};

/* Count (and with DEL, delete) the records of zone ID. */
static int zone_hosts_fn(ddns_txn *t, MDB_cursor *c, const MDB_val *k,
			 const MDB_val *v, void *arg)
{
	struct zone_hosts *zh = arg;
	char key[DDNS_NAME_BUF];
	struct ddns_host h;
	int rc = host_from_kv(NULL, k, v, &h, false);

	if (rc)
		return rc;
	if (h.zone_id != zh->id)
		return SCAN_NEXT; /* a host of a nested zone */
	zh->n++;
	if (!zh->del)
		return SCAN_NEXT;
	/* the key is copied: K points into the map (host_from_kv checked
	 * its size) */
	memcpy(key, k->mv_data, k->mv_size);
	if (t->s->has_faults &&
	    (rc = store_db_del(t, t->s->faults, key, k->mv_size, true)) != 0)
		return rc;
	if (t->s->has_accounts &&
	    (rc = store_db_del(t, t->s->host_comments, key, k->mv_size,
			       true)) != 0)
		return rc;
	if (t->s->has_challenges && /* issue 7 */
	    (rc = store_db_del(t, t->s->challenges, key, k->mv_size,
			       true)) != 0)
		return rc;
	rc = mdb_cursor_del(c, 0);
	return rc ? store_lmdb_code(rc, "delete host") : SCAN_DELETED;
}

/* Remove zone Z's own records: value, id index, serials. */
static int zone_remove(ddns_txn *t, const struct ddns_zone *z)
{
	char mk[META_KEY_BUF];
	uint8_t k[4];
	int rc;

	store_put_u32(k, z->id);
	rc = store_db_del(t, t->s->zones, z->name, strlen(z->name), false);
	if (!rc)
		rc = store_db_del(t, t->s->zone_ids, k, 4, true);
	if (!rc)
		rc = store_db_del(t, t->s->meta, mk,
				  meta_key(mk, META_SERIAL, z->name), true);
	if (!rc)
		rc = store_db_del(t, t->s->meta, mk,
				  meta_key(mk, META_NOTIFIED, z->name), true);
	return rc;
}

int ddns_zone_del(ddns_txn *t, const char *name, bool force, unsigned *n_hosts)
{
	struct zone_hosts zh = {0, force, 0};
	struct ddns_zone z;
	char prefix[DDNS_NAME_BUF];
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	rc = ddns_zone_get(t, name, &z);
	if (rc)
		return rc;
	zh.id = z.id;
	rc = hosts_scan(t, prefix, zone_prefix(z.name, prefix), zone_hosts_fn,
			&zh);
	if (n_hosts)
		*n_hosts = zh.n;
	if (rc)
		return rc;
	if (zh.n && !force)
		return DDNS_EBUSY;
	return zone_remove(t, &z);
}

int ddns_zone_bump_serial(ddns_txn *t, const char *name, uint32_t *out)
{
	char mk[META_KEY_BUF];
	size_t len = zone_name_len(name), klen;
	uint32_t serial;
	MDB_val v;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	if (len == 0)
		return DDNS_ENOTFOUND;
	klen = meta_key(mk, META_SERIAL, name);
	rc = store_meta_get_u32(t, mk, klen, &serial);
	if (rc == DDNS_ENOTFOUND) {
		/* no serial: corrupt if the zone exists */
		rc = store_db_get(t, t->s->zones, name, len, &v);
		return rc == 0 ? DDNS_ECORRUPT : rc;
	}
	if (rc)
		return rc;
	/* RFC 1982: adding 1 is always an increase; 0 is skipped because
	 * some software reads it as "unset". */
	serial++;
	if (serial == 0)
		serial = 1;
	rc = store_meta_put_u32(t, mk, klen, serial);
	if (!rc && out)
		*out = serial;
	return rc;
}

int ddns_zone_set_notified(ddns_txn *t, uint32_t id, uint32_t serial)
{
	char name[DDNS_NAME_BUF], mk[META_KEY_BUF];
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	rc = zone_name_by_id(t, id, name);
	if (rc)
		return rc;
	return store_meta_put_u32(t, mk, meta_key(mk, META_NOTIFIED, name),
				  serial);
}

int ddns_zone_foreach(ddns_txn *t, ddns_zone_cb cb, void *arg)
{
	struct ddns_zone z;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc, ret = 0;

	rc = mdb_cursor_open(t->txn, t->s->zones, &c);
	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && ret == 0) {
		/* zone_fill checks the key before it copies it */
		ret = zone_fill(t, k.mv_data, k.mv_size, &v, &z, true);
		if (ret == DDNS_ECORRUPT)
			ret = 0; /* logged; the other zones are still served */
		else if (ret == 0)
			ret = cb(&z, arg);
		if (ret == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (ret)
		return ret;
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "scan zones");
}

/* ---- hosts ------------------------------------------------------------ */

/* The hosts key of FQDN into KEY; DDNS_EBADNAME if FQDN is not normal. */
static int host_key(const char *fqdn, char key[DDNS_NAME_BUF], size_t *klen)
{
	size_t len = fqdn ? strnlen(fqdn, DDNS_NAME_BUF) : 0;

	if (!ddns_name_is_normal(fqdn, len))
		return DDNS_EBADNAME;
	*klen = ddns_name_key(fqdn, key);
	return 0;
}

int ddns_host_get(ddns_txn *t, const char *fqdn, struct ddns_host *out)
{
	char key[DDNS_NAME_BUF];
	MDB_val k, v;
	size_t klen;
	int rc;

	if (host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->hosts, key, klen, &v);
	if (rc)
		return rc;
	k.mv_data = key;
	k.mv_size = klen;
	return host_from_kv(t, &k, &v, out, false);
}

/*
 * A host belongs to the deepest zone containing it, strictly below its
 * apex; a new one (ADD) exactly one label below, so that no name between
 * a host and its zone is an empty non-terminal (whose NXDOMAIN RFC 8020
 * resolvers take as "nothing below").  ENOZONE if h->zone_id names no
 * zone, EINVAL if it names another zone than that, EDEPTH for a deeper new
 * host.  Deeper hosts stored before the rule keep working.
 */
static int host_check_zone(ddns_txn *t, const struct ddns_host *h, bool add)
{
	struct ddns_zone z;
	uint8_t k[4];
	MDB_val v;
	int rc = ddns_zone_find(t, h->fqdn, &z);

	if (rc && rc != DDNS_ENOZONE)
		return rc;
	if (rc == 0 && z.id == h->zone_id && strcmp(z.name, h->fqdn) != 0)
		return add && strcmp(ddns_name_parent(h->fqdn), z.name) != 0
			   ? DDNS_EDEPTH
			   : 0;
	store_put_u32(k, h->zone_id);
	rc = store_db_get(t, t->s->zone_ids, k, 4, &v);
	if (rc == DDNS_ENOTFOUND)
		return DDNS_ENOZONE;
	return rc ? rc : DDNS_EINVAL;
}

static bool host_has_counters(const struct ddns_host *h)
{
	return h->client_faults || h->server_faults || h->auth_faults ||
	       h->last_fault;
}

/* The fault record of KEY into F (zeros when absent or damaged: it is
 * about to be rewritten whole). */
static int fault_read(ddns_txn *t, const char *key, size_t klen,
		      struct ddns_fault *f)
{
	MDB_val v;
	int rc = store_db_get(t, t->s->faults, key, klen, &v);

	memset(f, 0, sizeof *f);
	if (rc == DDNS_ENOTFOUND)
		return 0;
	if (rc == 0 && ddns_fault_decode(v.mv_data, v.mv_size, f) != 0) {
		store_log_corrupt("fault", key, klen, false);
		memset(f, 0, sizeof *f);
	}
	return rc;
}

static int fault_write(ddns_txn *t, const char *key, size_t klen,
		       const struct ddns_fault *f)
{
	uint8_t buf[FAULT_VAL_MAX];
	int n = ddns_fault_encode(f, buf, sizeof buf);

	if (n < 0)
		return n;
	return store_db_put(t, t->s->faults, key, klen, buf, (size_t)n, 0);
}

/*
 * Schema 2: H's fault counters go to its `faults` record, made when the
 * first one is nonzero (or DETAILS are given: an import).  HAS: the host
 * has a record now.  *FLAGS gets the flags to store, STORE_HOST_FAULTS
 * included exactly when a record exists.
 */
static int host_write_faults(ddns_txn *t, const char *key, size_t klen,
			     const struct ddns_host *h, bool has,
			     const struct ddns_fault *details, uint32_t *flags)
{
	struct ddns_fault f;
	int rc = 0;

	*flags = h->flags & ~STORE_HOST_FAULTS;
	if (!has && !details && !host_has_counters(h))
		return 0;
	if (!t->s->has_faults)
		return DDNS_EINVAL;
	memset(&f, 0, sizeof f);
	if (details)
		memcpy(&f, details, sizeof f);
	else if (has)
		rc = fault_read(t, key, klen, &f);
	if (rc)
		return rc;
	*flags |= STORE_HOST_FAULTS;
	if (has && !details && f.client_faults == h->client_faults &&
	    f.server_faults == h->server_faults &&
	    f.auth_faults == h->auth_faults && f.last_fault == h->last_fault)
		return 0; /* unchanged: no write */
	f.client_faults = h->client_faults;
	f.server_faults = h->server_faults;
	f.auth_faults = h->auth_faults;
	f.last_fault = h->last_fault;
	return fault_write(t, key, klen, &f);
}

/* Encode H with FLAGS (its own, STORE_HOST_FAULTS set by the store) and
 * put it under KEY with LMDB's PUT_FLAGS. */
static int host_write(ddns_txn *t, const char *key, size_t klen,
		      const struct ddns_host *h, uint32_t flags,
		      unsigned put_flags)
{
	uint8_t buf[HOST_VAL_MAX];
	struct ddns_host tmp;
	int n;

	memcpy(&tmp, h, sizeof tmp);
	tmp.flags = flags;
	n = ddns_host_encode(&tmp, buf, sizeof buf);
	if (n < 0)
		return n;
	return store_db_put(t, t->s->hosts, key, klen, buf, (size_t)n,
			    put_flags);
}

/* Insert H (new) with its fault counters, and DETAILS if given. */
static int host_insert(ddns_txn *t, const struct ddns_host *h,
		       const struct ddns_fault *details, bool depth,
		       unsigned put_flags)
{
	char key[DDNS_NAME_BUF];
	uint32_t flags;
	size_t klen;
	MDB_val v;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	rc = host_key(h->fqdn, key, &klen);
	if (!rc)
		rc = host_check_zone(t, h, depth);
	if (!rc && !(put_flags & MDB_APPEND)) {
		rc = store_db_get(t, t->s->hosts, key, klen, &v);
		rc = rc == 0 ? DDNS_EEXIST : rc == DDNS_ENOTFOUND ? 0 : rc;
	}
	if (rc)
		return rc;
	if (!time_fits(h->created) || !time_fits(h->updated))
		return DDNS_EINVAL;
	rc = host_write_faults(t, key, klen, h, false, details, &flags);
	if (!rc)
		rc = host_write(t, key, klen, h, flags, put_flags);
	return rc;
}

int ddns_host_add(ddns_txn *t, const struct ddns_host *h)
{
	return host_insert(t, h, NULL, true, MDB_NOOVERWRITE);
}

int ddns_host_load(ddns_txn *t, const struct ddns_host *h,
		   const struct ddns_fault *f, bool deep, bool append)
{
	return host_insert(t, h, f, !deep,
			   append ? MDB_APPEND : MDB_NOOVERWRITE);
}

int ddns_host_last_key(ddns_txn *t, char key[DDNS_NAME_BUF], size_t *len)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, t->s->hosts, &c);

	*len = 0;
	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size < DDNS_NAME_BUF) {
		memcpy(key, k.mv_data, k.mv_size);
		*len = k.mv_size;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "last host");
}

/* The zone id and flags of a stored host value V (not decoded: only its
 * fixed head, which every v2 record has). */
static int host_head(const MDB_val *v, uint32_t *zone_id, uint32_t *flags)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < HOST_FIXED_LEN || p[0] != STORE_REC_V2)
		return DDNS_ECORRUPT;
	*zone_id = store_get_u32(p + 1);
	*flags = store_get_u32(p + 5);
	return 0;
}

int ddns_host_put(ddns_txn *t, const struct ddns_host *h)
{
	char key[DDNS_NAME_BUF];
	uint32_t zone_id = 0, old = 0, flags;
	size_t klen;
	MDB_val v;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	if (host_key(h->fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->hosts, key, klen, &v);
	if (rc)
		return rc;
	/* moving a host to another zone id must still place it right; a
	 * damaged record is rewritten whole */
	if (host_head(&v, &zone_id, &old) != 0 || zone_id != h->zone_id)
		rc = host_check_zone(t, h, false);
	if (rc)
		return rc;
	rc = host_write_faults(t, key, klen, h, old & STORE_HOST_FAULTS, NULL,
			       &flags);
	if (!rc)
		rc = host_write(t, key, klen, h, flags, 0);
	return rc;
}

/* Set (ON) or clear STORE_HOST_FAULTS in host KEY's stored record. */
static int host_mark_faults(ddns_txn *t, const char *key, size_t klen, bool on)
{
	uint8_t buf[HOST_VAL_MAX];
	uint32_t zone_id, flags;
	MDB_val v;
	int rc = store_db_get(t, t->s->hosts, key, klen, &v);

	if (!rc)
		rc = host_head(&v, &zone_id, &flags);
	if (rc)
		return rc;
	if (((flags & STORE_HOST_FAULTS) != 0) == on)
		return 0;
	if (v.mv_size > sizeof buf)
		return DDNS_ECORRUPT;
	memcpy(buf, v.mv_data, v.mv_size);
	store_put_u32(buf + 5, on ? flags | STORE_HOST_FAULTS
				  : flags & ~STORE_HOST_FAULTS);
	return store_db_put(t, t->s->hosts, key, klen, buf, v.mv_size, 0);
}

int ddns_host_del(ddns_txn *t, const char *fqdn)
{
	char key[DDNS_NAME_BUF];
	size_t klen;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	if (host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_del(t, t->s->hosts, key, klen, false);
	if (!rc && t->s->has_faults)
		rc = store_db_del(t, t->s->faults, key, klen, true);
	if (!rc && t->s->has_accounts)
		rc = store_db_del(t, t->s->host_comments, key, klen, true);
	if (!rc && t->s->has_challenges) /* issue 7 */
		rc = store_db_del(t, t->s->challenges, key, klen, true);
	return rc;
}

struct host_iter {
	uint32_t zone_id; /* 0: every zone */
	ddns_host_cb cb;
	void *arg;
	int ret;
};

static int host_iter_fn(ddns_txn *t, MDB_cursor *c, const MDB_val *k,
			const MDB_val *v, void *arg)
{
	struct host_iter *it = arg;
	struct ddns_host h;

	/* logged and skipped: one bad record must not hide the others */
	if (host_from_kv(t, k, v, &h, true) != 0)
		return SCAN_NEXT;
	if (it->zone_id && h.zone_id != it->zone_id)
		return SCAN_NEXT; /* a host of a nested zone */
	it->ret = it->cb(&h, it->arg);
	return it->ret ? SCAN_STOP : SCAN_NEXT;
}

int ddns_host_foreach(ddns_txn *t, const struct ddns_zone *zone,
		      ddns_host_cb cb, void *arg)
{
	struct host_iter it = {zone ? zone->id : 0, cb, arg, 0};
	char prefix[DDNS_NAME_BUF] = "";
	size_t plen = 0;
	int rc;

	if (zone) {
		if (!ddns_name_is_normal(zone->name,
					 zone_name_len(zone->name)) ||
		    zone->id == 0)
			return DDNS_EINVAL;
		plen = zone_prefix(zone->name, prefix);
	}
	rc = hosts_scan(t, prefix, plen, host_iter_fn, &it);
	return rc ? rc : it.ret;
}

/* ---- fault records ---------------------------------------------------- */

int ddns_fault_get(ddns_txn *t, const char *fqdn, struct ddns_fault *out)
{
	char key[DDNS_NAME_BUF];
	size_t klen;
	MDB_val v;
	int rc;

	if (!t->s->has_faults || host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->faults, key, klen, &v);
	if (rc)
		return rc;
	rc = ddns_fault_decode(v.mv_data, v.mv_size, out);
	if (rc)
		store_log_corrupt("fault", key, klen, false);
	return rc;
}

int ddns_fault_put(ddns_txn *t, const char *fqdn, const struct ddns_fault *f)
{
	struct ddns_fault cur, nf;
	char key[DDNS_NAME_BUF];
	size_t klen;
	MDB_val v;
	int rc;

	if (!t->write || !t->s->has_faults)
		return DDNS_EINVAL;
	if (host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->hosts, key, klen, &v);
	if (rc)
		return rc;
	/* the counters are the host's (ddns_host_put): keep the stored ones */
	if ((rc = fault_read(t, key, klen, &cur)) != 0)
		return rc;
	memcpy(&nf, f, sizeof nf);
	nf.client_faults = cur.client_faults;
	nf.server_faults = cur.server_faults;
	nf.auth_faults = cur.auth_faults;
	nf.last_fault = cur.last_fault;
	rc = fault_write(t, key, klen, &nf);
	return rc ? rc : host_mark_faults(t, key, klen, true);
}

int ddns_fault_del(ddns_txn *t, const char *fqdn)
{
	char key[DDNS_NAME_BUF];
	size_t klen;
	int rc;

	if (!t->write)
		return DDNS_EINVAL;
	if (!t->s->has_faults || host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_del(t, t->s->faults, key, klen, false);
	return rc ? rc : host_mark_faults(t, key, klen, false);
}

/* ---- host comments ---------------------------------------------------- */

int ddns_host_comment_get(ddns_txn *t, const char *fqdn,
			  char out[DDNS_HOST_COMMENT_BUF])
{
	char key[DDNS_NAME_BUF];
	const uint8_t *p;
	size_t klen, n;
	MDB_val v;
	int rc;

	out[0] = '\0';
	if (!t->s->has_accounts || host_key(fqdn, key, &klen) != 0)
		return 0;
	rc = store_db_get(t, t->s->host_comments, key, klen, &v);
	if (rc)
		return rc == DDNS_ENOTFOUND ? 0 : rc;
	p = v.mv_data;
	n = v.mv_size - 1;
	if (v.mv_size < 2 || v.mv_size > COMMENT_VAL_MAX ||
	    p[0] != REC_VERSION || !ddns_text_valid((const char *)p + 1, n)) {
		store_log_corrupt("comment", key, klen, false);
		return DDNS_ECORRUPT;
	}
	memcpy(out, p + 1, n);
	out[n] = '\0';
	return 0;
}

int ddns_host_comment_put(ddns_txn *t, const char *fqdn, const char *comment)
{
	uint8_t buf[COMMENT_VAL_MAX];
	char key[DDNS_NAME_BUF];
	size_t klen, n = strnlen(comment, DDNS_HOST_COMMENT_BUF);
	MDB_val v;
	int rc;

	if (!t->write || !t->s->has_accounts || n > DDNS_HOST_COMMENT_MAX ||
	    !ddns_text_valid(comment, n))
		return DDNS_EINVAL;
	if (host_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	rc = store_db_get(t, t->s->hosts, key, klen, &v);
	if (rc)
		return rc;
	if (n == 0)
		return store_db_del(t, t->s->host_comments, key, klen, true);
	buf[0] = REC_VERSION;
	memcpy(buf + 1, comment, n);
	return store_db_put(t, t->s->host_comments, key, klen, buf, n + 1, 0);
}

/* ---- snapshots -------------------------------------------------------- */

uint64_t ddns_txn_snapshot(const ddns_txn *t)
{
	if (!t || t->write)
		return 0;
	return (uint64_t)mdb_txn_id(t->txn);
}
