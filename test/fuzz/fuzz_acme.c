/*
 * fuzz_acme.c -- ACME DNS-01 input (issue 7): lego's httpreq JSON body
 * (updater/acme.c), challenge names, and the challenge record helpers
 * (shared/challenge.h) that every way in ends with.  txt= and clear of
 * /nic/update go through fuzz_dyndns2.
 *
 * Input: a mode byte (mod 3), then
 *   0: an httpreq body for ddns_acme_parse_body; a body naming a host of
 *      the seeded store (fuzz.h) also gets its value added in a write
 *      transaction that is aborted, and read back;
 *   1: a name for ddns_acme_host_of;
 *   2: operations on one record: a max octet, then per octet OP an add
 *      (of one of 12 values, expiring at the next octet), a remove or an
 *      expiry sweep; the record must keep its rules and round-trip.
 */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "challenge.h"
#include "err.h"
#include "names.h"

#define NOW 1700000100

static ddns_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs("fuzz_acme");
	store = fuzz_store_open();
	return 0;
}

/* C keeps the record rules: valid distinct values, n in range, and it
 * encodes to bytes that decode to the same values. */
static void check_record(const struct ddns_challenges *c)
{
	struct ddns_challenges again;
	uint8_t buf[2048];
	int n;

	FUZZ_CHECK(c->n <= DDNS_CHALLENGE_MAX);
	for (unsigned i = 0; i < c->n; i++) {
		FUZZ_CHECK(ddns_challenge_value_valid(c->v[i].value,
						      strlen(c->v[i].value)));
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c->v[i].value, c->v[j].value) != 0);
	}
	n = ddns_challenge_encode(c, buf, sizeof buf);
	FUZZ_CHECK(n > 0 && ddns_challenge_decode(buf, (size_t)n, &again) == 0);
	FUZZ_CHECK(again.n == c->n && again.host_created == c->host_created);
	for (unsigned i = 0; i < c->n; i++)
		FUZZ_CHECK(again.v[i].expires == c->v[i].expires &&
			   strcmp(again.v[i].value, c->v[i].value) == 0);
}

/* VALUE added to HOST's record as txt_apply does, in a write
 * transaction that is aborted: it reads back with VALUE in it. */
static void add_and_forget(const char *host, const char *value)
{
	struct ddns_challenges c, back;
	struct ddns_host h;
	ddns_txn *t = NULL;
	int rc;

	FUZZ_CHECK(ddns_txn_begin(store, true, &t) == 0);
	if (ddns_host_get(t, host, &h) != 0)
		goto done;
	rc = ddns_challenge_get(t, host, &c);
	FUZZ_CHECK(rc == 0 || rc == DDNS_ENOTFOUND);
	if (rc != 0)
		memset(&c, 0, sizeof c);
	c.host_created = h.created;
	ddns_challenge_add(&c, value, NOW + 3600, 4);
	FUZZ_CHECK(ddns_challenge_put(t, host, &c) == 0);
	FUZZ_CHECK(ddns_challenge_live(t, &h, NOW, &back) == 0);
	check_record(&back);
	FUZZ_CHECK(ddns_challenge_remove(&back, value));
done:
	ddns_txn_abort(t);
}

static void body(const uint8_t *data, size_t size)
{
	char host[DDNS_NAME_BUF], again[DDNS_NAME_BUF],
	    name[DDNS_NAME_BUF + 32];
	char value[DDNS_CHALLENGE_VALUE_MAX + 1],
	    why[160] = ""; /* acme.c WHY */
	int st, n;
	json_t *j;

	st = ddns_acme_parse_body((const char *)data, size, host, value, why,
				  sizeof why);
	fuzz_show("%d %s", st, st ? why : value);
	if (st != 0) {
		FUZZ_CHECK(st == 400 || st == 413);
		/* the reply is {"error": why}: WHY must be a JSON string */
		FUZZ_CHECK(why[0] != '\0' && (j = json_string(why)) != NULL);
		json_decref(j);
		return;
	}
	FUZZ_CHECK(ddns_name_is_normal(host, strlen(host)) &&
		   ddns_name_parent(host) != NULL);
	FUZZ_CHECK(ddns_challenge_value_valid(value, strlen(value)));
	n = snprintf(name, sizeof name, "_acme-challenge.%s.", host);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof name);
	FUZZ_CHECK(ddns_acme_host_of(name, (size_t)n, again) == 0 &&
		   strcmp(again, host) == 0);
	add_and_forget(host, value);
}

static void name(const uint8_t *data, size_t size)
{
	char host[DDNS_NAME_BUF];
	int rc = ddns_acme_host_of((const char *)data, size, host);

	fuzz_show("%s", rc ? ddns_strerror(rc) : host);
	if (rc != 0)
		return;
	FUZZ_CHECK(size > DDNS_CHALLENGE_NAME_LEN);
	FUZZ_CHECK(ddns_name_is_normal(host, strlen(host)) &&
		   ddns_name_parent(host) != NULL);
}

static void record_ops(const uint8_t *data, size_t size)
{
	static const char *const vals[12] = {
	    "a",      "b",
	    "c",      "d",
	    "e",      "f",
	    "g",      "h",
	    "Z-_+/=", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
	    "x",      "y"};
	struct ddns_challenges c;
	unsigned max;

	if (size < 1)
		return;
	memset(&c, 0, sizeof c);
	c.host_created = 1700000000;
	max = data[0] % 10;
	for (size_t i = 1; i < size; i++) {
		uint8_t op = data[i], arg = i + 1 < size ? data[i + 1] : 0;

		switch (op & 3) {
		case 0:
			ddns_challenge_add(&c, vals[(op >> 2) % 12], arg, max);
			FUZZ_CHECK(c.n >= 1 &&
				   c.n <= (max == 0 || max > 8 ? 8 : max));
			i++;
			break;
		case 1:
			ddns_challenge_remove(&c, vals[(op >> 2) % 12]);
			break;
		default:
			ddns_challenge_expire(&c, arg);
			for (unsigned k = 0; k < c.n; k++)
				FUZZ_CHECK(c.v[k].expires > arg);
			i++;
			break;
		}
		check_record(&c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1 || size > 4096)
		return 0;
	/* an exact copy, so a read past the input is seen */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		body(copy, size - 1);
		break;
	case 1:
		name(copy, size - 1);
		break;
	default:
		record_ops(copy, size - 1);
		break;
	}
	free(copy);
	return 0;
}
