#include <string.h>

#include "check.h"
#include "err.h"
#include "names.h"

static int norm(const char *in, char *out)
{
	return ddns_name_normalize(in, strlen(in), out);
}

static void test_normalize(void)
{
	char out[DDNS_NAME_BUF], big[300];

	CHECK_INT(norm("Host.Dyn.Example.ORG.", out), 0);
	CHECK_STR(out, "host.dyn.example.org");
	CHECK_INT(norm("a-b.c0", out), 0);
	CHECK_INT(norm("xn--mnchen-3ya.example", out), 0);
	/* UTF-8 becomes an A-label. */
	CHECK_INT(norm("m\xc3\xbcnchen.example", out), 0);
	CHECK_STR(out, "xn--mnchen-3ya.example");

	CHECK_INT(norm("", out), DDNS_EBADNAME);
	CHECK_INT(norm(".", out), DDNS_EBADNAME);
	CHECK_INT(norm("a..b", out), DDNS_EBADNAME);
	CHECK_INT(norm(".a.b", out), DDNS_EBADNAME);
	CHECK_INT(norm("a_b.example", out), DDNS_EBADNAME);
	CHECK_INT(norm("-a.example", out), DDNS_EBADNAME);
	CHECK_INT(norm("a-.example", out), DDNS_EBADNAME);
	CHECK_INT(norm("a b.example", out), DDNS_EBADNAME);
	CHECK_INT(norm("*.a.example", out), DDNS_EBADNAME);
	CHECK_INT(ddns_name_normalize("a\0b.example", 11, out), DDNS_EBADNAME);
	CHECK_INT(norm("\xff\xfe.example", out), DDNS_EBADNAME);

	/* 63-octet label passes, 64 fails. */
	memset(big, 'a', 63);
	strcpy(big + 63, ".example");
	CHECK_INT(norm(big, out), 0);
	memset(big, 'a', 64);
	strcpy(big + 64, ".example");
	CHECK_INT(norm(big, out), DDNS_EBADNAME);

	/* 253 octets pass, 254 fail. */
	for (int i = 0; i < 4; i++) {
		memset(big + i * 64, 'a', 63);
		big[i * 64 + 63] = '.';
	}
	big[253] = '\0';
	big[252] = 'b';
	big[251] = '.';
	CHECK_INT((int)strlen(big), 253);
	CHECK_INT(norm(big, out), 0);
	big[253] = 'c';
	big[254] = '\0';
	CHECK(norm(big, out) != 0);
}

static void test_wild(void)
{
	char out[DDNS_NAME_BUF];
	CHECK_INT(ddns_name_normalize_wild("*.H.example", 11, out), 0);
	CHECK_STR(out, "*.h.example");
	CHECK_INT(ddns_name_normalize_wild("a.*.example", 11, out), DDNS_EBADNAME);
	CHECK_INT(ddns_name_normalize_wild("*", 1, out), DDNS_EBADNAME);
}

static void test_relations(void)
{
	CHECK(ddns_name_below("h.dyn.example.org", "dyn.example.org"));
	CHECK(!ddns_name_below("dyn.example.org", "dyn.example.org"));
	CHECK(!ddns_name_below("hdyn.example.org", "dyn.example.org"));
	CHECK(ddns_name_in_zone("dyn.example.org", "dyn.example.org"));
	CHECK(!ddns_name_in_zone("example.org", "dyn.example.org"));
	CHECK_STR(ddns_name_parent("a.b.c"), "b.c");
	CHECK(ddns_name_parent("c") == NULL);
}

static void test_key(void)
{
	char key[DDNS_NAME_BUF], back[DDNS_NAME_BUF];

	CHECK_INT((int)ddns_name_key("host.dyn.example.org", key), 20);
	CHECK_STR(key, "org.example.dyn.host");
	CHECK_INT(ddns_name_from_key(key, strlen(key), back), 20);
	CHECK_STR(back, "host.dyn.example.org");
	ddns_name_key("single", key);
	CHECK_STR(key, "single");
	CHECK_INT(ddns_name_from_key("", 0, back), DDNS_ECORRUPT);
	CHECK_INT(ddns_name_from_key("a\0b", 3, back), DDNS_ECORRUPT);
}

static void test_mailbox(void)
{
	char out[DDNS_NAME_BUF];
	CHECK_INT(ddns_mailbox_to_rname("hostmaster@Example.org", out), 0);
	CHECK_STR(out, "hostmaster.example.org");
	CHECK_INT(ddns_mailbox_to_rname("first.last@example.org", out), 0);
	CHECK_STR(out, "first\\.last.example.org");
	CHECK_INT(ddns_mailbox_to_rname("hostmaster.example.org", out), 0);
	CHECK_STR(out, "hostmaster.example.org");
	CHECK_INT(ddns_mailbox_to_rname("@example.org", out), DDNS_EBADNAME);
	CHECK_INT(ddns_mailbox_to_rname("a b@example.org", out), DDNS_EBADNAME);
	CHECK_INT(ddns_mailbox_to_rname("a@bad_domain", out), DDNS_EBADNAME);
}

int main(void)
{
	test_normalize();
	test_wild();
	test_relations();
	test_key();
	test_mailbox();
	return check_done();
}
