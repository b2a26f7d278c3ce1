/*
 * main.c -- ddns-backend: the PowerDNS 4.7 remote backend, read-only over
 * the ddns store.
 *
 *   ddns-backend -c FILE [--check-config] [--pipe]
 *
 * Exit status: 0 after a clean stop (SIGTERM, SIGINT, or end of input with
 * --pipe), 1 when the store or a listener cannot be opened or the switch
 * to [backend] user fails, 2 for a usage or configuration error.  Started
 * as root with [backend] user set, it runs as that user once listening.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "priv.h"
#include "rb_metrics.h"
#include "rb_server.h"
#include "store.h"

#define PROG "ddns-backend"

struct opts {
	const char *conf;
	bool check;
	bool pipe;
};

/* [backend] user, group and socket_group, resolved at start. */
struct privs {
	struct ddns_priv priv;
	bool sock_group;
	gid_t sock_gid;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " -c FILE [--check-config] [--pipe]\n"
		"  -c, --config FILE  the ddns configuration file\n"
		"  --check-config     validate FILE, print \"FILE: ok\", exit\n"
		"  --pipe             speak the protocol on stdin/stdout\n"
		"                     (pdns pipe connector)\n");
}

/* 0, or the exit status for a usage error (or for --help). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_CHECK = 256, OPT_PIPE };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"pipe", no_argument, NULL, OPT_PIPE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof *o);
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o->conf = optarg; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_PIPE: o->pipe = true; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (!o->conf || optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* Parse every [backend] listen entry into LS.  0, or 2 after a message. */
static int check_listen(const struct ddns_conf *c, struct rb_listen *ls)
{
	char err[256];

	for (unsigned i = 0; i < c->backend_listen.n; i++) {
		if (rb_listen_parse(c->backend_listen.v[i], &ls[i], err,
				    sizeof err) != 0) {
			fprintf(stderr, PROG ": %s: [backend] listen: %s\n",
				c->file, err);
			return 2;
		}
	}
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

/* The event loop.  The pipe connector may be handed regular files or a
 * terminal, which epoll refuses: poll takes anything. */
static struct event_base *make_base(bool pipe)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	if (pipe)
		event_config_avoid_method(cfg, "epoll");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Open the connectors the options and config ask for.  0 or DDNS_E*. */
static int start(rb_server *srv, const struct ddns_conf *c,
		 const struct rb_listen *ls, bool pipe)
{
	int rc;

	if (pipe)
		return rb_server_pipe(srv, STDIN_FILENO, STDOUT_FILENO);
	for (unsigned i = 0; i < c->backend_listen.n; i++) {
		rc = rb_server_listen(srv, &ls[i], c->backend_socket_mode);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Resolve [backend] user, group and socket_group.  0, or 2 after a
 * message. */
static int check_privs(const struct ddns_conf *c, struct privs *p)
{
	char err[256];

	memset(p, 0, sizeof *p);
	if (ddns_priv_lookup(c->backend_user, c->backend_group, &p->priv, err,
			     sizeof err) != 0 ||
	    (c->backend_socket_group &&
	     ddns_priv_group(c->backend_socket_group, &p->sock_gid, err,
			     sizeof err) != 0)) {
		fprintf(stderr, PROG ": %s: [backend]: %s\n", c->file, err);
		return 2;
	}
	p->sock_group = c->backend_socket_group != NULL;
	return 0;
}

/* Once listening: hand the unix sockets to socket_group, then become
 * [backend] user (the pipe connector, run by pdns, only if root).  0 or
 * DDNS_EIO (logged). */
static int drop_root(const struct ddns_conf *c, const struct rb_listen *ls,
		     bool pipe, const struct privs *p)
{
	char err[256];

	for (unsigned i = 0; !pipe && p->sock_group &&
			     i < c->backend_listen.n; i++) {
		if (ls[i].kind == RB_LISTEN_UNIX &&
		    chown(ls[i].path, (uid_t)-1, p->sock_gid) != 0) {
			log_err("cannot give %s to group %s: %s", ls[i].path,
				c->backend_socket_group, strerror(errno));
			return DDNS_EIO;
		}
	}
	if (!p->priv.set || (pipe && geteuid() != 0))
		return 0;
	/* the state environment was opened (maybe created) as root */
	if (c->backend_state &&
	    ddns_priv_chown_store(&p->priv, c->backend_state, err,
				  sizeof err) != 0) {
		log_err("%s", err);
		return DDNS_EIO;
	}
	if (ddns_priv_drop(&p->priv, err, sizeof err) != 0) {
		log_err("%s", err);
		return DDNS_EIO;
	}
	log_info("running as user %s (uid %u, gid %u)", p->priv.user,
		 (unsigned)p->priv.uid, (unsigned)p->priv.gid);
	return 0;
}

/* The metrics listener of [backend] metrics_listen, if any, counting for
 * SRV.  0, or 1 (logged).  The pipe connector serves none: pdns starts one
 * process per thread, which would all want the one port. */
static int start_metrics(rb_server *srv, const struct ddns_conf *c,
			 bool pipe, struct event_base *base, rb_metrics **m)
{
	char err[256];

	if (c->backend_metrics_listen.n == 0)
		return 0;
	if (pipe) {
		log_debug("metrics_listen is not served with --pipe");
		return 0;
	}
	if (rb_metrics_new(base, c, m, err, sizeof err) != 0) {
		log_err("%s", err);
		return 1;
	}
	rb_server_set_metrics(srv, *m);
	return 0;
}

/* Run until a signal, or until the pipe's input ends.  Exit status. */
static int run(const struct ddns_conf *c, const struct rb_listen *ls,
	       bool pipe, ddns_store *store, const struct privs *privs)
{
	struct event *sigterm = NULL, *sigint = NULL;
	struct event_base *base = make_base(pipe);
	rb_server *srv = NULL;
	rb_metrics *metrics = NULL;
	int status = 1;

	if (!base || rb_server_new(base, store, c->backend_max_connections,
				   &srv) != 0) {
		log_err("out of memory");
		goto done;
	}
	if (c->backend_state &&
	    rb_server_open_state(srv, c->backend_state) != 0)
		goto done;
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0) {
		log_err("cannot set up signal handling");
		goto done;
	}
	if (start(srv, c, ls, pipe) != 0 ||
	    start_metrics(srv, c, pipe, base, &metrics) != 0 ||
	    drop_root(c, ls, pipe, privs) != 0)
		goto done;
	log_info("ready: store %s, %s", c->store_path,
		 pipe ? "pipe connector" : "listening");
	if (event_base_dispatch(base) < 0)
		log_err("event loop failed");
	else
		status = 0;
done:
	rb_server_free(srv);
	rb_metrics_free(metrics);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (base)
		event_base_free(base);
	return status;
}

int main(int argc, char **argv)
{
	struct rb_listen ls[DDNS_CONF_LIST_MAX];
	struct ddns_conf *conf = NULL;
	ddns_store *store = NULL;
	struct privs privs;
	struct opts o;
	char err[512];
	int status;

	umask(077); /* the socket's mode is set explicitly */
	status = parse_args(argc, argv, &o);
	if (status != 0)
		return status < 0 ? 0 : status;
	ddns_log_init(PROG, DDNS_LOG_INFO);
	if (ddns_conf_load(o.conf, &conf, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	status = check_listen(conf, ls);
	if (status == 0)
		status = check_privs(conf, &privs);
	if (status == 0 && !o.check && !o.pipe && conf->backend_listen.n == 0) {
		fprintf(stderr, PROG ": %s: no [backend] listen entry "
				"(or run with --pipe)\n", conf->file);
		status = 2;
	}
	if (status != 0 || o.check) {
		if (status == 0)
			printf("%s: ok\n", o.conf);
		ddns_conf_free(conf);
		return status;
	}
	ddns_log_init(PROG, conf->log_level);
	signal(SIGPIPE, SIG_IGN);
	if (ddns_store_open(&store, conf->store_path, DDNS_STORE_RDONLY, 0,
			    err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		ddns_conf_free(conf);
		return 1;
	}
	status = run(conf, ls, o.pipe, store, &privs);
	ddns_store_close(store);
	ddns_conf_free(conf);
	return status;
}
