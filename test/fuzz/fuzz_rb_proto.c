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
 */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rb_proto.h"

#define LINES_MAX 16

static ddns_txn *txn; /* one snapshot for the whole run */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs("fuzz_rb_proto");
	if (ddns_txn_begin(fuzz_store_open(), false, &txn) != 0)
		abort();
	return 0;
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
	struct ddns_buf cached = {0}, plain = {0}, slow = {0};
	struct rb_cache cache;
	unsigned n = 0;

	memset(&cache, 0, sizeof cache);
	while (n++ < LINES_MAX && size > 0) {
		const char *req = (const char *)data;
		const uint8_t *nl = memchr(data, '\n', size);
		/* the line end goes with the request, as rb_server.c sends it
		 */
		size_t len = nl ? (size_t)(nl - data) + 1 : size;
		int rc1 = rb_handle_cached(&cache, txn, req, len, &cached);
		int rc2 = rb_handle(txn, req, len, &plain);
		int rc3 = rb_handle_json(txn, req, len, &slow);

		FUZZ_CHECK(rc1 <= 0 && rc1 != DDNS_ENOMEM);
		check_reply(rc1, &cached);
		fuzz_show("%d %.*s", rc1, (int)cached.len - 1, cached.data);
		same(rc1, &cached, rc2, &plain);
		same(rc1, &cached, rc3, &slow);
		data += len;
		size -= len;
	}
	ddns_buf_free(&cached);
	ddns_buf_free(&plain);
	ddns_buf_free(&slow);
	return 0;
}
