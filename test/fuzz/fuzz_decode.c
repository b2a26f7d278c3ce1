/*
 * fuzz_decode.c -- every decoder of a stored value: the host store of
 * schema 2 (store.h, accounts.h, challenge.h), the schema-1 decoders of
 * `ddnsctl migrate` (store_bulk.h), and the backend's own state records
 * (rb_state.h).  A damaged or hostile data.mdb must give DDNS_ECORRUPT,
 * never a crash or a record that breaks the rules its encoder enforces.
 *
 * Input: one selector byte (taken modulo SEL_N: zone, host, fault, user,
 * session, token, challenge, v1 host, v1 fault, state key, state meta),
 * then the value.  Where an encoder is public, a value that decodes must
 * encode back to exactly the same bytes: decoding is strict
 * (schema/lmdb-v2.md section 9), so every record has one encoding.  A v1
 * record that decodes must be one that migrate can write as v2.  A state
 * key record's value is preceded by one octet giving its key's length.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "challenge.h"
#include "err.h"
#include "rb_state.h"
#include "store.h"
#include "store_bulk.h"

#define VAL_MAX 16384 /* larger than any host store record */
#define SEL_N	11

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
	struct ddns_host h, again;

	if (shown(ddns_host_decode(val, len, &h)) != 0)
		return;
	FUZZ_CHECK(h.zone_id != 0 && h.fqdn[0] == '\0');
	FUZZ_CHECK(!h.client_faults && !h.server_faults && !h.auth_faults &&
		   !h.last_fault);
	same_bytes(ddns_host_encode(&h, buf, VAL_MAX), buf, val, len);
	FUZZ_CHECK(ddns_host_decode(buf, len, &again) == 0 &&
		   memcmp(&h, &again, sizeof h) == 0);
}

static void fault(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_fault f, again;
	size_t n;

	if (shown(ddns_fault_decode(val, len, &f)) != 0)
		return;
	FUZZ_CHECK(f.window_start >= 0 && f.window_start <= UINT32_MAX &&
		   f.last_fault >= 0 && f.last_fault <= UINT32_MAX);
	n = strlen(f.last_text);
	FUZZ_CHECK(f.last_kind <= DDNS_FAULT_AUTH && n <= DDNS_FAULT_TEXT_MAX);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(f.last_text[i] >= 0x20 && f.last_text[i] <= 0x7e);
	same_bytes(ddns_fault_encode(&f, buf, VAL_MAX), buf, val, len);
	FUZZ_CHECK(ddns_fault_decode(buf, len, &again) == 0 &&
		   memcmp(&f, &again, sizeof f) == 0);
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

static void challenge(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_challenges c, again;

	if (shown(ddns_challenge_decode(val, len, &c)) != 0)
		return;
	FUZZ_CHECK(c.n <= DDNS_CHALLENGE_MAX);
	for (unsigned i = 0; i < c.n; i++)
		FUZZ_CHECK(ddns_challenge_value_valid(c.v[i].value,
						      strlen(c.v[i].value)));
	same_bytes(ddns_challenge_encode(&c, buf, VAL_MAX), buf, val, len);
	FUZZ_CHECK(ddns_challenge_decode(buf, len, &again) == 0 &&
		   memcmp(&c, &again, sizeof c) == 0);
}

/* A v1 host: what migrate writes from it (a v2 host, and a fault record
 * with its counters) must encode and read back the same. */
static void v1_host(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_host h, v2;
	struct ddns_fault f = {0}, fv2;
	int n;

	if (shown(ddns_v1_host_decode(val, len, &h)) != 0)
		return;
	FUZZ_CHECK(h.zone_id != 0 && h.fqdn[0] == '\0' &&
		   !(h.flags & (1u << 31)));
	n = ddns_host_encode(&h, buf, VAL_MAX);
	FUZZ_CHECK(n > 0 && ddns_host_decode(buf, (size_t)n, &v2) == 0);
	FUZZ_CHECK(v2.zone_id == h.zone_id && v2.flags == h.flags &&
		   v2.created == h.created && v2.updated == h.updated &&
		   v2.owner == h.owner &&
		   memcmp(&v2.cred, &h.cred, sizeof h.cred) == 0);
	FUZZ_CHECK(!(h.flags & DDNS_HOST_V4) || v2.v4.s_addr == h.v4.s_addr);
	FUZZ_CHECK(!(h.flags & DDNS_HOST_V6) ||
		   memcmp(&v2.v6, &h.v6, sizeof h.v6) == 0);
	f.client_faults = h.client_faults;
	f.server_faults = h.server_faults;
	f.auth_faults = h.auth_faults;
	f.last_fault = h.last_fault;
	n = ddns_fault_encode(&f, buf, VAL_MAX);
	FUZZ_CHECK(n > 0 && ddns_fault_decode(buf, (size_t)n, &fv2) == 0 &&
		   memcmp(&f, &fv2, sizeof f) == 0);
}

/* A v1 fault record: migrate re-encodes it as v2. */
static void v1_fault(const uint8_t *val, size_t len, uint8_t *buf)
{
	struct ddns_fault f, v2;
	int n;

	if (shown(ddns_v1_fault_decode(val, len, &f)) != 0)
		return;
	FUZZ_CHECK(f.last_kind <= DDNS_FAULT_AUTH &&
		   strlen(f.last_text) <= DDNS_FAULT_TEXT_MAX);
	FUZZ_CHECK(!f.client_faults && !f.server_faults && !f.auth_faults &&
		   !f.last_fault);
	n = ddns_fault_encode(&f, buf, VAL_MAX);
	FUZZ_CHECK(n > 0 && ddns_fault_decode(buf, (size_t)n, &v2) == 0 &&
		   memcmp(&f, &v2, sizeof f) == 0);
}

/* VAL: one octet L, an L-octet `keys` key (taken modulo what is left),
 * the key record. */
static void state_key(const uint8_t *val, size_t len)
{
	const uint8_t *rec;
	struct rb_key k;
	size_t klen, rlen;

	if (len < 1)
		return;
	klen = val[0] % len; /* at most len - 1: the key fits after L */
	rec = val + 1 + klen;
	rlen = len - 1 - klen;
	if (shown(rb_state_key_decode(val + 1, klen, rec, rlen, &k)) != 0)
		return;
	FUZZ_CHECK(klen >= 5 && rlen > 6 && rec[0] == 1);
	FUZZ_CHECK(k.content == (const char *)rec + 6 &&
		   k.content_len == rlen - 6);
	FUZZ_CHECK(k.active == !!(rec[5] & 1) && k.published == !!(rec[5] & 2));
}

struct meta_seen {
	const uint8_t *val;
	size_t len, used; /* octets the values took, header included */
	unsigned n;
};

/* Each value lies inside the record, right after the previous one. */
static int meta_value(const char *kind, size_t klen, unsigned idx,
		      const char *v, size_t vlen, void *arg)
{
	struct meta_seen *m = arg;
	const uint8_t *p = (const uint8_t *)v;

	FUZZ_CHECK(kind == NULL && klen == 0 && idx == m->n);
	FUZZ_CHECK(p == m->val + m->used + 2 && vlen <= RB_STATE_VALUE_MAX &&
		   m->used + 2 + vlen <= m->len);
	FUZZ_CHECK(vlen == ((size_t)p[-2] << 8 | p[-1]));
	m->used += 2 + vlen;
	m->n++;
	return 0;
}

static void state_meta(const uint8_t *val, size_t len)
{
	struct meta_seen m = {val, len, 3, 0};
	int rc = rb_state_meta_decode(NULL, 0, val, len, meta_value, &m);

	shown(rc);
	FUZZ_CHECK(rc == 0 || rc == DDNS_ECORRUPT);
	if (rc != 0)
		return;
	/* the header's count is what was called back (trailing octets
	 * past the last value are tolerated by the reader) */
	FUZZ_CHECK(len >= 3 && val[0] == 1 &&
		   m.n == ((unsigned)val[1] << 8 | val[2]) && m.used <= len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf, *val;
	size_t len;
	unsigned sel;

	if (size < 1 || size - 1 > VAL_MAX)
		return 0;
	len = size - 1;
	/* a copy of exactly the value, so a read past it is seen */
	val = malloc(len ? len : 1);
	buf = malloc(VAL_MAX);
	if (!val || !buf)
		abort();
	memcpy(val, data + 1, len);
	sel = data[0] % SEL_N;
	fuzz_show("decoder %u, %zu bytes", sel, len);
	switch (sel) {
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
	case 5:
		token(val, len);
		break;
	case 6:
		challenge(val, len, buf);
		break;
	case 7:
		v1_host(val, len, buf);
		break;
	case 8:
		v1_fault(val, len, buf);
		break;
	case 9:
		state_key(val, len);
		break;
	default:
		state_meta(val, len);
		break;
	}
	free(val);
	free(buf);
	return 0;
}
