/*
 * test_password.c -- scrypt password hashes: round trip, wrong passwords,
 * the encoding parsed strictly, cost parameters out of range, length
 * limits.  Prints the time one hash takes (the cost the updater's worker
 * carries per login).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "err.h"
#include "log.h"
#include "password.h"

#define PW "correct horse battery staple"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool verify(const char *enc, const char *pw)
{
	return ddns_password_verify(enc, pw, strlen(pw));
}

static void test_round_trip(void)
{
	char a[DDNS_PWHASH_MAX + 1], b[DDNS_PWHASH_MAX + 1];
	double t0, t1;

	t0 = now_ms();
	CHECK_INT(ddns_password_hash(PW, strlen(PW), a), 0);
	t1 = now_ms();
	printf("scrypt ln=15 r=8 p=1: hash %.1f ms\n", t1 - t0);
	CHECK(strncmp(a, "$scrypt$ln=15,r=8,p=1$", 22) == 0);
	/* 22 + salt 22 + "$" + hash 43 */
	CHECK_INT(strlen(a), 22 + 22 + 1 + 43);
	CHECK(a[44] == '$');
	CHECK(verify(a, PW));
	t0 = now_ms();
	CHECK(!verify(a, PW "x"));
	printf("scrypt ln=15 r=8 p=1: verify %.1f ms\n", now_ms() - t0);
	CHECK(!verify(a, "correct horse battery stapl"));
	CHECK(!verify(a, "Correct horse battery staple"));
	CHECK(!ddns_password_verify(a, PW, strlen(PW) - 1));
	CHECK(!ddns_password_verify(a, "", 0));
	CHECK(!ddns_password_verify(a, NULL, 0));
	CHECK(!ddns_password_verify(NULL, PW, strlen(PW)));

	/* a new salt each time */
	CHECK_INT(ddns_password_hash(PW, strlen(PW), b), 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(verify(b, PW));

	/* the bytes count, NULs and all */
	CHECK_INT(ddns_password_hash("abc\0defgh", 9, b), 0);
	CHECK(ddns_password_verify(b, "abc\0defgh", 9));
	CHECK(!ddns_password_verify(b, "abc", 3));
	CHECK(!ddns_password_verify(b, "abc\0defgi", 9));
}

static void test_lengths(void)
{
	char out[DDNS_PWHASH_MAX + 1], big[DDNS_PASSWORD_MAX + 2];

	CHECK_INT(ddns_password_hash("1234567", 7, out), DDNS_EINVAL);
	CHECK_STR(out, "");
	CHECK_INT(ddns_password_hash("", 0, out), DDNS_EINVAL);
	CHECK_INT(ddns_password_hash(NULL, 8, out), DDNS_EINVAL);
	/* characters, not octets: 7 two-octet characters are too few */
	CHECK_INT(ddns_password_hash("ééééééé", 14, out), DDNS_EINVAL);
	CHECK_INT(ddns_password_hash("éééééééé", 16, out), 0);
	CHECK(verify(out, "éééééééé"));
	CHECK_INT(ddns_password_hash("12345678", 8, out), 0);
	CHECK(verify(out, "12345678"));

	memset(big, 'x', sizeof big);
	CHECK_INT(ddns_password_hash(big, DDNS_PASSWORD_MAX + 1, out),
		  DDNS_EINVAL);
	CHECK_INT(ddns_password_hash(big, DDNS_PASSWORD_MAX, out), 0);
	CHECK(ddns_password_verify(out, big, DDNS_PASSWORD_MAX));
	CHECK(!ddns_password_verify(out, big, DDNS_PASSWORD_MAX + 1));
}

/* Vectors computed independently (Python's hashlib.scrypt), salt
 * 00 01 .. 0f, password PW: verify must agree with them. */
static const char vec_10_8_1[] = "$scrypt$ln=10,r=8,p=1$AAECAwQFBgcICQoLDA0ODw$"
				 "mp90zEQd5XGhjEv4WArVH4Z0XRSzkGWtJK2S/AXJlRU";
static const char vec_11_2_3[] = "$scrypt$ln=11,r=2,p=3$AAECAwQFBgcICQoLDA0ODw$"
				 "zC3oNRgxrqN5YZeFHGZQ2EX6Agb304cFbZjXbDqgau8";

static void test_vectors(void)
{
	CHECK(verify(vec_10_8_1, PW));
	CHECK(verify(vec_11_2_3, PW));
	CHECK(!verify(vec_10_8_1, PW "!"));
	CHECK(!verify(vec_11_2_3, "correct horse battery stapl"));
}

/* A valid encoding at a low cost for the tests below. */
static void sample(char out[DDNS_PWHASH_MAX + 1])
{
	snprintf(out, DDNS_PWHASH_MAX + 1, "%s", vec_10_8_1);
}

/* Replace "ln=15,r=8,p=1" in ENC with PARAMS into OUT. */
static void with_params(const char *enc, const char *params, char *out,
			size_t cap)
{
	const char *rest = strchr(enc + 8, '$');

	snprintf(out, cap, "$scrypt$%s%s", params, rest);
}

static void test_malformed(void)
{
	char good[DDNS_PWHASH_MAX + 1], bad[512];
	size_t len;

	sample(good);
	CHECK(verify(good, PW));
	len = strlen(good);
	static const char *const prefixes[] = {
	    "",
	    "$",
	    "scrypt",
	    "$scrypt",
	    "$scrypt$",
	    "$Scrypt$ln=15,r=8,p=1$",
	    "$argon2id$v=19$m=65536,t=3,p=4$",
	};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		CHECK(!verify(prefixes[i], PW));
	/* every truncation, and trailing junk */
	for (size_t n = 0; n < len; n++) {
		snprintf(bad, sizeof bad, "%.*s", (int)n, good);
		if (verify(bad, PW))
			CHECK_INT((long long)n, -1);
	}
	snprintf(bad, sizeof bad, "%s=", good);
	CHECK(!verify(bad, PW));
	snprintf(bad, sizeof bad, "%sA", good);
	CHECK(!verify(bad, PW));
	snprintf(bad, sizeof bad, "%s$", good);
	CHECK(!verify(bad, PW));
	/* a character outside base64 in the salt and in the hash */
	snprintf(bad, sizeof bad, "%s", good);
	bad[30] = '-';
	CHECK(!verify(bad, PW));
	snprintf(bad, sizeof bad, "%s", good);
	bad[60] = '_';
	CHECK(!verify(bad, PW));
	snprintf(bad, sizeof bad, "%s", good);
	bad[60] = '\x80';
	CHECK(!verify(bad, PW));
	/* non-canonical last character: unused bits set */
	snprintf(bad, sizeof bad, "%s", good);
	bad[len - 1] = bad[len - 1] == 'A' ? 'B' : bad[len - 1] ^ 1;
	CHECK(!verify(bad, PW));
	/* padding is not part of the encoding */
	snprintf(bad, sizeof bad, "%.*s==$%s", 44, good, good + 45);
	CHECK(!verify(bad, PW));
	/* the salt / hash separator moved */
	snprintf(bad, sizeof bad, "%s", good);
	bad[44] = 'A';
	bad[43] = '$';
	CHECK(!verify(bad, PW));
	/* a flipped hash bit is just a mismatch */
	snprintf(bad, sizeof bad, "%s", good);
	bad[50] = bad[50] == 'A' ? 'B' : 'A';
	CHECK(!verify(bad, PW));
	/* longer than any hash we store */
	memset(bad, 'a', sizeof bad - 1);
	bad[sizeof bad - 1] = '\0';
	memcpy(bad, good, len);
	CHECK(!verify(bad, PW));
}

static void test_params(void)
{
	char good[DDNS_PWHASH_MAX + 1], bad[512];
	static const char *const refused[] = {
	    "ln=9,r=8,p=1",
	    "ln=21,r=8,p=1",
	    "ln=15,r=0,p=1",
	    "ln=15,r=17,p=1",
	    "ln=15,r=8,p=0",
	    "ln=15,r=8,p=5",
	    "ln=015,r=8,p=1",
	    "ln=15,r=08,p=1",
	    "ln=15,r=8,p=01",
	    "ln=,r=8,p=1",
	    "ln=15,r=8",
	    "ln=15,p=1,r=8",
	    "r=8,ln=15,p=1",
	    "ln=15,r=8,p=1,",
	    "ln=15;r=8;p=1",
	    "ln=+15,r=8,p=1",
	    "ln=-1,r=8,p=1",
	    "ln=1000,r=8,p=1",
	    "ln=15, r=8,p=1",
	    "LN=15,r=8,p=1",
	    "ln=4294967311,r=8,p=1",
	    /* within each bound, but over the memory cap (256 MiB) */
	    "ln=20,r=16,p=1",
	    "ln=19,r=8,p=1",
	};

	sample(good);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		with_params(good, refused[i], bad, sizeof bad);
		if (verify(bad, PW)) {
			fprintf(stderr, "accepted %s\n", refused[i]);
			CHECK(0);
		}
	}
	/* in range: parsed and computed, but the hash was made with other
	 * parameters, so it does not match */
	with_params(good, "ln=10,r=1,p=1", bad, sizeof bad);
	CHECK(!verify(bad, PW));
	with_params(good, "ln=10,r=8,p=2", bad, sizeof bad);
	CHECK(!verify(bad, PW));
	with_params(good, "ln=10,r=8,p=1", bad, sizeof bad);
	CHECK(verify(bad, PW));
}

int main(void)
{
	ddns_log_init("test_password", DDNS_LOG_ERR);
	test_round_trip();
	test_vectors();
	test_lengths();
	test_malformed();
	test_params();
	return check_done();
}
