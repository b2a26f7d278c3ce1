/*
 * test_accounts.c -- users, sessions and API tokens in the store: adding,
 * looking up (by id, name, OIDC identity), renaming, deleting (with and
 * without the hosts a user owns), session expiry and CSRF tokens, token
 * lookups, malformed presented ids, value encodings and damaged records,
 * and a store made before these databases existed.  Every store lives in
 * a fresh mkdtemp directory, removed at the end.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <lmdb.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accounts.h"
#include "check.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* ---- helpers ---------------------------------------------------------- */

static void path_join(char *out, size_t cap, const char *base, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", base, name);

	if (n < 0 || (size_t)n >= cap)
		abort();
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

/* Expected failures log errors; keep the test output readable. */
static void quiet(int on)
{
	ddns_log_threshold = on ? -1 : DDNS_LOG_ERR;
}

static ddns_store *open_store(const char *dir, unsigned flags)
{
	char err[256];
	ddns_store *s = NULL;
	int rc = ddns_store_open(&s, dir, flags, 0, err, sizeof err);

	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "open %s: %s\n", dir, err);
	return s;
}

static ddns_txn *begin(ddns_store *s, bool write)
{
	ddns_txn *t = NULL;

	CHECK_INT(ddns_txn_begin(s, write, &t), 0);
	return t;
}

static void user_init(struct ddns_user *u, const char *name)
{
	memset(u, 0, sizeof *u);
	snprintf(u->name, sizeof u->name, "%s", name);
	snprintf(u->display_name, sizeof u->display_name, "Ünïcode %s", name);
	snprintf(u->email, sizeof u->email, "%s@example.org", name);
}

static uint32_t add_user(ddns_store *s, const char *name)
{
	struct ddns_user u;
	ddns_txn *t = begin(s, true);

	user_init(&u, name);
	CHECK_INT(ddns_user_add(t, &u), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	return u.id;
}

static uint32_t add_zone(ddns_txn *t, const char *name)
{
	struct ddns_zone z;

	memset(&z, 0, sizeof z);
	snprintf(z.name, sizeof z.name, "%s", name);
	z.ttl = DDNS_DEFAULT_TTL;
	z.n_ns = 1;
	snprintf(z.ns[0], sizeof z.ns[0], "ns1.example.net");
	snprintf(z.hostmaster, sizeof z.hostmaster, "hostmaster.example.net");
	CHECK_INT(ddns_zone_add(t, &z), 0);
	return z.id;
}

static void add_host(ddns_txn *t, const char *fqdn, uint32_t zone_id,
		     uint32_t owner)
{
	struct ddns_host h;

	memset(&h, 0, sizeof h);
	snprintf(h.fqdn, sizeof h.fqdn, "%s", fqdn);
	h.zone_id = zone_id;
	h.owner = owner;
	h.created = 1700000000;
	CHECK_INT(ddns_host_add(t, &h), 0);
}

static uint32_t serial_of(ddns_txn *t, const char *zone)
{
	struct ddns_zone z;

	CHECK_INT(ddns_zone_get(t, zone, &z), 0);
	return z.serial;
}

/* Raw LMDB access, as a damaged store or another program would write. */
static int raw_put(const char *dir, const char *db, const void *key,
		   size_t klen, const void *val, size_t len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = {klen, (void *)key}, v = {len, (void *)val};
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 16);
	if (!rc)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, db, 0, &dbi);
	if (!rc)
		rc = mdb_put(txn, dbi, &k, &v, 0);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/* Drop the named databases DBS[N] (mdb_drop ... 1), as if the store had
 * been made before they existed. */
static int raw_drop(const char *dir, const char *const *dbs, size_t n)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc = mdb_env_create(&env);

	if (!rc)
		rc = mdb_env_set_maxdbs(env, 16);
	if (!rc)
		rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	for (size_t i = 0; !rc && i < n; i++) {
		rc = mdb_dbi_open(txn, dbs[i], 0, &dbi);
		if (!rc)
			rc = mdb_drop(txn, dbi, 1);
	}
	if (!rc)
		rc = mdb_txn_commit(txn);
	else if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

static const char *const account_dbs[] = {
    "users", "user_names", "user_oidc", "sessions", "tokens", "host_comments"};

/* ---- users ------------------------------------------------------------ */

static void test_user_names(void)
{
	char long_name[DDNS_USER_NAME_MAX + 2];

	CHECK(ddns_user_name_valid("alice"));
	CHECK(ddns_user_name_valid("a"));
	CHECK(ddns_user_name_valid("0"));
	CHECK(ddns_user_name_valid("first.last+ddns@example-org_x"));
	CHECK(!ddns_user_name_valid(""));
	CHECK(!ddns_user_name_valid(NULL));
	CHECK(!ddns_user_name_valid("Alice"));
	CHECK(!ddns_user_name_valid("al ice"));
	CHECK(!ddns_user_name_valid(".alice"));
	CHECK(!ddns_user_name_valid("-alice"));
	CHECK(!ddns_user_name_valid(".."));
	CHECK(!ddns_user_name_valid("al/ice"));
	CHECK(!ddns_user_name_valid("al\nice"));
	CHECK(!ddns_user_name_valid("\xc3\xa9t\xc3\xa9"));
	memset(long_name, 'a', sizeof long_name);
	long_name[DDNS_USER_NAME_MAX] = '\0';
	CHECK(ddns_user_name_valid(long_name));
	long_name[DDNS_USER_NAME_MAX] = 'a';
	long_name[DDNS_USER_NAME_MAX + 1] = '\0';
	CHECK(!ddns_user_name_valid(long_name));
}

static void test_user_add_get(ddns_store *s)
{
	struct ddns_user u, got;
	ddns_txn *t = begin(s, true);
	int64_t before = (int64_t)time(NULL);

	user_init(&u, "alice");
	u.flags = DDNS_USER_ADMIN;
	snprintf(u.password, sizeof u.password, "$scrypt$ln=15,r=8,p=1$x$y");
	snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://idp.example");
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "sub 1");
	u.n_groups = 2;
	snprintf(u.groups[0], sizeof u.groups[0], "urn:mace:egi.eu:group:vo");
	snprintf(u.groups[1], sizeof u.groups[1], "ops team");
	CHECK_INT(ddns_user_add(t, &u), 0);
	CHECK_INT(u.id, 1);
	CHECK(u.created >= before && u.created <= before + 5);

	memset(&got, 0x55, sizeof got);
	CHECK_INT(ddns_user_get(t, 1, &got), 0);
	CHECK(memcmp(&got, &u, sizeof u) == 0);
	memset(&got, 0, sizeof got);
	CHECK_INT(ddns_user_get_by_name(t, "alice", &got), 0);
	CHECK(memcmp(&got, &u, sizeof u) == 0);
	memset(&got, 0, sizeof got);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "sub 1", &got), 0);
	CHECK(memcmp(&got, &u, sizeof u) == 0);
	CHECK(ddns_user_in_group(&got, "ops team"));
	CHECK(!ddns_user_in_group(&got, "ops"));

	CHECK_INT(ddns_user_get(t, 2, &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get(t, 0, &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "bob", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "Alice", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "", &got), DDNS_ENOTFOUND);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "sub 2", &got),
	    DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_oidc(t, "https://idp.example", "", &got),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_oidc(t, "", "", &got), DDNS_ENOTFOUND);
	/* the separator cannot be smuggled in */
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example\nsub", "1", &got),
	    DDNS_ENOTFOUND);

	/* a taken name or OIDC identity */
	user_init(&u, "alice");
	CHECK_INT(ddns_user_add(t, &u), DDNS_EEXIST);
	user_init(&u, "alice2");
	snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://idp.example");
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "sub 1");
	CHECK_INT(ddns_user_add(t, &u), DDNS_EEXIST);
	CHECK_INT(ddns_user_get_by_name(t, "alice2", &got), DDNS_ENOTFOUND);
	/* ids count on: a refused add used none */
	user_init(&u, "bob");
	CHECK_INT(ddns_user_add(t, &u), 0);
	CHECK_INT(u.id, 2);
	CHECK_INT(ddns_txn_commit(t), 0);

	t = begin(s, false);
	user_init(&u, "carol");
	CHECK_INT(ddns_user_add(t, &u), DDNS_EINVAL); /* read-only */
	CHECK_INT(ddns_user_get_by_name(t, "bob", &got), 0);
	CHECK_STR(got.display_name, "Ünïcode bob");
	ddns_txn_abort(t);
}

static void test_user_invalid(ddns_store *s)
{
	struct ddns_user u, got;
	ddns_txn *t = begin(s, true);

#define REFUSED(stmt)                                                          \
	do {                                                                   \
		user_init(&u, "valid");                                        \
		stmt;                                                          \
		CHECK_INT(ddns_user_add(t, &u), DDNS_EINVAL);                  \
	} while (0)
	REFUSED(snprintf(u.name, sizeof u.name, "Valid"));
	REFUSED(u.name[0] = '\0');
	REFUSED(memset(u.name, 'a', sizeof u.name)); /* unterminated */
	REFUSED(snprintf(u.display_name, sizeof u.display_name, "a\tb"));
	REFUSED(snprintf(u.display_name, sizeof u.display_name, "a\xc2\x85"));
	REFUSED(snprintf(u.display_name, sizeof u.display_name, "\xff"));
	REFUSED(memset(u.display_name, 'x', DDNS_USER_DISPLAY_MAX + 1));
	REFUSED(snprintf(u.email, sizeof u.email, "no-at-sign"));
	REFUSED(snprintf(u.email, sizeof u.email, "@example.org"));
	REFUSED(snprintf(u.email, sizeof u.email, "a@"));
	REFUSED(snprintf(u.email, sizeof u.email, "a b@example.org"));
	REFUSED(snprintf(u.password, sizeof u.password, "has space"));
	REFUSED(snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://x"));
	REFUSED(snprintf(u.oidc_subject, sizeof u.oidc_subject, "s"));
	REFUSED(snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "a\nb");
		snprintf(u.oidc_subject, sizeof u.oidc_subject, "s"));
	REFUSED(u.n_groups = DDNS_GROUPS_MAX + 1;
		for (int i = 0; i < DDNS_GROUPS_MAX + 1 && i < DDNS_GROUPS_MAX;
		     i++) snprintf(u.groups[i], sizeof u.groups[i], "g%d", i));
	REFUSED(u.n_groups = 1); /* empty group */
	REFUSED(u.n_groups = 1; u.groups[0][0] = ' '; u.groups[0][1] = 'x');
	REFUSED(u.n_groups = 2; u.groups[0][0] = 'x'; u.groups[1][0] = 'x');
#undef REFUSED
	/* the most a user may hold is accepted */
	user_init(&u, "full");
	memset(u.display_name, 'd', DDNS_USER_DISPLAY_MAX);
	memset(u.email, 'e', DDNS_USER_EMAIL_MAX);
	u.email[10] = '@';
	memset(u.password, 'p', DDNS_PWHASH_MAX);
	memset(u.oidc_issuer, 'i', DDNS_OIDC_ID_MAX);
	memset(u.oidc_subject, 's', DDNS_OIDC_ID_MAX);
	u.n_groups = DDNS_GROUPS_MAX;
	for (int i = 0; i < DDNS_GROUPS_MAX; i++) {
		memset(u.groups[i], 'g', DDNS_GROUP_MAX);
		snprintf(u.groups[i], 4, "%03d", i);
		u.groups[i][3] = 'g';
	}
	CHECK_INT(ddns_user_add(t, &u), 0);
	CHECK_INT(ddns_user_get_by_name(t, "full", &got), 0);
	CHECK(memcmp(&got, &u, sizeof u) == 0);
	CHECK_INT(ddns_user_get_by_oidc(t, u.oidc_issuer, u.oidc_subject, &got),
		  0);
	CHECK_INT(ddns_user_del(t, u.id, false, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* Renames of the login name and of the OIDC identity move the indexes. */
static void test_user_put(ddns_store *s)
{
	struct ddns_user u, got;
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_user_get_by_name(t, "bob", &u), 0);
	int64_t created = u.created;
	snprintf(u.name, sizeof u.name, "robert");
	snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://idp.example");
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "bob-sub");
	u.created = 5; /* not rewritten */
	u.flags = DDNS_USER_ADMIN;
	CHECK_INT(ddns_user_put(t, &u), 0);
	CHECK_INT(ddns_user_get_by_name(t, "bob", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "robert", &got), 0);
	CHECK_INT(got.id, u.id);
	CHECK_INT(got.created, created);
	CHECK_INT(got.flags, DDNS_USER_ADMIN);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "bob-sub", &got),
	    0);
	CHECK_STR(got.name, "robert");

	/* another OIDC subject: the old one no longer leads here */
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "bob-sub-2");
	CHECK_INT(ddns_user_put(t, &u), 0);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "bob-sub", &got),
	    DDNS_ENOTFOUND);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "bob-sub-2", &got),
	    0);
	/* no OIDC identity at all */
	u.oidc_issuer[0] = u.oidc_subject[0] = '\0';
	CHECK_INT(ddns_user_put(t, &u), 0);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "bob-sub-2", &got),
	    DDNS_ENOTFOUND);

	/* taken by another user: refused, and nothing changed */
	snprintf(u.name, sizeof u.name, "alice");
	CHECK_INT(ddns_user_put(t, &u), DDNS_EEXIST);
	snprintf(u.name, sizeof u.name, "robert2");
	snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://idp.example");
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "sub 1"); /* alice's */
	CHECK_INT(ddns_user_put(t, &u), DDNS_EEXIST);
	CHECK_INT(ddns_user_get_by_name(t, "robert2", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "robert", &got), 0);
	CHECK_INT(
	    ddns_user_get_by_oidc(t, "https://idp.example", "sub 1", &got), 0);
	CHECK_STR(got.name, "alice");
	u.name[0] = '\0';
	CHECK_INT(ddns_user_put(t, &u), DDNS_EINVAL);
	u.id = 999;
	snprintf(u.name, sizeof u.name, "ghost");
	u.oidc_issuer[0] = u.oidc_subject[0] = '\0';
	CHECK_INT(ddns_user_put(t, &u), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "ghost", &got), DDNS_ENOTFOUND);

	/* back to bob for the tests below */
	CHECK_INT(ddns_user_get_by_name(t, "robert", &u), 0);
	snprintf(u.name, sizeof u.name, "bob");
	u.flags = 0;
	CHECK_INT(ddns_user_put(t, &u), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
}

struct names {
	char buf[256];
	int stop_at; /* return 7 on this user id */
};

static int collect_user(const struct ddns_user *u, void *arg)
{
	struct names *n = arg;
	size_t len = strlen(n->buf);

	snprintf(n->buf + len, sizeof n->buf - len, "%s%u:%s", len ? " " : "",
		 (unsigned)u->id, u->name);
	return (int)u->id == n->stop_at ? 7 : 0;
}

static void test_user_foreach(ddns_store *s)
{
	struct names n = {"", 0};
	ddns_txn *t = begin(s, false);

	CHECK_INT(ddns_user_foreach(t, collect_user, &n), 0);
	CHECK_STR(n.buf, "1:alice 2:bob");
	n.buf[0] = '\0';
	n.stop_at = 1;
	CHECK_INT(ddns_user_foreach(t, collect_user, &n), 7);
	CHECK_STR(n.buf, "1:alice");
	ddns_txn_abort(t);
}

/* ---- zones usable by users -------------------------------------------- */

static void test_usable_by(void)
{
	struct ddns_zone z;
	struct ddns_user admin, member, other;

	memset(&z, 0, sizeof z);
	user_init(&admin, "admin");
	admin.flags = DDNS_USER_ADMIN;
	user_init(&member, "member");
	member.n_groups = 2;
	snprintf(member.groups[0], sizeof member.groups[0], "x");
	snprintf(member.groups[1], sizeof member.groups[1], "vo-b");
	user_init(&other, "other");

	z.visibility = DDNS_ZONE_PUBLIC;
	CHECK(ddns_zone_usable_by(&z, &admin));
	CHECK(ddns_zone_usable_by(&z, &member));
	CHECK(ddns_zone_usable_by(&z, &other));
	CHECK(!ddns_zone_usable_by(&z, NULL));

	z.visibility = DDNS_ZONE_PRIVATE;
	CHECK(ddns_zone_usable_by(&z, &admin)); /* no groups: admins only */
	CHECK(!ddns_zone_usable_by(&z, &member));
	z.n_groups = 2;
	snprintf(z.groups[0], sizeof z.groups[0], "vo-a");
	snprintf(z.groups[1], sizeof z.groups[1], "vo-b");
	CHECK(ddns_zone_usable_by(&z, &admin));
	CHECK(ddns_zone_usable_by(&z, &member));
	CHECK(!ddns_zone_usable_by(&z, &other));
	CHECK(!ddns_zone_usable_by(&z, NULL));
	snprintf(member.groups[1], sizeof member.groups[1], "vo-B");
	CHECK(!ddns_zone_usable_by(&z, &member)); /* exact match only */

	z.visibility = DDNS_ZONE_ADMIN;
	snprintf(member.groups[1], sizeof member.groups[1], "vo-b");
	CHECK(ddns_zone_usable_by(&z, &admin));
	CHECK(!ddns_zone_usable_by(&z, &member));
	CHECK(!ddns_zone_usable_by(&z, &other));
	z.visibility = 7; /* unknown: nobody but admins */
	CHECK(ddns_zone_usable_by(&z, &admin));
	CHECK(!ddns_zone_usable_by(&z, &other));
}

/* ---- sessions --------------------------------------------------------- */

static bool is_b64url(const char *s)
{
	if (strlen(s) != DDNS_TOKEN_LEN)
		return false;
	for (; *s; s++)
		if (!strchr(
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-_",
			*s))
			return false;
	return true;
}

static void test_sessions(ddns_store *s, uint32_t alice, uint32_t bob)
{
	char id[DDNS_TOKEN_BUF], id2[DDNS_TOKEN_BUF];
	struct ddns_session a, b, got;
	int64_t now = (int64_t)time(NULL);
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_session_new(t, alice, 3600, id, &a), 0);
	CHECK(is_b64url(id));
	CHECK_INT(a.user_id, alice);
	CHECK(a.created >= now && a.created <= now + 5);
	CHECK_INT(a.expires, a.created + 3600);
	CHECK_INT(ddns_session_new(t, bob, 60, id2, &b), 0);
	CHECK(strcmp(id, id2) != 0);
	CHECK(memcmp(a.csrf_key, b.csrf_key, sizeof a.csrf_key) != 0);

	CHECK_INT(ddns_session_get(t, id, strlen(id), a.created, &got), 0);
	CHECK(memcmp(&got, &a, sizeof a) == 0);
	CHECK_INT(ddns_session_get(t, id, strlen(id), a.expires - 1, &got), 0);
	/* expired at its expiry time */
	CHECK_INT(ddns_session_get(t, id, strlen(id), a.expires, &got),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, id2, strlen(id2), b.created + 61, &got),
		  DDNS_ENOTFOUND);

	/* an unknown user, a lifetime out of range, a read-only txn */
	CHECK_INT(ddns_session_new(t, 999, 60, id2, &b), DDNS_ENOTFOUND);
	CHECK_STR(id2, "");
	CHECK_INT(ddns_session_new(t, alice, 0, id2, &b), DDNS_EINVAL);
	CHECK_INT(ddns_session_new(t, alice, -5, id2, &b), DDNS_EINVAL);
	CHECK_INT(ddns_session_new(t, alice, INT64_MAX, id2, &b), DDNS_EINVAL);
	CHECK_INT(ddns_txn_commit(t), 0);
	t = begin(s, false);
	CHECK_INT(ddns_session_new(t, alice, 60, id2, &b), DDNS_EINVAL);
	CHECK_INT(ddns_session_get(t, id, strlen(id), now, &got), 0);
	CHECK_INT(ddns_session_del(t, id, strlen(id)), DDNS_EINVAL);
	ddns_txn_abort(t);

	t = begin(s, true);
	CHECK_INT(ddns_session_del(t, id, strlen(id)), 0);
	CHECK_INT(ddns_session_get(t, id, strlen(id), now, &got),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_del(t, id, strlen(id)), DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
}

static void test_csrf(ddns_store *s, uint32_t alice)
{
	char id[DDNS_TOKEN_BUF], c1[DDNS_CSRF_BUF], c2[DDNS_CSRF_BUF];
	char c3[DDNS_CSRF_BUF], bad[DDNS_CSRF_BUF + 1];
	struct ddns_session a, got, other;
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_session_new(t, alice, 600, id, &a), 0);
	CHECK_INT(ddns_session_new(t, alice, 600, bad, &other), 0);
	CHECK_INT(ddns_session_get(t, id, strlen(id), a.created, &got), 0);
	CHECK_INT(ddns_txn_commit(t), 0);

	ddns_session_csrf(&a, c1);
	ddns_session_csrf(&got, c2); /* the same session read back */
	ddns_session_csrf(&other, c3);
	CHECK_INT(strlen(c1), 64);
	CHECK(strspn(c1, "0123456789abcdef") == 64);
	CHECK_STR(c1, c2);
	CHECK(strcmp(c1, c3) != 0);
	CHECK(strstr(c1, id) == NULL);

	CHECK(ddns_session_csrf_ok(&a, c1, strlen(c1)));
	CHECK(ddns_session_csrf_ok(&got, c1, 64));
	CHECK(!ddns_session_csrf_ok(&other, c1, 64));
	CHECK(!ddns_session_csrf_ok(&a, c3, 64));
	CHECK(!ddns_session_csrf_ok(&a, c1, 63));
	CHECK(!ddns_session_csrf_ok(&a, c1, 0));
	CHECK(!ddns_session_csrf_ok(&a, NULL, 64));
	CHECK(!ddns_session_csrf_ok(&a, "", 0));
	memcpy(bad, c1, 64);
	bad[64] = '0';
	CHECK(!ddns_session_csrf_ok(&a, bad, 65));
	bad[63] ^= 1;
	CHECK(!ddns_session_csrf_ok(&a, bad, 64));
	/* lower-case hex only (a digest without letters is unlikely) */
	for (int i = 0; i < 64; i++)
		bad[i] = (char)(c1[i] >= 'a' ? c1[i] - 32 : c1[i]);
	if (strspn(c1, "0123456789") != 64)
		CHECK(!ddns_session_csrf_ok(&a, bad, 64));
	CHECK(!ddns_session_csrf_ok(&a, id, strlen(id)));
}

/* Sessions that expired go in batches of at most MAX. */
static void test_session_expire(ddns_store *s, uint32_t bob)
{
	char id[DDNS_TOKEN_BUF], keep[2][DDNS_TOKEN_BUF];
	struct ddns_session sess;
	int64_t now = (int64_t)time(NULL);
	unsigned n = 99;
	ddns_txn *t = begin(s, true);

	/* earlier tests left sessions of 600 s and more; clear them */
	CHECK_INT(ddns_session_expire(t, now + 400 * 86400, 1000, &n), 0);
	for (int i = 0; i < 5; i++)
		CHECK_INT(ddns_session_new(t, bob, 10, id, NULL), 0);
	CHECK_INT(ddns_session_new(t, bob, 1000, keep[0], NULL), 0);
	CHECK_INT(ddns_session_new(t, bob, 2000, keep[1], NULL), 0);
	CHECK_INT(ddns_session_expire(t, now + 100, 3, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(ddns_session_expire(t, now + 100, 3, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(ddns_session_expire(t, now + 100, 3, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(ddns_session_expire(t, now + 100, 0, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(
	    ddns_session_get(t, keep[0], DDNS_TOKEN_LEN, now + 100, &sess), 0);
	CHECK_INT(ddns_session_expire(t, now + 1500, 10, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(ddns_session_get(t, keep[0], DDNS_TOKEN_LEN, now, &sess),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, keep[1], DDNS_TOKEN_LEN, now, &sess), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	t = begin(s, false);
	CHECK_INT(ddns_session_expire(t, now, 10, &n), DDNS_EINVAL);
	ddns_txn_abort(t);
}

/* ---- tokens ----------------------------------------------------------- */

struct tok_list {
	unsigned n;
	uint32_t users[16];
	char labels[16][DDNS_TOKEN_LABEL_MAX + 1];
	uint8_t digests[16][32];
};

static int collect_token(const struct ddns_token *tk, void *arg)
{
	struct tok_list *l = arg;

	if (l->n == 16)
		return 5;
	l->users[l->n] = tk->user_id;
	memcpy(l->labels[l->n], tk->label, sizeof tk->label);
	memcpy(l->digests[l->n++], tk->digest, 32);
	return 0;
}

static void test_tokens(ddns_store *s, uint32_t alice, uint32_t bob)
{
	char ta[DDNS_TOKEN_BUF], tb[DDNS_TOKEN_BUF], tc[DDNS_TOKEN_BUF];
	char label[DDNS_TOKEN_LABEL_MAX + 2];
	struct ddns_token a, b, got;
	struct tok_list l = {0};
	uint8_t digest[32];
	ddns_txn *t = begin(s, true);

	CHECK_INT(ddns_token_new(t, alice, "laptop ☺", ta, &a), 0);
	CHECK(is_b64url(ta));
	SHA256((const unsigned char *)ta, strlen(ta), digest);
	CHECK(memcmp(a.digest, digest, 32) == 0);
	CHECK_INT(a.user_id, alice);
	CHECK_STR(a.label, "laptop ☺");
	CHECK_INT(ddns_token_new(t, bob, NULL, tb, &b), 0);
	CHECK_STR(b.label, "");
	CHECK_INT(ddns_token_new(t, alice, "", tc, NULL), 0);

	memset(label, 'l', sizeof label);
	label[DDNS_TOKEN_LABEL_MAX] = '\0';
	CHECK_INT(ddns_token_new(t, bob, label, tc, NULL), 0);
	label[DDNS_TOKEN_LABEL_MAX] = 'l';
	label[DDNS_TOKEN_LABEL_MAX + 1] = '\0';
	CHECK_INT(ddns_token_new(t, bob, label, tc, NULL), DDNS_EINVAL);
	CHECK_STR(tc, "");
	CHECK_INT(ddns_token_new(t, bob, "tab\there", tc, NULL), DDNS_EINVAL);
	CHECK_INT(ddns_token_new(t, 999, "x", tc, NULL), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_new(t, 0, "x", tc, NULL), DDNS_EINVAL);

	CHECK_INT(ddns_token_get(t, ta, strlen(ta), &got), 0);
	CHECK(memcmp(&got, &a, sizeof a) == 0);
	CHECK_INT(ddns_token_get(t, tb, strlen(tb), &got), 0);
	CHECK_INT(got.user_id, bob);

	CHECK_INT(ddns_token_foreach(t, alice, collect_token, &l), 0);
	CHECK_INT(l.n, 2);
	CHECK(l.users[0] == alice && l.users[1] == alice);
	l.n = 0;
	CHECK_INT(ddns_token_foreach(t, 0, collect_token, &l), 0);
	CHECK_INT(l.n, 4);
	l.n = 16;
	CHECK_INT(ddns_token_foreach(t, 0, collect_token, &l), 5);

	CHECK_INT(ddns_token_del(t, a.digest), 0);
	CHECK_INT(ddns_token_get(t, ta, strlen(ta), &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_del(t, a.digest), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_get(t, tb, strlen(tb), &got), 0);
	CHECK_INT(ddns_txn_commit(t), 0);

	t = begin(s, false);
	CHECK_INT(ddns_token_new(t, bob, "x", tc, NULL), DDNS_EINVAL);
	CHECK_INT(ddns_token_del(t, b.digest), DDNS_EINVAL);
	ddns_txn_abort(t);
}

/* Presented ids and tokens of the wrong shape are not found, whatever
 * their content: the length and the alphabet are checked first. */
static void test_malformed_ids(ddns_store *s, uint32_t alice)
{
	char tok[DDNS_TOKEN_BUF], sid[DDNS_TOKEN_BUF], bad[128];
	struct ddns_session sess;
	struct ddns_token tk;
	int64_t now = (int64_t)time(NULL);
	ddns_txn *t = begin(s, true);
	static const char subst[] = {'=', '+',	'/',  '.',
				     ' ', '\0', '\n', (char)0xc3};

	CHECK_INT(ddns_token_new(t, alice, "m", tok, NULL), 0);
	CHECK_INT(ddns_session_new(t, alice, 600, sid, NULL), 0);
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN, &tk), 0);
	CHECK_INT(ddns_session_get(t, sid, DDNS_TOKEN_LEN, now, &sess), 0);

	/* one character replaced by something outside base64url */
	for (size_t i = 0; i < sizeof subst; i++) {
		memcpy(bad, tok, DDNS_TOKEN_BUF);
		bad[10] = subst[i];
		CHECK_INT(ddns_token_get(t, bad, DDNS_TOKEN_LEN, &tk),
			  DDNS_ENOTFOUND);
		memcpy(bad, sid, DDNS_TOKEN_BUF);
		bad[42] = subst[i];
		CHECK_INT(ddns_session_get(t, bad, DDNS_TOKEN_LEN, now, &sess),
			  DDNS_ENOTFOUND);
		CHECK_INT(ddns_session_del(t, bad, DDNS_TOKEN_LEN),
			  DDNS_ENOTFOUND);
	}
	/* lengths: short, long, padded, empty, NULL */
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN - 1, &tk),
		  DDNS_ENOTFOUND);
	snprintf(bad, sizeof bad, "%sA", tok);
	CHECK_INT(ddns_token_get(t, bad, strlen(bad), &tk), DDNS_ENOTFOUND);
	snprintf(bad, sizeof bad, "%s=", tok);
	CHECK_INT(ddns_token_get(t, bad, strlen(bad), &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_get(t, "", 0, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_get(t, NULL, 0, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_get(t, NULL, DDNS_TOKEN_LEN, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, sid, DDNS_TOKEN_LEN + 1, now, &sess),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, NULL, 0, now, &sess), DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_del(t, NULL, 0), DDNS_ENOTFOUND);
	/* a session id is no token and a token no session */
	CHECK_INT(ddns_token_get(t, sid, DDNS_TOKEN_LEN, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, tok, DDNS_TOKEN_LEN, now, &sess),
		  DDNS_ENOTFOUND);
	/* well formed but unknown */
	memset(bad, 'A', DDNS_TOKEN_LEN);
	CHECK_INT(ddns_token_get(t, bad, DDNS_TOKEN_LEN, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, bad, DDNS_TOKEN_LEN, now, &sess),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
}

/* ---- deleting users --------------------------------------------------- */

static void test_user_del(ddns_store *s)
{
	char sid[DDNS_TOKEN_BUF], tok[DDNS_TOKEN_BUF], osid[DDNS_TOKEN_BUF];
	char otok[DDNS_TOKEN_BUF], comment[DDNS_HOST_COMMENT_BUF];
	struct ddns_user got;
	struct ddns_session sess;
	struct ddns_token tk;
	struct ddns_fault f;
	struct ddns_host h;
	uint32_t dave = add_user(s, "dave"), erin = add_user(s, "erin");
	uint32_t z1, z2, z3, s1, s2, s3;
	int64_t now = (int64_t)time(NULL);
	unsigned n = 99;
	ddns_txn *t = begin(s, true);

	z1 = add_zone(t, "one.test");
	z2 = add_zone(t, "two.test");
	z3 = add_zone(t, "three.test");
	add_host(t, "a.one.test", z1, dave);
	add_host(t, "b.one.test", z1, dave);
	add_host(t, "c.two.test", z2, dave);
	add_host(t, "d.two.test", z2, erin);
	add_host(t, "e.three.test", z3, erin);
	add_host(t, "f.three.test", z3, 0);
	CHECK_INT(ddns_host_comment_put(t, "a.one.test", "dave's"), 0);
	memset(&f, 0, sizeof f);
	f.last_kind = DDNS_FAULT_CLIENT;
	CHECK_INT(ddns_fault_put(t, "a.one.test", &f), 0);
	CHECK_INT(ddns_host_comment_put(t, "d.two.test", "erin's"), 0);
	CHECK_INT(ddns_session_new(t, dave, 600, sid, NULL), 0);
	CHECK_INT(ddns_token_new(t, dave, "d", tok, NULL), 0);
	CHECK_INT(ddns_session_new(t, erin, 600, osid, NULL), 0);
	CHECK_INT(ddns_token_new(t, erin, "e", otok, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);

	t = begin(s, true);
	s1 = serial_of(t, "one.test");
	s2 = serial_of(t, "two.test");
	s3 = serial_of(t, "three.test");
	/* owns hosts: refused, with their count, and nothing changed */
	CHECK_INT(ddns_user_del(t, dave, false, &n), DDNS_EBUSY);
	CHECK_INT(n, 3);
	CHECK_INT(ddns_user_get(t, dave, &got), 0);
	CHECK_INT(ddns_session_get(t, sid, DDNS_TOKEN_LEN, now, &sess), 0);
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN, &tk), 0);
	CHECK_INT(ddns_host_get(t, "a.one.test", &h), 0);
	CHECK_INT(serial_of(t, "one.test"), s1);

	CHECK_INT(ddns_user_del(t, dave, true, &n), 0);
	CHECK_INT(n, 3);
	CHECK_INT(ddns_user_get(t, dave, &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "dave", &got), DDNS_ENOTFOUND);
	CHECK_INT(ddns_session_get(t, sid, DDNS_TOKEN_LEN, now, &sess),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "a.one.test", &h), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "b.one.test", &h), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_get(t, "c.two.test", &h), DDNS_ENOTFOUND);
	CHECK_INT(ddns_fault_get(t, "a.one.test", &f), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_comment_get(t, "a.one.test", comment), 0);
	CHECK_STR(comment, "");
	/* each zone that lost a host has a new serial; the other not */
	CHECK_INT(serial_of(t, "one.test"), s1 + 1);
	CHECK_INT(serial_of(t, "two.test"), s2 + 1);
	CHECK_INT(serial_of(t, "three.test"), s3);
	/* erin and her things are untouched */
	CHECK_INT(ddns_user_get(t, erin, &got), 0);
	CHECK_INT(ddns_session_get(t, osid, DDNS_TOKEN_LEN, now, &sess), 0);
	CHECK_INT(ddns_token_get(t, otok, DDNS_TOKEN_LEN, &tk), 0);
	CHECK_INT(ddns_host_get(t, "d.two.test", &h), 0);
	CHECK_INT(ddns_host_comment_get(t, "d.two.test", comment), 0);
	CHECK_STR(comment, "erin's");
	CHECK_INT(ddns_host_get(t, "f.three.test", &h), 0);
	CHECK_INT(ddns_user_del(t, dave, true, &n), DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);

	/* a user without hosts goes without force; ids are never reused */
	t = begin(s, true);
	CHECK_INT(ddns_host_del(t, "d.two.test"), 0);
	CHECK_INT(ddns_host_del(t, "e.three.test"), 0);
	CHECK_INT(ddns_user_del(t, erin, false, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(ddns_session_get(t, osid, DDNS_TOKEN_LEN, now, &sess),
		  DDNS_ENOTFOUND);
	CHECK_INT(ddns_txn_commit(t), 0);
	CHECK(add_user(s, "erin") > erin);
	t = begin(s, false);
	CHECK_INT(ddns_user_del(t, 1, true, NULL), DDNS_EINVAL);
	ddns_txn_abort(t);
}

/* ---- encodings and damaged records ------------------------------------ */

static void test_user_codec(void)
{
	struct ddns_user u, got;
	uint8_t buf[16384], bad[16384];
	int n;

	user_init(&u, "codec");
	u.id = 77;
	u.flags = 0xffffffffu; /* reserved bits are kept */
	u.created = -3;
	snprintf(u.oidc_issuer, sizeof u.oidc_issuer, "https://i");
	snprintf(u.oidc_subject, sizeof u.oidc_subject, "s");
	u.n_groups = 1;
	snprintf(u.groups[0], sizeof u.groups[0], "g");
	n = ddns_user_encode(&u, buf, sizeof buf);
	/* version, flags, created, 6 strings, n_groups, 1 group */
	CHECK_INT(n, 1 + 4 + 8 + (1 + 5) + (1 + 15) + (1 + 17) + 1 + (1 + 9) +
			 (1 + 1) + 1 + (1 + 1));
	CHECK_INT(buf[0], 1);
	CHECK_INT(buf[1], 0xff);
	CHECK_INT(buf[13], 5); /* the name's length */
	memset(&got, 0x55, sizeof got);
	CHECK_INT(ddns_user_decode(buf, (size_t)n, &got), 0);
	CHECK_INT(got.id, 0); /* from the key */
	got.id = 77;
	CHECK(memcmp(&got, &u, sizeof u) == 0);

	CHECK_INT(ddns_user_encode(&u, buf, (size_t)n - 1), DDNS_ETOOBIG);
	for (int len = 0; len < n; len++)
		if (ddns_user_decode(buf, (size_t)len, &got) != DDNS_ECORRUPT)
			CHECK_INT(len, -1);
	memcpy(bad, buf, (size_t)n);
	bad[n] = 0;
	CHECK_INT(ddns_user_decode(bad, (size_t)n + 1, &got), DDNS_ECORRUPT);
	bad[0] = 2;
	CHECK_INT(ddns_user_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[14] = 'C'; /* "codec" -> "Codec": not a login name */
	CHECK_INT(ddns_user_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[16] = '\0'; /* a NUL inside a string */
	CHECK_INT(ddns_user_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 3] = 33; /* n_groups over the limit */
	CHECK_INT(ddns_user_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 2] = 0; /* an empty group */
	CHECK_INT(ddns_user_decode(bad, (size_t)n - 1, &got), DDNS_ECORRUPT);
	memcpy(bad, buf, (size_t)n);
	bad[n - 1] = '\x01'; /* a control character in a group */
	CHECK_INT(ddns_user_decode(bad, (size_t)n, &got), DDNS_ECORRUPT);
	u.oidc_subject[0] = '\0'; /* an issuer without a subject */
	CHECK_INT(ddns_user_encode(&u, buf, sizeof buf), DDNS_EINVAL);
}

static void test_session_token_codec(void)
{
	uint8_t sv[37] = {1, 0, 0, 0, 9}, tv[20] = {1, 0, 0, 0, 9};
	struct ddns_session s;
	struct ddns_token tk;

	sv[20] = 0x10; /* expires */
	CHECK_INT(ddns_session_decode(sv, sizeof sv, &s), 0);
	CHECK_INT(s.user_id, 9);
	CHECK_INT(s.expires, 0x10);
	CHECK_INT(ddns_session_decode(sv, sizeof sv - 1, &s), DDNS_ECORRUPT);
	CHECK_INT(ddns_session_decode(sv, sizeof sv + 0, &s), 0);
	sv[0] = 2;
	CHECK_INT(ddns_session_decode(sv, sizeof sv, &s), DDNS_ECORRUPT);
	sv[0] = 1;
	sv[4] = 0; /* user 0 */
	CHECK_INT(ddns_session_decode(sv, sizeof sv, &s), DDNS_ECORRUPT);

	tv[13] = 6;
	memcpy(tv + 14, "label!", 6);
	CHECK_INT(ddns_token_decode(tv, 20, &tk), 0);
	CHECK_STR(tk.label, "label!");
	CHECK_INT(tk.user_id, 9);
	CHECK_INT(ddns_token_decode(tv, 19, &tk), DDNS_ECORRUPT);
	tv[13] = 5;
	CHECK_INT(ddns_token_decode(tv, 20, &tk), DDNS_ECORRUPT);
	CHECK_INT(ddns_token_decode(tv, 19, &tk), 0);
	tv[13] = 65;
	CHECK_INT(ddns_token_decode(tv, 14 + 65, &tk), DDNS_ECORRUPT);
	tv[13] = 6;
	tv[15] = '\n';
	CHECK_INT(ddns_token_decode(tv, 20, &tk), DDNS_ECORRUPT);
	tv[15] = 'a';
	tv[4] = 0;
	CHECK_INT(ddns_token_decode(tv, 20, &tk), DDNS_ECORRUPT);
}

/* The examples of schema/lmdb-v1.md section 12, byte for byte. */
static void test_doc_vectors(void)
{
	static const uint8_t user_want[] = {
	    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x65, 0x53, 0xf1, 0x00, 0x05, 'a',	'l',  'i',  'c',
	    'e',  0x05, 'A',  'l',  'i',  'c',	'e',  0x00, 0x00,
	    0x00, 0x00, 0x01, 0x03, 'o',  'p',	's'};
	static const uint8_t session[] = {
	    0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x65,
	    0x53, 0xf1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x65, 0x54, 0x99,
	    0xc0, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	    0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa};
	static const uint8_t token[] = {0x01, 0x00, 0x00, 0x00, 0x03, 0x00,
					0x00, 0x00, 0x00, 0x65, 0x53, 0xf1,
					0x00, 0x02, 'c',  'i'};
	struct ddns_user u;
	struct ddns_session sess;
	struct ddns_token tk;
	uint8_t buf[256];
	int n;

	memset(&u, 0, sizeof u);
	u.created = 1700000000;
	snprintf(u.name, sizeof u.name, "alice");
	snprintf(u.display_name, sizeof u.display_name, "Alice");
	u.n_groups = 1;
	snprintf(u.groups[0], sizeof u.groups[0], "ops");
	n = ddns_user_encode(&u, buf, sizeof buf);
	CHECK_INT(n, (int)sizeof user_want);
	CHECK(n == (int)sizeof user_want &&
	      memcmp(buf, user_want, sizeof user_want) == 0);

	CHECK_INT(ddns_session_decode(session, sizeof session, &sess), 0);
	CHECK_INT(sess.user_id, 3);
	CHECK_INT(sess.created, 1700000000);
	CHECK_INT(sess.expires, 1700043200);
	CHECK_INT(sess.csrf_key[15], 0xaa);

	CHECK_INT(ddns_token_decode(token, sizeof token, &tk), 0);
	CHECK_INT(tk.user_id, 3);
	CHECK_INT(tk.created, 1700000000);
	CHECK_STR(tk.label, "ci");
}

static int count_user(const struct ddns_user *u, void *arg)
{
	++*(unsigned *)arg;
	return 0;
}

static int count_token(const struct ddns_token *tk, void *arg)
{
	++*(unsigned *)arg;
	return 0;
}

/* Records damaged behind the store's back: lookups report them, scans
 * skip them and go on. */
static void test_corrupt(const char *base)
{
	static const char sid[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	uint8_t junk[40] = {2}, key[32], idx[4] = {0, 0, 0, 1}, dangling[4];
	char dir[512], tok[DDNS_TOKEN_BUF];
	struct ddns_session sess;
	struct ddns_token tk;
	struct ddns_user u;
	unsigned n = 0;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "corrupt");
	s = open_store(dir, DDNS_STORE_CREATE);
	add_user(s, "good");
	add_user(s, "gone");
	t = begin(s, true);
	CHECK_INT(ddns_token_new(t, 1, "ok", tok, NULL), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	/* user 2's record from a future version; a user key of 3 octets; a
	 * name index to nowhere and one of the wrong size; a session and a
	 * token under the digest of SID with junk values */
	CHECK_INT(raw_put(dir, "users", "\0\0\0\2", 4, junk, sizeof junk), 0);
	CHECK_INT(raw_put(dir, "users", "\0\0\3", 3, junk, sizeof junk), 0);
	memcpy(dangling, "\0\0\0\x63", 4);
	CHECK_INT(raw_put(dir, "user_names", "nobody", 6, dangling, 4), 0);
	CHECK_INT(raw_put(dir, "user_names", "short", 5, idx, 3), 0);
	SHA256((const unsigned char *)sid, DDNS_TOKEN_LEN, key);
	CHECK_INT(raw_put(dir, "sessions", key, 32, junk, 37), 0);
	CHECK_INT(raw_put(dir, "tokens", key, 32, junk, 20), 0);

	s = open_store(dir, 0);
	t = begin(s, false);
	quiet(1);
	CHECK_INT(ddns_user_get(t, 2, &u), DDNS_ECORRUPT);
	CHECK_INT(ddns_user_get_by_name(t, "gone", &u), DDNS_ECORRUPT);
	CHECK_INT(ddns_user_get_by_name(t, "nobody", &u), DDNS_ECORRUPT);
	CHECK_INT(ddns_user_get_by_name(t, "short", &u), DDNS_ECORRUPT);
	CHECK_INT(ddns_session_get(t, sid, DDNS_TOKEN_LEN, 0, &sess),
		  DDNS_ECORRUPT);
	CHECK_INT(ddns_token_get(t, sid, DDNS_TOKEN_LEN, &tk), DDNS_ECORRUPT);
	CHECK_INT(ddns_user_foreach(t, count_user, &n), 0);
	CHECK_INT(n, 1); /* "good"; the two damaged ones skipped */
	n = 0;
	CHECK_INT(ddns_token_foreach(t, 0, count_token, &n), 0);
	CHECK_INT(n, 1);
	quiet(0);
	CHECK_INT(ddns_user_get_by_name(t, "good", &u), 0);
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN, &tk), 0);
	ddns_txn_abort(t);
	ddns_store_close(s);
}

/* A store made before the account databases existed: a reader sees no
 * users and no comments; a CREATE open adds the databases. */
static void test_store_without_accounts(const char *base)
{
	char dir[512], comment[DDNS_HOST_COMMENT_BUF], tok[DDNS_TOKEN_BUF];
	struct ddns_session sess;
	struct ddns_token tk;
	struct ddns_user u;
	unsigned n = 0;
	uint32_t zid;
	ddns_store *s;
	ddns_txn *t;

	path_join(dir, sizeof dir, base, "old");
	s = open_store(dir, DDNS_STORE_CREATE);
	t = begin(s, true);
	zid = add_zone(t, "old.test");
	add_host(t, "h.old.test", zid, 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);
	CHECK_INT(raw_drop(dir, account_dbs, 6), 0);

	s = open_store(dir, 0);
	t = begin(s, true);
	user_init(&u, "x");
	CHECK_INT(ddns_user_get(t, 1, &u), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_get_by_name(t, "x", &u), DDNS_ENOTFOUND);
	CHECK_INT(ddns_user_foreach(t, count_user, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(ddns_token_foreach(t, 0, count_token, &n), 0);
	CHECK_INT(ddns_session_get(t, tok, 0, 0, &sess), DDNS_ENOTFOUND);
	memset(tok, 'A', DDNS_TOKEN_LEN);
	CHECK_INT(ddns_token_get(t, tok, DDNS_TOKEN_LEN, &tk), DDNS_ENOTFOUND);
	CHECK_INT(ddns_host_comment_get(t, "h.old.test", comment), 0);
	CHECK_STR(comment, "");
	CHECK_INT(ddns_host_comment_put(t, "h.old.test", "c"), DDNS_EINVAL);
	CHECK_INT(ddns_user_add(t, &u), DDNS_EINVAL);
	CHECK_INT(ddns_host_del(t, "h.old.test"), 0); /* no comment to drop */
	ddns_txn_abort(t);
	ddns_store_close(s);

	s = open_store(dir, DDNS_STORE_RDONLY);
	ddns_store_close(s);
	s = open_store(dir, DDNS_STORE_CREATE);
	CHECK_INT(add_user(s, "x"), 1);
	t = begin(s, true);
	CHECK_INT(ddns_host_comment_put(t, "h.old.test", "now"), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	/* some of the six but not all: refused */
	CHECK_INT(raw_drop(dir, account_dbs + 3, 1), 0);
	{
		char err[256];
		ddns_store *bad = NULL;

		CHECK(ddns_store_open(&bad, dir, 0, 0, err, sizeof err) != 0);
		ddns_store_close(bad);
	}
}

/* Neither a session id nor a token is in the store's file in clear; their
 * digests are. */
static void test_not_in_clear(const char *base)
{
	char dir[512], file[600], sid[DDNS_TOKEN_BUF], tok[DDNS_TOKEN_BUF];
	struct ddns_token tk;
	uint8_t digest[32];
	static char data[1 << 20];
	size_t n = 0;
	ddns_store *s;
	ddns_txn *t;
	FILE *f;

	path_join(dir, sizeof dir, base, "clear");
	s = open_store(dir, DDNS_STORE_CREATE);
	add_user(s, "alice");
	t = begin(s, true);
	CHECK_INT(ddns_session_new(t, 1, 600, sid, NULL), 0);
	CHECK_INT(ddns_token_new(t, 1, "x", tok, &tk), 0);
	CHECK_INT(ddns_txn_commit(t), 0);
	ddns_store_close(s);

	path_join(file, sizeof file, dir, "data.mdb");
	if ((f = fopen(file, "rb")) != NULL) {
		n = fread(data, 1, sizeof data, f);
		fclose(f);
	}
	CHECK(n > 0 && n < sizeof data);
	CHECK(memmem(data, n, sid, DDNS_TOKEN_LEN) == NULL);
	CHECK(memmem(data, n, tok, DDNS_TOKEN_LEN) == NULL);
	CHECK(memmem(data, n, tk.digest, 32) != NULL);
	SHA256((const unsigned char *)sid, DDNS_TOKEN_LEN, digest);
	CHECK(memmem(data, n, digest, 32) != NULL);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char base[400], dir[512];
	uint32_t alice, bob;
	ddns_store *s;

	ddns_log_init("test_accounts", DDNS_LOG_ERR);
	snprintf(base, sizeof base, "%s/ddns-test-accounts-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	test_user_names();
	test_usable_by();
	test_user_codec();
	test_session_token_codec();
	test_doc_vectors();

	path_join(dir, sizeof dir, base, "main");
	s = open_store(dir, DDNS_STORE_CREATE);
	if (s) {
		test_user_add_get(s);
		test_user_invalid(s);
		test_user_put(s);
		test_user_foreach(s);
		alice = 1;
		bob = 2;
		test_sessions(s, alice, bob);
		test_csrf(s, alice);
		test_session_expire(s, bob);
		test_tokens(s, alice, bob);
		test_malformed_ids(s, alice);
		test_user_del(s);
		ddns_store_close(s);
	}
	test_corrupt(base);
	test_store_without_accounts(base);
	test_not_in_clear(base);
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
