/*
 * fuzz_rb_proto.c -- remote-backend request lines, as pdns (or anyone who
 * reaches the backend's socket) sends them, answered from one read
 * snapshot of the seeded store (fuzz.h).
 *
 * Input: up to LINES_MAX lines, each one request with its LF.  Each
 * line is answered three ways, which must give the same return code and
 * the same bytes (rb_proto.h promises it): rb_handle_cached with a cache
 * that lives for the whole input (so later lines hit what earlier ones
 * put in it), rb_handle, and rb_handle_json (jansson only, no flat fast
 * path).  Every reply is one line of JSON ending in "\n" with a "result"
 * member; a refused request gets exactly RB_REPLY_FALSE.
 *
 * A fourth way, rb_handle_state with a backend state (rb_state.h, in a
 * temporary directory under /dev/shm), reaches the primary role, DNSSEC
 * key and metadata methods (rb_dnssec.c) and the NSEC chain; its replies
 * obey the same rules, and equal the others' for every other method.
 * The state holds one key and one metadata kind of dyn.example.org and a
 * notified serial of other.test; an input that wrote to it (data.mdb
 * changed) gets the state made anew, so every input starts from the same.
 */
#include "fuzz.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "rb_proto.h"
#include "rb_state.h"

#define LINES_MAX 16

static ddns_txn *txn; /* one snapshot for the whole run */
static rb_state *state;
static char state_dir[64];
static struct timespec state_mtime; /* of data.mdb after seeding */

static void state_files(char *data, char *lock, size_t cap)
{
	snprintf(data, cap, "%s/data.mdb", state_dir);
	snprintf(lock, cap, "%s/lock.mdb", state_dir);
}

static void state_remove(void)
{
	char data[128], lock[128];

	rb_state_close(state);
	state = NULL;
	state_files(data, lock, sizeof data);
	unlink(data);
	unlink(lock);
}

static void state_at_exit(void)
{
	state_remove();
	rmdir(state_dir);
}

/* The modification time of data.mdb into *T. */
static void state_stamp(struct timespec *t)
{
	char data[128], lock[128];
	struct stat st;

	state_files(data, lock, sizeof data);
	if (stat(data, &st) != 0)
		abort();
	*t = st.st_mtim;
}

/* A fresh state with the baseline records. */
static void state_make(void)
{
	static const char pk[] =
	    "Private-key-format: v1.2\n"
	    "Algorithm: 13 (ECDSAP256SHA256)\n"
	    "PrivateKey: Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm8=\n";
	const char *vals[] = {"INCEPTION-INCREMENT"};
	size_t lens[] = {19};
	struct rb_key k = {0, 257, true, true, pk, sizeof pk - 1};
	char err[256];
	uint32_t id;

	if (rb_state_open(&state, state_dir, err, sizeof err) != 0 ||
	    rb_state_key_add(state, "dyn.example.org", &k, &id) != 0 ||
	    rb_state_meta_set(state, "dyn.example.org", "SOA-EDIT", vals, lens,
			      1) != 0 ||
	    rb_state_notified_set(state, 3, 2023010100) != 0) {
		fprintf(stderr, "fuzz: cannot make the state in %s\n",
			state_dir);
		abort();
	}
	state_stamp(&state_mtime);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs("fuzz_rb_proto");
	if (ddns_txn_begin(fuzz_store_open(), false, &txn) != 0)
		abort();
	snprintf(state_dir, sizeof state_dir, "%s/ddns-fuzz-state-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(state_dir))
		abort();
	atexit(state_at_exit);
	state_make();
	return 0;
}

/* After an input: a fresh state if it was written to. */
static void state_reset(void)
{
	struct timespec now;

	state_stamp(&now);
	if (now.tv_sec == state_mtime.tv_sec &&
	    now.tv_nsec == state_mtime.tv_nsec)
		return;
	state_remove();
	state_make();
}

/* True for a method the backend state answers (rb_dnssec.c), where the
 * state path may differ from the stateless ones. */
static bool state_method(const char *req, size_t len)
{
	static const char *const names[] = {"getUpdatedMasters",
					    "setNotified",
					    "getDomainKeys",
					    "addDomainKey",
					    "removeDomainKey",
					    "activateDomainKey",
					    "deactivateDomainKey",
					    "publishDomainKey",
					    "unpublishDomainKey",
					    "getDomainMetadata",
					    "getAllDomainMetadata",
					    "setDomainMetadata",
					    "getBeforeAndAfterNamesAbsolute"};
	json_t *j = json_loadb(req, len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "method"));
	bool found = false;

	for (size_t i = 0; m && i < sizeof names / sizeof names[0]; i++)
		found = found || strcmp(m, names[i]) == 0;
	json_decref(j);
	return found;
}

/* OUT is a well-formed reply line. */
static void check_reply(int rc, const struct ddns_buf *out)
{
	json_error_t e;
	json_t *j;

	FUZZ_CHECK(!out->failed && out->len > 0);
	FUZZ_CHECK(out->data[out->len - 1] == '\n');
	FUZZ_CHECK(memchr(out->data, '\n', out->len - 1) == NULL);
	if (rc != 0) {
		FUZZ_CHECK(out->len == sizeof RB_REPLY_FALSE - 1 &&
			   memcmp(out->data, RB_REPLY_FALSE, out->len) == 0);
		return;
	}
	j = json_loadb(out->data, out->len - 1, JSON_REJECT_DUPLICATES, &e);
	FUZZ_CHECK(j != NULL);
	FUZZ_CHECK(json_is_object(j) && json_object_get(j, "result"));
	json_decref(j);
}

static void same(int rc1, const struct ddns_buf *a, int rc2,
		 const struct ddns_buf *b)
{
	FUZZ_CHECK(rc1 == rc2);
	FUZZ_CHECK(a->len == b->len && memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddns_buf cached = {0}, plain = {0}, slow = {0}, st = {0};
	struct rb_cache cache, scache;
	unsigned n = 0;

	memset(&cache, 0, sizeof cache);
	memset(&scache, 0, sizeof scache);
	while (n++ < LINES_MAX && size > 0) {
		const char *req = (const char *)data;
		const uint8_t *nl = memchr(data, '\n', size);
		/* the line end goes with the request, as rb_server.c sends it
		 */
		size_t len = nl ? (size_t)(nl - data) + 1 : size;
		int rc1 = rb_handle_cached(&cache, txn, req, len, &cached);
		int rc2 = rb_handle(txn, req, len, &plain);
		int rc3 = rb_handle_json(txn, req, len, &slow);
		int rc4 = rb_handle_state(&scache, state, txn, req, len, &st);

		FUZZ_CHECK(rc1 <= 0 && rc1 != DDNS_ENOMEM);
		check_reply(rc1, &cached);
		fuzz_show("%d %.*s", rc1, (int)cached.len - 1, cached.data);
		same(rc1, &cached, rc2, &plain);
		same(rc1, &cached, rc3, &slow);
		FUZZ_CHECK(rc4 <= 0 && rc4 != DDNS_ENOMEM);
		check_reply(rc4, &st);
		fuzz_show("state: %d %.*s", rc4, (int)st.len - 1, st.data);
		if (len <= RB_LINE_MAX && !state_method(req, len))
			same(rc1, &cached, rc4, &st);
		data += len;
		size -= len;
	}
	ddns_buf_free(&cached);
	ddns_buf_free(&plain);
	ddns_buf_free(&slow);
	ddns_buf_free(&st);
	state_reset();
	return 0;
}
