/*
 * bench_ceiling.c -- the fastest remote backend there can be: answers
 * pdns's requests from constants, with no store, no JSON parser and one
 * read and one write per request.  The DNS benchmark runs pdns on it to
 * show what pdns's remote backend protocol itself allows on a machine, so
 * that ddns-backend is judged against that ceiling as well as against
 * pdns's native LMDB backend.
 *
 *   bench-ceiling [--zone ZONE] SOCKET     unix connector
 *   bench-ceiling [--zone ZONE] --pipe     pipe connector (stdin/stdout)
 *
 * Answers: the zone ZONE (id 1) for getAllDomains; SOA and NS for a
 * lookup of the apex, shaped as ddns-backend shapes them; an A record
 * 10.0.0.1 for any name whose first label starts with "h"; nothing for
 * other names; {} / [] for metadata; true for initialize.  It makes no
 * other check: a benchmark tool, never a server to deploy.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_MAX	   (64 * 1024)
#define OUT_MAX	   (64 * 1024)
#define ZONE_MAX   200
#define EVENTS_MAX 64

struct conn {
	int in, out;
	size_t len;
	char buf[IN_MAX];
};

struct ctx {
	char zone[ZONE_MAX + 2]; /* with its trailing dot */
	char out[OUT_MAX];
};

/* The value of string member KEY in LINE (no escapes), or false. */
static bool member(const char *line, size_t n, const char *key, const char **v,
		   size_t *vlen)
{
	size_t klen = strlen(key);
	const char *p = line, *end = line + n, *q;

	while ((p = memmem(p, (size_t)(end - p), key, klen))) {
		p += klen;
		while (p < end && (*p == ' ' || *p == ':'))
			p++;
		if (p >= end || *p != '"')
			continue;
		p++;
		q = memchr(p, '"', (size_t)(end - p));
		if (!q)
			return false;
		*v = p;
		*vlen = (size_t)(q - p);
		return true;
	}
	return false;
}

static bool is(const char *v, size_t len, const char *s)
{
	return strlen(s) == len && strncasecmp(v, s, len) == 0;
}

#define RR_TAIL "\"domain_id\":1,\"auth\":1,\"scopeMask\":0}"

static int lookup(struct ctx *x, const char *q, size_t qlen, char *o,
		  size_t cap)
{
	if (is(q, qlen, x->zone))
		return snprintf(
		    o, cap,
		    "{\"result\":[{\"qtype\":\"SOA\",\"qname\":"
		    "\"%s\",\"content\":\"ns1.example.org. "
		    "hostmaster.example.org. 2000000000 10800 "
		    "3600 604800 60\",\"ttl\":3600," RR_TAIL ",{\"qtype\":"
		    "\"NS\",\"qname\":\"%s\",\"content\":"
		    "\"ns1.example.org.\",\"ttl\":3600," RR_TAIL "]}\n",
		    x->zone, x->zone);
	if (qlen == 0 || (q[0] != 'h' && q[0] != 'H') || qlen > 260)
		return snprintf(o, cap, "{\"result\":false}\n");
	return snprintf(o, cap,
			"{\"result\":[{\"qtype\":\"A\",\"qname\":\"%.*s\","
			"\"content\":\"10.0.0.1\",\"ttl\":60," RR_TAIL "]}\n",
			(int)qlen, q);
}

/* The reply to LINE into O (CAP bytes); its length. */
static size_t reply(struct ctx *x, const char *line, size_t n, char *o,
		    size_t cap)
{
	const char *m, *q;
	size_t mlen, qlen;
	int r;

	if (!member(line, n, "\"method\"", &m, &mlen))
		r = snprintf(o, cap, "{\"result\":false}\n");
	else if (is(m, mlen, "lookup") &&
		 member(line, n, "\"qname\"", &q, &qlen))
		r = lookup(x, q, qlen, o, cap);
	else if (is(m, mlen, "initialize"))
		r = snprintf(o, cap, "{\"result\":true}\n");
	else if (is(m, mlen, "getAllDomains"))
		r = snprintf(
		    o, cap,
		    "{\"result\":[{\"zone\":\"%s\",\"id\":1,\"serial\":"
		    "2000000000,\"notified_serial\":0,\"last_check\":0,"
		    "\"masters\":[],\"kind\":\"native\"}]}\n",
		    x->zone);
	else if (is(m, mlen, "getAllDomainMetadata"))
		r = snprintf(o, cap, "{\"result\":{}}\n");
	else if (is(m, mlen, "getDomainMetadata"))
		r = snprintf(o, cap, "{\"result\":[]}\n");
	else
		r = snprintf(o, cap, "{\"result\":false}\n");
	return r < 0 || (size_t)r >= cap ? 0 : (size_t)r;
}

static bool write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read once and answer every whole line; false at end or on error. */
static bool serve(struct ctx *x, struct conn *c)
{
	size_t olen = 0;
	char *s, *nl;
	ssize_t r = read(c->in, c->buf + c->len, sizeof c->buf - c->len);

	if (r <= 0)
		return r < 0 && errno == EINTR;
	c->len += (size_t)r;
	s = c->buf;
	while ((nl = memchr(s, '\n', c->len - (size_t)(s - c->buf)))) {
		if (OUT_MAX - olen < 4096) {
			if (!write_all(c->out, x->out, olen))
				return false;
			olen = 0;
		}
		olen += reply(x, s, (size_t)(nl - s), x->out + olen,
			      OUT_MAX - olen);
		s = nl + 1;
	}
	c->len -= (size_t)(s - c->buf);
	memmove(c->buf, s, c->len);
	if (c->len == sizeof c->buf)
		return false; /* a line longer than any pdns request */
	return write_all(c->out, x->out, olen);
}

static int run_pipe(struct ctx *x)
{
	static struct conn c;

	c.in = STDIN_FILENO;
	c.out = STDOUT_FILENO;
	while (serve(x, &c))
		;
	return 0;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_one(int ep, int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct conn *c;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->in = c->out = fd;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		free(c);
	}
}

static int run_unix(struct ctx *x, const char *path)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct epoll_event evs[EVENTS_MAX];
	int lfd = listen_unix(path), ep = epoll_create1(EPOLL_CLOEXEC), n;

	if (lfd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		fprintf(stderr, "bench-ceiling: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	for (;;) {
		n = epoll_wait(ep, evs, EVENTS_MAX, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				accept_one(ep, lfd);
			} else if (!serve(x, c)) {
				close(c->in); /* leaves the epoll set too */
				free(c);
			}
		}
	}
}

int main(int argc, char **argv)
{
	static struct ctx x;
	const char *zone = "dyn.example.org", *sock = NULL;
	bool pipe = false;

	bool bad = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--pipe") == 0)
			pipe = true;
		else if (argv[i][0] != '-' && !sock)
			sock = argv[i];
		else
			bad = true;
	}
	if (bad || pipe == (sock != NULL) || strlen(zone) > ZONE_MAX) {
		fprintf(stderr, "usage: bench-ceiling [--zone ZONE] "
				"SOCKET | --pipe\n");
		return 2;
	}
	snprintf(x.zone, sizeof x.zone, "%s.", zone);
	signal(SIGPIPE, SIG_IGN);
	return pipe ? run_pipe(&x) : run_unix(&x, sock);
}
