/*
 * test_ratelimit.c -- the failed-authentication limiter: per-source and
 * per-host limits, fixed windows on an injected clock, IPv6 /64 grouping,
 * the good-source exception of the host limit, and the table caps.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ratelimit.h"

static struct ddns_addr A(const char *s) {
	struct ddns_addr a;

	memset(&a, 0, sizeof a);
	if (ddns_addr_parse(s, strlen(s), &a) != 0)
		abort();
	return a;
}

static ddns_ratelimit *
rl_new(unsigned per_source, unsigned per_host, unsigned window, unsigned cap)
{
	struct ddns_rl_conf c = {per_source, per_host, window, cap, cap};
	ddns_ratelimit *rl = ddns_rl_new(&c);

	CHECK(rl != NULL);
	if (!rl)
		exit(1);
	return rl;
}

static void test_source_window(void)
{
	ddns_ratelimit *rl = rl_new(3, 0, 60, 0);
	struct ddns_addr a = A("192.0.2.1"), b = A("192.0.2.2");

	CHECK_INT(ddns_rl_check(rl, &a, "h.example.org", 1000), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1000), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, "h.example.org", 1010), 0);
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 1010), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1020), DDNS_RL_SOURCE_REACHED);
	/* the window began with the first failure: 40 s are left */
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 1020), 40);
	CHECK_INT(ddns_rl_check(rl, &a, "x.example.org", 1059), 1);
	/* another address is not concerned */
	CHECK_INT(ddns_rl_check(rl, &b, NULL, 1020), 0);
	/* a success resets nothing */
	ddns_rl_success(rl, &a, "h.example.org", 1030);
	CHECK_INT(ddns_rl_check(rl, &a, "h.example.org", 1030), 30);
	/* over the limit further failures report nothing new */
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1031), 0);
	/* the window ends; a new one starts with the next failure */
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 1060), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1100), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1101), 0);
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 1101), 0);
	CHECK_INT(ddns_rl_failure(rl, &a, NULL, 1102), DDNS_RL_SOURCE_REACHED);
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 1102), 58);
	/* a clock that went back does not extend a window */
	CHECK_INT(ddns_rl_check(rl, &a, NULL, 500), 0);
	ddns_rl_free(rl);
}

static void test_prefix64(void)
{
	ddns_ratelimit *rl = rl_new(2, 0, 300, 0);
	struct ddns_addr a1 = A("2001:db8:1:2::1");
	struct ddns_addr a2 = A("2001:db8:1:2:ffff:ffff:ffff:ffff");
	struct ddns_addr b = A("2001:db8:1:3::1");
	struct ddns_addr v4 = A("192.0.2.7"), v4b = A("192.0.2.8");
	struct ddns_addr none;

	CHECK_INT(ddns_rl_failure(rl, &a1, NULL, 10), 0);
	CHECK_INT(ddns_rl_failure(rl, &a2, NULL, 11), DDNS_RL_SOURCE_REACHED);
	CHECK_INT(ddns_rl_check(rl, &a1, NULL, 12), 298);
	CHECK_INT(ddns_rl_check(rl, &a2, NULL, 12), 298);
	CHECK_INT(ddns_rl_check(rl, &b, NULL, 12), 0);
	CHECK_INT(ddns_rl_nsources(rl), 1);
	/* IPv4 is per address */
	ddns_rl_failure(rl, &v4, NULL, 12);
	ddns_rl_failure(rl, &v4, NULL, 12);
	CHECK(ddns_rl_check(rl, &v4, NULL, 13) > 0);
	CHECK_INT(ddns_rl_check(rl, &v4b, NULL, 13), 0);
	/* an unknown source is not limited and not stored */
	memset(&none, 0, sizeof none);
	CHECK_INT(ddns_rl_failure(rl, &none, NULL, 13), 0);
	CHECK_INT(ddns_rl_failure(rl, NULL, NULL, 13), 0);
	CHECK_INT(ddns_rl_check(rl, &none, NULL, 13), 0);
	CHECK_INT(ddns_rl_nsources(rl), 2);
	ddns_rl_free(rl);
}

static void test_host_limit(void)
{
	ddns_ratelimit *rl = rl_new(100, 3, 300, 0);
	struct ddns_addr good = A("198.51.100.1"), good6 = A("2001:db8::1");
	struct ddns_addr fresh = A("198.51.100.99");
	const char *h = "h.example.org";
	char a[32];

	ddns_rl_success(rl, &good, h, 0);
	ddns_rl_success(rl, &good6, h, 5);
	for (int i = 0; i < 3; i++) {
		struct ddns_addr x;

		snprintf(a, sizeof a, "203.0.113.%d", i + 1);
		x = A(a);
		CHECK_INT(ddns_rl_check(rl, &x, h, 10), 0);
		CHECK_INT(ddns_rl_failure(rl, &x, h, 10 + i),
			  i == 2 ? DDNS_RL_HOST_REACHED : 0);
	}
	/* a new source is refused for that host, not for another one */
	CHECK_INT(ddns_rl_check(rl, &fresh, h, 20), 290);
	CHECK_INT(ddns_rl_check(rl, &fresh, "other.example.org", 20), 0);
	CHECK_INT(ddns_rl_check(rl, &fresh, NULL, 20), 0);
	/* sources that authenticated for it before still get through,
	 * an IPv6 one by its /64 */
	CHECK_INT(ddns_rl_check(rl, &good, h, 20), 0);
	{
		struct ddns_addr same64 = A("2001:db8::abcd");
		CHECK_INT(ddns_rl_check(rl, &same64, h, 20), 0);
	}
	/* ... but only for DDNS_RL_GOOD_TTL */
	ddns_rl_failure(rl, &fresh, h, DDNS_RL_GOOD_TTL);
	ddns_rl_failure(rl, &fresh, h, DDNS_RL_GOOD_TTL);
	ddns_rl_failure(rl, &fresh, h, DDNS_RL_GOOD_TTL);
	CHECK(ddns_rl_check(rl, &good, h, DDNS_RL_GOOD_TTL) > 0);
	ddns_rl_free(rl);
}

/* The good set keeps the last DDNS_RL_GOOD_MAX distinct sources. */
static void test_good_set(void)
{
	ddns_ratelimit *rl = rl_new(100, 1, 300, 0);
	const char *h = "h.example.org";
	struct ddns_addr x = A("203.0.113.1");
	char a[32];

	for (int i = 0; i <= DDNS_RL_GOOD_MAX; i++) {
		struct ddns_addr g;

		snprintf(a, sizeof a, "198.51.100.%d", i + 1);
		g = A(a);
		ddns_rl_success(rl, &g, h, i);
		ddns_rl_success(rl, &g, h, i); /* a repeat takes no slot */
	}
	ddns_rl_failure(rl, &x, h, 10);
	for (int i = 0; i <= DDNS_RL_GOOD_MAX; i++) {
		struct ddns_addr g;

		snprintf(a, sizeof a, "198.51.100.%d", i + 1);
		g = A(a);
		/* the oldest (i == 0) was replaced */
		CHECK_INT(ddns_rl_check(rl, &g, h, 11) == 0, i != 0);
	}
	CHECK_INT(ddns_rl_nhosts(rl), 1);
	ddns_rl_free(rl);
}

/* A spray of sources cannot grow the table, nor flush a blocked entry. */
static void test_caps(void)
{
	ddns_ratelimit *rl = rl_new(3, 3, 300, 64);
	struct ddns_addr bad = A("192.0.2.66");
	char name[64];

	for (int i = 0; i < 3; i++)
		ddns_rl_failure(rl, &bad, "victim.example.org", 1);
	CHECK(ddns_rl_check(rl, &bad, NULL, 2) > 0);
	for (uint32_t i = 0; i < 100000; i++) {
		struct ddns_addr a = {.family = AF_INET6};

		a.u.v6.s6_addr[0] = 0x20;
		a.u.v6.s6_addr[1] = 0x01;
		memcpy(a.u.v6.s6_addr + 4, &i, sizeof i);
		ddns_rl_failure(rl, &a, NULL, 2);
		snprintf(name, sizeof name, "h%u.example.org", (unsigned)i);
		ddns_rl_success(rl, &a, name, 2);
	}
	CHECK(ddns_rl_nsources(rl) <= 64);
	CHECK(ddns_rl_nhosts(rl) <= 64);
	CHECK(ddns_rl_nsources(rl) >= 8);
	CHECK(ddns_rl_check(rl, &bad, NULL, 3) > 0);
	{
		struct ddns_addr other = A("192.0.2.67");
		CHECK(ddns_rl_check(rl, &other, "victim.example.org", 3) > 0);
	}
	/* a tiny cap still works: one bucket */
	ddns_rl_free(rl);
	rl = rl_new(1, 1, 10, 1);
	ddns_rl_failure(rl, &bad, NULL, 0);
	CHECK_INT(ddns_rl_check(rl, &bad, NULL, 0), 10);
	ddns_rl_free(rl);
	ddns_rl_free(NULL);
}

/* Limits of 0 mean no limit; a window of 0 is taken as 1 s. */
static void test_zero_limits(void)
{
	ddns_ratelimit *rl = rl_new(0, 0, 0, 0);
	struct ddns_addr a = A("192.0.2.1");

	for (int i = 0; i < 50; i++)
		CHECK_INT(ddns_rl_failure(rl, &a, "h.example.org", 5), 0);
	CHECK_INT(ddns_rl_check(rl, &a, "h.example.org", 5), 0);
	ddns_rl_free(rl);
}

int main(void)
{
	test_source_window();
	test_prefix64();
	test_host_limit();
	test_good_set();
	test_caps();
	test_zero_limits();
	return check_done();
}
