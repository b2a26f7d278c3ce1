/*
 * oidc.c -- OpenID Connect relying party (see oidc.h).
 *
 * Jobs.  Every operation is a job in one list of the relying party.  A
 * job waits for at most one thing at a time: its provider's discovery
 * document or key set (shared by every job of that provider, fetched
 * once), or its own HTTP request.  When that arrives the job's RESUME
 * function continues it.  A job's end is delivered by its own event, so
 * the caller's callback never runs inside a call of this module or of
 * httpc, and no job is freed while the list is walked.
 *
 * Secrets: the client secret, codes, verifiers, nonces and tokens are
 * never logged; the ones a job holds are wiped when it is freed.
 */
#include "oidc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "httpc.h"
#include "log.h"

#define DISC_PATH   "/.well-known/openid-configuration"
#define DISC_TTL    86400 /* seconds a discovery document is used */
#define JWKS_TTL    3600  /* seconds a key set is used */
#define RETRY_AFTER 5	  /* seconds before a failed fetch is retried */
#define JWKS_REFETCH                                                           \
	30		    /* least seconds between two key set fetches       \
			       for an unknown kid */
#define QUERY_MAX      8192 /* bytes of a callback query */
#define DETAIL_MAX     200
#define DEFAULT_SCOPES "openid profile email"

struct provider {
	struct ddns_oidc *o;
	unsigned idx;
	char *id, *title, *issuer, *client_id, *client_secret, *scopes;
	char *groups_claim, *admin_group; /* NULL: none */
	int token_auth; /* -1: from discovery, else the configured method */
	bool allow_http;
	ddns_httpc *http;
	/* discovery */
	struct ddns_oidc_discovery disc;
	bool have_disc, disc_stale;
	int64_t disc_at, disc_failed_at;
	int disc_err;
	char disc_why[DETAIL_MAX];
	ddns_httpc_req *disc_req;
	/* key set */
	ddns_jwks *jwks;
	int64_t jwks_at, jwks_failed_at;
	bool jwks_forced; /* the next fetch is for an unknown kid */
	ddns_httpc_req *jwks_req;
};

struct bearer_entry {
	bool used;
	uint8_t key[32];
	int64_t until;
	int err; /* 0: good, else refused */
	struct ddns_oidc_identity id;
};

struct ddns_oidc {
	struct event_base *base;
	char *redirect_uri;
	unsigned leeway;
	int64_t (*clock)(void *arg);
	void *clock_arg;
	unsigned n;   /* providers ready */
	unsigned cap; /* providers allocated */
	struct provider *p;
	ddns_oidc_pending *pending;
	struct bearer_entry *bearer; /* DDNS_OIDC_BEARER_MAX, lazily */
	struct ddns_oidc_job *jobs;
};

enum job_kind { JOB_BEGIN, JOB_FINISH, JOB_BEARER };
enum job_wait { WAIT_NONE, WAIT_DISC, WAIT_JWKS, WAIT_HTTP, WAIT_DONE };

struct ddns_oidc_job {
	struct ddns_oidc *o;
	struct ddns_oidc_job *prev, *next;
	enum job_kind kind;
	enum job_wait wait;
	bool delivering; /* its callback runs: cancel is a no-op */
	struct provider *p;
	void (*resume)(struct ddns_oidc_job *j);
	ddns_httpc_req *http;
	struct event *ev; /* delivery */
	ddns_oidc_cb cb;
	void *arg;
	/* outcome */
	int err;
	char detail[DETAIL_MAX];
	struct ddns_buf url;
	struct ddns_oidc_identity *id;
	/* login */
	char state[DDNS_OIDC_RAND_BUF];
	struct ddns_oidc_login login;
	char *code, *access_token, *id_token;
	json_t *id_claims;
	bool jwks_retried;
	/* bearer */
	char *token;
	uint8_t key[32];
	bool try_all;
};

const char *ddns_oidc_strerror(int code)
{
	static const char *const text[] = {
	    "login unknown, expired or already used",
	    "the provider refused the login",
	    "reply from another provider than the login went to",
	    "provider discovery failed",
	    "provider's key set unavailable",
	    "provider refused the code or sent a malformed token reply",
	    "provider's userinfo failed",
	    "access token refused",
	    "provider unreachable",
	    "no such OpenID provider",
	};
	int i = DDNS_OIDC_ESTATE - code;

	if (code <= DDNS_OIDC_ESTATE && code > DDNS_OIDC_ERR_LAST_ &&
	    (size_t)i < sizeof text / sizeof text[0])
		return text[i];
	return ddns_jwt_strerror(code);
}

static int64_t now_of(const struct ddns_oidc *o)
{
	return o->clock ? o->clock(o->clock_arg) : (int64_t)time(NULL);
}

/* Copy S into OUT (CAP bytes) with only printable ASCII, for the log. */
static void safe_text(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s && *s && i + 1 < cap; s++)
		out[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[i] = '\0';
}

static void sha256(const void *a, size_t alen, const void *b, size_t blen,
		   uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned n = 0;

	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, a, alen) != 1 ||
	    EVP_DigestUpdate(md, b, blen) != 1 ||
	    EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
		RAND_bytes(out, 32); /* a key nothing will match */
	EVP_MD_CTX_free(md);
}

/* ---- building blocks ---------------------------------------------------- */

int ddns_oidc_random(char out[DDNS_OIDC_RAND_BUF])
{
	unsigned char r[32];

	if (RAND_bytes(r, sizeof r) != 1)
		return DDNS_EIO;
	ddns_b64url_encode(r, sizeof r, out, DDNS_OIDC_RAND_BUF);
	OPENSSL_cleanse(r, sizeof r);
	return 0;
}

int ddns_oidc_pkce_challenge(const char *verifier, size_t len,
			     char out[DDNS_OIDC_RAND_BUF])
{
	unsigned char d[32];
	unsigned n = 0;

	if (EVP_Digest(verifier, len, d, &n, EVP_sha256(), NULL) != 1 ||
	    n != sizeof d)
		return DDNS_EIO;
	return ddns_b64url_encode(d, sizeof d, out, DDNS_OIDC_RAND_BUF);
}

int ddns_oidc_urlencode(struct ddns_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			ddns_buf_addc(b, (char)c);
		} else {
			ddns_buf_addc(b, '%');
			ddns_buf_addc(b, hex[c >> 4]);
			ddns_buf_addc(b, hex[c & 15]);
		}
	}
	return b->failed ? DDNS_ENOMEM : 0;
}

/* Append "&NAME=VALUE" (no '&' when FIRST) to B. */
static void add_param(struct ddns_buf *b, bool first, const char *name,
		      const char *value)
{
	if (!first)
		ddns_buf_addc(b, '&');
	ddns_buf_adds(b, name);
	ddns_buf_addc(b, '=');
	ddns_oidc_urlencode(b, value);
}

int ddns_oidc_auth_url(struct ddns_buf *out, const char *endpoint,
		       const struct ddns_oidc_auth_params *p)
{
	ddns_buf_reset(out);
	ddns_buf_adds(out, endpoint);
	ddns_buf_addc(out, strchr(endpoint, '?') ? '&' : '?');
	add_param(out, true, "response_type", "code");
	add_param(out, false, "client_id", p->client_id);
	add_param(out, false, "redirect_uri", p->redirect_uri);
	add_param(out, false, "scope", p->scope);
	add_param(out, false, "state", p->state);
	add_param(out, false, "nonce", p->nonce);
	add_param(out, false, "code_challenge", p->challenge);
	add_param(out, false, "code_challenge_method", "S256");
	return out->failed ? DDNS_ENOMEM : 0;
}

const char *ddns_oidc_safe_return(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	if (n == 0 || n > DDNS_OIDC_RETURN_MAX || r[0] != '/' || r[1] == '/' ||
	    strchr(r, '\\'))
		return "/";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			return "/";
	return r;
}

/* ---- discovery document ------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* True if array KEY of DOC is absent, or holds one of the strings WANT
 * (NULL-terminated list). */
static bool offers(const json_t *doc, const char *key, const char *const *want,
		   bool required)
{
	const json_t *a = json_object_get(doc, key), *v;
	size_t i;

	if (!a)
		return !required;
	json_array_foreach(a, i, v)
	{
		for (const char *const *w = want; *w; w++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), *w) == 0)
				return true;
	}
	return false;
}

/* Copy endpoint KEY of DOC into OUT; it must be allowed for HTTP, and be
 * https when HTTPS_ONLY (an https issuer must not send us, with the client
 * secret or tokens, to plain http, not even on loopback). */
static bool endpoint(const json_t *doc, const char *key, bool required,
		     bool allow_http, bool https_only,
		     char out[DDNS_OIDC_URL_MAX + 1])
{
	const json_t *v = json_object_get(doc, key);

	out[0] = '\0';
	if (!v)
		return !required;
	if (!json_is_string(v) || json_string_length(v) > DDNS_OIDC_URL_MAX ||
	    !ddns_httpc_url_allowed(json_string_value(v), allow_http) ||
	    (https_only && strncmp(json_string_value(v), "https://", 8) != 0))
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static const char *disc_check(const json_t *doc, bool allow_http,
			      bool https_only, struct ddns_oidc_discovery *d)
{
	static const char *const code[] = {"code", NULL};
	static const char *const s256[] = {"S256", NULL};
	static const char *const algs[] = {"RS256", "ES256", "PS256", NULL};
	static const char *const basic[] = {"client_secret_basic", NULL};
	static const char *const post[] = {"client_secret_post", NULL};

	if (!endpoint(doc, "authorization_endpoint", true, allow_http,
		      https_only, d->authorization_endpoint))
		return "authorization_endpoint missing or not https";
	if (!endpoint(doc, "token_endpoint", true, allow_http, https_only,
		      d->token_endpoint))
		return "token_endpoint missing or not https";
	if (!endpoint(doc, "jwks_uri", true, allow_http, https_only,
		      d->jwks_uri))
		return "jwks_uri missing or not https";
	if (!endpoint(doc, "userinfo_endpoint", false, allow_http, https_only,
		      d->userinfo_endpoint))
		return "userinfo_endpoint not https";
	if (!offers(doc, "response_types_supported", code, true))
		return "response type \"code\" not supported";
	if (!offers(doc, "code_challenge_methods_supported", s256, false))
		return "PKCE S256 not supported";
	if (!offers(doc, "id_token_signing_alg_values_supported", algs, false))
		return "no ID token algorithm we accept (RS256, ES256, PS256)";
	if (offers(doc, "token_endpoint_auth_methods_supported", basic, false))
		d->auth_method = DDNS_OIDC_AUTH_BASIC;
	else if (offers(doc, "token_endpoint_auth_methods_supported", post,
			true))
		d->auth_method = DDNS_OIDC_AUTH_POST;
	else
		return "neither client_secret_basic nor client_secret_post";
	return NULL;
}

int ddns_oidc_discovery_parse(const char *json, size_t len, const char *issuer,
			      bool allow_http, struct ddns_oidc_discovery *out,
			      const char **why)
{
	json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char *iss = jstr(doc, "issuer"), *w = NULL;

	/* plain http to loopback hosts is always allowed (the tests) */
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc))
		w = "not a JSON object";
	else if (!iss || strcmp(iss, issuer) != 0)
		w = "its issuer is not the configured one";
	else
		w = disc_check(doc, allow_http,
			       strncmp(issuer, "https://", 8) == 0 && !allow_http,
			       out);
	if (!w)
		snprintf(out->issuer, sizeof out->issuer, "%s", iss);
	json_decref(doc);
	if (why)
		*why = w;
	return w ? DDNS_OIDC_EDISCOVERY : 0;
}

/* ---- claims to identity ------------------------------------------------- */

/* Copy S into OUT (CAP bytes) without control characters, cut at a UTF-8
 * character boundary. */
static void copy_text(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 1 < cap; s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			out[n++] = *s;
	/* cut inside a character: drop the part of it already copied */
	if (((unsigned char)*s & 0xc0) == 0x80) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--; /* its lead byte */
	}
	out[n] = '\0';
}

void ddns_oidc_map_profile(const json_t *c, struct ddns_oidc_identity *id)
{
	const char *name = jstr(c, "name"),
		   *user = jstr(c, "preferred_username");
	const char *given = jstr(c, "given_name"),
		   *family = jstr(c, "family_name");
	const char *email = jstr(c, "email");
	char both[2 * DDNS_USER_DISPLAY_MAX + 2];

	if (name && *name) {
		copy_text(id->name, sizeof id->name, name);
	} else if (given || family) {
		/* Each part cut at a character boundary before joining, so no
		 * partial character ends up inside the name. */
		char g[DDNS_USER_DISPLAY_MAX + 1], f[DDNS_USER_DISPLAY_MAX + 1];
		copy_text(g, sizeof g, given ? given : "");
		copy_text(f, sizeof f, family ? family : "");
		snprintf(both, sizeof both, "%s%s%s", g, *g && *f ? " " : "", f);
		copy_text(id->name, sizeof id->name, both);
	}
	if (user)
		copy_text(id->username, sizeof id->username, user);
	if (email && strlen(email) <= DDNS_USER_EMAIL_MAX &&
	    strchr(email, '@')) {
		copy_text(id->email, sizeof id->email, email);
		id->email_verified =
		    json_is_true(json_object_get(c, "email_verified"));
	}
}

static bool group_ok(const char *g, size_t len)
{
	if (len == 0 || len > DDNS_GROUP_MAX || strlen(g) != len)
		return false;
	for (; *g; g++)
		if ((unsigned char)*g < 0x20 || *g == 0x7f)
			return false;
	return true;
}

static void add_group(struct ddns_oidc_identity *id, const json_t *v)
{
	const char *g = json_string_value(v);

	if (!g || !group_ok(g, json_string_length(v)))
		return;
	for (unsigned i = 0; i < id->n_groups; i++)
		if (strcmp(id->groups[i], g) == 0)
			return;
	if (id->n_groups == DDNS_GROUPS_MAX)
		return;
	memcpy(id->groups[id->n_groups++], g, json_string_length(v) + 1);
}

unsigned ddns_oidc_map_groups(const json_t *claims, const char *claim,
			      const char *admin_group,
			      struct ddns_oidc_identity *id)
{
	const json_t *v = claim ? json_object_get(claims, claim) : NULL, *e;
	size_t i;

	id->n_groups = 0;
	id->admin = false;
	if (json_is_string(v)) {
		add_group(id, v);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			add_group(id, e);
		}
		if (json_array_size(v) > DDNS_GROUPS_MAX)
			log_warn("OIDC claim %s has %zu entries; only the "
				 "first %d groups are kept",
				 claim, json_array_size(v), DDNS_GROUPS_MAX);
	}
	for (unsigned k = 0; admin_group && *admin_group && k < id->n_groups;
	     k++)
		if (strcmp(id->groups[k], admin_group) == 0)
			id->admin = true;
	return id->n_groups;
}

/* ---- logins in progress ------------------------------------------------- */

struct pending_entry {
	bool used;
	uint8_t key[32]; /* SHA-256 of the state: no timing oracle on it */
	int64_t created;
	struct ddns_oidc_login login;
};

struct ddns_oidc_pending {
	unsigned max, ttl, n;
	struct pending_entry *e;
};

ddns_oidc_pending *ddns_oidc_pending_new(unsigned max, unsigned ttl)
{
	struct ddns_oidc_pending *t = calloc(1, sizeof *t);

	if (!t || max == 0 || !(t->e = calloc(max, sizeof *t->e))) {
		free(t);
		return NULL;
	}
	t->max = max;
	t->ttl = ttl;
	return t;
}

static void pending_drop(struct ddns_oidc_pending *t, struct pending_entry *e)
{
	OPENSSL_cleanse(e, sizeof *e);
	t->n--;
}

void ddns_oidc_pending_free(ddns_oidc_pending *t)
{
	if (!t)
		return;
	OPENSSL_cleanse(t->e, t->max * sizeof *t->e);
	free(t->e);
	free(t);
}

static bool expired(const struct ddns_oidc_pending *t,
		    const struct pending_entry *e, int64_t now)
{
	return now - e->created >= (int64_t)t->ttl;
}

int ddns_oidc_pending_put(ddns_oidc_pending *t, const char *state,
			  const struct ddns_oidc_login *l, int64_t now)
{
	struct pending_entry *slot = NULL, *oldest = NULL;
	size_t n = strlen(state);

	if (n == 0 || n >= DDNS_OIDC_RAND_BUF)
		return DDNS_EINVAL;
	for (unsigned i = 0; i < t->max; i++) {
		struct pending_entry *e = &t->e[i];

		if (e->used && expired(t, e, now))
			pending_drop(t, e);
		if (!e->used && !slot)
			slot = e;
		if (e->used && (!oldest || e->created < oldest->created))
			oldest = e;
	}
	if (!slot) {
		pending_drop(t, oldest);
		slot = oldest;
	}
	slot->used = true;
	sha256(state, n, "", 0, slot->key);
	slot->created = now;
	slot->login = *l;
	t->n++;
	return 0;
}

int ddns_oidc_pending_take(ddns_oidc_pending *t, const char *state, size_t len,
			   int64_t now, struct ddns_oidc_login *out)
{
	uint8_t key[32];

	if (len == 0 || len >= DDNS_OIDC_RAND_BUF)
		return DDNS_ENOTFOUND;
	sha256(state, len, "", 0, key);
	for (unsigned i = 0; i < t->max; i++) {
		struct pending_entry *e = &t->e[i];
		bool late;

		if (!e->used || memcmp(e->key, key, sizeof key) != 0)
			continue;
		late = expired(t, e, now);
		if (!late)
			*out = e->login;
		pending_drop(t, e); /* used up either way */
		return late ? DDNS_ENOTFOUND : 0;
	}
	return DDNS_ENOTFOUND;
}

unsigned ddns_oidc_pending_count(const ddns_oidc_pending *t)
{
	return t->n;
}

/* ---- jobs: life cycle --------------------------------------------------- */

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static void job_unlink(struct ddns_oidc_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else if (j->o && j->o->jobs == j)
		j->o->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

static void job_free(struct ddns_oidc_job *j)
{
	if (!j)
		return;
	job_unlink(j);
	ddns_httpc_cancel(j->http);
	if (j->ev)
		event_free(j->ev);
	ddns_buf_free(&j->url);
	free(j->id);
	wipe_free(j->code);
	wipe_free(j->access_token);
	wipe_free(j->id_token);
	wipe_free(j->token);
	json_decref(j->id_claims);
	OPENSSL_cleanse(&j->login, sizeof j->login);
	OPENSSL_cleanse(j->state, sizeof j->state);
	free(j);
}

static void bearer_store(struct ddns_oidc_job *j);

static void log_outcome(const struct ddns_oidc_job *j)
{
	const char *prov = j->p ? j->p->id : "?";
	char sub[80];

	safe_text(sub, sizeof sub, j->id->subject);

	if (j->kind == JOB_FINISH && j->err != 0)
		log_warn("OIDC login via %s failed: %s%s%s", prov,
			 ddns_oidc_strerror(j->err), j->detail[0] ? ": " : "",
			 j->detail);
	else if (j->kind == JOB_FINISH)
		log_info("OIDC login via %s: subject %s", prov, sub);
	else if (j->err != 0)
		log_debug("OIDC %s via %s: %s%s%s",
			  j->kind == JOB_BEARER ? "bearer token"
						: "login start",
			  prov, ddns_oidc_strerror(j->err),
			  j->detail[0] ? ": " : "", j->detail);
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct ddns_oidc_job *j = arg;
	struct ddns_oidc_result r = {0};

	job_unlink(j); /* the callback may free the relying party */
	log_outcome(j);
	j->o = NULL;
	j->delivering = true;
	r.err = j->err;
	r.detail = j->detail;
	r.url = j->err == 0 && j->url.data ? j->url.data : NULL;
	r.binding = r.url ? j->login.binding : NULL;
	r.return_to = ddns_oidc_safe_return(j->login.return_to);
	r.id = j->err == 0 && j->kind != JOB_BEGIN ? j->id : NULL;
	j->cb(&r, j->arg);
	job_free(j);
}

/* End J with ERR (0: success) and DETAIL; delivered from the loop. */
static void job_end(struct ddns_oidc_job *j, int err, const char *detail)
{
	if (j->wait == WAIT_DONE)
		return;
	j->err = err;
	safe_text(j->detail, sizeof j->detail, detail ? detail : "");
	j->wait = WAIT_DONE;
	if (j->kind == JOB_BEARER)
		bearer_store(j);
	event_active(j->ev, EV_TIMEOUT, 1);
}

static struct ddns_oidc_job *job_new(struct ddns_oidc *o, enum job_kind kind,
				     ddns_oidc_cb cb, void *arg)
{
	struct ddns_oidc_job *j = calloc(1, sizeof *j);

	if (!j || !(j->id = calloc(1, sizeof *j->id)) ||
	    !(j->ev = event_new(o->base, -1, 0, on_deliver, j))) {
		job_free(j);
		return NULL;
	}
	j->o = o;
	j->kind = kind;
	j->cb = cb;
	j->arg = arg;
	j->next = o->jobs;
	if (o->jobs)
		o->jobs->prev = j;
	o->jobs = j;
	return j;
}

void ddns_oidc_cancel(ddns_oidc_job *j)
{
	if (j && !j->delivering)
		job_free(j);
}

/* Resume (RC 0) or end (RC < 0) every job of P waiting for WAIT. */
static void wake(struct provider *p, enum job_wait wait, int rc,
		 const char *why)
{
	struct ddns_oidc_job *j, *next;

	for (j = p->o->jobs; j; j = next) {
		next = j->next; /* resuming never frees a job */
		if (j->p != p || j->wait != wait)
			continue;
		j->wait = WAIT_NONE;
		if (rc == 0)
			j->resume(j);
		else
			job_end(j, rc, why);
	}
}

/* ---- discovery and key set ---------------------------------------------- */

static void on_disc_reply(const struct ddns_httpc_resp *r, void *arg);
static void on_jwks_reply(const struct ddns_httpc_resp *r, void *arg);

/* Start an HTTP GET of URL for P (AUTH: Authorization value or NULL). */
static int get(struct provider *p, const char *url, const char *auth,
	       ddns_httpc_cb cb, void *arg, ddns_httpc_req **h)
{
	struct ddns_httpc_call call = {.url = url, .authorization = auth};

	return ddns_httpc_request(p->http, &call, cb, arg, h);
}

static void disc_done(struct provider *p, int rc, const char *why)
{
	int64_t now = now_of(p->o);

	if (rc == 0) {
		p->have_disc = true;
		p->disc_stale = false;
		p->disc_at = now;
		log_info("OIDC provider %s: discovery of %s done", p->id,
			 p->issuer);
	} else {
		p->disc_failed_at = now;
		p->disc_err = rc;
		safe_text(p->disc_why, sizeof p->disc_why, why);
		log_warn("OIDC provider %s: discovery of %s failed: %s%s",
			 p->id, p->issuer, why,
			 p->have_disc ? "; the previous document stays in use"
				      : "");
		if (p->have_disc)
			rc = 0; /* go on with what worked before */
	}
	wake(p, WAIT_DISC, rc, why);
}

static void disc_fetch(struct provider *p)
{
	struct ddns_buf url = {0};
	size_t n = strlen(p->issuer);
	int rc;

	while (n > 0 && p->issuer[n - 1] == '/')
		n--; /* OpenID Connect Discovery 1.0, section 4 */
	ddns_buf_add(&url, p->issuer, n);
	ddns_buf_adds(&url, DISC_PATH);
	rc = url.failed
		 ? DDNS_ENOMEM
		 : get(p, url.data, NULL, on_disc_reply, p, &p->disc_req);
	ddns_buf_free(&url);
	if (rc != 0)
		disc_done(p, DDNS_OIDC_EDISCOVERY, ddns_strerror(rc));
}

static void on_disc_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct provider *p = arg;
	struct ddns_oidc_discovery d;
	const char *why = NULL;
	char text[DETAIL_MAX];

	p->disc_req = NULL;
	if (r->err != 0) {
		disc_done(p, DDNS_OIDC_EUNREACHABLE, r->why);
		return;
	}
	if (r->status != 200) {
		snprintf(text, sizeof text, "HTTP status %d", r->status);
		disc_done(p, DDNS_OIDC_EDISCOVERY, text);
		return;
	}
	if (ddns_oidc_discovery_parse(r->body, r->len, p->issuer, p->allow_http,
				      &d, &why) != 0) {
		disc_done(p, DDNS_OIDC_EDISCOVERY, why);
		return;
	}
	/* providers list every method they know in discovery, whatever
	 * this client is registered with: the configuration wins */
	if (p->token_auth >= 0)
		d.auth_method = (enum ddns_oidc_auth_method)p->token_auth;
	p->disc = d;
	disc_done(p, 0, NULL);
}

/* Continue J with RESUME once P's discovery document is there. */
static void need_disc(struct ddns_oidc_job *j,
		      void (*resume)(struct ddns_oidc_job *))
{
	struct provider *p = j->p;
	int64_t now = now_of(j->o);
	bool retry_soon = now - p->disc_failed_at < RETRY_AFTER;

	j->resume = resume;
	if (p->have_disc &&
	    ((!p->disc_stale && now - p->disc_at < DISC_TTL) || retry_soon)) {
		resume(j);
		return;
	}
	if (!p->have_disc && p->disc_err && retry_soon) {
		job_end(j, p->disc_err, p->disc_why);
		return;
	}
	j->wait = WAIT_DISC;
	if (!p->disc_req)
		disc_fetch(p);
}

static void jwks_done(struct provider *p, int rc, const char *why)
{
	int64_t now = now_of(p->o);

	if (rc != 0) {
		p->jwks_failed_at = now;
		p->disc_stale = true; /* the jwks_uri may have moved */
		log_warn("OIDC provider %s: key set: %s%s", p->id, why,
			 p->jwks ? "; the previous keys stay in use" : "");
		if (p->jwks)
			rc = 0;
	} else {
		log_info("OIDC provider %s: %u signing key(s) loaded", p->id,
			 ddns_jwks_count(p->jwks));
	}
	wake(p, WAIT_JWKS, rc, why);
}

static void on_jwks_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct provider *p = arg;
	ddns_jwks *k = NULL;
	char text[DETAIL_MAX];
	int rc;

	p->jwks_req = NULL;
	if (r->err != 0) {
		jwks_done(p, DDNS_OIDC_EJWKS, r->why);
		return;
	}
	if (r->status != 200) {
		snprintf(text, sizeof text, "HTTP status %d", r->status);
		jwks_done(p, DDNS_OIDC_EJWKS, text);
		return;
	}
	if ((rc = ddns_jwks_parse(r->body, r->len, &k)) != 0) {
		jwks_done(p, DDNS_OIDC_EJWKS, ddns_jwt_strerror(rc));
		return;
	}
	ddns_jwks_free(p->jwks);
	p->jwks = k;
	p->jwks_at = now_of(p->o);
	jwks_done(p, 0, NULL);
}

/* Continue J with RESUME once P's key set is there (FORCE: fetch it again
 * even when it is fresh). */
static void need_jwks(struct ddns_oidc_job *j, bool force,
		      void (*resume)(struct ddns_oidc_job *))
{
	struct provider *p = j->p;
	int64_t now = now_of(j->o);
	int rc;

	j->resume = resume;
	if (p->jwks && !force &&
	    (now - p->jwks_at < JWKS_TTL ||
	     now - p->jwks_failed_at < RETRY_AFTER)) {
		resume(j);
		return;
	}
	if (!p->jwks && now - p->jwks_failed_at < RETRY_AFTER) {
		job_end(j, DDNS_OIDC_EJWKS, "fetch failed moments ago");
		return;
	}
	j->wait = WAIT_JWKS;
	if (p->jwks_req)
		return;
	rc = get(p, p->disc.jwks_uri, NULL, on_jwks_reply, p, &p->jwks_req);
	if (rc != 0)
		jwks_done(p, DDNS_OIDC_EJWKS, ddns_strerror(rc));
}

/* ---- login: begin ------------------------------------------------------- */

static struct provider *find_provider(struct ddns_oidc *o, const char *id)
{
	for (unsigned i = 0; id && i < o->n; i++)
		if (strcmp(o->p[i].id, id) == 0)
			return &o->p[i];
	return NULL;
}

static void begin_resume(struct ddns_oidc_job *j)
{
	struct provider *p = j->p;
	char challenge[DDNS_OIDC_RAND_BUF];
	struct ddns_oidc_auth_params ap = {
	    .client_id = p->client_id,
	    .redirect_uri = j->o->redirect_uri,
	    .scope = p->scopes,
	    .state = j->state,
	    .nonce = j->login.nonce,
	    .challenge = challenge,
	};

	if (ddns_oidc_pkce_challenge(
		j->login.verifier, strlen(j->login.verifier), challenge) != 0 ||
	    ddns_oidc_auth_url(&j->url, p->disc.authorization_endpoint, &ap) !=
		0) {
		job_end(j, DDNS_ENOMEM, NULL);
		return;
	}
	/* kept only now that the URL exists: no state for failed starts */
	ddns_oidc_pending_put(j->o->pending, j->state, &j->login, now_of(j->o));
	job_end(j, 0, NULL);
}

int ddns_oidc_login_begin(ddns_oidc *o, const char *provider,
			  const char *return_to, ddns_oidc_cb cb, void *arg,
			  ddns_oidc_job **job)
{
	struct provider *p = find_provider(o, provider);
	struct ddns_oidc_job *j;

	if (job)
		*job = NULL;
	if (!p)
		return DDNS_OIDC_ENOPROVIDER;
	if (!(j = job_new(o, JOB_BEGIN, cb, arg)))
		return DDNS_ENOMEM;
	j->p = p;
	j->login.provider = p->idx;
	snprintf(j->login.return_to, sizeof j->login.return_to, "%s",
		 ddns_oidc_safe_return(return_to));
	if (ddns_oidc_random(j->state) != 0 ||
	    ddns_oidc_random(j->login.nonce) != 0 ||
	    ddns_oidc_random(j->login.binding) != 0 ||
	    ddns_oidc_random(j->login.verifier) != 0) {
		job_free(j);
		return DDNS_EIO;
	}
	if (job)
		*job = j;
	need_disc(j, begin_resume);
	return 0;
}

/* ---- login: finish ------------------------------------------------------ */

static void finish_token(struct ddns_oidc_job *j);
static void finish_verify(struct ddns_oidc_job *j);
static void finish_userinfo(struct ddns_oidc_job *j);

/* The only value of NAME in Q; NULL when absent or repeated. */
static const char *query_one(const struct evkeyvalq *q, const char *name,
			     bool *repeated)
{
	const struct evkeyval *kv;
	const char *v = NULL;

	TAILQ_FOREACH(kv, q, next)
	{
		if (strcmp(kv->key, name) != 0)
			continue;
		if (v)
			*repeated = true;
		v = kv->value;
	}
	return *repeated ? NULL : v;
}

/* Check the redirect's parameters Q against the login taken for J. */
static void finish_params(struct ddns_oidc_job *j, const struct evkeyvalq *q)
{
	bool rep = false;
	const char *iss = query_one(q, "iss", &rep);
	const char *error = query_one(q, "error", &rep);
	const char *code = query_one(q, "code", &rep);
	char text[DETAIL_MAX];

	if (rep) {
		job_end(j, DDNS_OIDC_ESTATE, "repeated parameters");
	} else if (iss && strcmp(iss, j->p->issuer) != 0) {
		job_end(j, DDNS_OIDC_EMIXUP, NULL);
	} else if (error) {
		snprintf(text, sizeof text, "error=%.64s", error);
		job_end(j, DDNS_OIDC_EDENIED, text);
	} else if (!code || !*code || strlen(code) > DDNS_OIDC_TOKEN_MAX) {
		job_end(j, DDNS_OIDC_ETOKEN, "no code in the reply");
	} else if (!(j->code = strdup(code))) {
		job_end(j, DDNS_ENOMEM, NULL);
	} else {
		need_disc(j, finish_token);
	}
}

/* True if BINDING (BLEN bytes) is the one of login L. */
static bool binding_ok(const struct ddns_oidc_login *l, const char *binding,
		       size_t blen)
{
	size_t n = strlen(l->binding);

	return binding && blen == n && n > 0 &&
	       CRYPTO_memcmp(binding, l->binding, n) == 0;
}

/* Take the state of query Q (it must come from the browser with BINDING)
 * and go on with the login it names. */
static void finish_start(struct ddns_oidc_job *j, const struct evkeyvalq *q,
			 const char *binding, size_t blen)
{
	struct ddns_oidc *o = j->o;
	bool rep = false;
	const char *state = query_one(q, "state", &rep);

	if (!state || ddns_oidc_pending_take(o->pending, state, strlen(state),
					     now_of(o), &j->login) != 0) {
		job_end(j, DDNS_OIDC_ESTATE, NULL);
		return;
	}
	j->p = &o->p[j->login.provider];
	if (!binding_ok(&j->login, binding, blen)) {
		job_end(j, DDNS_OIDC_ESTATE,
			"reply reached another browser than the one that "
			"began the login");
		return;
	}
	finish_params(j, q);
}

int ddns_oidc_login_finish(ddns_oidc *o, const char *query, size_t qlen,
			   const char *binding, size_t blen, ddns_oidc_cb cb,
			   void *arg, ddns_oidc_job **job)
{
	struct ddns_oidc_job *j = job_new(o, JOB_FINISH, cb, arg);
	struct evkeyvalq q;
	char *copy;

	if (job)
		*job = j;
	if (!j)
		return DDNS_ENOMEM;
	TAILQ_INIT(&q);
	if (qlen > QUERY_MAX || memchr(query, '\0', qlen)) {
		job_end(j, DDNS_OIDC_ESTATE, "query too long");
		return 0;
	}
	if (!(copy = strndup(query, qlen))) {
		job_free(j);
		if (job)
			*job = NULL;
		return DDNS_ENOMEM;
	}
	if (evhttp_parse_query_str(copy, &q) != 0)
		job_end(j, DDNS_OIDC_ESTATE, "malformed query");
	else
		finish_start(j, &q, binding, blen);
	evhttp_clear_headers(&q);
	OPENSSL_cleanse(copy, qlen);
	free(copy);
	return 0;
}

/* Authorization: Basic for the client (RFC 6749 2.3.1: both parts
 * form-encoded first), into OUT; or the two form fields for post. */
static int client_auth(const struct provider *p, struct ddns_buf *form,
		       struct ddns_buf *basic)
{
	struct ddns_buf raw = {0};
	unsigned char *enc;
	int rc = DDNS_ENOMEM;

	if (p->disc.auth_method == DDNS_OIDC_AUTH_POST) {
		add_param(form, false, "client_id", p->client_id);
		add_param(form, false, "client_secret", p->client_secret);
		return form->failed ? DDNS_ENOMEM : 0;
	}
	ddns_oidc_urlencode(&raw, p->client_id);
	ddns_buf_addc(&raw, ':');
	ddns_oidc_urlencode(&raw, p->client_secret);
	if (!raw.failed && (enc = malloc(raw.len / 3 * 4 + 5)) != NULL) {
		EVP_EncodeBlock(enc, (const unsigned char *)raw.data,
				(int)raw.len);
		ddns_buf_adds(basic, "Basic ");
		ddns_buf_adds(basic, (const char *)enc);
		OPENSSL_cleanse(enc, strlen((const char *)enc));
		free(enc);
		rc = basic->failed ? DDNS_ENOMEM : 0;
	}
	if (raw.data)
		OPENSSL_cleanse(raw.data, raw.len);
	ddns_buf_free(&raw);
	return rc;
}

static void wipe_buf(struct ddns_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	ddns_buf_free(b);
}

static void on_token_reply(const struct ddns_httpc_resp *r, void *arg);

/* POST the code, verifier and redirect URI to the token endpoint. */
static void finish_token(struct ddns_oidc_job *j)
{
	struct provider *p = j->p;
	struct ddns_buf form = {0}, basic = {0};
	struct ddns_httpc_call call = {.url = p->disc.token_endpoint};
	int rc;

	add_param(&form, true, "grant_type", "authorization_code");
	add_param(&form, false, "code", j->code);
	add_param(&form, false, "redirect_uri", j->o->redirect_uri);
	add_param(&form, false, "code_verifier", j->login.verifier);
	if ((rc = client_auth(p, &form, &basic)) == 0 && !form.failed) {
		call.form = form.data;
		call.form_len = form.len;
		call.authorization = basic.data; /* NULL for post */
		j->wait = WAIT_HTTP;
		rc = ddns_httpc_request(p->http, &call, on_token_reply, j,
					&j->http);
	}
	wipe_buf(&form);
	wipe_buf(&basic);
	if (rc != 0) {
		j->wait = WAIT_NONE;
		job_end(j, DDNS_OIDC_ETOKEN, ddns_strerror(rc));
	}
}

/* The "error" of an OAuth error reply, for the log. */
static void oauth_error(const struct ddns_httpc_resp *r, char *out, size_t cap)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	const char *e = jstr(doc, "error");
	char safe[80];

	safe_text(safe, sizeof safe, e ? e : "");
	snprintf(out, cap, "HTTP status %d%s%s", r->status, e ? ", error=" : "",
		 safe);
	json_decref(doc);
}

/* Take access_token and id_token from the token endpoint's reply. */
static int token_fields(struct ddns_oidc_job *j, const json_t *doc,
			const char **why)
{
	const char *at = jstr(doc, "access_token"), *it = jstr(doc, "id_token");
	const char *type = jstr(doc, "token_type");

	*why = NULL;
	if (!json_is_object(doc))
		*why = "reply is not a JSON object";
	else if (!it || !*it)
		*why = "no id_token in the reply";
	else if (!at || !*at || strlen(at) > DDNS_OIDC_TOKEN_MAX)
		*why = "no usable access_token in the reply";
	else if (type && strcasecmp(type, "Bearer") != 0)
		*why = "token_type is not Bearer";
	if (*why)
		return DDNS_OIDC_ETOKEN;
	if (!(j->access_token = strdup(at)) || !(j->id_token = strdup(it)))
		return DDNS_ENOMEM;
	return 0;
}

static void on_token_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct ddns_oidc_job *j = arg;
	char text[DETAIL_MAX];
	const char *why;
	json_t *doc;
	int rc;

	j->http = NULL;
	j->wait = WAIT_NONE;
	wipe_free(j->code); /* one use only, whatever the reply */
	j->code = NULL;
	if (r->err != 0) {
		j->p->disc_stale = true;
		job_end(j, DDNS_OIDC_EUNREACHABLE, r->why);
		return;
	}
	if (r->status != 200) {
		oauth_error(r, text, sizeof text);
		job_end(j, DDNS_OIDC_ETOKEN, text);
		return;
	}
	doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	rc = token_fields(j, doc, &why);
	json_decref(doc);
	if (rc != 0)
		job_end(j, rc, why);
	else
		need_jwks(j, false, finish_verify);
}

static void finish_verify(struct ddns_oidc_job *j)
{
	struct provider *p = j->p;
	struct ddns_jwt_expect e = {
	    .issuer = p->issuer,
	    .audience = p->client_id,
	    .nonce = j->login.nonce,
	    .now = now_of(j->o),
	    .leeway = j->o->leeway,
	};
	int rc = ddns_jwt_verify(j->id_token, strlen(j->id_token), p->jwks, &e,
				 &j->id_claims);

	if (rc == DDNS_JWT_ENOKEY && !j->jwks_retried &&
	    e.now - p->jwks_at >= JWKS_REFETCH) {
		j->jwks_retried = true; /* the provider may have new keys */
		need_jwks(j, true, finish_verify);
		return;
	}
	if (rc != 0) {
		job_end(j, rc, NULL);
		return;
	}
	snprintf(j->id->provider, sizeof j->id->provider, "%s", p->id);
	snprintf(j->id->issuer, sizeof j->id->issuer, "%s", p->issuer);
	snprintf(j->id->subject, sizeof j->id->subject, "%s",
		 jstr(j->id_claims, "sub"));
	ddns_oidc_map_profile(j->id_claims, j->id);
	ddns_oidc_map_groups(j->id_claims, p->groups_claim, p->admin_group,
			     j->id);
	if (p->disc.userinfo_endpoint[0])
		finish_userinfo(j);
	else
		job_end(j, 0, NULL);
}

static void on_userinfo_reply(const struct ddns_httpc_resp *r, void *arg);

/* GET userinfo with TOKEN for J; CB gets the reply. */
static int userinfo_get(struct ddns_oidc_job *j, const char *token,
			ddns_httpc_cb cb)
{
	struct ddns_buf auth = {0};
	int rc;

	ddns_buf_adds(&auth, "Bearer ");
	ddns_buf_adds(&auth, token);
	j->wait = WAIT_HTTP;
	rc = auth.failed ? DDNS_ENOMEM
			 : get(j->p, j->p->disc.userinfo_endpoint, auth.data,
			       cb, j, &j->http);
	wipe_buf(&auth);
	if (rc != 0)
		j->wait = WAIT_NONE;
	return rc;
}

static void finish_userinfo(struct ddns_oidc_job *j)
{
	int rc = userinfo_get(j, j->access_token, on_userinfo_reply);

	if (rc != 0)
		job_end(j, DDNS_OIDC_EUSERINFO, ddns_strerror(rc));
}

/* The userinfo reply R as a JSON object with a sub, or NULL (*WHY). */
static json_t *userinfo_doc(const struct ddns_httpc_resp *r, const char **why)
{
	json_t *doc;

	*why = NULL;
	if (strncasecmp(r->content_type, "application/json", 16) != 0) {
		*why = "userinfo is not application/json (signed userinfo is "
		       "not supported)";
		return NULL;
	}
	doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc) || !jstr(doc, "sub")) {
		*why = "userinfo is not a JSON object with a sub";
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Profile and groups from userinfo DOC over those of the ID token. */
static void merge_userinfo(struct ddns_oidc_job *j, const json_t *doc)
{
	const struct provider *p = j->p;

	ddns_oidc_map_profile(doc, j->id);
	if (p->groups_claim && json_object_get(doc, p->groups_claim))
		ddns_oidc_map_groups(doc, p->groups_claim, p->admin_group,
				     j->id);
}

static void on_userinfo_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct ddns_oidc_job *j = arg;
	const char *why = NULL;
	char text[DETAIL_MAX];
	json_t *doc;

	j->http = NULL;
	j->wait = WAIT_NONE;
	if (r->err != 0) {
		j->p->disc_stale = true;
		job_end(j, DDNS_OIDC_EUNREACHABLE, r->why);
		return;
	}
	if (r->status != 200) {
		snprintf(text, sizeof text, "HTTP status %d", r->status);
		job_end(j, DDNS_OIDC_EUSERINFO, text);
		return;
	}
	if (!(doc = userinfo_doc(r, &why))) {
		job_end(j, DDNS_OIDC_EUSERINFO, why);
		return;
	}
	/* OpenID Connect Core 5.3.2: the sub must be the ID token's */
	if (strcmp(jstr(doc, "sub"), j->id->subject) != 0) {
		job_end(j, DDNS_OIDC_EUSERINFO, "userinfo names another sub");
	} else {
		merge_userinfo(j, doc);
		job_end(j, 0, NULL);
	}
	json_decref(doc);
}

/* ---- bearer tokens ------------------------------------------------------ */

static void bearer_ask(struct ddns_oidc_job *j);
static void on_bearer_reply(const struct ddns_httpc_resp *r, void *arg);

static struct bearer_entry *bearer_find(struct ddns_oidc *o,
					const uint8_t key[32], int64_t now)
{
	for (unsigned i = 0; o->bearer && i < DDNS_OIDC_BEARER_MAX; i++) {
		struct bearer_entry *e = &o->bearer[i];

		if (e->used && now >= e->until)
			e->used = false;
		if (e->used && CRYPTO_memcmp(e->key, key, 32) == 0)
			return e;
	}
	return NULL;
}

/* Remember the verdict of bearer job J (good, or refused by the
 * provider; not "unreachable", which says nothing of the token). */
static void bearer_store(struct ddns_oidc_job *j)
{
	struct ddns_oidc *o = j->o;
	struct bearer_entry *slot = NULL;
	int64_t now = now_of(o);

	if (j->err != 0 && j->err != DDNS_OIDC_EUNAUTHORIZED)
		return;
	if (!o->bearer &&
	    !(o->bearer = calloc(DDNS_OIDC_BEARER_MAX, sizeof *o->bearer)))
		return;
	for (unsigned i = 0; i < DDNS_OIDC_BEARER_MAX; i++) {
		struct bearer_entry *e = &o->bearer[i];

		if (!e->used || now >= e->until) {
			slot = e;
			break;
		}
		if (!slot || e->until < slot->until)
			slot = e; /* the one to expire first makes room */
	}
	slot->used = true;
	memcpy(slot->key, j->key, 32);
	slot->until = now + DDNS_OIDC_BEARER_TTL;
	slot->err = j->err;
	slot->id = *j->id;
}

/* The provider for token J->token when none is named. */
static struct provider *bearer_route(struct ddns_oidc *o,
				     struct ddns_oidc_job *j)
{
	json_t *pay = NULL;
	const char *iss;
	struct provider *p = NULL;

	if (o->n == 1)
		return &o->p[0];
	if (ddns_jwt_peek(j->token, strlen(j->token), &pay) == 0 &&
	    (iss = jstr(pay, "iss")) != NULL)
		for (unsigned i = 0; i < o->n && !p; i++)
			if (strcmp(o->p[i].issuer, iss) == 0)
				p = &o->p[i];
	json_decref(pay);
	if (!p) {
		j->try_all = true;
		p = &o->p[0];
	}
	return p;
}

/* Refused by J->p: try the next provider, or end. */
static void bearer_next(struct ddns_oidc_job *j, const char *why)
{
	if (j->try_all && j->p->idx + 1 < j->o->n) {
		j->p = &j->o->p[j->p->idx + 1];
		need_disc(j, bearer_ask);
		return;
	}
	job_end(j, DDNS_OIDC_EUNAUTHORIZED, why);
}

static void bearer_ask(struct ddns_oidc_job *j)
{
	if (!j->p->disc.userinfo_endpoint[0]) {
		bearer_next(j, "provider has no userinfo endpoint");
		return;
	}
	if (userinfo_get(j, j->token, on_bearer_reply) != 0)
		job_end(j, DDNS_OIDC_EUSERINFO, "cannot start the request");
}

static void on_bearer_userinfo(struct ddns_oidc_job *j,
			       const struct ddns_httpc_resp *r)
{
	const struct provider *p = j->p;
	const char *why = NULL;
	json_t *doc = userinfo_doc(r, &why);

	if (!doc) {
		job_end(j, DDNS_OIDC_EUSERINFO, why);
		return;
	}
	memset(j->id, 0, sizeof *j->id);
	snprintf(j->id->provider, sizeof j->id->provider, "%s", p->id);
	snprintf(j->id->issuer, sizeof j->id->issuer, "%s", p->issuer);
	if (json_string_length(json_object_get(doc, "sub")) >
	    DDNS_OIDC_ID_MAX) {
		job_end(j, DDNS_OIDC_EUSERINFO, "sub too long");
	} else {
		snprintf(j->id->subject, sizeof j->id->subject, "%s",
			 jstr(doc, "sub"));
		ddns_oidc_map_profile(doc, j->id);
		ddns_oidc_map_groups(doc, p->groups_claim, p->admin_group,
				     j->id);
		job_end(j, 0, NULL);
	}
	json_decref(doc);
}

static void on_bearer_reply(const struct ddns_httpc_resp *r, void *arg)
{
	struct ddns_oidc_job *j = arg;
	char text[DETAIL_MAX];

	j->http = NULL;
	j->wait = WAIT_NONE;
	if (r->err != 0) {
		j->p->disc_stale = true;
		job_end(j, DDNS_OIDC_EUNREACHABLE, r->why);
	} else if (r->status == 401 || r->status == 403) {
		snprintf(text, sizeof text, "userinfo said %d", r->status);
		bearer_next(j, text);
	} else if (r->status != 200) {
		snprintf(text, sizeof text, "userinfo: HTTP status %d",
			 r->status);
		job_end(j, DDNS_OIDC_EUSERINFO, text);
	} else {
		on_bearer_userinfo(j, r);
	}
}

int ddns_oidc_bearer(ddns_oidc *o, const char *provider, const char *token,
		     size_t len, ddns_oidc_cb cb, void *arg,
		     ddns_oidc_job **job)
{
	struct provider *p = provider ? find_provider(o, provider) : NULL;
	const struct bearer_entry *hit;
	struct ddns_oidc_job *j;

	if (job)
		*job = NULL;
	if (len == 0 || len > DDNS_OIDC_TOKEN_MAX || memchr(token, '\0', len))
		return DDNS_EINVAL;
	if ((provider && !p) || o->n == 0)
		return DDNS_OIDC_ENOPROVIDER;
	if (!(j = job_new(o, JOB_BEARER, cb, arg)))
		return DDNS_ENOMEM;
	if (job)
		*job = j;
	sha256(provider ? provider : "", provider ? strlen(provider) + 1 : 0,
	       token, len, j->key);
	if ((hit = bearer_find(o, j->key, now_of(o))) != NULL) {
		*j->id = hit->id;
		j->p = &o->p[0];
		j->wait = WAIT_DONE; /* a cached verdict is not stored again */
		j->err = hit->err;
		event_active(j->ev, EV_TIMEOUT, 1);
		return 0;
	}
	if (!(j->token = strndup(token, len))) {
		job_free(j);
		if (job)
			*job = NULL;
		return DDNS_ENOMEM;
	}
	j->p = p ? p : bearer_route(o, j);
	need_disc(j, bearer_ask);
	return 0;
}

/* ---- setup -------------------------------------------------------------- */

static bool id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > DDNS_OIDC_ID_LEN)
		return false;
	for (; *id; id++)
		if (!((*id >= 'a' && *id <= 'z') ||
		      (*id >= '0' && *id <= '9') || *id == '_' || *id == '-'))
			return false;
	return true;
}

/* A copy of S, or of DEF when S is NULL or empty; NULL both: NULL. */
static char *dup_or(const char *s, const char *def, bool *oom)
{
	char *d;

	if (!s || !*s)
		s = def;
	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

/* SCOPES with "openid" in front when it lacks it. */
static char *scopes_of(const char *s, bool *oom)
{
	struct ddns_buf b = {0};
	const char *w = s;
	bool has = false;

	if (!s || !*s)
		return dup_or(DEFAULT_SCOPES, NULL, oom);
	while ((w = strstr(w, "openid")) != NULL) {
		if ((w == s || w[-1] == ' ') && (w[6] == ' ' || w[6] == '\0'))
			has = true;
		w += 6;
	}
	if (!has)
		ddns_buf_adds(&b, "openid ");
	ddns_buf_adds(&b, s);
	if (b.failed) {
		*oom = true;
		ddns_buf_free(&b);
		return NULL;
	}
	return b.data;
}

static int provider_check(const struct ddns_oidc_provider_conf *c, char *err,
			  size_t errlen)
{
	const char *id = c->id ? c->id : "";

	if (!id_ok(c->id))
		snprintf(err, errlen,
			 "[oidc %s]: the name must be 1..%d of "
			 "a-z 0-9 _ -",
			 id, DDNS_OIDC_ID_LEN);
	else if (!c->issuer || strlen(c->issuer) > DDNS_OIDC_URL_MAX ||
		 !ddns_httpc_url_allowed(c->issuer, c->allow_http))
		snprintf(err, errlen,
			 "[oidc %s] issuer: missing, or not an "
			 "https URL (http only for loopback)",
			 id);
	else if (!c->client_id || !*c->client_id)
		snprintf(err, errlen, "[oidc %s] client_id is required", id);
	else if (!c->client_secret || !*c->client_secret)
		snprintf(err, errlen,
			 "[oidc %s] client_secret (or "
			 "client_secret_file) is required",
			 id);
	else if (c->token_auth && *c->token_auth &&
		 strcmp(c->token_auth, "client_secret_basic") != 0 &&
		 strcmp(c->token_auth, "client_secret_post") != 0)
		snprintf(err, errlen,
			 "[oidc %s] token_auth_method: "
			 "client_secret_basic or "
			 "client_secret_post",
			 id);
	else
		return 0;
	return DDNS_EINVAL;
}

static int provider_init(struct ddns_oidc *o, unsigned i,
			 const struct ddns_oidc_provider_conf *c,
			 const struct ddns_oidc_conf *conf, char *err,
			 size_t errlen)
{
	struct provider *p = &o->p[i];
	struct ddns_httpc_conf hc = {.ca_file = c->ca_file,
				     .timeout = conf->timeout,
				     .allow_http = c->allow_http};
	bool oom = false;
	int rc;

	if ((rc = provider_check(c, err, errlen)) != 0)
		return rc;
	if (find_provider(o, c->id)) {
		snprintf(err, errlen, "[oidc %s] appears twice", c->id);
		return DDNS_EINVAL;
	}
	p->o = o;
	p->idx = i;
	p->id = dup_or(c->id, NULL, &oom);
	p->title = dup_or(c->title, c->id, &oom);
	p->issuer = dup_or(c->issuer, NULL, &oom);
	p->client_id = dup_or(c->client_id, NULL, &oom);
	p->client_secret = dup_or(c->client_secret, NULL, &oom);
	p->scopes = scopes_of(c->scopes, &oom);
	p->groups_claim = dup_or(c->groups_claim, NULL, &oom);
	p->admin_group = dup_or(c->admin_group, NULL, &oom);
	p->allow_http = c->allow_http;
	p->token_auth = -1;
	if (c->token_auth && strcmp(c->token_auth, "client_secret_basic") == 0)
		p->token_auth = DDNS_OIDC_AUTH_BASIC;
	else if (c->token_auth &&
		 strcmp(c->token_auth, "client_secret_post") == 0)
		p->token_auth = DDNS_OIDC_AUTH_POST;
	if (oom)
		return DDNS_ENOMEM;
	if ((rc = ddns_httpc_new(&p->http, o->base, &hc, err, errlen)) != 0)
		return rc;
	o->n = i + 1;
	return 0;
}

int ddns_oidc_new(ddns_oidc **out, struct event_base *base,
		  const struct ddns_oidc_conf *conf, char *err, size_t errlen)
{
	struct ddns_oidc *o = calloc(1, sizeof *o);
	int rc = DDNS_ENOMEM;

	*out = NULL;
	snprintf(err, errlen, "out of memory");
	if (!o)
		return rc;
	o->base = base;
	o->leeway = conf->leeway ? conf->leeway : DDNS_JWT_LEEWAY;
	o->clock = conf->clock;
	o->clock_arg = conf->clock_arg;
	if (conf->n_providers > DDNS_OIDC_PROVIDERS_MAX) {
		snprintf(err, errlen, "more than %d [oidc] sections",
			 DDNS_OIDC_PROVIDERS_MAX);
		rc = DDNS_EINVAL;
		goto fail;
	}
	if (conf->n_providers > 0 &&
	    (!conf->redirect_uri ||
	     !ddns_httpc_url_allowed(conf->redirect_uri, true))) {
		snprintf(err, errlen,
			 "[portal] public_url is required for "
			 "OpenID Connect (an http(s) URL)");
		rc = DDNS_EINVAL;
		goto fail;
	}
	if (!(o->redirect_uri =
		  strdup(conf->redirect_uri ? conf->redirect_uri : "")) ||
	    !(o->pending = ddns_oidc_pending_new(DDNS_OIDC_PENDING_MAX,
						 DDNS_OIDC_LOGIN_TTL)) ||
	    (conf->n_providers &&
	     !(o->p = calloc(conf->n_providers, sizeof *o->p))))
		goto fail;
	o->cap = conf->n_providers;
	for (unsigned i = 0; i < conf->n_providers; i++)
		if ((rc = provider_init(o, i, &conf->providers[i], conf, err,
					errlen)) != 0)
			goto fail;
	*out = o;
	return 0;
fail:
	ddns_oidc_free(o);
	return rc;
}

static void provider_free(struct provider *p)
{
	ddns_httpc_free(p->http); /* cancels the fetches in flight */
	ddns_jwks_free(p->jwks);
	free(p->id);
	free(p->title);
	free(p->issuer);
	free(p->client_id);
	wipe_free(p->client_secret);
	free(p->scopes);
	free(p->groups_claim);
	free(p->admin_group);
}

void ddns_oidc_free(ddns_oidc *o)
{
	if (!o)
		return;
	while (o->jobs)
		job_free(o->jobs);
	for (unsigned i = 0; o->p && i < o->cap; i++)
		provider_free(&o->p[i]); /* a half-made one too */
	free(o->p);
	free(o->redirect_uri);
	ddns_oidc_pending_free(o->pending);
	if (o->bearer)
		OPENSSL_cleanse(o->bearer,
				DDNS_OIDC_BEARER_MAX * sizeof *o->bearer);
	free(o->bearer);
	free(o);
}

unsigned ddns_oidc_count(const ddns_oidc *o)
{
	return o->n;
}

const char *ddns_oidc_provider_id(const ddns_oidc *o, unsigned i)
{
	return i < o->n ? o->p[i].id : NULL;
}

const char *ddns_oidc_provider_title(const ddns_oidc *o, unsigned i)
{
	return i < o->n ? o->p[i].title : NULL;
}
