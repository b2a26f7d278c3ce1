#include "addr.h"

#include <arpa/inet.h>
#include <string.h>

#include "conf.h"
#include "err.h"

static bool v6_is_mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(a->s6_addr, prefix, 12) == 0;
}

static void unmap(struct ddns_addr *a)
{
	if (a->family == AF_INET6 && v6_is_mapped(&a->u.v6)) {
		struct in_addr v4;
		memcpy(&v4, a->u.v6.s6_addr + 12, 4);
		a->family = AF_INET;
		a->u.v4 = v4;
	}
}

static bool usable(const struct ddns_addr *a)
{
	if (a->family == AF_INET) {
		uint32_t v = ntohl(a->u.v4.s_addr);
		return v != 0 && (v >> 28) != 0xe; /* 0.0.0.0, 224/4 */
	}
	return !IN6_IS_ADDR_UNSPECIFIED(&a->u.v6) &&
	       !IN6_IS_ADDR_MULTICAST(&a->u.v6);
}

int ddns_addr_parse(const char *s, size_t len, struct ddns_addr *out)
{
	char tmp[DDNS_ADDR_STRLEN];
	struct ddns_addr a;
	const char *slash = memchr(s, '/', len);
	uint64_t plen = 0;

	if (slash) {
		char pbuf[4];
		size_t n = len - (size_t)(slash - s) - 1;
		if (n == 0 || n >= sizeof pbuf)
			return DDNS_EBADADDR;
		memcpy(pbuf, slash + 1, n);
		pbuf[n] = '\0';
		if (ddns_parse_uint(pbuf, 0, 128, &plen) != 0)
			return DDNS_EBADADDR;
		len = (size_t)(slash - s);
	}
	if (len == 0 || len >= sizeof tmp || memchr(s, '\0', len))
		return DDNS_EBADADDR;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(&a, 0, sizeof a);
	if (inet_pton(AF_INET, tmp, &a.u.v4) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, &a.u.v6) == 1)
		a.family = AF_INET6;
	else
		return DDNS_EBADADDR;
	/* The prefix length must fit the family as written. */
	if (slash && a.family == AF_INET && plen > 32)
		return DDNS_EBADADDR;
	unmap(&a);
	if (!usable(&a))
		return DDNS_EBADADDR;
	*out = a;
	return 0;
}

const char *ddns_addr_format(const struct ddns_addr *a, char *buf, size_t len)
{
	if (!a || (a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, &a->u, buf, (socklen_t)len)) {
		if (len > 0)
			buf[0] = '\0';
	}
	return buf;
}

int ddns_addr_from_sockaddr(const struct sockaddr *sa, struct ddns_addr *out)
{
	memset(out, 0, sizeof *out);
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		out->u.v4 = ((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		out->family = AF_INET6;
		out->u.v6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		unmap(out);
	} else {
		return DDNS_EBADADDR;
	}
	return 0;
}

bool ddns_addr_equal(const struct ddns_addr *a, const struct ddns_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	if (a->family == AF_INET6)
		return memcmp(&a->u.v6, &b->u.v6, sizeof a->u.v6) == 0;
	return true;
}

int ddns_hostport_parse(const char *s, struct sockaddr_storage *ss,
			socklen_t *sslen)
{
	char host[DDNS_ADDR_STRLEN];
	const char *colon, *hstart = s;
	size_t hlen;
	uint64_t port;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return DDNS_EINVAL;
		hstart = s + 1;
		hlen = (size_t)(close - hstart);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return DDNS_EINVAL; /* IPv6 must be bracketed */
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof host)
		return DDNS_EINVAL;
	if (ddns_parse_uint(colon + 1, 1, 65535, &port) != 0)
		return DDNS_EINVAL;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (s[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return DDNS_EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return DDNS_EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof *sin6;
	}
	return 0;
}

int ddns_prefix_parse(const char *s, struct ddns_prefix *out)
{
	char tmp[DDNS_ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t len;
	struct ddns_prefix p;

	memset(&p, 0, sizeof p);
	if (alen == 0 || alen >= sizeof tmp)
		return DDNS_EINVAL;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, &p.addr.u.v4) == 1)
		p.addr.family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, &p.addr.u.v6) == 1)
		p.addr.family = AF_INET6;
	else
		return DDNS_EINVAL;
	len = p.addr.family == AF_INET ? 32 : 128;
	if (slash && ddns_parse_uint(slash + 1, 0, len, &len) != 0)
		return DDNS_EINVAL;
	p.len = (unsigned)len;
	*out = p;
	return 0;
}

bool ddns_prefix_match(const struct ddns_prefix *p, const struct ddns_addr *a)
{
	const uint8_t *x, *y;
	unsigned full, rest;

	if (p->addr.family != a->family)
		return false;
	x = (const uint8_t *)&p->addr.u;
	y = (const uint8_t *)&a->u;
	full = p->len / 8;
	rest = p->len % 8;
	if (memcmp(x, y, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (x[full] & mask) == (y[full] & mask);
}
