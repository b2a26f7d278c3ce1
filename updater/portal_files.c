/*
 * portal_files.c -- the portal's static files (portal_files.h).
 *
 * The directory is opened once; each request opens its file relative to
 * it with O_NOFOLLOW, checks that it is a regular file under the size
 * cap, and reads it (the files are small and in the page cache).  Names
 * are checked before any file system call, so nothing outside the
 * directory can be named.
 */
#include "portal_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "err.h"
#include "log.h"

#ifndef DDNS_PORTAL_DIR
#define DDNS_PORTAL_DIR "/usr/local/share/ddns/portal"
#endif
#ifndef DDNS_PORTAL_SRCDIR
#define DDNS_PORTAL_SRCDIR DDNS_PORTAL_DIR
#endif

#define CSP                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"img-src 'self'; connect-src 'self'; form-action 'self'; "             \
	"base-uri 'none'; frame-ancestors 'none'"

struct ddns_portal_files {
	int dirfd;
	char *dir;
};

static const struct {
	const char *ext;
	const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".svg", "image/svg+xml"},
};

static bool name_char(char c, bool first)
{
	bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		     (c >= '0' && c <= '9');

	return alnum || (!first && (c == '-' || c == '_'));
}

bool ddns_portal_name(const char *path, size_t plen,
		      char name[DDNS_PORTAL_NAME_MAX + 1], const char **ctype)
{
	const char *dot;
	size_t n;

	if (plen == 1 && path[0] == '/') {
		path = "/index.html";
		plen = strlen(path);
	}
	if (plen < 2 || path[0] != '/' || plen - 1 > DDNS_PORTAL_NAME_MAX)
		return false;
	path++;
	n = plen - 1;
	if (!(dot = memchr(path, '.', n)) || dot == path)
		return false;
	for (const char *c = path; c < dot; c++)
		if (!name_char(*c, c == path))
			return false;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t el = strlen(types[i].ext);

		if ((size_t)(path + n - dot) == el &&
		    memcmp(dot, types[i].ext, el) == 0) {
			memcpy(name, path, n);
			name[n] = '\0';
			*ctype = types[i].type;
			return true;
		}
	}
	return false;
}

static void not_found(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	static const char text[] = "not found\n";

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add(evhttp_request_get_output_buffer(req), text,
			     sizeof text - 1);
	evhttp_add_header(h, "Content-Length", "10");
	evhttp_send_reply(req, 404, NULL, NULL);
}

/* Read the regular file NAME of PF into OUT.  0, DDNS_ENOTFOUND or
 * DDNS_EIO / DDNS_ETOOBIG. */
static int read_file(const ddns_portal_files *pf, const char *name,
		     struct evbuffer *out, size_t *len)
{
	int fd = openat(pf->dirfd, name,
			O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	int rc = DDNS_EIO;

	*len = 0;
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == ENOTDIR
			   ? DDNS_ENOTFOUND
			   : DDNS_EIO;
	if (fstat(fd, &st) != 0)
		goto out;
	rc = DDNS_ENOTFOUND;
	if (!S_ISREG(st.st_mode))
		goto out;
	rc = DDNS_ETOOBIG;
	if (st.st_size > DDNS_PORTAL_FILE_MAX)
		goto out;
	rc = 0;
	while (*len < (size_t)st.st_size) {
		int n =
		    evbuffer_read(out, fd, (int)((size_t)st.st_size - *len));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = DDNS_EIO;
			break;
		}
		*len += (size_t)n;
	}
out:
	close(fd);
	return rc;
}

static void static_headers(struct evhttp_request *req, const char *ctype,
			   size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char clen[24];

	snprintf(clen, sizeof clen, "%zu", len);
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Content-Length", clen);
	evhttp_add_header(h, "Content-Security-Policy", CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Cache-Control", "no-cache");
}

void ddns_portal_serve(ddns_portal_files *pf, struct evhttp_request *req,
		       const char *path, size_t plen)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	char name[DDNS_PORTAL_NAME_MAX + 1];
	struct evbuffer *body = NULL;
	const char *ctype;
	size_t len;
	int rc;

	if (!pf || !ddns_portal_name(path, plen, name, &ctype))
		goto nope;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Allow", "GET, HEAD");
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Content-Length", "0");
		evhttp_send_reply(req, 405, NULL, NULL);
		return;
	}
	if (!(body = evbuffer_new()))
		goto nope;
	if ((rc = read_file(pf, name, body, &len)) != 0) {
		if (rc != DDNS_ENOTFOUND)
			log_err("portal file %s/%s: %s", pf->dir, name,
				ddns_strerror(rc));
		goto nope;
	}
	static_headers(req, ctype, len);
	if (m == EVHTTP_REQ_GET)
		evbuffer_add_buffer(evhttp_request_get_output_buffer(req),
				    body);
	evbuffer_free(body);
	evhttp_send_reply(req, 200, NULL, NULL);
	return;
nope:
	if (body)
		evbuffer_free(body);
	not_found(req);
}

static bool has_index(const char *dir)
{
	char p[4096];
	struct stat st;

	return (size_t)snprintf(p, sizeof p, "%s/index.html", dir) < sizeof p &&
	       stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int ddns_portal_files_new(ddns_portal_files **out, const char *dir, char *err,
			  size_t errlen)
{
	ddns_portal_files *pf = calloc(1, sizeof *pf);

	*out = NULL;
	if (!dir)
		dir = has_index(DDNS_PORTAL_DIR) ? DDNS_PORTAL_DIR
						 : DDNS_PORTAL_SRCDIR;
	if (!pf || !(pf->dir = strdup(dir))) {
		free(pf);
		snprintf(err, errlen, "out of memory");
		return DDNS_ENOMEM;
	}
	pf->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pf->dirfd < 0) {
		snprintf(err, errlen, "[portal] static_dir %s: %s", dir,
			 strerror(errno));
		ddns_portal_files_free(pf);
		return DDNS_EIO;
	}
	*out = pf;
	return 0;
}

void ddns_portal_files_free(ddns_portal_files *pf)
{
	if (!pf)
		return;
	if (pf->dirfd >= 0)
		close(pf->dirfd);
	free(pf->dir);
	free(pf);
}

const char *ddns_portal_files_dir(const ddns_portal_files *pf)
{
	return pf->dir;
}
