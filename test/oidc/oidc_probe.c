/*
 * oidc_probe.c -- drive updater/oidc.c by hand or from a script, against
 * a real OpenID provider (test/oidc/e2e.py starts one).  Not installed.
 *
 *   oidc-probe --issuer URL --client-id ID --client-secret-file FILE
 *              --redirect-uri URI [--scopes S] [--groups-claim C]
 *              [--admin-group G] [--token-auth METHOD] [--ca-file F]
 *
 * Reads one command per line on stdin and answers each with one JSON
 * line on stdout:
 *   begin [RETURN_PATH]  -> {"op":"begin","err":0,"url":"...",
 *                            "binding":"..."} (the browser's cookie)
 *   finish BINDING QUERY -> {"op":"finish","err":0,"return_to":"/",
 *                            "identity":{...}}
 *   bearer TOKEN         -> {"op":"bearer","err":0,"identity":{...}}
 * and on failure "err" (the code), "error" (its text) and "detail".
 * The provider is always "probe".  EOF or "quit" ends it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "err.h"
#include "log.h"
#include "oidc.h"

struct probe {
	struct event_base *base;
	struct bufferevent *in;
	ddns_oidc *rp;
	const char *op;
	bool busy;
};

static json_t *identity_json(const struct ddns_oidc_identity *id)
{
	json_t *g = json_array();

	for (unsigned i = 0; i < id->n_groups; i++)
		json_array_append_new(g, json_string(id->groups[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:o}",
			 "provider", id->provider, "issuer", id->issuer,
			 "subject", id->subject, "name", id->name, "username",
			 id->username, "email", id->email, "email_verified",
			 id->email_verified, "admin", id->admin, "groups", g);
}

static void on_read(struct bufferevent *bev, void *arg);

static void on_result(const struct ddns_oidc_result *r, void *arg)
{
	struct probe *p = arg;
	json_t *out = json_pack("{s:s, s:i}", "op", p->op, "err", r->err);
	char *line;

	if (r->err) {
		json_object_set_new(out, "error",
				    json_string(ddns_oidc_strerror(r->err)));
		json_object_set_new(out, "detail", json_string(r->detail));
	}
	if (r->url)
		json_object_set_new(out, "url", json_string(r->url));
	if (r->binding)
		json_object_set_new(out, "binding", json_string(r->binding));
	if (r->return_to && strcmp(p->op, "finish") == 0)
		json_object_set_new(out, "return_to",
				    json_string(r->return_to));
	if (r->id)
		json_object_set_new(out, "identity", identity_json(r->id));
	line = json_dumps(out, JSON_COMPACT);
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	json_decref(out);
	p->busy = false;
	bufferevent_enable(p->in, EV_READ);
	on_read(p->in, p); /* commands that came meanwhile */
}

/* "finish BINDING QUERY" */
static int finish(struct probe *p, char *arg)
{
	char *q = strchr(arg, ' ');

	if (!q)
		return DDNS_EINVAL;
	*q++ = '\0';
	return ddns_oidc_login_finish(p->rp, q, strlen(q), arg, strlen(arg),
				      on_result, p, NULL);
}

/* Start the command LINE; false when it was answered at once. */
static bool command(struct probe *p, char *line)
{
	char *arg = strchr(line, ' ');
	int rc;

	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	p->op = strcmp(line, "begin") == 0    ? "begin"
		: strcmp(line, "finish") == 0 ? "finish"
		: strcmp(line, "bearer") == 0 ? "bearer"
					      : NULL;
	if (!p->op) {
		printf("{\"op\":\"?\",\"err\":-2,\"error\":\"unknown "
		       "command\"}\n");
		fflush(stdout);
		return false;
	}
	if (strcmp(p->op, "begin") == 0)
		rc = ddns_oidc_login_begin(p->rp, "probe", arg, on_result, p,
					   NULL);
	else if (strcmp(p->op, "finish") == 0)
		rc = finish(p, arg);
	else
		rc = ddns_oidc_bearer(p->rp, NULL, arg, strlen(arg), on_result,
				      p, NULL);
	if (rc != 0) {
		printf("{\"op\":\"%s\",\"err\":%d,\"error\":\"%s\"}\n", p->op,
		       rc, ddns_oidc_strerror(rc));
		fflush(stdout);
		return false;
	}
	return true;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct probe *p = arg;
	char *line;

	while (!p->busy &&
	       (line = evbuffer_readln(bufferevent_get_input(bev), NULL,
				       EVBUFFER_EOL_LF)) != NULL) {
		if (strcmp(line, "quit") == 0) {
			event_base_loopexit(p->base, NULL);
		} else if (command(p, line)) {
			p->busy = true; /* one command at a time */
			bufferevent_disable(bev, EV_READ);
		}
		free(line);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe *p = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		event_base_loopexit(p->base, NULL);
}

static char *read_secret(const char *file)
{
	FILE *f = fopen(file, "r");
	char buf[512], *nl;

	if (!f || !fgets(buf, sizeof buf, f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	if ((nl = strchr(buf, '\n')))
		*nl = '\0';
	return strdup(buf);
}

static int usage(void)
{
	fprintf(stderr, "usage: oidc-probe --issuer URL --client-id ID "
			"--client-secret-file FILE --redirect-uri URI "
			"[--scopes S] [--groups-claim C] [--admin-group G] "
			"[--token-auth METHOD] [--ca-file F]\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct ddns_oidc_provider_conf *pc,
		      struct ddns_oidc_conf *c, const char **secret_file)
{
	static const struct option opts[] = {
	    {"issuer", 1, NULL, 'i'},
	    {"client-id", 1, NULL, 'c'},
	    {"client-secret-file", 1, NULL, 's'},
	    {"redirect-uri", 1, NULL, 'r'},
	    {"scopes", 1, NULL, 'o'},
	    {"groups-claim", 1, NULL, 'g'},
	    {"admin-group", 1, NULL, 'a'},
	    {"token-auth", 1, NULL, 't'},
	    {"ca-file", 1, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			pc->issuer = optarg;
			break;
		case 'c':
			pc->client_id = optarg;
			break;
		case 's':
			*secret_file = optarg;
			break;
		case 'r':
			c->redirect_uri = optarg;
			break;
		case 'o':
			pc->scopes = optarg;
			break;
		case 'g':
			pc->groups_claim = optarg;
			break;
		case 'a':
			pc->admin_group = optarg;
			break;
		case 't':
			pc->token_auth = optarg;
			break;
		case 'f':
			pc->ca_file = optarg;
			break;
		default:
			return -1;
		}
	}
	return pc->issuer && pc->client_id && *secret_file && c->redirect_uri
		   ? 0
		   : -1;
}

int main(int argc, char **argv)
{
	struct ddns_oidc_provider_conf pc = {.id = "probe", .title = "Probe"};
	struct ddns_oidc_conf c = {.n_providers = 1, .providers = &pc};
	struct probe p = {0};
	const char *secret_file = NULL;
	char *secret, err[512];

	ddns_log_init("oidc-probe", DDNS_LOG_DEBUG);
	if (parse_args(argc, argv, &pc, &c, &secret_file) != 0)
		return usage();
	if (!(secret = read_secret(secret_file))) {
		fprintf(stderr, "oidc-probe: cannot read %s\n", secret_file);
		return 1;
	}
	pc.client_secret = secret;
	p.base = event_base_new();
	if (ddns_oidc_new(&p.rp, p.base, &c, err, sizeof err) != 0) {
		fprintf(stderr, "oidc-probe: %s\n", err);
		return 1;
	}
	p.in = bufferevent_socket_new(p.base, 0, 0);
	bufferevent_setcb(p.in, on_read, NULL, on_event, &p);
	bufferevent_enable(p.in, EV_READ);
	event_base_dispatch(p.base);
	bufferevent_free(p.in);
	ddns_oidc_free(p.rp);
	event_base_free(p.base);
	free(secret);
	return 0;
}
