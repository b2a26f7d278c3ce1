/*
 * store_bulk.h -- loading accounts exactly as exported (ddnsctl import).
 * The zone and host counterparts are in store.h (ddns_zone_load,
 * ddns_host_load), the schema upgrade and backups too.
 */
#ifndef DDNS_STORE_BULK_H
#define DDNS_STORE_BULK_H

#include <stdint.h>

#include "accounts.h"
#include "store.h"

/*
 * Store user U exactly as given: its id and created time are kept, its
 * name and OIDC indexes written, next_user_id raised past its id.  0,
 * DDNS_EEXIST (its id, name or OIDC identity is taken), DDNS_EINVAL for a
 * user ddns_user_add would refuse, or a store error.
 */
int ddns_user_load(ddns_txn *t, const struct ddns_user *u);

/*
 * Store token TK (its digest, user, created and label) as given.  0,
 * DDNS_EEXIST, DDNS_ENOTFOUND (no such user), DDNS_EINVAL (a label that
 * is too long or not text), or a store error.
 */
int ddns_token_load(ddns_txn *t, const struct ddns_token *tk);

/* The ids the next zone and the next user get (meta next_zone_id,
 * next_user_id; 1 when absent).  0 or a store error. */
int ddns_next_ids_get(ddns_txn *t, uint32_t *zone, uint32_t *user);
/* Raise them to ZONE and USER (never lowered: ids are never reused).  0
 * or a store error. */
int ddns_next_ids_raise(ddns_txn *t, uint32_t zone, uint32_t user);

/* The schema-1 decoders of ddnsctl migrate (lmdb-v1.md sections 6, 7),
 * exposed for the fuzz tests: a v1 host value (counters and last_fault
 * included; fqdn left "") or fault value (window and text) into OUT.  0
 * or DDNS_ECORRUPT (OUT then undefined). */
int ddns_v1_host_decode(const void *val, size_t len, struct ddns_host *out);
int ddns_v1_fault_decode(const void *val, size_t len, struct ddns_fault *out);

#endif
