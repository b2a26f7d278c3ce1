/*
 * rb_proto.c -- remote backend requests answered from the store.
 *
 * Requests are capped in length, then a lookup of the shape pdns sends is
 * read by the strict flat parser (rb_flat.h); everything else is parsed
 * with jansson.  Replies are written by hand into the caller's reusable
 * buffer, and a zone read once is kept for the rest of its snapshot
 * (struct rb_cache), so a lookup costs one host read from LMDB and no
 * allocation once the buffer has grown.  Facts about what pdns 4.7 accepts
 * are in shared/reference/pdns-remote-backend.md; in short: ttl and
 * domain_id are numbers, auth is 0/1, names carry a trailing dot, an SOA
 * is only ever returned at a zone apex, and {"result":false} means
 * "nothing".
 */
#include "rb_proto.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "challenge.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "rb_dnssec.h"
#include "rb_flat.h"

/* SOA timers after the serial: refresh, retry, expire.  The minimum (the
 * negative-caching TTL) is the zone's own TTL, so a name registered after
 * an NXDOMAIN shows up as fast as an address change. */
#define RB_SOA_TIMERS "10800 3600 604800"

/* Record types served, as a mask. */
enum {
	RR_SOA = 1 << 0,
	RR_NS = 1 << 1,
	RR_A = 1 << 2,
	RR_AAAA = 1 << 3,
	RR_TXT = 1 << 4, /* only at _acme-challenge.HOST (issue 7) */
	RR_ANY = RR_SOA | RR_NS | RR_A | RR_AAAA | RR_TXT,
	RR_ADDR = RR_A | RR_AAAA,
};

/* Records being written into a reply array. */
struct rr_out {
	struct ddns_buf *b;
	const struct ddns_zone *zone;
	unsigned n; /* records written so far */
	bool brief; /* list: no domain_id, auth, scopeMask (pdns's defaults) */
};

/* A lookup's parameters, checked and normalised. */
struct lookup_q {
	char name[DDNS_NAME_BUF];
	unsigned types;    /* RR_* */
	long long zone_id; /* pdns's zone-id; -1: none */
	bool acme;	   /* _acme-challenge.NAME was asked (NAME: a host) */
};

typedef int (*method_fn)(struct rb_cache *cache, ddns_txn *t, json_t *params,
			 struct ddns_buf *out);

/* ---- small helpers ---------------------------------------------------- */

/* Copy untrusted S (LEN bytes, or up to its NUL) into OUT (CAP bytes,
 * CAP > 0), unprintable bytes as '?' and cut at CAP - 1, so that a request
 * cannot forge log lines. */
static const char *log_safe_n(const char *s, size_t len, char *out, size_t cap)
{
	size_t i;

	for (i = 0; s && i < len && s[i] && i + 1 < cap; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

static const char *log_safe(const char *s, char *out, size_t cap)
{
	return log_safe_n(s, (size_t)-1, out, cap);
}

int rb_reply_false(struct ddns_buf *out)
{
	ddns_buf_reset(out);
	return ddns_buf_adds(out, RB_REPLY_FALSE);
}

/* A refused request: reply false and pass CODE on. */
static int refuse(struct ddns_buf *out, int code)
{
	rb_reply_false(out);
	return code;
}

/* A request served with nothing to answer. */
static int nothing(struct ddns_buf *out)
{
	rb_reply_false(out);
	return 0;
}

/* String member KEY of OBJ into *S (borrowed from OBJ) and its length
 * into *LEN (may be NULL).  0, or DDNS_EINVAL if absent or not a string. */
static int get_str(json_t *obj, const char *key, const char **s, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return DDNS_EINVAL;
	*s = json_string_value(v);
	if (len)
		*len = json_string_length(v);
	return 0;
}

/*
 * Integer member KEY of OBJ into *OUT; an absent or null member leaves *OUT
 * as it is.  A real with an integral value is accepted too, since pdns's
 * JSON writer prints some ids from doubles.  0 or DDNS_EINVAL.
 */
static int get_int(json_t *obj, const char *key, long long *out)
{
	json_t *v = json_object_get(obj, key);
	double d;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return DDNS_EINVAL;
	d = json_real_value(v);
	if (!(d > -1e15 && d < 1e15) || (double)(long long)d != d)
		return DDNS_EINVAL;
	*out = (long long)d;
	return 0;
}

static unsigned qtype_mask(const char *qtype, size_t len)
{
	static const struct {
		const char *name;
		unsigned mask;
	} types[] = {
		{"ANY", RR_ANY}, {"SOA", RR_SOA}, {"NS", RR_NS},
		{"A", RR_A},     {"AAAA", RR_AAAA}, {"TXT", RR_TXT},
	};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strlen(types[i].name) == len &&
		    strncasecmp(qtype, types[i].name, len) == 0)
			return types[i].mask;
	return 0;
}

/* Decimal V, without printf: this is on every lookup's path. */
static void add_u32(struct ddns_buf *b, uint32_t v)
{
	char d[10];
	size_t i = sizeof d;

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ddns_buf_add(b, d + i, sizeof d - i);
}

/* S inside a JSON string, escaped as needed (no quotes added). */
static void add_json_inner(struct ddns_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = {'\\', (char)c, '0', '0', '0', '0'};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ddns_buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		if (c < 0x20) {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
		}
		ddns_buf_add(b, esc, c < 0x20 ? 6 : 2);
	}
	ddns_buf_add(b, run, (size_t)(s - run));
}

/* ---- records ---------------------------------------------------------- */

/*
 * Append one record: owner PREFIX + NAME + ".", TYPE, CONTENT, TTL.
 * PREFIX and NAME are normalised names ("" or "*." and a name checked when
 * it was read from the store), which never need escaping.  CONTENT is
 * written by the caller between the quotes (add_json_inner when it may
 * hold a quote or a backslash) after rr_open, then rr_close ends it.
 * Errors are kept in o->b->failed and checked once the reply is complete.
 */
static void rr_open(struct rr_out *o, const char *type, const char *prefix,
		    const char *name)
{
	ddns_buf_adds(o->b, o->n++ ? ",{\"qtype\":\"" : "{\"qtype\":\"");
	ddns_buf_adds(o->b, type);
	ddns_buf_adds(o->b, "\",\"qname\":\"");
	ddns_buf_adds(o->b, prefix);
	ddns_buf_adds(o->b, name);
	ddns_buf_adds(o->b, ".\",\"content\":\"");
}

static void rr_close(struct rr_out *o, uint32_t ttl)
{
	ddns_buf_adds(o->b, "\",\"ttl\":");
	add_u32(o->b, ttl);
	if (o->brief) {
		ddns_buf_addc(o->b, '}');
		return;
	}
	ddns_buf_adds(o->b, ",\"domain_id\":");
	add_u32(o->b, o->zone->id);
	ddns_buf_adds(o->b, ",\"auth\":1,\"scopeMask\":0}");
}

static void rr_add(struct rr_out *o, const char *type, const char *prefix,
		   const char *name, const char *content, uint32_t ttl)
{
	rr_open(o, type, prefix, name);
	add_json_inner(o->b, content);
	rr_close(o, ttl);
}

/* "MNAME. RNAME. SERIAL REFRESH RETRY EXPIRE MINIMUM"; the RNAME's local
 * part may hold "\." (escaped for JSON here). */
static void rr_soa(struct rr_out *o)
{
	const struct ddns_zone *z = o->zone;
	struct ddns_buf *b = o->b;

	rr_open(o, "SOA", "", z->name);
	ddns_buf_adds(b, z->n_ns ? z->ns[0] : z->name);
	ddns_buf_adds(b, ". ");
	if (z->hostmaster[0]) {
		add_json_inner(b, z->hostmaster);
	} else {
		ddns_buf_adds(b, "hostmaster.");
		ddns_buf_adds(b, z->name);
	}
	ddns_buf_adds(b, ". ");
	add_u32(b, z->serial);
	ddns_buf_adds(b, " " RB_SOA_TIMERS " ");
	add_u32(b, z->ttl);
	rr_close(o, RB_SOA_NS_TTL);
}

static void rr_ns(struct rr_out *o)
{
	const struct ddns_zone *z = o->zone;

	for (unsigned i = 0; i < z->n_ns && i < DDNS_ZONE_NS_MAX; i++) {
		rr_open(o, "NS", "", z->name);
		ddns_buf_adds(o->b, z->ns[i]);
		ddns_buf_addc(o->b, '.');
		rr_close(o, RB_SOA_NS_TTL);
	}
}

/* The host's A and/or AAAA (TYPES) at PREFIX + its name.  A host flagged
 * for abuse or blocked by an operator has no records at all. */
static void rr_host(struct rr_out *o, const struct ddns_host *h,
		    const char *prefix, unsigned types)
{
	char a[INET6_ADDRSTRLEN];

	if (h->flags & (DDNS_HOST_ABUSE | DDNS_HOST_BLOCKED))
		return;
	if ((types & RR_A) && (h->flags & DDNS_HOST_V4) &&
	    inet_ntop(AF_INET, &h->v4, a, sizeof a))
		rr_add(o, "A", prefix, h->fqdn, a, o->zone->ttl);
	if ((types & RR_AAAA) && (h->flags & DDNS_HOST_V6) &&
	    inet_ntop(AF_INET6, &h->v6, a, sizeof a))
		rr_add(o, "AAAA", prefix, h->fqdn, a, o->zone->ttl);
}

/* TTL of a challenge TXT record: at most this, less when the value
 * expires sooner, so that no cache keeps it past its expiry. */
#define RB_ACME_TTL 60

/* The live challenge values of host H at _acme-challenge.FQDN, quoted as
 * pdns wants TXT content ("\"value\""; values hold nothing to escape).
 * None for a host flagged for abuse or blocked.  0 or a store error (a
 * record that does not decode is skipped: the store logged it). */
static int rr_acme(struct rr_out *o, ddns_txn *t, const struct ddns_host *h,
		   int64_t now)
{
	struct ddns_challenges c;
	int rc;

	if (h->flags & (DDNS_HOST_ABUSE | DDNS_HOST_BLOCKED))
		return 0;
	rc = ddns_challenge_live(t, h, now, &c);
	if (rc == DDNS_ENOTFOUND || rc == DDNS_ECORRUPT)
		return 0;
	if (rc != 0)
		return rc;
	for (unsigned i = 0; i < c.n; i++) {
		int64_t left = c.v[i].expires - now;

		rr_open(o, "TXT", DDNS_CHALLENGE_NAME, h->fqdn);
		ddns_buf_adds(o->b, "\\\"");
		ddns_buf_adds(o->b, c.v[i].value);
		ddns_buf_adds(o->b, "\\\"");
		rr_close(o, left < RB_ACME_TTL ? (uint32_t)left : RB_ACME_TTL);
	}
	return 0;
}

/* Open a reply array in OUT for records of zone Z. */
static void rr_begin(struct rr_out *o, struct ddns_buf *out,
		     const struct ddns_zone *z)
{
	o->b = out;
	o->zone = z;
	o->n = 0;
	o->brief = false;
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":[");
}

/* Close the array; with no record the reply becomes false instead. */
static int rr_end(struct rr_out *o)
{
	if (o->n == 0)
		return nothing(o->b);
	ddns_buf_adds(o->b, "]}\n");
	return o->b->failed ? DDNS_ENOMEM : 0;
}

static void domain_info(struct ddns_buf *b, const struct ddns_zone *z)
{
	char zone[DDNS_NAME_BUF + 1];

	snprintf(zone, sizeof zone, "%s.", z->name);
	ddns_buf_adds(b, "{\"zone\":");
	ddns_buf_json_str(b, zone);
	ddns_buf_printf(b,
			",\"id\":%" PRIu32 ",\"serial\":%" PRIu32
			",\"notified_serial\":%" PRIu32
			",\"last_check\":0,\"masters\":[],\"kind\":\"%s\"}",
			z->id, z->serial, z->notified_serial,
			z->kind == DDNS_ZONE_MASTER ? "master" : "native");
}

/* ---- lookup ----------------------------------------------------------- */

/* The cached copy of zone ID read in snapshot SNAP, or NULL.  A cache of
 * another snapshot is emptied and taken over for SNAP. */
static const struct ddns_zone *cache_find(struct rb_cache *c, uint64_t snap,
					  uint32_t id)
{
	if (!c || snap == 0)
		return NULL;
	if (c->snapshot != snap) {
		c->snapshot = snap;
		c->n = 0;
		c->next = 0;
		return NULL;
	}
	for (unsigned i = 0; i < c->n; i++)
		if (c->zone[i].id == id)
			return &c->zone[i];
	return NULL;
}

/* Keep Z (read in the cache's snapshot); returns the kept copy. */
static const struct ddns_zone *cache_put(struct rb_cache *c,
					 const struct ddns_zone *z)
{
	unsigned slot;

	if (!c)
		return z;
	if (c->n < RB_ZONE_CACHE)
		slot = c->n++;
	else
		slot = c->next++ % RB_ZONE_CACHE;
	memcpy(&c->zone[slot], z, sizeof *z);
	return &c->zone[slot];
}

/*
 * The zone to answer NAME from: the one pdns names by ZONE_ID when it gives
 * one (it passes back the domain_id of our SOA), else the deepest zone
 * containing NAME.  A wildcard "*.x" is placed by "x".  *OUT points into
 * CACHE or at TMP.  0 or ENOTFOUND.
 */
static int lookup_zone(struct rb_cache *cache, ddns_txn *t, const char *name,
		       long long zone_id, struct ddns_zone *tmp,
		       const struct ddns_zone **out)
{
	const char *base = strncmp(name, "*.", 2) == 0 ? name + 2 : name;
	int rc;

	if (zone_id <= 0 || zone_id > UINT32_MAX) {
		rc = ddns_zone_find(t, base, tmp);
		*out = tmp;
		return rc == 0 ? 0 : rc == DDNS_ENOZONE ? DDNS_ENOTFOUND : rc;
	}
	*out = cache_find(cache, ddns_txn_snapshot(t), (uint32_t)zone_id);
	if (!*out) {
		rc = ddns_zone_get_by_id(t, (uint32_t)zone_id, tmp);
		if (rc != 0)
			return rc;
		*out = cache_put(cache, tmp);
	}
	return ddns_name_in_zone(base, (*out)->name) ? 0 : DDNS_ENOTFOUND;
}

/* Addresses of the host NAME (or, for "*.host", of a wildcard host). */
static int lookup_host(ddns_txn *t, struct rr_out *o, const char *name,
		       unsigned types)
{
	bool wild = strncmp(name, "*.", 2) == 0;
	struct ddns_host h;
	int rc;

	if (!(types & RR_ADDR))
		return 0;
	rc = ddns_host_get(t, wild ? name + 2 : name, &h);
	if (rc == DDNS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (h.zone_id != o->zone->id || (wild && !(h.flags & DDNS_HOST_WILDCARD)))
		return 0;
	rr_host(o, &h, wild ? "*." : "", types);
	return 0;
}

/* The challenge TXT records of host NAME (TYPES permitting). */
static int lookup_acme(ddns_txn *t, struct rr_out *o, const char *name,
		       unsigned types)
{
	struct ddns_host h;
	int rc;

	if (!(types & RR_TXT))
		return 0;
	rc = ddns_host_get(t, name, &h);
	if (rc == DDNS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (h.zone_id != o->zone->id)
		return 0;
	return rr_acme(o, t, &h, (int64_t)time(NULL));
}

/*
 * Check and normalise a lookup's QTYPE and QNAME (lengths given; both
 * untrusted) into Q; "_acme-challenge.HOST" sets q->acme and keeps HOST.
 * 0, or 1 for a name or type never served here (other underscores,
 * escapes, the root, other types...).
 */
static int lookup_prepare(const char *qtype, size_t tlen, const char *qname,
			  size_t qlen, long long zone_id, struct lookup_q *q)
{
	char safe_type[16], safe_name[80];

	log_debug("lookup %s %s zone-id %lld",
		  log_safe_n(qtype, tlen, safe_type, sizeof safe_type),
		  log_safe_n(qname, qlen, safe_name, sizeof safe_name),
		  zone_id);
	q->zone_id = zone_id;
	q->types = qtype_mask(qtype, tlen);
	q->acme = qlen > DDNS_CHALLENGE_NAME_LEN &&
		  strncasecmp(qname, DDNS_CHALLENGE_NAME,
			      DDNS_CHALLENGE_NAME_LEN) == 0;
	if (q->acme) {
		qname += DDNS_CHALLENGE_NAME_LEN;
		qlen -= DDNS_CHALLENGE_NAME_LEN;
	}
	if (!q->types ||
	    (q->acme ? ddns_name_normalize(qname, qlen, q->name)
		     : ddns_name_normalize_wild(qname, qlen, q->name)) != 0)
		return 1;
	return 0;
}

/* Answer the lookup Q into OUT. */
static int lookup_answer(struct rb_cache *cache, ddns_txn *t,
			 const struct lookup_q *q, struct ddns_buf *out)
{
	const struct ddns_zone *z = NULL;
	struct ddns_zone tmp;
	struct rr_out o;
	char safe[80];
	int rc;

	rc = lookup_zone(cache, t, q->name, q->zone_id, &tmp, &z);
	if (rc == DDNS_ENOTFOUND)
		return nothing(out);
	if (rc != 0)
		goto fail;
	rr_begin(&o, out, z);
	if (q->acme) {
		rc = lookup_acme(t, &o, q->name, q->types);
		if (rc != 0)
			goto fail;
		return rr_end(&o);
	}
	if (strcmp(q->name, z->name) == 0) {
		if (q->types & RR_SOA)
			rr_soa(&o);
		if (q->types & RR_NS)
			rr_ns(&o);
	}
	rc = lookup_host(t, &o, q->name, q->types);
	if (rc != 0)
		goto fail;
	return rr_end(&o);
fail:
	log_err("lookup %s: %s", log_safe(q->name, safe, sizeof safe),
		ddns_strerror(rc));
	return refuse(out, rc);
}

static int m_lookup(struct rb_cache *cache, ddns_txn *t, json_t *params,
		    struct ddns_buf *out)
{
	const char *qtype, *qname;
	size_t tlen, qlen;
	long long zone_id = -1;
	struct lookup_q q;

	if (get_str(params, "qtype", &qtype, &tlen) ||
	    get_str(params, "qname", &qname, &qlen) ||
	    get_int(params, "zone-id", &zone_id)) {
		log_warn("lookup: qtype, qname or zone-id missing or mistyped");
		return refuse(out, DDNS_EINVAL);
	}
	if (lookup_prepare(qtype, tlen, qname, qlen, zone_id, &q) != 0)
		return nothing(out);
	return lookup_answer(cache, t, &q, out);
}

/*
 * The hot path: a lookup in the flat shape pdns sends, answered without
 * jansson.  Returns 1 when REQ is anything else (or a lookup with a
 * mistyped member, which the general path refuses with its own message);
 * otherwise what rb_handle returns.
 */
static int lookup_flat(struct rb_cache *cache, ddns_txn *t, const char *req,
		       size_t len, struct ddns_buf *out)
{
	static const char *const want[] = {"qtype", "qname", "zone-id"};
	const struct rb_flat_val *qtype, *qname, *zid;
	struct rb_flat f;
	struct lookup_q q;

	if (rb_flat_parse(req, len, want, 3, &f) != 0 ||
	    !rb_flat_is(&f.method, "lookup") || !f.has_params)
		return 1;
	qtype = &f.val[0];
	qname = &f.val[1];
	zid = &f.val[2];
	if (qtype->kind != RB_FLAT_STR || qname->kind != RB_FLAT_STR ||
	    (zid->kind != RB_FLAT_ABSENT && zid->kind != RB_FLAT_NULL &&
	     zid->kind != RB_FLAT_INT))
		return 1;
	if (lookup_prepare(qtype->s, qtype->len, qname->s, qname->len,
			   zid->kind == RB_FLAT_INT ? zid->n : -1, &q) != 0)
		return nothing(out);
	return lookup_answer(cache, t, &q, out);
}

/* ---- list (AXFR) ------------------------------------------------------ */

/* A zone transfer being written: its records and the time that decides
 * which challenge values are live. */
struct list_out {
	struct rr_out o;
	ddns_txn *t;
	int64_t now;
};

static int list_host(const struct ddns_host *h, void *arg)
{
	struct list_out *l = arg;
	struct rr_out *o = &l->o;
	int rc;

	rr_host(o, h, "", RR_ADDR);
	if (h->flags & DDNS_HOST_WILDCARD)
		rr_host(o, h, "*.", RR_ADDR);
	if ((rc = rr_acme(o, l->t, h, l->now)) != 0)
		return rc;
	return o->b->failed ? DDNS_ENOMEM : 0;
}

/* The zone a list request means: by domain_id when given, else by name;
 * when both are given they must agree.  0 or a DDNS_E* code. */
static int list_zone(ddns_txn *t, json_t *params, struct ddns_zone *z)
{
	char name[DDNS_NAME_BUF];
	long long id = -1;
	const char *zname = NULL;
	size_t zlen = 0;
	int rc;

	if (get_int(params, "domain_id", &id) != 0)
		return DDNS_EINVAL;
	if (json_object_get(params, "zonename") &&
	    get_str(params, "zonename", &zname, &zlen) != 0)
		return DDNS_EINVAL;
	if (zname && ddns_name_normalize(zname, zlen, name) != 0)
		return DDNS_ENOTFOUND;
	if (id > 0 && id <= UINT32_MAX) {
		rc = ddns_zone_get_by_id(t, (uint32_t)id, z);
		if (rc == 0 && zname && strcmp(name, z->name) != 0)
			rc = DDNS_ENOTFOUND;
		return rc;
	}
	if (!zname)
		return DDNS_EINVAL;
	return ddns_zone_get(t, name, z);
}

static int m_list(struct rb_cache *cache, ddns_txn *t, json_t *params,
		  struct ddns_buf *out)
{
	struct ddns_zone z;
	struct list_out l = {.t = t, .now = (int64_t)time(NULL)};
	struct rr_out *o = &l.o;
	int rc;

	rc = list_zone(t, params, &z);
	if (rc == DDNS_EINVAL) {
		log_warn("list: zonename or domain_id missing or mistyped");
		return refuse(out, rc);
	}
	if (rc == DDNS_ENOTFOUND)
		return nothing(out);
	if (rc != 0)
		goto fail;
	rr_begin(o, out, &z);
	/* A zone transfer's reply is read by pdns byte by byte (pipe
	 * connector with a timeout) or re-parsed per 1500-byte read (unix):
	 * leave out what pdns's list reader defaults anyway (domain_id unused
	 * by AXFR, auth 1, scopeMask 0), a third of each record. */
	o->brief = true;
	rr_soa(o);
	rr_ns(o);
	rc = ddns_host_foreach(t, &z, list_host, &l);
	if (rc != 0)
		goto fail;
	return rr_end(o);
fail:
	log_err("list: %s", ddns_strerror(rc));
	return refuse(out, rc);
}

/* ---- zones and metadata ----------------------------------------------- */

static int all_domains_cb(const struct ddns_zone *z, void *arg)
{
	struct rr_out *o = arg;

	if (o->n++)
		ddns_buf_addc(o->b, ',');
	domain_info(o->b, z);
	return o->b->failed ? DDNS_ENOMEM : 0;
}

static int m_get_all_domains(struct rb_cache *cache, ddns_txn *t,
			     json_t *params, struct ddns_buf *out)
{
	struct rr_out o = {.b = out};
	int rc;

	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":[");
	rc = ddns_zone_foreach(t, all_domains_cb, &o);
	if (rc != 0) {
		log_err("getAllDomains: %s", ddns_strerror(rc));
		return refuse(out, rc);
	}
	ddns_buf_adds(out, "]}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

static int m_get_domain_info(struct rb_cache *cache, ddns_txn *t,
			     json_t *params, struct ddns_buf *out)
{
	char name[DDNS_NAME_BUF];
	struct ddns_zone z;
	const char *s;
	size_t len;
	int rc;

	if (get_str(params, "name", &s, &len) != 0) {
		log_warn("getDomainInfo: name missing or mistyped");
		return refuse(out, DDNS_EINVAL);
	}
	if (ddns_name_normalize(s, len, name) != 0)
		return nothing(out);
	rc = ddns_zone_get(t, name, &z);
	if (rc == DDNS_ENOTFOUND)
		return nothing(out);
	if (rc != 0) {
		log_err("getDomainInfo: %s", ddns_strerror(rc));
		return refuse(out, rc);
	}
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":");
	domain_info(out, &z);
	ddns_buf_adds(out, "}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

/* No zone has metadata (no DNSSEC, no ALSO-NOTIFY): pdns 4.7 takes {} for
 * all of a zone's metadata and [] for one kind. */
static int m_get_all_domain_metadata(struct rb_cache *cache, ddns_txn *t,
				     json_t *params, struct ddns_buf *out)
{
	const char *s;

	if (get_str(params, "name", &s, NULL) != 0) {
		log_warn("getAllDomainMetadata: name missing or mistyped");
		return refuse(out, DDNS_EINVAL);
	}
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":{}}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

static int m_get_domain_metadata(struct rb_cache *cache, ddns_txn *t,
				 json_t *params, struct ddns_buf *out)
{
	const char *s;

	if (get_str(params, "name", &s, NULL) != 0 ||
	    get_str(params, "kind", &s, NULL) != 0) {
		log_warn("getDomainMetadata: name or kind missing or mistyped");
		return refuse(out, DDNS_EINVAL);
	}
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":[]}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

/* Every connection-string option comes as a string; none matters here. */
static int m_initialize(struct rb_cache *cache, ddns_txn *t, json_t *params,
			struct ddns_buf *out)
{
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":true}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

/* ---- dispatch --------------------------------------------------------- */

static method_fn method_find(const char *name)
{
	static const struct {
		const char *name;
		method_fn fn;
	} methods[] = {
		{"lookup", m_lookup},
		{"getAllDomainMetadata", m_get_all_domain_metadata},
		{"getAllDomains", m_get_all_domains},
		{"getDomainInfo", m_get_domain_info},
		{"getDomainMetadata", m_get_domain_metadata},
		{"list", m_list},
		{"initialize", m_initialize},
	};

	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (strcmp(name, methods[i].name) == 0)
			return methods[i].fn;
	return NULL;
}

/* The general path: any request, parsed with jansson. */
static int handle_json(struct rb_cache *cache, rb_state *state, ddns_txn *t,
		       const char *req, size_t len, struct ddns_buf *out)
{
	json_t *root = NULL, *params;
	const char *method = NULL;
	json_error_t jerr;
	method_fn fn;
	char safe[80];
	int rc;

	root = json_loadb(req, len, 0, &jerr);
	if (!root) {
		log_warn("malformed request: %s",
			 log_safe(jerr.text, safe, sizeof safe));
		return refuse(out, DDNS_EINVAL);
	}
	params = json_object_get(root, "parameters");
	if (get_str(root, "method", &method, NULL) != 0 ||
	    (params && !json_is_object(params))) {
		log_warn("malformed request: no method or bad parameters");
		rc = refuse(out, DDNS_EINVAL);
		goto done;
	}
	/* the primary role, DNSSEC and metadata kept in the backend state */
	rc = rb_dnssec_handle(state, t, method, params, out);
	if (rc != 1)
		goto done;
	fn = method_find(method);
	if (!fn) {
		log_warn("unknown method \"%s\"",
			 log_safe(method, safe, sizeof safe));
		rc = refuse(out, DDNS_EINVAL);
		goto done;
	}
	rc = fn(cache, t, params, out);
done:
	json_decref(root);
	return rc;
}

/* Refuse what is over the length cap; 0 if REQ may be parsed. */
static int check_len(size_t len, struct ddns_buf *out)
{
	if (len <= RB_LINE_MAX)
		return 0;
	log_warn("request of %zu bytes refused (limit %d)", len, RB_LINE_MAX);
	return refuse(out, DDNS_ETOOBIG);
}

int rb_handle_state(struct rb_cache *cache, rb_state *state, ddns_txn *t,
		    const char *req, size_t len, struct ddns_buf *out)
{
	int rc = check_len(len, out);

	if (rc != 0)
		return rc;
	rc = lookup_flat(cache, t, req, len, out);
	if (rc == 1)
		rc = handle_json(cache, state, t, req, len, out);
	return out->failed ? DDNS_ENOMEM : rc;
}

int rb_handle_cached(struct rb_cache *cache, ddns_txn *t, const char *req,
		     size_t len, struct ddns_buf *out)
{
	return rb_handle_state(cache, NULL, t, req, len, out);
}

int rb_handle(ddns_txn *t, const char *req, size_t len, struct ddns_buf *out)
{
	return rb_handle_cached(NULL, t, req, len, out);
}

int rb_handle_json(ddns_txn *t, const char *req, size_t len,
		   struct ddns_buf *out)
{
	int rc = check_len(len, out);

	if (rc != 0)
		return rc;
	rc = handle_json(NULL, NULL, t, req, len, out);
	return out->failed ? DDNS_ENOMEM : rc;
}
