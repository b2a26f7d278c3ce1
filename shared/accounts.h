/*
 * accounts.h -- users, portal sessions and personal API tokens, kept in
 * the same LMDB store as zones and hosts (layout: schema/lmdb-v1.md).
 *
 * Session ids and API tokens are random (256 bits), shown to their holder
 * only, and stored only as SHA-256 digests: the store never holds them in
 * clear.  Passwords are stored as scrypt hashes (password.h).
 *
 * Ownership: like store.h, every record is copied into the caller's
 * struct; nothing returned points into LMDB memory.
 */
#ifndef DDNS_ACCOUNTS_H
#define DDNS_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define DDNS_USER_NAME_MAX    64   /* login name: [a-z0-9._@+-], 1..64 */
#define DDNS_USER_DISPLAY_MAX 128  /* UTF-8 bytes */
#define DDNS_USER_EMAIL_MAX   254
#define DDNS_PWHASH_MAX       160  /* encoded password hash */
#define DDNS_OIDC_ID_MAX      255  /* issuer URL or subject */
#define DDNS_GROUPS_MAX       32
/* DDNS_GROUP_MAX (one group name) comes from store.h: zones name groups
 * too.  ddns_group_valid (store.h) says what a group name may be. */
#define DDNS_TOKEN_LEN        43   /* base64url of 32 random bytes */
#define DDNS_TOKEN_BUF        (DDNS_TOKEN_LEN + 1)
#define DDNS_CSRF_BUF         65   /* hex of an HMAC-SHA256 + NUL */

enum ddns_user_flags {
	DDNS_USER_ADMIN = 1 << 0,
};

struct ddns_user {
	uint32_t id;   /* >= 1, never reused */
	uint32_t flags;
	int64_t created;
	char name[DDNS_USER_NAME_MAX + 1];
	char display_name[DDNS_USER_DISPLAY_MAX + 1];
	char email[DDNS_USER_EMAIL_MAX + 1];
	char password[DDNS_PWHASH_MAX + 1]; /* "" = no local password */
	char oidc_issuer[DDNS_OIDC_ID_MAX + 1];  /* "" = not an OIDC user */
	char oidc_subject[DDNS_OIDC_ID_MAX + 1];
	unsigned n_groups;
	char groups[DDNS_GROUPS_MAX][DDNS_GROUP_MAX + 1];
};

/* True if S is a valid login name (lower-case): 1..64 of [a-z0-9._@+-],
 * the first a letter or digit (so that a name is never taken for an
 * option or a path segment such as ".."). */
bool ddns_user_name_valid(const char *s);

/*
 * What a user record must hold (else DDNS_EINVAL): a valid name; a display
 * name of ddns_text_valid text; an e-mail "" or text without spaces with
 * an '@' neither first nor last; a password "" or printable ASCII (an
 * encoded hash, password.h); OIDC issuer and subject both "" or both
 * ddns_text_valid text; at most DDNS_GROUPS_MAX distinct valid groups
 * (callers mapping groups from a provider remove duplicates first).
 */
/* Add U (id and created are assigned).  0, DDNS_EEXIST (name, or the OIDC
 * issuer+subject pair, taken) or DDNS_EINVAL. */
int ddns_user_add(ddns_txn *t, struct ddns_user *u);
/* Rewrite user U->id (name and OIDC identity may change; its created time
 * is kept).  0, DDNS_ENOTFOUND, DDNS_EEXIST or DDNS_EINVAL. */
int ddns_user_put(ddns_txn *t, const struct ddns_user *u);
/* Copy user ID (or the user of login NAME, or of the OIDC identity
 * ISSUER + SUBJECT) into OUT.  0, DDNS_ENOTFOUND (also for arguments no
 * user can have) or DDNS_ECORRUPT. */
int ddns_user_get(ddns_txn *t, uint32_t id, struct ddns_user *out);
int ddns_user_get_by_name(ddns_txn *t, const char *name,
			  struct ddns_user *out);
int ddns_user_get_by_oidc(ddns_txn *t, const char *issuer,
			  const char *subject, struct ddns_user *out);
/* Delete user ID with its sessions and tokens.  Hosts it owns: refused
 * with DDNS_EBUSY unless FORCE, which deletes them too (*N_HOSTS gets their
 * count; may be NULL). */
int ddns_user_del(ddns_txn *t, uint32_t id, bool force, unsigned *n_hosts);

typedef int (*ddns_user_cb)(const struct ddns_user *u, void *arg);
/* Each user in id order; a record that does not decode is skipped with
 * one log line.  Returns 0, a store error or the callback's first nonzero
 * value.  The callback must not write through T. */
int ddns_user_foreach(ddns_txn *t, ddns_user_cb cb, void *arg);

/* True if U is in group G. */
bool ddns_user_in_group(const struct ddns_user *u, const char *g);

/* True if U may add hosts to Z: admins every zone; others a PUBLIC zone,
 * a PRIVATE one when in one of its groups, never an ADMIN one.  False
 * for U NULL (nobody). */
bool ddns_zone_usable_by(const struct ddns_zone *z, const struct ddns_user *u);

/* ---- portal sessions --------------------------------------------------- */

struct ddns_session {
	uint32_t user_id;
	int64_t created;
	int64_t expires;
	uint8_t csrf_key[16];
};

/*
 * Open a session for USER_ID lasting LIFETIME seconds: a new random id is
 * written to ID_OUT (base64url, the cookie value) and only its digest is
 * stored.  0 or an error.
 */
int ddns_session_new(ddns_txn *t, uint32_t user_id, int64_t lifetime,
		     char id_out[DDNS_TOKEN_BUF], struct ddns_session *out);
/* Look up session ID (LEN bytes, untrusted).  Unknown, malformed or expired
 * at time NOW -> DDNS_ENOTFOUND. */
int ddns_session_get(ddns_txn *t, const char *id, size_t len, int64_t now,
		     struct ddns_session *out);
/* End session ID.  0 or DDNS_ENOTFOUND. */
int ddns_session_del(ddns_txn *t, const char *id, size_t len);
/* Delete at most MAX sessions that expired before NOW; count in *N. */
int ddns_session_expire(ddns_txn *t, int64_t now, unsigned max, unsigned *n);
/* The CSRF token of a session: hex HMAC-SHA256(csrf_key, "csrf"). */
void ddns_session_csrf(const struct ddns_session *s, char out[DDNS_CSRF_BUF]);
/* Constant-time check of a CSRF token presented by a client. */
bool ddns_session_csrf_ok(const struct ddns_session *s, const char *tok,
			  size_t len);

/* ---- personal API tokens ----------------------------------------------- */

#define DDNS_TOKEN_LABEL_MAX 64

struct ddns_token {
	uint32_t user_id;
	int64_t created;
	char label[DDNS_TOKEN_LABEL_MAX + 1];
	uint8_t digest[32]; /* SHA-256 of the token: its key in the store */
};

/* New token for USER_ID, shown once through TOKEN_OUT. */
int ddns_token_new(ddns_txn *t, uint32_t user_id, const char *label,
		   char token_out[DDNS_TOKEN_BUF], struct ddns_token *out);
/* Look up a presented token (LEN bytes, untrusted).  0 or ENOTFOUND. */
int ddns_token_get(ddns_txn *t, const char *tok, size_t len,
		   struct ddns_token *out);
/* Delete by digest (as listed).  0 or ENOTFOUND. */
int ddns_token_del(ddns_txn *t, const uint8_t digest[32]);
typedef int (*ddns_token_cb)(const struct ddns_token *tk, void *arg);
/* Tokens of USER_ID (0: all), in digest order; corrupt records are
 * skipped with a log line.  The callback must not write through T. */
int ddns_token_foreach(ddns_txn *t, uint32_t user_id, ddns_token_cb cb,
		       void *arg);

/* ---- encoding (exposed for the fuzzers and unit tests) ----------------- */

/* Decode a stored value strictly: 0 or DDNS_ECORRUPT (OUT untouched
 * then).  Fields kept in the key (the user id, the token digest) are left
 * 0 for the caller to fill. */
int ddns_user_decode(const void *val, size_t len, struct ddns_user *out);
int ddns_session_decode(const void *val, size_t len, struct ddns_session *out);
int ddns_token_decode(const void *val, size_t len, struct ddns_token *out);
/* Encode U into BUF of CAP bytes: the length, DDNS_ETOOBIG or
 * DDNS_EINVAL (a record that would not decode). */
int ddns_user_encode(const struct ddns_user *u, void *buf, size_t cap);

#endif
