#include "names.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* What is wrong with a name: one check reports it, so that the reason an
 * operator reads is the one the validator applied. */
enum name_fault {
	NF_OK = 0,
	NF_EMPTY,
	NF_LONG,
	NF_EMPTY_LABEL,
	NF_LONG_LABEL,
	NF_HYPHEN,
	NF_CHAR, /* CH holds the octet */
	NF_IDN,	 /* IDN_RC holds libidn2's code */
};

struct name_check {
	enum name_fault fault;
	unsigned char ch;
	int idn_rc;
};

/* Record fault F in NC; returns the code a caller gets for it. */
static int name_fail(struct name_check *nc, enum name_fault f, unsigned char ch)
{
	nc->fault = f;
	nc->ch = ch;
	return f == NF_LONG ? DDNS_ETOOBIG : DDNS_EBADNAME;
}

/* Check a lower-case ASCII name: labels 1..63 of letters, digits and
 * hyphens, no hyphen at either end of a label, at most 253 octets. */
static int check_name(const char *s, size_t len, bool allow_wild,
		      struct name_check *nc)
{
	size_t label = 0;

	if (len == 0)
		return name_fail(nc, NF_EMPTY, 0);
	if (len > DDNS_NAME_MAX)
		return name_fail(nc, NF_LONG, 0);
	if (allow_wild && len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_ldh((unsigned char)s[i]))
				return name_fail(nc, NF_CHAR,
						 (unsigned char)s[i]);
			label++;
			continue;
		}
		if (label == 0)
			return name_fail(nc, NF_EMPTY_LABEL, 0);
		if (label > DDNS_LABEL_MAX)
			return name_fail(nc, NF_LONG_LABEL, 0);
		if (s[i - 1] == '-' || s[i - label] == '-')
			return name_fail(nc, NF_HYPHEN, 0);
		label = 0;
	}
	return 0;
}

bool ddns_name_is_normal(const char *s, size_t len)
{
	struct name_check nc;

	return s && check_name(s, len, false, &nc) == 0;
}

/* UTF-8 (non-ASCII) input through IDNA2008 into A-labels. */
static int idn_to_ascii(const char *in, char out[DDNS_NAME_BUF],
			struct name_check *nc)
{
	char *ascii = NULL;
	int rc =
	    idn2_to_ascii_8z(in, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	size_t n;

	if (rc != IDN2_OK) {
		nc->idn_rc = rc;
		return name_fail(nc, NF_IDN, 0);
	}
	n = strlen(ascii);
	if (n > DDNS_NAME_MAX) {
		idn2_free(ascii);
		return name_fail(nc, NF_LONG, 0);
	}
	memcpy(out, ascii, n + 1);
	idn2_free(ascii);
	return 0;
}

static int normalize(const char *in, size_t len, char out[DDNS_NAME_BUF],
		     bool allow_wild, struct name_check *nc)
{
	char tmp[4 * DDNS_NAME_BUF];
	bool ascii = true;
	int rc;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0)
		return name_fail(nc, NF_EMPTY, 0);
	/* UTF-8 of a 253-octet A-label name fits in 4 * 256 bytes. */
	if (len >= sizeof tmp)
		return name_fail(nc, NF_LONG, 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == 0)
			return name_fail(nc, NF_CHAR, 0);
		if (c >= 0x80)
			ascii = false;
		tmp[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	tmp[len] = '\0';
	if (!ascii) {
		char conv[DDNS_NAME_BUF];
		if ((rc = idn_to_ascii(tmp, conv, nc)) != 0)
			return rc;
		len = strlen(conv);
		memcpy(tmp, conv, len + 1);
	}
	if ((rc = check_name(tmp, len, allow_wild, nc)) != 0)
		return rc;
	memcpy(out, tmp, len + 1);
	return 0;
}

int ddns_name_normalize(const char *in, size_t len, char out[DDNS_NAME_BUF])
{
	struct name_check nc;

	return normalize(in, len, out, false, &nc);
}

int ddns_name_normalize_wild(const char *in, size_t len,
			     char out[DDNS_NAME_BUF])
{
	struct name_check nc;

	return normalize(in, len, out, true, &nc);
}

/* NC's fault in words into WHY (CAP > 0 bytes, cut to fit). */
static void name_explain(const struct name_check *nc, char *why, size_t cap)
{
	switch (nc->fault) {
	case NF_OK: /* not reached: every failure names its fault */
	case NF_EMPTY:
		snprintf(why, cap, "empty name");
		break;
	case NF_LONG:
		snprintf(why, cap, "name longer than %d octets", DDNS_NAME_MAX);
		break;
	case NF_EMPTY_LABEL:
		snprintf(why, cap, "empty label");
		break;
	case NF_LONG_LABEL:
		snprintf(why, cap, "label longer than %d octets",
			 DDNS_LABEL_MAX);
		break;
	case NF_HYPHEN:
		snprintf(why, cap, "label begins or ends with a hyphen");
		break;
	case NF_CHAR:
		snprintf(why, cap,
			 nc->ch > 0x20 && nc->ch < 0x7f
			     ? "bad character '%c' (letters, digits and "
			       "hyphens only)"
			     : "bad character 0x%02x (letters, digits and "
			       "hyphens only)",
			 nc->ch);
		break;
	case NF_IDN:
		snprintf(why, cap, "not a valid international name (%s)",
			 idn2_strerror(nc->idn_rc));
		break;
	}
}

const char *ddns_name_why_invalid(const char *in, size_t len, char *why,
				  size_t cap)
{
	struct name_check nc = {NF_OK, 0, 0};
	char out[DDNS_NAME_BUF];

	if (cap > 0)
		why[0] = '\0';
	if (normalize(in, len, out, false, &nc) == 0)
		return NULL;
	if (cap > 0)
		name_explain(&nc, why, cap);
	return why;
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
	/* Reversing the labels is its own inverse; what comes out must be a
	 * name as the store writes them, or the key is not one of ours. */
	size_t n = ddns_name_key(tmp, out);
	if (n != len || !ddns_name_is_normal(out, n)) {
		out[0] = '\0';
		return DDNS_ECORRUPT;
	}
	return (int)n;
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
