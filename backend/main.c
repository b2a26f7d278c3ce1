/*
 * main.c -- ddns-backend: the PowerDNS 4.7 remote backend, read-only over
 * the ddns store.
 *
 *   ddns-backend -c FILE [--check-config] [--pipe]
 *
 * Exit status: 0 after a clean stop (SIGTERM, SIGINT, or end of input with
 * --pipe), 1 when the store or a listener cannot be opened, 2 for a usage
 * or configuration error.
 */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "err.h"
#include "log.h"
#include "rb_server.h"
#include "store.h"

#define PROG "ddns-backend"

struct opts {
	const char *conf;
	bool check;
	bool pipe;
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

/* Run until a signal, or until the pipe's input ends.  Exit status. */
static int run(const struct ddns_conf *c, const struct rb_listen *ls,
	       bool pipe, ddns_store *store)
{
	struct event *sigterm = NULL, *sigint = NULL;
	struct event_base *base = make_base(pipe);
	rb_server *srv = NULL;
	int status = 1;

	if (!base || rb_server_new(base, store, c->backend_max_connections,
				   &srv) != 0) {
		log_err("out of memory");
		goto done;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0) {
		log_err("cannot set up signal handling");
		goto done;
	}
	if (start(srv, c, ls, pipe) != 0)
		goto done;
	log_info("ready: store %s, %s", c->store_path,
		 pipe ? "pipe connector" : "listening");
	if (event_base_dispatch(base) < 0)
		log_err("event loop failed");
	else
		status = 0;
done:
	rb_server_free(srv);
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
	struct opts o;
	char err[512];
	int status;

	status = parse_args(argc, argv, &o);
	if (status != 0)
		return status < 0 ? 0 : status;
	ddns_log_init(PROG, DDNS_LOG_INFO);
	if (ddns_conf_load(o.conf, &conf, err, sizeof err) != 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 2;
	}
	status = check_listen(conf, ls);
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
	status = run(conf, ls, o.pipe, store);
	ddns_store_close(store);
	ddns_conf_free(conf);
	return status;
}
