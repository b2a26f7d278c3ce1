#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *ddns_strerror(int code)
{
	switch (code) {
	case DDNS_OK: return "success";
	case DDNS_ENOMEM: return "out of memory";
	case DDNS_EINVAL: return "invalid argument";
	case DDNS_ENOTFOUND: return "not found";
	case DDNS_EEXIST: return "already exists";
	case DDNS_ESTORE: return "store (LMDB) error";
	case DDNS_EFULL: return "store is full (raise [store] map_size)";
	case DDNS_EVERSION: return "store has another schema version";
	case DDNS_EIO: return "input/output error";
	case DDNS_EBUSY: return "zone still has hosts";
	case DDNS_ECORRUPT: return "stored value is corrupt";
	case DDNS_ENOZONE: return "name is in no zone served here";
	case DDNS_EBADNAME: return "invalid name";
	case DDNS_EBADADDR: return "invalid address";
	case DDNS_ETOOBIG: return "input too large";
	case DDNS_ENOSTORE: return "no ddns store there";
	case DDNS_EDEPTH: return "a host must lie exactly one label below its zone";
	default: return "unknown error";
	}
}

int ddns_err_set(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}
