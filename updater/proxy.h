/*
 * proxy.h -- who the client is when a reverse proxy relays the request.
 *
 * Only a direct peer inside [updater] trusted_proxies is believed.  Its
 * X-Forwarded-For is read right to left (each proxy appends the address it
 * got the request from, so only the right end is not under the client's
 * control), skipping addresses that are trusted proxies themselves; the
 * first other one is the client.  A malformed entry met on the way makes
 * the header worthless and the peer is used.  Without X-Forwarded-For, a
 * single X-Real-IP is used.  X-Forwarded-Proto tells whether the client's
 * own connection was TLS.  From any other peer these headers are ignored.
 */
#ifndef DDNS_PROXY_H
#define DDNS_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "conf.h"

struct evkeyvalq;

#define DDNS_PROXY_HEADERS_MAX 8 /* X-Forwarded-For header lines */

struct ddns_proxies {
	unsigned n;
	struct ddns_prefix p[DDNS_CONF_LIST_MAX];
};

enum ddns_proxy_result {
	DDNS_PROXY_DIRECT = 0,	  /* the peer itself (untrusted or no header) */
	DDNS_PROXY_FORWARDED = 1, /* an address from a header */
	DDNS_PROXY_MALFORMED = 2, /* trusted peer, bad header: the peer */
};

/*
 * Parse LIST ("ADDR" or "ADDR/LEN" entries) into OUT.  Returns 0, or
 * DDNS_EINVAL with a message naming the entry in ERR.
 */
int ddns_proxies_init(struct ddns_proxies *out,
		      const struct ddns_conf_list *list, char *err,
		      size_t errlen);

/* True if A lies in one of P's prefixes. */
bool ddns_proxies_trusted(const struct ddns_proxies *p,
			  const struct ddns_addr *a);

/*
 * The client of a request that PEER sent with the input headers H.
 * *CLIENT gets the believed address (PEER unless PEER is trusted and a
 * header names a well-formed address).  *TLS holds on entry whether the
 * connection itself is TLS; a trusted peer's X-Forwarded-Proto replaces
 * it (true only when every listed protocol is "https").  Returns an enum
 * ddns_proxy_result.
 */
int ddns_proxy_client(const struct ddns_proxies *p,
		      const struct ddns_addr *peer, const struct evkeyvalq *h,
		      struct ddns_addr *client, bool *tls);

#endif
