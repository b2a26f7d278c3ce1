/*
 * bench_lookup.c -- time remote-backend "lookup" round trips over
 * ddns-backend's unix socket, one request at a time, as one pdns thread
 * does them.
 *
 *   bench-lookup [--zone-id ID] [--warmup N] [--qtype T] [--miss PCT]
 *                SOCKET ZONE HOSTS N
 *
 * Asks for hN.ZONE with N drawn uniformly from 0..HOSTS-1 (a fixed
 * pseudo-random sequence, so runs are comparable); with --miss PCT that
 * share of the names do not exist.  The request is the one pdns 4.7 sends
 * (same members, order and spacing, as strace shows it).  Prints one line of
 * key=value pairs: latency percentiles in microseconds, round trips per second,
 * and how many replies had no record ("empty", expected only for --miss).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (1 << 20)

struct opts {
	const char *sock, *zone, *qtype;
	unsigned long hosts, n, warmup, miss_pct;
	long zone_id;
};

struct conn {
	int fd;
	char *buf;
	size_t len; /* bytes buffered after the last reply */
};

static int parse_ul(const char *s, unsigned long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return *end || errno ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *pos[4];
	unsigned long v;
	int n = 0;

	memset(o, 0, sizeof *o);
	o->zone_id = 1;
	o->qtype = "ANY";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i],
			   *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--zone-id") == 0 && parse_ul(val, &v) == 0) {
			o->zone_id = (long)v;
			i++;
		} else if (strcmp(a, "--warmup") == 0 &&
			   parse_ul(val, &o->warmup) == 0) {
			i++;
		} else if (strcmp(a, "--miss") == 0 &&
			   parse_ul(val, &o->miss_pct) == 0 &&
			   o->miss_pct <= 100) {
			i++;
		} else if (strcmp(a, "--qtype") == 0 && val) {
			o->qtype = val;
			i++;
		} else if (a[0] == '-' || n == 4) {
			return -1;
		} else {
			pos[n++] = a;
		}
	}
	if (n != 4 || parse_ul(pos[2], &o->hosts) || parse_ul(pos[3], &o->n) ||
	    o->hosts == 0 || o->n == 0)
		return -1;
	o->sock = pos[0];
	o->zone = pos[1];
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	c->len = 0;
	c->buf = malloc(REPLY_MAX);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!c->buf || c->fd < 0 || strlen(path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	return connect(c->fd, (struct sockaddr *)&sun, sizeof sun);
}

/* Send REQ and read one reply line; 1 if it held records, 0 if not, -1 on
 * error. */
static int round_trip(struct conn *c, const char *req, size_t len)
{
	char *nl;
	ssize_t n;
	int found;

	for (size_t off = 0; off < len; off += (size_t)n) {
		n = write(c->fd, req + off, len - off);
		if (n <= 0)
			return -1;
	}
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		if (c->len == REPLY_MAX)
			return -1;
		n = read(c->fd, c->buf + c->len, REPLY_MAX - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	found =
	    memmem(c->buf, (size_t)(nl - c->buf), "\"result\":[", 10) != NULL;
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return found;
}

static int lookup_req(const struct opts *o, uint64_t *rng, char *req,
		      size_t cap)
{
	uint64_t r = rng_next(rng);
	unsigned long i = (unsigned long)(r % o->hosts);
	bool miss = o->miss_pct && (r >> 40) % 100 < o->miss_pct;
	int n =
	    snprintf(req, cap,
		     "{\"method\": \"lookup\", \"parameters\": "
		     "{\"local\": \"127.0.0.1\", \"qname\": \"%s%lu.%s.\", "
		     "\"qtype\": \"%s\", \"real-remote\": \"127.0.0.1/32\", "
		     "\"remote\": \"127.0.0.1\", \"zone-id\": %ld}}\n",
		     miss ? "nx" : "h", i, o->zone, o->qtype, o->zone_id);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const char init[] =
	    "{\"method\":\"initialize\",\"parameters\":"
	    "{\"path\":\"bench\",\"timeout\":\"2000\"}}\n";
	struct opts o;
	struct conn c;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned long empty = 0;
	double *lat, t0, start, sum = 0;
	char req[1024];
	int len, rc;

	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr,
			"usage: bench-lookup [--zone-id ID] [--warmup N]"
			" [--qtype T] [--miss PCT] SOCKET ZONE HOSTS N\n");
		return 2;
	}
	lat = calloc(o.n, sizeof *lat);
	if (!lat || conn_open(&c, o.sock) != 0 ||
	    round_trip(&c, init, sizeof init - 1) < 0) {
		fprintf(stderr, "bench-lookup: %s: %s\n", o.sock,
			strerror(errno));
		return 1;
	}
	for (unsigned long i = 0; i < o.warmup; i++)
		if ((len = lookup_req(&o, &rng, req, sizeof req)) < 0 ||
		    round_trip(&c, req, (size_t)len) < 0)
			goto fail;
	start = now_us();
	for (unsigned long i = 0; i < o.n; i++) {
		if ((len = lookup_req(&o, &rng, req, sizeof req)) < 0)
			goto fail;
		t0 = now_us();
		rc = round_trip(&c, req, (size_t)len);
		lat[i] = now_us() - t0;
		if (rc < 0)
			goto fail;
		empty += rc == 0;
		sum += lat[i];
	}
	start = now_us() - start;
	qsort(lat, o.n, sizeof *lat, cmp_double);
	printf("n=%lu mean_us=%.2f p50_us=%.2f p90_us=%.2f p99_us=%.2f "
	       "max_us=%.2f rate=%.0f empty=%lu\n",
	       o.n, sum / (double)o.n, lat[o.n / 2], lat[o.n * 9 / 10],
	       lat[o.n * 99 / 100], lat[o.n - 1], (double)o.n / (start / 1e6),
	       empty);
	return 0;
fail:
	fprintf(stderr, "bench-lookup: round trip failed: %s\n",
		errno ? strerror(errno) : "connection closed");
	return 1;
}
