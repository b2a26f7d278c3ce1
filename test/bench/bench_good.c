/*
 * bench_good.c -- the ceiling of the update benchmark: a bare libevent
 * evhttp server on 127.0.0.1:PORT that answers every request with
 * "good 100.64.0.1" and the headers ddns-updater sends with it, without
 * parsing, authenticating or storing anything.  What evhttp itself allows
 * on this machine, driven by the same load generator; never a server to
 * deploy.
 *
 *   bench-good PORT
 *
 * Stops on SIGTERM or SIGINT.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#define BODY "good 100.64.0.1"

static void on_request(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char clen[24];

	(void)arg;
	snprintf(clen, sizeof clen, "%zu", sizeof BODY - 1);
	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Content-Length", clen);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add(evhttp_request_get_output_buffer(req), BODY,
		     sizeof BODY - 1);
	evhttp_send_reply(req, 200, NULL, NULL);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct event *sterm = NULL, *sint = NULL;
	char *end = NULL;
	unsigned long port = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	int rc = 1;

	if (port == 0 || port > 65535 || !end || *end) {
		fprintf(stderr, "usage: bench-good PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!(base = event_base_new()) || !(http = evhttp_new(base)))
		goto fail;
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 65536);
	evhttp_set_timeout(http, 10);
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
		perror("bench-good: bind");
		goto fail;
	}
	sterm = evsignal_new(base, SIGTERM, on_signal, base);
	sint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sterm || !sint || event_add(sterm, NULL) || event_add(sint, NULL))
		goto fail;
	rc = event_base_dispatch(base) < 0;
fail:
	if (sterm)
		event_free(sterm);
	if (sint)
		event_free(sint);
	if (http)
		evhttp_free(http);
	if (base)
		event_base_free(base);
	return rc;
}
