/*
 * fuzz_conf.c -- the INI configuration (shared/conf.c): the input is the
 * whole file, handed to ddns_conf_load through a memfd (no disk writes).
 * A config that loads must hold what conf.h promises; one that does not
 * must come with a one-line message that never holds a client secret read
 * from a file.  The first line also goes through the number parsers.
 *
 * client_secret_file makes ddns_conf_load open a path the input names.
 * The harness gives it one: SECRET_PATH holds SECRET_VALUE (the seeds use
 * it).  An input with a client_secret_file line that also names anything
 * under /dev, /proc, /sys or /run is skipped, so that a mutation cannot
 * make the fuzzer read a terminal or a pipe and hang; stdin is /dev/null
 * for the same reason.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "log.h"

#define SECRET_PATH  "/tmp/ddns-fuzz-conf-secret"
#define SECRET_VALUE "FileSecret7Qx2Lm9Vb4Zt6Wn3"

static int memfd = -1;
static char memfd_path[64];

static void remove_secret(void)
{
	unlink(SECRET_PATH);
}

/* SECRET_PATH with SECRET_VALUE, written whole (tmp + rename), so that
 * two runs at once never see half a file. */
static void make_secret(void)
{
	char tmp[64];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s.%ld", SECRET_PATH, (long)getpid());
	if (!(f = fopen(tmp, "w")) || fputs(SECRET_VALUE "\n", f) < 0 ||
	    fclose(f) != 0 || rename(tmp, SECRET_PATH) != 0)
		abort();
	atexit(remove_secret);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0)
		abort();
	close(null);
	fuzz_quiet_logs("fuzz_conf");
	make_secret();
	if ((memfd = memfd_create("fuzz_conf", MFD_CLOEXEC)) < 0)
		abort();
	snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
	return 0;
}

/* True if a line that is not a comment starts with client_secret_file:
 * only then does ddns_conf_load open a path taken from the input. */
static bool reads_secret_file(const uint8_t *data, size_t size)
{
	static const char key[] = "client_secret_file";
	const uint8_t *line;
	size_t len;

	while (fuzz_split(&data, &size, '\n', &line, &len)) {
		while (len > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			len--;
		}
		if (len >= sizeof key - 1 &&
		    memcmp(line, key, sizeof key - 1) == 0)
			return true;
	}
	return false;
}

static bool skipped(const uint8_t *data, size_t size)
{
	static const char *const bad[] = {"/dev/", "/proc/", "/sys/", "/run/"};

	if (memmem(data, size, SECRET_VALUE, sizeof SECRET_VALUE - 1))
		return true;
	if (!reads_secret_file(data, size))
		return false;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (memmem(data, size, bad[i], strlen(bad[i])))
			return true;
	return false;
}

static void check_list(const struct ddns_conf_list *l, int kind)
{
	struct sockaddr_storage ss;
	struct ddns_prefix p;
	socklen_t len;

	FUZZ_CHECK(l->n <= DDNS_CONF_LIST_MAX);
	for (unsigned i = 0; i < l->n; i++) {
		const char *v = l->v[i];

		FUZZ_CHECK(v != NULL);
		if (kind == 'h')
			FUZZ_CHECK(ddns_hostport_parse(v, &ss, &len) == 0);
		else if (kind == 'p')
			FUZZ_CHECK(ddns_prefix_parse(v, &p) == 0);
		else
			FUZZ_CHECK(strncmp(v, "unix:", 5) == 0 ||
				   strncmp(v, "http:", 5) == 0);
	}
}

/* What conf.h promises of a loaded config. */
static void check_conf(const struct ddns_conf *c)
{
	FUZZ_CHECK(c->file && strcmp(c->file, memfd_path) == 0);
	FUZZ_CHECK(c->store_path && c->store_path[0]);
	FUZZ_CHECK(c->map_size >= (1 << 20) && c->map_size <= (1ULL << 40));
	check_list(&c->updater_listen, 'h');
	check_list(&c->updater_tls_listen, 'h');
	check_list(&c->updater_trusted_proxies, 'p');
	check_list(&c->backend_listen, 'b');
	FUZZ_CHECK(c->backend_socket_mode <= 0777);
	FUZZ_CHECK(c->log_level >= DDNS_LOG_ERR &&
		   c->log_level <= DDNS_LOG_DEBUG);
	if (c->updater_tls_listen.n > 0)
		FUZZ_CHECK(c->updater_tls_cert && c->updater_tls_key);
	FUZZ_CHECK(c->n_oidc <= DDNS_CONF_OIDC_MAX);
	for (unsigned i = 0; i < c->n_oidc; i++) {
		const struct ddns_conf_oidc *o = &c->oidc[i];
		size_t n = strlen(o->id);

		FUZZ_CHECK(n >= 1 && n <= 32 &&
			   strspn(o->id, "abcdefghijklmnopqrstuvwxyz0123456789"
					 "_-") == n);
		FUZZ_CHECK(o->issuer && o->client_id && o->client_secret);
	}
	if (c->n_oidc > 0)
		FUZZ_CHECK(c->portal_public_url != NULL);
}

/* The first line through the number parsers they share with conf.c. */
static void numbers(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *s = fuzz_strndup(data, nl ? (size_t)(nl - data) : size);
	uint64_t v = 7;

	if (ddns_parse_uint(s, 0, UINT64_MAX, &v) == 0)
		FUZZ_CHECK(s[0] >= '0' && s[0] <= '9');
	if (ddns_parse_uint(s, 10, 1000, &v) == 0)
		FUZZ_CHECK(v >= 10 && v <= 1000);
	ddns_parse_size(s, &v);
	ddns_log_level_parse(s);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddns_conf *c = NULL;
	char err[256];
	int rc;

	if (skipped(data, size))
		return 0;
	numbers(data, size);
	if (ftruncate(memfd, 0) != 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(err, 'x', sizeof err);
	rc = ddns_conf_load(memfd_path, &c, err, sizeof err);
	fuzz_show("%s", rc == 0 ? "loaded" : err);
	if (rc == 0) {
		FUZZ_CHECK(c != NULL);
		check_conf(c);
		ddns_conf_free(c);
		return 0;
	}
	FUZZ_CHECK(rc == DDNS_EINVAL || rc == DDNS_EIO || rc == DDNS_ENOMEM);
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
	FUZZ_CHECK(strchr(err, '\n') == NULL);
	FUZZ_CHECK(strstr(err, SECRET_VALUE) == NULL);
	return 0;
}
