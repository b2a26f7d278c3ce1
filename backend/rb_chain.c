/*
 * rb_chain.c -- the NSEC chain of a zone, sorted once per snapshot.
 *
 * Each name gets a sort key whose byte order (memcmp, then the shorter
 * first) is canonical DNS order: its labels from the root down, each
 * label's octets lower-cased, with 0x00 written as 0x01 0x01 and 0x01 as
 * 0x01 0x02, and a 0x00 after each label.  A label then sorts before any
 * longer label it begins, and a name before the names below it.
 */
#include "rb_chain.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "challenge.h"
#include "err.h"
#include "log.h"

#define KEY_MAX	    768 /* 255 octets, each at most 2, and the separators */
#define LABELS_MAX  128
#define CHAINS_KEPT 4 /* zones whose chain is kept at once */

struct ent {
	uint32_t key; /* offset of the key in the blob */
	uint32_t klen;
	uint32_t name; /* offset of the NUL-terminated text */
};

struct chain {
	uint32_t zone_id;
	int64_t valid_until; /* unix seconds: a challenge name expires */
	struct ent *ent;
	size_t n, cap;
	unsigned char *blob;
	size_t blen, bcap;
};

/* What rb_state keeps for us: the chains of one snapshot. */
struct chains {
	uint64_t snapshot;
	unsigned next;
	struct chain *c[CHAINS_KEPT];
};

/* ---- keys ------------------------------------------------------------- */

/* One octet of text at *S ("\\X" and "\\DDD" taken whole) into *C. */
static int text_octet(const char **s, unsigned char *c)
{
	const char *p = *s;
	unsigned v = 0;

	if (*p != '\\') {
		*c = (unsigned char)*p;
		*s = p + 1;
		return 0;
	}
	if (p[1] < '0' || p[1] > '9') {
		if (!p[1])
			return DDNS_EINVAL;
		*c = (unsigned char)p[1];
		*s = p + 2;
		return 0;
	}
	for (int i = 1; i <= 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return DDNS_EINVAL;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	if (v > 255)
		return DDNS_EINVAL;
	*c = (unsigned char)v;
	*s = p + 4;
	return 0;
}

/* The labels of text S, unescaped and lower-cased, into BUF; their
 * offsets and lengths into OFF, LEN.  The count, or -1. */
static int split_labels(const char *s, unsigned char *buf, unsigned *off,
			unsigned *len)
{
	unsigned n = 0, used = 0;
	unsigned char c;

	if (s[0] == '.' && s[1] == '\0')
		s++;
	while (*s) {
		if (n == LABELS_MAX || *s == '.')
			return -1;
		off[n] = used;
		len[n] = 0;
		for (; *s && *s != '.'; len[n]++) {
			if (text_octet(&s, &c) != 0 || len[n] == 63 ||
			    used == 255)
				return -1;
			buf[used++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
		}
		n++;
		if (*s == '.')
			s++;
	}
	return (int)n;
}

/* The sort key of text S into KEY (KEY_MAX); its length, or -1. */
static int canon_key(const char *s, unsigned char *key)
{
	unsigned char buf[256];
	unsigned off[LABELS_MAX], len[LABELS_MAX];
	int n = split_labels(s, buf, off, len), k = 0;

	for (int i = n - 1; i >= 0; i--) {
		for (unsigned j = 0; j < len[i]; j++) {
			unsigned char c = buf[off[i] + j];

			if (c <= 1) {
				key[k++] = 1;
				key[k++] = (unsigned char)(c + 1);
			} else {
				key[k++] = c;
			}
		}
		key[k++] = 0;
	}
	return n < 0 ? -1 : k;
}

static int key_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
		   size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen == blen ? 0 : alen < blen ? -1 : 1;
}

int rb_canon_cmp(const char *a, const char *b, int *err)
{
	unsigned char ka[KEY_MAX], kb[KEY_MAX];
	int la = canon_key(a, ka), lb = canon_key(b, kb);

	if (err)
		*err = (la < 0 || lb < 0) ? DDNS_EINVAL : 0;
	if (la < 0 || lb < 0)
		return 0;
	return key_cmp(ka, (size_t)la, kb, (size_t)lb);
}

/* ---- building --------------------------------------------------------- */

static void chain_free(struct chain *c)
{
	if (!c)
		return;
	free(c->ent);
	free(c->blob);
	free(c);
}

/* Make room for NEED more blob octets and one more entry. */
static int chain_reserve(struct chain *c, size_t need)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct ent *e = realloc(c->ent, cap * sizeof *e);

		if (!e)
			return DDNS_ENOMEM;
		c->ent = e;
		c->cap = cap;
	}
	if (c->bcap - c->blen < need) {
		size_t cap = c->bcap ? c->bcap * 2 : 65536;
		unsigned char *b;

		while (cap - c->blen < need)
			cap *= 2;
		if (cap > UINT32_MAX || !(b = realloc(c->blob, cap)))
			return DDNS_ENOMEM;
		c->blob = b;
		c->bcap = cap;
	}
	return 0;
}

/* Add the relative name REL (text). */
static int chain_add(struct chain *c, const char *rel)
{
	unsigned char key[KEY_MAX];
	size_t tlen = strlen(rel) + 1;
	int klen = canon_key(rel, key);
	struct ent *e;

	if (klen < 0)
		return 0; /* cannot happen for a name read from the store */
	if (chain_reserve(c, (size_t)klen + tlen) != 0)
		return DDNS_ENOMEM;
	e = &c->ent[c->n++];
	e->key = (uint32_t)c->blen;
	e->klen = (uint32_t)klen;
	memcpy(c->blob + c->blen, key, (size_t)klen);
	c->blen += (size_t)klen;
	e->name = (uint32_t)c->blen;
	memcpy(c->blob + c->blen, rel, tlen);
	c->blen += tlen;
	return 0;
}

struct build {
	struct chain *c;
	ddns_txn *t;
	const struct ddns_zone *z;
	size_t zlen;
	int64_t now;
};

static int build_cb(const struct ddns_host *h, void *arg)
{
	struct build *b = arg;
	size_t hl = strlen(h->fqdn);
	char rel[RB_CHAIN_NAME_BUF];
	int rc;

	/* names without records are not in the chain (as in lookups) */
	if ((h->flags & (DDNS_HOST_ABUSE | DDNS_HOST_BLOCKED)) ||
	    !(h->flags & (DDNS_HOST_V4 | DDNS_HOST_V6)) || hl <= b->zlen + 1)
		return 0;
	rel[0] = '*';
	rel[1] = '.';
	memcpy(rel + 2, h->fqdn, hl - b->zlen - 1);
	rel[2 + hl - b->zlen - 1] = '\0';
	rc = chain_add(b->c, rel + 2);
	if (rc == 0 && (h->flags & DDNS_HOST_WILDCARD))
		rc = chain_add(b->c, rel);
	return rc;
}

/* "_acme-challenge.host" for each host of the zone with a live challenge,
 * as rb_proto.c answers its TXT records. */
static int acme_cb(const char *fqdn, const struct ddns_challenges *unused,
		   void *arg)
{
	struct build *b = arg;
	char rel[RB_CHAIN_NAME_BUF];
	struct ddns_challenges c;
	struct ddns_host h;
	size_t hl = strlen(fqdn);
	int64_t last = 0;

	if (!ddns_name_in_zone(fqdn, b->z->name) || hl <= b->zlen + 1 ||
	    ddns_host_get(b->t, fqdn, &h) != 0 || h.zone_id != b->z->id ||
	    (h.flags & (DDNS_HOST_ABUSE | DDNS_HOST_BLOCKED)) ||
	    ddns_challenge_live(b->t, &h, b->now, &c) != 0)
		return 0;
	for (unsigned i = 0; i < c.n; i++)
		if (c.v[i].expires > last)
			last = c.v[i].expires;
	if (last < b->c->valid_until)
		b->c->valid_until = last;
	memcpy(rel, DDNS_CHALLENGE_NAME, DDNS_CHALLENGE_NAME_LEN);
	memcpy(rel + DDNS_CHALLENGE_NAME_LEN, fqdn, hl - b->zlen - 1);
	rel[DDNS_CHALLENGE_NAME_LEN + hl - b->zlen - 1] = '\0';
	return chain_add(b->c, rel);
}

static int ent_cmp(const void *a, const void *b, void *arg)
{
	const struct ent *x = a, *y = b;
	const unsigned char *blob = arg;

	return key_cmp(blob + x->key, x->klen, blob + y->key, y->klen);
}

/* The chain of zone Z read through T, sorted, into *OUT. */
static int chain_build(ddns_txn *t, const struct ddns_zone *z,
		       struct chain **out)
{
	struct chain *c = calloc(1, sizeof *c);
	struct build b = {c, t, z, strlen(z->name), (int64_t)time(NULL)};
	int rc;

	if (!c)
		return DDNS_ENOMEM;
	c->zone_id = z->id;
	c->valid_until = INT64_MAX;
	rc = chain_add(c, ""); /* the apex, first in any order */
	if (rc == 0)
		rc = ddns_host_foreach(t, z, build_cb, &b);
	if (rc == 0)
		rc = ddns_challenge_foreach(t, acme_cb, &b);
	if (rc != 0) {
		chain_free(c);
		return rc;
	}
	qsort_r(c->ent, c->n, sizeof *c->ent, ent_cmp, c->blob);
	*out = c;
	return 0;
}

/* ---- the cache kept with the state handle ----------------------------- */

static void chains_free(void *p)
{
	struct chains *cs = p;

	if (!cs)
		return;
	for (unsigned i = 0; i < CHAINS_KEPT; i++)
		chain_free(cs->c[i]);
	free(cs);
}

/* The chain of Z for T's snapshot: kept, or built and kept.  *TMP is set
 * when the chain could not be kept and must be freed by the caller. */
static int chain_get(rb_state *st, ddns_txn *t, const struct ddns_zone *z,
		     struct chain **out, struct chain **tmp)
{
	struct chains **slot = (struct chains **)rb_state_aux(st, chains_free);
	uint64_t snap = ddns_txn_snapshot(t);
	struct chains *cs;
	unsigned i;
	int rc;

	*tmp = NULL;
	if (!*slot && snap)
		*slot = calloc(1, sizeof **slot);
	cs = *slot;
	if (!cs || !snap) {
		rc = chain_build(t, z, tmp);
		*out = *tmp;
		return rc;
	}
	if (cs->snapshot != snap) {
		for (i = 0; i < CHAINS_KEPT; i++) {
			chain_free(cs->c[i]);
			cs->c[i] = NULL;
		}
		cs->snapshot = snap;
	}
	for (i = 0; i < CHAINS_KEPT; i++)
		if (cs->c[i] && cs->c[i]->zone_id == z->id)
			break;
	if (i < CHAINS_KEPT && (int64_t)time(NULL) < cs->c[i]->valid_until) {
		*out = cs->c[i];
		return 0;
	}
	if (i == CHAINS_KEPT) /* not kept: take a slot in turn */
		i = cs->next++ % CHAINS_KEPT;
	chain_free(cs->c[i]);
	cs->c[i] = NULL;
	rc = chain_build(t, z, &cs->c[i]);
	*out = cs->c[i];
	return rc;
}

int rb_chain_find(rb_state *state, ddns_txn *t, const struct ddns_zone *z,
		  const char *qname, char before[RB_CHAIN_NAME_BUF],
		  char after[RB_CHAIN_NAME_BUF])
{
	unsigned char key[KEY_MAX];
	int klen = canon_key(qname, key), rc;
	struct chain *c, *tmp;
	size_t lo, hi;

	if (klen < 0)
		return DDNS_EINVAL;
	if ((rc = chain_get(state, t, z, &c, &tmp)) != 0)
		return rc;
	/* the last entry <= qname: entry 0 (the apex, empty key) always is */
	lo = 0;
	hi = c->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ent *e = &c->ent[mid];

		if (key_cmp(c->blob + e->key, e->klen, key, (size_t)klen) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	memcpy(before, c->blob + c->ent[lo].name,
	       strlen((char *)c->blob + c->ent[lo].name) + 1);
	hi = lo + 1 < c->n ? lo + 1 : 0;
	memcpy(after, c->blob + c->ent[hi].name,
	       strlen((char *)c->blob + c->ent[hi].name) + 1);
	chain_free(tmp);
	return 0;
}
