/*
 * fuzz_addr.c -- address parsing (shared/addr.c): ddns_addr_parse on the
 * raw bytes, ddns_hostport_parse and ddns_prefix_parse on them as a C
 * string, with the round trips that must hold (an address prints and
 * parses back to itself; a prefix contains its own address; a listen
 * address converts back from its sockaddr).
 */
#include "fuzz.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

static void check_addr(const struct ddns_addr *a)
{
	char text[DDNS_ADDR_STRLEN];
	struct ddns_addr back;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

	FUZZ_CHECK(a->family == AF_INET || a->family == AF_INET6);
	if (a->family == AF_INET) {
		uint32_t v = ntohl(a->u.v4.s_addr);
		FUZZ_CHECK(v != 0 && (v >> 28) != 0xe);
	} else {
		FUZZ_CHECK(!IN6_IS_ADDR_UNSPECIFIED(&a->u.v6) &&
			   !IN6_IS_ADDR_MULTICAST(&a->u.v6) &&
			   memcmp(a->u.v6.s6_addr, mapped, 12) != 0);
	}
	ddns_addr_format(a, text, sizeof text);
	FUZZ_CHECK(text[0] != '\0');
	FUZZ_CHECK(ddns_addr_parse(text, strlen(text), &back) == 0);
	FUZZ_CHECK(ddns_addr_equal(a, &back));
}

static void check_hostport(const struct sockaddr_storage *ss, socklen_t len)
{
	struct ddns_addr a;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		FUZZ_CHECK(len == sizeof *sin && sin->sin_port != 0);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		FUZZ_CHECK(ss->ss_family == AF_INET6);
		FUZZ_CHECK(len == sizeof *sin6 && sin6->sin6_port != 0);
	}
	FUZZ_CHECK(ddns_addr_from_sockaddr((const struct sockaddr *)ss, &a) ==
		   0);
	FUZZ_CHECK(a.family == AF_INET || a.family == AF_INET6);
}

static void check_prefix(const struct ddns_prefix *p, const struct ddns_addr *a)
{
	struct ddns_prefix all = *p;

	FUZZ_CHECK(p->len <= (p->addr.family == AF_INET ? 32u : 128u));
	FUZZ_CHECK(ddns_prefix_match(p, &p->addr));
	all.len = 0;
	if (a->family == p->addr.family)
		FUZZ_CHECK(ddns_prefix_match(&all, a));
	else if (a->family != 0)
		FUZZ_CHECK(!ddns_prefix_match(p, a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddns_addr a;
	struct sockaddr_storage ss;
	struct ddns_prefix p;
	socklen_t sslen = 0;
	char *s;

	memset(&a, 0, sizeof a);
	if (ddns_addr_parse((const char *)data, size, &a) == 0)
		check_addr(&a);
	else
		memset(&a, 0, sizeof a);
	s = fuzz_strndup(data, size);
	if (ddns_hostport_parse(s, &ss, &sslen) == 0)
		check_hostport(&ss, sslen);
	if (ddns_prefix_parse(s, &p) == 0)
		check_prefix(&p, &a);
	free(s);
	return 0;
}
