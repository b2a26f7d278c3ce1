/*
 * jose_util.h -- test helpers: make keys with OpenSSL, publish them as a
 * JWKS, and sign compact JWS tokens the way a provider would, so that
 * jwt.c is checked against tokens it did not make itself.
 */
#ifndef DDNS_JOSE_UTIL_H
#define DDNS_JOSE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "jwt.h"

static inline EVP_PKEY *tk_rsa(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static inline EVP_PKEY *tk_ec(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* base64url of LEN bytes, appended to B. */
static inline void tk_b64(struct ddns_buf *b, const void *p, size_t len)
{
	char *s = malloc(DDNS_B64URL_LEN(len) + 1);

	ddns_b64url_encode(p, len, s, DDNS_B64URL_LEN(len) + 1);
	ddns_buf_adds(b, s);
	free(s);
}

/* Big-endian bytes of BIGNUM parameter NAME, PAD bytes wide (0: as is),
 * as a base64url JSON string. */
static inline json_t *tk_bn(EVP_PKEY *k, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1024];
	struct ddns_buf b = {0};
	json_t *s;
	int n;

	EVP_PKEY_get_bn_param(k, name, &bn);
	n = pad ? BN_bn2binpad(bn, raw, pad) : BN_bn2bin(bn, raw);
	tk_b64(&b, raw, (size_t)n);
	s = json_string(b.data);
	ddns_buf_free(&b);
	BN_free(bn);
	return s;
}

/* The public JWK of K (RSA or P-256) with KID and ALG (NULL: none). */
static inline json_t *tk_jwk(EVP_PKEY *k, const char *kid, const char *alg)
{
	json_t *j = json_object();

	if (EVP_PKEY_is_a(k, "RSA")) {
		json_object_set_new(j, "kty", json_string("RSA"));
		json_object_set_new(j, "n", tk_bn(k, OSSL_PKEY_PARAM_RSA_N, 0));
		json_object_set_new(j, "e", tk_bn(k, OSSL_PKEY_PARAM_RSA_E, 0));
	} else {
		json_object_set_new(j, "kty", json_string("EC"));
		json_object_set_new(j, "crv", json_string("P-256"));
		json_object_set_new(j, "x",
				    tk_bn(k, OSSL_PKEY_PARAM_EC_PUB_X, 32));
		json_object_set_new(j, "y",
				    tk_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32));
	}
	if (kid)
		json_object_set_new(j, "kid", json_string(kid));
	if (alg)
		json_object_set_new(j, "alg", json_string(alg));
	json_object_set_new(j, "use", json_string("sig"));
	return j;
}

/* {"keys": [JWK...]} as a string the caller frees. */
static inline char *tk_jwks(json_t *k1, json_t *k2, json_t *k3)
{
	json_t *doc = json_object(), *keys = json_array();
	char *s;

	if (k1)
		json_array_append_new(keys, k1);
	if (k2)
		json_array_append_new(keys, k2);
	if (k3)
		json_array_append_new(keys, k3);
	json_object_set_new(doc, "keys", keys);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* The PEM of K's public key (the "secret" of the HS256 confusion). */
static inline char *tk_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL, *s;
	long n;

	PEM_write_bio_PUBKEY(b, k);
	n = BIO_get_mem_data(b, &p);
	s = strndup(p, (size_t)n);
	BIO_free(b);
	return s;
}

/*
 * Sign "b64(HEADER).b64(PAYLOAD)" with KEY as HOW says: "RS256", "PS256",
 * "ES256", "HS256" (KEY's PEM as the HMAC secret), "none" (no signature).
 * HEADER and PAYLOAD are raw strings (not necessarily JSON).  Returns a
 * malloc'd token.
 */
static inline char *tk_sign_raw(const char *header, const char *payload,
				EVP_PKEY *key, const char *how)
{
	struct ddns_buf b = {0};
	unsigned char sig[1024];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t inlen;

	tk_b64(&b, header, strlen(header));
	ddns_buf_addc(&b, '.');
	tk_b64(&b, payload, strlen(payload));
	inlen = b.len;
	if (strcmp(how, "HS256") == 0) {
		char *pem = tk_pem(key);

		EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pem, strlen(pem),
			  (unsigned char *)b.data, inlen, sig, sizeof sig,
			  &siglen);
		free(pem);
	} else if (strcmp(how, "none") == 0) {
		siglen = 0;
	} else {
		EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key,
				      NULL);
		if (strcmp(how, "PS256") == 0) {
			EVP_PKEY_CTX_set_rsa_padding(pctx,
						     RSA_PKCS1_PSS_PADDING);
			EVP_PKEY_CTX_set_rsa_pss_saltlen(
			    pctx, RSA_PSS_SALTLEN_DIGEST);
		}
		EVP_DigestSign(md, sig, &siglen, (unsigned char *)b.data,
			       inlen);
	}
	if (strcmp(how, "ES256") == 0) { /* DER -> r || s */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		unsigned char rs[64];

		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
		memcpy(sig, rs, 64);
		siglen = 64;
		ECDSA_SIG_free(es);
	}
	ddns_buf_addc(&b, '.');
	tk_b64(&b, sig, siglen);
	EVP_MD_CTX_free(md);
	return b.data;
}

/* Sign with header {"alg": ALG, "kid": KID (NULL: none)}, PAYLOAD a JSON
 * object (dumped), signing as HOW. */
static inline char *tk_sign(const char *alg, const char *kid, json_t *payload,
			    EVP_PKEY *key, const char *how)
{
	json_t *h = json_object();
	char *hs, *ps, *tok;

	json_object_set_new(h, "alg", json_string(alg));
	if (kid)
		json_object_set_new(h, "kid", json_string(kid));
	hs = json_dumps(h, JSON_COMPACT);
	ps = json_dumps(payload, JSON_COMPACT);
	tok = tk_sign_raw(hs, ps, key, how);
	free(hs);
	free(ps);
	json_decref(h);
	return tok;
}

#endif
