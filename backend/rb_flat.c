/*
 * rb_flat.c -- the strict flat-request parser (see rb_flat.h).
 *
 * Every rule here errs towards "not flat": a request this parser declines
 * costs a jansson parse, one it wrongly accepted would be answered with
 * values jansson would not have produced.
 */
#include "rb_flat.h"

#include <string.h>

#define INT_DIGITS_MAX 18 /* always fits a long long */

struct cur {
	const char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* Consume CH after optional whitespace. */
static bool take(struct cur *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* A string of printable ASCII without escapes, after whitespace. */
static bool str(struct cur *c, const char **s, size_t *len)
{
	const char *b;

	if (!take(c, '"'))
		return false;
	for (b = c->p; c->p < c->end && *c->p != '"'; c->p++) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch < 0x20 || ch > 0x7e || ch == '\\')
			return false;
	}
	if (c->p == c->end)
		return false;
	*s = b;
	*len = (size_t)(c->p - b);
	c->p++;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* An integer in JSON's syntax; reals and long numbers are not flat. */
static bool integer(struct cur *c, long long *out)
{
	const char *p = c->p;
	unsigned long long v = 0;
	bool neg = false;
	int digits = 0;

	if (p < c->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p == c->end || !is_digit(*p))
		return false;
	if (*p == '0' && p + 1 < c->end && is_digit(p[1]))
		return false; /* leading zero: not JSON */
	for (; p < c->end && is_digit(*p); p++) {
		if (++digits > INT_DIGITS_MAX)
			return false;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E'))
		return false;
	*out = neg ? -(long long)v : (long long)v;
	c->p = p;
	return true;
}

static bool word(struct cur *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* A string, integer, true, false or null, after whitespace. */
static bool scalar(struct cur *c, struct rb_flat_val *v)
{
	memset(v, 0, sizeof *v);
	skip_ws(c);
	if (c->p == c->end)
		return false;
	if (*c->p == '"') {
		v->kind = RB_FLAT_STR;
		return str(c, &v->s, &v->len);
	}
	if (*c->p == '-' || is_digit(*c->p)) {
		v->kind = RB_FLAT_INT;
		return integer(c, &v->n);
	}
	v->kind = *c->p == 'n' ? RB_FLAT_NULL : RB_FLAT_BOOL;
	v->n = *c->p == 't';
	return word(c, "null") || word(c, "true") || word(c, "false");
}

static bool key_is(const char *k, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(k, name, len) == 0;
}

struct want {
	const char *const *names;
	size_t n;
};

/* Keep V if the key K is one asked for; false if it came before. */
static bool keep(struct rb_flat *f, bool top, const struct want *w,
		 const char *k, size_t klen, const struct rb_flat_val *v)
{
	struct rb_flat_val *slot = NULL;

	if (top && key_is(k, klen, "method"))
		slot = &f->method;
	for (size_t i = 0; !top && !slot && i < w->n; i++)
		if (key_is(k, klen, w->names[i]))
			slot = &f->val[i];
	if (!slot)
		return true; /* a member nobody reads */
	if (slot->kind != RB_FLAT_ABSENT)
		return false; /* given twice: jansson keeps the last; decline */
	*slot = *v;
	return true;
}

/* An object: at the top its "parameters" is one more (flat) object,
 * anywhere else every value is a scalar. */
static bool object(struct cur *c, bool top, const struct want *w,
		   struct rb_flat *f)
{
	struct rb_flat_val v;
	const char *k;
	size_t klen;

	if (!take(c, '{'))
		return false;
	if (take(c, '}'))
		return true;
	do {
		if (!str(c, &k, &klen) || !take(c, ':'))
			return false;
		if (top && key_is(k, klen, "parameters")) {
			if (f->has_params || !object(c, false, w, f))
				return false;
			f->has_params = true;
			continue;
		}
		if (!scalar(c, &v) || !keep(f, top, w, k, klen, &v))
			return false;
	} while (take(c, ','));
	return take(c, '}');
}

int rb_flat_parse(const char *in, size_t len, const char *const *want,
		  size_t n_want, struct rb_flat *out)
{
	struct cur c = {in, in + len};
	struct want w = {want, n_want};

	memset(out, 0, sizeof *out);
	if (!in || n_want > RB_FLAT_WANT_MAX)
		return 1;
	if (!object(&c, true, &w, out))
		return 1;
	skip_ws(&c);
	return c.p == c.end ? 0 : 1;
}

bool rb_flat_is(const struct rb_flat_val *v, const char *s)
{
	return v->kind == RB_FLAT_STR && key_is(v->s, v->len, s);
}
