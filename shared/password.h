/*
 * password.h -- local account passwords, hashed with scrypt (memory-hard)
 * through OpenSSL 3's KDF, encoded as
 *   $scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>
 * so the cost can be raised later without breaking stored hashes.
 * Hashing takes tens of milliseconds and 32 MiB: do not call it on an
 * event loop that serves other clients (see the updater's worker).
 */
#ifndef DDNS_PASSWORD_H
#define DDNS_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "accounts.h"

#define DDNS_PASSWORD_MIN 8    /* characters a new password needs */
#define DDNS_PASSWORD_MAX 1024 /* longer input is refused */

/* Hash PW (LEN bytes) into OUT.  0, DDNS_EINVAL (too short/long) or EIO. */
int ddns_password_hash(const char *pw, size_t len,
		       char out[DDNS_PWHASH_MAX + 1]);

/* True if PW matches ENCODED; false for malformed ENCODED. */
bool ddns_password_verify(const char *encoded, const char *pw, size_t len);

#endif
