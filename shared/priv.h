/*
 * priv.h -- giving up root once a daemon has bound its sockets and opened
 * the store ([updater] user/group, [backend] user/group/socket_group).
 *
 * The names are resolved at start (ddns_priv_lookup), the switch happens
 * later (ddns_priv_drop): descriptors opened as root stay usable, which is
 * how the LMDB store and the listeners survive the drop.
 */
#ifndef DDNS_PRIV_H
#define DDNS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Who to become; filled by ddns_priv_lookup. */
struct ddns_priv {
	bool set; /* false: no user configured, stay as started */
	uid_t uid;
	gid_t gid;
	char user[64]; /* for messages */
};

/*
 * Resolve USER (a name or a number) and GROUP (NULL: USER's primary group)
 * into OUT.  USER NULL: OUT->set false, nothing else done.  Returns 0, or
 * DDNS_EINVAL / DDNS_ETOOBIG with a one-line reason in ERR.
 */
int ddns_priv_lookup(const char *user, const char *group, struct ddns_priv *out,
		     char *err, size_t errlen);

/* Resolve GROUP (a name or a number) into *OUT.  0 or DDNS_EINVAL (ERR). */
int ddns_priv_group(const char *group, gid_t *out, char *err, size_t errlen);

/*
 * Become P's user and group for good: supplementary groups are reduced to
 * P's group, then gid and uid are set, and regaining root is checked to
 * fail.  Not root: succeeds only if already running as P's uid.  A no-op
 * when !P->set.  Returns 0 or DDNS_EIO with the reason in ERR.
 */
int ddns_priv_drop(const struct ddns_priv *p, char *err, size_t errlen);

/*
 * Give the store directory DIR and its LMDB files (data.mdb, lock.mdb) to
 * P's user and group, so that the daemon can reopen them after a restart
 * without root.  A no-op when !P->set or not running as root.  Returns 0
 * or DDNS_EIO with the reason in ERR.
 */
int ddns_priv_chown_store(const struct ddns_priv *p, const char *dir, char *err,
			  size_t errlen);

#endif
