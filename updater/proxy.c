/*
 * proxy.c -- the client address behind a trusted reverse proxy (see
 * proxy.h).
 */
#include "proxy.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/keyvalq_struct.h>

#include "err.h"

int ddns_proxies_init(struct ddns_proxies *out,
		      const struct ddns_conf_list *list, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof *out);
	for (unsigned i = 0; i < list->n && i < DDNS_CONF_LIST_MAX; i++) {
		if (ddns_prefix_parse(list->v[i], &out->p[i]) != 0) {
			snprintf(err, errlen,
				 "[updater] trusted_proxies: invalid address "
				 "or prefix '%s'",
				 list->v[i]);
			return DDNS_EINVAL;
		}
		out->n++;
	}
	return 0;
}

bool ddns_proxies_trusted(const struct ddns_proxies *p,
			  const struct ddns_addr *a)
{
	for (unsigned i = 0; i < p->n; i++)
		if (ddns_prefix_match(&p->p[i], a))
			return true;
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One list entry S[0..LEN) with blanks around it: a bare address only (no
 * port, no prefix, no brackets).  0 or DDNS_EBADADDR. */
static int parse_entry(const char *s, size_t len, struct ddns_addr *out)
{
	while (len > 0 && is_blank(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1]))
		len--;
	if (len == 0 || len >= DDNS_ADDR_STRLEN || memchr(s, '/', len))
		return DDNS_EBADADDR;
	return ddns_addr_parse(s, len, out);
}

/* Walk the list V right to left.  Returns 1 when an untrusted address was
 * found (in *OUT), 0 when every entry is trusted (*OUT: the leftmost), or
 * -1 for a malformed entry. */
static int xff_walk(const struct ddns_proxies *p, const char *v,
		    struct ddns_addr *out)
{
	size_t end = strlen(v), start;

	for (;;) {
		for (start = end; start > 0 && v[start - 1] != ','; start--)
			;
		if (parse_entry(v + start, end - start, out) != 0)
			return -1;
		if (!ddns_proxies_trusted(p, out))
			return 1;
		if (start == 0)
			return 0;
		end = start - 1;
	}
}

/* X-Forwarded-For, possibly split over several header lines (their
 * concatenation in order is the list). */
static int forwarded_for(const struct ddns_proxies *p,
			 const struct evkeyvalq *h, struct ddns_addr *client)
{
	const char *v[DDNS_PROXY_HEADERS_MAX];
	struct ddns_addr a;
	const struct evkeyval *kv;
	size_t n = 0;
	int rc = 0;

	for (kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
		if (strcasecmp(kv->key, "X-Forwarded-For") != 0)
			continue;
		if (n == DDNS_PROXY_HEADERS_MAX)
			return DDNS_PROXY_MALFORMED;
		v[n++] = kv->value;
	}
	if (n == 0)
		return DDNS_PROXY_DIRECT;
	while (n > 0 && (rc = xff_walk(p, v[--n], &a)) == 0)
		;
	if (rc < 0)
		return DDNS_PROXY_MALFORMED;
	*client = a; /* the first untrusted, or the leftmost entry */
	return DDNS_PROXY_FORWARDED;
}

static int real_ip(const struct evkeyvalq *h, struct ddns_addr *client)
{
	const struct evkeyval *kv, *found = NULL;
	struct ddns_addr a;

	for (kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
		if (strcasecmp(kv->key, "X-Real-IP") != 0)
			continue;
		if (found)
			return DDNS_PROXY_MALFORMED; /* which one to believe? */
		found = kv;
	}
	if (!found)
		return DDNS_PROXY_DIRECT;
	if (parse_entry(found->value, strlen(found->value), &a) != 0)
		return DDNS_PROXY_MALFORMED;
	*client = a;
	return DDNS_PROXY_FORWARDED;
}

/* True if every comma-separated entry of V is "https": a list that a
 * client could have started must not turn a plain leg into a TLS one. */
static bool all_https(const char *v)
{
	static const char https[] = "https";
	const size_t hl = sizeof https - 1;

	for (;;) {
		const char *e = strchr(v, ',');
		size_t len = e ? (size_t)(e - v) : strlen(v);

		while (len > 0 && is_blank(*v)) {
			v++;
			len--;
		}
		while (len > 0 && is_blank(v[len - 1]))
			len--;
		if (len != hl || strncasecmp(v, https, hl) != 0)
			return false;
		if (!e)
			return true;
		v = e + 1;
	}
}

static void forwarded_proto(const struct evkeyvalq *h, bool *tls)
{
	const struct evkeyval *kv;
	bool seen = false, https = true;

	for (kv = h->tqh_first; kv; kv = kv->next.tqe_next) {
		if (strcasecmp(kv->key, "X-Forwarded-Proto") != 0)
			continue;
		seen = true;
		https = https && all_https(kv->value);
	}
	if (seen)
		*tls = https;
}

int ddns_proxy_client(const struct ddns_proxies *p,
		      const struct ddns_addr *peer, const struct evkeyvalq *h,
		      struct ddns_addr *client, bool *tls)
{
	int rc;

	*client = *peer;
	if (!h || peer->family == 0 || !ddns_proxies_trusted(p, peer))
		return DDNS_PROXY_DIRECT;
	forwarded_proto(h, tls);
	rc = forwarded_for(p, h, client);
	if (rc == DDNS_PROXY_DIRECT)
		rc = real_ip(h, client);
	return rc;
}
