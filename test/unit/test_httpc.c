/*
 * test_httpc.c -- the asynchronous HTTP(S) client against servers in this
 * process on 127.0.0.1: plain replies, form posts, the body cap, the
 * deadline, refused connections, and HTTPS with a CA made here: trusted
 * through ca_file, refused by the system store, refused when the
 * certificate names another host.  Cancelling and freeing with requests
 * in flight never calls back.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "err.h"
#include "httpc.h"
#include "log.h"

static struct event_base *base;
static int plain_port, tls_port, dead_port;
static SSL_CTX *server_ctx; /* what the TLS listener serves now */

/* ---- certificates ------------------------------------------------------- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for KEY named CN, signed by CA_KEY (CA NULL: self). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca,
		       EVP_PKEY *ca_key, const char *san)
{
	X509 *x = X509_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffff));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca ? ca : x));
	if (!ca) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, ca, NID_subject_alt_name, san);
		add_ext(x, ca, NID_ext_key_usage, "serverAuth");
	}
	X509_sign(x, ca_key, EVP_sha256());
	return x;
}

static SSL_CTX *server_ctx_new(X509 *cert, EVP_PKEY *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	SSL_CTX_use_certificate(ctx, cert);
	SSL_CTX_use_PrivateKey(ctx, key);
	return ctx;
}

/* ---- servers ------------------------------------------------------------ */

static void reply(struct evhttp_request *req, int status, const char *body,
		  size_t len)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	evhttp_send_reply(req, status, NULL, NULL);
}

static void echo(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *ct = evhttp_find_header(h, "Content-Type");
	const char *au = evhttp_find_header(h, "Authorization");
	const char *host = evhttp_find_header(h, "Host");
	char out[512], body[128] = "";

	evbuffer_copyout(in, body, sizeof body - 1);
	snprintf(out, sizeof out, "%s|%s|%s|%s|%s|%s",
		 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST"
								    : "GET",
		 evhttp_request_get_uri(req), host ? host : "", ct ? ct : "",
		 au ? au : "", body);
	reply(req, 200, out, strlen(out));
}

static void on_request(struct evhttp_request *req, void *arg)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	static char big[5000];

	if (strcmp(path, "/hello") == 0) {
		reply(req, 200, "hello", 5);
	} else if (strcmp(path, "/echo") == 0) {
		echo(req);
	} else if (strcmp(path, "/big") == 0) {
		memset(big, 'b', sizeof big);
		reply(req, 200, big, sizeof big);
	} else if (strcmp(path, "/hang") == 0) {
		/* never answered: evhttp_free drops it at the end */
	} else {
		reply(req, 404, "no", 2);
	}
}

static struct bufferevent *on_accept_tls(struct event_base *b, void *arg)
{
	SSL *ssl = SSL_new(server_ctx);

	return bufferevent_openssl_socket_new(
	    b, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static int port_of(evutil_socket_t fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	getsockname(fd, (struct sockaddr *)&sin, &len);
	return ntohs(sin.sin_port);
}

static struct evhttp *serve(bool tls, int *port)
{
	struct evhttp *h = evhttp_new(base);
	struct evhttp_bound_socket *s;

	evhttp_set_gencb(h, on_request, NULL);
	if (tls)
		evhttp_set_bevcb(h, on_accept_tls, NULL);
	s = evhttp_bind_socket_with_handle(h, "127.0.0.1", 0);
	*port = port_of(evhttp_bound_socket_get_fd(s));
	return h;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in sin = {.sin_family = AF_INET};

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	port = port_of(fd);
	close(fd);
	return port;
}

/* ---- the client --------------------------------------------------------- */

struct got {
	int calls, err, status;
	char body[6000], why[256], ctype[64];
	size_t len;
	ddns_httpc *free_me;  /* freed from the callback */
	ddns_httpc_req *self; /* cancelled from the callback */
};

static void on_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->err = r->err;
	g->status = r->status;
	g->len = r->len;
	snprintf(g->body, sizeof g->body, "%s", r->body);
	snprintf(g->why, sizeof g->why, "%s", r->why ? r->why : "");
	snprintf(g->ctype, sizeof g->ctype, "%s", r->content_type);
	ddns_httpc_cancel(g->self); /* a no-op now */
	if (g->free_me)
		ddns_httpc_free(g->free_me);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

static void run(struct got *g)
{
	bool late = false;
	struct timeval tv = {10, 0};
	struct event *dog = evtimer_new(base, on_watchdog, &late);

	evtimer_add(dog, &tv);
	while (g->calls == 0 && !late)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK(!late);
	event_free(dog);
}

static ddns_httpc *client(const char *ca_file, unsigned timeout,
			  size_t max_body)
{
	struct ddns_httpc_conf c = {
	    .ca_file = ca_file, .timeout = timeout, .max_body = max_body};
	ddns_httpc *h = NULL;
	char err[256];

	CHECK_INT(ddns_httpc_new(&h, base, &c, err, sizeof err), 0);
	return h;
}

/* GET (FORM NULL) or POST URL with C; the outcome in G. */
static int fetch(ddns_httpc *c, const char *url, const char *form,
		 const char *auth, struct got *g)
{
	struct ddns_httpc_call call = {.url = url,
				       .form = form,
				       .form_len = form ? strlen(form) : 0,
				       .authorization = auth};
	int rc;

	memset(g, 0, sizeof *g);
	rc = ddns_httpc_request(c, &call, on_reply, g, NULL);
	if (rc == 0)
		run(g);
	return rc;
}

static void test_urls(void)
{
	ddns_httpc *c = client(NULL, 0, 0);
	struct got g;
	char url[3000];

	CHECK(ddns_httpc_url_allowed("https://idp.example.org/x", false));
	CHECK(ddns_httpc_url_allowed("http://127.0.0.1:8080/x", false));
	CHECK(ddns_httpc_url_allowed("http://127.1.2.3/", false));
	CHECK(ddns_httpc_url_allowed("http://[::1]:5556/.well-known", false));
	CHECK(ddns_httpc_url_allowed("http://localhost:5556/", false));
	CHECK(!ddns_httpc_url_allowed("http://idp.example.org/", false));
	CHECK(!ddns_httpc_url_allowed("http://10.0.0.1/", false));
	CHECK(!ddns_httpc_url_allowed("http://[::2]/", false));
	CHECK(!ddns_httpc_url_allowed("http://127.0.0.1.evil.example/", false));
	CHECK(ddns_httpc_url_allowed("http://idp.example.org/", true));
	CHECK(!ddns_httpc_url_allowed("ftp://idp.example.org/", true));
	CHECK(!ddns_httpc_url_allowed("https://u:p@idp.example.org/", false));
	CHECK(!ddns_httpc_url_allowed("https://idp.example.org/a b", false));
	CHECK(!ddns_httpc_url_allowed("https://idp.example.org:99999/", false));
	CHECK(!ddns_httpc_url_allowed("https:///nohost", false));
	CHECK(!ddns_httpc_url_allowed("idp.example.org/x", false));
	CHECK(ddns_httpc_host_loopback("[::1]"));
	CHECK(!ddns_httpc_host_loopback("::1")); /* evhttp keeps brackets */
	CHECK(!ddns_httpc_host_loopback("128.0.0.1"));
	/* refused at once, no callback */
	CHECK_INT(fetch(c, "http://idp.example.org/", NULL, NULL, &g),
		  DDNS_EINVAL);
	CHECK_INT(fetch(c, "gopher://127.0.0.1/", NULL, NULL, &g), DDNS_EINVAL);
	memset(url, 'a', sizeof url - 1);
	url[sizeof url - 1] = '\0';
	memcpy(url, "https://x/", 10);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), DDNS_ETOOBIG);
	CHECK_INT(g.calls, 0);
	ddns_httpc_free(c);
}

static void test_plain(void)
{
	ddns_httpc *c = client(NULL, 1, 1000);
	struct got g;
	char url[128];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, 0);
	CHECK_INT(g.status, 200);
	CHECK_STR(g.body, "hello");
	CHECK_INT(g.len, 5);
	CHECK_STR(g.ctype, "text/plain");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/echo?a=1&b=%%20",
		 plain_port);
	CHECK_INT(fetch(c, url, "x=1&y=2", "Basic Zm9vOmJhcg==", &g), 0);
	snprintf(url, sizeof url,
		 "POST|/echo?a=1&b=%%20|127.0.0.1:%d|"
		 "application/x-www-form-urlencoded|Basic Zm9vOmJhcg==|x=1&y=2",
		 plain_port);
	CHECK_STR(g.body, url);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/missing", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, 0);
	CHECK_INT(g.status, 404);
	/* over the cap of 1000 bytes */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/big", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_ETOOBIG);
	CHECK_INT(g.status, 0);
	CHECK_STR(g.body, "");
	/* no answer within the 1 s deadline */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_EIO);
	CHECK(strstr(g.why, "timeout") != NULL);
	/* nobody listening */
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", dead_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_EIO);
	/* https to a plain server */
	snprintf(url, sizeof url, "https://127.0.0.1:%d/hello", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_EIO);
	ddns_httpc_free(c);
	/* the default cap takes the big reply */
	c = client(NULL, 0, 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/big", plain_port);
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, 0);
	CHECK_INT(g.len, 5000);
	ddns_httpc_free(c);
}

static void test_tls(const char *ca_file, SSL_CTX *good, SSL_CTX *other)
{
	ddns_httpc *c = client(ca_file, 5, 0), *sys = client(NULL, 5, 0);
	struct got g;
	char url[128];

	snprintf(url, sizeof url, "https://127.0.0.1:%d/hello", tls_port);
	server_ctx = good;
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, 0);
	CHECK_INT(g.status, 200);
	CHECK_STR(g.body, "hello");
	/* not trusted by the system store */
	CHECK_INT(fetch(sys, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_EIO);
	CHECK(strstr(g.why, "certificate verify failed") != NULL);
	/* a good certificate for another name */
	server_ctx = other;
	CHECK_INT(fetch(c, url, NULL, NULL, &g), 0);
	CHECK_INT(g.err, DDNS_EIO);
	CHECK(strstr(g.why, "mismatch") != NULL);
	server_ctx = good;
	/* a missing CA file is an error at once */
	{
		struct ddns_httpc_conf hc = {.ca_file = "/nonexistent.pem"};
		ddns_httpc *bad = NULL;
		char err[256];

		CHECK_INT(ddns_httpc_new(&bad, base, &hc, err, sizeof err),
			  DDNS_EIO);
		CHECK(strstr(err, "/nonexistent.pem") != NULL);
	}
	ddns_httpc_free(sys);
	ddns_httpc_free(c);
}

static void test_cancel(void)
{
	ddns_httpc *c = client(NULL, 5, 0);
	struct ddns_httpc_call call = {0};
	struct got a = {0}, b = {0}, d = {0};
	ddns_httpc_req *h = NULL;
	char url[128], hang[128];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", plain_port);
	snprintf(hang, sizeof hang, "http://127.0.0.1:%d/hang", plain_port);
	call.url = url;
	CHECK_INT(ddns_httpc_request(c, &call, on_reply, &a, &h), 0);
	ddns_httpc_cancel(h);
	CHECK_INT(ddns_httpc_request(c, &call, on_reply, &b, NULL), 0);
	run(&b);
	CHECK_INT(b.err, 0);
	CHECK_INT(a.calls, 0);
	/* freed with a request in flight */
	call.url = hang;
	CHECK_INT(ddns_httpc_request(c, &call, on_reply, &a, NULL), 0);
	ddns_httpc_free(c);
	CHECK_INT(a.calls, 0);
	/* freed from a callback, with another request in flight */
	c = client(NULL, 5, 0);
	call.url = hang;
	CHECK_INT(ddns_httpc_request(c, &call, on_reply, &a, NULL), 0);
	call.url = url;
	d.free_me = c;
	CHECK_INT(ddns_httpc_request(c, &call, on_reply, &d, &d.self), 0);
	run(&d);
	CHECK_INT(d.calls, 1);
	CHECK_INT(a.calls, 0);
}

int main(void)
{
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca = make_cert(ca_key, "ddns test CA", NULL, ca_key, NULL);
	X509 *leaf = make_cert(key, "127.0.0.1", ca, ca_key, "IP:127.0.0.1");
	X509 *wrong = make_cert(key, "other", ca, ca_key, "DNS:other.example");
	SSL_CTX *good = server_ctx_new(leaf, key), *other;
	char ca_file[] = "/tmp/ddns-test-ca-XXXXXX";
	int fd = mkstemp(ca_file);
	FILE *f = fdopen(fd, "w");
	struct evhttp *h1, *h2;

	other = server_ctx_new(wrong, key);
	PEM_write_X509(f, ca);
	fclose(f);
	ddns_log_init("test_httpc", DDNS_LOG_DEBUG);
	base = event_base_new();
	h1 = serve(false, &plain_port);
	h2 = serve(true, &tls_port);
	dead_port = closed_port();
	test_urls();
	test_plain();
	test_tls(ca_file, good, other);
	test_cancel();
	evhttp_free(h1);
	evhttp_free(h2);
	event_base_free(base);
	unlink(ca_file);
	SSL_CTX_free(good);
	SSL_CTX_free(other);
	X509_free(ca);
	X509_free(leaf);
	X509_free(wrong);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return check_done();
}
