/*
 * ctl_import.c -- ddnsctl export / import.
 *
 * An export is JSON lines: one object per line, so that a million hosts
 * are written and read one line at a time (each line capped before
 * jansson sees it) and two exports compare with diff.  The first line is
 * the header, then the zones, users, API tokens and hosts, each in key
 * order:
 *
 *   {"ddns_export":1,"schema":2,"next_zone_id":3,"next_user_id":2}
 *   {"zone":"dyn.example.org","id":1,"ttl":60,...}
 *   {"user":"alice","id":1,...}
 *   {"token":"<sha-256 hex>","user_id":1,...}
 *   {"host":"home.dyn.example.org","zone_id":1,"salt":"..","hash":"..",...}
 *
 * Secrets are never in it: hosts carry the salt and hash of theirs, users
 * their password hash, tokens their digest.  Sessions are left out (users
 * log in again), and so are ACME challenges (short-lived).
 *
 * Import takes an export into a store without zones, hosts or users,
 * keeping every id, time and serial (export -> import -> export gives the
 * same bytes); or a CSV of hosts "fqdn,ipv4,ipv6" (either address may be
 * empty; a first line "fqdn,ipv4,ipv6", blank lines and lines starting
 * with '#' are skipped) that adds them below existing zones with new
 * secrets, printed once as "fqdn,secret" lines after the commit.  Either
 * way it is one write transaction: all or nothing.  Hosts are sorted by
 * key and appended (MDB_APPEND) past the last existing key.
 */
#include "ctl_import.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "accounts.h"
#include "addr.h"
#include "err.h"
#include "names.h"
#include "secret.h"
#include "store_bulk.h"

enum { D_OK = 0, D_FAIL = 1, D_USAGE = 2 };

#define EXPORT_FORMAT 1
#define LINE_CAP      (64 * 1024) /* longest line handed to jansson */
#define CSV_HEADER    "fqdn,ipv4,ipv6"

/* ---- export ----------------------------------------------------------- */

struct exp {
	FILE *f;
	ddns_txn *t;
	int rc;
	unsigned long zones, users, tokens, hosts;
};

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Write O as one line and free it; 0 or -1. */
static int emit(struct exp *e, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	int rc = s && fputs(s, e->f) >= 0 && fputc('\n', e->f) != EOF ? 0 : -1;

	free(s);
	json_decref(o);
	if (rc)
		e->rc = D_FAIL;
	return rc;
}

static json_t *str_list(const char *first, size_t stride, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(first + i * stride));
	return a;
}

static int zone_cb(const struct ddns_zone *z, void *arg)
{
	struct exp *e = arg;

	e->zones++;
	return emit(
	    e,
	    json_pack("{ss sI sI sI so ss sI so sI sI sI}", "zone", z->name,
		      "id", (json_int_t)z->id, "ttl", (json_int_t)z->ttl,
		      "kind", (json_int_t)z->kind, "ns",
		      str_list(z->ns[0], DDNS_NAME_BUF, z->n_ns), "hostmaster",
		      z->hostmaster, "visibility", (json_int_t)z->visibility,
		      "groups",
		      str_list(z->groups[0], DDNS_GROUP_MAX + 1, z->n_groups),
		      "created", (json_int_t)z->created, "serial",
		      (json_int_t)z->serial, "notified_serial",
		      (json_int_t)z->notified_serial));
}

static int token_cb(const struct ddns_token *tk, void *arg)
{
	struct exp *e = arg;
	char d[65];

	hex(tk->digest, 32, d);
	e->tokens++;
	return emit(e, json_pack("{ss sI sI ss}", "token", d, "user_id",
				 (json_int_t)tk->user_id, "created",
				 (json_int_t)tk->created, "label", tk->label));
}

static int user_cb(const struct ddns_user *u, void *arg)
{
	struct exp *e = arg;

	e->users++;
	if (emit(e, json_pack("{ss sI sI sI ss ss ss ss ss so}", "user",
			      u->name, "id", (json_int_t)u->id, "flags",
			      (json_int_t)u->flags, "created",
			      (json_int_t)u->created, "display_name",
			      u->display_name, "email", u->email, "password",
			      u->password, "oidc_issuer", u->oidc_issuer,
			      "oidc_subject", u->oidc_subject, "groups",
			      str_list(u->groups[0], DDNS_GROUP_MAX + 1,
				       u->n_groups))) != 0)
		return -1;
	return 0;
}

static json_t *addr_json(int family, const void *a, bool set)
{
	struct ddns_addr x = {.family = family};
	char buf[DDNS_ADDR_STRLEN];

	if (!set)
		return json_null();
	memcpy(&x.u, a, family == AF_INET ? 4 : 16);
	return json_string(ddns_addr_format(&x, buf, sizeof buf));
}

/* The host's fault details and comment, when it has them, into O. */
static int host_extras(struct exp *e, const struct ddns_host *h, json_t *o)
{
	char comment[DDNS_HOST_COMMENT_BUF];
	struct ddns_fault f;
	int rc = ddns_fault_get(e->t, h->fqdn, &f);

	if (rc == 0)
		rc = json_object_set_new(
		    o, "faults",
		    json_pack("{sI sI sI sI sI sI sI ss}", "client",
			      (json_int_t)f.client_faults, "server",
			      (json_int_t)f.server_faults, "auth",
			      (json_int_t)f.auth_faults, "last",
			      (json_int_t)f.last_fault, "window_start",
			      (json_int_t)f.window_start, "window_count",
			      (json_int_t)f.window_count, "last_kind",
			      (json_int_t)f.last_kind, "last_text",
			      f.last_text));
	else if (rc == DDNS_ENOTFOUND)
		rc = 0;
	if (rc == 0 &&
	    (rc = ddns_host_comment_get(e->t, h->fqdn, comment)) == 0 &&
	    comment[0])
		rc = json_object_set_new(o, "comment", json_string(comment));
	return rc;
}

static int host_cb(const struct ddns_host *h, void *arg)
{
	struct exp *e = arg;
	char salt[2 * DDNS_SALT_LEN + 1], hash[2 * DDNS_HASH_LEN + 1];
	json_t *o;

	hex(h->cred.salt, DDNS_SALT_LEN, salt);
	hex(h->cred.hash, DDNS_HASH_LEN, hash);
	o = json_pack(
	    "{ss sI sI so so sI sI sI ss ss}", "host", h->fqdn, "zone_id",
	    (json_int_t)h->zone_id, "flags", (json_int_t)h->flags, "ipv4",
	    addr_json(AF_INET, &h->v4, h->flags & DDNS_HOST_V4), "ipv6",
	    addr_json(AF_INET6, &h->v6, h->flags & DDNS_HOST_V6), "created",
	    (json_int_t)h->created, "updated", (json_int_t)h->updated, "owner",
	    (json_int_t)h->owner, "salt", salt, "hash", hash);
	if (!o || host_extras(e, h, o) != 0) {
		json_decref(o);
		ctl_say("cannot export host %s", h->fqdn);
		e->rc = D_FAIL;
		return -1;
	}
	e->hosts++;
	return emit(e, o);
}

static int export_header(struct exp *e)
{
	uint32_t nz, nu;

	if (ddns_next_ids_get(e->t, &nz, &nu) != 0) {
		e->rc = D_FAIL;
		return -1;
	}
	return emit(e,
		    json_pack("{sI sI sI sI}", "ddns_export",
			      (json_int_t)EXPORT_FORMAT, "schema",
			      (json_int_t)DDNS_SCHEMA_VERSION, "next_zone_id",
			      (json_int_t)nz, "next_user_id", (json_int_t)nu));
}

/* Users, each followed by its tokens (collected by user_cb's caller). */
static int export_tokens_cb(const struct ddns_user *u, void *arg)
{
	struct exp *e = arg;

	return ddns_token_foreach(e->t, u->id, token_cb, e);
}

int ctl_export(ddns_store *s, FILE *f)
{
	struct exp e = {.f = f, .rc = D_OK};
	int rc = ddns_txn_begin(s, false, &e.t);

	if (rc) {
		ctl_say("cannot read the store: %s", ddns_strerror(rc));
		return D_FAIL;
	}
	if (export_header(&e) == 0 &&
	    (rc = ddns_zone_foreach(e.t, zone_cb, &e)) == 0 &&
	    (rc = ddns_user_foreach(e.t, user_cb, &e)) == 0 &&
	    (rc = ddns_user_foreach(e.t, export_tokens_cb, &e)) == 0)
		rc = ddns_host_foreach(e.t, NULL, host_cb, &e);
	ddns_txn_abort(e.t);
	if (rc < 0 && rc != -1 && e.rc == D_OK)
		ctl_say("cannot read the store: %s", ddns_strerror(rc));
	if (rc || e.rc || fflush(f) != 0 || ferror(f)) {
		if (e.rc == D_OK && rc == 0)
			ctl_say("cannot write the export: %s", strerror(errno));
		return D_FAIL;
	}
	fprintf(stderr,
		"ddnsctl: exported %lu zones, %lu users, %lu tokens, %lu "
		"hosts\n",
		e.zones, e.users, e.tokens, e.hosts);
	return D_OK;
}

/* ---- import: input ---------------------------------------------------- */

struct item {
	struct ddns_host h;
	struct ddns_fault *f;	      /* NULL: none */
	char *comment;		      /* NULL: none */
	char secret[DDNS_SECRET_BUF]; /* CSV: the new secret */
	unsigned line;
	uint16_t klen;
	char key[]; /* the hosts key, klen octets */
};

struct imp {
	const char *file;
	unsigned line;
	bool csv;
	struct item **items;
	size_t n, cap;
	struct ddns_zone *zones;
	size_t n_zones;
	struct ddns_user *users;
	size_t n_users;
	struct ddns_token *tokens;
	size_t n_tokens;
	uint32_t next_zone, next_user;
	bool header;
	time_t now;
	double t_read, t_write, t_commit; /* seconds, for the summary */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 2, 3))) static int bad(const struct imp *im,
						     const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ctl_say("%s:%u: %s", im->file, im->line, msg);
	return D_USAGE;
}

/* A name from untrusted input: already normal (fast path), or made so. */
static int arg_fqdn(const char *s, size_t len, char out[DDNS_NAME_BUF])
{
	if (len < DDNS_NAME_BUF && ddns_name_is_normal(s, len)) {
		memcpy(out, s, len);
		out[len] = '\0';
		return 0;
	}
	return ddns_name_normalize(s, len, out);
}

static int item_add(struct imp *im, const struct ddns_host *h,
		    struct item **out)
{
	char key[DDNS_NAME_BUF];
	size_t klen = ddns_name_key(h->fqdn, key);
	struct item *it = malloc(sizeof *it + klen);

	if (!it)
		return DDNS_ENOMEM;
	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 1024;
		struct item **v = realloc(im->items, cap * sizeof *v);

		if (!v) {
			free(it);
			return DDNS_ENOMEM;
		}
		im->items = v;
		im->cap = cap;
	}
	memset(it, 0, sizeof *it);
	memcpy(&it->h, h, sizeof *h);
	memcpy(it->key, key, klen);
	it->klen = (uint16_t)klen;
	it->line = im->line;
	im->items[im->n++] = it;
	*out = it;
	return 0;
}

/* One address field of a CSV line into H. */
static int csv_addr(struct imp *im, const char *s, size_t len,
		    struct ddns_host *h)
{
	struct ddns_addr a;

	if (len == 0)
		return 0;
	if (ddns_addr_parse(s, len, &a) != 0)
		return bad(im, "invalid address '%.*s'", (int)len, s);
	if (a.family == AF_INET && !(h->flags & DDNS_HOST_V4)) {
		h->v4 = a.u.v4;
		h->flags |= DDNS_HOST_V4;
	} else if (a.family == AF_INET6 && !(h->flags & DDNS_HOST_V6)) {
		h->v6 = a.u.v6;
		h->flags |= DDNS_HOST_V6;
	} else {
		return bad(im, "two addresses of one family");
	}
	return 0;
}

static int csv_line(struct imp *im, char *s, size_t len)
{
	char *f[3] = {s, NULL, NULL}, *end = s + len;
	struct ddns_host h;
	struct item *it;
	int n = 1, rc;

	for (char *p = s; p < end && n <= 3; p++)
		if (*p == ',') {
			if (n == 3)
				return bad(im, "more than 3 fields");
			*p = '\0';
			f[n++] = p + 1;
		}
	memset(&h, 0, sizeof h);
	if (arg_fqdn(f[0], strlen(f[0]), h.fqdn) != 0)
		return bad(im, "invalid host name '%s'", f[0]);
	for (int i = 1; i < n; i++)
		if ((rc = csv_addr(im, f[i], strlen(f[i]), &h)) != 0)
			return rc;
	h.created = im->now;
	h.updated = h.flags ? im->now : 0;
	if ((rc = item_add(im, &h, &it)) != 0)
		return bad(im, "%s", ddns_strerror(rc));
	return 0;
}

/* ---- import: JSON lines ----------------------------------------------- */

/* An integer member KEY of O in 0..MAX into *OUT. */
static bool j_uint(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool j_u32(json_t *o, const char *key, uint32_t *out)
{
	uint64_t v;

	if (!j_uint(o, key, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool j_u8(json_t *o, const char *key, uint8_t *out)
{
	uint64_t v;

	if (!j_uint(o, key, UINT8_MAX, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

/* A string member KEY of O, at most MAX octets, copied into OUT. */
static bool j_str(json_t *o, const char *key, size_t max, char *out)
{
	json_t *v = json_object_get(o, key);
	size_t n = json_string_length(v);

	if (!json_is_string(v) || n > max || memchr(json_string_value(v), 0, n))
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

/* A list of strings (at most MAX, each at most LEN octets) into OUT. */
static bool j_strs(json_t *o, const char *key, unsigned max, size_t len,
		   char *out, size_t stride, unsigned *n)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > max)
		return false;
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) > len)
			return false;
		memcpy(out + i * stride, json_string_value(v),
		       json_string_length(v) + 1);
	}
	*n = (unsigned)json_array_size(a);
	return true;
}

static bool j_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s || strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdef", s[2 * i]) ||
		    !strchr("0123456789abcdef", s[2 * i + 1]))
			return false;
		out[i] = (uint8_t)v;
	}
	return true;
}

static bool j_addr(json_t *o, const char *key, int family, void *out, bool *set)
{
	json_t *v = json_object_get(o, key);
	struct ddns_addr a;

	*set = false;
	if (json_is_null(v))
		return true;
	if (!json_is_string(v) ||
	    ddns_addr_parse(json_string_value(v), json_string_length(v), &a) ||
	    a.family != family)
		return false;
	memcpy(out, &a.u, family == AF_INET ? 4 : 16);
	*set = true;
	return true;
}

static void *grow(void *v, size_t n, size_t size)
{
	/* arrays of zones, users, tokens: grown by one, they are few */
	return realloc(v, (n + 1) * size);
}

static int j_zone(struct imp *im, json_t *o)
{
	struct ddns_zone *z, *v = grow(im->zones, im->n_zones, sizeof *z);
	unsigned n_ns = 0, n_groups = 0;
	uint64_t created;

	if (!v)
		return bad(im, "out of memory");
	im->zones = v;
	z = &v[im->n_zones];
	memset(z, 0, sizeof *z);
	if (!j_str(o, "zone", DDNS_NAME_MAX, z->name) ||
	    !j_u32(o, "id", &z->id) || !j_u32(o, "ttl", &z->ttl) ||
	    !j_u8(o, "kind", &z->kind) ||
	    !j_u8(o, "visibility", &z->visibility) ||
	    !j_u32(o, "serial", &z->serial) ||
	    !j_u32(o, "notified_serial", &z->notified_serial) ||
	    !j_uint(o, "created", INT64_MAX, &created) ||
	    !j_str(o, "hostmaster", DDNS_NAME_MAX, z->hostmaster) ||
	    !j_strs(o, "ns", DDNS_ZONE_NS_MAX, DDNS_NAME_MAX, z->ns[0],
		    DDNS_NAME_BUF, &n_ns) ||
	    !j_strs(o, "groups", DDNS_ZONE_GROUPS_MAX, DDNS_GROUP_MAX,
		    z->groups[0], DDNS_GROUP_MAX + 1, &n_groups))
		return bad(im, "invalid zone");
	z->created = (int64_t)created;
	z->n_ns = (uint8_t)n_ns;
	z->n_groups = (uint8_t)n_groups;
	im->n_zones++;
	return 0;
}

static int j_user(struct imp *im, json_t *o)
{
	struct ddns_user *u, *v = grow(im->users, im->n_users, sizeof *u);
	uint64_t created;

	if (!v)
		return bad(im, "out of memory");
	im->users = v;
	u = &v[im->n_users];
	memset(u, 0, sizeof *u);
	if (!j_str(o, "user", DDNS_USER_NAME_MAX, u->name) ||
	    !j_u32(o, "id", &u->id) || !j_u32(o, "flags", &u->flags) ||
	    !j_uint(o, "created", INT64_MAX, &created) ||
	    !j_str(o, "display_name", DDNS_USER_DISPLAY_MAX, u->display_name) ||
	    !j_str(o, "email", DDNS_USER_EMAIL_MAX, u->email) ||
	    !j_str(o, "password", DDNS_PWHASH_MAX, u->password) ||
	    !j_str(o, "oidc_issuer", DDNS_OIDC_ID_MAX, u->oidc_issuer) ||
	    !j_str(o, "oidc_subject", DDNS_OIDC_ID_MAX, u->oidc_subject) ||
	    !j_strs(o, "groups", DDNS_GROUPS_MAX, DDNS_GROUP_MAX, u->groups[0],
		    DDNS_GROUP_MAX + 1, &u->n_groups))
		return bad(im, "invalid user");
	u->created = (int64_t)created;
	im->n_users++;
	return 0;
}

static int j_token(struct imp *im, json_t *o)
{
	struct ddns_token *tk, *v = grow(im->tokens, im->n_tokens, sizeof *tk);
	uint64_t created;

	if (!v)
		return bad(im, "out of memory");
	im->tokens = v;
	tk = &v[im->n_tokens];
	memset(tk, 0, sizeof *tk);
	if (!j_hex(o, "token", tk->digest, 32) ||
	    !j_u32(o, "user_id", &tk->user_id) ||
	    !j_uint(o, "created", INT64_MAX, &created) ||
	    !j_str(o, "label", DDNS_TOKEN_LABEL_MAX, tk->label))
		return bad(im, "invalid token");
	tk->created = (int64_t)created;
	im->n_tokens++;
	return 0;
}

static int j_faults(struct imp *im, json_t *o, struct item *it)
{
	json_t *fo = json_object_get(o, "faults");
	struct ddns_fault *f;
	uint64_t ws, lf;

	if (!fo)
		return 0;
	if (!(f = it->f = calloc(1, sizeof *f)))
		return bad(im, "out of memory");
	if (!j_u32(fo, "client", &f->client_faults) ||
	    !j_u32(fo, "server", &f->server_faults) ||
	    !j_u32(fo, "auth", &f->auth_faults) ||
	    !j_uint(fo, "last", UINT32_MAX, &lf) ||
	    !j_uint(fo, "window_start", UINT32_MAX, &ws) ||
	    !j_u32(fo, "window_count", &f->window_count) ||
	    !j_u8(fo, "last_kind", &f->last_kind) ||
	    !j_str(fo, "last_text", DDNS_FAULT_TEXT_MAX, f->last_text))
		return bad(im, "invalid faults of %s", it->h.fqdn);
	f->last_fault = (int64_t)lf;
	f->window_start = (int64_t)ws;
	it->h.client_faults = f->client_faults;
	it->h.server_faults = f->server_faults;
	it->h.auth_faults = f->auth_faults;
	it->h.last_fault = f->last_fault;
	return 0;
}

static int j_host(struct imp *im, json_t *o)
{
	const char *comment = json_string_value(json_object_get(o, "comment"));
	struct ddns_host h;
	struct item *it;
	uint64_t c, u;
	bool v4, v6;

	memset(&h, 0, sizeof h);
	if (!j_str(o, "host", DDNS_NAME_MAX, h.fqdn) ||
	    !ddns_name_is_normal(h.fqdn, strlen(h.fqdn)) ||
	    !j_u32(o, "zone_id", &h.zone_id) || !j_u32(o, "flags", &h.flags) ||
	    !j_u32(o, "owner", &h.owner) ||
	    !j_uint(o, "created", UINT32_MAX, &c) ||
	    !j_uint(o, "updated", UINT32_MAX, &u) ||
	    !j_hex(o, "salt", h.cred.salt, DDNS_SALT_LEN) ||
	    !j_hex(o, "hash", h.cred.hash, DDNS_HASH_LEN) ||
	    !j_addr(o, "ipv4", AF_INET, &h.v4, &v4) ||
	    !j_addr(o, "ipv6", AF_INET6, &h.v6, &v6) ||
	    v4 != !!(h.flags & DDNS_HOST_V4) ||
	    v6 != !!(h.flags & DDNS_HOST_V6))
		return bad(im, "invalid host");
	h.created = (int64_t)c;
	h.updated = (int64_t)u;
	if (item_add(im, &h, &it) != 0)
		return bad(im, "out of memory");
	if (comment && !(it->comment = strdup(comment)))
		return bad(im, "out of memory");
	return j_faults(im, o, it);
}

static int j_header(struct imp *im, json_t *o)
{
	uint64_t fmt, schema;

	if (!j_uint(o, "ddns_export", UINT32_MAX, &fmt) ||
	    fmt != EXPORT_FORMAT || !j_uint(o, "schema", UINT32_MAX, &schema) ||
	    !j_u32(o, "next_zone_id", &im->next_zone) ||
	    !j_u32(o, "next_user_id", &im->next_user))
		return bad(im, "not a ddns export of format %d", EXPORT_FORMAT);
	if (schema != DDNS_SCHEMA_VERSION)
		return bad(im, "export of schema %llu; this ddnsctl reads %d",
			   (unsigned long long)schema, DDNS_SCHEMA_VERSION);
	im->header = true;
	return 0;
}

static int json_line(struct imp *im, const char *s, size_t len)
{
	json_error_t je;
	json_t *o = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (!json_is_object(o))
		rc = bad(im, "not a JSON object: %s", o ? "" : je.text);
	else if (!im->header)
		rc = j_header(im, o);
	else if (json_object_get(o, "host"))
		rc = j_host(im, o);
	else if (json_object_get(o, "zone"))
		rc = j_zone(im, o);
	else if (json_object_get(o, "user"))
		rc = j_user(im, o);
	else if (json_object_get(o, "token"))
		rc = j_token(im, o);
	else
		rc = bad(im, "unknown record");
	json_decref(o);
	return rc;
}

/* ---- import: reading -------------------------------------------------- */

static int one_line(struct imp *im, char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	if (len == 0 || s[0] == '#')
		return 0;
	if (im->line == 1 || (!im->csv && !im->header && s[0] != '{'))
		im->csv = s[0] != '{';
	if (im->csv && strcasecmp(s, CSV_HEADER) == 0)
		return 0;
	return im->csv ? csv_line(im, s, len) : json_line(im, s, len);
}

static int read_input(struct imp *im, FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && (n = getline(&line, &cap, in)) >= 0) {
		im->line++;
		if ((size_t)n > LINE_CAP)
			rc = bad(im, "line longer than %d bytes", LINE_CAP);
		else
			rc = one_line(im, line, (size_t)n);
	}
	if (rc == 0 && ferror(in)) {
		ctl_say("cannot read %s: %s", im->file, strerror(errno));
		rc = D_FAIL;
	}
	free(line);
	if (rc == 0 && !im->csv && !im->header && im->n == 0)
		rc = bad(im, "nothing to import");
	return rc;
}

/* ---- import: writing --------------------------------------------------- */

/* LMDB's default key order: bytes, then length. */
static int item_cmp(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a;
	const struct item *y = *(const struct item *const *)b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (int)x->klen - (int)y->klen;
}

struct touched {
	char (*names)[DDNS_NAME_BUF];
	size_t n;
};

/* Remember zone NAME (once) to raise its serial at the end. */
static int touch(struct touched *tz, const char *name)
{
	void *v;

	for (size_t i = tz->n; i-- > 0;)
		if (strcmp(tz->names[i], name) == 0)
			return 0;
	if (!(v = realloc(tz->names, (tz->n + 1) * sizeof *tz->names)))
		return DDNS_ENOMEM;
	tz->names = v;
	memcpy(tz->names[tz->n++], name, DDNS_NAME_BUF);
	return 0;
}

static const char *why(int rc)
{
	switch (rc) {
	case DDNS_EEXIST:
		return "it exists already";
	case DDNS_ENOZONE:
	case DDNS_ENOTFOUND:
		return "it lies in no zone of the store";
	case DDNS_EINVAL:
		return "it is a zone's apex, in another zone, or invalid";
	case DDNS_EDEPTH:
		return "it is more than one label below its zone";
	case DDNS_EBUSY:
		return "its owner is no user of the import";
	default:
		return ddns_strerror(rc);
	}
}

/* A CSV host: its zone, id and new secret. */
static int csv_prepare(ddns_txn *t, struct item *it, struct touched *tz)
{
	struct ddns_zone z;
	int rc = ddns_zone_find(t, it->h.fqdn, &z);

	if (rc)
		return rc;
	it->h.zone_id = z.id;
	if ((rc = touch(tz, z.name)) != 0)
		return rc;
	return ddns_cred_new(it->secret, &it->h.cred);
}

/* True if IT's key sorts after LAST (LLEN octets). */
static bool key_after(const struct item *it, const char *last, size_t llen)
{
	size_t n = it->klen < llen ? it->klen : llen;
	int c = memcmp(it->key, last, n);

	return c > 0 || (c == 0 && it->klen > llen);
}

/* An owner must be a user of the import (schema invariant 9). */
static int owner_check(ddns_txn *t, uint32_t id)
{
	struct ddns_user *u = malloc(sizeof *u);
	int rc = u ? ddns_user_get(t, id, u) : DDNS_ENOMEM;

	free(u);
	return rc == DDNS_ENOTFOUND ? DDNS_EBUSY : rc;
}

static int load_hosts(ddns_txn *t, struct imp *im, struct touched *tz)
{
	char last[DDNS_NAME_BUF];
	size_t llen = 0;
	int rc = ddns_host_last_key(t, last, &llen);
	bool append = false;

	for (size_t i = 0; rc == 0 && i < im->n; i++) {
		struct item *it = im->items[i];

		if (i && item_cmp(&im->items[i - 1], &im->items[i]) == 0) {
			im->line = it->line;
			return bad(im, "host %s given twice", it->h.fqdn);
		}
		/* sorted: once past the largest stored key, every insert
		 * appends */
		append = append || key_after(it, last, llen);
		if (im->csv)
			rc = csv_prepare(t, it, tz);
		else if (it->h.owner)
			rc = owner_check(t, it->h.owner);
		if (rc == 0)
			rc = ddns_host_load(t, &it->h, it->f, !im->csv, append);
		if (rc == 0 && it->comment)
			rc = ddns_host_comment_put(t, it->h.fqdn, it->comment);
		if (rc) {
			im->line = it->line;
			return bad(im, "cannot import host %s: %s", it->h.fqdn,
				   why(rc));
		}
	}
	return rc ? bad(im, "%s", ddns_strerror(rc)) : 0;
}

/* Zones, users and tokens of an export, into a store that has none. */
static int load_accounts(ddns_txn *t, struct imp *im)
{
	int rc = 0;
	size_t i;

	for (i = 0; rc == 0 && i < im->n_zones; i++)
		if ((rc = ddns_zone_load(t, &im->zones[i])) != 0)
			return bad(im, "cannot import zone %s: %s",
				   im->zones[i].name, why(rc));
	for (i = 0; rc == 0 && i < im->n_users; i++)
		if ((rc = ddns_user_load(t, &im->users[i])) != 0)
			return bad(im, "cannot import user %s: %s",
				   im->users[i].name, why(rc));
	for (i = 0; rc == 0 && i < im->n_tokens; i++)
		if ((rc = ddns_token_load(t, &im->tokens[i])) != 0)
			return bad(im, "cannot import a token of user %u: %s",
				   (unsigned)im->tokens[i].user_id, why(rc));
	rc = ddns_next_ids_raise(t, im->next_zone, im->next_user);
	return rc ? bad(im, "%s", ddns_strerror(rc)) : 0;
}

static int store_empty(ddns_txn *t, struct imp *im)
{
	char last[DDNS_NAME_BUF];
	size_t llen = 0;
	uint32_t nz, nu;
	/* ids start at 1 and are never reused: a store that ever had a zone
	 * or a user has a larger next id */
	int rc = ddns_host_last_key(t, last, &llen);

	if (rc == 0)
		rc = ddns_next_ids_get(t, &nz, &nu);
	if (rc)
		return bad(im, "%s", ddns_strerror(rc));
	if (llen || nz > 1 || nu > 1) {
		ctl_say("%s: an export is imported into an empty store only "
			"(this one has or had zones, users or hosts)",
			im->file);
		return D_FAIL;
	}
	return 0;
}

static int bump_serials(ddns_txn *t, struct imp *im, struct touched *tz)
{
	for (size_t i = 0; i < tz->n; i++) {
		int rc = ddns_zone_bump_serial(t, tz->names[i], NULL);

		if (rc)
			return bad(im, "cannot raise the serial of %s: %s",
				   tz->names[i], ddns_strerror(rc));
	}
	return 0;
}

static int import_txn(ddns_store *s, struct imp *im)
{
	struct touched tz = {NULL, 0};
	ddns_txn *t = NULL;
	int rc = ddns_txn_begin(s, true, &t);

	if (rc) {
		ctl_say("cannot write the store: %s", ddns_strerror(rc));
		return D_FAIL;
	}
	qsort(im->items, im->n, sizeof *im->items, item_cmp);
	if (!im->csv && ((rc = store_empty(t, im)) != 0 ||
			 (rc = load_accounts(t, im)) != 0))
		goto fail;
	if ((rc = load_hosts(t, im, &tz)) != 0 ||
	    (rc = bump_serials(t, im, &tz)) != 0)
		goto fail;
	free(tz.names);
	im->t_write = mono();
	if ((rc = ddns_txn_commit(t)) != 0) {
		ctl_say("cannot commit the import: %s", ddns_strerror(rc));
		return D_FAIL;
	}
	im->t_commit = mono();
	return D_OK;
fail:
	free(tz.names);
	ddns_txn_abort(t);
	return rc == D_USAGE ? D_FAIL : rc;
}

static void print_secrets(const struct imp *im)
{
	printf("imported %zu hosts; their secrets, shown once (fqdn,secret):\n",
	       im->n);
	for (size_t i = 0; i < im->n; i++)
		printf("%s,%s\n", im->items[i]->h.fqdn, im->items[i]->secret);
}

static void imp_free(struct imp *im)
{
	for (size_t i = 0; i < im->n; i++) {
		struct item *it = im->items[i];

		OPENSSL_cleanse(it->secret, sizeof it->secret);
		free(it->f);
		free(it->comment);
		free(it);
	}
	free(im->items);
	free(im->zones);
	free(im->users);
	free(im->tokens);
}

int ctl_import(ddns_store *s, const char *file)
{
	struct imp im = {.file = file, .now = time(NULL)};
	FILE *in = fopen(file, "r");
	double t0 = mono();
	int rc;

	if (!in) {
		ctl_say("cannot open %s: %s", file, strerror(errno));
		return D_FAIL;
	}
	rc = read_input(&im, in);
	fclose(in);
	im.t_read = mono();
	if (rc == D_OK)
		rc = import_txn(s, &im);
	if (rc == D_OK)
		fprintf(stderr,
			"ddnsctl: import of %zu hosts: read %.2f s, write "
			"%.2f s, commit %.2f s\n",
			im.n, im.t_read - t0, im.t_write - im.t_read,
			im.t_commit - im.t_write);
	if (rc == D_OK && im.csv)
		print_secrets(&im);
	else if (rc == D_OK)
		printf("imported %zu zones, %zu users, %zu tokens, %zu hosts\n",
		       im.n_zones, im.n_users, im.n_tokens, im.n);
	imp_free(&im);
	return rc;
}
