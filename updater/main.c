/*
 * main.c -- ddns-updater: the dyndns2 HTTP server, the portal with its
 * JSON API and logins (server.h), and the store's only long-running
 * writer.
 *
 *   ddns-updater -c FILE [--check-config]
 *
 * SIGHUP reloads the TLS certificate and key.  Exit status: 0 after a
 * clean stop (SIGTERM, SIGINT) or a good --check-config, 2 for a bad
 * command line or configuration, 1 when the store cannot be opened, an
 * address cannot be bound or the TLS certificate or key cannot be loaded
 * (--check-config loads them too), or the switch to [updater] user fails.
 * Started as root with [updater] user set, it runs as that user once the
 * listeners are bound and the store is open (priv.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "priv.h"
#include "purge.h"
#include "server.h"
#include "store.h"
#include "tls.h"

#define PROG	   "ddns-updater"
#define FD_RESERVE 64 /* descriptors besides client connections */

struct opts {
	const char *conf;
	bool check;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " -c FILE [--check-config]\n"
		   "  -c, --config FILE   the ddns configuration file\n"
		   "      --check-config  check FILE, print \"FILE: ok\" and "
		   "exit\n");
}

/* 0, 1 (help printed: exit 0) or -1 (usage error). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->conf = optarg;
			break;
		case 'C':
			o->check = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc || !o->conf)
		return -1;
	return 0;
}

static int check_addrs(const struct ddns_conf *c, const char *key,
		       const struct ddns_conf_list *l)
{
	struct sockaddr_storage ss;
	socklen_t len;

	for (unsigned i = 0; i < l->n; i++) {
		if (ddns_hostport_parse(l->v[i], &ss, &len) != 0) {
			fprintf(stderr,
				PROG ": %s: [updater] %s: invalid address '%s' "
				     "(want ADDR:PORT or [IPV6]:PORT)\n",
				c->file, key, l->v[i]);
			return DDNS_EINVAL;
		}
	}
	return 0;
}

/* The listen addresses must parse; binding them is for later. */
static int check_listen(const struct ddns_conf *c)
{
	if (c->updater_listen.n == 0 && c->updater_tls_listen.n == 0) {
		fprintf(stderr,
			PROG ": %s: [updater] neither listen nor tls_listen "
			     "is set\n",
			c->file);
		return DDNS_EINVAL;
	}
	if (check_addrs(c, "listen", &c->updater_listen) != 0 ||
	    check_addrs(c, "tls_listen", &c->updater_tls_listen) != 0)
		return DDNS_EINVAL;
	return 0;
}

/* --check-config: the certificate and key must load.  0 or 1 (exit). */
static int check_tls(const struct ddns_conf *c)
{
	ddns_tls *tls = NULL;
	char err[512];

	if (c->updater_tls_listen.n == 0)
		return 0;
	if (ddns_tls_new(&tls, c->updater_tls_cert, c->updater_tls_key, err,
			 sizeof err) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", c->file, err);
		return 1;
	}
	ddns_tls_free(tls);
	return 0;
}

/* Room for max_connections sockets plus our own descriptors. */
static void raise_nofile(unsigned max_conns)
{
	rlim_t want = (rlim_t)max_conns + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
			  ? want
			  : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
		log_warn("open-file limit %llu is below max_connections + %d; "
			 "accepting may fail under load",
			 (unsigned long long)rl.rlim_cur, FD_RESERVE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d received, stopping", (int)sig);
	event_base_loopexit(arg, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	log_info("SIGHUP received, reloading the TLS certificate and key");
	ddns_server_reload(arg); /* logs the outcome */
}

static int add_signal(struct event_base *base, int sig, struct event **ev,
		      event_callback_fn cb, void *arg)
{
	*ev = evsignal_new(base, sig, cb, arg);
	return *ev && evsignal_add(*ev, NULL) == 0 ? 0 : DDNS_ENOMEM;
}

/* After binding and opening the store: give the store to [updater] user
 * and become that user.  0, or 1 (logged). */
static int drop_root(const struct ddns_conf *conf, const struct ddns_priv *p)
{
	char err[512];

	if (!p->set)
		return 0;
	if (ddns_priv_chown_store(p, conf->store_path, err, sizeof err) != 0 ||
	    ddns_priv_drop(p, err, sizeof err) != 0) {
		log_err("%s", err);
		return 1;
	}
	log_info("running as user %s (uid %u, gid %u)", p->user,
		 (unsigned)p->uid, (unsigned)p->gid);
	return 0;
}

static int run(const struct ddns_conf *conf, const struct ddns_priv *priv)
{
	struct event_base *base = NULL;
	struct event *sigterm = NULL, *sigint = NULL, *sighup = NULL;
	ddns_store *store = NULL;
	ddns_purger *purger = NULL;
	ddns_server *srv = NULL;
	char err[512];
	int ret = 1;

	if (!(base = event_base_new())) {
		log_err("cannot create the event loop");
		goto out;
	}
	if (ddns_store_open(&store, conf->store_path, DDNS_STORE_CREATE,
			    conf->map_size, err, sizeof err) != 0) {
		log_err("%s", err);
		goto out;
	}
	if (!(purger = ddns_purger_new(base, conf->pdns_control_socket,
				       conf->pdns_purge_timeout_ms))) {
		log_err("out of memory");
		goto out;
	}
	raise_nofile(conf->updater_max_connections);
	if (ddns_server_new(&srv, base, store, purger, conf, err, sizeof err) !=
	    0) {
		log_err("%s", err);
		goto out;
	}
	if (drop_root(conf, priv) != 0)
		goto out;
	if (add_signal(base, SIGTERM, &sigterm, on_signal, base) != 0 ||
	    add_signal(base, SIGINT, &sigint, on_signal, base) != 0 ||
	    add_signal(base, SIGHUP, &sighup, on_hup, srv) != 0) {
		log_err("cannot install signal handlers");
		goto out;
	}
	if (!conf->pdns_control_socket)
		log_info("no [pdns] control_socket: cache purges are off");
	log_info("ready (store %s)", conf->store_path);
	if (event_base_dispatch(base) < 0) {
		log_err("event loop failed");
		goto out;
	}
	ret = 0;
out:
	ddns_server_free(srv); /* commits what is queued */
	ddns_purger_free(purger);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (sighup)
		event_free(sighup);
	ddns_store_close(store);
	if (base)
		event_base_free(base);
	if (ret == 0)
		log_info("stopped");
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct ddns_conf *conf = NULL;
	struct ddns_priv priv;
	char err[512];
	int rc;

	umask(077); /* the store, and anything else we create, is private */
	ddns_log_init(PROG, DDNS_LOG_INFO);
	rc = parse_args(argc, argv, &o);
	if (rc != 0) {
		if (rc < 0)
			usage(stderr);
		return rc < 0 ? 2 : 0;
	}
	if (ddns_conf_load(o.conf, &conf, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	if (check_listen(conf) != 0) {
		ddns_conf_free(conf);
		return 2;
	}
	if (ddns_priv_lookup(conf->updater_user, conf->updater_group, &priv, err,
			     sizeof err) != 0) {
		fprintf(stderr, PROG ": %s: [updater] user/group: %s\n",
			conf->file, err);
		ddns_conf_free(conf);
		return 2;
	}
	if (o.check) {
		rc = check_tls(conf);
		if (rc == 0)
			printf("%s: ok\n", o.conf);
		ddns_conf_free(conf);
		return rc;
	}
	ddns_log_init(NULL, conf->log_level);
	signal(SIGPIPE, SIG_IGN);
	rc = run(conf, &priv);
	ddns_conf_free(conf);
	return rc;
}
