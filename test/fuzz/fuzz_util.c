/*
 * fuzz_util.c -- fixtures shared by the fuzz targets: the seeded store and
 * small input helpers (see fuzz.h).
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "names.h"
#include "secret.h"

/* The fixture's directory and store, for the exit handler. */
static char store_dir[64];
static ddns_store *store;
/* The real stderr while the logger's goes to /dev/null. */
static FILE *report;

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(report ? report : stderr, "%s:%d: invariant failed: %s\n", file,
		line, what);
	abort();
}

/*
 * Options of UndefinedBehaviorSanitizer in a sanitized build (libFuzzer,
 * or -Db_sanitize=undefined): stop at the first report, as ASan does, so
 * that libFuzzer keeps the input; with a stack; and minus the known,
 * reported findings listed in ubsan.supp.  UBSAN_OPTIONS overrides.
 */
#ifdef FUZZ_UBSAN_SUPP
#define UBSAN_SUPP ":suppressions=" FUZZ_UBSAN_SUPP
#else
#define UBSAN_SUPP ""
#endif

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1" UBSAN_SUPP;
}

void fuzz_show(const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("FUZZ_SHOW") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	vfprintf(report ? report : stderr, fmt, ap);
	va_end(ap);
	fputc('\n', report ? report : stderr);
}

void fuzz_quiet_logs(const char *prog)
{
	FILE *null;

	ddns_log_init(prog, DDNS_LOG_DEBUG);
	if (getenv("FUZZ_LOG") || report || !(null = fopen("/dev/null", "w")))
		return;
	report = stderr;
	stderr = null; /* glibc: stderr is an ordinary variable */
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

bool fuzz_split(const uint8_t **data, size_t *size, uint8_t sep,
		const uint8_t **part, size_t *plen)
{
	const uint8_t *p;

	if (!*data)
		return false;
	*part = *data;
	p = *size ? memchr(*data, sep, *size) : NULL;
	if (!p) {
		*plen = *size;
		*data = NULL;
		*size = 0;
		return true;
	}
	*plen = (size_t)(p - *data);
	*size -= *plen + 1;
	*data = p + 1;
	return true;
}

static void remove_store(void)
{
	char path[128];

	ddns_store_close(store);
	store = NULL;
	snprintf(path, sizeof path, "%s/data.mdb", store_dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", store_dir);
	unlink(path);
	rmdir(store_dir);
}

static void zone_init(struct ddns_zone *z, const char *name, const char *ns1,
		      const char *ns2, const char *hostmaster, uint8_t kind)
{
	memset(z, 0, sizeof *z);
	snprintf(z->name, sizeof z->name, "%s", name);
	snprintf(z->ns[0], sizeof z->ns[0], "%s", ns1);
	z->n_ns = 1;
	if (ns2) {
		snprintf(z->ns[1], sizeof z->ns[1], "%s", ns2);
		z->n_ns = 2;
	}
	snprintf(z->hostmaster, sizeof z->hostmaster, "%s", hostmaster);
	z->ttl = DDNS_DEFAULT_TTL;
	z->kind = kind;
}

static int host_add(ddns_txn *t, const struct ddns_zone *z, const char *fqdn,
		    const char *v4, const char *v6, uint32_t flags)
{
	static const char secret[] = FUZZ_SECRET;
	struct ddns_host h;

	memset(&h, 0, sizeof h);
	snprintf(h.fqdn, sizeof h.fqdn, "%s", fqdn);
	h.zone_id = z->id;
	h.flags = flags;
	h.created = 1700000000;
	/* a fixed salt per host keeps the fixture the same on every run */
	for (size_t i = 0; i < DDNS_SALT_LEN; i++)
		h.cred.salt[i] = (uint8_t)(fqdn[0] + i);
	if (ddns_secret_hash(secret, sizeof secret - 1, h.cred.salt,
			     h.cred.hash) != 0)
		return -1;
	if (v4 && inet_pton(AF_INET, v4, &h.v4) == 1)
		h.flags |= DDNS_HOST_V4;
	if (v6 && inet_pton(AF_INET6, v6, &h.v6) == 1)
		h.flags |= DDNS_HOST_V6;
	return ddns_host_add(t, &h);
}

static int seed_zones(ddns_txn *t)
{
	struct ddns_zone dyn, sub, other;
	struct ddns_fault f = {.window_start = 1700000000,
			       .window_count = 3,
			       .last_kind = DDNS_FAULT_CLIENT,
			       .last_text = "nochg 192.0.2.1"};

	zone_init(&dyn, "dyn.example.org", "ns1.example.org", "ns2.example.org",
		  "hostmaster.example.org", DDNS_ZONE_NATIVE);
	zone_init(&sub, "sub.dyn.example.org", "ns1.example.org", NULL,
		  "hostmaster.example.org", DDNS_ZONE_NATIVE);
	zone_init(&other, "other.test", "ns.other.test", NULL,
		  "first\\.last.other.test", DDNS_ZONE_MASTER);
	other.ttl = 120;
	if (ddns_zone_add(t, &dyn) || ddns_zone_add(t, &sub) ||
	    ddns_zone_add(t, &other) ||
	    host_add(t, &dyn, "h.dyn.example.org", "192.0.2.1", "2001:db8::1",
		     0) ||
	    host_add(t, &dyn, "v4.dyn.example.org", "192.0.2.2", NULL,
		     DDNS_HOST_TLS4) ||
	    host_add(t, &dyn, "w.dyn.example.org", "192.0.2.3", NULL,
		     DDNS_HOST_WILDCARD) ||
	    host_add(t, &dyn, "blocked.dyn.example.org", "192.0.2.4", NULL,
		     DDNS_HOST_BLOCKED) ||
	    host_add(t, &dyn, "abuse.dyn.example.org", "192.0.2.5", NULL,
		     DDNS_HOST_ABUSE | DDNS_HOST_WILDCARD) ||
	    host_add(t, &dyn, "empty.dyn.example.org", NULL, NULL, 0) ||
	    host_add(t, &dyn, "corrupt.dyn.example.org", NULL, NULL, 0) ||
	    host_add(t, &sub, "x.sub.dyn.example.org", "198.51.100.1", NULL,
		     0) ||
	    host_add(t, &other, "o.other.test", NULL, "2001:db8::2", 0) ||
	    ddns_fault_put(t, "h.dyn.example.org", &f))
		return -1;
	return 0;
}

/* Overwrite the value of host corrupt.dyn.example.org with bytes that do
 * not decode, through LMDB itself (the store API refuses to write them). */
static int corrupt_host(const char *dir)
{
	static const char key[] = "org.example.dyn.corrupt";
	static const char junk[] = "\x01 not a host record";
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {sizeof key - 1, (void *)key};
	MDB_val v = {sizeof junk - 1, (void *)junk};
	int rc;

	if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_maxdbs(env, 16)) ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) ||
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) ||
	    (rc = mdb_dbi_open(txn, "hosts", 0, &dbi)) ||
	    (rc = mdb_put(txn, dbi, &k, &v, 0))) {
		mdb_txn_abort(txn);
	} else {
		rc = mdb_txn_commit(txn);
	}
	mdb_env_close(env);
	return rc;
}

ddns_store *fuzz_store_open(void)
{
	char err[256] = "";
	ddns_txn *t = NULL;

	if (store)
		return store;
	snprintf(store_dir, sizeof store_dir, "/tmp/ddns-fuzz-XXXXXX");
	if (!mkdtemp(store_dir))
		goto fail;
	atexit(remove_store);
	if (ddns_store_open(&store, store_dir, DDNS_STORE_CREATE, 1 << 24, err,
			    sizeof err) != 0 ||
	    ddns_txn_begin(store, true, &t) != 0)
		goto fail;
	if (seed_zones(t) != 0) {
		ddns_txn_abort(t);
		goto fail;
	}
	if (ddns_txn_commit(t) != 0)
		goto fail;
	ddns_store_close(store);
	store = NULL;
	if (corrupt_host(store_dir) != 0 ||
	    ddns_store_open(&store, store_dir, 0, 0, err, sizeof err) != 0)
		goto fail;
	return store;
fail:
	fprintf(stderr, "fuzz: cannot make the store in %s: %s\n", store_dir,
		err);
	abort();
}
