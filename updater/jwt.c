/*
 * jwt.c -- compact JWS verification for OpenID Connect ID tokens (see
 * jwt.h).
 *
 * Order of work on an untrusted token: size cap, split into exactly three
 * parts, header (strict base64url, one JSON object, an allowed alg), then
 * the signature with a key chosen from the JWKS by kid, kty and alg, and
 * only then the payload and its claims.  The algorithm is taken from a
 * fixed list, never from the key or anything the token names; the key's
 * type must fit it, so an RSA key can never verify an HMAC or ES256
 * token.
 */
#include "jwt.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "err.h"

#define KID_MAX	     256  /* bytes of a key id */
#define SIG_MAX	     1024 /* bytes of an RSA-8192 signature */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define EC_COORD     32 /* bytes of a P-256 coordinate */
#define SUB_MAX	     255

enum alg { ALG_BAD = -1, ALG_ANY = 0, ALG_RS256, ALG_PS256, ALG_ES256 };
enum kty { KTY_RSA = 1, KTY_EC };

struct jwk {
	EVP_PKEY *pkey;
	enum kty kty;
	enum alg alg; /* the key's "alg", or ALG_ANY */
	bool has_kid;
	char kid[KID_MAX + 1];
};

struct ddns_jwks {
	unsigned n;
	struct jwk keys[DDNS_JWKS_KEYS_MAX];
};

/* A token split at its two dots. */
struct parts {
	const char *h, *p, *s;
	size_t hlen, plen, slen;
};

const char *ddns_jwt_strerror(int code)
{
	static const char *const text[] = {
	    "malformed token (not three base64url parts)",
	    "token too large",
	    "token header or payload is not a JSON object",
	    "signature algorithm not accepted",
	    "token header not accepted (crit, or another token type)",
	    "no key of the provider fits the token",
	    "token signature does not verify",
	    "token issuer is not the provider",
	    "token audience does not include this client",
	    "token azp is not this client",
	    "token has expired",
	    "token is not valid yet",
	    "token nonce does not match the login",
	    "token lacks a required claim (sub, exp, iat)",
	    "provider's key set (JWKS) is unusable",
	    "cryptographic library failure",
	};
	int i = DDNS_JWT_EFORMAT - code;

	if (code <= DDNS_JWT_EFORMAT && code > DDNS_JWT_ERR_LAST_ &&
	    (size_t)i < sizeof text / sizeof text[0])
		return text[i];
	return ddns_strerror(code);
}

/* ---- base64url ---------------------------------------------------------- */

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int ddns_b64url_encode(const void *in, size_t len, char *out, size_t cap)
{
	const unsigned char *s = in;
	size_t o = 0;

	if (cap == 0)
		return DDNS_ETOOBIG;
	if (len > (SIZE_MAX - 4) / 4 * 3 || DDNS_B64URL_LEN(len) >= cap) {
		out[0] = '\0';
		return DDNS_ETOOBIG;
	}
	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (unsigned long)s[i + 1] << 8;
		if (n > 2)
			v |= s[i + 2];
		for (size_t k = 0; k <= n; k++)
			out[o++] = b64url_chars[(v >> (18 - 6 * k)) & 63];
	}
	out[o] = '\0';
	return 0;
}

static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int ddns_b64url_decode(const char *in, size_t len, unsigned char *out,
		       size_t cap, size_t *outlen)
{
	size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0), o = 0;
	unsigned long acc = 0;
	unsigned bits = 0;

	*outlen = 0;
	if (len % 4 == 1)
		return DDNS_EINVAL; /* no byte string encodes to that */
	if (need > cap)
		return DDNS_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)in[i]);

		if (v < 0)
			return DDNS_EINVAL;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* the bits left over must be zero: one encoding per byte string */
	if (bits > 0 && (acc & ((1UL << bits) - 1)) != 0)
		return DDNS_EINVAL;
	*outlen = o;
	return 0;
}

/* A new buffer with the decoded LEN characters of IN; NULL on failure
 * (*RC says why: DDNS_EINVAL or DDNS_ENOMEM). */
static unsigned char *b64url_dup(const char *in, size_t len, size_t *outlen,
				 int *rc)
{
	unsigned char *buf = malloc(len / 4 * 3 + 3);

	*rc = DDNS_ENOMEM;
	if (!buf)
		return NULL;
	if ((*rc = ddns_b64url_decode(in, len, buf, len / 4 * 3 + 3, outlen)) !=
	    0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- small JSON helpers ------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Decode base64url member KEY of O into OUT (CAP bytes).  Leading zero
 * bytes are dropped when STRIP (JWK integers are big-endian, unsigned). */
static int jbytes(const json_t *o, const char *key, unsigned char *out,
		  size_t cap, size_t *len, bool strip)
{
	const json_t *v = json_object_get(o, key);
	size_t skip = 0;

	if (!json_is_string(v))
		return DDNS_EINVAL;
	if (ddns_b64url_decode(json_string_value(v), json_string_length(v), out,
			       cap, len) != 0)
		return DDNS_EINVAL;
	while (strip && skip < *len && out[skip] == 0)
		skip++;
	memmove(out, out + skip, *len - skip);
	*len -= skip;
	return *len > 0 ? 0 : DDNS_EINVAL;
}

static enum alg alg_parse(const char *s)
{
	if (!s)
		return ALG_ANY;
	if (strcmp(s, "RS256") == 0)
		return ALG_RS256;
	if (strcmp(s, "PS256") == 0)
		return ALG_PS256;
	if (strcmp(s, "ES256") == 0)
		return ALG_ES256;
	return ALG_BAD;
}

static enum kty alg_kty(enum alg a)
{
	return a == ALG_ES256 ? KTY_EC : KTY_RSA;
}

/* ---- JWKS --------------------------------------------------------------- */

/* An EVP_PKEY of TYPE ("RSA", "EC") from the parameters in BLD. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_key(const json_t *k)
{
	unsigned char n[RSA_MAX_BITS / 8], e[8];
	size_t nlen, elen;
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY *pkey = NULL;

	if (jbytes(k, "n", n, sizeof n, &nlen, true) != 0 ||
	    nlen < RSA_MIN_BITS / 8 ||
	    jbytes(k, "e", e, sizeof e, &elen, true) != 0 ||
	    (e[elen - 1] & 1) == 0 || (elen == 1 && e[0] < 3))
		return NULL;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    !(bn = BN_bin2bn(n, (int)nlen, NULL)) ||
	    !(be = BN_bin2bn(e, (int)elen, NULL)) ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto done;
	pkey = pkey_from("RSA", bld);
done:
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* True if PKEY's public point is a valid point of its curve. */
static bool ec_point_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static EVP_PKEY *ec_key(const json_t *k)
{
	unsigned char pub[1 + 2 * EC_COORD];
	const char *crv = jstr(k, "crv");
	size_t xlen, ylen;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	pub[0] = 0x04; /* uncompressed point: x || y */
	if (!crv || strcmp(crv, "P-256") != 0 ||
	    jbytes(k, "x", pub + 1, EC_COORD, &xlen, false) != 0 ||
	    jbytes(k, "y", pub + 1 + EC_COORD, EC_COORD, &ylen, false) != 0 ||
	    xlen != EC_COORD || ylen != EC_COORD)
		return NULL;
	if (!(bld = OSSL_PARAM_BLD_new()) ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					     sizeof pub) != 1)
		goto done;
	pkey = pkey_from("EC", bld);
	if (pkey && !ec_point_ok(pkey)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
done:
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* True if K is meant for verifying signatures ("use", "key_ops"). */
static bool for_signing(const json_t *k)
{
	const char *use = jstr(k, "use");
	const json_t *ops = json_object_get(k, "key_ops"), *op;
	size_t i;

	if (json_object_get(k, "use") && (!use || strcmp(use, "sig") != 0))
		return false;
	if (!ops)
		return true;
	json_array_foreach(ops, i, op)
	{
		const char *s = json_string_value(op);

		if (s && strcmp(s, "verify") == 0)
			return true;
	}
	return false;
}

/* Fill OUT from the JWK K; false when we cannot use K (skipped). */
static bool jwk_load(const json_t *k, struct jwk *out)
{
	const char *kty = jstr(k, "kty"), *kid = jstr(k, "kid");
	const json_t *kidv = json_object_get(k, "kid");
	enum alg a = alg_parse(jstr(k, "alg"));

	memset(out, 0, sizeof *out);
	if (!json_is_object(k) || !kty || !for_signing(k) || a == ALG_BAD ||
	    (json_object_get(k, "alg") && a == ALG_ANY))
		return false;
	if (kidv && (!kid || json_string_length(kidv) > KID_MAX))
		return false;
	if (strcmp(kty, "RSA") == 0 &&
	    (a == ALG_ANY || alg_kty(a) == KTY_RSA)) {
		out->kty = KTY_RSA;
		out->pkey = rsa_key(k);
	} else if (strcmp(kty, "EC") == 0 && (a == ALG_ANY || a == ALG_ES256)) {
		out->kty = KTY_EC;
		out->pkey = ec_key(k);
	}
	ERR_clear_error();
	if (!out->pkey)
		return false;
	out->alg = a;
	if ((out->has_kid = kid != NULL))
		memcpy(out->kid, kid, json_string_length(kidv) + 1);
	return true;
}

int ddns_jwks_parse(const char *json, size_t len, ddns_jwks **out)
{
	struct ddns_jwks *k = NULL;
	json_t *doc = NULL, *keys, *v;
	int rc = DDNS_JWT_EJWKS;
	size_t i;

	*out = NULL;
	if (len > DDNS_JWKS_MAX)
		return DDNS_ETOOBIG;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	keys = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(keys))
		goto fail;
	if (!(k = calloc(1, sizeof *k))) {
		rc = DDNS_ENOMEM;
		goto fail;
	}
	json_array_foreach(keys, i, v)
	{
		if (k->n < DDNS_JWKS_KEYS_MAX && jwk_load(v, &k->keys[k->n]))
			k->n++;
	}
	if (k->n == 0)
		goto fail;
	json_decref(doc);
	*out = k;
	return 0;
fail:
	json_decref(doc);
	ddns_jwks_free(k);
	return rc;
}

unsigned ddns_jwks_count(const ddns_jwks *k)
{
	return k ? k->n : 0;
}

void ddns_jwks_free(ddns_jwks *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->n; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k);
}

/* ---- the token ---------------------------------------------------------- */

static int split(const char *tok, size_t len, struct parts *p)
{
	const char *d1, *d2;

	if (len > DDNS_JWT_MAX)
		return DDNS_JWT_ETOOBIG;
	if (!(d1 = memchr(tok, '.', len)) ||
	    !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
		return DDNS_JWT_EFORMAT;
	p->h = tok;
	p->hlen = (size_t)(d1 - tok);
	p->p = d1 + 1;
	p->plen = (size_t)(d2 - p->p);
	p->s = d2 + 1;
	p->slen = len - (size_t)(p->s - tok);
	return p->hlen > 0 && p->plen > 0 ? 0 : DDNS_JWT_EFORMAT;
}

/* Decode a base64url part into one JSON object. */
static int part_json(const char *s, size_t len, json_t **out)
{
	size_t n;
	int rc;
	unsigned char *raw = b64url_dup(s, len, &n, &rc);

	*out = NULL;
	if (!raw)
		return rc == DDNS_ENOMEM ? rc : DDNS_JWT_EFORMAT;
	*out = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return DDNS_JWT_EJSON;
	}
	return 0;
}

/* The header's alg (never none, never HMAC) and kid (NULL: none). */
static int check_header(const json_t *h, enum alg *alg, const char **kid)
{
	const char *typ = jstr(h, "typ");
	const json_t *kidv = json_object_get(h, "kid");

	*alg = alg_parse(jstr(h, "alg"));
	if (*alg == ALG_ANY || *alg == ALG_BAD)
		return DDNS_JWT_EALG;
	/* we implement no extension; an encrypted token is not for us */
	if (json_object_get(h, "crit") || json_object_get(h, "enc"))
		return DDNS_JWT_EHEADER;
	/* an access token in JWT form is no ID token (RFC 9068) */
	if (typ && (strcasecmp(typ, "at+jwt") == 0 ||
		    strcasecmp(typ, "application/at+jwt") == 0))
		return DDNS_JWT_EHEADER;
	if (kidv &&
	    (!json_is_string(kidv) || json_string_length(kidv) > KID_MAX))
		return DDNS_JWT_EHEADER;
	*kid = json_string_value(kidv);
	return 0;
}

/* The raw r || s of an ES256 signature as DER, for OpenSSL. */
static int es256_der(const unsigned char *sig, size_t len, unsigned char **der,
		     size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int n = -1;

	*der = NULL;
	if (len != 2 * EC_COORD)
		return DDNS_JWT_ESIG;
	if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, EC_COORD, NULL)) ||
	    !(s = BN_bin2bn(sig + EC_COORD, EC_COORD, NULL)))
		goto done;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL; /* owned by es now */
	n = i2d_ECDSA_SIG(es, der);
done:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return DDNS_JWT_ECRYPTO;
	*derlen = (size_t)n;
	return 0;
}

/* Set the RSA padding ALG names on a verification context. */
static bool rsa_padding(EVP_PKEY_CTX *pctx, enum alg alg)
{
	if (alg == ALG_RS256)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) >
		       0;
	if (alg == ALG_PS256)
		return EVP_PKEY_CTX_set_rsa_padding(
			   pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) >
			   0 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(
			   pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
	return true;
}

/* Does SIG over IN verify with KEY under ALG?  0, ESIG or ECRYPTO. */
static int verify_one(const struct jwk *key, enum alg alg,
		      const unsigned char *in, size_t inlen,
		      const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	int rc = DDNS_JWT_ECRYPTO;

	if (alg == ALG_ES256) {
		if ((rc = es256_der(sig, siglen, &der, &siglen)) != 0)
			goto done;
		sig = der;
	}
	rc = DDNS_JWT_ECRYPTO;
	if (!md ||
	    EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, key->pkey,
				    NULL) != 1 ||
	    !rsa_padding(pctx, alg))
		goto done;
	/* 0: wrong signature; < 0: malformed (wrong length...): the same */
	rc = EVP_DigestVerify(md, sig, siglen, in, inlen) == 1 ? 0
							       : DDNS_JWT_ESIG;
done:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return rc;
}

static bool key_fits(const struct jwk *k, enum alg alg, const char *kid)
{
	if (k->kty != alg_kty(alg) || (k->alg != ALG_ANY && k->alg != alg))
		return false;
	return !kid || (k->has_kid && strcmp(k->kid, kid) == 0);
}

/* Verify the signature of P with the keys of JWKS that fit ALG and KID. */
static int check_signature(const struct parts *p, const ddns_jwks *jwks,
			   enum alg alg, const char *kid)
{
	unsigned char sig[SIG_MAX];
	size_t siglen;
	bool tried = false;
	int rc;

	if (ddns_b64url_decode(p->s, p->slen, sig, sizeof sig, &siglen) != 0)
		return DDNS_JWT_EFORMAT;
	if (siglen == 0)
		return DDNS_JWT_ESIG;
	for (unsigned i = 0; jwks && i < jwks->n; i++) {
		if (!key_fits(&jwks->keys[i], alg, kid))
			continue;
		tried = true;
		rc =
		    verify_one(&jwks->keys[i], alg, (const unsigned char *)p->h,
			       p->hlen + 1 + p->plen, sig, siglen);
		if (rc != DDNS_JWT_ESIG)
			return rc; /* 0, or OpenSSL broken */
	}
	return tried ? DDNS_JWT_ESIG : DDNS_JWT_ENOKEY;
}

/* ---- claims ------------------------------------------------------------- */

/* Numeric date KEY of C into *OUT: 0, 1 when absent, -1 when mistyped. */
static int jtime(const json_t *c, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(c, key);
	double d;

	if (!v)
		return 1;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (!isfinite(d) || d < -1e15 || d > 1e15)
		return -1;
	*out = (int64_t)d; /* fractions of a second do not matter */
	return 0;
}

static int check_aud(const json_t *c, const char *client_id)
{
	const json_t *aud = json_object_get(c, "aud"), *v;
	const char *azp = jstr(c, "azp");
	bool found = false;
	size_t i, n = 1;

	if (json_is_string(aud)) {
		found = strcmp(json_string_value(aud), client_id) == 0;
	} else if (json_is_array(aud)) {
		n = json_array_size(aud);
		json_array_foreach(aud, i, v)
		{
			if (!json_is_string(v))
				return DDNS_JWT_EAUD;
			if (strcmp(json_string_value(v), client_id) == 0)
				found = true;
		}
	}
	if (!found)
		return DDNS_JWT_EAUD;
	if (json_object_get(c, "azp") && (!azp || strcmp(azp, client_id) != 0))
		return DDNS_JWT_EAZP;
	return n > 1 && !azp ? DDNS_JWT_EAZP : 0;
}

static int check_times(const json_t *c, const struct ddns_jwt_expect *e)
{
	int64_t exp, iat, nbf, lw = e->leeway;
	int r;

	if (jtime(c, "exp", &exp) != 0 || jtime(c, "iat", &iat) != 0)
		return DDNS_JWT_ECLAIM;
	if (e->now - lw >= exp)
		return DDNS_JWT_EEXPIRED;
	if (iat > e->now + lw)
		return DDNS_JWT_ENOTYET;
	if ((r = jtime(c, "nbf", &nbf)) < 0)
		return DDNS_JWT_ECLAIM;
	if (r == 0 && nbf > e->now + lw)
		return DDNS_JWT_ENOTYET;
	return 0;
}

static int check_nonce(const json_t *c, const char *want)
{
	const json_t *v = json_object_get(c, "nonce");
	size_t n = strlen(want);

	if (!json_is_string(v) || json_string_length(v) != n ||
	    CRYPTO_memcmp(json_string_value(v), want, n) != 0)
		return DDNS_JWT_ENONCE;
	return 0;
}

static int check_claims(const json_t *c, const struct ddns_jwt_expect *e)
{
	const char *iss = jstr(c, "iss");
	const json_t *sub = json_object_get(c, "sub");
	int rc;

	if (!iss || strcmp(iss, e->issuer) != 0)
		return DDNS_JWT_EISS;
	if ((rc = check_aud(c, e->audience)) != 0 ||
	    (rc = check_times(c, e)) != 0)
		return rc;
	if (e->nonce && (rc = check_nonce(c, e->nonce)) != 0)
		return rc;
	if (!json_is_string(sub) || json_string_length(sub) == 0 ||
	    json_string_length(sub) > SUB_MAX)
		return DDNS_JWT_ECLAIM;
	return 0;
}

int ddns_jwt_verify(const char *tok, size_t len, const ddns_jwks *jwks,
		    const struct ddns_jwt_expect *e, json_t **claims)
{
	json_t *hdr = NULL, *pay = NULL;
	const char *kid = NULL;
	struct parts p;
	enum alg alg;
	int rc;

	if (claims)
		*claims = NULL;
	if ((rc = split(tok, len, &p)) != 0 ||
	    (rc = part_json(p.h, p.hlen, &hdr)) != 0 ||
	    (rc = check_header(hdr, &alg, &kid)) != 0 ||
	    (rc = check_signature(&p, jwks, alg, kid)) != 0 ||
	    (rc = part_json(p.p, p.plen, &pay)) != 0 ||
	    (rc = check_claims(pay, e)) != 0)
		goto fail;
	json_decref(hdr);
	if (claims)
		*claims = pay;
	else
		json_decref(pay);
	return 0;
fail:
	json_decref(hdr);
	json_decref(pay);
	return rc;
}

int ddns_jwt_peek(const char *tok, size_t len, json_t **payload)
{
	struct parts p;
	int rc;

	*payload = NULL;
	if ((rc = split(tok, len, &p)) != 0)
		return rc;
	return part_json(p.p, p.plen, payload);
}
