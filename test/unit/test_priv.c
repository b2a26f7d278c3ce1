/* Unit tests of priv.c: resolving users and groups, and the drop in a
 * child process (the switch is for good, so never in this one). */
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "priv.h"

static void test_lookup(void)
{
	struct ddns_priv p;
	char err[256];
	gid_t g;

	CHECK_INT(ddns_priv_lookup(NULL, NULL, &p, err, sizeof err), 0);
	CHECK(!p.set);
	CHECK_INT(ddns_priv_lookup("root", NULL, &p, err, sizeof err), 0);
	CHECK(p.set && p.uid == 0 && p.gid == 0);
	CHECK_STR(p.user, "root");
	/* Numbers are ids; the group overrides the user's own. */
	CHECK_INT(ddns_priv_lookup("0", "12345", &p, err, sizeof err), 0);
	CHECK(p.uid == 0 && p.gid == 12345);
	CHECK_INT(
	    ddns_priv_lookup("no-such-user-ddns", NULL, &p, err, sizeof err),
	    DDNS_EINVAL);
	CHECK_STR(err, "unknown user 'no-such-user-ddns'");
	CHECK(!p.set);
	CHECK_INT(
	    ddns_priv_lookup("root", "no-such-group-ddns", &p, err, sizeof err),
	    DDNS_EINVAL);
	CHECK_STR(err, "unknown group 'no-such-group-ddns'");
	CHECK_INT(ddns_priv_lookup(NULL, "root", &p, err, sizeof err),
		  DDNS_EINVAL);
	CHECK_STR(err, "group is set without user");
	CHECK_INT(ddns_priv_group("root", &g, err, sizeof err), 0);
	CHECK_INT(g, 0);
}

/* In a child: drop to nobody, then check that root is gone.  Skipped
 * unless run as root with a "nobody" user. */
static void test_drop(void)
{
	struct ddns_priv p, none = {0};
	char err[256];
	int status = -1;
	pid_t pid;

	CHECK_INT(ddns_priv_drop(&none, err, sizeof err), 0);
	if (geteuid() != 0 || !getpwnam("nobody")) {
		printf("drop: skipped (not root, or no user nobody)\n");
		return;
	}
	CHECK_INT(ddns_priv_lookup("nobody", NULL, &p, err, sizeof err), 0);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		gid_t groups[4];
		int ok = ddns_priv_drop(&p, err, sizeof err) == 0 &&
			 getuid() == p.uid && geteuid() == p.uid &&
			 getgid() == p.gid && getegid() == p.gid &&
			 getgroups(4, groups) == 1 && groups[0] == p.gid &&
			 setuid(0) != 0 &&
			 /* already that user: a second call is fine */
			 ddns_priv_drop(&p, err, sizeof err) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	test_lookup();
	test_drop();
	return check_done();
}
