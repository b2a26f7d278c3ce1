/*
 * fuzz_jwt.c -- OpenID Connect ID tokens and key sets (updater/jwt.c)
 * against a fixed JWKS of two keys: "ec1" (P-256, ES256) and "rsa1"
 * (RSA-2048, for RS256 and PS256), whose private halves are below.
 * They are test keys made for this file and protect nothing.
 *
 * Input: a mode byte (modulo 4), then
 *   0  a compact token: ddns_jwt_peek, and ddns_jwt_verify against the
 *      fixed JWKS and expectations (issuer https://id.example.org,
 *      audience ddns-portal, nonce n0nce, now 1700000000);
 *   1  a key byte (modulo 3: ES256 with ec1, RS256 or PS256 with rsa1;
 *      bit 2 set: no nonce expected), then HEADER LF PAYLOAD: the harness
 *      signs them as given, so the fuzzer reaches the header and claim
 *      checks past a valid signature; a token that verifies has its
 *      claims mapped as oidc.c maps them;
 *   2  a JWKS document: ddns_jwks_parse, then a good ES256 token is
 *      verified against the keys it yields;
 *   3  base64url text: what decodes must encode back to the same text.
 */
#include "fuzz.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "jwt.h"
#include "oidc.h"

#define ISSUER	 "https://id.example.org"
#define AUDIENCE "ddns-portal"
#define NONCE	 "n0nce"
#define NOW	 1700000000

static const char ec_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjRsnLUakXEwiyvfr\n"
    "sK0H8IarPMZwfV/nEr3FsmgPeJuhRANCAARzZUTC64KQj1d0xIDXSrp7nimvGFoq\n"
    "M3JKHyklRst5VhUiH4fjnIektDZsJVUW+NPf9V9QFxGcRAqrSzDf3x2y\n"
    "-----END PRIVATE KEY-----\n";

static const char rsa_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC9PbAqAzguQqGB\n"
    "EsfuSalp6mtooVtmhjcNTYAiisoRWz4l/5UTd8KKqxctMjUDlWaOBkvy3qL0auVX\n"
    "sBS7NJW8L53OBPviZaox9juBNoksr3BRBTR1IQoG+wf8RfSiTdbs9vtAScpWfUsY\n"
    "yXa6RvwEPMHCe/Z4RafyvUlLDTu680sc5Le+1TVWiDN159BqWHURPgR8PgoDwOU5\n"
    "0SbUOSNVxOgGEptqT4M+MQZTKQZhwSIqqNs+5XhK830jpicJeKfRlRu6TDpF+x34\n"
    "aWSmWsy3GH5y/KhzZeTZ47W7vmPv5KH5vV6iquOydvXJhpBlevUq2KY9deN//vRQ\n"
    "nqmGZeSxAgMBAAECggEAOPJa1FGyss0PP8Gwk2bsSbimyM4hrJj/8Qtc30gnpZBx\n"
    "A8tFB5421zbEGzAsHt9zBJMlgLj5jZarXDdbDbi1xHMJyEjcqZTRYgaIgoowPleu\n"
    "81qfHg4qr84T6Zj9lGfbIOTz17U848kBc7yQc17QENBduFJIaYoAj73hU+nwCwIM\n"
    "/fRtZc3vG7A6n1+qLJQFoEcqT43D3YdXKhp/s0pDtlIKjfBm8we/CouEkAG6A7Ar\n"
    "oZeELeo3lFJNCrMBAsuSLYe298/Y9FKlBKNxRhilQV+HXgeFl11NgYpojXgtfe5U\n"
    "t3WvZfKbc70eE50e5DLISCbRvDqkurUwM9ptw7vxNwKBgQD7GAC1eFJA4pu5Arw0\n"
    "XjLp6JzE7lgrGUzDsqxLdAjxlPWXNDQwD7LidqS5Ti9RVoXRTFYR2R3GQdS1ae+q\n"
    "smerE7P8FR5BWoyc7+Ep/SFU3/usiqxdkk7ZyS1NVZrArOXXD1h0asShZiZBlPHc\n"
    "eB9xWx0ZfYZeFOuyq+E8bjaofwKBgQDA8EqPDHoNHVtwtoYVtoKS8yON740aWCu6\n"
    "cSO0RiE9kIZM8f8r1wlNUOCQZU7wRrNdQVNhW5JxJPIvwny7SVGUck6LgILm6BnO\n"
    "gVuH8q1ZacP2qxC8tYCDeGdn3KM2jzbPJml5Ft6t9L1a8lti4K+eEofAZkkdaXDS\n"
    "qFIoe4lazwKBgDiK8S3sSGmAHh0NdqA8Ti7KSPM30PbznYu8InxjRthP+PXxtYbV\n"
    "Ii1JFlL8Pj+MwlmdXQxr3f6VOHcZwfSodBvcNf2gK83/vAZjJks0S1s3jQ8Pszzn\n"
    "A4abfO4bRtv4k1FYjUy59kl6HUdLaSOCkWIPaIAi+i0ZfPIhLnlTQE+1AoGBAI/M\n"
    "R/WX2fueTsGR+BuEvIrjljM6QFNLNcQugOriffHRnpcIoiM9kNxEFCrqpsvkFdjC\n"
    "UG+2fU3AuJSqAqbfvWLDUxEcBfQtNta3iM2pLFQAxSI6Wy4apJ7YBVHemvKWCMaZ\n"
    "nXC3f93tE5gOG9h1F87bhrv6QDIgnQsUkq9Da5r3AoGBALETXmfS7zZLjwQ+ZXKj\n"
    "JFkv9yQQFqglUIv0ceeK3djfb6GelfBrwGUXnZTWX5tUQGabnIxnyjhN2T5xUdEb\n"
    "nN4zs6d1yu8WvtiOaJ4s79lnQ03PHwna8gZpOCx8DldCsdyER2w6ThQ4SUEKAhLs\n"
    "wvXOHNz7ym07oS/ZUm5SPvYh\n"
    "-----END PRIVATE KEY-----\n";

/* The fixture: both keys, the JWKS built from them, a good token. */
static EVP_PKEY *ec_key, *rsa_key;
static ddns_jwks *jwks;
static char *good_token;

static EVP_PKEY *load_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (!k)
		abort();
	return k;
}

/* base64url of LEN bytes appended to B. */
static void b64_add(struct ddns_buf *b, const void *p, size_t len)
{
	size_t cap = DDNS_B64URL_LEN(len) + 1;
	char *s = malloc(cap);

	if (!s || ddns_b64url_encode(p, len, s, cap) != 0)
		abort();
	ddns_buf_adds(b, s);
	free(s);
}

/* BIGNUM parameter NAME of K, PAD bytes wide (0: as is), as base64url. */
static json_t *bn_json(EVP_PKEY *k, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char raw[512];
	struct ddns_buf b = {0};
	json_t *s;
	int n;

	if (!EVP_PKEY_get_bn_param(k, name, &bn) || BN_num_bytes(bn) > 512)
		abort();
	n = pad ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw);
	b64_add(&b, raw, (size_t)n);
	s = json_string(b.data);
	ddns_buf_free(&b);
	BN_free(bn);
	return s;
}

static char *make_jwks(void)
{
	json_t *ec =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
		      "kid", "ec1", "alg", "ES256", "use", "sig");
	json_t *rsa = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "kid", "rsa1",
				"use", "sig");
	json_t *doc;
	char *s;

	json_object_set_new(ec, "x",
			    bn_json(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, 32));
	json_object_set_new(ec, "y",
			    bn_json(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
	json_object_set_new(rsa, "n",
			    bn_json(rsa_key, OSSL_PKEY_PARAM_RSA_N, 0));
	json_object_set_new(rsa, "e",
			    bn_json(rsa_key, OSSL_PKEY_PARAM_RSA_E, 0));
	doc = json_pack("{s:[o,o]}", "keys", ec, rsa);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!s)
		abort();
	return s;
}

/* ES256's DER signature SIG (*LEN bytes) turned into JWS's r || s. */
static void der_to_rs(unsigned char *sig, size_t *len)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);
	unsigned char rs[64];

	if (!es || BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32) != 32)
		abort();
	ECDSA_SIG_free(es);
	memcpy(sig, rs, 64);
	*len = 64;
}

/* "b64(HEADER).b64(PAYLOAD).b64(sig)" signed as ALG (0 ES256, 1 RS256,
 * 2 PS256), appended to OUT. */
static void sign(const void *header, size_t hlen, const void *payload,
		 size_t plen, int alg, struct ddns_buf *out)
{
	unsigned char sig[512];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	b64_add(out, header, hlen);
	ddns_buf_addc(out, '.');
	b64_add(out, payload, plen);
	if (!md || out->failed ||
	    EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL,
				  alg == 0 ? ec_key : rsa_key, NULL) != 1 ||
	    (alg == 2 &&
	     (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
		  1)) ||
	    EVP_DigestSign(md, sig, &siglen, (unsigned char *)out->data,
			   out->len) != 1)
		abort();
	EVP_MD_CTX_free(md);
	if (alg == 0)
		der_to_rs(sig, &siglen);
	ddns_buf_addc(out, '.');
	b64_add(out, sig, siglen);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char h[] = "{\"alg\":\"ES256\",\"kid\":\"ec1\"}";
	static const char p[] = "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
				"\",\"sub\":\"alice\",\"iat\":1700000000,"
				"\"exp\":1700003600,\"nonce\":\"" NONCE "\"}";
	struct ddns_buf tok = {0};
	char *doc;

	fuzz_quiet_logs("fuzz_jwt");
	ec_key = load_key(ec_pem);
	rsa_key = load_key(rsa_pem);
	doc = make_jwks();
	if (ddns_jwks_parse(doc, strlen(doc), &jwks) != 0 ||
	    ddns_jwks_count(jwks) != 2)
		abort();
	free(doc);
	sign(h, sizeof h - 1, p, sizeof p - 1, 0, &tok);
	good_token = tok.data;
	return 0;
}

static const struct ddns_jwt_expect expect = {ISSUER, AUDIENCE, NONCE, NOW,
					      DDNS_JWT_LEEWAY};

/* A verified token's CLAIMS: what verify promised, then oidc.c's
 * mapping of them into an identity. */
static void check_claims(json_t *claims)
{
	struct ddns_oidc_identity *id = calloc(1, sizeof *id);
	const char *sub = json_string_value(json_object_get(claims, "sub"));

	FUZZ_CHECK(id && json_is_object(claims));
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(claims, "iss")),
			  ISSUER) == 0);
	FUZZ_CHECK(sub && sub[0] != '\0');
	ddns_oidc_map_profile(claims, id);
	FUZZ_CHECK(ddns_oidc_map_groups(claims, "groups", "admins", id) ==
		   id->n_groups);
	FUZZ_CHECK(id->n_groups <= DDNS_GROUPS_MAX);
	for (unsigned i = 0; i < id->n_groups; i++)
		FUZZ_CHECK(id->groups[i][0] != '\0');
	free(id);
}

static void verify(const char *tok, size_t len, const ddns_jwks *keys,
		   const struct ddns_jwt_expect *e)
{
	json_t *claims = NULL;
	int rc = ddns_jwt_verify(tok, len, keys, e, &claims);

	FUZZ_CHECK(ddns_jwt_strerror(rc) != NULL);
	fuzz_show("verify: %s", rc == 0 ? "ok" : ddns_jwt_strerror(rc));
	if (rc == 0) {
		check_claims(claims);
		json_decref(claims);
	} else {
		FUZZ_CHECK(claims == NULL);
		FUZZ_CHECK(rc != DDNS_JWT_ECRYPTO && rc != DDNS_ENOMEM);
	}
}

static void mode_token(const uint8_t *data, size_t size)
{
	json_t *payload = NULL;

	if (ddns_jwt_peek((const char *)data, size, &payload) == 0)
		FUZZ_CHECK(json_is_object(payload));
	else
		FUZZ_CHECK(payload == NULL);
	json_decref(payload);
	verify((const char *)data, size, jwks, &expect);
}

static void mode_signed(const uint8_t *data, size_t size)
{
	struct ddns_jwt_expect e = expect;
	struct ddns_buf tok = {0};
	const uint8_t *h, *p;
	size_t hlen, plen;
	int alg;

	if (size < 1 || size > DDNS_JWT_MAX / 2)
		return;
	alg = data[0] % 3;
	if (data[0] & 4)
		e.nonce = NULL;
	data++;
	size--;
	fuzz_split(&data, &size, '\n', &h, &hlen);
	p = data ? data : (const uint8_t *)"";
	plen = data ? size : 0;
	sign(h, hlen, p, plen, alg, &tok);
	verify(tok.data, tok.len, jwks, &e);
	ddns_buf_free(&tok);
}

static void mode_jwks(const uint8_t *data, size_t size)
{
	ddns_jwks *k = NULL;
	int rc = ddns_jwks_parse((const char *)data, size, &k);

	fuzz_show("jwks: %s, %u keys", ddns_jwt_strerror(rc),
		  rc == 0 ? ddns_jwks_count(k) : 0);
	if (rc != 0) {
		FUZZ_CHECK(k == NULL);
		FUZZ_CHECK(rc == DDNS_JWT_EJWKS || rc == DDNS_ETOOBIG);
		return;
	}
	FUZZ_CHECK(ddns_jwks_count(k) >= 1 &&
		   ddns_jwks_count(k) <= DDNS_JWKS_KEYS_MAX);
	verify(good_token, strlen(good_token), k, &expect);
	ddns_jwks_free(k);
}

static void mode_b64(const uint8_t *data, size_t size)
{
	unsigned char *raw = malloc(size + 1);
	char *again = malloc(size + 2);
	size_t n = 0;

	if (!raw || !again)
		abort();
	if (ddns_b64url_decode((const char *)data, size, raw, size + 1, &n) ==
	    0) {
		FUZZ_CHECK(DDNS_B64URL_LEN(n) == size);
		FUZZ_CHECK(ddns_b64url_encode(raw, n, again, size + 2) == 0);
		FUZZ_CHECK(memcmp(again, data, size) == 0 &&
			   again[size] == '\0');
	}
	free(raw);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > DDNS_JWKS_MAX + 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		mode_token(data + 1, size - 1);
		break;
	case 1:
		mode_signed(data + 1, size - 1);
		break;
	case 2:
		mode_jwks(data + 1, size - 1);
		break;
	default:
		mode_b64(data + 1, size - 1);
		break;
	}
	return 0;
}
