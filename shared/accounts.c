/*
 * accounts.c -- users, portal sessions and personal API tokens in the
 * ddns store (schema/lmdb-v1.md section 12; keep the two in step).
 *
 * Session ids and tokens are 32 bytes from OpenSSL's CSRNG as base64url
 * (43 characters); only SHA-256 of that text is stored, as the key.  A
 * presented id is checked for its shape before it is hashed, so malformed
 * input never reaches LMDB.
 */
#include "accounts.h"
#include "store-internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

#define REC_VERSION STORE_REC_VERSION
#define DIGEST_LEN  SHA256_DIGEST_LENGTH
#define RANDOM_LEN  32 /* octets behind a session id or token */

#define META_NEXT_USER	   "next_user_id"
#define META_NEXT_USER_LEN (sizeof META_NEXT_USER - 1)

/* version, flags, created | six strings | n_groups | groups */
#define USER_VAL_MAX                                                           \
	(1 + 4 + 8 + 6 * (1 + 255) + 1 + DDNS_GROUPS_MAX * (1 + DDNS_GROUP_MAX))
/* version, user id, created, expires, csrf key */
#define SESSION_VAL_LEN (1 + 4 + 8 + 8 + 16)
/* version, user id, created, label length | label */
#define TOKEN_FIXED_LEN (1 + 4 + 8 + 1)
#define TOKEN_VAL_MAX	(TOKEN_FIXED_LEN + DDNS_TOKEN_LABEL_MAX)
#define OIDC_KEY_MAX	(2 * DDNS_OIDC_ID_MAX + 1)

/* Longest session: also keeps created + lifetime far from overflow. */
#define SESSION_LIFETIME_MAX ((int64_t)366 * 86400)

/* ---- field checks ----------------------------------------------------- */

bool ddns_user_name_valid(const char *s)
{
	size_t len = s ? strnlen(s, DDNS_USER_NAME_MAX + 1) : 0;

	if (len == 0 || len > DDNS_USER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("._@+-", c)))
			return false;
	}
	return true;
}

/* The length of string field S of a buffer of CAP bytes if it is
 * terminated and at most MAX octets of ddns_text_valid text; else -1. */
static long text_field(const char *s, size_t cap, size_t max)
{
	size_t len = strnlen(s, cap);

	if (len > max || len == cap || !ddns_text_valid(s, len))
		return -1;
	return (long)len;
}

static bool email_valid(const char *s)
{
	long len = text_field(s, DDNS_USER_EMAIL_MAX + 1, DDNS_USER_EMAIL_MAX);
	const char *at;

	if (len <= 0)
		return len == 0;
	at = memchr(s, '@', (size_t)len);
	return !memchr(s, ' ', (size_t)len) && at && at != s &&
	       at != s + len - 1;
}

/* An encoded password hash: "" or printable ASCII without spaces. */
static bool pwhash_valid(const char *s)
{
	size_t len = strnlen(s, DDNS_PWHASH_MAX + 1);

	if (len > DDNS_PWHASH_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static bool user_valid(const struct ddns_user *u)
{
	long iss =
	    text_field(u->oidc_issuer, sizeof u->oidc_issuer, DDNS_OIDC_ID_MAX);
	long sub = text_field(u->oidc_subject, sizeof u->oidc_subject,
			      DDNS_OIDC_ID_MAX);

	return ddns_user_name_valid(u->name) &&
	       text_field(u->display_name, sizeof u->display_name,
			  DDNS_USER_DISPLAY_MAX) >= 0 &&
	       email_valid(u->email) && pwhash_valid(u->password) && iss >= 0 &&
	       sub >= 0 && (iss == 0) == (sub == 0) &&
	       u->n_groups <= DDNS_GROUPS_MAX &&
	       store_groups_valid(u->groups[0], u->n_groups);
}

/* ---- user values ------------------------------------------------------ */

/* The string fields of a user value, in stored order. */
static const struct user_field {
	size_t off, max;
} user_fields[] = {
    {offsetof(struct ddns_user, name), DDNS_USER_NAME_MAX},
    {offsetof(struct ddns_user, display_name), DDNS_USER_DISPLAY_MAX},
    {offsetof(struct ddns_user, email), DDNS_USER_EMAIL_MAX},
    {offsetof(struct ddns_user, password), DDNS_PWHASH_MAX},
    {offsetof(struct ddns_user, oidc_issuer), DDNS_OIDC_ID_MAX},
    {offsetof(struct ddns_user, oidc_subject), DDNS_OIDC_ID_MAX},
};
#define N_USER_FIELDS (sizeof user_fields / sizeof user_fields[0])

int ddns_user_encode(const struct ddns_user *u, void *buf, size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};

	if (!user_valid(u))
		return DDNS_EINVAL;
	w_u8(&w, REC_VERSION);
	w_u32(&w, u->flags);
	w_i64(&w, u->created);
	for (size_t i = 0; i < N_USER_FIELDS; i++) {
		const char *s = (const char *)u + user_fields[i].off;

		w_str(&w, s, strlen(s));
	}
	w_u8(&w, (uint8_t)u->n_groups);
	for (unsigned i = 0; i < u->n_groups; i++)
		w_str(&w, u->groups[i], strlen(u->groups[i]));
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_user_decode(const void *val, size_t len, struct ddns_user *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_user *u = calloc(1, sizeof *u);
	int rc = DDNS_ECORRUPT;
	size_t n;

	if (!u)
		return DDNS_ENOMEM;
	if (r_u8(&r) != REC_VERSION)
		goto done;
	u->flags = r_u32(&r);
	u->created = r_i64(&r);
	for (size_t i = 0; i < N_USER_FIELDS; i++)
		if (!r_text(&r, (char *)u + user_fields[i].off, 0,
			    user_fields[i].max, &n))
			goto done;
	u->n_groups = r_u8(&r);
	for (unsigned i = 0; !r.bad && i < u->n_groups && i < DDNS_GROUPS_MAX;
	     i++)
		if (!r_text(&r, u->groups[i], 1, DDNS_GROUP_MAX, &n))
			goto done;
	/* user_valid: everything ddns_user_encode would refuse is corrupt */
	if (!r.bad && r.off == len && user_valid(u)) {
		memcpy(out, u, sizeof *u);
		rc = 0;
	}
done:
	free(u);
	return rc;
}

/* ---- session and token values ----------------------------------------- */

static size_t session_encode(const struct ddns_session *s,
			     uint8_t buf[SESSION_VAL_LEN])
{
	struct wbuf w = {buf, 0, SESSION_VAL_LEN, false};

	w_u8(&w, REC_VERSION);
	w_u32(&w, s->user_id);
	w_i64(&w, s->created);
	w_i64(&w, s->expires);
	w_bytes(&w, s->csrf_key, sizeof s->csrf_key);
	return w.len;
}

int ddns_session_decode(const void *val, size_t len, struct ddns_session *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_session s;

	if (len != SESSION_VAL_LEN || r_u8(&r) != REC_VERSION)
		return DDNS_ECORRUPT;
	memset(&s, 0, sizeof s);
	s.user_id = r_u32(&r);
	s.created = r_i64(&r);
	s.expires = r_i64(&r);
	r_bytes(&r, s.csrf_key, sizeof s.csrf_key);
	if (r.bad || s.user_id == 0)
		return DDNS_ECORRUPT;
	memcpy(out, &s, sizeof s);
	return 0;
}

static int token_encode(const struct ddns_token *tk, uint8_t buf[TOKEN_VAL_MAX])
{
	struct wbuf w = {buf, 0, TOKEN_VAL_MAX, false};
	long n = text_field(tk->label, sizeof tk->label, DDNS_TOKEN_LABEL_MAX);

	if (n < 0 || tk->user_id == 0)
		return DDNS_EINVAL;
	w_u8(&w, REC_VERSION);
	w_u32(&w, tk->user_id);
	w_i64(&w, tk->created);
	w_str(&w, tk->label, (size_t)n);
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_token_decode(const void *val, size_t len, struct ddns_token *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_token tk;
	size_t n;

	memset(&tk, 0, sizeof tk);
	if (r_u8(&r) != REC_VERSION)
		return DDNS_ECORRUPT;
	tk.user_id = r_u32(&r);
	tk.created = r_i64(&r);
	if (!r_text(&r, tk.label, 0, DDNS_TOKEN_LABEL_MAX, &n) ||
	    r.off != len || tk.user_id == 0 || !ddns_text_valid(tk.label, n))
		return DDNS_ECORRUPT;
	memcpy(out, &tk, sizeof tk);
	return 0;
}

/* ---- random ids ------------------------------------------------------- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of the RANDOM_LEN octets IN, without padding, into OUT. */
static void b64url(const uint8_t in[RANDOM_LEN], char out[DDNS_TOKEN_BUF])
{
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < RANDOM_LEN; i++) {
		acc = acc << 8 | in[i];
		for (bits += 8; bits >= 6; bits -= 6)
			out[o++] = b64url_chars[(acc >> (bits - 6)) & 0x3f];
	}
	if (bits)
		out[o++] = b64url_chars[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
}

/* True if S (LEN octets, untrusted) has the shape of an id we hand out. */
static bool id_shape_ok(const char *s, size_t len)
{
	if (!s || len != DDNS_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!memchr(b64url_chars, s[i], sizeof b64url_chars - 1))
			return false;
	return true;
}

/* A new random id in OUT and the digest it is stored under in KEY. */
static int id_new(char out[DDNS_TOKEN_BUF], uint8_t key[DIGEST_LEN])
{
	uint8_t raw[RANDOM_LEN];

	if (RAND_bytes(raw, sizeof raw) != 1) {
		log_err("store: the random generator failed");
		return DDNS_EIO;
	}
	b64url(raw, out);
	OPENSSL_cleanse(raw, sizeof raw);
	SHA256((const unsigned char *)out, DDNS_TOKEN_LEN, key);
	return 0;
}

/* ---- scans ------------------------------------------------------------ */

enum { SCAN_NEXT = 0, SCAN_STOP = 1, SCAN_DEL = 2 };

/* Per record: SCAN_NEXT, SCAN_STOP, SCAN_DEL (delete it; write
 * transactions only) or a negative error that ends the scan. */
typedef int (*kv_fn)(const MDB_val *k, const MDB_val *v, void *arg);

/* Call FN for each record of DBI in key order.  0 or the first error. */
static int db_scan(ddns_txn *t, MDB_dbi dbi, kv_fn fn, void *arg)
{
	uint8_t last[512]; /* LMDB's largest key is 511 octets */
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc, verdict = SCAN_NEXT;
	size_t klen;

	rc = mdb_cursor_open(t->txn, dbi, &c);
	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && (verdict = fn(&k, &v, arg)) != SCAN_STOP) {
		if (verdict < 0)
			break;
		if (verdict == SCAN_NEXT) {
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
			continue;
		}
		/* deleted: seek its successor by the copied key */
		if (!t->write || k.mv_size > sizeof last) {
			verdict = DDNS_EINVAL;
			break;
		}
		klen = k.mv_size;
		memcpy(last, k.mv_data, klen);
		rc = mdb_cursor_del(c, 0);
		if (rc) {
			verdict = store_lmdb_code(rc, "delete");
			break;
		}
		k.mv_data = last;
		k.mv_size = klen;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	}
	mdb_cursor_close(c);
	if (verdict < 0)
		return verdict;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "scan");
}

/* ---- users ------------------------------------------------------------ */

/* Decode the users record K -> V into OUT; logged when corrupt. */
static int user_from_kv(const MDB_val *k, const MDB_val *v,
			struct ddns_user *out, bool skipped)
{
	int rc = k->mv_size == 4 ? ddns_user_decode(v->mv_data, v->mv_size, out)
				 : DDNS_ECORRUPT;

	if (!rc && (out->id = store_get_u32(k->mv_data)) == 0)
		rc = DDNS_ECORRUPT;
	if (rc == DDNS_ECORRUPT)
		store_log_corrupt("user", k->mv_data, k->mv_size, skipped);
	return rc;
}

int ddns_user_get(ddns_txn *t, uint32_t id, struct ddns_user *out)
{
	uint8_t key[4];
	MDB_val k = {4, key}, v;
	int rc;

	if (!t->s->has_accounts || id == 0)
		return DDNS_ENOTFOUND;
	store_put_u32(key, id);
	rc = store_db_get(t, t->s->users, key, 4, &v);
	return rc ? rc : user_from_kv(&k, &v, out, false);
}

/* The user id index DBI maps KEY to. */
static int index_get(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		     uint32_t *id)
{
	MDB_val v;
	int rc = store_db_get(t, dbi, key, klen, &v);

	if (rc)
		return rc;
	if (v.mv_size != 4 || (*id = store_get_u32(v.mv_data)) == 0) {
		store_log_corrupt("user index", key, klen, false);
		return DDNS_ECORRUPT;
	}
	return 0;
}

/* User ID found through an index: it must exist (else the index is
 * corrupt). */
static int user_by_index(ddns_txn *t, uint32_t id, const void *key, size_t klen,
			 struct ddns_user *out)
{
	int rc = ddns_user_get(t, id, out);

	if (rc == DDNS_ENOTFOUND) {
		store_log_corrupt("user index", key, klen, false);
		rc = DDNS_ECORRUPT;
	}
	return rc;
}

int ddns_user_get_by_name(ddns_txn *t, const char *name, struct ddns_user *out)
{
	uint32_t id;
	int rc;

	if (!t->s->has_accounts || !ddns_user_name_valid(name))
		return DDNS_ENOTFOUND;
	rc = index_get(t, t->s->user_names, name, strlen(name), &id);
	if (!rc)
		rc = user_by_index(t, id, name, strlen(name), out);
	if (!rc && strcmp(out->name, name) != 0)
		rc = DDNS_ECORRUPT;
	return rc;
}

/* The user_oidc key of ISSUER + SUBJECT into OUT; 0 if either is empty or
 * too long (no user can have it). */
static size_t oidc_key(const char *issuer, const char *subject,
		       char out[OIDC_KEY_MAX])
{
	size_t ni = strnlen(issuer, DDNS_OIDC_ID_MAX + 1);
	size_t ns = strnlen(subject, DDNS_OIDC_ID_MAX + 1);

	if (ni == 0 || ns == 0 || ni > DDNS_OIDC_ID_MAX ||
	    ns > DDNS_OIDC_ID_MAX)
		return 0;
	memcpy(out, issuer, ni);
	out[ni] = '\n';
	memcpy(out + ni + 1, subject, ns);
	return ni + 1 + ns;
}

int ddns_user_get_by_oidc(ddns_txn *t, const char *issuer, const char *subject,
			  struct ddns_user *out)
{
	char key[OIDC_KEY_MAX];
	size_t klen;
	uint32_t id;
	int rc;

	if (!t->s->has_accounts || !issuer || !subject ||
	    (klen = oidc_key(issuer, subject, key)) == 0)
		return DDNS_ENOTFOUND;
	rc = index_get(t, t->s->user_oidc, key, klen, &id);
	if (!rc)
		rc = user_by_index(t, id, key, klen, out);
	if (!rc && (strcmp(out->oidc_issuer, issuer) != 0 ||
		    strcmp(out->oidc_subject, subject) != 0))
		rc = DDNS_ECORRUPT;
	return rc;
}

/* 0 if KEY is free in index DBI or already names user ID; else EEXIST. */
static int index_free(ddns_txn *t, MDB_dbi dbi, const void *key, size_t klen,
		      uint32_t id)
{
	uint32_t have;
	int rc = index_get(t, dbi, key, klen, &have);

	if (rc == DDNS_ENOTFOUND)
		return 0;
	return rc ? rc : have == id ? 0 : DDNS_EEXIST;
}

/* Point index DBI's NEW_KEY at ID instead of OLD_KEY (either may be
 * empty: OLD_LEN / NEW_LEN 0). */
static int index_move(ddns_txn *t, MDB_dbi dbi, const void *old_key,
		      size_t old_len, const void *new_key, size_t new_len,
		      uint32_t id)
{
	uint8_t v[4];
	int rc = 0;

	if (old_len == new_len && memcmp(old_key, new_key, new_len) == 0)
		return 0;
	if (old_len)
		rc = store_db_del(t, dbi, old_key, old_len, true);
	store_put_u32(v, id);
	if (!rc && new_len)
		rc = store_db_put(t, dbi, new_key, new_len, v, 4, 0);
	return rc;
}

/*
 * Write user U (valid, id set) and its index entries; OLD is its present
 * record (NULL for a new user).  Every check comes before the first
 * write, so a refused change leaves the transaction as it was.
 */
static int user_write(ddns_txn *t, const struct ddns_user *u,
		      const struct ddns_user *old)
{
	static const char empty[1];
	uint8_t buf[USER_VAL_MAX], key[4];
	char ok[OIDC_KEY_MAX], nk[OIDC_KEY_MAX];
	size_t olen =
	    old ? oidc_key(old->oidc_issuer, old->oidc_subject, ok) : 0;
	size_t nlen = oidc_key(u->oidc_issuer, u->oidc_subject, nk);
	const char *oname = old ? old->name : empty;
	int n, rc;

	n = ddns_user_encode(u, buf, sizeof buf);
	if (n < 0)
		return n;
	rc = index_free(t, t->s->user_names, u->name, strlen(u->name), u->id);
	if (!rc && nlen)
		rc = index_free(t, t->s->user_oidc, nk, nlen, u->id);
	if (!rc)
		rc = index_move(t, t->s->user_names, oname, strlen(oname),
				u->name, strlen(u->name), u->id);
	if (!rc)
		rc = index_move(t, t->s->user_oidc, ok, olen, nk, nlen, u->id);
	store_put_u32(key, u->id);
	if (!rc) {
		rc = store_db_put(t, t->s->users, key, 4, buf, (size_t)n,
				  old ? 0 : MDB_NOOVERWRITE);
		if (rc == DDNS_EEXIST)
			rc = DDNS_ECORRUPT; /* an id handed out twice */
	}
	return rc;
}

static int next_user_id(ddns_txn *t, uint32_t *id)
{
	int rc = store_meta_get_u32(t, META_NEXT_USER, META_NEXT_USER_LEN, id);

	if (rc == DDNS_ENOTFOUND) { /* absent: no user was ever added */
		*id = 1;
		return 0;
	}
	if (rc)
		return rc;
	if (*id == 0)
		return DDNS_ECORRUPT;
	return *id == UINT32_MAX ? DDNS_ETOOBIG : 0;
}

int ddns_user_add(ddns_txn *t, struct ddns_user *u)
{
	struct ddns_user *tmp = NULL;
	uint32_t id;
	int rc;

	if (!t->write || !t->s->has_accounts)
		return DDNS_EINVAL;
	if (!(tmp = malloc(sizeof *tmp)))
		return DDNS_ENOMEM;
	memcpy(tmp, u, sizeof *tmp);
	tmp->created = (int64_t)time(NULL);
	rc = user_valid(tmp) ? next_user_id(t, &id) : DDNS_EINVAL;
	if (!rc) {
		tmp->id = id;
		rc = user_write(t, tmp, NULL);
	}
	if (!rc)
		rc = store_meta_put_u32(t, META_NEXT_USER, META_NEXT_USER_LEN,
					id + 1);
	if (!rc)
		memcpy(u, tmp, sizeof *tmp);
	free(tmp);
	return rc;
}

int ddns_user_put(ddns_txn *t, const struct ddns_user *u)
{
	struct ddns_user *old = NULL, *tmp = NULL;
	int rc;

	if (!t->write || !t->s->has_accounts)
		return DDNS_EINVAL;
	old = malloc(sizeof *old);
	tmp = malloc(sizeof *tmp);
	rc = old && tmp ? ddns_user_get(t, u->id, old) : DDNS_ENOMEM;
	if (rc)
		goto done;
	memcpy(tmp, u, sizeof *tmp);
	tmp->created = old->created;
	rc = user_valid(tmp) ? user_write(t, tmp, old) : DDNS_EINVAL;
done:
	free(old);
	free(tmp);
	return rc;
}

struct user_iter {
	ddns_user_cb cb;
	void *arg;
	int ret;
	struct ddns_user u;
};

static int user_iter_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct user_iter *it = arg;
	int rc = user_from_kv(k, v, &it->u, true);

	if (rc == DDNS_ECORRUPT)
		return SCAN_NEXT; /* logged; the others are still listed */
	if (rc)
		return rc;
	it->ret = it->cb(&it->u, it->arg);
	return it->ret ? SCAN_STOP : SCAN_NEXT;
}

int ddns_user_foreach(ddns_txn *t, ddns_user_cb cb, void *arg)
{
	struct user_iter *it;
	int rc;

	if (!t->s->has_accounts)
		return 0;
	if (!(it = calloc(1, sizeof *it)))
		return DDNS_ENOMEM;
	it->cb = cb;
	it->arg = arg;
	rc = db_scan(t, t->s->users, user_iter_fn, it);
	if (!rc)
		rc = it->ret;
	free(it);
	return rc;
}

bool ddns_user_in_group(const struct ddns_user *u, const char *g)
{
	for (unsigned i = 0; i < u->n_groups && i < DDNS_GROUPS_MAX; i++)
		if (strcmp(u->groups[i], g) == 0)
			return true;
	return false;
}

bool ddns_zone_usable_by(const struct ddns_zone *z, const struct ddns_user *u)
{
	if (!z || !u)
		return false;
	if (u->flags & DDNS_USER_ADMIN)
		return true;
	switch (z->visibility) {
	case DDNS_ZONE_PUBLIC:
		return true;
	case DDNS_ZONE_PRIVATE:
		for (unsigned i = 0; i < z->n_groups; i++)
			if (ddns_user_in_group(u, z->groups[i]))
				return true;
		return false;
	default:
		return false;
	}
}

/* ---- deleting a user -------------------------------------------------- */

/* The hosts a user owns (collected first: foreach callbacks may not
 * write) and the distinct zones they lie in. */
struct owned {
	uint32_t owner;
	unsigned n, cap, n_zones, zcap;
	char (*fqdn)[DDNS_NAME_BUF];
	uint32_t *zones;
};

/* P (of *CAP elements of SIZE) reallocated to twice as many; NULL (P
 * kept, *CAP unchanged) when out of memory. */
static void *grow(void *p, unsigned *cap, size_t size)
{
	unsigned ncap = *cap ? 2 * *cap : 16;
	void *np = reallocarray(p, ncap, size);

	if (np)
		*cap = ncap;
	return np;
}

static int owned_cb(const struct ddns_host *h, void *arg)
{
	struct owned *o = arg;
	void *np;
	unsigned i;

	if (h->owner != o->owner)
		return 0;
	if (o->n == o->cap) {
		if (!(np = grow(o->fqdn, &o->cap, DDNS_NAME_BUF)))
			return DDNS_ENOMEM;
		o->fqdn = np;
	}
	memcpy(o->fqdn[o->n++], h->fqdn, DDNS_NAME_BUF);
	for (i = 0; i < o->n_zones && o->zones[i] != h->zone_id; i++)
		;
	if (i < o->n_zones)
		return 0;
	if (o->n_zones == o->zcap) {
		if (!(np = grow(o->zones, &o->zcap, sizeof *o->zones)))
			return DDNS_ENOMEM;
		o->zones = np;
	}
	o->zones[o->n_zones++] = h->zone_id;
	return 0;
}

/* Delete the hosts in O (with their faults and comments) and raise the
 * serial of each zone they were in. */
static int owned_delete(ddns_txn *t, const struct owned *o)
{
	struct ddns_zone *z = malloc(sizeof *z);
	int rc = z ? 0 : DDNS_ENOMEM;

	for (unsigned i = 0; !rc && i < o->n; i++)
		rc = ddns_host_del(t, o->fqdn[i]);
	for (unsigned i = 0; !rc && i < o->n_zones; i++) {
		rc = ddns_zone_get_by_id(t, o->zones[i], z);
		if (!rc)
			rc = ddns_zone_bump_serial(t, z->name, NULL);
	}
	free(z);
	return rc;
}

/* SCAN_DEL for a session or token record of user *ARG (the user id is
 * the u32 after the version octet in both). */
static int of_user_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	(void)k;
	if (v->mv_size < 5)
		return SCAN_NEXT;
	return store_get_u32((const uint8_t *)v->mv_data + 1) ==
		       *(const uint32_t *)arg
		   ? SCAN_DEL
		   : SCAN_NEXT;
}

/* Remove user U's sessions, tokens, index entries and record. */
static int user_remove(ddns_txn *t, const struct ddns_user *u)
{
	char ok[OIDC_KEY_MAX];
	size_t olen = oidc_key(u->oidc_issuer, u->oidc_subject, ok);
	uint32_t id = u->id;
	uint8_t key[4];
	int rc = db_scan(t, t->s->sessions, of_user_fn, &id);

	if (!rc)
		rc = db_scan(t, t->s->tokens, of_user_fn, &id);
	if (!rc)
		rc = store_db_del(t, t->s->user_names, u->name, strlen(u->name),
				  true);
	if (!rc && olen)
		rc = store_db_del(t, t->s->user_oidc, ok, olen, true);
	store_put_u32(key, id);
	if (!rc)
		rc = store_db_del(t, t->s->users, key, 4, false);
	return rc;
}

int ddns_user_del(ddns_txn *t, uint32_t id, bool force, unsigned *n_hosts)
{
	struct owned o = {.owner = id};
	struct ddns_user *u = NULL;
	int rc;

	if (n_hosts)
		*n_hosts = 0;
	if (!t->write)
		return DDNS_EINVAL;
	if (!(u = malloc(sizeof *u)))
		return DDNS_ENOMEM;
	rc = ddns_user_get(t, id, u);
	if (!rc)
		rc = ddns_host_foreach(t, NULL, owned_cb, &o);
	if (n_hosts)
		*n_hosts = o.n;
	if (!rc && o.n && !force)
		rc = DDNS_EBUSY;
	if (!rc)
		rc = owned_delete(t, &o);
	if (!rc)
		rc = user_remove(t, u);
	free(o.fqdn);
	free(o.zones);
	free(u);
	return rc;
}

/* ---- sessions --------------------------------------------------------- */

/* 0 if user ID exists (its record is not decoded). */
static int user_exists(ddns_txn *t, uint32_t id)
{
	uint8_t key[4];
	MDB_val v;

	if (id == 0)
		return DDNS_ENOTFOUND;
	store_put_u32(key, id);
	return store_db_get(t, t->s->users, key, 4, &v);
}

int ddns_session_new(ddns_txn *t, uint32_t user_id, int64_t lifetime,
		     char id_out[DDNS_TOKEN_BUF], struct ddns_session *out)
{
	uint8_t key[DIGEST_LEN], val[SESSION_VAL_LEN];
	struct ddns_session s;
	int rc;

	id_out[0] = '\0';
	if (!t->write || !t->s->has_accounts || lifetime <= 0 ||
	    lifetime > SESSION_LIFETIME_MAX)
		return DDNS_EINVAL;
	if ((rc = user_exists(t, user_id)) != 0)
		return rc;
	memset(&s, 0, sizeof s);
	s.user_id = user_id;
	s.created = (int64_t)time(NULL);
	s.expires = s.created + lifetime;
	if (RAND_bytes(s.csrf_key, sizeof s.csrf_key) != 1)
		return DDNS_EIO;
	rc = id_new(id_out, key);
	if (!rc)
		rc = store_db_put(t, t->s->sessions, key, sizeof key, val,
				  session_encode(&s, val), MDB_NOOVERWRITE);
	if (rc)
		OPENSSL_cleanse(id_out, DDNS_TOKEN_BUF);
	else if (out)
		memcpy(out, &s, sizeof s);
	OPENSSL_cleanse(&s, sizeof s);
	return rc;
}

int ddns_session_get(ddns_txn *t, const char *id, size_t len, int64_t now,
		     struct ddns_session *out)
{
	uint8_t key[DIGEST_LEN];
	struct ddns_session s;
	MDB_val v;
	int rc;

	if (!t->s->has_accounts || !id_shape_ok(id, len))
		return DDNS_ENOTFOUND;
	SHA256((const unsigned char *)id, len, key);
	rc = store_db_get(t, t->s->sessions, key, sizeof key, &v);
	if (rc)
		return rc;
	if (ddns_session_decode(v.mv_data, v.mv_size, &s) != 0) {
		store_log_corrupt("session", key, sizeof key, false);
		return DDNS_ECORRUPT;
	}
	if (now >= s.expires)
		return DDNS_ENOTFOUND;
	memcpy(out, &s, sizeof s);
	return 0;
}

int ddns_session_del(ddns_txn *t, const char *id, size_t len)
{
	uint8_t key[DIGEST_LEN];

	if (!t->write)
		return DDNS_EINVAL;
	if (!t->s->has_accounts || !id_shape_ok(id, len))
		return DDNS_ENOTFOUND;
	SHA256((const unsigned char *)id, len, key);
	return store_db_del(t, t->s->sessions, key, sizeof key, false);
}

struct expire {
	int64_t now;
	unsigned max, n;
};

static int expire_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct expire *e = arg;
	struct ddns_session s;

	if (e->n >= e->max)
		return SCAN_STOP;
	if (ddns_session_decode(v->mv_data, v->mv_size, &s) != 0) {
		store_log_corrupt("session", k->mv_data, k->mv_size, true);
		return SCAN_NEXT;
	}
	if (s.expires > e->now)
		return SCAN_NEXT;
	e->n++;
	return SCAN_DEL;
}

int ddns_session_expire(ddns_txn *t, int64_t now, unsigned max, unsigned *n)
{
	struct expire e = {now, max, 0};
	int rc;

	if (n)
		*n = 0;
	if (!t->write)
		return DDNS_EINVAL;
	if (!t->s->has_accounts)
		return 0;
	rc = db_scan(t, t->s->sessions, expire_fn, &e);
	if (n)
		*n = e.n;
	return rc;
}

void ddns_session_csrf(const struct ddns_session *s, char out[DDNS_CSRF_BUF])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	out[0] = '\0';
	if (!HMAC(EVP_sha256(), s->csrf_key, (int)sizeof s->csrf_key,
		  (const unsigned char *)"csrf", 4, mac, &n) ||
	    n != DIGEST_LEN)
		return;
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[2 * n] = '\0';
	OPENSSL_cleanse(mac, sizeof mac);
}

bool ddns_session_csrf_ok(const struct ddns_session *s, const char *tok,
			  size_t len)
{
	char want[DDNS_CSRF_BUF];
	bool ok;

	if (!tok || len != DDNS_CSRF_BUF - 1)
		return false;
	ddns_session_csrf(s, want);
	ok = want[0] != '\0' && CRYPTO_memcmp(want, tok, len) == 0;
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}

/* ---- personal API tokens ---------------------------------------------- */

int ddns_token_new(ddns_txn *t, uint32_t user_id, const char *label,
		   char token_out[DDNS_TOKEN_BUF], struct ddns_token *out)
{
	uint8_t val[TOKEN_VAL_MAX];
	struct ddns_token tk;
	size_t n = label ? strnlen(label, sizeof tk.label) : 0;
	int len, rc;

	token_out[0] = '\0';
	if (!t->write || !t->s->has_accounts || n > DDNS_TOKEN_LABEL_MAX)
		return DDNS_EINVAL;
	memset(&tk, 0, sizeof tk);
	memcpy(tk.label, label ? label : "", n);
	tk.user_id = user_id;
	tk.created = (int64_t)time(NULL);
	if ((len = token_encode(&tk, val)) < 0)
		return len;
	if ((rc = user_exists(t, user_id)) != 0)
		return rc;
	rc = id_new(token_out, tk.digest);
	if (!rc)
		rc = store_db_put(t, t->s->tokens, tk.digest, DIGEST_LEN, val,
				  (size_t)len, MDB_NOOVERWRITE);
	if (rc)
		OPENSSL_cleanse(token_out, DDNS_TOKEN_BUF);
	else if (out)
		memcpy(out, &tk, sizeof tk);
	return rc;
}

/* Decode the tokens record K -> V into OUT; logged when corrupt. */
static int token_from_kv(const MDB_val *k, const MDB_val *v,
			 struct ddns_token *out, bool skipped)
{
	int rc = k->mv_size == DIGEST_LEN
		     ? ddns_token_decode(v->mv_data, v->mv_size, out)
		     : DDNS_ECORRUPT;

	if (rc)
		store_log_corrupt("token", k->mv_data, k->mv_size, skipped);
	else
		memcpy(out->digest, k->mv_data, DIGEST_LEN);
	return rc;
}

int ddns_token_get(ddns_txn *t, const char *tok, size_t len,
		   struct ddns_token *out)
{
	uint8_t key[DIGEST_LEN];
	MDB_val k = {sizeof key, key}, v;
	int rc;

	if (!t->s->has_accounts || !id_shape_ok(tok, len))
		return DDNS_ENOTFOUND;
	SHA256((const unsigned char *)tok, len, key);
	rc = store_db_get(t, t->s->tokens, key, sizeof key, &v);
	return rc ? rc : token_from_kv(&k, &v, out, false);
}

int ddns_token_del(ddns_txn *t, const uint8_t digest[32])
{
	if (!t->write)
		return DDNS_EINVAL;
	if (!t->s->has_accounts)
		return DDNS_ENOTFOUND;
	return store_db_del(t, t->s->tokens, digest, DIGEST_LEN, false);
}

struct token_iter {
	uint32_t user_id;
	ddns_token_cb cb;
	void *arg;
	int ret;
};

static int token_iter_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct token_iter *it = arg;
	struct ddns_token tk;

	if (token_from_kv(k, v, &tk, true) != 0)
		return SCAN_NEXT;
	if (it->user_id && tk.user_id != it->user_id)
		return SCAN_NEXT;
	it->ret = it->cb(&tk, it->arg);
	return it->ret ? SCAN_STOP : SCAN_NEXT;
}

int ddns_token_foreach(ddns_txn *t, uint32_t user_id, ddns_token_cb cb,
		       void *arg)
{
	struct token_iter it = {user_id, cb, arg, 0};
	int rc;

	if (!t->s->has_accounts)
		return 0;
	rc = db_scan(t, t->s->tokens, token_iter_fn, &it);
	return rc ? rc : it.ret;
}
