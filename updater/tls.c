/*
 * tls.c -- the updater's TLS server context (see tls.h).
 *
 * Settings: TLS 1.2 minimum, no compression (CRIME), no renegotiation
 * (client-initiated renegotiation is a cheap way to burn our CPU), the
 * server's cipher order; OpenSSL's default cipher lists and groups
 * otherwise, so the system policy (Debian's SECLEVEL) applies.
 */
#include "tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "err.h"
#include "log.h"

struct ddns_tls {
	SSL_CTX *ctx; /* for new connections; old ones hold their own ref */
	char *cert;   /* paths, owned */
	char *key;
};

/* OpenSSL's queued error reasons, oldest first and without repeats,
 * joined with "; " into BUF.  The queue is emptied.  Returns BUF. */
static const char *ssl_reasons(char *buf, size_t len)
{
	unsigned long e;
	size_t used = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);
		int n;

		if (!r || strstr(buf, r))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "",
			     r);
		if (n < 0 || (size_t)n >= len - used)
			break; /* truncated: what fits is enough */
		used += (size_t)n;
	}
	ERR_clear_error();
	if (buf[0] == '\0')
		snprintf(buf, len, "unknown OpenSSL error");
	return buf;
}

/* Never prompt for a passphrase: a daemon has no terminal.  Records that
 * one was asked for, to say so in the error. */
static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	if (arg)
		*(bool *)arg = true;
	return 0;
}

static int check_readable(const char *what, const char *path, char *err,
			  size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "[updater] %s %s: cannot open: %s", what,
			 path, strerror(errno));
		return DDNS_EIO;
	}
	fclose(f);
	return 0;
}

static SSL_CTX *ctx_base(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* idle keep-alive connections give their buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	return ctx;
}

static bool key_mismatch(void)
{
	unsigned long e = ERR_peek_last_error();

	return ERR_GET_LIB(e) == ERR_LIB_X509 &&
	       ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH;
}

static int load_key(SSL_CTX *ctx, const char *cert, const char *key, char *err,
		    size_t errlen)
{
	bool asked = false;
	char why[256];
	int ok;

	SSL_CTX_set_default_passwd_cb_userdata(ctx, &asked);
	ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 &&
	     SSL_CTX_check_private_key(ctx) == 1;
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	if (ok)
		return 0;
	if (key_mismatch())
		snprintf(err, errlen,
			 "[updater] tls_key %s does not belong to the "
			 "certificate in tls_cert %s (%s)",
			 key, cert, ssl_reasons(why, sizeof why));
	else
		snprintf(err, errlen,
			 "[updater] tls_key %s: cannot load the private key: "
			 "%s%s",
			 key, ssl_reasons(why, sizeof why),
			 asked ? " (it is encrypted: store it without a "
				 "passphrase)"
			       : "");
	return DDNS_EINVAL;
}

/* A new context with CERT and KEY loaded into *OUT. */
static int ctx_load(const char *cert, const char *key, SSL_CTX **out, char *err,
		    size_t errlen)
{
	SSL_CTX *ctx = NULL;
	char why[256];
	int rc;

	*out = NULL;
	ERR_clear_error();
	if ((rc = check_readable("tls_cert", cert, err, errlen)) != 0 ||
	    (rc = check_readable("tls_key", key, err, errlen)) != 0)
		return rc;
	if (!(ctx = ctx_base())) {
		snprintf(err, errlen, "cannot create a TLS context: %s",
			 ssl_reasons(why, sizeof why));
		return DDNS_ENOMEM;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen,
			 "[updater] tls_cert %s: cannot load the certificate "
			 "chain: %s",
			 cert, ssl_reasons(why, sizeof why));
		rc = DDNS_EINVAL;
		goto fail;
	}
	if ((rc = load_key(ctx, cert, key, err, errlen)) != 0)
		goto fail;
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

/* "subject ..., serial ..., valid until ..." of CTX's certificate. */
static void log_cert(const char *path, SSL_CTX *ctx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL;
	long n;

	if (!x || !b) {
		BIO_free(b);
		return;
	}
	BIO_puts(b, "subject ");
	X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253);
	BIO_puts(b, ", serial ");
	i2a_ASN1_INTEGER(b, X509_get0_serialNumber(x));
	BIO_puts(b, ", valid until ");
	ASN1_TIME_print(b, X509_get0_notAfter(x));
	n = BIO_get_mem_data(b, &text);
	log_info("TLS certificate %s: %.*s", path, (int)(n > 0 ? n : 0),
		 text ? text : "");
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warn("TLS certificate %s has expired", path);
	else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
		log_warn("TLS certificate %s is not valid yet", path);
	BIO_free(b);
	ERR_clear_error();
}

int ddns_tls_new(ddns_tls **out, const char *cert, const char *key, char *err,
		 size_t errlen)
{
	struct ddns_tls *tls = calloc(1, sizeof *tls);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!tls || !(tls->cert = strdup(cert)) || !(tls->key = strdup(key)))
		goto fail;
	if ((rc = ctx_load(cert, key, &tls->ctx, err, errlen)) != 0)
		goto fail;
	log_cert(cert, tls->ctx);
	*out = tls;
	return 0;
fail:
	ddns_tls_free(tls);
	return rc;
}

int ddns_tls_reload(ddns_tls *tls, char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	int rc = ctx_load(tls->cert, tls->key, &ctx, err, errlen);

	if (rc != 0)
		return rc;
	SSL_CTX_free(tls->ctx); /* open connections keep their reference */
	tls->ctx = ctx;
	log_cert(tls->cert, ctx);
	return 0;
}

SSL *ddns_tls_ssl_new(ddns_tls *tls)
{
	return SSL_new(tls->ctx);
}

void ddns_tls_free(ddns_tls *tls)
{
	if (!tls)
		return;
	SSL_CTX_free(tls->ctx);
	free(tls->cert);
	free(tls->key);
	free(tls);
}
