/*
 * err.h -- one error enum for the whole project.
 *
 * Every libddns function that can fail returns int: 0 on success or one of
 * these negative codes.  LMDB's own codes are translated in store.c only.
 */
#ifndef DDNS_ERR_H
#define DDNS_ERR_H

#include <stddef.h>

enum ddns_err {
	DDNS_OK = 0,
	DDNS_ENOMEM = -1,     /* allocation failed */
	DDNS_EINVAL = -2,     /* invalid argument or input */
	DDNS_ENOTFOUND = -3,  /* no such zone / host / key */
	DDNS_EEXIST = -4,     /* already exists */
	DDNS_ESTORE = -5,     /* LMDB failure (see the log for its text) */
	DDNS_EFULL = -6,      /* LMDB map is full */
	DDNS_EVERSION = -7,   /* store has another schema version */
	DDNS_EIO = -8,        /* system call failed (errno kept) */
	DDNS_EBUSY = -9,      /* zone still has hosts */
	DDNS_ECORRUPT = -10,  /* stored value cannot be decoded */
	DDNS_ENOZONE = -11,   /* name lies in no configured zone */
	DDNS_EBADNAME = -12,  /* not a valid host or zone name */
	DDNS_EBADADDR = -13,  /* not a valid IPv4/IPv6 address */
	DDNS_ETOOBIG = -14,   /* input over a fixed limit */
	DDNS_ENOSTORE = -15,  /* store directory has no ddns store */
	DDNS_EDEPTH = -16,    /* host not exactly one label below its zone */
	DDNS_ERR_LAST_ = -17
};

/* Static English text for a code; never NULL. */
const char *ddns_strerror(int code);

/* Format FMT into ERR (ERRLEN bytes; nothing when ERR is NULL or ERRLEN
 * 0) and return CODE: for functions that explain a failure in their
 * caller's buffer. */
int ddns_err_set(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
