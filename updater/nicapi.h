/*
 * nicapi.h -- the EGI JSON endpoints under /nic/ (same names, parameters
 * and reply shapes as the service we reimplement; schema/api/nic-*.json):
 * /nic/register, /nic/unregister, /nic/hosts, /nic/domains and
 * /nic/generate_secret.  Authenticated by "Authorization: Bearer" only (a
 * personal token or an OpenID access token), never by the cookie: they
 * change state with GET.  Every host operation checks ownership (admins:
 * any host).  /nic/update with a bearer token is server.c's.
 */
#ifndef DDNS_NICAPI_H
#define DDNS_NICAPI_H

#include <stdbool.h>

#include "api.h"
#include "auth.h"
#include "conf.h"
#include "http_util.h"

typedef struct ddns_nic ddns_nic;

struct ddns_nic_conf {
	ddns_api *api;		      /* borrowed: the host operations */
	ddns_auth *auth;	      /* borrowed */
	const struct ddns_conf *conf; /* read during ddns_nic_new only */
};

/* 0 or DDNS_ENOMEM (with ERR). */
int ddns_nic_new(ddns_nic **out, const struct ddns_nic_conf *c, char *err,
		 size_t errlen);
/* Free; pending identifications must have been cancelled first
 * (ddns_auth_free).  NULL is accepted. */
void ddns_nic_free(ddns_nic *n);

/* True if CTX's path is one of the endpoints above: CTX is then answered
 * (now or once its caller is known). */
bool ddns_nic_handle(ddns_nic *n, const struct ddns_http_ctx *ctx);

/* {"status": "error", "message": TEXT} with STATUS (401: with
 * WWW-Authenticate: Bearer realm="ddns"). */
void ddns_nic_error(struct evhttp_request *req, int status, const char *text);

/*
 * Parse a wildcard= value V: true, 1, yes (any case) -> *ON true; false,
 * 0, no or empty -> false.  False for anything else.
 */
bool ddns_nic_parse_bool(const char *v, bool *on);

#endif
