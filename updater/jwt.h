/*
 * jwt.h -- verifying OpenID Connect ID tokens: compact JWS (RFC 7515)
 * signed with RS256, PS256 or ES256 by a key of the provider's JWKS
 * (RFC 7517/7518), and the claims OpenID Connect Core 3.1.3.7 requires.
 *
 * What is refused, each with its own code: "none", every HMAC algorithm
 * (HS256 with the provider's public key as the secret is the classic
 * confusion), any other algorithm, a key whose type or "alg" does not fit
 * the header's alg, non-canonical base64url, anything but three parts,
 * tokens over DDNS_JWT_MAX bytes, header or payload that is not one JSON
 * object (duplicate members included), a "crit" header, and the claim
 * failures below.  Keys named in the header ("jku", "jwk", "x5u") are
 * never used: only the JWKS given by the caller.
 *
 * The codes are negative and lie below the project's enum ddns_err, so a
 * caller can pass either kind through one int.
 */
#ifndef DDNS_JWT_H
#define DDNS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DDNS_JWT_MAX	   16384  /* bytes of a compact token */
#define DDNS_JWKS_MAX	   262144 /* bytes of a JWKS document */
#define DDNS_JWKS_KEYS_MAX 32	  /* usable keys kept from one JWKS */
#define DDNS_JWT_LEEWAY	   60	  /* default clock skew, seconds */

enum ddns_jwt_err {
	DDNS_JWT_EFORMAT = -100,  /* not header.payload.signature, or bad
				     base64url */
	DDNS_JWT_ETOOBIG = -101,  /* over DDNS_JWT_MAX */
	DDNS_JWT_EJSON = -102,	  /* header or payload not a JSON object */
	DDNS_JWT_EALG = -103,	  /* alg missing, "none", HS*, unknown */
	DDNS_JWT_EHEADER = -104,  /* crit, or a typ of another token kind */
	DDNS_JWT_ENOKEY = -105,	  /* no JWKS key fits kid, kty and alg */
	DDNS_JWT_ESIG = -106,	  /* the signature does not verify */
	DDNS_JWT_EISS = -107,	  /* iss missing or not the issuer */
	DDNS_JWT_EAUD = -108,	  /* aud missing or without our client_id */
	DDNS_JWT_EAZP = -109,	  /* azp missing (several audiences) or
				     not our client_id */
	DDNS_JWT_EEXPIRED = -110, /* exp has passed */
	DDNS_JWT_ENOTYET = -111,  /* nbf or iat in the future */
	DDNS_JWT_ENONCE = -112,	  /* nonce missing or not ours */
	DDNS_JWT_ECLAIM = -113,	  /* sub, exp or iat missing or mistyped */
	DDNS_JWT_EJWKS = -114,	  /* JWKS unusable: not JSON, no keys */
	DDNS_JWT_ECRYPTO = -115,  /* OpenSSL failed (not the token's fault) */
	DDNS_JWT_ERR_LAST_ = -116
};

/* Static English text for a jwt code, or ddns_strerror() for others. */
const char *ddns_jwt_strerror(int code);

/* ---- base64url (RFC 4648 section 5, no padding) ----------------------- */

/* Characters needed for N bytes, without the NUL. */
#define DDNS_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/*
 * Encode LEN bytes of IN into OUT (CAP bytes, NUL-terminated).  0, or
 * DDNS_ETOOBIG when OUT is too small (OUT then holds "").
 */
int ddns_b64url_encode(const void *in, size_t len, char *out, size_t cap);

/*
 * Decode LEN characters of IN into OUT (CAP bytes); the length goes to
 * *OUTLEN.  Strict: only the base64url alphabet, no padding, no
 * whitespace, and the unused bits of the last character must be zero, so
 * every byte string has exactly one accepted encoding.  0, DDNS_EINVAL or
 * DDNS_ETOOBIG.
 */
int ddns_b64url_decode(const char *in, size_t len, unsigned char *out,
		       size_t cap, size_t *outlen);

/* ---- JWKS --------------------------------------------------------------- */

typedef struct ddns_jwks ddns_jwks;

/*
 * Parse a JWKS document (LEN bytes of JSON, at most DDNS_JWKS_MAX) into
 * *OUT, freed with ddns_jwks_free.  Keys we cannot use are skipped: other
 * key types or curves, "use" other than "sig", "key_ops" without
 * "verify", an "alg" we do not accept, RSA moduli under 2048 or over
 * 8192 bits, EC points not on P-256.  At most DDNS_JWKS_KEYS_MAX keys are
 * kept.  0, DDNS_JWT_EJWKS (not a JSON object with a "keys" array, or not
 * one usable key), DDNS_ETOOBIG or DDNS_ENOMEM.
 */
int ddns_jwks_parse(const char *json, size_t len, ddns_jwks **out);

/* Number of usable keys in K. */
unsigned ddns_jwks_count(const ddns_jwks *k);

/* NULL is accepted. */
void ddns_jwks_free(ddns_jwks *k);

/* ---- ID token verification -------------------------------------------- */

struct ddns_jwt_expect {
	const char *issuer;   /* iss must equal it exactly */
	const char *audience; /* our client_id: in aud, and azp if present */
	const char *nonce;    /* nonce must equal it; NULL: not checked */
	int64_t now;	      /* Unix time */
	unsigned leeway;      /* seconds of clock skew allowed */
};

/*
 * Verify the compact JWS TOK (LEN bytes, untrusted) with a key of JWKS,
 * then its claims against E: iss, aud (and azp when aud has several
 * entries or azp is present), exp, nbf and iat (within E->leeway), sub
 * (a string of 1..255 bytes) and nonce.  The signature is checked before
 * any claim.  On success return 0 and, if CLAIMS is not NULL, the payload
 * object in *CLAIMS (the caller json_decref()s it).  Otherwise a
 * DDNS_JWT_* code (DDNS_JWT_ENOKEY: the caller may fetch the JWKS again,
 * the provider may have rotated its keys), or DDNS_ENOMEM.
 */
int ddns_jwt_verify(const char *tok, size_t len, const ddns_jwks *jwks,
		    const struct ddns_jwt_expect *e, json_t **claims);

/*
 * The payload of TOK WITHOUT verifying anything, for routing only (which
 * provider issued an access token).  0 and the object in *PAYLOAD (the
 * caller json_decref()s it), or a DDNS_JWT_* format code.
 */
int ddns_jwt_peek(const char *tok, size_t len, json_t **payload);

#endif
