/*
 * rb_dnssec.c -- the methods pdns 4.7 calls for the primary role and for
 * live DNSSEC signing (remote-dnssec=yes), answered from the backend's own
 * state environment (rb_state.c) and the read-only store.
 *
 * What pdns sends and reads (modules/remotebackend/remotebackend.cc at
 * auth-4.7.3): setNotified {id, serial} and getBeforeAndAfterNamesAbsolute
 * {id, qname} carry numbers that may be printed as reals; key methods
 * carry {name, id}; addDomainKey reads the new id from "result"; in
 * getDomainKeys "active" and "published" are booleans; qname and the
 * returned before/after are relative to the zone ("www." or "" for the
 * apex) and pdns appends the zone itself.
 */
#include "rb_dnssec.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "names.h"
#include "rb_chain.h"

typedef int (*state_fn)(rb_state *st, ddns_txn *t, json_t *params,
			struct ddns_buf *out);

/* ---- replies ---------------------------------------------------------- */

static int reply(struct ddns_buf *out, const char *text)
{
	ddns_buf_reset(out);
	ddns_buf_adds(out, text);
	return out->failed ? DDNS_ENOMEM : 0;
}

static int reply_false(struct ddns_buf *out)
{
	return reply(out, "{\"result\":false}\n");
}

static int refuse(struct ddns_buf *out, const char *method, const char *why,
		  int code)
{
	log_warn("%s: %s", method, why);
	reply_false(out);
	return code;
}

/* LEN octets of S as a JSON string, quotes included. */
static void add_json_n(struct ddns_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	ddns_buf_addc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

		if (c >= 0x20 && c != '"' && c != '\\') {
			ddns_buf_addc(b, (char)c);
		} else if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			ddns_buf_add(b, esc, 2);
		} else {
			ddns_buf_add(b, esc, 6);
		}
	}
	ddns_buf_addc(b, '"');
}

/* ---- parameters ------------------------------------------------------- */

/* A number member (integer, or a real with an integral value, as pdns
 * prints some) in 0..UINT32_MAX.  0 or DDNS_EINVAL. */
static int get_u32(json_t *params, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(params, key);
	double d;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= UINT32_MAX) {
		*out = (uint32_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return DDNS_EINVAL;
	d = json_real_value(v);
	if (!(d >= 0 && d <= UINT32_MAX) || (double)(uint32_t)d != d)
		return DDNS_EINVAL;
	*out = (uint32_t)d;
	return 0;
}

/* The zone "name" of PARAMS, normalised into NAME.  0, DDNS_EINVAL when
 * absent or not a string, DDNS_EBADNAME when not a name of ours. */
static int get_zone_name(json_t *params, char name[DDNS_NAME_BUF])
{
	json_t *v = json_object_get(params, "name");

	if (!json_is_string(v))
		return DDNS_EINVAL;
	return ddns_name_normalize(json_string_value(v), json_string_length(v),
				   name) == 0
		   ? 0
		   : DDNS_EBADNAME;
}

/* The zone "name" of PARAMS, which must be a zone of the store. */
static int get_zone(ddns_txn *t, json_t *params, struct ddns_zone *z)
{
	char name[DDNS_NAME_BUF];
	int rc = get_zone_name(params, name);

	if (rc != 0)
		return rc;
	return ddns_zone_get(t, name, z);
}

static bool serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) > 0;
}

/* ---- primary: getUpdatedMasters, setNotified -------------------------- */

struct masters {
	rb_state *st;
	struct ddns_buf *b;
	unsigned n;
};

static int masters_cb(const struct ddns_zone *z, void *arg)
{
	struct masters *m = arg;
	uint32_t notified = z->notified_serial;
	int rc;

	if (z->kind != DDNS_ZONE_MASTER)
		return 0;
	rc = rb_state_notified_get(m->st, z->id, &notified);
	if (rc != 0 && rc != DDNS_ENOTFOUND)
		return rc;
	/* never notified (0, "unset", is a serial no zone has): due now,
	 * whatever RFC 1982 says of a serial past 2^31 against 0 */
	if (notified != 0 && !serial_gt(z->serial, notified))
		return 0;
	ddns_buf_adds(m->b, m->n++ ? ",{\"zone\":" : "{\"zone\":");
	ddns_buf_add(m->b, "\"", 1);
	ddns_buf_adds(m->b, z->name);
	ddns_buf_printf(m->b,
			".\",\"id\":%" PRIu32 ",\"serial\":%" PRIu32
			",\"notified_serial\":%" PRIu32
			",\"last_check\":0,\"masters\":[],\"kind\":\"master\"}",
			z->id, z->serial, notified);
	return m->b->failed ? DDNS_ENOMEM : 0;
}

/* Master zones whose serial is past the one last notified: pdns sends
 * NOTIFY for each and then calls setNotified. */
static int m_updated_masters(rb_state *st, ddns_txn *t, json_t *params,
			     struct ddns_buf *out)
{
	struct masters m = {st, out, 0};
	int rc;

	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":[");
	rc = ddns_zone_foreach(t, masters_cb, &m);
	if (rc != 0) {
		log_err("getUpdatedMasters: %s", ddns_strerror(rc));
		reply_false(out);
		return rc;
	}
	ddns_buf_adds(out, "]}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

static int m_set_notified(rb_state *st, ddns_txn *t, json_t *params,
			  struct ddns_buf *out)
{
	uint32_t id, serial;
	int rc;

	if (get_u32(params, "id", &id) || get_u32(params, "serial", &serial))
		return refuse(out, "setNotified", "id or serial mistyped",
			      DDNS_EINVAL);
	rc = rb_state_notified_set(st, id, serial);
	if (rc != 0) {
		log_err("setNotified %" PRIu32 ": %s", id, ddns_strerror(rc));
		return reply_false(out) ? DDNS_ENOMEM : rc;
	}
	log_info("zone %" PRIu32 ": serial %" PRIu32 " notified", id, serial);
	return reply(out, "{\"result\":true}\n");
}

/* ---- keys ------------------------------------------------------------- */

struct key_list {
	struct ddns_buf *b;
	unsigned n;
};

static int key_list_cb(const struct rb_key *k, void *arg)
{
	struct key_list *l = arg;

	ddns_buf_printf(l->b,
			"%s{\"id\":%" PRIu32 ",\"flags\":%" PRIu32
			",\"active\":%s,\"published\":%s,\"content\":",
			l->n++ ? "," : "", k->id, k->flags,
			k->active ? "true" : "false",
			k->published ? "true" : "false");
	add_json_n(l->b, k->content, k->content_len);
	ddns_buf_addc(l->b, '}');
	return l->b->failed ? DDNS_ENOMEM : 0;
}

static int m_get_keys(rb_state *st, ddns_txn *t, json_t *params,
		      struct ddns_buf *out)
{
	char name[DDNS_NAME_BUF];
	struct key_list l = {out, 0};
	int rc = get_zone_name(params, name);

	if (rc == DDNS_EINVAL)
		return refuse(out, "getDomainKeys", "name missing", rc);
	if (rc != 0)
		return reply_false(out);
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":[");
	rc = rb_state_key_foreach(st, name, key_list_cb, &l);
	if (rc != 0) {
		log_err("getDomainKeys %s: %s", name, ddns_strerror(rc));
		reply_false(out);
		return rc;
	}
	ddns_buf_adds(out, "]}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

static int m_add_key(rb_state *st, ddns_txn *t, json_t *params,
		     struct ddns_buf *out)
{
	json_t *key = json_object_get(params, "key");
	json_t *content = json_object_get(key, "content");
	struct rb_key k = {0};
	struct ddns_zone z;
	uint32_t id;
	int rc;

	if (!json_is_string(content) || get_u32(key, "flags", &k.flags))
		return refuse(out, "addDomainKey", "key mistyped", DDNS_EINVAL);
	if (get_zone(t, params, &z) != 0)
		return reply_false(out);
	k.active = json_is_true(json_object_get(key, "active"));
	k.published = !json_is_false(json_object_get(key, "published"));
	k.content = json_string_value(content);
	k.content_len = json_string_length(content);
	rc = rb_state_key_add(st, z.name, &k, &id);
	if (rc != 0) {
		log_err("addDomainKey %s: %s", z.name, ddns_strerror(rc));
		return reply_false(out) ? DDNS_ENOMEM : rc;
	}
	log_info("zone %s: key %" PRIu32 " added (flags %" PRIu32 ")", z.name,
		 id, k.flags);
	ddns_buf_reset(out);
	ddns_buf_printf(out, "{\"result\":%" PRIu32 "}\n", id);
	return out->failed ? DDNS_ENOMEM : 0;
}

/* removeDomainKey and the four flag changes: {name, id}. */
static int key_change(rb_state *st, json_t *params, struct ddns_buf *out,
		      const char *what, int active, int published)
{
	char name[DDNS_NAME_BUF];
	uint32_t id;
	int rc;

	if (get_u32(params, "id", &id) != 0)
		return refuse(out, what, "id mistyped", DDNS_EINVAL);
	if (get_zone_name(params, name) != 0)
		return reply_false(out);
	rc = active == -2 ? rb_state_key_del(st, name, id)
			  : rb_state_key_set(st, name, id, active, published);
	if (rc == DDNS_ENOTFOUND)
		return reply_false(out);
	if (rc != 0) {
		log_err("%s %s: %s", what, name, ddns_strerror(rc));
		return reply_false(out) ? DDNS_ENOMEM : rc;
	}
	log_info("zone %s: %s %" PRIu32, name, what, id);
	return reply(out, "{\"result\":true}\n");
}

static int m_remove_key(rb_state *st, ddns_txn *t, json_t *p,
			struct ddns_buf *out)
{
	return key_change(st, p, out, "removeDomainKey", -2, -1);
}

static int m_activate_key(rb_state *st, ddns_txn *t, json_t *p,
			  struct ddns_buf *out)
{
	return key_change(st, p, out, "activateDomainKey", 1, -1);
}

static int m_deactivate_key(rb_state *st, ddns_txn *t, json_t *p,
			    struct ddns_buf *out)
{
	return key_change(st, p, out, "deactivateDomainKey", 0, -1);
}

static int m_publish_key(rb_state *st, ddns_txn *t, json_t *p,
			 struct ddns_buf *out)
{
	return key_change(st, p, out, "publishDomainKey", -1, 1);
}

static int m_unpublish_key(rb_state *st, ddns_txn *t, json_t *p,
			   struct ddns_buf *out)
{
	return key_change(st, p, out, "unpublishDomainKey", -1, 0);
}

/* ---- metadata --------------------------------------------------------- */

struct meta_out {
	struct ddns_buf *b;
	bool all;   /* {"KIND":[...],...} rather than one array */
	unsigned n; /* kinds written */
};

static int meta_cb(const char *kind, size_t klen, unsigned idx, const char *val,
		   size_t vlen, void *arg)
{
	struct meta_out *m = arg;

	if (idx == 0 && m->all) {
		ddns_buf_adds(m->b, m->n++ ? "]," : "");
		add_json_n(m->b, kind, klen);
		ddns_buf_adds(m->b, ":[");
	} else if (idx > 0) {
		ddns_buf_addc(m->b, ',');
	}
	add_json_n(m->b, val, vlen);
	return m->b->failed ? DDNS_ENOMEM : 0;
}

static int meta_get(rb_state *st, json_t *params, struct ddns_buf *out,
		    bool all)
{
	const char *what = all ? "getAllDomainMetadata" : "getDomainMetadata";
	json_t *kind = json_object_get(params, "kind");
	struct meta_out m = {out, all, 0};
	char name[DDNS_NAME_BUF];
	int rc = get_zone_name(params, name);

	if (rc == DDNS_EINVAL || (!all && !json_is_string(kind)))
		return refuse(out, what, "name or kind missing", DDNS_EINVAL);
	ddns_buf_reset(out);
	ddns_buf_adds(out, all ? "{\"result\":{" : "{\"result\":[");
	if (rc == 0)
		rc = rb_state_meta_foreach(st, name,
					   all ? NULL : json_string_value(kind),
					   meta_cb, &m);
	if (rc == DDNS_EINVAL || rc == DDNS_EBADNAME)
		rc = 0; /* a kind or name never stored: nothing */
	if (rc != 0) {
		log_err("%s %s: %s", what, name, ddns_strerror(rc));
		reply_false(out);
		return rc;
	}
	ddns_buf_adds(out, all ? (m.n ? "]}}\n" : "}}\n") : "]}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

static int m_get_meta(rb_state *st, ddns_txn *t, json_t *p,
		      struct ddns_buf *out)
{
	return meta_get(st, p, out, false);
}

static int m_get_all_meta(rb_state *st, ddns_txn *t, json_t *p,
			  struct ddns_buf *out)
{
	return meta_get(st, p, out, true);
}

static int m_set_meta(rb_state *st, ddns_txn *t, json_t *params,
		      struct ddns_buf *out)
{
	const char *vals[RB_STATE_VALUES_MAX];
	size_t lens[RB_STATE_VALUES_MAX], n, i;
	json_t *kind = json_object_get(params, "kind");
	json_t *value = json_object_get(params, "value"), *v;
	struct ddns_zone z;
	int rc;

	if (!json_is_string(kind) || !json_is_array(value) ||
	    json_array_size(value) > RB_STATE_VALUES_MAX)
		return refuse(out, "setDomainMetadata",
			      "kind or value mistyped", DDNS_EINVAL);
	if (get_zone(t, params, &z) != 0)
		return reply_false(out);
	n = json_array_size(value);
	json_array_foreach(value, i, v)
	{
		if (!json_is_string(v))
			return refuse(out, "setDomainMetadata",
				      "value not a string", DDNS_EINVAL);
		vals[i] = json_string_value(v);
		lens[i] = json_string_length(v);
	}
	rc = rb_state_meta_set(st, z.name, json_string_value(kind), vals, lens,
			       n);
	if (rc != 0) {
		log_warn("setDomainMetadata %s: %s", z.name, ddns_strerror(rc));
		return reply_false(out) ? DDNS_ENOMEM : rc;
	}
	log_info("zone %s: metadata set (%zu values)", z.name, n);
	return reply(out, "{\"result\":true}\n");
}

/* ---- the NSEC chain --------------------------------------------------- */

/*
 * NSEC: the last name of the zone at or before qname in canonical order,
 * and the first after it (the apex when none: the chain wraps), from the
 * zone's chain kept for this snapshot (rb_chain.h).  NSEC3 (hashed)
 * chains are not kept: see the README.
 */
static int m_before_after(rb_state *st, ddns_txn *t, json_t *params,
			  struct ddns_buf *out)
{
	char before[RB_CHAIN_NAME_BUF], after[RB_CHAIN_NAME_BUF];
	json_t *q = json_object_get(params, "qname");
	struct ddns_zone z;
	uint32_t id;
	int rc;

	if (get_u32(params, "id", &id) != 0 || !json_is_string(q))
		return refuse(out, "getBeforeAndAfterNamesAbsolute",
			      "id or qname mistyped", DDNS_EINVAL);
	if (ddns_zone_get_by_id(t, id, &z) != 0)
		return reply_false(out);
	rc = rb_chain_find(st, t, &z, json_string_value(q), before, after);
	if (rc == DDNS_EINVAL)
		return reply_false(out);
	if (rc != 0) {
		log_err("getBeforeAndAfterNamesAbsolute %s: %s", z.name,
			ddns_strerror(rc));
		reply_false(out);
		return rc;
	}
	ddns_buf_reset(out);
	ddns_buf_adds(out, "{\"result\":{\"before\":");
	ddns_buf_json_str(out, before);
	ddns_buf_adds(out, ",\"after\":");
	ddns_buf_json_str(out, after);
	ddns_buf_adds(out, ",\"unhashed\":\"\"}}\n");
	return out->failed ? DDNS_ENOMEM : 0;
}

/* ---- dispatch --------------------------------------------------------- */

/* Methods pdns may call that this backend does not keep (TSIG keys, zone
 * writes): answered false without a warning. */
static bool quiet_false(const char *method)
{
	static const char *const names[] = {
	    "getTSIGKey",	"getTSIGKeys",	    "setTSIGKey",
	    "deleteTSIGKey",	"startTransaction", "commitTransaction",
	    "abortTransaction", "feedRecord",	    "feedEnts",
	    "feedEnts3",	"replaceRRSet",	    "getUnfreshSlaveInfos",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(method, names[i]) == 0)
			return true;
	return false;
}

int rb_dnssec_handle(rb_state *state, ddns_txn *t, const char *method,
		     json_t *params, struct ddns_buf *out)
{
	static const struct {
		const char *name;
		state_fn fn;
		bool without_state; /* 1: the caller answers it then */
	} methods[] = {
	    {"getUpdatedMasters", m_updated_masters, false},
	    {"setNotified", m_set_notified, false},
	    {"getDomainKeys", m_get_keys, false},
	    {"addDomainKey", m_add_key, false},
	    {"removeDomainKey", m_remove_key, false},
	    {"activateDomainKey", m_activate_key, false},
	    {"deactivateDomainKey", m_deactivate_key, false},
	    {"publishDomainKey", m_publish_key, false},
	    {"unpublishDomainKey", m_unpublish_key, false},
	    {"getDomainMetadata", m_get_meta, true},
	    {"getAllDomainMetadata", m_get_all_meta, true},
	    {"setDomainMetadata", m_set_meta, false},
	    {"getBeforeAndAfterNamesAbsolute", m_before_after, false},
	};

	if (quiet_false(method))
		return reply_false(out);
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(method, methods[i].name) != 0)
			continue;
		if (state)
			return methods[i].fn(state, t, params, out);
		if (methods[i].without_state)
			return 1;
		log_debug("%s: no [backend] state configured", method);
		return reply_false(out);
	}
	return 1;
}
