/*
 * names.h -- DNS names as ddns keeps them: lower-case ASCII (A-labels for
 * international names), no trailing dot, labels 1..63 octets of letters,
 * digits and hyphens (no hyphen at either end), at most 253 octets.
 */
#ifndef DDNS_NAMES_H
#define DDNS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define DDNS_NAME_MAX 253      /* octets, presentation form, no final dot */
#define DDNS_NAME_BUF 256      /* buffer that holds any valid name + NUL */
#define DDNS_LABEL_MAX 63

/*
 * Normalise untrusted input of LEN bytes (need not be NUL-terminated, may
 * contain NULs, which are refused) into OUT: one trailing dot removed,
 * lower-cased, UTF-8 turned into A-labels through libidn2, then checked as
 * a hostname.  Returns 0 or DDNS_EBADNAME / DDNS_ETOOBIG; OUT is written
 * only on success.
 */
int ddns_name_normalize(const char *in, size_t len, char out[DDNS_NAME_BUF]);

/* Same, for a name that may hold a '*' as its whole first label. */
int ddns_name_normalize_wild(const char *in, size_t len,
			     char out[DDNS_NAME_BUF]);

/*
 * True if S[0..LEN) is already a normalised name as above.  A pure byte
 * check (no libidn2, no allocation): the one hostname check that
 * ddns_name_normalize, the store and the tools share.  NULL is not.
 */
bool ddns_name_is_normal(const char *s, size_t len);

/*
 * Why untrusted IN of LEN bytes (taken as ddns_name_normalize takes it) is
 * not a valid name: a short English reason, e.g. "bad character '_'
 * (letters, digits and hyphens only)" or "label longer than 63 octets",
 * written into WHY (CAP bytes, cut to fit).  Returns WHY, or NULL when IN
 * normalises fine (WHY is then "").  The reason names the check that
 * ddns_name_normalize failed, so the two always agree.
 */
const char *ddns_name_why_invalid(const char *in, size_t len, char *why,
				  size_t cap);

/* True if NAME (normalised) is ZONE or lies below it. */
bool ddns_name_in_zone(const char *name, const char *zone);

/* True if NAME lies strictly below ZONE. */
bool ddns_name_below(const char *name, const char *zone);

/* Pointer to the name after the first label ("b.c" for "a.b.c"), or NULL
 * for a single label.  Borrowed from NAME. */
const char *ddns_name_parent(const char *name);

/*
 * Key used in the hosts database: labels reversed, joined by '.'
 * ("host.dyn.example.org" -> "org.example.dyn.host"), so one zone's hosts
 * share the prefix ddns_name_key(zone) + ".".  Returns the length written
 * (< DDNS_NAME_BUF).  NAME must be normalised.
 */
size_t ddns_name_key(const char *name, char out[DDNS_NAME_BUF]);

/* Inverse of ddns_name_key: KEY of LEN bytes back to a name.  Returns the
 * length, or DDNS_ECORRUPT when the result would not be a normalised name
 * (empty labels, bad characters, out of range). */
int ddns_name_from_key(const char *key, size_t len, char out[DDNS_NAME_BUF]);

/*
 * Turn an e-mail style address "hostmaster@example.org" (or an already
 * dotted mailbox name) into the SOA RNAME form "hostmaster.example.org",
 * escaping dots in the local part.  Returns 0 or DDNS_EBADNAME.
 */
int ddns_mailbox_to_rname(const char *in, char out[DDNS_NAME_BUF]);

#endif
