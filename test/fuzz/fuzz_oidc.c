/*
 * fuzz_oidc.c -- the pure parsers of the OpenID relying party
 * (updater/oidc.h): what a provider, or whoever answers in its place,
 * sends us, and the return path a browser hands back.
 *
 * Input: a mode byte (modulo 3), then
 *   0  a discovery document for issuer https://id.example.org (bit 3 of
 *      the mode byte: allow_http);
 *   1  a claims object (ID token or userinfo): ddns_oidc_map_profile and
 *      ddns_oidc_map_groups (claim "groups", admin group "admins");
 *   2  a string: ddns_oidc_safe_return, ddns_oidc_urlencode and
 *      ddns_oidc_pkce_challenge.
 */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "oidc.h"

#define ISSUER	 "https://id.example.org"
#define JSON_MAX 65536 /* discovery and userinfo replies are small */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs("fuzz_oidc");
	return 0;
}

/* S is an https URL, or http where HTTP_OK: an https issuer's endpoints
 * must be https, even on loopback.  Schemes are case-insensitive (RFC 3986
 * 3.1), so an oracle must not refuse "HTTPS://". */
static bool is_url(const char *s, bool http_ok)
{
	return strncasecmp(s, "https://", 8) == 0 ||
	       (http_ok && strncasecmp(s, "http://", 7) == 0);
}

static void mode_discovery(const uint8_t *data, size_t size, bool allow_http)
{
	struct ddns_oidc_discovery *d = malloc(sizeof *d);
	const char *why = NULL;
	int rc;

	if (!d)
		abort();
	rc = ddns_oidc_discovery_parse((const char *)data, size, ISSUER,
				       allow_http, d, &why);
	fuzz_show("discovery: %s", why ? why : "ok");
	if (rc == 0) {
		FUZZ_CHECK(why == NULL && strcmp(d->issuer, ISSUER) == 0);
		/* the issuer is https, so every endpoint must be, unless
		 * plain http was allowed */
		FUZZ_CHECK(is_url(d->authorization_endpoint, allow_http));
		FUZZ_CHECK(is_url(d->token_endpoint, allow_http));
		FUZZ_CHECK(is_url(d->jwks_uri, allow_http));
		FUZZ_CHECK(d->userinfo_endpoint[0] == '\0' ||
			   is_url(d->userinfo_endpoint, allow_http));
	} else {
		FUZZ_CHECK(rc == DDNS_OIDC_EDISCOVERY && why && why[0]);
	}
	free(d);
}

/* S is UTF-8 (any code point, shortest form) without C0 controls or
 * DEL: what oidc.h promises of a mapped text. */
static bool clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80		      ? 1
			   : *p >= 0xc2 && *p <= 0xdf ? 2
			   : *p >= 0xe0 && *p <= 0xef ? 3
			   : *p >= 0xf0 && *p <= 0xf4 ? 4
						      : 0;
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static void mode_claims(const uint8_t *data, size_t size)
{
	struct ddns_oidc_identity *id = calloc(1, sizeof *id);
	json_t *c = json_loadb((const char *)data, size, 0, NULL);
	unsigned n;

	if (!id)
		abort();
	if (json_is_object(c)) {
		ddns_oidc_map_profile(c, id);
		n = ddns_oidc_map_groups(c, "groups", "admins", id);
		fuzz_show("name '%s' user '%s' email '%s' groups %u admin %d",
			  id->name, id->username, id->email, n, id->admin);
		FUZZ_CHECK(n == id->n_groups && n <= DDNS_GROUPS_MAX);
		FUZZ_CHECK(clean_utf8(id->name) && clean_utf8(id->username) &&
			   clean_utf8(id->email));
		FUZZ_CHECK(!id->email_verified || strchr(id->email, '@'));
		for (unsigned i = 0; i < n; i++) {
			FUZZ_CHECK(id->groups[i][0] != '\0' &&
				   clean_utf8(id->groups[i]));
			for (unsigned k = 0; k < i; k++)
				FUZZ_CHECK(
				    strcmp(id->groups[i], id->groups[k]) != 0);
		}
		if (id->admin) {
			bool found = false;
			for (unsigned i = 0; i < n; i++)
				found |= strcmp(id->groups[i], "admins") == 0;
			FUZZ_CHECK(found);
		}
	}
	json_decref(c);
	free(id);
}

static void mode_string(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size), out[DDNS_OIDC_RAND_BUF];
	const char *r = ddns_oidc_safe_return(s);
	struct ddns_buf b = {0};

	fuzz_show("return to %s", r);
	FUZZ_CHECK(r == s || strcmp(r, "/") == 0);
	FUZZ_CHECK(r[0] == '/' && r[1] != '/' && !strchr(r, '\\'));
	FUZZ_CHECK(ddns_oidc_urlencode(&b, s) == 0);
	if (b.len > 0)
		FUZZ_CHECK(strspn(b.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "abcdefghijklmnopqrstuvwxyz"
					  "0123456789-._~%") == b.len);
	FUZZ_CHECK(b.len >= strlen(s) && b.len <= 3 * strlen(s));
	FUZZ_CHECK(ddns_oidc_pkce_challenge((const char *)data, size, out) ==
		   0);
	FUZZ_CHECK(strlen(out) == 43);
	ddns_buf_free(&b);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size - 1 > JSON_MAX)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_discovery(data + 1, size - 1, data[0] & 8);
		break;
	case 1:
		mode_claims(data + 1, size - 1);
		break;
	default:
		mode_string(data + 1, size - 1);
		break;
	}
	return 0;
}
