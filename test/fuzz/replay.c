/*
 * replay.c -- the main of a fuzz target built without libFuzzer: every
 * file named on the command line, and every file of every directory named
 * (in name order, not recursively), goes once through
 * LLVMFuzzerTestOneInput.  So the checked-in corpora run in every
 * `meson test` under gcc, and a crash file can be replayed under gdb.
 * Prints "N inputs replayed" and exits 0, or 1 if an input could not be
 * read; a crash of the target under test ends the process as it would.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Largest input replayed: the corpora hold small files. */
#define REPLAY_MAX (1 << 20)

/* Run the file PATH through the target, from a buffer of exactly its
 * size (so that a read past the end is seen by valgrind or a sanitizer as
 * it would be under libFuzzer).  0, or -1 when unreadable. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat st;
	size_t n = 0;
	int rc = -1;

	if (!f || fstat(fileno(f), &st) != 0 || st.st_size > REPLAY_MAX)
		goto out;
	n = (size_t)st.st_size;
	if (!(buf = malloc(n ? n : 1)) || fread(buf, 1, n, f) != n)
		goto out;
	LLVMFuzzerTestOneInput(buf, n);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "replay: cannot read %s\n", path);
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of directory DIR, in name order.  Adds the number
 * replayed to *COUNT; 0 or -1. */
static int replay_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) *
						       sizeof *names);
			if (!nn)
				abort();
			names = nn;
		}
		if (!(names[n++] = strdup(e->d_name)))
			abort();
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (replay_file(argv[i]) != 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	printf("%lu inputs replayed\n", count);
	return rc;
}
