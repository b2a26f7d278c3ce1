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
	CHECK_INT(ddns_name_normalize_wild("a.*.example", 11, out),
		  DDNS_EBADNAME);
	CHECK_INT(ddns_name_normalize_wild("*", 1, out), DDNS_EBADNAME);
}

static bool normal(const char *s)
{
	return ddns_name_is_normal(s, strlen(s));
}

/* The byte check of the normalised form (no case folding, no dot, no
 * IDNA): what the store and the tools check stored names with. */
static void test_is_normal(void)
{
	char big[300];

	CHECK(normal("host.dyn.example.org"));
	CHECK(normal("a-b.c0"));
	CHECK(normal("xn--mnchen-3ya.example"));
	CHECK(normal("a"));
	CHECK(!normal(""));
	CHECK(!normal("Host.example"));	 /* not lower-cased */
	CHECK(!normal("host.example.")); /* trailing dot */
	CHECK(!normal("a..b"));
	CHECK(!normal(".a"));
	CHECK(!normal("-a.b"));
	CHECK(!normal("a-.b"));
	CHECK(!normal("a.b-"));
	CHECK(!normal("a_b.c"));
	CHECK(!normal("*.a.b"));
	CHECK(!normal("m\xc3\xbcnchen.example"));
	CHECK(!ddns_name_is_normal("a\0b", 3));
	CHECK(!ddns_name_is_normal(NULL, 0));
	CHECK(ddns_name_is_normal("ab.c", 2)); /* LEN counts, not the NUL */
	memset(big, 'a', 63);
	big[63] = '\0';
	CHECK(normal(big));
	memset(big, 'a', 64);
	big[64] = '\0';
	CHECK(!normal(big));
	for (int i = 0; i < 4; i++) {
		memset(big + i * 64, 'a', 63);
		big[i * 64 + 63] = '.';
	}
	big[251] = '.';
	big[252] = 'b';
	big[253] = '\0';
	CHECK(normal(big));
	big[253] = 'c';
	big[254] = '\0';
	CHECK(!normal(big));
}

static const char *why(const char *in)
{
	static char buf[128];

	return ddns_name_why_invalid(in, strlen(in), buf, sizeof buf);
}

/* The reason given is the check that failed. */
static void test_why_invalid(void)
{
	static const char *const valid[] = {"Host.Dyn.Example.ORG.", "a",
					    "m\xc3\xbcnchen.example",
					    "xn--mnchen-3ya.example"};
	static const char *const invalid[] = {
	    "", ".", "a..b", "a_b.c", "-a.b", "*.a.b", "\xff\xfe.example"};
	char out[DDNS_NAME_BUF], small[8], big[300];

	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
		CHECK(why(valid[i]) == NULL);
	/* it agrees with ddns_name_normalize on every input */
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		CHECK(norm(invalid[i], out) != 0);
		CHECK(why(invalid[i]) != NULL);
	}
	CHECK_STR(why(""), "empty name");
	CHECK_STR(why("."), "empty name");
	CHECK_STR(why("a..b"), "empty label");
	CHECK_STR(why(".a"), "empty label");
	CHECK_STR(why("-a.b"), "label begins or ends with a hyphen");
	CHECK_STR(why("a.b-."), "label begins or ends with a hyphen");
	CHECK_STR(why("a_b.c"),
		  "bad character '_' (letters, digits and hyphens only)");
	CHECK_STR(why("*.a"),
		  "bad character '*' (letters, digits and hyphens only)");
	CHECK_STR(why("a b"),
		  "bad character 0x20 (letters, digits and hyphens only)");
	CHECK(strncmp(why("\xff\xfe.example"), "not a valid international",
		      25) == 0);
	CHECK_STR(ddns_name_why_invalid("a\0b", 3, small, sizeof small),
		  "bad cha"); /* cut to fit */
	memset(big, 'a', 64);
	big[64] = '\0';
	CHECK_STR(why(big), "label longer than 63 octets");
	memset(big, 'a', 299);
	big[299] = '\0';
	CHECK_STR(why(big), "name longer than 253 octets");
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
	/* Found by fuzzing: keys that reverse into something not a name. */
	CHECK_INT(ddns_name_from_key("\x1e.", 2, back), DDNS_ECORRUPT);
	CHECK_INT(ddns_name_from_key("org.", 4, back), DDNS_ECORRUPT);
	CHECK_INT(ddns_name_from_key(".org", 4, back), DDNS_ECORRUPT);
	CHECK_INT(ddns_name_from_key("org..a", 6, back), DDNS_ECORRUPT);
	CHECK_INT(ddns_name_from_key("org.Ex", 6, back), DDNS_ECORRUPT);
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
	test_is_normal();
	test_why_invalid();
	test_relations();
	test_key();
	test_mailbox();
	return check_done();
}
