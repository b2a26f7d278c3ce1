/*
 * rb_flat.h -- a strict parser for the one request shape on the backend's
 * hot path, so that answering pdns's "lookup" needs no allocation:
 *
 *   {"method": "lookup", "parameters": {"qtype": "A", "qname": "x.", ...}}
 *
 * It accepts only a subset of JSON, and only where it yields the very
 * values jansson would: one object holding a string "method" and an object
 * "parameters", every other value a string of printable ASCII without
 * escapes, an integer of at most 18 digits, true, false or null; no other
 * nesting; JSON whitespace anywhere between tokens.  Anything else
 * (escapes, UTF-8, reals, arrays, a key asked for given twice, trailing
 * bytes) is "not flat": the caller then parses with jansson, which decides
 * what the request means or refuses it.  Linear in the input, no
 * recursion beyond the two fixed levels, no allocation, never reads
 * outside IN[0..LEN).
 */
#ifndef DDNS_RB_FLAT_H
#define DDNS_RB_FLAT_H

#include <stdbool.h>
#include <stddef.h>

/* Most parameters one call may ask for. */
#define RB_FLAT_WANT_MAX 8

enum rb_flat_kind {
	RB_FLAT_ABSENT = 0,
	RB_FLAT_STR,
	RB_FLAT_INT,
	RB_FLAT_BOOL,
	RB_FLAT_NULL,
};

/* A value, borrowed from the parsed input. */
struct rb_flat_val {
	enum rb_flat_kind kind;
	const char *s; /* RB_FLAT_STR: the bytes between the quotes */
	size_t len;
	long long n; /* RB_FLAT_INT; RB_FLAT_BOOL: 0 or 1 */
};

struct rb_flat {
	struct rb_flat_val method;
	bool has_params;			  /* "parameters" present */
	struct rb_flat_val val[RB_FLAT_WANT_MAX]; /* as WANT names them */
};

/*
 * Parse IN (LEN bytes, not NUL-terminated) into OUT, with OUT->val[i] the
 * parameter named WANT[i] (N_WANT <= RB_FLAT_WANT_MAX; RB_FLAT_ABSENT when
 * not given).  Returns 0, or 1 when IN is not of the flat shape (OUT is
 * then meaningless).  Pointers in OUT point into IN.
 */
int rb_flat_parse(const char *in, size_t len, const char *const *want,
		  size_t n_want, struct rb_flat *out);

/* True if V is the string S (exactly, case-sensitive). */
bool rb_flat_is(const struct rb_flat_val *v, const char *s);

#endif
