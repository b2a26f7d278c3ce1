#include <string.h>

#include "check.h"
#include "secret.h"

static void test_generate(void)
{
	char a[DDNS_SECRET_BUF], b[DDNS_SECRET_BUF];
	int seen[128] = {0};

	CHECK_INT(ddns_secret_generate(a), 0);
	CHECK_INT(ddns_secret_generate(b), 0);
	CHECK_INT((int)strlen(a), DDNS_SECRET_LEN);
	CHECK(strcmp(a, b) != 0);
	/* URL-userinfo safe: only letters and digits. */
	CHECK_INT((int)strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
		  DDNS_SECRET_LEN);
	/* Over many secrets every character of the alphabet appears. */
	for (int i = 0; i < 200; i++) {
		ddns_secret_generate(a);
		for (int j = 0; j < DDNS_SECRET_LEN; j++)
			seen[(unsigned char)a[j] & 127]++;
	}
	int distinct = 0;
	for (int i = 0; i < 128; i++)
		distinct += seen[i] > 0;
	CHECK_INT(distinct, 62);
}

static void test_verify(void)
{
	char s[DDNS_SECRET_BUF], t[DDNS_SECRET_BUF];
	struct ddns_cred c1, c2;
	char big[DDNS_SECRET_MAX + 2];

	CHECK_INT(ddns_cred_new(s, &c1), 0);
	CHECK(ddns_cred_verify(&c1, s, strlen(s)));
	CHECK(!ddns_cred_verify(&c1, s, strlen(s) - 1));
	strcpy(t, s);
	t[0] = t[0] == 'A' ? 'B' : 'A';
	CHECK(!ddns_cred_verify(&c1, t, strlen(t)));
	CHECK(!ddns_cred_verify(&c1, "", 0));
	/* The same secret hashed under another salt gives another hash. */
	c2 = c1;
	c2.salt[0] ^= 1;
	CHECK(!ddns_cred_verify(&c2, s, strlen(s)));
	ddns_secret_hash(s, strlen(s), c2.salt, c2.hash);
	CHECK(ddns_cred_verify(&c2, s, strlen(s)));
	CHECK(memcmp(c1.hash, c2.hash, DDNS_HASH_LEN) != 0);
	/* The stored form never contains the clear secret. */
	CHECK(memmem(&c1, sizeof c1, s, strlen(s)) == NULL);
	memset(big, 'a', sizeof big);
	CHECK(!ddns_cred_verify(&c1, big, sizeof big));
}

int main(void)
{
	test_generate();
	test_verify();
	return check_done();
}
