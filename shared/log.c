#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The logger's level is process state by nature; it is set once at start. */
int ddns_log_threshold = DDNS_LOG_INFO;
static const char *log_prog = "ddns";

void ddns_log_init(const char *progname, int level)
{
	if (progname)
		log_prog = progname;
	if (level >= DDNS_LOG_ERR && level <= DDNS_LOG_DEBUG)
		ddns_log_threshold = level;
}

int ddns_log_level_parse(const char *s)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	if (strcasecmp(s, "warn") == 0)
		return DDNS_LOG_WARN;
	return -1;
}

void ddns_log_write(int level, const char *fmt, ...)
{
	static const char *tags[] = {"error", "warning", "info", "debug"};
	char line[1024];
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* One fprintf per line keeps lines whole when several writers share
	 * stderr. */
	fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp, ts.tv_nsec / 1000000,
		log_prog, tags[level < 0 ? 0 : level > 3 ? 3 : level], line);
}
