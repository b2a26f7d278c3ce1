/*
 * fuzz_decode.c -- every decoder of a stored value (store.h, accounts.h).
 * A damaged or hostile data.mdb must give DDNS_ECORRUPT, never a crash or
 * a record that breaks the rules its encoder enforces.
 *
 * Input: one selector byte (taken modulo 6: zone, host, fault, user,
 * session, token), then the value.  Where an encoder is public, a value
 * that decodes must encode back to exactly the same bytes: decoding is
 * strict (schema/lmdb-v1.md section 9), so every record has one encoding.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "err.h"
#include "store.h"

#define VAL_MAX 16384 /* larger than any record */

/* RC of a decoder, for FUZZ_SHOW. */
static int shown(int rc)
{
	fuzz_show("%s", rc == 0 ? "decoded" : ddns_strerror(rc));
	return rc;
}

/* Encoding what was decoded gives back VAL[0..LEN). */
static void same_bytes(int n, const uint8_t *buf, const uint8_t *val,
		       size_t len)
{
	FUZZ_CHECK(n > 0 && (size_t)n == len && memcmp(buf, val, len) == 0);
}

static void zone(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_zone z, again;

	if (shown(ddns_zone_decode(val, len, &z)) != 0)
		return;
	FUZZ_CHECK(z.id != 0 && z.n_ns <= DDNS_ZONE_NS_MAX &&
		   z.n_groups <= DDNS_ZONE_GROUPS_MAX &&
		   z.visibility <= DDNS_ZONE_ADMIN && z.name[0] == '\0');
	for (unsigned i = 0; i < z.n_ns; i++)
		FUZZ_CHECK(ddns_name_is_normal(z.ns[i], strlen(z.ns[i])));
	for (unsigned i = 0; i < z.n_groups; i++)
		FUZZ_CHECK(ddns_group_valid(z.groups[i], strlen(z.groups[i])));
	same_bytes(ddns_zone_encode(&z, buf, VAL_MAX), buf, val, len);
	FUZZ_CHECK(ddns_zone_decode(buf, len, &again) == 0 &&
		   memcmp(&z, &again, sizeof z) == 0);
}

static void host(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_host h;

	if (shown(ddns_host_decode(val, len, &h)) != 0)
		return;
	FUZZ_CHECK(h.zone_id != 0 && h.fqdn[0] == '\0');
	same_bytes(ddns_host_encode(&h, buf, VAL_MAX), buf, val, len);
}

static void fault(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_fault f;
	size_t n;

	if (shown(ddns_fault_decode(val, len, &f)) != 0)
		return;
	n = strlen(f.last_text);
	FUZZ_CHECK(f.last_kind <= DDNS_FAULT_AUTH && n <= DDNS_FAULT_TEXT_MAX);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(f.last_text[i] >= 0x20 && f.last_text[i] <= 0x7e);
	same_bytes(ddns_fault_encode(&f, buf, VAL_MAX), buf, val, len);
}

static void user(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_user *u = calloc(1, sizeof *u);

	if (!u)
		abort();
	if (shown(ddns_user_decode(val, len, u)) == 0) {
		FUZZ_CHECK(u->id == 0 && ddns_user_name_valid(u->name));
		FUZZ_CHECK(u->n_groups <= DDNS_GROUPS_MAX);
		FUZZ_CHECK(
		    ddns_text_valid(u->display_name, strlen(u->display_name)));
		same_bytes(ddns_user_encode(u, buf, VAL_MAX), buf, val, len);
	}
	free(u);
}

static void session(const uint8_t *val, size_t len)
{
	struct ddns_session s;

	if (shown(ddns_session_decode(val, len, &s)) == 0)
		FUZZ_CHECK(s.user_id != 0);
}

static void token(const uint8_t *val, size_t len)
{
	struct ddns_token tk;

	if (shown(ddns_token_decode(val, len, &tk)) != 0)
		return;
	FUZZ_CHECK(tk.user_id != 0);
	FUZZ_CHECK(strlen(tk.label) <= DDNS_TOKEN_LABEL_MAX &&
		   ddns_text_valid(tk.label, strlen(tk.label)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf, *val;
	size_t len;

	if (size < 1 || size - 1 > VAL_MAX)
		return 0;
	len = size - 1;
	/* a copy of exactly the value, so a read past it is seen */
	val = malloc(len ? len : 1);
	buf = malloc(VAL_MAX);
	if (!val || !buf)
		abort();
	memcpy(val, data + 1, len);
	fuzz_show("decoder %d, %zu bytes", data[0] % 6, len);
	switch (data[0] % 6) {
	case 0:
		zone(val, len, buf);
		break;
	case 1:
		host(val, len, buf);
		break;
	case 2:
		fault(val, len, buf);
		break;
	case 3:
		user(val, len, buf);
		break;
	case 4:
		session(val, len);
		break;
	default:
		token(val, len);
		break;
	}
	free(val);
	free(buf);
	return 0;
}
