#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include "err.h"

static const char *roundtrip(const char *in)
{
	static char buf[DDNS_ADDR_STRLEN];
	struct ddns_addr a;
	if (ddns_addr_parse(in, strlen(in), &a) != 0)
		return "ERR";
	return ddns_addr_format(&a, buf, sizeof buf);
}

static void test_parse(void)
{
	CHECK_STR(roundtrip("192.0.2.1"), "192.0.2.1");
	CHECK_STR(roundtrip("2001:DB8::1"), "2001:db8::1");
	CHECK_STR(roundtrip("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
	CHECK_STR(roundtrip("2001:db8:1:2::/56"), "2001:db8:1:2::");
	CHECK_STR(roundtrip("192.0.2.1/32"), "192.0.2.1");
	CHECK_STR(roundtrip("::ffff:192.0.2.7"), "192.0.2.7");
	CHECK_STR(roundtrip("127.0.0.1"), "127.0.0.1");
	CHECK_STR(roundtrip("::1"), "::1");

	const char *bad[] = {"", "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4 ",
			     " 1.2.3.4", "::g", "0.0.0.0", "::", "224.0.0.1",
			     "ff02::1", "1.2.3.4/", "1.2.3.4/129", "1.2.3.4/33", "1.2.3.4/x",
			     "1.2.3.4/1/2", "example.org", "1.2.3.4.5",
			     "2001:db8::1%eth0"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (strcmp(roundtrip(bad[i]), "ERR") != 0)
			fprintf(stderr, "accepted bad address \"%s\"\n", bad[i]);
		CHECK_STR(roundtrip(bad[i]), "ERR");
	}
	struct ddns_addr a;
	CHECK_INT(ddns_addr_parse("1.2.3.4\0", 8, &a), DDNS_EBADADDR);
}

static void test_sockaddr(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct ddns_addr a, b;
	char buf[DDNS_ADDR_STRLEN];

	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	CHECK_INT(ddns_addr_from_sockaddr((struct sockaddr *)&sin6, &a), 0);
	CHECK_INT(a.family, AF_INET);
	CHECK_STR(ddns_addr_format(&a, buf, sizeof buf), "127.0.0.1");
	ddns_addr_parse("127.0.0.1", 9, &b);
	CHECK(ddns_addr_equal(&a, &b));
	ddns_addr_parse("127.0.0.2", 9, &b);
	CHECK(!ddns_addr_equal(&a, &b));
}

static void test_hostport(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	CHECK_INT(ddns_hostport_parse("127.0.0.1:8080", &ss, &len), 0);
	CHECK_INT(ss.ss_family, AF_INET);
	CHECK_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	CHECK_INT(ddns_hostport_parse("[::1]:8080", &ss, &len), 0);
	CHECK_INT(ss.ss_family, AF_INET6);
	CHECK_INT(ddns_hostport_parse("::1:8080", &ss, &len), DDNS_EINVAL);
	CHECK_INT(ddns_hostport_parse("127.0.0.1", &ss, &len), DDNS_EINVAL);
	CHECK_INT(ddns_hostport_parse("127.0.0.1:0", &ss, &len), DDNS_EINVAL);
	CHECK_INT(ddns_hostport_parse("127.0.0.1:65536", &ss, &len), DDNS_EINVAL);
	CHECK_INT(ddns_hostport_parse("localhost:80", &ss, &len), DDNS_EINVAL);
	CHECK_INT(ddns_hostport_parse("[::1]8080", &ss, &len), DDNS_EINVAL);
}

static void test_prefix(void)
{
	struct ddns_prefix p;
	struct ddns_addr a;
	CHECK_INT(ddns_prefix_parse("10.0.0.0/8", &p), 0);
	ddns_addr_parse("10.1.2.3", 8, &a);
	CHECK(ddns_prefix_match(&p, &a));
	ddns_addr_parse("11.1.2.3", 8, &a);
	CHECK(!ddns_prefix_match(&p, &a));
	CHECK_INT(ddns_prefix_parse("2001:db8::/33", &p), 0);
	ddns_addr_parse("2001:db8:7fff::1", 16, &a);
	CHECK(ddns_prefix_match(&p, &a));
	ddns_addr_parse("2001:db8:8000::1", 16, &a);
	CHECK(!ddns_prefix_match(&p, &a));
	CHECK_INT(ddns_prefix_parse("127.0.0.1", &p), 0);
	CHECK_INT((int)p.len, 32);
	CHECK_INT(ddns_prefix_parse("10.0.0.0/33", &p), DDNS_EINVAL);
	CHECK_INT(ddns_prefix_parse("nope", &p), DDNS_EINVAL);
}

int main(void)
{
	test_parse();
	test_sockaddr();
	test_hostport();
	test_prefix();
	return check_done();
}
