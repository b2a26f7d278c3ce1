#include "names.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Check a lower-case ASCII name: labels 1..63 of letters, digits and
 * hyphens, no hyphen at either end of a label, at most 253 octets. */
static int check_hostname(const char *s, size_t len, bool allow_wild)
{
	size_t label = 0;

	if (len == 0)
		return DDNS_EBADNAME;
	if (len > DDNS_NAME_MAX)
		return DDNS_ETOOBIG;
	if (allow_wild && len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > DDNS_LABEL_MAX)
				return DDNS_EBADNAME;
			if (s[i - 1] == '-' || s[i - label] == '-')
				return DDNS_EBADNAME;
			label = 0;
			continue;
		}
		if (!is_ldh((unsigned char)s[i]))
			return DDNS_EBADNAME;
		label++;
	}
	return 0;
}

/* UTF-8 (non-ASCII) input through IDNA2008 into A-labels. */
static int idn_to_ascii(const char *in, char out[DDNS_NAME_BUF])
{
	char *ascii = NULL;
	int rc = idn2_to_ascii_8z(in, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return DDNS_EBADNAME;
	size_t n = strlen(ascii);
	if (n > DDNS_NAME_MAX) {
		idn2_free(ascii);
		return DDNS_ETOOBIG;
	}
	memcpy(out, ascii, n + 1);
	idn2_free(ascii);
	return 0;
}

static int normalize(const char *in, size_t len, char out[DDNS_NAME_BUF],
		     bool allow_wild)
{
	char tmp[4 * DDNS_NAME_BUF];
	bool ascii = true;
	int rc;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return DDNS_EBADNAME;
	/* UTF-8 of a 253-octet A-label name fits in 4 * 256 bytes. */
	if (len >= sizeof tmp)
		return DDNS_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == 0)
			return DDNS_EBADNAME;
		if (c >= 0x80)
			ascii = false;
		tmp[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	tmp[len] = '\0';
	if (!ascii) {
		char conv[DDNS_NAME_BUF];
		if ((rc = idn_to_ascii(tmp, conv)) != 0)
			return rc;
		len = strlen(conv);
		memcpy(tmp, conv, len + 1);
	}
	if ((rc = check_hostname(tmp, len, allow_wild)) != 0)
		return rc;
	memcpy(out, tmp, len + 1);
	return 0;
}

int ddns_name_normalize(const char *in, size_t len, char out[DDNS_NAME_BUF])
{
	return normalize(in, len, out, false);
}

int ddns_name_normalize_wild(const char *in, size_t len,
			     char out[DDNS_NAME_BUF])
{
	return normalize(in, len, out, true);
}

bool ddns_name_below(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);
	return n > z + 1 && name[n - z - 1] == '.' &&
	       memcmp(name + n - z, zone, z) == 0;
}

bool ddns_name_in_zone(const char *name, const char *zone)
{
	return strcmp(name, zone) == 0 || ddns_name_below(name, zone);
}

const char *ddns_name_parent(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? dot + 1 : NULL;
}

size_t ddns_name_key(const char *name, char out[DDNS_NAME_BUF])
{
	size_t n = strlen(name), o = 0;
	size_t end = n;

	/* Walk labels from the right, copying each in order. */
	while (end > 0) {
		size_t start = end;
		while (start > 0 && name[start - 1] != '.')
			start--;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, name + start, end - start);
		o += end - start;
		end = start > 0 ? start - 1 : 0;
	}
	out[o] = '\0';
	return o;
}

int ddns_name_from_key(const char *key, size_t len, char out[DDNS_NAME_BUF])
{
	char tmp[DDNS_NAME_BUF];

	if (len == 0 || len > DDNS_NAME_MAX)
		return DDNS_ECORRUPT;
	memcpy(tmp, key, len);
	tmp[len] = '\0';
	if (memchr(tmp, '\0', len))
		return DDNS_ECORRUPT;
	/* Reversing the labels is its own inverse. */
	return (int)ddns_name_key(tmp, out);
}

int ddns_mailbox_to_rname(const char *in, char out[DDNS_NAME_BUF])
{
	const char *at = strchr(in, '@');
	char domain[DDNS_NAME_BUF];
	size_t local_len, dlen;
	size_t o = 0;

	if (!at)
		return ddns_name_normalize(in, strlen(in), out);
	local_len = (size_t)(at - in);
	if (local_len == 0 || local_len > DDNS_LABEL_MAX)
		return DDNS_EBADNAME;
	if (ddns_name_normalize(at + 1, strlen(at + 1), domain) != 0)
		return DDNS_EBADNAME;
	dlen = strlen(domain);
	/* Dots in the local part are escaped so they stay one label. */
	for (size_t i = 0; i < local_len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (!(is_ldh(c) || (c >= 'A' && c <= 'Z') || c == '.' ||
		      c == '_' || c == '+'))
			return DDNS_EBADNAME;
		if (o + 3 + dlen >= DDNS_NAME_MAX)
			return DDNS_EBADNAME;
		if (c == '.')
			out[o++] = '\\';
		out[o++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
	}
	out[o++] = '.';
	memcpy(out + o, domain, dlen + 1);
	return 0;
}
