#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void ddns_buf_reset(struct ddns_buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->cap)
		b->data[0] = '\0';
}

void ddns_buf_free(struct ddns_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof *b);
}

/* Make room for NEED more bytes plus the NUL. */
static int reserve(struct ddns_buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->failed)
		return DDNS_ENOMEM;
	if (need < b->cap - b->len)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap <= b->len + need) {
		if (cap > SIZE_MAX / 2)
			goto fail;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = 1;
	return DDNS_ENOMEM;
}

int ddns_buf_add(struct ddns_buf *b, const void *data, size_t len)
{
	if (reserve(b, len) != 0)
		return DDNS_ENOMEM;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ddns_buf_adds(struct ddns_buf *b, const char *s)
{
	return ddns_buf_add(b, s, strlen(s));
}

int ddns_buf_addc(struct ddns_buf *b, char c)
{
	return ddns_buf_add(b, &c, 1);
}

int ddns_buf_printf(struct ddns_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (reserve(b, 64) != 0)
		return DDNS_ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return DDNS_EINVAL;
	if ((size_t)n >= b->cap - b->len) {
		if (reserve(b, (size_t)n) != 0)
			return DDNS_ENOMEM;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

int ddns_buf_json_str(struct ddns_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	ddns_buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ddns_buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			ddns_buf_add(b, esc, 2);
		} else {
			ddns_buf_add(b, esc, 6);
		}
	}
	ddns_buf_add(b, run, (size_t)(s - run));
	return ddns_buf_addc(b, '"');
}
