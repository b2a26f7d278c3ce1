/*
 * challenge.c -- the `challenges` database (challenge.h).
 *
 * Key: the host's key in `hosts` (labels reversed).  Value: version
 * octet 0x01, host_created (i64), count (u8), then per value expires
 * (i64), length (u8) and the value's octets.
 */
#include "challenge.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "names.h"
#include "store-internal.h"

/* version + created + count + DDNS_CHALLENGE_MAX * (expires + len + value) */
#define CHALLENGE_REC_MAX                                                      \
	(1 + 8 + 1 + DDNS_CHALLENGE_MAX * (8 + 1 + DDNS_CHALLENGE_VALUE_MAX))

int store_challenges_open(ddns_store *s, MDB_txn *txn, unsigned flags)
{
	int rc = mdb_dbi_open(txn, "challenges", flags, &s->challenges);

	s->has_challenges = rc == 0;
	if (rc == MDB_NOTFOUND && !(flags & MDB_CREATE))
		return 0;
	return rc;
}

static bool value_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '+' ||
	       c == '/' || c == '=';
}

bool ddns_challenge_value_valid(const char *s, size_t len)
{
	if (!s || len == 0 || len > DDNS_CHALLENGE_VALUE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!value_char((unsigned char)s[i]))
			return false;
	return true;
}

int ddns_challenge_encode(const struct ddns_challenges *c, void *buf,
			  size_t cap)
{
	struct wbuf w = {buf, 0, cap, false};

	if (c->n > DDNS_CHALLENGE_MAX)
		return DDNS_EINVAL;
	w_u8(&w, STORE_REC_VERSION);
	w_i64(&w, c->host_created);
	w_u8(&w, (uint8_t)c->n);
	for (unsigned i = 0; i < c->n; i++) {
		size_t len = strnlen(c->v[i].value, sizeof c->v[i].value);

		if (!ddns_challenge_value_valid(c->v[i].value, len))
			return DDNS_EINVAL;
		w_i64(&w, c->v[i].expires);
		w_str(&w, c->v[i].value, len);
	}
	return w.over ? DDNS_ETOOBIG : (int)w.len;
}

int ddns_challenge_decode(const void *val, size_t len,
			  struct ddns_challenges *out)
{
	struct rbuf r = {val, len, 0, false};
	struct ddns_challenges c;
	size_t vlen;

	memset(&c, 0, sizeof c);
	if (r_u8(&r) != STORE_REC_VERSION)
		return DDNS_ECORRUPT;
	c.host_created = r_i64(&r);
	c.n = r_u8(&r);
	if (r.bad || c.n > DDNS_CHALLENGE_MAX)
		return DDNS_ECORRUPT;
	for (unsigned i = 0; i < c.n; i++) {
		c.v[i].expires = r_i64(&r);
		if (!r_text(&r, c.v[i].value, 1, DDNS_CHALLENGE_VALUE_MAX,
			    &vlen) ||
		    !ddns_challenge_value_valid(c.v[i].value, vlen))
			return DDNS_ECORRUPT;
	}
	if (r.bad || r.off != r.len)
		return DDNS_ECORRUPT;
	*out = c;
	return 0;
}

/* The key of FQDN.  0 or DDNS_EBADNAME. */
static int chal_key(const char *fqdn, char key[DDNS_NAME_BUF], size_t *klen)
{
	size_t len = fqdn ? strnlen(fqdn, DDNS_NAME_BUF) : 0;

	if (!ddns_name_is_normal(fqdn, len))
		return DDNS_EBADNAME;
	*klen = ddns_name_key(fqdn, key);
	return 0;
}

int ddns_challenge_get(ddns_txn *t, const char *fqdn,
		       struct ddns_challenges *out)
{
	char key[DDNS_NAME_BUF];
	size_t klen;
	MDB_val v;
	int rc;

	if (!t->s->has_challenges || chal_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	if ((rc = store_db_get(t, t->s->challenges, key, klen, &v)) != 0)
		return rc;
	rc = ddns_challenge_decode(v.mv_data, v.mv_size, out);
	if (rc != 0)
		store_log_corrupt("challenges", key, klen, false);
	return rc;
}

int ddns_challenge_live(ddns_txn *t, const struct ddns_host *h, int64_t now,
			struct ddns_challenges *out)
{
	int rc = ddns_challenge_get(t, h->fqdn, out);

	if (rc != 0)
		return rc;
	if (out->host_created != h->created) {
		out->n = 0;
		return DDNS_ENOTFOUND;
	}
	ddns_challenge_expire(out, now);
	return out->n ? 0 : DDNS_ENOTFOUND;
}

int ddns_challenge_put(ddns_txn *t, const char *fqdn,
		       const struct ddns_challenges *c)
{
	uint8_t buf[CHALLENGE_REC_MAX];
	char key[DDNS_NAME_BUF];
	size_t klen;
	int len, rc;

	if (!t->write || !t->s->has_challenges)
		return DDNS_EINVAL;
	if ((rc = chal_key(fqdn, key, &klen)) != 0)
		return rc;
	if (c->n == 0)
		return store_db_del(t, t->s->challenges, key, klen, true);
	if ((len = ddns_challenge_encode(c, buf, sizeof buf)) < 0)
		return len;
	return store_db_put(t, t->s->challenges, key, klen, buf, (size_t)len,
			    0);
}

int ddns_challenge_del(ddns_txn *t, const char *fqdn)
{
	char key[DDNS_NAME_BUF];
	size_t klen;

	if (!t->write)
		return DDNS_EINVAL;
	if (!t->s->has_challenges || chal_key(fqdn, key, &klen) != 0)
		return DDNS_ENOTFOUND;
	return store_db_del(t, t->s->challenges, key, klen, false);
}

/* One record of the scan: decoded and handed to CB, or skipped. */
static int foreach_one(const MDB_val *k, const MDB_val *v, ddns_challenge_cb cb,
		       void *arg)
{
	struct ddns_challenges c;
	char fqdn[DDNS_NAME_BUF];

	if (k->mv_size >= DDNS_NAME_BUF ||
	    ddns_name_from_key(k->mv_data, k->mv_size, fqdn) < 0 ||
	    ddns_challenge_decode(v->mv_data, v->mv_size, &c) != 0) {
		store_log_corrupt("challenges", k->mv_data, k->mv_size, true);
		return 0;
	}
	return cb(fqdn, &c, arg);
}

int ddns_challenge_foreach(ddns_txn *t, ddns_challenge_cb cb, void *arg)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, ret = 0;

	if (!t->s->has_challenges)
		return 0;
	rc = mdb_cursor_open(t->txn, t->s->challenges, &cur);
	if (rc)
		return store_lmdb_code(rc, "open cursor");
	rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	while (rc == 0 && ret == 0) {
		ret = foreach_one(&k, &v, cb, arg);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (ret != 0)
		return ret;
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "scan challenges");
}

/* ---- pure helpers ------------------------------------------------------ */

static void drop_at(struct ddns_challenges *c, unsigned i)
{
	memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof c->v[0]);
	c->n--;
}

void ddns_challenge_add(struct ddns_challenges *c, const char *value,
			int64_t expires, unsigned max)
{
	unsigned first = 0;

	if (max == 0 || max > DDNS_CHALLENGE_MAX)
		max = DDNS_CHALLENGE_MAX;
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->v[i].value, value) == 0) {
			c->v[i].expires = expires;
			return;
		}
	while (c->n >= max) {
		for (unsigned i = 1; i < c->n; i++)
			if (c->v[i].expires < c->v[first].expires)
				first = i;
		drop_at(c, first);
		first = 0;
	}
	c->v[c->n].expires = expires;
	snprintf(c->v[c->n].value, sizeof c->v[c->n].value, "%s", value);
	c->n++;
}

bool ddns_challenge_remove(struct ddns_challenges *c, const char *value)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->v[i].value, value) == 0) {
			drop_at(c, i);
			return true;
		}
	return false;
}

unsigned ddns_challenge_expire(struct ddns_challenges *c, int64_t now)
{
	unsigned gone = 0;

	for (unsigned i = 0; i < c->n;) {
		if (c->v[i].expires <= now) {
			drop_at(c, i);
			gone++;
		} else {
			i++;
		}
	}
	return gone;
}
