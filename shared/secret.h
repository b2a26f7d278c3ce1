/*
 * secret.h -- host secrets: generated from OpenSSL's CSPRNG, shown once,
 * stored only as a salted hash, verified in constant time.
 *
 * A secret is DDNS_SECRET_LEN characters of [A-Za-z0-9] (about 142 bits),
 * which fit in a URL's userinfo without escaping.  Because secrets are
 * random and long, a single salted SHA-256 is as strong as a slow KDF here
 * and keeps verification cheap enough for thousands of updates a second.
 */
#ifndef DDNS_SECRET_H
#define DDNS_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDNS_SECRET_LEN 24
#define DDNS_SECRET_BUF (DDNS_SECRET_LEN + 1)
#define DDNS_SALT_LEN 16
#define DDNS_HASH_LEN 32
#define DDNS_SECRET_MAX 256 /* longest secret accepted from a client */

struct ddns_cred {
	uint8_t salt[DDNS_SALT_LEN];
	uint8_t hash[DDNS_HASH_LEN];
};

/* Fill OUT with a new NUL-terminated secret.  0 or DDNS_EIO (RNG). */
int ddns_secret_generate(char out[DDNS_SECRET_BUF]);

/* A new secret in SECRET_OUT and its salted hash in CRED.  0 or error.
 * The caller wipes SECRET_OUT (OPENSSL_cleanse) once it is shown. */
int ddns_cred_new(char secret_out[DDNS_SECRET_BUF], struct ddns_cred *cred);

/* Hash SECRET (LEN bytes) with SALT into OUT.  0 or DDNS_EIO. */
int ddns_secret_hash(const char *secret, size_t len,
		     const uint8_t salt[DDNS_SALT_LEN],
		     uint8_t out[DDNS_HASH_LEN]);

/* True if SECRET matches CRED; constant time in the secret's content.
 * Secrets longer than DDNS_SECRET_MAX never match. */
bool ddns_cred_verify(const struct ddns_cred *cred, const char *secret,
		      size_t len);

#endif
