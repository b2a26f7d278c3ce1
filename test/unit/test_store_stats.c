/* store_stats.c: sizes and counts of a store, and the write probe that
 * /healthz uses.  Every store lives in a fresh mkdtemp directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "store.h"

static void remove_store(const char *dir)
{
	char p[300];

	snprintf(p, sizeof p, "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

static void add_zone(ddns_store *s, const char *name)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;

	memset(&z, 0, sizeof z);
	snprintf(z.name, sizeof z.name, "%s", name);
	z.ttl = DDNS_DEFAULT_TTL;
	z.kind = DDNS_ZONE_NATIVE;
	z.n_ns = 1;
	snprintf(z.ns[0], sizeof z.ns[0], "ns1.%s", name);
	snprintf(z.hostmaster, sizeof z.hostmaster, "hostmaster.%s", name);
	CHECK_INT(ddns_txn_begin(s, true, &t), 0);
	CHECK_INT(ddns_zone_add(t, &z), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

int main(void)
{
	char dir[] = "/tmp/ddns-test-stats.XXXXXX", err[256];
	struct ddns_store_stats a, b;
	ddns_store *s = NULL, *ro = NULL;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(ddns_store_open(&s, dir, DDNS_STORE_CREATE, 4 << 20, err,
				  sizeof err),
		  0);
	CHECK_INT(ddns_store_stats(s, &a), 0);
	CHECK_INT((long long)a.map_size, 4 << 20);
	CHECK(a.page_size >= 512);
	CHECK(a.used_bytes > 0 && a.used_bytes < a.map_size);
	CHECK(a.max_readers > 0);
	CHECK_INT((long long)a.zones, 0);
	CHECK_INT((long long)a.hosts, 0);

	add_zone(s, "dyn.example.org");
	CHECK_INT(ddns_store_stats(s, &b), 0);
	CHECK_INT((long long)b.zones, 1);
	CHECK(b.last_txnid > a.last_txnid);

	/* the probe commits, and leaves nothing behind */
	CHECK_INT(ddns_store_probe_write(s), 0);
	CHECK_INT(ddns_store_stats(s, &a), 0);
	CHECK(a.last_txnid > b.last_txnid);
	CHECK_INT((long long)a.zones, 1);
	CHECK_INT((long long)a.hosts, 0);

	/* a read-only handle cannot write */
	CHECK_INT(
	    ddns_store_open(&ro, dir, DDNS_STORE_RDONLY, 0, err, sizeof err),
	    0);
	CHECK_INT(ddns_store_probe_write(ro), DDNS_EINVAL);
	CHECK_INT(ddns_store_stats(ro, &b), 0);
	CHECK_INT((long long)b.zones, 1);
	ddns_store_close(ro);
	ddns_store_close(s);
	remove_store(dir);
	return check_done();
}
