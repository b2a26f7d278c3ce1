/*
 * store_stats.c -- the store's size, map use and a write probe, for the
 * updater's /metrics and /healthz (issue 9).  Kept apart from store.c so
 * the record code stays about records; it uses store-internal.h for the
 * environment and the meta database.
 */
#include "store.h"

#include <lmdb.h>
#include <string.h>

#include "err.h"
#include "store-internal.h"

#define PROBE_KEY "healthz-probe" /* never left in the store */

static uint64_t db_entries(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;

	return mdb_stat(txn, dbi, &st) == 0 ? (uint64_t)st.ms_entries : 0;
}

int ddns_store_stats(ddns_store *s, struct ddns_store_stats *out)
{
	MDB_envinfo info;
	MDB_stat st;
	ddns_txn *t = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = ddns_txn_begin(s, false, &t)) != 0)
		return rc;
	if (mdb_env_info(s->env, &info) != 0 ||
	    mdb_env_stat(s->env, &st) != 0) {
		ddns_txn_abort(t);
		return DDNS_ESTORE;
	}
	out->map_size = info.me_mapsize;
	out->page_size = st.ms_psize;
	out->used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	out->last_txnid = info.me_last_txnid;
	out->max_readers = info.me_maxreaders;
	out->readers = info.me_numreaders;
	out->hosts = db_entries(t->txn, s->hosts);
	out->zones = db_entries(t->txn, s->zones);
	ddns_txn_abort(t);
	return 0;
}

int ddns_store_probe_write(ddns_store *s)
{
	static const char val[] = "1";
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(s, true, &t)) != 0)
		return rc;
	rc = store_db_put(t, s->meta, PROBE_KEY, sizeof PROBE_KEY - 1, val,
			  sizeof val - 1, 0);
	if (rc == 0)
		rc = store_db_del(t, s->meta, PROBE_KEY, sizeof PROBE_KEY - 1,
				  false);
	if (rc != 0) {
		ddns_txn_abort(t);
		return rc;
	}
	return ddns_txn_commit(t);
}
