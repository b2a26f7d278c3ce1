/*
 * server.h -- ddns-updater's HTTP side: evhttp on every [updater] listen
 * address and HTTPS on every tls_listen address, the dyndns2 routes, the
 * trusted proxies, the connection limits (conns.h), and the group commit
 * that writes the updates of one event-loop iteration in one transaction.
 * Every other path goes to the portal side: the JSON API (api.h), the EGI
 * endpoints (nicapi.h), logins and OpenID redirects (auth.h) and the
 * portal's static files (portal_files.h).
 */
#ifndef DDNS_SERVER_H
#define DDNS_SERVER_H

#include <stddef.h>

#include "conf.h"
#include "purge.h"
#include "store.h"

struct event_base;
typedef struct ddns_server ddns_server;

/*
 * Bind every address of conf->updater_listen (HTTP) and
 * conf->updater_tls_listen (HTTPS, with tls_cert and tls_key loaded now)
 * and serve on BASE; at least one of the two lists must be set.  STORE and
 * PURGER (may be NULL) are borrowed and must outlive the server; CONF is
 * read only during the call.  On failure return a negative ddns_err and
 * write a one-line message (which address or file, why) into ERR.
 */
int ddns_server_new(ddns_server **out, struct event_base *base,
		    ddns_store *store, ddns_purger *purger,
		    const struct ddns_conf *conf, char *err, size_t errlen);

/*
 * Commit and answer the updates still queued, then close every listener
 * and connection.  Call it after the event loop has stopped, before the
 * store is closed.  NULL is accepted.
 */
void ddns_server_free(ddns_server *srv);

/*
 * Read tls_cert and tls_key again (for SIGHUP).  On success connections
 * accepted from now on use them; open connections and the plain listeners
 * are untouched.  On failure the error is logged, the old pair stays in
 * use and a negative ddns_err is returned.  Without tls_listen: 0.
 */
int ddns_server_reload(ddns_server *srv);

#endif
