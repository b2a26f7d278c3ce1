#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"

#define PW_BUF 16384 /* getpwnam_r / getgrnam_r scratch space */

/* A decimal id such as "65534"; false for a name. */
static bool numeric_id(const char *s, unsigned *out)
{
	uint64_t v;

	if (ddns_parse_uint(s, 0, UINT_MAX - 1, &v) != 0)
		return false;
	*out = (unsigned)v;
	return true;
}

int ddns_priv_group(const char *group, gid_t *out, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	unsigned id;
	int rc;

	if (numeric_id(group, &id)) {
		*out = (gid_t)id;
		return 0;
	}
	if (!(buf = malloc(PW_BUF)))
		return ddns_err_set(err, errlen, DDNS_ENOMEM, "out of memory");
	rc = getgrnam_r(group, &gr, buf, PW_BUF, &res);
	if (res)
		*out = gr.gr_gid;
	free(buf);
	if (!res)
		return ddns_err_set(err, errlen, DDNS_EINVAL, "unknown group '%s'%s%s",
			    group, rc ? ": " : "", rc ? strerror(rc) : "");
	return 0;
}

/* Fill P's uid and primary gid from USER (a name or a number). */
static int lookup_user(const char *user, struct ddns_priv *p, char *err,
		       size_t errlen)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	unsigned id;
	int rc;

	if (!(buf = malloc(PW_BUF)))
		return ddns_err_set(err, errlen, DDNS_ENOMEM, "out of memory");
	if (numeric_id(user, &id))
		rc = getpwuid_r((uid_t)id, &pw, buf, PW_BUF, &res);
	else
		rc = getpwnam_r(user, &pw, buf, PW_BUF, &res);
	if (res) {
		p->uid = pw.pw_uid;
		p->gid = pw.pw_gid;
	}
	free(buf);
	if (!res)
		return ddns_err_set(err, errlen, DDNS_EINVAL, "unknown user '%s'%s%s",
			    user, rc ? ": " : "", rc ? strerror(rc) : "");
	return 0;
}

int ddns_priv_lookup(const char *user, const char *group, struct ddns_priv *out,
		     char *err, size_t errlen)
{
	int rc;

	memset(out, 0, sizeof *out);
	if (!user)
		return group ? ddns_err_set(err, errlen, DDNS_EINVAL,
				    "group is set without user")
			     : 0;
	if (strlen(user) >= sizeof out->user)
		return ddns_err_set(err, errlen, DDNS_ETOOBIG, "user name too long");
	rc = lookup_user(user, out, err, errlen);
	if (rc == 0 && group)
		rc = ddns_priv_group(group, &out->gid, err, errlen);
	if (rc != 0)
		return rc;
	memcpy(out->user, user, strlen(user) + 1);
	out->set = true;
	return 0;
}

int ddns_priv_drop(const struct ddns_priv *p, char *err, size_t errlen)
{
	if (!p->set)
		return 0;
	if (geteuid() != 0) {
		if (geteuid() == p->uid && getuid() == p->uid)
			return 0;
		return ddns_err_set(err, errlen, DDNS_EIO,
			    "cannot become user %s: not started as root",
			    p->user);
	}
	if (setgroups(1, &p->gid) != 0 || setresgid(p->gid, p->gid, p->gid) ||
	    setresuid(p->uid, p->uid, p->uid) != 0)
		return ddns_err_set(err, errlen, DDNS_EIO, "cannot become user %s: %s",
			    p->user, strerror(errno));
	/* Paranoia: root must be gone for good. */
	if (p->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return ddns_err_set(err, errlen, DDNS_EIO,
			    "root privileges could be regained after "
			    "switching to %s",
			    p->user);
	return 0;
}

int ddns_priv_chown_store(const struct ddns_priv *p, const char *dir, char *err,
			  size_t errlen)
{
	static const char *const files[] = {"", "/data.mdb", "/lock.mdb"};
	char path[PATH_MAX];
	int n;

	if (!p->set || geteuid() != 0)
		return 0;
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		n = snprintf(path, sizeof path, "%s%s", dir, files[i]);
		if (n < 0 || (size_t)n >= sizeof path)
			return ddns_err_set(err, errlen, DDNS_ETOOBIG,
				    "store path %s is too long", dir);
		if (chown(path, p->uid, p->gid) != 0 && errno != ENOENT)
			return ddns_err_set(err, errlen, DDNS_EIO,
				    "cannot give %s to user %s: %s", path,
				    p->user, strerror(errno));
	}
	return 0;
}
