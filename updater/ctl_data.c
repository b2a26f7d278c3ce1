/*
 * ctl_data.c -- ddnsctl's whole-store commands (ctl_data.h):
 *
 *   migrate        upgrade an older schema in one write transaction
 *   backup FILE    a consistent, compacted copy, while the daemons run
 *   restore FILE   put such a copy in place; refused while a program has
 *                  the store open
 *   export [FILE]  the store as JSON lines (secret hashes only)
 *   import FILE    those JSON lines into an empty store, or a CSV of hosts
 *                  (fqdn,ipv4,ipv6) whose new secrets are printed once
 *
 * The format of export / import is in README.md ("Operating the store").
 */
#include "ctl_data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "ctl_import.h"
#include "err.h"
#include "log.h"
#include "store.h"

enum { D_OK = 0, D_FAIL = 1, D_USAGE = 2 };

struct dcmd {
	const char *name, *args, *help;
	int min, max; /* positional arguments */
	int (*run)(const struct ddns_conf *c, char **pos);
};

static int cmd_migrate(const struct ddns_conf *c, char **pos);
static int cmd_backup(const struct ddns_conf *c, char **pos);
static int cmd_restore(const struct ddns_conf *c, char **pos);
static int cmd_export(const struct ddns_conf *c, char **pos);
static int cmd_import(const struct ddns_conf *c, char **pos);

static const struct dcmd dcmds[] = {
    {"migrate", "",
     "upgrade a store of an older schema version in place, in one "
     "transaction\n      (stop ddns-updater and ddns-backend first)",
     0, 0, cmd_migrate},
    {"backup", "FILE",
     "write a consistent, compacted copy of the store to FILE; safe while\n"
     "      the daemons run",
     1, 1, cmd_backup},
    {"restore", "FILE",
     "replace the store by the backup FILE, atomically; refused while any\n"
     "      program (ddns-updater, ddns-backend) has the store open",
     1, 1, cmd_restore},
    {"export", "[FILE]",
     "write zones, users, API tokens and hosts (secret hashes, not secrets)\n"
     "      as JSON lines to FILE or stdout",
     0, 1, cmd_export},
    {"import", "FILE",
     "load an export into an empty store; or add the hosts of a CSV file\n"
     "      of lines fqdn,ipv4,ipv6 and print their new secrets once "
     "(fqdn,secret)",
     1, 1, cmd_import},
};
#define N_DCMDS (sizeof dcmds / sizeof dcmds[0])

__attribute__((format(printf, 1, 2))) void ctl_say(const char *fmt, ...)
{
	va_list ap;

	fputs("ddnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool ctl_data_is_cmd(const char *word)
{
	for (size_t i = 0; i < N_DCMDS; i++)
		if (strcmp(word, dcmds[i].name) == 0)
			return true;
	return false;
}

void ctl_data_usage(FILE *f)
{
	for (size_t i = 0; i < N_DCMDS; i++)
		fprintf(f, "  %s%s%s\n      %s\n", dcmds[i].name,
			dcmds[i].args[0] ? " " : "", dcmds[i].args,
			dcmds[i].help);
}

int ctl_open(const struct ddns_conf *c, unsigned flags, ddns_store **s)
{
	char err[512] = "";
	int rc = ddns_store_open(s, c->store_path, flags, c->map_size, err,
				 sizeof err);

	if (rc) {
		ctl_say("%s", err[0] ? err : ddns_strerror(rc));
		return D_FAIL;
	}
	return D_OK;
}

/* ---- migrate ---------------------------------------------------------- */

static int cmd_migrate(const struct ddns_conf *c, char **pos)
{
	ddns_store *s = NULL;
	uint64_t n = 0;
	unsigned from = 0;
	int rc;

	(void)pos;
	if ((rc = ctl_open(c, DDNS_STORE_ANYVERSION, &s)) != D_OK)
		return rc;
	rc = ddns_store_migrate(s, &from, &n);
	ddns_store_close(s);
	if (rc == DDNS_EVERSION) {
		ctl_say("store %s has schema version %u, newer than this "
			"ddnsctl (%u): upgrade ddns",
			c->store_path, from, (unsigned)DDNS_SCHEMA_VERSION);
		return D_FAIL;
	}
	if (rc) {
		ctl_say("migration of %s failed: %s; the store is unchanged",
			c->store_path, ddns_strerror(rc));
		return D_FAIL;
	}
	if (from == DDNS_SCHEMA_VERSION)
		printf("store %s has schema version %u already; nothing to "
		       "do\n",
		       c->store_path, from);
	else
		printf("store %s migrated from schema version %u to %u (%llu "
		       "hosts rewritten)\n",
		       c->store_path, from, (unsigned)DDNS_SCHEMA_VERSION,
		       (unsigned long long)n);
	return D_OK;
}

/* ---- files ------------------------------------------------------------ */

/* PATH + SUFFIX into OUT (PATH_MAX); false if too long. */
static bool path_join(char out[PATH_MAX], const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);

	if (a + b >= PATH_MAX)
		return false;
	memcpy(out, path, a);
	memcpy(out + a, suffix, b + 1);
	return true;
}

/* fsync the directory holding FILE, so that a rename in it lasts. */
static int sync_dir_of(const char *file)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(file, '/');
	int fd, rc;

	if (!slash)
		return sync_dir_of("./x");
	if ((size_t)(slash - file) >= sizeof dir)
		return -1;
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	fd =
	    open(slash == file ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Sync and close FD, written as TMP, and rename it to FILE. */
static int file_commit(int fd, const char *tmp, const char *file)
{
	int rc = fsync(fd);

	if (close(fd) != 0 || rc != 0 || rename(tmp, file) != 0 ||
	    sync_dir_of(file) != 0) {
		ctl_say("cannot write %s: %s", file, strerror(errno));
		unlink(tmp);
		return D_FAIL;
	}
	return D_OK;
}

/* ---- backup ----------------------------------------------------------- */

static int cmd_backup(const struct ddns_conf *c, char **pos)
{
	char tmp[PATH_MAX];
	ddns_store *s = NULL;
	struct stat st;
	int fd, rc;

	if (!path_join(tmp, pos[0], ".tmp")) {
		ctl_say("backup file name too long");
		return D_USAGE;
	}
	if ((rc = ctl_open(c, DDNS_STORE_RDONLY, &s)) != D_OK)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		ctl_say("cannot create %s: %s", tmp, strerror(errno));
		ddns_store_close(s);
		return D_FAIL;
	}
	rc = ddns_store_backup_fd(s, fd);
	ddns_store_close(s);
	if (rc) {
		ctl_say("backup of %s failed: %s", c->store_path,
			ddns_strerror(rc));
		close(fd);
		unlink(tmp);
		return D_FAIL;
	}
	if ((rc = file_commit(fd, tmp, pos[0])) != D_OK)
		return rc;
	if (stat(pos[0], &st) == 0)
		printf("store %s backed up to %s (%lld bytes, compacted)\n",
		       c->store_path, pos[0], (long long)st.st_size);
	return D_OK;
}

/* ---- restore ---------------------------------------------------------- */

/*
 * Every process that has an LMDB environment open holds a shared fcntl
 * lock on the first byte of its lock.mdb (LMDB's own protocol to tell
 * whether it is the first user).  Taking that byte exclusively succeeds
 * only when nobody has the store open, and makes a program starting
 * meanwhile wait in its open until the lock is released.
 */
static int lock_store(const char *dir, int *lfd)
{
	char path[PATH_MAX];
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	if (!path_join(path, dir, "/lock.mdb"))
		return D_USAGE;
	*lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lfd < 0) {
		ctl_say("cannot open %s: %s", path, strerror(errno));
		return D_FAIL;
	}
	if (fcntl(*lfd, F_SETLK, &fl) == 0)
		return D_OK;
	fl.l_type = F_WRLCK;
	if (fcntl(*lfd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		ctl_say("store %s is open by process %ld; stop ddns-updater "
			"and ddns-backend before a restore (nothing was "
			"changed)",
			dir, (long)fl.l_pid);
	else
		ctl_say("store %s is in use; stop ddns-updater and "
			"ddns-backend before a restore (nothing was changed)",
			dir);
	close(*lfd);
	*lfd = -1;
	return D_FAIL;
}

/* Copy the file FROM into the new file TO (0600), synced. */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n = 0;
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = D_FAIL;

	if (in < 0) {
		ctl_say("cannot read %s: %s", from, strerror(errno));
		return D_FAIL;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (out >= 0 && n == 0 && fsync(out) == 0)
		rc = D_OK;
	else
		ctl_say("cannot copy %s to %s: %s", from, to, strerror(errno));
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/* Check that the store copied into TMPDIR opens; its version into *VER. */
static int restore_check(const char *tmpdir, const char *file, unsigned *ver)
{
	char err[512] = "";
	ddns_store *s = NULL;
	int rc = ddns_store_open(&s, tmpdir, DDNS_STORE_ANYVERSION, 0, err,
				 sizeof err);

	if (rc) {
		ctl_say("%s is not a ddns store backup (%s); nothing was "
			"changed",
			file, err[0] ? err : ddns_strerror(rc));
		return D_FAIL;
	}
	*ver = ddns_store_version(s);
	ddns_store_close(s);
	if (*ver > DDNS_SCHEMA_VERSION) {
		ctl_say("%s has schema version %u, newer than this ddnsctl "
			"(%u); nothing was changed",
			file, *ver, (unsigned)DDNS_SCHEMA_VERSION);
		return D_FAIL;
	}
	return D_OK;
}

/* Copy FILE into a new directory in DIR, check it, and rename its
 * data.mdb over DIR's: readers of DIR see the old file or the new one. */
static int restore_swap(const char *dir, const char *file, unsigned *ver)
{
	char tmpdir[PATH_MAX], data[PATH_MAX], lock[PATH_MAX], dst[PATH_MAX];
	int rc;

	if (!path_join(tmpdir, dir, "/.restore-XXXXXX") ||
	    !path_join(dst, dir, "/data.mdb"))
		return D_USAGE;
	if (!mkdtemp(tmpdir)) {
		ctl_say("cannot create a directory in %s: %s", dir,
			strerror(errno));
		return D_FAIL;
	}
	path_join(data, tmpdir, "/data.mdb");
	path_join(lock, tmpdir, "/lock.mdb");
	rc = copy_file(file, data);
	if (rc == D_OK)
		rc = restore_check(tmpdir, file, ver);
	if (rc == D_OK && (rename(data, dst) != 0 || sync_dir_of(dst) != 0)) {
		ctl_say("cannot replace %s: %s", dst, strerror(errno));
		rc = D_FAIL;
	}
	unlink(data);
	unlink(lock);
	rmdir(tmpdir);
	return rc;
}

static int cmd_restore(const struct ddns_conf *c, char **pos)
{
	const char *dir = c->store_path;
	unsigned ver = 0;
	int lfd = -1, rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ctl_say("cannot create %s: %s", dir, strerror(errno));
		return D_FAIL;
	}
	if ((rc = lock_store(dir, &lfd)) != D_OK)
		return rc;
	rc = restore_swap(dir, pos[0], &ver);
	close(lfd); /* lets waiting programs open the restored store */
	if (rc != D_OK)
		return rc;
	printf("store %s restored from %s (schema version %u)\n", dir, pos[0],
	       ver);
	if (ver < DDNS_SCHEMA_VERSION)
		printf("run 'ddnsctl migrate' before starting the daemons\n");
	return D_OK;
}

/* ---- export / import (ctl_import.c) ------------------------------------ */

static int cmd_export(const struct ddns_conf *c, char **pos)
{
	char tmp[PATH_MAX];
	ddns_store *s = NULL;
	FILE *f = stdout;
	int fd = -1, rc;

	if (pos[0] && !path_join(tmp, pos[0], ".tmp"))
		return D_USAGE;
	if ((rc = ctl_open(c, DDNS_STORE_RDONLY, &s)) != D_OK)
		return rc;
	if (pos[0]) {
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		f = fd < 0 ? NULL : fdopen(dup(fd), "w");
		if (!f) {
			ctl_say("cannot create %s: %s", tmp, strerror(errno));
			rc = D_FAIL;
			goto out;
		}
	}
	rc = ctl_export(s, f);
	if (pos[0] && fclose(f) != 0 && rc == D_OK) {
		ctl_say("cannot write %s: %s", tmp, strerror(errno));
		rc = D_FAIL;
	}
	if (pos[0] && rc == D_OK)
		rc = file_commit(fd, tmp, pos[0]);
	else if (pos[0])
		unlink(tmp);
out:
	if (fd >= 0 && rc != D_OK)
		close(fd);
	ddns_store_close(s);
	return rc;
}

static int cmd_import(const struct ddns_conf *c, char **pos)
{
	ddns_store *s = NULL;
	int rc;

	if ((rc = ctl_open(c, DDNS_STORE_CREATE, &s)) != D_OK)
		return rc;
	rc = ctl_import(s, pos[0]);
	ddns_store_close(s);
	return rc;
}

/* ---- main -------------------------------------------------------------- */

int ctl_data_main(const char *conf, int argc, char **argv)
{
	const struct dcmd *d = NULL;
	struct ddns_conf *c = NULL;
	char *pos[2] = {NULL, NULL};
	char err[512] = "";
	int n = argc - 1, rc;

	for (size_t i = 0; i < N_DCMDS; i++)
		if (strcmp(argv[0], dcmds[i].name) == 0)
			d = &dcmds[i];
	if (!d)
		return D_USAGE;
	if (n == 1 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: ddnsctl -c FILE %s%s%s\n      %s\n", d->name,
		       d->args[0] ? " " : "", d->args, d->help);
		return D_OK;
	}
	if (n < d->min || n > d->max || (n && argv[1][0] == '-')) {
		ctl_say("usage: ddnsctl -c FILE %s%s%s", d->name,
			d->args[0] ? " " : "", d->args);
		return D_USAGE;
	}
	for (int i = 0; i < n; i++)
		pos[i] = argv[1 + i];
	if (!conf) {
		ctl_say("no configuration file given (-c FILE)");
		return D_USAGE;
	}
	if ((rc = ddns_conf_load(conf, &c, err, sizeof err)) != 0) {
		ctl_say("%s", err[0] ? err : ddns_strerror(rc));
		return D_USAGE;
	}
	ddns_log_init("ddnsctl", c->log_level);
	rc = d->run(c, pos);
	ddns_conf_free(c);
	return rc;
}
