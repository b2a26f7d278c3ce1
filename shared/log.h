/*
 * log.h -- the one logger.  Lines go to stderr (stdout is the protocol
 * channel of ddns-backend --pipe).  Never pass a secret, a session id or an
 * Authorization header to it.
 */
#ifndef DDNS_LOG_H
#define DDNS_LOG_H

enum ddns_log_level {
	DDNS_LOG_ERR = 0,
	DDNS_LOG_WARN = 1,
	DDNS_LOG_INFO = 2,
	DDNS_LOG_DEBUG = 3,
};

/* Current threshold; messages above it are not formatted at all. */
extern int ddns_log_threshold;

/* Set the threshold and the program name printed in front of each line. */
void ddns_log_init(const char *progname, int level);

/* Parse "error", "warning", "info", "debug"; returns the level or -1. */
int ddns_log_level_parse(const char *s);

void ddns_log_write(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ddns_log(level, ...)                                                   \
	do {                                                                   \
		if ((level) <= ddns_log_threshold)                             \
			ddns_log_write((level), __VA_ARGS__);                  \
	} while (0)

#define log_err(...) ddns_log(DDNS_LOG_ERR, __VA_ARGS__)
#define log_warn(...) ddns_log(DDNS_LOG_WARN, __VA_ARGS__)
#define log_info(...) ddns_log(DDNS_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ddns_log(DDNS_LOG_DEBUG, __VA_ARGS__)

#endif
