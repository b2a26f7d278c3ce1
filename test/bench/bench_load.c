/*
 * bench_load.c -- a dyndns2 load generator: CONNS keep-alive HTTP/1.1
 * connections to 127.0.0.1:PORT, each with one request outstanding at a
 * time, authenticated updates of many hosts, each host with its own
 * secret.  A benchmark tool (test/bench/updates.py), not a client.
 *
 *   bench-load --port P --secrets FILE [--conns N] [--duration S]
 *              [--warmup S] [--seq N] [--acked FILE] [--hosts N]
 *
 * FILE holds "FQDN SECRET" lines (bench-seed --secrets).  Connection C
 * updates hosts C, C + CONNS, C + 2 CONNS... in turn, so a host is never
 * updated by two requests at once, and every request gives its host a new
 * address (100.64.0.0/10, from a counter that starts at --seq), so each
 * answer should be "good" and each one a write.  Requests completed
 * during the WARMUP seconds are not counted; those completed in the next
 * DURATION seconds are; then no new request is sent and the outstanding
 * ones are awaited (at most DRAIN_MAX seconds).
 *
 * Output, one line on stdout:
 *   requests=N seconds=S rps=R mean_us= p50_us= p90_us= p99_us= max_us=
 *   good= nochg= other= errors=
 * "other" counts any other status or body, "errors" broken connections
 * (each is reopened).  With --acked FILE, the last address each host was
 * told "good" for is written there as "FQDN ADDR [PENDING]" lines (ADDR
 * "-": none; PENDING: the address of a request left unanswered): after a
 * crash of the server, each host must hold ADDR or PENDING.  When the server
 * goes away (a connection cannot be reopened), the run stops there, the
 * report and the acked file are written, and the exit status is 3.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NAME_MAX_   254
#define SECRET_MAX  256
#define REQ_MAX	    2048
#define IN_MAX	    16384
#define CONNS_MAX   4096
#define HOSTS_MAX   10000000
#define DRAIN_MAX   10.0
#define ADDR_BASE   0x64400000u /* 100.64.0.0/10 */
#define ADDR_MASK   0x003fffffu
#define EVENTS_MAX  256

struct host {
	char *fqdn;
	char *auth; /* "Basic ..." */
	uint32_t acked; /* last address answered good, host order; 0: none */
	uint32_t pending; /* address of a request still unanswered; 0: none */
};

struct conn {
	int fd;
	size_t host; /* current host, index */
	uint32_t addr;
	double sent;
	bool busy;
	char out[REQ_MAX];
	size_t olen, osent;
	char in[IN_MAX];
	size_t ilen;
};

struct opts {
	unsigned port, conns, hosts;
	double duration, warmup;
	unsigned long seq;
	const char *secrets, *acked;
};

struct stats {
	uint32_t *lat; /* microseconds of the counted requests */
	size_t n, cap;
	unsigned long good, nochg, other, errors;
	char first_other[200];
};

struct load {
	struct opts o;
	struct host *h;
	size_t nh;
	struct conn *c;
	int ep;
	unsigned long seq;
	double t_start, t_end;
	bool sending;
	bool dead; /* the server went away: stop, report what was acked */
	unsigned busy;
	struct stats st;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-load --port P --secrets FILE [--conns N] "
			"[--duration S] [--warmup S] [--seq N] [--acked FILE] "
			"[--hosts N]\n");
}

static int num(const char *s, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	v = strtod(s, &end);
	if (*end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	double v;

	memset(o, 0, sizeof *o);
	o->conns = 50;
	o->duration = 10;
	o->warmup = 1;
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!a)
			return -1;
		i++;
		if (strcmp(k, "--secrets") == 0)
			o->secrets = a;
		else if (strcmp(k, "--acked") == 0)
			o->acked = a;
		else if (num(a, 4e9, &v) != 0)
			return -1;
		else if (strcmp(k, "--port") == 0 && v >= 1 && v <= 65535)
			o->port = (unsigned)v;
		else if (strcmp(k, "--conns") == 0 && v >= 1 && v <= CONNS_MAX)
			o->conns = (unsigned)v;
		else if (strcmp(k, "--hosts") == 0 && v <= HOSTS_MAX)
			o->hosts = (unsigned)v;
		else if (strcmp(k, "--duration") == 0 && v > 0)
			o->duration = v;
		else if (strcmp(k, "--warmup") == 0)
			o->warmup = v;
		else if (strcmp(k, "--seq") == 0)
			o->seq = (unsigned long)v;
		else
			return -1;
	}
	return o->port && o->secrets ? 0 : -1;
}

/* ---- credentials ------------------------------------------------------ */

static void base64(const unsigned char *in, size_t len, char *out)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789+/";
	size_t o = 0;

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = t[v >> 18 & 63];
		out[o++] = t[v >> 12 & 63];
		out[o++] = i + 1 < len ? t[v >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? t[v & 63] : '=';
	}
	out[o] = '\0';
}

/* One "FQDN SECRET" line into H; -1 when malformed. */
static int host_parse(char *line, struct host *h)
{
	char *sp = strchr(line, ' '), *nl = strchr(line, '\n');
	char pair[NAME_MAX_ + SECRET_MAX + 2];
	char enc[(sizeof pair + 2) / 3 * 4 + 8];
	int n;

	if (nl)
		*nl = '\0';
	if (!sp || sp == line || strlen(sp + 1) == 0 ||
	    (size_t)(sp - line) >= NAME_MAX_ || strlen(sp + 1) >= SECRET_MAX)
		return -1;
	*sp = '\0';
	n = snprintf(pair, sizeof pair, "%s:%s", line, sp + 1);
	if (n < 0 || (size_t)n >= sizeof pair)
		return -1;
	base64((const unsigned char *)pair, (size_t)n, enc);
	h->fqdn = strdup(line);
	h->auth = malloc(strlen(enc) + 8);
	if (!h->fqdn || !h->auth)
		return -1;
	snprintf(h->auth, strlen(enc) + 8, "Basic %s", enc);
	return 0;
}

static int hosts_load(struct load *l)
{
	FILE *f = fopen(l->o.secrets, "r");
	char line[NAME_MAX_ + SECRET_MAX + 4];
	size_t cap = 0;
	int rc = -1;

	if (!f) {
		perror(l->o.secrets);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		if (l->o.hosts && l->nh == l->o.hosts)
			break;
		if (l->nh == cap) {
			struct host *n;

			cap = cap ? cap * 2 : 1024;
			if (!(n = realloc(l->h, cap * sizeof *n)))
				goto out;
			l->h = n;
		}
		memset(&l->h[l->nh], 0, sizeof l->h[0]);
		if (host_parse(line, &l->h[l->nh]) != 0) {
			fprintf(stderr, "bench-load: bad line in %s\n",
				l->o.secrets);
			goto out;
		}
		l->nh++;
	}
	rc = l->nh >= l->o.conns ? 0 : -1;
	if (rc)
		fprintf(stderr, "bench-load: fewer hosts (%zu) than "
				"connections\n",
			l->nh);
out:
	fclose(f);
	return rc;
}

/* ---- connections ------------------------------------------------------ */

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Connect C (blocking: loopback answers at once), then non-blocking. */
static int conn_open(struct load *l, struct conn *c)
{
	struct sockaddr_in sin;
	struct epoll_event ev;
	int one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)l->o.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		perror("bench-load: connect");
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (set_nonblock(c->fd) != 0)
		return -1;
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	c->ilen = 0;
	c->busy = false;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_close(struct load *l, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(l->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->busy)
		l->busy--;
	c->busy = false;
}

/* Watch C for writing too (WANT) or not. */
static void conn_want_out(struct load *l, struct conn *c, bool want)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(l->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is left of C's request; -1 on a broken connection. */
static int conn_flush(struct load *l, struct conn *c)
{
	while (c->osent < c->olen) {
		ssize_t n = write(c->fd, c->out + c->osent, c->olen - c->osent);

		if (n > 0) {
			c->osent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_want_out(l, c, true);
			return 0;
		}
		return -1;
	}
	return 0;
}

/* Send C's next update: its next host, a new address. */
static int conn_send(struct load *l, struct conn *c)
{
	struct host *h = &l->h[c->host];
	struct in_addr a;
	char text[INET_ADDRSTRLEN];
	int n;

	c->addr = ADDR_BASE | (uint32_t)(l->seq++ & ADDR_MASK);
	h->pending = c->addr;
	a.s_addr = htonl(c->addr);
	inet_ntop(AF_INET, &a, text, sizeof text);
	n = snprintf(c->out, sizeof c->out,
		     "GET /nic/update?hostname=%s&myip=%s HTTP/1.1\r\n"
		     "Host: 127.0.0.1\r\nAuthorization: %s\r\n"
		     "User-Agent: bench-load\r\n\r\n",
		     h->fqdn, text, h->auth);
	if (n < 0 || (size_t)n >= sizeof c->out)
		return -1;
	c->olen = (size_t)n;
	c->osent = 0;
	c->busy = true;
	l->busy++;
	c->sent = now_s();
	return conn_flush(l, c);
}

/* ---- replies ---------------------------------------------------------- */

/* The three-digit status code at S, or -1. */
static int status_code(const char *s)
{
	int v = 0;

	for (int i = 0; i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Value of header NAME (with its colon) in HDR..END, or NULL. */
static const char *header(const char *hdr, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = hdr; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if ((size_t)(end - p) > n && strncasecmp(p, name, n) == 0)
			return p + n;
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void count(struct load *l, struct conn *c, int status, const char *body,
		  size_t blen, double done)
{
	struct stats *st = &l->st;
	bool good = status == 200 && blen >= 4 && memcmp(body, "good", 4) == 0;
	bool nochg = status == 200 && blen >= 5 && memcmp(body, "nochg", 5) == 0;

	l->h[c->host].pending = 0;
	if (good)
		l->h[c->host].acked = c->addr;
	if (done < l->t_start || done > l->t_end)
		return;
	if (good)
		st->good++;
	else if (nochg)
		st->nochg++;
	else if (st->other++ == 0)
		snprintf(st->first_other, sizeof st->first_other,
			 "status %d: %.*s", status, (int)(blen < 100 ? blen : 100),
			 body);
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 65536;
		uint32_t *n = realloc(st->lat, cap * sizeof *n);

		if (!n)
			return;
		st->lat = n;
		st->cap = cap;
	}
	st->lat[st->n++] = (uint32_t)((done - c->sent) * 1e6);
}

/* A whole reply in C's input?  1 (handled; *CLOSE when the server will
 * close), 0 (need more), -1 (malformed). */
static int reply_take(struct load *l, struct conn *c, bool *close_after)
{
	const char *hend = memmem(c->in, c->ilen, "\r\n\r\n", 4), *v;
	size_t hlen, clen;
	int status;

	if (!hend)
		return c->ilen >= sizeof c->in ? -1 : 0;
	hlen = (size_t)(hend - c->in) + 4;
	if (c->ilen < 12 || memcmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	status = status_code(c->in + 9);
	v = header(c->in, hend, "content-length:");
	if (!v)
		return -1;
	clen = (size_t)strtoul(v, NULL, 10);
	if (clen > sizeof c->in - hlen)
		return -1;
	if (c->ilen < hlen + clen)
		return 0;
	v = header(c->in, hend, "connection:");
	*close_after = v && strncasecmp(v + strspn(v, " "), "close", 5) == 0;
	count(l, c, status, c->in + hlen, clen, now_s());
	memmove(c->in, c->in + hlen + clen, c->ilen - hlen - clen);
	c->ilen -= hlen + clen;
	c->busy = false;
	l->busy--;
	return 1;
}

/* C's next host: the next of its share (C, C + CONNS, ...). */
static void next_host(struct load *l, struct conn *c, size_t ci)
{
	c->host += l->o.conns;
	if (c->host >= l->nh)
		c->host = ci;
}

/* Read what C has; send its next update after each whole reply. */
static int conn_read(struct load *l, struct conn *c, size_t ci)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->ilen, sizeof c->in - c->ilen);
		bool close_after = false;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		c->ilen += (size_t)n;
		if ((r = reply_take(l, c, &close_after)) < 0)
			return -1;
		if (r == 0)
			continue;
		next_host(l, c, ci);
		if (close_after) {
			conn_close(l, c);
			if (conn_open(l, c) != 0)
				return -2;
		}
		if (l->sending && conn_send(l, c) != 0)
			return -1;
		return 0;
	}
}

/* A broken connection: counted, reopened, its update sent again. */
static int conn_broken(struct load *l, struct conn *c)
{
	double t = now_s();

	if (t >= l->t_start && t <= l->t_end)
		l->st.errors++;
	conn_close(l, c);
	if (conn_open(l, c) != 0) {
		l->dead = true;
		return 0;
	}
	/* the unanswered update may have been stored: its host keeps it as
	 * pending, the connection goes on with its next host */
	next_host(l, c, (size_t)(c - l->c));
	return l->sending ? conn_send(l, c) : 0;
}

static int run(struct load *l)
{
	struct epoll_event ev[EVENTS_MAX];
	double t0 = now_s(), stop;

	l->t_start = t0 + l->o.warmup;
	l->t_end = l->t_start + l->o.duration;
	stop = l->t_end + DRAIN_MAX;
	l->sending = true;
	for (size_t i = 0; i < l->o.conns; i++) {
		l->c[i].host = i;
		if (conn_open(l, &l->c[i]) != 0 || conn_send(l, &l->c[i]) != 0)
			return -1;
	}
	while ((l->busy > 0 || l->sending) && !l->dead) {
		double t = now_s();
		int n;

		if (t > stop)
			break;
		if (t > l->t_end)
			l->sending = false;
		n = epoll_wait(l->ep, ev, EVENTS_MAX, 50);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			size_t ci = (size_t)(c - l->c);
			int r = 0;

			if (c->fd < 0)
				continue;
			if (ev[i].events & EPOLLOUT) {
				r = conn_flush(l, c);
				if (r == 0 && c->osent == c->olen)
					conn_want_out(l, c, false);
			}
			if (r == 0 && ev[i].events & (EPOLLIN | EPOLLERR |
						      EPOLLHUP))
				r = conn_read(l, c, ci);
			if (r == -1 && conn_broken(l, c) != 0)
				return -1;
			if (r == -2)
				return -1;
		}
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t pct(const struct stats *st, double p)
{
	size_t i;

	if (st->n == 0)
		return 0;
	i = (size_t)(p * (double)(st->n - 1) + 0.5);
	return st->lat[i];
}

static void report(struct load *l)
{
	struct stats *st = &l->st;
	double sum = 0;

	qsort(st->lat, st->n, sizeof *st->lat, cmp_u32);
	for (size_t i = 0; i < st->n; i++)
		sum += st->lat[i];
	printf("requests=%zu seconds=%.3f rps=%.1f mean_us=%.0f p50_us=%u "
	       "p90_us=%u p99_us=%u max_us=%u good=%lu nochg=%lu other=%lu "
	       "errors=%lu\n",
	       st->n, l->o.duration, (double)st->n / l->o.duration,
	       st->n ? sum / (double)st->n : 0.0, pct(st, 0.5), pct(st, 0.9),
	       pct(st, 0.99), st->n ? st->lat[st->n - 1] : 0, st->good,
	       st->nochg, st->other, st->errors);
	if (st->other)
		fprintf(stderr, "bench-load: first unexpected reply: %s\n",
			st->first_other);
}

static int write_acked(const struct load *l)
{
	FILE *f = fopen(l->o.acked, "w");
	char text[INET_ADDRSTRLEN];

	if (!f)
		return -1;
	for (size_t i = 0; i < l->nh; i++) {
		struct in_addr a = {.s_addr = htonl(l->h[i].acked)};

		if (!l->h[i].acked && !l->h[i].pending)
			continue;
		if (l->h[i].acked)
			inet_ntop(AF_INET, &a, text, sizeof text);
		fprintf(f, "%s %s", l->h[i].fqdn, l->h[i].acked ? text : "-");
		a.s_addr = htonl(l->h[i].pending);
		if (l->h[i].pending)
			fprintf(f, " %s", inet_ntop(AF_INET, &a, text,
						    sizeof text));
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct load l;
	int rc = 1;

	memset(&l, 0, sizeof l);
	if (parse_args(argc, argv, &l.o) != 0) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	l.seq = l.o.seq;
	if (hosts_load(&l) != 0 || (l.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    !(l.c = calloc(l.o.conns, sizeof *l.c)))
		goto out;
	for (size_t i = 0; i < l.o.conns; i++)
		l.c[i].fd = -1;
	if (run(&l) != 0)
		goto out;
	report(&l);
	if (l.busy > 0)
		fprintf(stderr, "bench-load: %u requests unanswered after %.0f "
				"s\n",
			l.busy, DRAIN_MAX);
	if (l.o.acked && write_acked(&l) != 0) {
		perror(l.o.acked);
		goto out;
	}
	if (l.dead)
		fprintf(stderr, "bench-load: the server went away\n");
	rc = l.dead ? 3 : l.busy > 0 ? 1 : 0;
out:
	if (l.c)
		for (size_t i = 0; i < l.o.conns; i++)
			if (l.c[i].fd >= 0)
				close(l.c[i].fd);
	for (size_t i = 0; i < l.nh; i++) {
		free(l.h[i].fqdn);
		free(l.h[i].auth);
	}
	free(l.h);
	free(l.c);
	free(l.st.lat);
	return rc;
}
