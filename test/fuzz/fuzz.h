/*
 * fuzz.h -- what every fuzz target provides, and the few helpers they
 * share (fuzz_util.c).
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput (and, when it needs state
 * such as a seeded store, LLVMFuzzerInitialize).  With -Dfuzzing=true they
 * are linked to clang's libFuzzer; otherwise to replay.c, which runs every
 * file of the checked-in corpus through them as a meson test.
 *
 * Targets keep their fixtures (a store, a key set) in file-scope statics:
 * libFuzzer gives them no other place.  That is the one exception to the
 * house rule against mutable globals, and it stays inside test/fuzz.
 */
#ifndef DDNS_FUZZ_H
#define DDNS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: when it does not hold, print what
 * and where, and abort (libFuzzer saves the input as a crash). */
#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

__attribute__((noreturn)) void fuzz_fail(const char *file, int line,
					 const char *what);

/* The secret of every host of the seeded store. */
#define FUZZ_SECRET "Fuzz0Secret0Fuzz0Secret0"

/*
 * A store in a new temporary directory (removed at exit), holding:
 *   zone dyn.example.org (ttl 60, 2 NS) with hosts h (192.0.2.1,
 *   2001:db8::1, a fault record), v4 (192.0.2.2, TLS4), w (wildcard),
 *   blocked (BLOCKED), abuse (ABUSE|WILDCARD), empty (no address) and
 *   corrupt (a host value that does not decode);
 *   zone sub.dyn.example.org with x.sub.dyn.example.org;
 *   zone other.test (MASTER, ttl 120, RNAME first\.last.other.test)
 *   with o.other.test (2001:db8::2).
 * Every host's secret is FUZZ_SECRET.  Aborts when it cannot be made:
 * a target without its fixture would only fuzz the error path.
 */
ddns_store *fuzz_store_open(void);

/*
 * Send the ddns logger's lines (at debug level, so that every log call
 * formats its untrusted arguments) to /dev/null unless FUZZ_LOG is set in
 * the environment.  Only stdio's stderr is swapped: the sanitizers and
 * libFuzzer write to file descriptor 2 or to a stream taken at start-up,
 * so their reports still show.
 */
void fuzz_quiet_logs(const char *prog);

/* Print a line describing what the target did with an input (printf
 * format) to the real stderr when FUZZ_SHOW is set: for reading what a
 * seed or a crash input does, e.g. FUZZ_SHOW=1 ./fuzz_dyndns2 FILE. */
void fuzz_show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A private copy of DATA[0..SIZE) with a NUL after it (free()). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* Split *DATA / *SIZE at the first byte SEP: *PART / *PLEN get what lies
 * before it, *DATA / *SIZE what follows (nothing when SEP is absent, and
 * then PART holds everything).  Returns false when nothing was left. */
bool fuzz_split(const uint8_t **data, size_t *size, uint8_t sep,
		const uint8_t **part, size_t *plen);

#endif
