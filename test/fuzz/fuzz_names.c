/*
 * fuzz_names.c -- hostname handling (shared/names.c): every function of
 * names.h on untrusted bytes, and the promises that tie them together.
 *
 * Input: NAME [LF OTHER].  NAME goes through ddns_name_normalize, _wild,
 * _is_normal, _why_invalid, _from_key and ddns_mailbox_to_rname (as a C
 * string); OTHER, when given, is the zone that the zone-relation
 * functions compare the normalised NAME with.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "names.h"
#include "store.h"

/* N is a normalised name: the normaliser keeps it as it is, and the
 * relations hold between it and each of its parents. */
static void check_normal(const char *n)
{
	char again[DDNS_NAME_BUF], key[DDNS_NAME_BUF], back[DDNS_NAME_BUF];
	size_t len = strlen(n), klen;

	FUZZ_CHECK(len >= 1 && len <= DDNS_NAME_MAX);
	FUZZ_CHECK(ddns_name_is_normal(n, len));
	FUZZ_CHECK(ddns_name_normalize(n, len, again) == 0 &&
		   strcmp(again, n) == 0);
	klen = ddns_name_key(n, key);
	FUZZ_CHECK(klen == len);
	FUZZ_CHECK(ddns_name_from_key(key, klen, back) == (int)len &&
		   strcmp(back, n) == 0);
	FUZZ_CHECK(ddns_name_in_zone(n, n) && !ddns_name_below(n, n));
	for (const char *p = ddns_name_parent(n); p; p = ddns_name_parent(p)) {
		FUZZ_CHECK(ddns_name_is_normal(p, strlen(p)));
		FUZZ_CHECK(ddns_name_below(n, p) && ddns_name_in_zone(n, p));
		FUZZ_CHECK(!ddns_name_in_zone(p, n));
	}
}

static void check_wild(const char *w)
{
	size_t len = strlen(w);

	if (len >= 2 && w[0] == '*' && w[1] == '.')
		FUZZ_CHECK(ddns_name_is_normal(w + 2, len - 2));
	else
		FUZZ_CHECK(ddns_name_is_normal(w, len));
}

/* An RNAME that ddns_mailbox_to_rname made: a zone with it as its
 * hostmaster must be storable (ddnsctl zone add does exactly this). */
static void check_rname(const char *rname)
{
	struct ddns_zone z;
	unsigned char buf[4096];

	memset(&z, 0, sizeof z);
	z.id = 1;
	z.n_ns = 1;
	memcpy(z.ns[0], "ns.example.org", sizeof "ns.example.org");
	FUZZ_CHECK(strlen(rname) <= DDNS_NAME_MAX);
	memcpy(z.hostmaster, rname, strlen(rname) + 1);
	/* a single label (no '@' and no dot) is no mailbox; see README */
	if (strchr(rname, '.'))
		FUZZ_CHECK(ddns_zone_encode(&z, buf, sizeof buf) > 0);
}

/* KEY (RK octets) came from ddns_name_from_key of IN (LEN octets): a
 * normalised name whose key is IN itself. */
static void check_key(const uint8_t *in, size_t len, const char *key, int rk)
{
	char back[DDNS_NAME_BUF];

	FUZZ_CHECK(rk >= 0 && (size_t)rk == len && strlen(key) == len);
	FUZZ_CHECK(ddns_name_is_normal(key, len));
	FUZZ_CHECK(ddns_name_key(key, back) == len &&
		   memcmp(back, in, len) == 0);
}

static void relations(const char *n, const uint8_t *other, size_t olen)
{
	char z[DDNS_NAME_BUF];
	bool below, in;

	if (ddns_name_normalize((const char *)other, olen, z) != 0)
		return;
	below = ddns_name_below(n, z);
	in = ddns_name_in_zone(n, z);
	FUZZ_CHECK(in == (strcmp(n, z) == 0 || below));
	if (below) {
		FUZZ_CHECK(strlen(n) > strlen(z));
		FUZZ_CHECK(!ddns_name_in_zone(z, n));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[DDNS_NAME_BUF], wild[DDNS_NAME_BUF], key[DDNS_NAME_BUF];
	char why[128], *cstr;
	const uint8_t *name, *other = NULL;
	size_t len, olen = 0;
	const char *w;
	int rc, rw, rk;

	fuzz_split(&data, &size, '\n', &name, &len);
	if (data)
		fuzz_split(&data, &size, '\n', &other, &olen);
	rc = ddns_name_normalize((const char *)name, len, out);
	rw = ddns_name_normalize_wild((const char *)name, len, wild);
	w = ddns_name_why_invalid((const char *)name, len, why, sizeof why);
	FUZZ_CHECK(rc == 0 || rc == DDNS_EBADNAME || rc == DDNS_ETOOBIG);
	FUZZ_CHECK((w == NULL) == (rc == 0));
	FUZZ_CHECK(w ? w == why && why[0] != '\0' : why[0] == '\0');
	if (rc == 0) {
		check_normal(out);
		FUZZ_CHECK(rw == 0 && strcmp(out, wild) == 0);
		if (other)
			relations(out, other, olen);
	}
	if (rw == 0)
		check_wild(wild);
	if (ddns_name_is_normal((const char *)name, len))
		FUZZ_CHECK(rc == 0 && strlen(out) == len &&
			   memcmp(out, name, len) == 0);
	rk = ddns_name_from_key((const char *)name, len, key);
	if (rk != DDNS_ECORRUPT)
		check_key(name, len, key, rk);
	cstr = fuzz_strndup(name, len);
	if (ddns_mailbox_to_rname(cstr, out) == 0)
		check_rname(out);
	free(cstr);
	return 0;
}
