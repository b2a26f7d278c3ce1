#include "secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "err.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int ddns_secret_generate(char out[DDNS_SECRET_BUF])
{
	unsigned char rnd[64];
	size_t n = 0;

	/* Rejection sampling keeps every character uniform over 62. */
	while (n < DDNS_SECRET_LEN) {
		if (RAND_bytes(rnd, sizeof rnd) != 1)
			return DDNS_EIO;
		for (size_t i = 0; i < sizeof rnd && n < DDNS_SECRET_LEN; i++)
			if (rnd[i] < 248)
				out[n++] = alphabet[rnd[i] % 62];
	}
	out[n] = '\0';
	OPENSSL_cleanse(rnd, sizeof rnd);
	return 0;
}

int ddns_secret_hash(const char *secret, size_t len,
		     const uint8_t salt[DDNS_SALT_LEN],
		     uint8_t out[DDNS_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int olen = 0;
	int ok;

	if (!ctx)
		return DDNS_ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, salt, DDNS_SALT_LEN) == 1 &&
	     EVP_DigestUpdate(ctx, secret, len) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, &olen) == 1 && olen == DDNS_HASH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : DDNS_EIO;
}

int ddns_cred_new(char secret_out[DDNS_SECRET_BUF], struct ddns_cred *cred)
{
	int rc;

	if ((rc = ddns_secret_generate(secret_out)) != 0)
		return rc;
	if (RAND_bytes(cred->salt, DDNS_SALT_LEN) != 1)
		return DDNS_EIO;
	return ddns_secret_hash(secret_out, DDNS_SECRET_LEN, cred->salt,
				cred->hash);
}

bool ddns_cred_verify(const struct ddns_cred *cred, const char *secret,
		      size_t len)
{
	uint8_t h[DDNS_HASH_LEN];
	bool ok;

	if (len > DDNS_SECRET_MAX)
		return false;
	if (ddns_secret_hash(secret, len, cred->salt, h) != 0)
		return false;
	ok = CRYPTO_memcmp(h, cred->hash, DDNS_HASH_LEN) == 0;
	OPENSSL_cleanse(h, sizeof h);
	return ok;
}
