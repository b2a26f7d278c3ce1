/*
 * tls.h -- ddns-updater's TLS server context: a certificate chain and its
 * key read from PEM files, TLS 1.2 or newer, and a reload that swaps in a
 * new context for new connections only.
 *
 * Connections already open keep the context they started with: every SSL
 * object holds a reference on its SSL_CTX, so the old one lives until its
 * last connection is freed.
 */
#ifndef DDNS_TLS_H
#define DDNS_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

typedef struct ddns_tls ddns_tls;

/*
 * Read the PEM certificate chain CERT (leaf first) and the PEM private key
 * KEY into a new context *OUT (freed with ddns_tls_free); both paths are
 * copied for ddns_tls_reload.  An encrypted key is refused, never prompted
 * for.  On failure return DDNS_EINVAL, DDNS_EIO or DDNS_ENOMEM and write
 * one line naming the file and OpenSSL's reason into ERR.  Logs the
 * certificate's subject and expiry at info level.
 */
int ddns_tls_new(ddns_tls **out, const char *cert, const char *key, char *err,
		 size_t errlen);

/*
 * Read the files named at creation again.  On success (0) connections
 * accepted from now on use the new pair and the subject and expiry are
 * logged; on failure the old pair stays in use, a negative ddns_err is
 * returned and ERR says which file and why.
 */
int ddns_tls_reload(ddns_tls *tls, char *err, size_t errlen);

/*
 * A new server-side SSL on the current context, for one accepted
 * connection.  The caller owns it (SSL_free, or hand it to a bufferevent
 * with BEV_OPT_CLOSE_ON_FREE); it stays valid across reloads.  NULL when
 * out of memory.
 */
SSL *ddns_tls_ssl_new(ddns_tls *tls);

/* Free TLS (NULL is fine).  SSL objects made from it stay valid. */
void ddns_tls_free(ddns_tls *tls);

#endif
