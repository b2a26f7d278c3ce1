/*
 * test_oidc.c -- the OpenID Connect relying party.
 *
 * First the pure parts: PKCE (RFC 7636 appendix B), percent-encoding and
 * the authorization URL, return paths, the table of logins in progress
 * (bounds, expiry, single use) with an injected clock, discovery
 * documents, and the mapping of claims to profile and groups.
 *
 * Then whole logins and bearer checks against a small provider served in
 * this process on 127.0.0.1 (plain http is allowed for loopback): it
 * checks the client's secret, the PKCE verifier and the redirect URI like
 * a real one, signs ID tokens with keys made here, and can misbehave on
 * request (wrong nonce, rotated key, another sub at userinfo...).
 */
#include <arpa/inet.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "check.h"
#include "err.h"
#include "jose_util.h"
#include "oidc.h"

#define CLIENT "ddns"
#define SECRET "s3cret+with/odd=chars"
#define REDIR  "https://ddns.example.org/oidc/callback"

/* ---- pure parts --------------------------------------------------------- */

static void test_pkce(void)
{
	char c[DDNS_OIDC_RAND_BUF], r1[DDNS_OIDC_RAND_BUF],
	    r2[DDNS_OIDC_RAND_BUF];
	const char *v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

	CHECK_INT(ddns_oidc_pkce_challenge(v, strlen(v), c), 0);
	CHECK_STR(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	CHECK_INT(ddns_oidc_random(r1), 0);
	CHECK_INT(ddns_oidc_random(r2), 0);
	CHECK_INT(strlen(r1), 43);
	CHECK(strcmp(r1, r2) != 0);
	CHECK(strspn(r1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-_") == 43);
}

static void test_urls(void)
{
	struct ddns_buf b = {0};
	struct ddns_oidc_auth_params p = {
	    .client_id = "my client",
	    .redirect_uri = "https://h.example/oidc/callback?a=1&b=2",
	    .scope = "openid profile email eduperson_entitlement",
	    .state = "st-_.~",
	    .nonce = "n+/=",
	    .challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	};

	ddns_oidc_urlencode(&b, "a b&c=d/\xc3\xa9~%");
	CHECK_STR(b.data, "a%20b%26c%3Dd%2F%C3%A9~%25");
	CHECK_INT(ddns_oidc_auth_url(&b, "https://idp.example/auth", &p), 0);
	CHECK_STR(b.data,
		  "https://idp.example/auth?response_type=code"
		  "&client_id=my%20client"
		  "&redirect_uri=https%3A%2F%2Fh.example%2Foidc%2Fcallback"
		  "%3Fa%3D1%26b%3D2"
		  "&scope=openid%20profile%20email%20eduperson_entitlement"
		  "&state=st-_.~&nonce=n%2B%2F%3D"
		  "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
		  "&code_challenge_method=S256");
	/* an endpoint that already has a query keeps it */
	CHECK_INT(ddns_oidc_auth_url(&b, "https://idp.example/a?tenant=x", &p),
		  0);
	CHECK(strncmp(b.data,
		      "https://idp.example/a?tenant=x&response_type=code&",
		      49) == 0);
	ddns_buf_free(&b);

	CHECK_STR(ddns_oidc_safe_return("/hosts?fqdn=a.example.org"),
		  "/hosts?fqdn=a.example.org");
	CHECK_STR(ddns_oidc_safe_return("//evil.example/"), "/");
	CHECK_STR(ddns_oidc_safe_return("https://evil.example/"), "/");
	CHECK_STR(ddns_oidc_safe_return("/\\evil.example"), "/");
	CHECK_STR(ddns_oidc_safe_return("/a\r\nSet-Cookie: x"), "/");
	CHECK_STR(ddns_oidc_safe_return(""), "/");
	CHECK_STR(ddns_oidc_safe_return(NULL), "/");
}

static struct ddns_oidc_login login_of(unsigned prov, const char *ret)
{
	struct ddns_oidc_login l = {.provider = prov};

	snprintf(l.verifier, sizeof l.verifier, "verifier-%u", prov);
	snprintf(l.nonce, sizeof l.nonce, "nonce-%u", prov);
	snprintf(l.return_to, sizeof l.return_to, "%s", ret);
	return l;
}

static void test_pending(void)
{
	ddns_oidc_pending *t = ddns_oidc_pending_new(3, 600);
	struct ddns_oidc_login l, out;

	CHECK(t != NULL);
	l = login_of(1, "/one");
	CHECK_INT(ddns_oidc_pending_put(t, "s1", &l, 1000), 0);
	l = login_of(2, "/two");
	CHECK_INT(ddns_oidc_pending_put(t, "s2", &l, 1001), 0);
	l = login_of(3, "/three");
	CHECK_INT(ddns_oidc_pending_put(t, "s3", &l, 1002), 0);
	CHECK_INT(ddns_oidc_pending_count(t), 3);
	/* full: the oldest (s1) makes room */
	l = login_of(4, "/four");
	CHECK_INT(ddns_oidc_pending_put(t, "s4", &l, 1003), 0);
	CHECK_INT(ddns_oidc_pending_count(t), 3);
	CHECK_INT(ddns_oidc_pending_take(t, "s1", 2, 1004, &out),
		  DDNS_ENOTFOUND);
	/* found once, with what was stored */
	CHECK_INT(ddns_oidc_pending_take(t, "s2", 2, 1004, &out), 0);
	CHECK_INT(out.provider, 2);
	CHECK_STR(out.verifier, "verifier-2");
	CHECK_STR(out.nonce, "nonce-2");
	CHECK_STR(out.return_to, "/two");
	CHECK_INT(ddns_oidc_pending_take(t, "s2", 2, 1004, &out),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_oidc_pending_count(t), 2);
	/* a prefix or a longer string is another state */
	CHECK_INT(ddns_oidc_pending_take(t, "s", 1, 1004, &out),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_oidc_pending_take(t, "s33", 3, 1004, &out),
		  DDNS_ENOTFOUND);
	/* expiry: s3 was made at 1002, lives 600 s */
	CHECK_INT(ddns_oidc_pending_take(t, "s3", 2, 1601, &out), 0);
	CHECK_INT(ddns_oidc_pending_take(t, "s4", 2, 1603, &out),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_oidc_pending_count(t), 0);
	/* expired entries are dropped when a new one comes */
	l = login_of(5, "/");
	ddns_oidc_pending_put(t, "a", &l, 2000);
	ddns_oidc_pending_put(t, "b", &l, 2001);
	CHECK_INT(ddns_oidc_pending_put(t, "c", &l, 2700), 0);
	CHECK_INT(ddns_oidc_pending_count(t), 1);
	/* bad input */
	CHECK_INT(ddns_oidc_pending_put(t, "", &l, 2700), DDNS_EINVAL);
	CHECK_INT(
	    ddns_oidc_pending_put(
		t, "0123456789012345678901234567890123456789abcd", &l, 2700),
	    DDNS_EINVAL);
	CHECK_INT(ddns_oidc_pending_take(t, "", 0, 2700, &out), DDNS_ENOTFOUND);
	ddns_oidc_pending_free(t);
	CHECK(ddns_oidc_pending_new(0, 600) == NULL);
}

/* A discovery document for ISS with member NAME replaced by VALUE (a
 * JSON text; NULL: removed; NAME NULL: as is). */
static int disc(const char *iss, const char *name, const char *value,
		struct ddns_oidc_discovery *d, const char **why)
{
	json_t *doc = json_pack(
	    "{s:s, s:s+, s:s+, s:s+, s:s+, s:[s], s:[s], s:[s,s], s:[s]}",
	    "issuer", iss, "authorization_endpoint", iss, "/auth",
	    "token_endpoint", iss, "/token", "jwks_uri", iss, "/jwks",
	    "userinfo_endpoint", iss, "/me", "response_types_supported", "code",
	    "code_challenge_methods_supported", "S256",
	    "token_endpoint_auth_methods_supported", "client_secret_post",
	    "client_secret_basic", "id_token_signing_alg_values_supported",
	    "RS256");
	char *s;
	int rc;

	if (name && value)
		json_object_set_new(doc, name,
				    json_loads(value, JSON_DECODE_ANY, NULL));
	else if (name)
		json_object_del(doc, name);
	s = json_dumps(doc, JSON_COMPACT);
	rc = ddns_oidc_discovery_parse(s, strlen(s), iss, false, d, why);
	free(s);
	json_decref(doc);
	return rc;
}

static void test_discovery(void)
{
	struct ddns_oidc_discovery d;
	const char *why = NULL;
	const char *iss = "https://idp.example.org/realms/x";
	const int E = DDNS_OIDC_EDISCOVERY;

	CHECK_INT(disc(iss, NULL, NULL, &d, &why), 0);
	CHECK(why == NULL);
	CHECK_STR(d.issuer, iss);
	CHECK_STR(d.authorization_endpoint,
		  "https://idp.example.org/realms/x/auth");
	CHECK_STR(d.token_endpoint, "https://idp.example.org/realms/x/token");
	CHECK_STR(d.jwks_uri, "https://idp.example.org/realms/x/jwks");
	CHECK_STR(d.userinfo_endpoint, "https://idp.example.org/realms/x/me");
	CHECK_INT(d.auth_method, DDNS_OIDC_AUTH_BASIC);
	/* the auth method */
	CHECK_INT(disc(iss, "token_endpoint_auth_methods_supported",
		       "[\"client_secret_post\"]", &d, &why),
		  0);
	CHECK_INT(d.auth_method, DDNS_OIDC_AUTH_POST);
	CHECK_INT(
	    disc(iss, "token_endpoint_auth_methods_supported", NULL, &d, &why),
	    0);
	CHECK_INT(d.auth_method, DDNS_OIDC_AUTH_BASIC);
	CHECK_INT(disc(iss, "token_endpoint_auth_methods_supported",
		       "[\"private_key_jwt\"]", &d, &why),
		  E);
	/* required fields, and the issuer */
	CHECK_INT(disc(iss, "issuer", "\"https://evil.example\"", &d, &why), E);
	CHECK_STR(why, "its issuer is not the configured one");
	CHECK_INT(disc(iss, "issuer", NULL, &d, &why), E);
	CHECK_INT(disc(iss, "authorization_endpoint", NULL, &d, &why), E);
	CHECK_INT(disc(iss, "token_endpoint", NULL, &d, &why), E);
	CHECK_INT(disc(iss, "jwks_uri", NULL, &d, &why), E);
	CHECK_INT(disc(iss, "jwks_uri", "42", &d, &why), E);
	CHECK_INT(disc(iss, "userinfo_endpoint", NULL, &d, &why), 0);
	CHECK_STR(d.userinfo_endpoint, "");
	CHECK_INT(disc(iss, "response_types_supported", NULL, &d, &why), E);
	CHECK_INT(
	    disc(iss, "response_types_supported", "[\"id_token\"]", &d, &why),
	    E);
	/* PKCE and algorithms: absent is fine, without ours is not */
	CHECK_INT(disc(iss, "code_challenge_methods_supported", NULL, &d, &why),
		  0);
	CHECK_INT(disc(iss, "code_challenge_methods_supported", "[\"plain\"]",
		       &d, &why),
		  E);
	CHECK_INT(disc(iss, "id_token_signing_alg_values_supported",
		       "[\"HS256\",\"none\"]", &d, &why),
		  E);
	CHECK_INT(disc(iss, "id_token_signing_alg_values_supported",
		       "[\"ES256\"]", &d, &why),
		  0);
	/* an https issuer's endpoints are https: not even loopback http
	 * (found by fuzzing: the client secret would go out in clear) */
	CHECK_INT(disc(iss, "token_endpoint", "\"http://idp.example.org/t\"",
		       &d, &why),
		  E);
	CHECK_INT(
	    disc(iss, "token_endpoint", "\"http://127.0.0.1:9/t\"", &d, &why),
	    E);
	CHECK_INT(disc(iss, "jwks_uri", "\"http://localhost/certs\"", &d, &why),
		  E);
	CHECK_INT(disc("http://127.0.0.1:5556", NULL, NULL, &d, &why), 0);
	CHECK_INT(ddns_oidc_discovery_parse("[]", 2, iss, false, &d, &why), E);
	CHECK_INT(ddns_oidc_discovery_parse("{", 1, iss, false, &d, &why), E);
}

static void test_groups(void)
{
	struct ddns_oidc_identity id = {0};
	json_t *c = json_loads(
	    "{\"ent\":[\"urn:a\",\"urn:b\",\"urn:a\",\"\",7,\"x\\u0001y\","
	    "\"urn:admin\"],\"one\":\"solo\",\"num\":5}",
	    0, NULL);
	json_t *many = json_array();
	char big[300];

	CHECK_INT(ddns_oidc_map_groups(c, "ent", "urn:admin", &id), 3);
	CHECK_STR(id.groups[0], "urn:a");
	CHECK_STR(id.groups[1], "urn:b");
	CHECK_STR(id.groups[2], "urn:admin");
	CHECK(id.admin);
	CHECK_INT(ddns_oidc_map_groups(c, "ent", "urn:c", &id), 3);
	CHECK(!id.admin);
	CHECK_INT(ddns_oidc_map_groups(c, "one", "solo", &id), 1);
	CHECK_STR(id.groups[0], "solo");
	CHECK(id.admin);
	CHECK_INT(ddns_oidc_map_groups(c, "missing", "solo", &id), 0);
	CHECK(!id.admin);
	CHECK_INT(ddns_oidc_map_groups(c, "num", NULL, &id), 0);
	CHECK_INT(ddns_oidc_map_groups(c, NULL, NULL, &id), 0);
	/* too many, too long */
	for (int i = 0; i < 40; i++)
		json_array_append_new(many, json_sprintf("g%d", i));
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	json_array_insert_new(many, 0, json_string(big));
	json_object_set_new(c, "many", many);
	CHECK_INT(ddns_oidc_map_groups(c, "many", "g31", &id), DDNS_GROUPS_MAX);
	CHECK_STR(id.groups[0], "g0");
	CHECK(id.admin);
	json_decref(c);
}

static void test_profile(void)
{
	struct ddns_oidc_identity id = {0};
	json_t *c = json_loads("{\"name\":\"Ann\\u0007 Lee\",\"email\":"
			       "\"ann@example.org\",\"email_verified\":true,"
			       "\"preferred_username\":\"ann\"}",
			       0, NULL);
	char longname[200];

	ddns_oidc_map_profile(c, &id);
	CHECK_STR(id.name, "Ann Lee");
	CHECK_STR(id.email, "ann@example.org");
	CHECK(id.email_verified);
	CHECK_STR(id.username, "ann");
	json_decref(c);
	memset(&id, 0, sizeof id);
	c = json_loads("{\"given_name\":\"Bo\",\"family_name\":\"Ek\","
		       "\"email\":\"not-an-address\"}",
		       0, NULL);
	ddns_oidc_map_profile(c, &id);
	CHECK_STR(id.name, "Bo Ek");
	CHECK_STR(id.email, "");
	json_decref(c);
	/* cut at a character boundary: 127 ASCII + a 2-byte letter */
	memset(longname, 'a', 127);
	memcpy(longname + 127, "\xc3\xa9xyz", 6);
	c = json_pack("{s:s}", "name", longname);
	ddns_oidc_map_profile(c, &id);
	CHECK_INT(strlen(id.name), 127);
	json_decref(c);
	memcpy(longname + 126, "\xc3\xa9xyz", 6); /* fits exactly */
	c = json_pack("{s:s}", "name", longname);
	ddns_oidc_map_profile(c, &id);
	CHECK_INT(strlen(id.name), 128);
	json_decref(c);
	/* found by fuzzing: a long given_name cut inside a character and then
	 * joined to the family name left a broken character in the middle */
	char given[300] = "a";
	for (int i = 0; i < 100; i++)
		memcpy(given + 1 + 2 * i, "\xc3\xa9", 3);
	c = json_pack("{s:s,s:s}", "given_name", given, "family_name", "B");
	memset(&id, 0, sizeof id);
	ddns_oidc_map_profile(c, &id);
	CHECK(ddns_text_valid(id.name, strlen(id.name)));
	CHECK(strlen(id.name) <= DDNS_USER_DISPLAY_MAX);
	json_decref(c);
}

/* ---- a provider on loopback --------------------------------------------- */

struct idp {
	struct evhttp *http;
	int port;
	char issuer[64];
	EVP_PKEY *key, *published; /* signs; is in /jwks */
	char kid[16], pkid[16];
	bool post_only;	   /* the client is registered for client_secret_post */
	const char *spoil; /* "nonce", "sub", "iss-disc" */
	char code[64], challenge[64], nonce[64];
	char access[64];
	int disc_hits, jwks_hits, token_hits, me_hits;
};

static void reply_json(struct evhttp_request *req, int status, const char *s)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), s, strlen(s));
	evhttp_send_reply(req, status, NULL, NULL);
}

static void reply_doc(struct evhttp_request *req, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	reply_json(req, status, s);
	free(s);
	json_decref(doc);
}

static void idp_disc(struct idp *p, struct evhttp_request *req)
{
	const char *iss = p->issuer;
	/* like real providers, it lists methods the client may not use */
	json_t *doc = json_pack(
	    "{s:s, s:s+, s:s+, s:s+, s:s+, s:[s], s:[s], s:[s,s]}", "issuer",
	    p->spoil && strcmp(p->spoil, "iss-disc") == 0 ? "http://x" : iss,
	    "authorization_endpoint", iss, "/auth", "token_endpoint", iss,
	    "/token", "jwks_uri", iss, "/jwks", "userinfo_endpoint", iss, "/me",
	    "response_types_supported", "code",
	    "code_challenge_methods_supported", "S256",
	    "token_endpoint_auth_methods_supported", "client_secret_basic",
	    "client_secret_post");

	p->disc_hits++;
	reply_doc(req, 200, doc);
}

static void idp_jwks(struct idp *p, struct evhttp_request *req)
{
	char *s = tk_jwks(tk_jwk(p->published, p->pkid, "RS256"), NULL, NULL);

	p->jwks_hits++;
	reply_json(req, 200, s);
	free(s);
}

/* The form body of REQ parsed into Q. */
static void form_of(struct evhttp_request *req, struct evkeyvalq *q)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	char *s = calloc(1, n + 1);

	evbuffer_copyout(in, s, n);
	TAILQ_INIT(q);
	evhttp_parse_query_str(s, q);
	free(s);
}

/* Did the client authenticate as RFC 6749 2.3.1 says? */
static bool client_ok(struct idp *p, struct evhttp_request *req,
		      struct evkeyvalq *form)
{
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	const char *id = evhttp_find_header(form, "client_id");
	const char *sec = evhttp_find_header(form, "client_secret");
	/* base64("ddns:" + form-encoded SECRET) */
	const char *want = "Basic "
			   "ZGRuczpzM2NyZXQlMkJ3aXRoJTJGb2RkJTNEY2hhcnM=";

	if (p->post_only)
		return !auth && id && sec && strcmp(id, CLIENT) == 0 &&
		       strcmp(sec, SECRET) == 0;
	return auth && strcmp(auth, want) == 0 && !sec;
}

static char *idp_id_token(struct idp *p)
{
	time_t now = time(NULL);
	json_t *c =
	    json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", p->issuer, "aud",
		      CLIENT, "sub", "alice", "exp", (json_int_t)now + 300,
		      "iat", (json_int_t)now, "nonce",
		      p->spoil && strcmp(p->spoil, "nonce") == 0
			  ? "not-the-nonce-you-sent"
			  : p->nonce);
	char *tok = tk_sign("RS256", p->kid, c, p->key, "RS256");

	json_decref(c);
	return tok;
}

static void idp_token(struct idp *p, struct evhttp_request *req)
{
	struct evkeyvalq f;
	const char *code, *verifier, *redir, *grant;
	char ch[DDNS_OIDC_RAND_BUF] = "", *tok;

	p->token_hits++;
	form_of(req, &f);
	code = evhttp_find_header(&f, "code");
	verifier = evhttp_find_header(&f, "code_verifier");
	redir = evhttp_find_header(&f, "redirect_uri");
	grant = evhttp_find_header(&f, "grant_type");
	if (verifier)
		ddns_oidc_pkce_challenge(verifier, strlen(verifier), ch);
	if (!client_ok(p, req, &f)) {
		reply_json(req, 401, "{\"error\":\"invalid_client\"}");
	} else if (!code || !p->code[0] || strcmp(code, p->code) != 0 ||
		   strcmp(ch, p->challenge) != 0 || !redir ||
		   strcmp(redir, REDIR) != 0 || !grant ||
		   strcmp(grant, "authorization_code") != 0) {
		reply_json(req, 400, "{\"error\":\"invalid_grant\"}");
	} else {
		p->code[0] = '\0'; /* one use */
		tok = idp_id_token(p);
		reply_doc(req, 200,
			  json_pack("{s:s, s:s, s:i, s:s}", "access_token",
				    p->access, "token_type", "Bearer",
				    "expires_in", 300, "id_token", tok));
		free(tok);
	}
	evhttp_clear_headers(&f);
}

static void idp_me(struct idp *p, struct evhttp_request *req)
{
	const char *auth = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	char want[128];

	p->me_hits++;
	snprintf(want, sizeof want, "Bearer %s", p->access);
	if (!auth || strcmp(auth, want) != 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate",
				  "Bearer error=\"invalid_token\"");
		reply_json(req, 401, "{\"error\":\"invalid_token\"}");
		return;
	}
	reply_doc(req, 200,
		  json_pack("{s:s, s:s, s:s, s:b, s:[s,s]}", "sub",
			    p->spoil && strcmp(p->spoil, "sub") == 0 ? "mallory"
								     : "alice",
			    "name", "Alice Example", "email",
			    "alice@example.org", "email_verified", 1,
			    "eduperson_entitlement", "urn:x:users",
			    "urn:x:admins"));
}

static void idp_request(struct evhttp_request *req, void *arg)
{
	struct idp *p = arg;
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	if (strcmp(path, "/.well-known/openid-configuration") == 0)
		idp_disc(p, req);
	else if (strcmp(path, "/jwks") == 0)
		idp_jwks(p, req);
	else if (strcmp(path, "/token") == 0)
		idp_token(p, req);
	else if (strcmp(path, "/me") == 0)
		idp_me(p, req);
	else
		reply_json(req, 404, "{}");
}

static void idp_start(struct idp *p, struct event_base *base)
{
	struct evhttp_bound_socket *s;
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;

	p->http = evhttp_new(base);
	evhttp_set_gencb(p->http, idp_request, p);
	s = evhttp_bind_socket_with_handle(p->http, "127.0.0.1", 0);
	getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sin,
		    &len);
	p->port = ntohs(sin.sin_port);
	snprintf(p->issuer, sizeof p->issuer, "http://127.0.0.1:%d", p->port);
	p->key = p->published = tk_rsa();
	snprintf(p->kid, sizeof p->kid, "k1");
	snprintf(p->pkid, sizeof p->pkid, "k1");
	snprintf(p->access, sizeof p->access, "at-%d", p->port);
}

/* ---- driving the relying party ------------------------------------------ */

static struct event_base *base;
static int64_t fake_now;
static char cookie[64]; /* the browser's binding cookie */

static int64_t clock_fn(void *arg)
{
	return fake_now;
}

struct outcome {
	bool done;
	int calls;
	int err;
	char url[2048];
	char binding[64];
	char return_to[256];
	struct ddns_oidc_identity id;
	ddns_oidc_job *self; /* cancelled from the callback */
	ddns_oidc *free_rp;  /* freed from the callback */
};

static void on_result(const struct ddns_oidc_result *r, void *arg)
{
	struct outcome *o = arg;

	o->done = true;
	o->calls++;
	o->err = r->err;
	snprintf(o->url, sizeof o->url, "%s", r->url ? r->url : "");
	snprintf(o->binding, sizeof o->binding, "%s",
		 r->binding ? r->binding : "");
	snprintf(o->return_to, sizeof o->return_to, "%s",
		 r->return_to ? r->return_to : "");
	if (r->id)
		o->id = *r->id;
	else
		memset(&o->id, 0, sizeof o->id);
	ddns_oidc_cancel(o->self); /* a no-op now */
	ddns_oidc_free(o->free_rp);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Run the loop until O is done (or 10 s passed: a failed check). */
static void run(struct outcome *o)
{
	bool late = false;
	struct timeval tv = {10, 0};
	struct event *dog = evtimer_new(base, on_watchdog, &late);

	evtimer_add(dog, &tv);
	while (!o->done && !late)
		event_base_loop(base, EVLOOP_ONCE);
	CHECK(!late);
	event_free(dog);
}

/* Value of NAME in the query of URL (copied into OUT). */
static void url_param(const char *url, const char *name, char *out, size_t cap)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	struct evkeyvalq q;
	const char *v;

	TAILQ_INIT(&q);
	evhttp_parse_query_str(evhttp_uri_get_query(u), &q);
	v = evhttp_find_header(&q, name);
	snprintf(out, cap, "%s", v ? v : "");
	evhttp_clear_headers(&q);
	evhttp_uri_free(u);
}

/* Begin a login at PROV; the provider "authorises" it (remembers nonce,
 * challenge and a new code).  The state goes to STATE. */
static int begin(ddns_oidc *rp, struct idp *p, const char *prov, char state[64])
{
	struct outcome o = {0};
	static int n;
	char v[256];

	CHECK_INT(
	    ddns_oidc_login_begin(rp, prov, "/hosts?x=1", on_result, &o, NULL),
	    0);
	run(&o);
	if (o.err != 0)
		return o.err;
	snprintf(v, sizeof v, "%s/auth?", p->issuer);
	CHECK(strncmp(o.url, v, strlen(v)) == 0);
	url_param(o.url, "redirect_uri", v, sizeof v);
	CHECK_STR(v, REDIR);
	url_param(o.url, "client_id", v, sizeof v);
	CHECK_STR(v, CLIENT);
	url_param(o.url, "code_challenge_method", v, sizeof v);
	CHECK_STR(v, "S256");
	url_param(o.url, "scope", v, sizeof v);
	CHECK_STR(v, "openid profile email eduperson_entitlement");
	url_param(o.url, "nonce", p->nonce, sizeof p->nonce);
	url_param(o.url, "code_challenge", p->challenge, sizeof p->challenge);
	url_param(o.url, "state", state, 64);
	CHECK_INT(strlen(o.binding), 43);
	snprintf(cookie, sizeof cookie, "%s", o.binding);
	snprintf(p->code, sizeof p->code, "code-%d", ++n);
	return 0;
}

static void finish(ddns_oidc *rp, const char *query, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	CHECK_INT(ddns_oidc_login_finish(rp, query, strlen(query), cookie,
					 strlen(cookie), on_result, o, NULL),
		  0);
	run(o);
	CHECK_INT(o->calls, 1);
}

/* How the provider's reply to our redirect URI looks. */
enum reply { GOOD, DENIED, MIXUP, BADCODE };

/* A whole login at PROV ending with a reply of kind HOW. */
static int login(ddns_oidc *rp, struct idp *p, const char *prov, enum reply how,
		 struct outcome *o)
{
	char state[64], q[512];
	int rc = begin(rp, p, prov, state);

	if (rc != 0)
		return rc;
	if (how == GOOD)
		snprintf(q, sizeof q, "state=%s&code=%s&iss=%s", state, p->code,
			 p->issuer);
	else if (how == DENIED)
		snprintf(q, sizeof q, "state=%s&error=access_denied", state);
	else if (how == MIXUP)
		snprintf(q, sizeof q, "state=%s&code=%s&iss=%s/evil", state,
			 p->code, p->issuer);
	else
		snprintf(q, sizeof q, "state=%s&code=%sx", state, p->code);
	finish(rp, q, o);
	return o->err;
}

static ddns_oidc *rp_new(struct idp *p, struct idp *p2)
{
	struct ddns_oidc_provider_conf pc[2] = {
	    {.id = "egi",
	     .title = "EGI Check-in",
	     .issuer = p->issuer,
	     .client_id = CLIENT,
	     .client_secret = SECRET,
	     .scopes = "profile email eduperson_entitlement",
	     .groups_claim = "eduperson_entitlement",
	     .admin_group = "urn:x:admins"},
	    {.id = "other",
	     .issuer = p2 ? p2->issuer : "",
	     .client_id = CLIENT,
	     .client_secret = SECRET,
	     .token_auth = "client_secret_post",
	     .scopes = "openid profile email eduperson_entitlement"},
	};
	struct ddns_oidc_conf c = {
	    .redirect_uri = REDIR,
	    .n_providers = p2 ? 2 : 1,
	    .providers = pc,
	    .timeout = 5,
	    .clock = clock_fn,
	};
	ddns_oidc *rp = NULL;
	char err[256];

	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	return rp;
}

static void test_login(struct idp *p, struct idp *p2)
{
	ddns_oidc *rp = rp_new(p, p2);
	struct outcome o;
	char state[64], q[512];

	CHECK_INT(ddns_oidc_count(rp), 2);
	CHECK_STR(ddns_oidc_provider_title(rp, 0), "EGI Check-in");
	CHECK_STR(ddns_oidc_provider_title(rp, 1), "other");
	CHECK_STR(ddns_oidc_provider_id(rp, 1), "other");
	CHECK(ddns_oidc_provider_id(rp, 2) == NULL);
	/* a good login: ID token, then userinfo's profile and groups */
	CHECK_INT(login(rp, p, "egi", GOOD, &o), 0);
	CHECK_STR(o.id.provider, "egi");
	CHECK_STR(o.id.issuer, p->issuer);
	CHECK_STR(o.id.subject, "alice");
	CHECK_STR(o.id.name, "Alice Example");
	CHECK_STR(o.id.email, "alice@example.org");
	CHECK(o.id.email_verified);
	CHECK_INT(o.id.n_groups, 2);
	CHECK_STR(o.id.groups[1], "urn:x:admins");
	CHECK(o.id.admin);
	CHECK_STR(o.return_to, "/hosts?x=1");
	CHECK_INT(p->disc_hits, 1);
	CHECK_INT(p->jwks_hits, 1);
	CHECK_INT(p->me_hits, 1);
	/* the same reply again: the state is used up */
	begin(rp, p, "egi", state);
	snprintf(q, sizeof q, "state=%s&code=%s&iss=%s", state, p->code,
		 p->issuer);
	finish(rp, q, &o);
	CHECK_INT(o.err, 0);
	finish(rp, q, &o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	CHECK_INT(p->disc_hits, 1); /* all cached */
	CHECK_INT(p->jwks_hits, 1);
	/* the reply in another browser (login CSRF): refused, used up */
	begin(rp, p, "egi", state);
	snprintf(q, sizeof q, "state=%s&code=%s", state, p->code);
	memset(&o, 0, sizeof o);
	CHECK_INT(ddns_oidc_login_finish(rp, q, strlen(q), "x", 1, on_result,
					 &o, NULL),
		  0);
	run(&o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	memset(&o, 0, sizeof o);
	CHECK_INT(ddns_oidc_login_finish(rp, q, strlen(q), NULL, 0, on_result,
					 &o, NULL),
		  0);
	run(&o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	finish(rp, q, &o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	CHECK_INT(p->token_hits, 2); /* the code was never sent */
	/* unknown state, none, repeated */
	finish(rp, "state=nope&code=x", &o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	finish(rp, "code=x", &o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	begin(rp, p, "egi", state);
	snprintf(q, sizeof q, "state=%s&state=%s&code=%s", state, state,
		 p->code);
	finish(rp, q, &o);
	CHECK_INT(o.err, DDNS_OIDC_ESTATE);
	/* the user said no; the reply names another issuer */
	CHECK_INT(login(rp, p, "egi", DENIED, &o), DDNS_OIDC_EDENIED);
	CHECK_INT(login(rp, p, "egi", MIXUP, &o), DDNS_OIDC_EMIXUP);
	/* a code the provider does not know */
	CHECK_INT(login(rp, p, "egi", BADCODE, &o), DDNS_OIDC_ETOKEN);
	/* the second provider's client is registered for client_secret_post
	 * (discovery offers both, the configuration says which) */
	CHECK_INT(login(rp, p2, "other", GOOD, &o), 0);
	CHECK_STR(o.id.provider, "other");
	CHECK_STR(o.id.issuer, p2->issuer);
	CHECK_INT(o.id.n_groups, 0); /* no groups_claim configured */
	CHECK(!o.id.admin);
	CHECK_INT(p2->token_hits, 1);
	ddns_oidc_free(rp);
}

static void test_tokens(struct idp *p)
{
	ddns_oidc *rp = rp_new(p, NULL);
	EVP_PKEY *old = p->key, *k2 = tk_rsa();
	struct outcome o;
	int jwks0 = p->jwks_hits;

	/* nonce of another login; userinfo of another user */
	p->spoil = "nonce";
	CHECK_INT(login(rp, p, "egi", GOOD, &o), DDNS_JWT_ENONCE);
	p->spoil = "sub";
	CHECK_INT(login(rp, p, "egi", GOOD, &o), DDNS_OIDC_EUSERINFO);
	p->spoil = NULL;
	CHECK_INT(p->jwks_hits, jwks0 + 1);
	/* signed by a key the set does not have, under its kid: ESIG */
	p->key = k2;
	CHECK_INT(login(rp, p, "egi", GOOD, &o), DDNS_JWT_ESIG);
	/* the provider rotates to k2: a fresh key set is fetched once, but
	 * not more often than every 30 s */
	snprintf(p->kid, sizeof p->kid, "k2");
	CHECK_INT(login(rp, p, "egi", GOOD, &o), DDNS_JWT_ENOKEY);
	CHECK_INT(p->jwks_hits, jwks0 + 1);
	fake_now += 31;
	CHECK_INT(login(rp, p, "egi", GOOD, &o), DDNS_JWT_ENOKEY);
	CHECK_INT(p->jwks_hits, jwks0 + 2); /* still the old set */
	p->published = k2;
	snprintf(p->pkid, sizeof p->pkid, "k2");
	fake_now += 31;
	CHECK_INT(login(rp, p, "egi", GOOD, &o), 0);
	CHECK_INT(p->jwks_hits, jwks0 + 3);
	CHECK_STR(o.id.subject, "alice");
	ddns_oidc_free(rp);
	p->key = p->published = old;
	snprintf(p->kid, sizeof p->kid, "k1");
	snprintf(p->pkid, sizeof p->pkid, "k1");
	EVP_PKEY_free(k2);
}

static int bearer(ddns_oidc *rp, const char *prov, const char *tok,
		  struct outcome *o)
{
	int rc;

	memset(o, 0, sizeof *o);
	rc = ddns_oidc_bearer(rp, prov, tok, strlen(tok), on_result, o, NULL);
	if (rc != 0)
		return rc;
	run(o);
	return o->err;
}

static void test_bearer(struct idp *p, struct idp *p2)
{
	ddns_oidc *rp = rp_new(p, p2);
	struct outcome o;
	int me = p->me_hits, me2 = p2->me_hits;

	CHECK_INT(bearer(rp, "egi", p->access, &o), 0);
	CHECK_STR(o.id.subject, "alice");
	CHECK_STR(o.id.issuer, p->issuer);
	CHECK(o.id.admin);
	CHECK_INT(p->me_hits, me + 1);
	/* cached for 60 s */
	CHECK_INT(bearer(rp, "egi", p->access, &o), 0);
	CHECK_STR(o.id.subject, "alice");
	CHECK_INT(p->me_hits, me + 1);
	fake_now += 61;
	CHECK_INT(bearer(rp, "egi", p->access, &o), 0);
	CHECK_INT(p->me_hits, me + 2);
	/* refused, and the refusal is cached too */
	CHECK_INT(bearer(rp, "egi", "forged", &o), DDNS_OIDC_EUNAUTHORIZED);
	CHECK_INT(bearer(rp, "egi", "forged", &o), DDNS_OIDC_EUNAUTHORIZED);
	CHECK_INT(p->me_hits, me + 3);
	/* no provider named: each is asked until one knows the token */
	CHECK_INT(bearer(rp, NULL, p2->access, &o), 0);
	CHECK_STR(o.id.provider, "other");
	CHECK_INT(p2->me_hits, me2 + 1);
	CHECK_INT(bearer(rp, NULL, "forged-too", &o), DDNS_OIDC_EUNAUTHORIZED);
	CHECK_INT(p2->me_hits, me2 + 2);
	/* bad input */
	CHECK_INT(bearer(rp, "nope", "x", &o), DDNS_OIDC_ENOPROVIDER);
	CHECK_INT(bearer(rp, "egi", "", &o), DDNS_EINVAL);
	ddns_oidc_free(rp);
}

static void test_failures(struct idp *p)
{
	struct ddns_oidc_provider_conf pc = {.id = "down",
					     .issuer = "http://127.0.0.1:9",
					     .client_id = CLIENT,
					     .client_secret = SECRET};
	struct ddns_oidc_conf c = {.redirect_uri = REDIR,
				   .n_providers = 1,
				   .providers = &pc,
				   .clock = clock_fn};
	struct outcome o = {0}, o2 = {0};
	ddns_oidc_job *j = NULL;
	ddns_oidc *rp = NULL;
	char err[256], state[64];

	/* unreachable; then failed at once until 5 s have passed */
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	CHECK_INT(ddns_oidc_login_begin(rp, "down", "/", on_result, &o, NULL),
		  0);
	run(&o);
	CHECK_INT(o.err, DDNS_OIDC_EUNREACHABLE);
	CHECK_INT(ddns_oidc_login_begin(rp, "nope", "/", on_result, &o, NULL),
		  DDNS_OIDC_ENOPROVIDER);
	ddns_oidc_free(rp);
	/* discovery names another issuer */
	p->spoil = "iss-disc";
	rp = rp_new(p, NULL);
	CHECK_INT(begin(rp, p, "egi", state), DDNS_OIDC_EDISCOVERY);
	p->spoil = NULL;
	/* a cancelled job is never called back, nor one freed with the RP */
	memset(&o, 0, sizeof o);
	CHECK_INT(ddns_oidc_login_begin(rp, "egi", "/", on_result, &o2, &j), 0);
	ddns_oidc_cancel(j);
	fake_now += 10;
	CHECK_INT(ddns_oidc_login_begin(rp, "egi", "/", on_result, &o, NULL),
		  0);
	run(&o);
	CHECK_INT(o.err, 0);
	CHECK_INT(o2.calls, 0);
	CHECK_INT(ddns_oidc_login_begin(rp, "egi", "/", on_result, &o2, NULL),
		  0);
	ddns_oidc_free(rp);
	CHECK_INT(o2.calls, 0);
	/* a callback may cancel its own job, and free the relying party
	 * while other jobs are under way */
	rp = rp_new(p, NULL);
	memset(&o, 0, sizeof o);
	memset(&o2, 0, sizeof o2);
	CHECK_INT(
	    ddns_oidc_login_begin(rp, "egi", "/", on_result, &o2, &o2.self), 0);
	o2.free_rp = rp;
	CHECK_INT(ddns_oidc_bearer(rp, "egi", "tok", 3, on_result, &o, NULL),
		  0);
	run(&o2); /* the bearer job still waits for userinfo */
	CHECK_INT(o2.calls, 1);
	CHECK_INT(o2.err, 0);
	CHECK_INT(o.calls, 0);
}

static void test_config(void)
{
	struct ddns_oidc_provider_conf pc[2] = {
	    {.id = "egi",
	     .issuer = "https://aai.egi.eu/auth/realms/egi",
	     .client_id = "c",
	     .client_secret = "s"},
	    {.id = "egi",
	     .issuer = "https://x.example",
	     .client_id = "c",
	     .client_secret = "s"},
	};
	struct ddns_oidc_conf c = {
	    .redirect_uri = REDIR, .n_providers = 1, .providers = pc};
	ddns_oidc *rp = NULL;
	char err[256];

	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	ddns_oidc_free(rp);
	c.n_providers = 2;
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	CHECK_STR(err, "[oidc egi] appears twice");
	c.n_providers = 1;
	pc[0].issuer = "http://aai.egi.eu/";
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	pc[0].allow_http = true;
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	ddns_oidc_free(rp);
	pc[0].id = "EGI";
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	pc[0].id = "egi";
	pc[0].client_secret = "";
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	pc[0].client_secret = "s";
	pc[0].token_auth = "private_key_jwt";
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	pc[0].token_auth = "client_secret_post";
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	ddns_oidc_free(rp);
	pc[0].token_auth = NULL;
	c.redirect_uri = NULL;
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EINVAL);
	c.n_providers = 0; /* no providers: no redirect needed */
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), 0);
	CHECK_INT(ddns_oidc_count(rp), 0);
	ddns_oidc_free(rp);
	pc[0].ca_file = "/nonexistent/ca.pem";
	c.n_providers = 1;
	c.redirect_uri = REDIR;
	CHECK_INT(ddns_oidc_new(&rp, base, &c, err, sizeof err), DDNS_EIO);
	CHECK_STR(ddns_oidc_strerror(DDNS_OIDC_ESTATE),
		  "login unknown, expired or already used");
	CHECK_STR(ddns_oidc_strerror(DDNS_JWT_ESIG),
		  "token signature does not verify");
}

int main(void)
{
	struct idp p = {0}, p2 = {0};

	test_pkce();
	test_urls();
	test_pending();
	test_discovery();
	test_groups();
	test_profile();

	fake_now = (int64_t)time(NULL);
	base = event_base_new();
	idp_start(&p, base);
	idp_start(&p2, base);
	p2.post_only = true;
	test_config();
	test_login(&p, &p2);
	test_tokens(&p);
	test_bearer(&p, &p2);
	test_failures(&p);
	evhttp_free(p.http);
	evhttp_free(p2.http);
	EVP_PKEY_free(p.key);
	EVP_PKEY_free(p2.key);
	event_base_free(base);
	return check_done();
}
