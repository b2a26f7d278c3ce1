/*
 * bench_ctlproxy.c -- a recording relay for pdns's control socket, for
 * the propagation benchmark: ddns-updater's [pdns] control_socket points
 * here, each command is passed on unchanged to pdns's real socket, and
 * when pdns has answered (and closed: the purge is done) one line
 *
 *   ack SECONDS REPLY COMMAND (its words separated by single spaces)
 *
 * goes to stdout (SECONDS: CLOCK_MONOTONIC, the clock of Python's
 * time.monotonic), then the reply goes back to the updater.  Connections
 * are served one at a time, as pdns serves them.  A benchmark tool.
 *
 *   bench-ctlproxy LISTEN_PATH PDNS_SOCKET
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_  8192 /* a batched PURGE carries many names */
#define WAIT_MS	   2000

static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof sun->sun_path)
		return -1;
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	return 0;
}

/* Read from FD into BUF (CAP bytes) until a newline (LINE) or EOF;
 * the length, or -1 on error or timeout. */
static ssize_t read_until(int fd, char *buf, size_t cap, int line)
{
	size_t len = 0;

	while (len < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, WAIT_MS) <= 0)
			return -1;
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (line && memchr(buf, '\n', len))
			break;
	}
	return (ssize_t)len;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Printable form of S (LEN bytes) without line breaks, into OUT (blanks
 * kept as single spaces: a command's words stay words). */
static void printable(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++)
		if (s[i] > ' ' && s[i] <= '~')
			out[o++] = s[i];
		else if (s[i] == ' ' && o > 0 && out[o - 1] != ' ')
			out[o++] = ' ';
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

/* Relay one command from client C to pdns at TARGET. */
static void relay(int c, const struct sockaddr_un *target)
{
	char cmd[LINE_MAX_], reply[LINE_MAX_], pc[LINE_MAX_], pr[LINE_MAX_];
	ssize_t clen, rlen = -1;
	struct timespec ts;
	int p = -1;

	if ((clen = read_until(c, cmd, sizeof cmd, 1)) <= 0)
		return;
	p = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p >= 0 &&
	    connect(p, (const struct sockaddr *)target, sizeof *target) == 0 &&
	    write_all(p, cmd, (size_t)clen) == 0)
		rlen = read_until(p, reply, sizeof reply, 0);
	if (p >= 0)
		close(p);
	if (rlen < 0) {
		fprintf(stderr, "bench-ctlproxy: no reply from pdns\n");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printable(cmd, (size_t)clen, pc, sizeof pc);
	printable(reply, (size_t)rlen, pr, sizeof pr);
	printf("ack %ld.%09ld %s %s\n", (long)ts.tv_sec, ts.tv_nsec,
	       pr[0] ? pr : "-", pc);
	fflush(stdout);
	write_all(c, reply, (size_t)rlen);
}

int main(int argc, char **argv)
{
	struct sockaddr_un me, target;
	int l;

	if (argc != 3 || unix_addr(argv[1], &me) != 0 ||
	    unix_addr(argv[2], &target) != 0) {
		fprintf(stderr, "usage: bench-ctlproxy LISTEN_PATH "
				"PDNS_SOCKET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	unlink(argv[1]);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&me, sizeof me) != 0 ||
	    listen(l, 64) != 0) {
		perror("bench-ctlproxy");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("bench-ctlproxy: accept");
			return 1;
		}
		relay(c, &target);
		close(c);
	}
}
