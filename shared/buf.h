/*
 * buf.h -- a growable byte buffer for building replies, reused between
 * requests so the hot path does not allocate.
 */
#ifndef DDNS_BUF_H
#define DDNS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ddns_buf {
	char *data; /* owned; always NUL-terminated when cap > 0 */
	size_t len;
	size_t cap;
	int failed; /* set once an allocation failed; further adds are no-ops */
};

/* Empty the buffer, keeping its memory. */
void ddns_buf_reset(struct ddns_buf *b);
/* Release the memory; B is left empty and reusable. */
void ddns_buf_free(struct ddns_buf *b);
/* Append; on allocation failure set b->failed and return DDNS_ENOMEM. */
int ddns_buf_add(struct ddns_buf *b, const void *data, size_t len);
int ddns_buf_adds(struct ddns_buf *b, const char *s);
int ddns_buf_addc(struct ddns_buf *b, char c);
int ddns_buf_printf(struct ddns_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append S as a JSON string literal, quotes included, escaping as needed. */
int ddns_buf_json_str(struct ddns_buf *b, const char *s);

#endif
