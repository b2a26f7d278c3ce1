/*
 * store_bulk.c -- whole-store operations: the upgrade from schema 1
 * (schema/lmdb-v2.md section 10), compacted backups, and loading accounts
 * exactly as exported (store_bulk.h).  The schema-1 decoders live here
 * and only here: nothing else reads a v1 record.
 */
#include "store_bulk.h"
#include "store.h"

#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "store-internal.h"

#define V1_HOST_LEN    117
#define V1_FAULT_MIN   15 /* version, window_start, count, kind, length */
#define META_SCHEMA    "schema"
#define META_NEXT_USER "next_user_id"
#define META_NEXT_ZONE "next_zone_id"
#define USER_VAL_CAP   10240 /* a user record is at most 9328 octets */
#define HOST_VAL_CAP   128   /* a v2 host record is at most 89 */
#define FAULT_VAL_CAP  160   /* a v2 fault record is at most 147 */

/* ---- schema 1 records ------------------------------------------------ */

/* A v1 time (i64) into a u32 field; false when it does not fit. */
static bool v1_time(struct rbuf *r, int64_t *out)
{
	*out = r_i64(r);
	return *out >= 0 && *out <= (int64_t)UINT32_MAX;
}

/* Decode a v1 host value (lmdb-v1.md section 6) into H, counters included. */
static int v1_host_decode(const MDB_val *v, struct ddns_host *h)
{
	struct rbuf r = {v->mv_data, v->mv_size, 0, false};
	bool ok;

	memset(h, 0, sizeof *h);
	if (v->mv_size != V1_HOST_LEN || r_u8(&r) != 0x01)
		return DDNS_ECORRUPT;
	h->zone_id = r_u32(&r);
	h->flags = r_u32(&r) & ~STORE_HOST_FAULTS;
	r_bytes(&r, &h->v4.s_addr, 4);
	r_bytes(&r, h->v6.s6_addr, 16);
	ok = v1_time(&r, &h->created);
	ok = v1_time(&r, &h->updated) && ok;
	r_bytes(&r, h->cred.salt, DDNS_SALT_LEN);
	r_bytes(&r, h->cred.hash, DDNS_HASH_LEN);
	h->client_faults = r_u32(&r);
	h->server_faults = r_u32(&r);
	h->auth_faults = r_u32(&r);
	ok = v1_time(&r, &h->last_fault) && ok;
	h->owner = r_u32(&r);
	return ok && !r.bad && h->zone_id != 0 ? 0 : DDNS_ECORRUPT;
}

/* Decode a v1 fault value (lmdb-v1.md section 7): window and text. */
static int v1_fault_decode(const MDB_val *v, struct ddns_fault *f)
{
	struct rbuf r = {v->mv_data, v->mv_size, 0, false};
	size_t n;
	bool ok;

	memset(f, 0, sizeof *f);
	if (v->mv_size < V1_FAULT_MIN || r_u8(&r) != 0x01)
		return DDNS_ECORRUPT;
	ok = v1_time(&r, &f->window_start);
	f->window_count = r_u32(&r);
	f->last_kind = r_u8(&r);
	n = r_u8(&r);
	if (!ok || f->last_kind > DDNS_FAULT_AUTH || n > DDNS_FAULT_TEXT_MAX ||
	    v->mv_size != V1_FAULT_MIN + n)
		return DDNS_ECORRUPT;
	r_bytes(&r, f->last_text, n);
	f->last_text[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f->last_text[i] < 0x20 ||
		    (unsigned char)f->last_text[i] > 0x7e)
			return DDNS_ECORRUPT;
	return r.bad ? DDNS_ECORRUPT : 0;
}

int ddns_v1_host_decode(const void *val, size_t len, struct ddns_host *out)
{
	MDB_val v = {len, (void *)val};

	return v1_host_decode(&v, out);
}

int ddns_v1_fault_decode(const void *val, size_t len, struct ddns_fault *out)
{
	MDB_val v = {len, (void *)val};

	return v1_fault_decode(&v, out);
}

/* ---- the upgrade ----------------------------------------------------- */

/* The v2 fault record of host H (KEY) from its v1 counters and v1 fault
 * record, if it needs one; *HAS says whether it does. */
static int migrate_faults(ddns_txn *t, const char *key, size_t klen,
			  const struct ddns_host *h, bool *has)
{
	uint8_t buf[FAULT_VAL_CAP];
	struct ddns_fault f;
	MDB_val v;
	int n, rc = store_db_get(t, t->s->faults, key, klen, &v);

	memset(&f, 0, sizeof f);
	if (rc == 0 && (rc = v1_fault_decode(&v, &f)) != 0)
		return rc;
	if (rc != 0 && rc != DDNS_ENOTFOUND)
		return rc;
	*has = rc == 0 || h->client_faults || h->server_faults ||
	       h->auth_faults || h->last_fault;
	if (!*has)
		return 0;
	f.client_faults = h->client_faults;
	f.server_faults = h->server_faults;
	f.auth_faults = h->auth_faults;
	f.last_fault = h->last_fault;
	n = ddns_fault_encode(&f, buf, sizeof buf);
	if (n < 0)
		return n;
	return store_db_put(t, t->s->faults, key, klen, buf, (size_t)n, 0);
}

/* Rewrite the host under cursor C (key K, value V) in the v2 layout. */
static int migrate_host(ddns_txn *t, MDB_cursor *c, const MDB_val *k,
			const MDB_val *v)
{
	char key[DDNS_NAME_BUF];
	uint8_t buf[HOST_VAL_CAP];
	struct ddns_host h;
	MDB_val nk, nv;
	bool has = false;
	int n, rc;

	if (k->mv_size >= sizeof key)
		return DDNS_ECORRUPT;
	memcpy(key, k->mv_data, k->mv_size); /* K points into the map */
	rc = v1_host_decode(v, &h);
	if (!rc)
		rc = migrate_faults(t, key, k->mv_size, &h, &has);
	if (rc) {
		store_log_corrupt("v1 host", key, k->mv_size, false);
		return rc;
	}
	if (has)
		h.flags |= STORE_HOST_FAULTS;
	n = ddns_host_encode(&h, buf, sizeof buf);
	if (n < 0)
		return n;
	nk.mv_data = key;
	nk.mv_size = k->mv_size;
	nv.mv_data = buf;
	nv.mv_size = (size_t)n;
	return store_lmdb_code(mdb_cursor_put(c, &nk, &nv, MDB_CURRENT),
			       "migrate host");
}

static int migrate_hosts(ddns_txn *t, uint64_t *count)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int ret = 0, rc = mdb_cursor_open(t->txn, t->s->hosts, &c);

	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0 && (ret = migrate_host(t, c, &k, &v)) == 0) {
		(*count)++;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (ret)
		return ret;
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "migrate");
}

/* Fault records left in the v1 layout belong to no host (schema 1's
 * invariant 6 forbids them): dropped. */
static int drop_v1_faults(ddns_txn *t)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc = mdb_cursor_open(t->txn, t->s->faults, &c);

	if (rc)
		return store_lmdb_code(rc, "cursor");
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (v.mv_size == 0 || *(uint8_t *)v.mv_data != STORE_REC_V2)
			rc = mdb_cursor_del(c, 0);
		if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : store_lmdb_code(rc, "drop faults");
}

int ddns_store_migrate(ddns_store *s, unsigned *from, uint64_t *n_hosts)
{
	uint64_t count = 0;
	ddns_txn *t = NULL;
	int rc;

	if (from)
		*from = s->version;
	if (n_hosts)
		*n_hosts = 0;
	if (s->version == DDNS_SCHEMA_VERSION)
		return 0;
	if (s->version != 1)
		return DDNS_EVERSION;
	if ((rc = ddns_txn_begin(s, true, &t)) != 0)
		return rc;
	/* one transaction: every record converted and the new version, or
	 * (abort, crash, full map) the v1 store as it was */
	rc = store_lmdb_code(store_open_all_dbs(s, t->txn), "open databases");
	if (!rc)
		rc = migrate_hosts(t, &count);
	if (!rc)
		rc = drop_v1_faults(t);
	if (!rc)
		rc = store_meta_put_u32(t, META_SCHEMA, sizeof META_SCHEMA - 1,
					DDNS_SCHEMA_VERSION);
	if (rc) {
		ddns_txn_abort(t);
		return rc;
	}
	if ((rc = ddns_txn_commit(t)) != 0)
		return rc;
	s->version = DDNS_SCHEMA_VERSION;
	if (n_hosts)
		*n_hosts = count;
	return 0;
}

/* ---- backups --------------------------------------------------------- */

int ddns_store_backup_fd(ddns_store *s, int fd)
{
	int rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);

	if (rc)
		log_err("store: backup: %s", mdb_strerror(rc));
	return rc == 0 ? 0 : DDNS_EIO;
}

/* ---- accounts as exported -------------------------------------------- */

int ddns_user_load(ddns_txn *t, const struct ddns_user *u)
{
	uint8_t *buf = NULL;
	struct ddns_user tmp;
	uint32_t next = 1;
	uint8_t key[4];
	int n, rc;

	if (!t->write || !t->s->has_accounts || u->id == 0 ||
	    u->id == UINT32_MAX)
		return DDNS_EINVAL;
	rc = ddns_user_get(t, u->id, &tmp);
	if (rc != DDNS_ENOTFOUND)
		return rc ? rc : DDNS_EEXIST;
	rc = store_meta_get_u32(t, META_NEXT_USER, sizeof META_NEXT_USER - 1,
				&next);
	if (rc && rc != DDNS_ENOTFOUND)
		return rc;
	/* ddns_user_add writes the record and its indexes under the id it
	 * takes from next_user_id: make that U's id, then keep the larger */
	memcpy(&tmp, u, sizeof tmp);
	rc = store_meta_put_u32(t, META_NEXT_USER, sizeof META_NEXT_USER - 1,
				u->id);
	if (!rc)
		rc = ddns_user_add(t, &tmp);
	if (!rc && tmp.id != u->id)
		rc = DDNS_ECORRUPT;
	if (!rc && next > u->id + 1)
		rc = store_meta_put_u32(t, META_NEXT_USER,
					sizeof META_NEXT_USER - 1, next);
	if (rc)
		return rc;
	/* and the created time it replaced with now */
	if (!(buf = malloc(USER_VAL_CAP)))
		return DDNS_ENOMEM;
	n = ddns_user_encode(u, buf, USER_VAL_CAP);
	store_put_u32(key, u->id);
	rc =
	    n < 0 ? n : store_db_put(t, t->s->users, key, 4, buf, (size_t)n, 0);
	free(buf);
	return rc;
}

int ddns_token_load(ddns_txn *t, const struct ddns_token *tk)
{
	uint8_t buf[1 + 4 + 8 + 1 + DDNS_TOKEN_LABEL_MAX];
	struct wbuf w = {buf, 0, sizeof buf, false};
	size_t len = strnlen(tk->label, sizeof tk->label);
	struct ddns_user u;
	int rc;

	if (!t->write || !t->s->has_accounts || len > DDNS_TOKEN_LABEL_MAX ||
	    !ddns_text_valid(tk->label, len))
		return DDNS_EINVAL;
	if ((rc = ddns_user_get(t, tk->user_id, &u)) != 0)
		return rc;
	/* the token layout of schema/lmdb-v1.md section 12.4 */
	w_u8(&w, STORE_REC_VERSION);
	w_u32(&w, tk->user_id);
	w_i64(&w, tk->created);
	w_str(&w, tk->label, len);
	if (w.over)
		return DDNS_ETOOBIG;
	return store_db_put(t, t->s->tokens, tk->digest, 32, buf, w.len,
			    MDB_NOOVERWRITE);
}

/* ---- id counters ----------------------------------------------------- */

static int next_get(ddns_txn *t, const char *key, uint32_t *out)
{
	int rc = store_meta_get_u32(t, key, strlen(key), out);

	if (rc == DDNS_ENOTFOUND) {
		*out = 1;
		rc = 0;
	}
	return rc;
}

int ddns_next_ids_get(ddns_txn *t, uint32_t *zone, uint32_t *user)
{
	int rc = next_get(t, META_NEXT_ZONE, zone);

	return rc ? rc : next_get(t, META_NEXT_USER, user);
}

int ddns_next_ids_raise(ddns_txn *t, uint32_t zone, uint32_t user)
{
	uint32_t z, u;
	int rc = ddns_next_ids_get(t, &z, &u);

	if (!rc && zone > z)
		rc = store_meta_put_u32(t, META_NEXT_ZONE,
					sizeof META_NEXT_ZONE - 1, zone);
	if (!rc && user > u)
		rc = store_meta_put_u32(t, META_NEXT_USER,
					sizeof META_NEXT_USER - 1, user);
	return rc;
}
