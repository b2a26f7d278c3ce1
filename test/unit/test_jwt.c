/*
 * test_jwt.c -- ID token verification against tokens signed here with
 * fresh OpenSSL keys: good ones pass, and every kind of bad one is
 * refused with its own code.
 */
#include <time.h>

#include "check.h"
#include "err.h"
#include "jose_util.h"
#include "jwt.h"

#define ISS    "https://idp.example.org"
#define CLIENT "ddns-portal"
#define NONCE  "n-0S6_WzA2Mj"

static EVP_PKEY *rsa1, *rsa2, *ec1;
static ddns_jwks *jwks;
static int64_t now;

/* Claims a provider would send for our login. */
static json_t *claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS, "aud",
			 CLIENT, "sub", "user-1", "exp", (json_int_t)now + 300,
			 "iat", (json_int_t)now, "nonce", NONCE);
}

/* A token of good claims signed by rsa1 as HOW. */
static char *good_token(const char *how)
{
	json_t *c = claims();
	char *tok = tk_sign("RS256", "r1", c, rsa1, how);

	json_decref(c);
	return tok;
}

static int verify(const char *tok)
{
	struct ddns_jwt_expect e = {ISS, CLIENT, NONCE, now, 60};

	return ddns_jwt_verify(tok, strlen(tok), jwks, &e, NULL);
}

/* Sign C (consumed) with header alg ALG and kid KID as HOW, then verify. */
static int try(const char *alg, const char *kid, json_t *c, EVP_PKEY *k,
	       const char *how)
{
	char *tok = tk_sign(alg, kid, c, k, how);
	int rc = verify(tok);

	free(tok);
	json_decref(c);
	return rc;
}

/* The same with one claim of a good set changed (V NULL: removed). */
static int with_claim(const char *name, json_t *v)
{
	json_t *c = claims();

	if (v)
		json_object_set_new(c, name, v);
	else
		json_object_del(c, name);
	return try("RS256", "r1", c, rsa1, "RS256");
}

static void test_b64url(void)
{
	static const char *const vec[][2] = {
	    {"", ""},
	    {"f", "Zg"},
	    {"fo", "Zm8"},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"},
	    {"fooba", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy"},
	};
	unsigned char out[16];
	char enc[16];
	size_t n;

	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		CHECK_INT(ddns_b64url_encode(vec[i][0], strlen(vec[i][0]), enc,
					     sizeof enc),
			  0);
		CHECK_STR(enc, vec[i][1]);
		CHECK_INT(ddns_b64url_decode(vec[i][1], strlen(vec[i][1]), out,
					     sizeof out, &n),
			  0);
		CHECK(n == strlen(vec[i][0]) && memcmp(out, vec[i][0], n) == 0);
	}
	/* the URL-safe alphabet, and only it */
	CHECK_INT(ddns_b64url_encode("\xfb\xff", 2, enc, sizeof enc), 0);
	CHECK_STR(enc, "-_8");
	CHECK_INT(ddns_b64url_decode("+/8", 3, out, sizeof out, &n),
		  DDNS_EINVAL);
	CHECK_INT(ddns_b64url_decode("Zg==", 4, out, sizeof out, &n),
		  DDNS_EINVAL); /* padding */
	CHECK_INT(ddns_b64url_decode("Zh", 2, out, sizeof out, &n),
		  DDNS_EINVAL); /* non-zero unused bits */
	CHECK_INT(ddns_b64url_decode("Zm9vY", 5, out, sizeof out, &n),
		  DDNS_EINVAL); /* 4k+1 characters */
	CHECK_INT(ddns_b64url_decode("Zm 9v", 5, out, sizeof out, &n),
		  DDNS_EINVAL);
	CHECK_INT(ddns_b64url_decode("Zm9vYmFy", 8, out, 5, &n), DDNS_ETOOBIG);
	CHECK_INT(ddns_b64url_encode("foo", 3, enc, 4), DDNS_ETOOBIG);
}

static void test_good(void)
{
	json_t *c = claims(), *got = NULL;
	char *tok = tk_sign("RS256", "r1", c, rsa1, "RS256");
	struct ddns_jwt_expect e = {ISS, CLIENT, NONCE, now, 60};

	CHECK_INT(ddns_jwt_verify(tok, strlen(tok), jwks, &e, &got), 0);
	CHECK_STR(json_string_value(json_object_get(got, "sub")), "user-1");
	json_decref(got);
	free(tok);
	json_decref(c);
	CHECK_INT(try("ES256", "e1", claims(), ec1, "ES256"), 0);
	CHECK_INT(try("PS256", "r2", claims(), rsa2, "PS256"), 0);
	/* no kid: every key that fits is tried */
	CHECK_INT(try("RS256", NULL, claims(), rsa2, "RS256"), 0);
	CHECK_INT(try("ES256", NULL, claims(), ec1, "ES256"), 0);
	/* no nonce expected (NULL): not checked */
	c = claims();
	json_object_del(c, "nonce");
	tok = tk_sign("RS256", "r1", c, rsa1, "RS256");
	e.nonce = NULL;
	CHECK_INT(ddns_jwt_verify(tok, strlen(tok), jwks, &e, NULL), 0);
	free(tok);
	json_decref(c);
	/* several audiences with azp = us; exp just inside the leeway */
	CHECK_INT(with_claim("aud", json_pack("[s,s]", "other", CLIENT)),
		  DDNS_JWT_EAZP);
	c = claims();
	json_object_set_new(c, "aud", json_pack("[s,s]", "other", CLIENT));
	json_object_set_new(c, "azp", json_string(CLIENT));
	CHECK_INT(try("RS256", "r1", c, rsa1, "RS256"), 0);
	CHECK_INT(with_claim("exp", json_integer(now - 30)), 0);
	CHECK_INT(with_claim("exp", json_real((double)now + 10.5)), 0);
}

static void test_signature(void)
{
	char *tok = good_token("RS256");
	json_t *c;
	char *dot;

	/* a changed signature byte (staying canonical base64url) */
	dot = strrchr(tok, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	CHECK_INT(verify(tok), DDNS_JWT_ESIG);
	free(tok);
	/* a changed payload under the old signature */
	c = claims();
	tok = tk_sign("RS256", "r1", c, rsa1, "RS256");
	json_object_set_new(c, "sub", json_string("admin"));
	{
		char *other = tk_sign("RS256", "r1", c, rsa1, "RS256");
		char *d1 = strchr(other, '.'), *d2 = strrchr(other, '.');
		char *s2 = strrchr(tok, '.');
		struct ddns_buf b = {0};

		ddns_buf_add(&b, other, (size_t)(d2 - other)); /* h.p' */
		ddns_buf_adds(&b, s2);			       /* .sig */
		CHECK(d1 != d2);
		CHECK_INT(verify(b.data), DDNS_JWT_ESIG);
		ddns_buf_free(&b);
		free(other);
	}
	free(tok);
	json_decref(c);
	/* signed by rsa1 but naming rsa2's kid: the wrong key */
	CHECK_INT(try("RS256", "r2", claims(), rsa1, "RS256"), DDNS_JWT_ESIG);
	/* a key that is not in the set */
	CHECK_INT(try("RS256", "nope", claims(), rsa1, "RS256"),
		  DDNS_JWT_ENOKEY);
	/* ES256 naming an RSA key; RS256 naming the EC key */
	CHECK_INT(try("ES256", "r1", claims(), ec1, "ES256"), DDNS_JWT_ENOKEY);
	CHECK_INT(try("RS256", "e1", claims(), rsa1, "RS256"), DDNS_JWT_ENOKEY);
	/* r1 is published with alg RS256: not for PS256 */
	CHECK_INT(try("PS256", "r1", claims(), rsa1, "PS256"), DDNS_JWT_ENOKEY);
	/* PS256 header over a PKCS#1 v1.5 signature */
	CHECK_INT(try("PS256", "r2", claims(), rsa2, "RS256"), DDNS_JWT_ESIG);
	/* an ES256 signature of the wrong length */
	tok = tk_sign("ES256", "e1", c = claims(), ec1, "ES256");
	json_decref(c);
	{
		struct ddns_buf b = {0};

		ddns_buf_add(&b, tok, strlen(tok) - 2); /* 63 bytes */
		CHECK_INT(verify(b.data), DDNS_JWT_ESIG);
		ddns_buf_free(&b);
	}
	free(tok);
}

static void test_alg(void)
{
	/* unsigned */
	CHECK_INT(try("none", NULL, claims(), rsa1, "none"), DDNS_JWT_EALG);
	CHECK_INT(try("none", "r1", claims(), rsa1, "RS256"), DDNS_JWT_EALG);
	/* HMAC with the provider's public key as the secret */
	CHECK_INT(try("HS256", "r1", claims(), rsa1, "HS256"), DDNS_JWT_EALG);
	CHECK_INT(try("HS256", NULL, claims(), rsa1, "HS256"), DDNS_JWT_EALG);
	CHECK_INT(try("RS512", "r1", claims(), rsa1, "RS256"), DDNS_JWT_EALG);
	CHECK_INT(try("rs256", "r1", claims(), rsa1, "RS256"), DDNS_JWT_EALG);
	{
		char *tok =
		    tk_sign_raw("{\"kid\":\"r1\"}", "{}", rsa1, "RS256");

		CHECK_INT(verify(tok), DDNS_JWT_EALG);
		free(tok);
		tok = tk_sign_raw("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}",
				  "{}", rsa1, "RS256");
		CHECK_INT(verify(tok), DDNS_JWT_EHEADER);
		free(tok);
		tok = tk_sign_raw("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}",
				  "{}", rsa1, "RS256");
		CHECK_INT(verify(tok), DDNS_JWT_EHEADER);
		free(tok);
		tok = tk_sign_raw("{\"alg\":\"RS256\",\"kid\":7}", "{}", rsa1,
				  "RS256");
		CHECK_INT(verify(tok), DDNS_JWT_EHEADER);
		free(tok);
	}
}

static void test_claims(void)
{
	CHECK_INT(with_claim("exp", json_integer(now - 61)), DDNS_JWT_EEXPIRED);
	CHECK_INT(with_claim("exp", json_integer(now - 3600)),
		  DDNS_JWT_EEXPIRED);
	CHECK_INT(with_claim("exp", NULL), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("exp", json_string("tomorrow")), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("nbf", json_integer(now + 600)), DDNS_JWT_ENOTYET);
	CHECK_INT(with_claim("nbf", json_integer(now + 30)), 0);
	CHECK_INT(with_claim("nbf", json_string("x")), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("iat", json_integer(now + 600)), DDNS_JWT_ENOTYET);
	CHECK_INT(with_claim("iat", NULL), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("iss", json_string(ISS "/other")), DDNS_JWT_EISS);
	CHECK_INT(with_claim("iss", json_string("https://idp.example.org/")),
		  DDNS_JWT_EISS);
	CHECK_INT(with_claim("iss", NULL), DDNS_JWT_EISS);
	CHECK_INT(with_claim("aud", json_string("someone-else")),
		  DDNS_JWT_EAUD);
	CHECK_INT(with_claim("aud", json_pack("[s]", "someone-else")),
		  DDNS_JWT_EAUD);
	CHECK_INT(with_claim("aud", NULL), DDNS_JWT_EAUD);
	CHECK_INT(with_claim("aud", json_pack("[s,i]", CLIENT, 5)),
		  DDNS_JWT_EAUD);
	CHECK_INT(with_claim("azp", json_string("someone-else")),
		  DDNS_JWT_EAZP);
	CHECK_INT(with_claim("nonce", NULL), DDNS_JWT_ENONCE);
	CHECK_INT(with_claim("nonce", json_string("not-the-nonce-you-sent")),
		  DDNS_JWT_ENONCE);
	CHECK_INT(with_claim("nonce", json_string(NONCE "x")), DDNS_JWT_ENONCE);
	CHECK_INT(with_claim("nonce", json_integer(1)), DDNS_JWT_ENONCE);
	CHECK_INT(with_claim("sub", NULL), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("sub", json_string("")), DDNS_JWT_ECLAIM);
	CHECK_INT(with_claim("sub", json_integer(12)), DDNS_JWT_ECLAIM);
}

static void test_format(void)
{
	char *tok = good_token("RS256");
	struct ddns_buf b = {0};
	json_t *pay = NULL;

	/* malformed base64url in each part */
	ddns_buf_adds(&b, tok);
	b.data[3] = '+';
	CHECK_INT(verify(b.data), DDNS_JWT_EFORMAT);
	ddns_buf_reset(&b);
	ddns_buf_adds(&b, tok);
	*strchr(b.data, '.') = '=';
	CHECK_INT(verify(b.data), DDNS_JWT_EFORMAT); /* and only one dot */
	ddns_buf_reset(&b);
	ddns_buf_adds(&b, tok);
	ddns_buf_adds(&b, "=");
	CHECK_INT(verify(b.data), DDNS_JWT_EFORMAT);
	/* extra and missing dots */
	ddns_buf_reset(&b);
	ddns_buf_adds(&b, tok);
	ddns_buf_adds(&b, ".");
	CHECK_INT(verify(b.data), DDNS_JWT_EFORMAT);
	ddns_buf_reset(&b);
	ddns_buf_printf(&b, "%s.e30.e30", tok);
	CHECK_INT(verify(b.data), DDNS_JWT_EFORMAT);
	CHECK_INT(verify("e30.e30"), DDNS_JWT_EFORMAT);
	CHECK_INT(verify(".e30.AAAA"), DDNS_JWT_EFORMAT);
	CHECK_INT(verify(""), DDNS_JWT_EFORMAT);
	/* oversized */
	ddns_buf_reset(&b);
	ddns_buf_adds(&b, tok);
	while (b.len <= DDNS_JWT_MAX)
		ddns_buf_adds(&b, "AAAA");
	CHECK_INT(verify(b.data), DDNS_JWT_ETOOBIG);
	ddns_buf_free(&b);
	free(tok);
	/* header or payload JSON that is not one object */
	tok = tk_sign_raw("[\"RS256\"]", "{}", rsa1, "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON);
	free(tok);
	tok = tk_sign_raw("{\"alg\":\"RS256\"", "{}", rsa1, "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON);
	free(tok);
	tok = tk_sign_raw("{\"alg\":\"RS256\"}", "\"a string\"", rsa1, "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON);
	free(tok);
	tok = tk_sign_raw("{\"alg\":\"RS256\"}", "[1,2]", rsa1, "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON);
	free(tok);
	tok = tk_sign_raw("{\"alg\":\"RS256\",\"alg\":\"none\"}", "{}", rsa1,
			  "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON); /* duplicate members */
	free(tok);
	tok = tk_sign_raw("{\"alg\":\"RS256\"}",
			  "{\"sub\":\"a\",\"sub\":\"admin\"}", rsa1, "RS256");
	CHECK_INT(verify(tok), DDNS_JWT_EJSON);
	/* peek: the payload without any check */
	CHECK_INT(ddns_jwt_peek(tok, strlen(tok), &pay), DDNS_JWT_EJSON);
	free(tok);
	tok = good_token("none");
	CHECK_INT(ddns_jwt_peek(tok, strlen(tok), &pay), 0);
	CHECK_STR(json_string_value(json_object_get(pay, "iss")), ISS);
	json_decref(pay);
	free(tok);
}

static int parse_jwks(json_t *k1, json_t *k2)
{
	char *s = tk_jwks(k1, k2, NULL);
	ddns_jwks *k = NULL;
	int rc = ddns_jwks_parse(s, strlen(s), &k);

	if (rc == 0)
		rc = (int)ddns_jwks_count(k);
	ddns_jwks_free(k);
	free(s);
	return rc;
}

static void test_jwks(void)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ddns_jwks *k = NULL;
	json_t *j;

	CHECK_INT(ddns_jwks_parse("nope", 4, &k), DDNS_JWT_EJWKS);
	CHECK_INT(ddns_jwks_parse("[]", 2, &k), DDNS_JWT_EJWKS);
	CHECK_INT(ddns_jwks_parse("{\"keys\":{}}", 11, &k), DDNS_JWT_EJWKS);
	CHECK_INT(ddns_jwks_parse("{\"keys\":[]}", 11, &k), DDNS_JWT_EJWKS);
	CHECK(k == NULL);
	CHECK_INT(parse_jwks(tk_jwk(rsa1, "a", NULL), tk_jwk(ec1, "b", NULL)),
		  2);
	/* keys we cannot use are skipped */
	CHECK_INT(parse_jwks(tk_jwk(small, "s", NULL), tk_jwk(ec1, "b", NULL)),
		  1);
	j = tk_jwk(rsa1, "a", NULL);
	json_object_set_new(j, "use", json_string("enc"));
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(rsa1, "a", "HS256");
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(rsa1, "a", "ES256"); /* an RSA key for ES256 */
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(ec1, "b", NULL);
	json_object_set_new(j, "crv", json_string("P-384"));
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(ec1, "b", NULL); /* a point off the curve */
	json_object_set_new(j, "y",
			    json_string("AQAAAAAAAAAAAAAAAAAAAAAAAAAA"
					"AAAAAAAAAAAAAAA"));
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(ec1, "b", NULL); /* short coordinate */
	json_object_set_new(j, "x", json_string("AQAB"));
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = json_pack("{s:s, s:s}", "kty", "oct", "k", "c2VjcmV0");
	CHECK_INT(parse_jwks(j, NULL), DDNS_JWT_EJWKS);
	j = tk_jwk(rsa1, "a", NULL);
	json_object_set_new(j, "key_ops", json_pack("[s]", "encrypt"));
	CHECK_INT(parse_jwks(j, tk_jwk(ec1, NULL, NULL)), 1);
	EVP_PKEY_free(small);
}

int main(void)
{
	char *s;

	now = (int64_t)time(NULL);
	rsa1 = tk_rsa();
	rsa2 = tk_rsa();
	ec1 = tk_ec();
	s = tk_jwks(tk_jwk(rsa1, "r1", "RS256"), tk_jwk(rsa2, "r2", NULL),
		    tk_jwk(ec1, "e1", "ES256"));
	CHECK_INT(ddns_jwks_parse(s, strlen(s), &jwks), 0);
	CHECK_INT(ddns_jwks_count(jwks), 3);
	free(s);
	test_b64url();
	test_good();
	test_signature();
	test_alg();
	test_claims();
	test_format();
	test_jwks();
	CHECK_STR(ddns_jwt_strerror(DDNS_JWT_ENONCE),
		  "token nonce does not match the login");
	CHECK_STR(ddns_jwt_strerror(DDNS_ENOMEM), ddns_strerror(DDNS_ENOMEM));
	ddns_jwks_free(jwks);
	EVP_PKEY_free(rsa1);
	EVP_PKEY_free(rsa2);
	EVP_PKEY_free(ec1);
	return check_done();
}
