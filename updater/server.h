/*
 * server.h -- ddns-updater's HTTP side: evhttp on every [updater] listen
 * address, the dyndns2 routes, the connection limit, and the group commit
 * that writes the updates of one event-loop iteration in one transaction.
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
 * Bind every address of conf->updater_listen and serve on BASE.  STORE and
 * PURGER (may be NULL) are borrowed and must outlive the server; CONF is
 * read only during the call.  On failure return a negative ddns_err and
 * write a one-line message (which address, why) into ERR.
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

#endif
