/*
 * rb_dnssec.h -- remote backend methods answered from the backend state
 * (rb_state.h) together with the store: the primary role
 * (getUpdatedMasters, setNotified), DNSSEC keys, domain metadata and the
 * NSEC chain (getBeforeAndAfterNamesAbsolute).
 *
 * Facts about what pdns 4.7 sends and expects are in the README
 * ("Secondaries", "DNSSEC") and schema/backend-state-v1.md.
 */
#ifndef DDNS_RB_DNSSEC_H
#define DDNS_RB_DNSSEC_H

#include <jansson.h>

#include "buf.h"
#include "rb_state.h"
#include "store.h"

/*
 * Answer METHOD (PARAMS: its parameters object, may be NULL) from STATE
 * (NULL: no state configured) and the read transaction T into OUT.
 * Returns 1 when METHOD is not one of these methods, or is one that the
 * caller answers itself without a state (the metadata reads); otherwise
 * what rb_handle returns: 0 when served (OUT may be {"result":false}), a
 * negative DDNS_E* code for a refused request.
 */
int rb_dnssec_handle(rb_state *state, ddns_txn *t, const char *method,
		     json_t *params, struct ddns_buf *out);

#endif
