/*
 * ratelimit.c -- failed-authentication limits per source and per host in
 * two fixed-size, set-associative tables (see ratelimit.h).
 */
#include "ratelimit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define WAYS 8 /* entries per bucket */

/* A source: an IPv4 address or the first 64 bits of an IPv6 one. */
struct src_key {
	uint64_t bits;
	uint8_t fam; /* 4 or 6; 0 = none */
};

/* A failure window: COUNT failures since START. */
struct window {
	int64_t start;
	uint32_t count;
};

struct src_ent {
	struct src_key key; /* fam 0: slot free */
	struct window w;
};

struct good {
	struct src_key key; /* fam 0: slot free */
	int64_t when;	    /* last success */
};

struct host_ent {
	uint64_t key; /* keyed hash of the name */
	bool used;
	int64_t seen; /* last failure or success, for eviction */
	struct window w;
	struct good good[DDNS_RL_GOOD_MAX];
};

struct ddns_ratelimit {
	struct ddns_rl_conf c;
	uint64_t seed[2];
	struct src_ent *src;
	size_t src_buckets, src_used;
	struct host_ent *host;
	size_t host_buckets, host_used;
};

/* ---- hashing ---------------------------------------------------------- */

/* A 64-bit finaliser: every input bit affects every output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t hash_src(const ddns_ratelimit *rl, const struct src_key *k)
{
	return mix64(k->bits ^ rl->seed[0]) ^ mix64(k->fam ^ rl->seed[1]);
}

/* A host name, as a 64-bit key (mixed per octet, seeded). */
static uint64_t hash_name(const ddns_ratelimit *rl, const char *name)
{
	uint64_t h = rl->seed[1];

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = mix64(h ^ *p ^ rl->seed[0]);
	return h;
}

static void seed_init(uint64_t seed[2])
{
	if (getrandom(seed, 2 * sizeof seed[0], GRND_NONBLOCK) ==
	    (ssize_t)(2 * sizeof seed[0]))
		return;
	/* Without entropy the table still works; only placement is
	 * predictable. */
	seed[0] = mix64((uint64_t)time(NULL));
	seed[1] = mix64((uint64_t)getpid() ^ seed[0]);
}

/* ---- windows ---------------------------------------------------------- */

static unsigned window_len(const ddns_ratelimit *rl)
{
	return rl->c.window ? rl->c.window : 1;
}

/* Failures W holds at NOW: 0 once its window has run out. */
static uint32_t window_count(const ddns_ratelimit *rl, const struct window *w,
			     int64_t now)
{
	if (w->count == 0 || now < w->start ||
	    now - w->start >= (int64_t)window_len(rl))
		return 0;
	return w->count;
}

/* Seconds until W's window ends, at least 1. */
static unsigned window_left(const ddns_ratelimit *rl, const struct window *w,
			    int64_t now)
{
	int64_t left = w->start + (int64_t)window_len(rl) - now;

	return left < 1 ? 1 : (unsigned)left;
}

/* One more failure; true if it brings W to LIMIT. */
static bool window_add(const ddns_ratelimit *rl, struct window *w,
		       unsigned limit, int64_t now)
{
	if (window_count(rl, w, now) == 0) {
		w->start = now;
		w->count = 0;
	}
	if (w->count < UINT32_MAX)
		w->count++;
	return limit != 0 && w->count == limit;
}

/* ---- source table ----------------------------------------------------- */

static bool src_key_of(const struct ddns_addr *a, struct src_key *k)
{
	memset(k, 0, sizeof *k);
	if (a && a->family == AF_INET) {
		memcpy(&k->bits, &a->u.v4, sizeof a->u.v4);
		k->fam = 4;
	} else if (a && a->family == AF_INET6) {
		memcpy(&k->bits, a->u.v6.s6_addr, 8); /* the /64 */
		k->fam = 6;
	}
	return k->fam != 0;
}

static bool src_key_eq(const struct src_key *a, const struct src_key *b)
{
	return a->fam == b->fam && a->bits == b->bits;
}

/* Which of two occupied entries is the better victim: fewer live failures,
 * then the older window. */
static bool src_worse(const ddns_ratelimit *rl, const struct src_ent *a,
		      const struct src_ent *b, int64_t now)
{
	uint32_t ca = window_count(rl, &a->w, now);
	uint32_t cb = window_count(rl, &b->w, now);

	return ca != cb ? ca < cb : a->w.start < b->w.start;
}

/* The entry of K, or with CREATE a slot for it (reusing the least useful
 * one of its bucket when full); NULL if absent and not CREATE. */
static struct src_ent *src_get(ddns_ratelimit *rl, const struct src_key *k,
			       bool create, int64_t now)
{
	struct src_ent *b = rl->src + hash_src(rl, k) % rl->src_buckets * WAYS;
	struct src_ent *victim = NULL;

	for (int i = 0; i < WAYS; i++) {
		if (b[i].key.fam == 0) {
			if (!victim || victim->key.fam != 0)
				victim = &b[i];
		} else if (src_key_eq(&b[i].key, k)) {
			return &b[i];
		} else if (!victim || (victim->key.fam != 0 &&
				       src_worse(rl, &b[i], victim, now))) {
			victim = &b[i];
		}
	}
	if (!create)
		return NULL;
	if (victim->key.fam == 0)
		rl->src_used++;
	memset(victim, 0, sizeof *victim);
	victim->key = *k;
	return victim;
}

/* ---- host table ------------------------------------------------------- */

static bool host_worse(const ddns_ratelimit *rl, const struct host_ent *a,
		       const struct host_ent *b, int64_t now)
{
	uint32_t ca = window_count(rl, &a->w, now);
	uint32_t cb = window_count(rl, &b->w, now);

	return ca != cb ? ca < cb : a->seen < b->seen;
}

static struct host_ent *host_get(ddns_ratelimit *rl, const char *fqdn,
				 bool create, int64_t now)
{
	uint64_t key = hash_name(rl, fqdn);
	struct host_ent *b = rl->host + key % rl->host_buckets * WAYS;
	struct host_ent *victim = NULL;

	for (int i = 0; i < WAYS; i++) {
		if (!b[i].used) {
			if (!victim || victim->used)
				victim = &b[i];
		} else if (b[i].key == key) {
			return &b[i];
		} else if (!victim || (victim->used &&
				       host_worse(rl, &b[i], victim, now))) {
			victim = &b[i];
		}
	}
	if (!create)
		return NULL;
	if (!victim->used)
		rl->host_used++;
	memset(victim, 0, sizeof *victim);
	victim->key = key;
	victim->used = true;
	return victim;
}

static bool good_has(const struct host_ent *h, const struct src_key *k,
		     int64_t now)
{
	for (int i = 0; i < DDNS_RL_GOOD_MAX; i++)
		if (src_key_eq(&h->good[i].key, k) && now >= h->good[i].when &&
		    now - h->good[i].when < DDNS_RL_GOOD_TTL)
			return true;
	return false;
}

/* Remember K in H's good set: refresh it, or take a free or the oldest
 * slot. */
static void good_add(struct host_ent *h, const struct src_key *k, int64_t now)
{
	struct good *slot = &h->good[0];

	for (int i = 0; i < DDNS_RL_GOOD_MAX; i++) {
		if (src_key_eq(&h->good[i].key, k)) {
			slot = &h->good[i];
			break;
		}
		if (slot->key.fam != 0 &&
		    (h->good[i].key.fam == 0 || h->good[i].when < slot->when))
			slot = &h->good[i];
	}
	slot->key = *k;
	slot->when = now;
}

/* ---- API -------------------------------------------------------------- */

static size_t buckets(unsigned cap, unsigned dflt)
{
	size_t n = (cap ? cap : dflt) / WAYS;

	return n ? n : 1;
}

ddns_ratelimit *ddns_rl_new(const struct ddns_rl_conf *conf)
{
	ddns_ratelimit *rl = calloc(1, sizeof *rl);

	if (!rl)
		return NULL;
	rl->c = *conf;
	rl->src_buckets = buckets(conf->max_sources, DDNS_RL_SOURCES_DEFAULT);
	rl->host_buckets = buckets(conf->max_hosts, DDNS_RL_HOSTS_DEFAULT);
	rl->src = calloc(rl->src_buckets * WAYS, sizeof *rl->src);
	rl->host = calloc(rl->host_buckets * WAYS, sizeof *rl->host);
	if (!rl->src || !rl->host) {
		ddns_rl_free(rl);
		return NULL;
	}
	seed_init(rl->seed);
	return rl;
}

void ddns_rl_free(ddns_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->src);
	free(rl->host);
	free(rl);
}

unsigned ddns_rl_check(ddns_ratelimit *rl, const struct ddns_addr *src,
		       const char *fqdn, int64_t now)
{
	struct src_key k;
	bool have_src = src_key_of(src, &k);
	unsigned wait = 0;

	if (have_src && rl->c.per_source) {
		const struct src_ent *s = src_get(rl, &k, false, now);

		if (s && window_count(rl, &s->w, now) >= rl->c.per_source)
			wait = window_left(rl, &s->w, now);
	}
	if (fqdn && fqdn[0] && rl->c.per_host) {
		const struct host_ent *h = host_get(rl, fqdn, false, now);

		if (h && window_count(rl, &h->w, now) >= rl->c.per_host &&
		    !(have_src && good_has(h, &k, now))) {
			unsigned left = window_left(rl, &h->w, now);
			wait = left > wait ? left : wait;
		}
	}
	return wait;
}

int ddns_rl_failure(ddns_ratelimit *rl, const struct ddns_addr *src,
		    const char *fqdn, int64_t now)
{
	struct src_key k;
	int reached = 0;

	if (src_key_of(src, &k)) {
		struct src_ent *s = src_get(rl, &k, true, now);

		if (window_add(rl, &s->w, rl->c.per_source, now))
			reached |= DDNS_RL_SOURCE_REACHED;
	}
	if (fqdn && fqdn[0]) {
		struct host_ent *h = host_get(rl, fqdn, true, now);

		h->seen = now;
		if (window_add(rl, &h->w, rl->c.per_host, now))
			reached |= DDNS_RL_HOST_REACHED;
	}
	return reached;
}

void ddns_rl_success(ddns_ratelimit *rl, const struct ddns_addr *src,
		     const char *fqdn, int64_t now)
{
	struct src_key k;
	struct host_ent *h;

	if (!fqdn || !fqdn[0] || !src_key_of(src, &k))
		return;
	h = host_get(rl, fqdn, true, now);
	h->seen = now;
	good_add(h, &k, now);
}

size_t ddns_rl_nsources(const ddns_ratelimit *rl)
{
	return rl->src_used;
}

size_t ddns_rl_nhosts(const ddns_ratelimit *rl)
{
	return rl->host_used;
}
