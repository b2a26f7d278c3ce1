/*
 * password.c -- scrypt password hashes through OpenSSL 3's EVP_KDF.
 *
 * Encoding (password.h): $scrypt$ln=L,r=R,p=P$SALT$HASH with SALT (16
 * octets) and HASH (32 octets) in standard base64 without padding, as in
 * the PHC string format.  New hashes use ln=15 (N = 32768), r=8, p=1:
 * 32 MiB and some tens of milliseconds per hash.
 */
#include "password.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"

#define PW_LN	 15
#define PW_R	 8
#define PW_P	 1
#define SALT_LEN 16
#define HASH_LEN 32
#define SALT_B64 22 /* characters of base64 without padding */
#define HASH_B64 43
#define PREFIX	 "$scrypt$"

/* Parameters a stored hash may ask for (verify refuses others). */
#define LN_MIN 10
#define LN_MAX 20
#define R_MIN  1
#define R_MAX  16
#define P_MIN  1
#define P_MAX  4
/* ... and never more memory than this, whatever they say: a damaged
 * store must not make a login allocate gigabytes. */
#define MEM_MAX ((uint64_t)256 << 20)

struct pw_params {
	unsigned ln, r, p;
};

static const char b64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 of IN (N octets) without padding into OUT; returns its length. */
static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xffff;
		for (bits += 8; bits >= 6; bits -= 6)
			out[o++] = b64_chars[(acc >> (bits - 6)) & 0x3f];
	}
	if (bits)
		out[o++] = b64_chars[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	return o;
}

/* Decode exactly CHARS characters at IN into N octets at OUT; false for
 * another character, or unused trailing bits that are not zero (each
 * value has one encoding). */
static bool b64_decode(const char *in, size_t chars, uint8_t *out, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < chars; i++) {
		const char *c = in[i] ? strchr(b64_chars, in[i]) : NULL;

		if (!c)
			return false;
		acc = (acc << 6 | (uint32_t)(c - b64_chars)) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == n)
				return false;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == n && (acc & ((1u << bits) - 1)) == 0;
}

/* Memory scrypt needs for P, as OpenSSL counts it: 128 r (N + 2 + p). */
static uint64_t pw_mem(const struct pw_params *pp)
{
	return (uint64_t)128 * pp->r * (((uint64_t)1 << pp->ln) + 2 + pp->p);
}

/* scrypt of PW (LEN octets) with SALT and PP into OUT.  0 or DDNS_EIO. */
static int pw_derive(const char *pw, size_t len, const uint8_t *salt,
		     const struct pw_params *pp, uint8_t out[HASH_LEN])
{
	uint64_t n = (uint64_t)1 << pp->ln, maxmem = pw_mem(pp);
	uint32_t r = pp->r, p = pp->p;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
					      (void *)pw, len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
					      SALT_LEN),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
	    OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
	    OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
	    OSSL_PARAM_construct_end()};
	int rc = DDNS_EIO;

	if (ctx && EVP_KDF_derive(ctx, out, HASH_LEN, params) == 1)
		rc = 0;
	else
		log_err("password: scrypt failed (OpenSSL without SCRYPT, or "
			"out of memory)");
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* Characters of PW (LEN octets) counted as UTF-8: octets that do not
 * continue a sequence. */
static size_t pw_chars(const char *pw, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)pw[i] & 0xc0) != 0x80;
	return n;
}

int ddns_password_hash(const char *pw, size_t len,
		       char out[DDNS_PWHASH_MAX + 1])
{
	static const struct pw_params pp = {PW_LN, PW_R, PW_P};
	uint8_t salt[SALT_LEN], hash[HASH_LEN];
	char s64[SALT_B64 + 1], h64[HASH_B64 + 1];
	int n, rc;

	out[0] = '\0';
	if (!pw || len > DDNS_PASSWORD_MAX ||
	    pw_chars(pw, len) < DDNS_PASSWORD_MIN)
		return DDNS_EINVAL;
	if (RAND_bytes(salt, sizeof salt) != 1)
		return DDNS_EIO;
	rc = pw_derive(pw, len, salt, &pp, hash);
	if (rc)
		goto done;
	b64_encode(salt, sizeof salt, s64);
	b64_encode(hash, sizeof hash, h64);
	n = snprintf(out, DDNS_PWHASH_MAX + 1, PREFIX "ln=%u,r=%u,p=%u$%s$%s",
		     pp.ln, pp.r, pp.p, s64, h64);
	if (n < 0 || n > DDNS_PWHASH_MAX) {
		out[0] = '\0';
		rc = DDNS_EIO;
	}
done:
	OPENSSL_cleanse(hash, sizeof hash);
	return rc;
}

/* "NAME=" and a decimal LO..HI without leading zeros at *P, then END. */
static bool parse_param(const char **p, const char *name, unsigned lo,
			unsigned hi, char end, unsigned *out)
{
	size_t nl = strlen(name);
	const char *s = *p;
	unsigned v = 0;
	int digits = 0;

	if (strncmp(s, name, nl) != 0 || s[nl] != '=')
		return false;
	for (s += nl + 1; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
		v = v * 10 + (unsigned)(*s - '0');
	if (digits == 0 || (digits > 1 && s[-digits] == '0') || *s != end ||
	    v < lo || v > hi)
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* Split ENCODED into its parameters, salt and hash; false if it is not
 * exactly the encoding of password.h within the bounds above. */
static bool pw_parse(const char *enc, struct pw_params *pp,
		     uint8_t salt[SALT_LEN], uint8_t hash[HASH_LEN])
{
	const char *p = enc;
	size_t len = strnlen(enc, DDNS_PWHASH_MAX + 1);

	if (len > DDNS_PWHASH_MAX || strncmp(p, PREFIX, strlen(PREFIX)) != 0)
		return false;
	p += strlen(PREFIX);
	if (!parse_param(&p, "ln", LN_MIN, LN_MAX, ',', &pp->ln) ||
	    !parse_param(&p, "r", R_MIN, R_MAX, ',', &pp->r) ||
	    !parse_param(&p, "p", P_MIN, P_MAX, '$', &pp->p))
		return false;
	if ((size_t)(enc + len - p) != SALT_B64 + 1 + HASH_B64 ||
	    p[SALT_B64] != '$')
		return false;
	return b64_decode(p, SALT_B64, salt, SALT_LEN) &&
	       b64_decode(p + SALT_B64 + 1, HASH_B64, hash, HASH_LEN) &&
	       pw_mem(pp) <= MEM_MAX;
}

bool ddns_password_verify(const char *encoded, const char *pw, size_t len)
{
	uint8_t salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	struct pw_params pp;
	bool ok = false;

	if (!encoded || !pw || len > DDNS_PASSWORD_MAX)
		return false;
	if (!pw_parse(encoded, &pp, salt, want))
		return false;
	if (pw_derive(pw, len, salt, &pp, got) == 0)
		ok = CRYPTO_memcmp(want, got, HASH_LEN) == 0;
	OPENSSL_cleanse(got, sizeof got);
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}
