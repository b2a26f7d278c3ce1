/*
 * conf.h -- the one INI file read by ddns-updater, ddns-backend and ddnsctl.
 *
 * Every key is listed in one table in conf.c with its type and range.  An
 * unknown section or key, a bad value or a missing required key is an error
 * naming the file and line.  All three programs accept the whole file, so
 * one file can serve them all.
 */
#ifndef DDNS_CONF_H
#define DDNS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDNS_CONF_LIST_MAX 16 /* entries of a list-valued key */

struct ddns_conf_list {
	unsigned n;
	char *v[DDNS_CONF_LIST_MAX]; /* owned */
};

#define DDNS_CONF_OIDC_MAX 16 /* [oidc ID] sections */

/* One [oidc ID] section: an OpenID provider offered on the login page. */
struct ddns_conf_oidc {
	char id[33];          /* from the section name: [a-z0-9_-]{1,32} */
	char *title;          /* button text; NULL: the id */
	char *issuer;         /* required: https URL (http only for loopback) */
	char *client_id;      /* required */
	char *client_secret;  /* required: the key, or read from
				 client_secret_file at load time */
	char *scopes;         /* NULL: "openid profile email" */
	char *groups_claim;   /* e.g. eduperson_entitlement */
	char *admin_group;    /* members of this group are admins */
	char *ca_file;        /* NULL: the system's CA store */
	char *token_auth;     /* client_secret_basic | client_secret_post */
	bool allow_http;      /* plain http to a non-loopback issuer */
};

struct ddns_conf {
	char *file; /* path the config was read from; owned */

	/* [store] */
	char *store_path;     /* LMDB directory; required */
	uint64_t map_size;    /* bytes; default 1 GiB */

	/* [updater] */
	struct ddns_conf_list updater_listen; /* "ADDR:PORT", "[v6]:PORT" */
	unsigned updater_max_connections;     /* default 1024 */
	unsigned updater_timeout;             /* seconds, default 10 */
	unsigned updater_max_conns_per_source; /* per IPv4 / IPv6 /64; 0: no
						  cap; default 32 */
	struct ddns_conf_list updater_tls_listen; /* HTTPS listeners */
	char *updater_tls_cert;  /* PEM chain; required with tls_listen */
	char *updater_tls_key;   /* PEM key; required with tls_listen */
	/* Peers whose X-Forwarded-For / X-Real-IP is believed. */
	struct ddns_conf_list updater_trusted_proxies; /* "ADDR[/LEN]" */
	/* Clients allowed /metrics and /healthz; empty: loopback only. */
	struct ddns_conf_list updater_metrics_allow; /* "ADDR[/LEN]" */
	/* Run as this user (and group; default the user's own) once the
	 * listeners are bound and the store is open; NULL: stay as started. */
	char *updater_user;
	char *updater_group;

	/* [abuse] */
	unsigned abuse_client_faults;   /* faults per window that flag a host
					   as abuse; 0 = never; default 120 */
	unsigned abuse_fault_window;    /* seconds, default 3600 */
	unsigned abuse_auth_per_source; /* failed auths per window from one
					   address before 429; default 10 */
	unsigned abuse_auth_per_host;   /* failed auths per window for one
					   host before 429; default 30 */
	unsigned abuse_auth_window;     /* seconds, default 300 */

	/* [backend] */
	struct ddns_conf_list backend_listen; /* "unix:/path", "http:ADDR:PORT" */
	unsigned backend_socket_mode;         /* octal, default 0660 */
	unsigned backend_max_connections;     /* default 256 */
	char *backend_state; /* the backend's own LMDB directory (notified
			      serials, DNSSEC keys, metadata); NULL: none */
	char *backend_user;          /* as updater_user */
	char *backend_group;         /* as updater_group */
	char *backend_socket_group;  /* group of the unix socket; NULL: the
					starting process's group */
	struct ddns_conf_list backend_metrics_listen; /* "ADDR:PORT": /metrics
							 over HTTP; none */
	struct ddns_conf_list backend_metrics_allow;  /* empty: loopback */

	/* [pdns] */
	char *pdns_control_socket; /* NULL: no cache purges */
	unsigned pdns_purge_timeout_ms; /* default 1000 */

	/* [portal] */
	char *portal_public_url;     /* "https://ddns.example.org", no final
					slash; required with [oidc] sections */
	char *portal_static_dir;     /* the portal's files; NULL: built-in
					default */
	char *portal_update_url;     /* shown in client snippets; NULL: the
					page's own origin */
	unsigned portal_session_lifetime; /* seconds, default 43200 */
	bool portal_local_login;     /* password login offered; default true */

	/* [oidc ID] */
	unsigned n_oidc;
	struct ddns_conf_oidc oidc[DDNS_CONF_OIDC_MAX];

	/* [acme] (issue 7: DNS-01 challenges) */
	char *acme_path;	     /* httpreq prefix; NULL: "/acme" */
	unsigned acme_challenge_ttl; /* seconds a value lives; default 3600 */
	unsigned acme_max_values;    /* values per name; default 4 */

	/* [log] */
	int log_level; /* DDNS_LOG_*; default info */
};

/*
 * Read FILE into a new ddns_conf (*OUT, freed with ddns_conf_free).  On
 * failure return DDNS_EINVAL (or ENOMEM / EIO) and write a one-line message
 * "FILE:LINE: what is wrong" into ERR.
 */
int ddns_conf_load(const char *file, struct ddns_conf **out, char *err,
		   size_t errlen);

void ddns_conf_free(struct ddns_conf *c);

/* Parse sizes such as "1048576", "512M", "2G" into bytes.  0 or EINVAL. */
int ddns_parse_size(const char *s, uint64_t *out);

/* Range-checked unsigned decimal parse of the whole string.  0 or EINVAL. */
int ddns_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
