/*
 * ddnsctl.c -- the operator's command line: zones, hosts, users and their
 * API tokens in the store.
 *
 * Every change is one short write transaction (a change of what a zone
 * answers bumps its SOA serial in the same one; a new secret does not),
 * committed before anything is printed; then pdns's caches are purged, and
 * a failed purge only warns.  A new secret is shown once, as the last line
 * of stdout, and wiped; so is a new API token.  A password is read from
 * stdin only (never from argv), hashed at once and wiped.  Only zone add,
 * host add and user add create a missing store.
 *
 * Exit status: 0 done, 1 the operation failed (not found, exists, store
 * error), 2 usage, invalid argument or configuration error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "accounts.h"
#include "addr.h"
#include "conf.h"
#include "ctl_data.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "password.h"
#include "purge.h"
#include "secret.h"
#include "store.h"

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
	CTL_HELP = -1, /* internal: --help seen after a command */
};

#define TTL_MAX	    86400
#define IP_ARGS_MAX 3 /* "none", one IPv4, one IPv6 */

/* ---- command line --------------------------------------------------- */

enum opt_bit {
	O_NS = 1 << 0,
	O_HOSTMASTER = 1 << 1,
	O_TTL = 1 << 2,
	O_FORCE = 1 << 3,
	O_IP = 1 << 4,
	O_JSON = 1 << 5,
	O_ZONE = 1 << 6,
	O_WILDCARD = 1 << 7,
	O_ADMIN = 1 << 8,     /* user add: a flag */
	O_ADMIN_SET = 1 << 9, /* user set: on|off */
	O_PW_STDIN = 1 << 10,
	O_DISPLAY = 1 << 11,
	O_EMAIL = 1 << 12,
	O_GROUP = 1 << 13,
	O_NO_GROUPS = 1 << 14,
	O_LABEL = 1 << 15,
	O_OWNER = 1 << 16,
	O_COMMENT = 1 << 17,
	O_VISIBILITY = 1 << 18,
	O_KIND = 1 << 19,
};

#define POS_MAX 2

/* A command's arguments; every pointer is borrowed from argv. */
struct opts {
	const char *pos[POS_MAX]; /* ZONE, FQDN, NAME [DIGEST-PREFIX] */
	unsigned n_pos;
	const char *ns[DDNS_ZONE_NS_MAX];
	unsigned n_ns;
	const char *ip[IP_ARGS_MAX];
	unsigned n_ip;
	const char *groups[DDNS_GROUPS_MAX];
	unsigned n_groups;
	const char *hostmaster, *ttl, *zone, *wildcard, *admin, *display,
	    *email, *label, *owner, *comment, *visibility, *kind;
	bool force, json, admin_flag, pw_stdin, no_groups;
	unsigned seen; /* enum opt_bit */
};

enum opt_kind {
	OPT_FLAG, /* sets a bool */
	OPT_ONE,  /* one value, given at most once */
	OPT_LIST, /* repeatable: --ns, --ip, --group */
};

struct optdef {
	const char *name;
	unsigned bit;
	enum opt_kind kind;
	size_t off; /* the member of struct opts (not for lists) */
};

#define F(m)   OPT_FLAG, offsetof(struct opts, m)
#define ONE(m) OPT_ONE, offsetof(struct opts, m)

/* An option name may appear twice, with and without a value (--admin):
 * the command's allowed bits pick one. */
static const struct optdef optdefs[] = {
    {"ns", O_NS, OPT_LIST, 0},
    {"hostmaster", O_HOSTMASTER, ONE(hostmaster)},
    {"ttl", O_TTL, ONE(ttl)},
    {"force", O_FORCE, F(force)},
    {"ip", O_IP, OPT_LIST, 0},
    {"json", O_JSON, F(json)},
    {"zone", O_ZONE, ONE(zone)},
    {"wildcard", O_WILDCARD, ONE(wildcard)},
    {"admin", O_ADMIN, F(admin_flag)},
    {"admin", O_ADMIN_SET, ONE(admin)},
    {"password-stdin", O_PW_STDIN, F(pw_stdin)},
    {"display-name", O_DISPLAY, ONE(display)},
    {"email", O_EMAIL, ONE(email)},
    {"group", O_GROUP, OPT_LIST, 0},
    {"no-groups", O_NO_GROUPS, F(no_groups)},
    {"label", O_LABEL, ONE(label)},
    {"owner", O_OWNER, ONE(owner)},
    {"comment", O_COMMENT, ONE(comment)},
    {"visibility", O_VISIBILITY, ONE(visibility)},
    {"kind", O_KIND, ONE(kind)},
};
#undef F
#undef ONE

struct ctl {
	struct ddns_conf *conf;
	ddns_store *store;
};

struct cmd {
	const char *group, *verb, *args;
	unsigned allowed, required; /* enum opt_bit */
	unsigned npos;		    /* positionals, named by ARGS's words */
	int (*run)(struct ctl *c, const struct opts *o);
	unsigned one_of; /* enum opt_bit: at least one of these is needed */
	bool create; /* may create the store (others need an existing one) */
	const char *sub; /* "token" of "user token add"; NULL for two words */
};

static const char *const usage_text[] = {
    "usage: ddnsctl -c FILE [--check-config] COMMAND [ARGS...]",
    "",
    "Manage the zones, hosts and users of a ddns store.",
    "",
    "  -c, --config FILE  the ddns configuration file (required)",
    "  --check-config     check FILE, print \"FILE: ok\" and exit",
    "  -h, --help         this text (after a command: that command's usage)",
    "",
    "Commands:",
    "  zone add ZONE --ns NAME [--ns NAME]... --hostmaster ADDR [--ttl "
    "SECONDS]",
    "           [--visibility public|private|admin] [--group G]...",
    "           [--kind native|master]",
    "      serve ZONE with up to 8 name servers; ADDR as "
    "hostmaster@example.org",
    "      or hostmaster.example.org; SECONDS is the TTL of the host records",
    "      (1..86400, default 60); who may add hosts in the portal: every",
    "      user (public, the default), members of one of up to 8 groups",
    "      (private), or admins only (admin); master: pdns sends NOTIFY",
    "      to secondaries after each change (README, Secondaries)",
    "  zone set ZONE [--ttl SECONDS] [--ns NAME]... [--hostmaster ADDR]",
    "           [--visibility V] [--group G]... [--no-groups] [--kind K]",
    "      change a zone's settings; --ns and --group replace the whole list",
    "  zone list [--json]",
    "      one line per zone: name, id, serial, ttl, name servers, hosts,",
    "      visibility and groups",
    "  zone del ZONE [--force]",
    "      stop serving ZONE; refused while it has hosts unless --force,",
    "      which deletes them too",
    "  host add FQDN [--ip ADDR]... [--owner USER] [--comment TEXT]",
    "      add a host one label below a zone (NAME.ZONE; a deeper name needs",
    "      a zone of its own); its secret is printed once, as the last line",
    "      of output; without --owner only admins see it in the portal",
    "  host secret FQDN",
    "      replace the secret (the old one stops working at once) and print",
    "      the new one as the last line",
    "  host set FQDN [--ip ADDR]... [--wildcard on|off] [--owner USER|none]",
    "           [--comment TEXT]",
    "      set the A (IPv4) or AAAA (IPv6) record, chosen by the address's",
    "      family; give --ip twice to set both; \"--ip none\" clears both",
    "      (\"--ip none --ip 192.0.2.1\" keeps only that IPv4 address);",
    "      --wildcard on makes every name below FQDN answer its addresses;",
    "      --owner gives the host to a user (or to none: admins only);",
    "      --comment \"\" removes the comment (at most 256 bytes of UTF-8)",
    "  host del FQDN",
    "  host block FQDN / host unblock FQDN",
    "      withdraw the host's records and answer its updates \"abuse\"",
    "      (an operator's block), or lift that block",
    "  host clear-abuse FQDN",
    "      lift the abuse flag that too many client faults set, and start",
    "      counting them afresh",
    "  host list [--json] [--zone ZONE]",
    "      a table, or a JSON array of objects (fqdn, zone, ipv4, ipv6,",
    "      updated, created, wildcard, abuse, blocked, tls4, tls6,",
    "      client_faults, server_faults, auth_faults, last_fault,",
    "      last_fault_text, owner, comment)",
    "  user add USER [--admin] [--password-stdin] [--display-name TEXT]",
    "           [--email ADDR] [--group G]...",
    "      add a portal user; --password-stdin reads the password (at least",
    "      8 characters) as one line from stdin, without echo on a terminal;",
    "      without it the user logs in through OpenID Connect only",
    "  user set USER [--admin on|off] [--password-stdin] [--display-name TEXT]",
    "           [--email ADDR] [--group G]... [--no-groups]",
    "      change a user; --group replaces the list of groups",
    "  user list [--json]",
    "      id, name, display name, e-mail, admin, groups, OpenID Connect",
    "      issuer and subject, number of hosts",
    "  user del USER [--force]",
    "      delete a user with its sessions and tokens; refused while it owns",
    "      hosts unless --force, which deletes them too",
    "  user token add USER [--label TEXT]",
    "      make a personal API token; it is printed once, as the last line",
    "  user token list USER [--json]",
    "      the user's tokens: digest prefix, created, label",
    "  user token del USER DIGEST-PREFIX",
    "      revoke the token whose digest starts with DIGEST-PREFIX (hex)",
    "",
    "Names may be given in any letter case, with a trailing dot, or in UTF-8",
    "(international names are stored as A-labels). User names are 1 to 64 of",
    "a-z 0-9 . _ @ + - (upper case is folded), first a letter or digit.",
    "Only zone add, host add and user add create the store when [store] path",
    "has none.",
    "After a change pdns's caches are purged through [pdns] control_socket,",
    "when set; a failed purge prints a warning and does not fail the command.",
    "",
    "Exit status: 0 done; 1 the operation failed (not found, already exists,",
    "store error); 2 usage error, invalid name, address, TTL, group, comment",
    "or password, bad config.",
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("ddnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	for (size_t i = 0; i < sizeof usage_text / sizeof usage_text[0]; i++) {
		fprintf(f, "%s\n", usage_text[i]);
		if (strncmp(usage_text[i], "      revoke the token", 22) == 0)
			ctl_data_usage(f); /* migrate, backup... (ctl_data.c) */
	}
}

#define CMD_NAME_BUF 32

/* C's words ("host set", "user token add") into OUT. */
static const char *cmd_name(const struct cmd *c, char out[CMD_NAME_BUF])
{
	snprintf(out, CMD_NAME_BUF, "%s %s%s%s", c->group, c->sub ? c->sub : "",
		 c->sub ? " " : "", c->verb);
	return out;
}

static void usage_cmd(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: ddnsctl -c FILE %s %s%s%s%s%s\n", c->group,
		c->sub ? c->sub : "", c->sub ? " " : "", c->verb,
		c->args[0] ? " " : "", c->args);
}

/* Print the usage of C (or a hint) to stderr; returns CTL_USAGE. */
static int usage_error(const struct cmd *c)
{
	if (c)
		usage_cmd(stderr, c);
	else
		fputs("try 'ddnsctl --help'\n", stderr);
	return CTL_USAGE;
}

/* Append V to the list option D of O (--ns, --ip, --group). */
static int opt_list(struct opts *o, const struct optdef *d, const char *v)
{
	const char **arr = o->groups;
	unsigned *n = &o->n_groups, max = DDNS_GROUPS_MAX;

	if (d->bit == O_NS) {
		arr = o->ns;
		n = &o->n_ns;
		max = DDNS_ZONE_NS_MAX;
	} else if (d->bit == O_IP) {
		arr = o->ip;
		n = &o->n_ip;
		max = IP_ARGS_MAX;
	}
	if (*n < max) {
		arr[(*n)++] = v;
		return CTL_OK;
	}
	if (d->bit == O_IP)
		say("too many --ip: one IPv4, one IPv6 and \"none\" at most");
	else
		say("at most %u --%s", max, d->name);
	return CTL_USAGE;
}

/* Record option D with value V (NULL for flags) in O. */
static int opt_store(struct opts *o, const struct optdef *d, const char *v)
{
	const char **single;

	o->seen |= d->bit;
	if (d->kind == OPT_LIST)
		return opt_list(o, d, v);
	if (d->kind == OPT_FLAG) {
		*(bool *)((char *)o + d->off) = true;
		return CTL_OK;
	}
	single = (const char **)((char *)o + d->off);
	if (*single) {
		say("--%s given twice", d->name);
		return CTL_USAGE;
	}
	*single = v;
	return CTL_OK;
}

/* The option NAME (LEN octets) that ALLOWED permits, else any of that
 * name (for the error message), else NULL. */
static const struct optdef *opt_find(const char *name, size_t len,
				     unsigned allowed)
{
	const struct optdef *any = NULL;

	for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++) {
		if (strlen(optdefs[i].name) != len ||
		    memcmp(optdefs[i].name, name, len) != 0)
			continue;
		if (allowed & optdefs[i].bit)
			return &optdefs[i];
		any = any ? any : &optdefs[i];
	}
	return any;
}

/* One "--name[=value]" at ARGV[*I] (advanced past a separate value). */
static int parse_opt(int argc, char **argv, int *i, const struct cmd *c,
		     struct opts *o)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *v = NULL;
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct optdef *d = opt_find(a, len, c->allowed);

	if (strcmp(a, "help") == 0)
		return CTL_HELP;
	if (!d || !(c->allowed & d->bit)) {
		char cn[CMD_NAME_BUF];

		say("%s option '--%.*s' for %s", d ? "no" : "unknown", (int)len,
		    a, cmd_name(c, cn));
		return CTL_USAGE;
	}
	if (d->kind != OPT_FLAG && eq) {
		v = eq + 1;
	} else if (d->kind != OPT_FLAG) {
		if (++*i >= argc) {
			say("--%s needs a value", d->name);
			return CTL_USAGE;
		}
		v = argv[*i];
	} else if (eq) {
		say("--%s takes no value", d->name);
		return CTL_USAGE;
	}
	return opt_store(o, d, v);
}

/* C's options of which at least one is needed ("--ip or --wildcard"). */
static int check_one_of(const struct cmd *c, const struct opts *o)
{
	char names[256] = "", cn[CMD_NAME_BUF];
	size_t n = 0;

	if (!c->one_of || (o->seen & c->one_of))
		return CTL_OK;
	for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
		if ((c->one_of & optdefs[k].bit) && n < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n,
					      "%s--%s", n ? " or " : "",
					      optdefs[k].name);
	say("%s: missing %s", cmd_name(c, cn), names);
	return CTL_USAGE;
}

/* The K-th word of C's argument synopsis (its K-th positional's name)
 * into OUT. */
static const char *pos_name(const struct cmd *c, unsigned k, char out[32])
{
	const char *p = c->args;
	size_t n;

	for (;;) {
		p += strspn(p, " ");
		n = strcspn(p, " ");
		if (k-- == 0 || !*p)
			break;
		p += n;
	}
	snprintf(out, 32, "%.*s", (int)n, p);
	return out;
}

/*
 * Parse the ARGC arguments after "GROUP VERB".  Words starting with "--"
 * are options (until a lone "--"); anything else, "-a.example" included,
 * is the positional, so a bad name gets a name error, not an option error.
 */
static int parse_args(int argc, char **argv, const struct cmd *c,
		      struct opts *o)
{
	char cn[CMD_NAME_BUF];
	bool dashdash = false;
	int rc;

	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = true;
		} else if (!dashdash && (strcmp(a, "-h") == 0)) {
			return CTL_HELP;
		} else if (!dashdash && strncmp(a, "--", 2) == 0) {
			if ((rc = parse_opt(argc, argv, &i, c, o)) != 0)
				return rc;
		} else if (o->n_pos < c->npos) {
			o->pos[o->n_pos++] = a;
		} else {
			say("unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	if (o->n_pos < c->npos) {
		char name[32];

		say("%s: missing %s", cmd_name(c, cn),
		    pos_name(c, o->n_pos, name));
		return CTL_USAGE;
	}
	for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
		if ((c->required & optdefs[k].bit) &&
		    !(o->seen & optdefs[k].bit)) {
			say("%s: missing --%s", cmd_name(c, cn),
			    optdefs[k].name);
			return CTL_USAGE;
		}
	return check_one_of(c, o);
}

/* ---- argument checks ------------------------------------------------ */

/* Normalise the operator's IN (a WHAT name) into OUT, or say why not. */
static int arg_name(const char *what, const char *in, char out[DDNS_NAME_BUF])
{
	char why[128];

	if (ddns_name_normalize(in, strlen(in), out) == 0)
		return CTL_OK;
	ddns_name_why_invalid(in, strlen(in), why, sizeof why);
	say("invalid %s name '%s': %s", what, in, why);
	return CTL_USAGE;
}

struct ip_args {
	bool clear, has4, has6;
	struct in_addr v4;
	struct in6_addr v6;
};

static int parse_ips(const struct opts *o, struct ip_args *ip)
{
	memset(ip, 0, sizeof *ip);
	for (unsigned i = 0; i < o->n_ip; i++) {
		const char *s = o->ip[i];
		struct ddns_addr a;
		bool *has;
		if (strcmp(s, "none") == 0) {
			ip->clear = true;
			continue;
		}
		if (ddns_addr_parse(s, strlen(s), &a) != 0) {
			say("invalid address '%s' (expected an IPv4 or IPv6 "
			    "unicast address, or none)",
			    s);
			return CTL_USAGE;
		}
		has = a.family == AF_INET ? &ip->has4 : &ip->has6;
		if (*has) {
			say("two %s addresses given; --ip takes one of each "
			    "family",
			    a.family == AF_INET ? "IPv4" : "IPv6");
			return CTL_USAGE;
		}
		*has = true;
		if (a.family == AF_INET)
			ip->v4 = a.u.v4;
		else
			ip->v6 = a.u.v6;
	}
	return CTL_OK;
}

/* Apply IP to H; true if an address changed (then H->updated = NOW). */
static bool apply_ips(struct ddns_host *h, const struct ip_args *ip,
		      int64_t now)
{
	uint32_t f0 = h->flags;
	struct in_addr v4 = h->v4;
	struct in6_addr v6 = h->v6;
	bool ch4, ch6;

	if (ip->clear) {
		h->flags &= ~(uint32_t)(DDNS_HOST_V4 | DDNS_HOST_V6);
		memset(&h->v4, 0, sizeof h->v4);
		memset(&h->v6, 0, sizeof h->v6);
	}
	if (ip->has4) {
		h->flags |= DDNS_HOST_V4;
		h->v4 = ip->v4;
	}
	if (ip->has6) {
		h->flags |= DDNS_HOST_V6;
		h->v6 = ip->v6;
	}
	ch4 = ((f0 ^ h->flags) & DDNS_HOST_V4) ||
	      memcmp(&v4, &h->v4, sizeof v4) != 0;
	ch6 = ((f0 ^ h->flags) & DDNS_HOST_V6) ||
	      memcmp(&v6, &h->v6, sizeof v6) != 0;
	/* An operator's change did not come over TLS. */
	if (ch4)
		h->flags &= ~(uint32_t)DDNS_HOST_TLS4;
	if (ch6)
		h->flags &= ~(uint32_t)DDNS_HOST_TLS6;
	if (ch4 || ch6)
		h->updated = now;
	return ch4 || ch6;
}

/* ---- output helpers ------------------------------------------------- */

/* Text of H's address of FAMILY into BUF, or NULL when it has none. */
static const char *host_addr(const struct ddns_host *h, int family,
			     char buf[DDNS_ADDR_STRLEN])
{
	struct ddns_addr a = {.family = family};

	if (family == AF_INET && (h->flags & DDNS_HOST_V4))
		a.u.v4 = h->v4;
	else if (family == AF_INET6 && (h->flags & DDNS_HOST_V6))
		a.u.v6 = h->v6;
	else
		return NULL;
	return ddns_addr_format(&a, buf, DDNS_ADDR_STRLEN);
}

/* ISO 8601 UTC of unix time T into BUF, or NULL for 0 (never). */
static const char *iso_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return NULL;
	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

/* Dump JSON to stdout; it is freed. */
static int print_json(json_t *j)
{
	int rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 &&
			 fputc('\n', stdout) != EOF
		     ? CTL_OK
		     : CTL_FAIL;

	json_decref(j);
	if (rc != CTL_OK)
		say("cannot write the JSON output");
	return rc;
}

/*
 * Write SECRET (a host secret or an API token) as the last line of
 * stdout, straight to the descriptor so that no copy of it stays in
 * stdio's buffer; AGAIN says how to get a new one.  The caller wipes
 * SECRET.
 */
static int print_once(const char *secret, const char *again)
{
	char line[DDNS_TOKEN_BUF + 16];
	size_t len = strlen(secret), off = 0;

	if (fflush(stdout) != 0 || len + 1 >= sizeof line)
		return CTL_FAIL;
	memcpy(line, secret, len);
	line[len++] = '\n';
	while (off < len) {
		ssize_t w = write(STDOUT_FILENO, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	OPENSSL_cleanse(line, sizeof line);
	if (off < len) {
		say("cannot write it (%s); %s", strerror(errno), again);
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int print_secret(const char *secret)
{
	return print_once(secret, "make a new secret with 'host secret'");
}

/* ---- store helpers (each prints its error, returns an exit code) ---- */

static int txn_begin(struct ctl *c, bool write, ddns_txn **t)
{
	int rc = ddns_txn_begin(c->store, write, t);

	if (rc != 0) {
		say("cannot begin a store transaction: %s", ddns_strerror(rc));
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int txn_commit(ddns_txn *t)
{
	int rc = ddns_txn_commit(t);

	if (rc != 0) {
		say("commit failed, nothing was changed: %s",
		    ddns_strerror(rc));
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int store_err(const char *what, const char *name, int rc)
{
	say("%s %s: %s", what, name, ddns_strerror(rc));
	return CTL_FAIL;
}

/* Purge NAMES from pdns's caches, if a control socket is configured. */
static void purge(const struct ctl *c, const char *const *names, size_t n)
{
	const char *sock = c->conf->pdns_control_socket;
	int rc;

	if (!sock || !*sock)
		return;
	/* ddns_purge_sync has logged which name failed and why. */
	rc = ddns_purge_sync(sock, names, n, c->conf->pdns_purge_timeout_ms);
	if (rc != 0)
		say("warning: the change is stored, but the pdns cache purge "
		    "failed; pdns may answer old data until it expires");
}

/* Purge ZONE and every name below it ("ZONE$"). */
static void purge_zone(const struct ctl *c, const char *zone)
{
	char sub[DDNS_NAME_BUF + 1];
	const char *names[1] = {sub};

	snprintf(sub, sizeof sub, "%s$", zone);
	purge(c, names, 1);
}

/* A zone was added or removed: pdns re-reads its zone list (its zone cache
 * would otherwise answer REFUSED for a new zone for minutes), then forgets
 * what it cached below it. */
static void zone_changed(const struct ctl *c, const char *zone)
{
	const char *sock = c->conf->pdns_control_socket;

	if (sock && *sock &&
	    ddns_pdns_rediscover(sock, c->conf->pdns_purge_timeout_ms) != 0)
		say("warning: the change is stored, but pdns did not re-read "
		    "its zones; it may take up to zone-cache-refresh-interval "
		    "to show");
	purge_zone(c, zone);
}

/* Purge what a change of host FQDN in ZONE may have left in pdns's
 * caches, by the one policy of purge.h (SUBTREE: a host that is or was a
 * wildcard, or one added or deleted). */
static void purge_host(const struct ctl *c, const char *fqdn, const char *zone,
		       bool subtree)
{
	struct ddns_purge_names pn;
	const char *names[DDNS_PURGE_HOST_MAX];

	ddns_purge_host_names(fqdn, zone, subtree, &pn);
	for (unsigned i = 0; i < pn.n; i++)
		names[i] = pn.v[i];
	purge(c, names, pn.n);
}

/* ---- users as arguments -------------------------------------------- */

#define USER_BUF (DDNS_USER_NAME_MAX + 1)

/* The operator's user name IN, ASCII letters folded to lower case, into
 * OUT, or say why it is not a valid name. */
static int arg_user(const char *in, char out[USER_BUF])
{
	size_t len = strlen(in);

	for (size_t i = 0; i < len && i < DDNS_USER_NAME_MAX; i++)
		out[i] =
		    in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + 32) : in[i];
	out[len < DDNS_USER_NAME_MAX ? len : DDNS_USER_NAME_MAX] = '\0';
	if (len <= DDNS_USER_NAME_MAX && ddns_user_name_valid(out))
		return CTL_OK;
	say("invalid user name '%s' (1 to %d of a-z 0-9 . _ @ + -, first a "
	    "letter or digit)",
	    in, DDNS_USER_NAME_MAX);
	return CTL_USAGE;
}

/* --owner USER|none into OUT ("" for none), or say why not. */
static int arg_owner(const char *in, char out[USER_BUF])
{
	if (strcmp(in, "none") == 0) {
		out[0] = '\0';
		return CTL_OK;
	}
	return arg_user(in, out);
}

/* Load user NAME into U, or say why not. */
static int user_load(ddns_txn *t, const char *name, struct ddns_user *u)
{
	int rc = ddns_user_get_by_name(t, name, u);

	if (rc == DDNS_ENOTFOUND) {
		say("no user %s", name);
		return CTL_FAIL;
	}
	return rc ? store_err("cannot read user", name, rc) : CTL_OK;
}

/* The id of owner NAME ("" = none: 0) into *ID, or say why not. */
static int owner_load(ddns_txn *t, const char *name, uint32_t *id)
{
	struct ddns_user *u;
	int rc;

	*id = 0;
	if (!name[0])
		return CTL_OK;
	if (!(u = malloc(sizeof *u))) {
		say("out of memory");
		return CTL_FAIL;
	}
	if ((rc = user_load(t, name, u)) == CTL_OK)
		*id = u->id;
	free(u);
	return rc;
}

/* A --comment: text of at most DDNS_HOST_COMMENT_MAX bytes. */
static int arg_comment(const char *s)
{
	size_t len = strlen(s);

	if (len <= DDNS_HOST_COMMENT_MAX && ddns_text_valid(s, len))
		return CTL_OK;
	say("invalid --comment (at most %d bytes of UTF-8 without control "
	    "characters)",
	    DDNS_HOST_COMMENT_MAX);
	return CTL_USAGE;
}

/* ---- zones ---------------------------------------------------------- */

/* The --group options of O into OUT[*N] (at most MAX; none for
 * --no-groups), or say why not. */
static int groups_from_opts(const struct opts *o, unsigned max,
			    char (*out)[DDNS_GROUP_MAX + 1], unsigned *n)
{
	if (o->no_groups && o->n_groups) {
		say("--group and --no-groups exclude each other");
		return CTL_USAGE;
	}
	if (o->n_groups > max) {
		say("at most %u --group", max);
		return CTL_USAGE;
	}
	for (unsigned i = 0; i < o->n_groups; i++) {
		const char *g = o->groups[i];

		if (!ddns_group_valid(g, strlen(g))) {
			say("invalid group '%s' (1 to %d bytes of UTF-8 "
			    "without control characters, not starting or "
			    "ending with a space)",
			    g, DDNS_GROUP_MAX);
			return CTL_USAGE;
		}
		for (unsigned k = 0; k < i; k++)
			if (strcmp(o->groups[k], g) == 0) {
				say("group '%s' given twice", g);
				return CTL_USAGE;
			}
		memcpy(out[i], g, strlen(g) + 1);
	}
	*n = o->n_groups;
	return CTL_OK;
}

static const char *const visibility_names[] = {"public", "private", "admin"};

static const char *visibility_name(unsigned v)
{
	return v <= DDNS_ZONE_ADMIN ? visibility_names[v] : "unknown";
}

/* The name servers of O into Z (replacing its list), or say why not. */
static int zone_ns_from_opts(const struct opts *o, struct ddns_zone *z)
{
	char ns[DDNS_ZONE_NS_MAX][DDNS_NAME_BUF];
	int rc;

	for (unsigned i = 0; i < o->n_ns; i++) {
		if ((rc = arg_name("name server", o->ns[i], ns[i])) != 0)
			return rc;
		for (unsigned k = 0; k < i; k++)
			if (strcmp(ns[k], ns[i]) == 0) {
				say("name server %s given twice", ns[i]);
				return CTL_USAGE;
			}
	}
	memcpy(z->ns, ns, sizeof ns);
	z->n_ns = (uint8_t)o->n_ns;
	return CTL_OK;
}

/* --visibility of O into *OUT. */
static int parse_visibility(const struct opts *o, uint8_t *out)
{
	for (unsigned v = 0; v <= DDNS_ZONE_ADMIN; v++)
		if (strcmp(o->visibility, visibility_names[v]) == 0) {
			*out = (uint8_t)v;
			return CTL_OK;
		}
	say("invalid --visibility '%s' (public, private or admin)",
	    o->visibility);
	return CTL_USAGE;
}

/* --kind native|master into *OUT. */
static int parse_kind(const char *s, uint8_t *out)
{
	if (strcmp(s, "native") == 0 || strcmp(s, "master") == 0) {
		*out = s[0] == 'm' ? DDNS_ZONE_MASTER : DDNS_ZONE_NATIVE;
		return CTL_OK;
	}
	say("invalid --kind '%s' (native or master)", s);
	return CTL_USAGE;
}

/* Apply the zone settings O gives (a zone's name aside) to Z. */
static int zone_apply_opts(const struct opts *o, struct ddns_zone *z)
{
	unsigned n = 0;
	uint64_t ttl;
	int rc;

	if (o->n_ns && (rc = zone_ns_from_opts(o, z)) != 0)
		return rc;
	if (o->hostmaster &&
	    ddns_mailbox_to_rname(o->hostmaster, z->hostmaster) != 0) {
		say("invalid --hostmaster '%s' (expected an address such as "
		    "hostmaster@example.org)",
		    o->hostmaster);
		return CTL_USAGE;
	}
	if (o->ttl && ddns_parse_uint(o->ttl, 1, TTL_MAX, &ttl) != 0) {
		say("invalid --ttl '%s' (seconds, 1 to %d)", o->ttl, TTL_MAX);
		return CTL_USAGE;
	}
	if (o->ttl)
		z->ttl = (uint32_t)ttl;
	if (o->visibility && (rc = parse_visibility(o, &z->visibility)) != 0)
		return rc;
	if (o->kind && (rc = parse_kind(o->kind, &z->kind)) != 0)
		return rc;
	if ((o->no_groups || o->n_groups) &&
	    (rc = groups_from_opts(o, DDNS_ZONE_GROUPS_MAX, z->groups, &n)) !=
		0)
		return rc;
	if (o->no_groups || o->n_groups)
		z->n_groups = (uint8_t)n;
	return CTL_OK;
}

static int zone_from_opts(const struct opts *o, struct ddns_zone *z)
{
	int rc;

	memset(z, 0, sizeof *z);
	if ((rc = arg_name("zone", o->pos[0], z->name)) != 0)
		return rc;
	z->ttl = DDNS_DEFAULT_TTL;
	z->kind = DDNS_ZONE_NATIVE;
	z->visibility = DDNS_ZONE_PUBLIC; /* as on the service we replace */
	return zone_apply_opts(o, z);
}

/* A private zone without groups is only for admins: say so. */
static void zone_warn_groups(const struct ddns_zone *z)
{
	if (z->visibility == DDNS_ZONE_PRIVATE && z->n_groups == 0)
		say("warning: zone %s is private without groups: only admins "
		    "can add hosts to it",
		    z->name);
}

/* Hosts of the enclosing zone that a new zone would take over. */
struct shadow {
	const char *zone;
	unsigned n;
	char first[DDNS_NAME_BUF];
};

static int shadow_cb(const struct ddns_host *h, void *arg)
{
	struct shadow *s = arg;

	if (ddns_name_in_zone(h->fqdn, s->zone) && s->n++ == 0)
		memcpy(s->first, h->fqdn, sizeof s->first);
	return 0;
}

/* Refuse a new zone Z that exists, or under which (or at whose apex) the
 * enclosing zone already has hosts. */
static int zone_add_check(ddns_txn *t, const struct ddns_zone *z)
{
	struct ddns_zone parent;
	struct shadow sh = {.zone = z->name};
	int rc = ddns_zone_find(t, z->name, &parent);

	if (rc == DDNS_ENOZONE)
		return CTL_OK;
	if (rc != 0)
		return store_err("cannot look up zone", z->name, rc);
	if (strcmp(parent.name, z->name) == 0) {
		say("zone %s already exists", z->name);
		return CTL_FAIL;
	}
	if ((rc = ddns_host_foreach(t, &parent, shadow_cb, &sh)) != 0)
		return store_err("cannot list the hosts of zone", parent.name,
				 rc);
	if (sh.n > 0) {
		say("zone %s would take over %u host(s) of zone %s (such as "
		    "%s); delete them first",
		    z->name, sh.n, parent.name, sh.first);
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int cmd_zone_add(struct ctl *c, const struct opts *o)
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = zone_from_opts(o, &z)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = zone_add_check(t, &z)) != 0)
		goto fail;
	rc = ddns_zone_add(t, &z);
	if (rc == DDNS_EEXIST || rc == DDNS_EBUSY) {
		/* zone_add_check said why already; this is the store's own
		 * check of the same rules. */
		say("zone %s: %s", z.name,
		    rc == DDNS_EEXIST
			? "already exists"
			: "hosts of an enclosing zone lie at or below it");
		rc = CTL_FAIL;
		goto fail;
	}
	if (rc != 0) {
		rc = store_err("cannot add zone", z.name, rc);
		goto fail;
	}
	if ((rc = txn_commit(t)) != 0)
		return rc;
	printf("zone %s added (id %u, serial %u, ttl %u, %s)\n", z.name, z.id,
	       z.serial, z.ttl, visibility_name(z.visibility));
	zone_warn_groups(&z);
	zone_changed(c, z.name);
	return CTL_OK;
fail:
	ddns_txn_abort(t);
	return rc;
}

static int cmd_zone_del(struct ctl *c, const struct opts *o)
{
	char name[DDNS_NAME_BUF];
	unsigned n = 0;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = arg_name("zone", o->pos[0], name)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	rc = ddns_zone_del(t, name, o->force, &n);
	if (rc != 0) {
		ddns_txn_abort(t);
		if (rc == DDNS_ENOTFOUND)
			say("no zone %s", name);
		else if (rc == DDNS_EBUSY)
			say("zone %s still has %u host(s); delete them first, "
			    "or use --force to delete them with the zone",
			    name, n);
		else
			store_err("cannot delete zone", name, rc);
		return CTL_FAIL;
	}
	if ((rc = txn_commit(t)) != 0)
		return rc;
	if (n > 0)
		printf("zone %s deleted, with its %u host(s)\n", name, n);
	else
		printf("zone %s deleted\n", name);
	zone_changed(c, name);
	return CTL_OK;
}

/* Every zone, with its number of hosts. */
struct zone_vec {
	struct ddns_zone *v;
	unsigned *hosts;
	size_t n, cap;
};

static void zone_vec_free(struct zone_vec *zv)
{
	free(zv->v);
	free(zv->hosts);
	memset(zv, 0, sizeof *zv);
}

static int zone_collect_cb(const struct ddns_zone *z, void *arg)
{
	struct zone_vec *zv = arg;

	if (zv->n == zv->cap) {
		size_t cap = zv->cap ? 2 * zv->cap : 8;
		struct ddns_zone *v = realloc(zv->v, cap * sizeof *v);
		if (!v)
			return DDNS_ENOMEM;
		zv->v = v;
		unsigned *h = realloc(zv->hosts, cap * sizeof *h);
		if (!h)
			return DDNS_ENOMEM;
		zv->hosts = h;
		zv->cap = cap;
	}
	zv->v[zv->n] = *z;
	zv->hosts[zv->n++] = 0;
	return 0;
}

static int count_cb(const struct ddns_host *h, void *arg)
{
	(void)h;
	++*(unsigned *)arg;
	return 0;
}

/* Fill ZV with every zone, and their host counts if COUNT. */
static int load_zones(ddns_txn *t, struct zone_vec *zv, bool count)
{
	int rc = ddns_zone_foreach(t, zone_collect_cb, zv);

	for (size_t i = 0; rc == 0 && count && i < zv->n; i++)
		rc = ddns_host_foreach(t, &zv->v[i], count_cb, &zv->hosts[i]);
	if (rc != 0) {
		say("cannot list the zones: %s", ddns_strerror(rc));
		return CTL_FAIL;
	}
	return CTL_OK;
}

static const char *zone_name_by_id(const struct zone_vec *zv, uint32_t id)
{
	for (size_t i = 0; i < zv->n; i++)
		if (zv->v[i].id == id)
			return zv->v[i].name;
	return NULL;
}

static json_t *time_json(int64_t t)
{
	char buf[32];
	const char *s = iso_time(t, buf);

	return s ? json_string(s) : json_null();
}

/* Set KEY of O to V (stolen); nonzero if V is NULL or the set failed. */
static int jset(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) != 0;
}

/* N groups (char[DDNS_GROUP_MAX + 1] each, from G) as a JSON array of
 * strings; NULL when out of memory. */
static json_t *groups_json(const char *g, unsigned n)
{
	json_t *arr = json_array();

	for (unsigned i = 0; arr && i < n; i++)
		if (json_array_append_new(
			arr, json_string(g + i * (DDNS_GROUP_MAX + 1))) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	return arr;
}

/* Print N groups from G joined by commas. */
static void groups_print(const char *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", g + i * (DDNS_GROUP_MAX + 1));
}

static json_t *zone_json(const struct ddns_zone *z, unsigned hosts)
{
	json_t *o = json_object(), *ns = json_array();
	int bad = !o || !ns;

	for (unsigned i = 0; !bad && i < z->n_ns; i++)
		bad |= json_array_append_new(ns, json_string(z->ns[i])) != 0;
	if (bad) {
		json_decref(ns);
		json_decref(o);
		return NULL;
	}
	bad |= jset(o, "name", json_string(z->name));
	bad |= jset(o, "id", json_integer(z->id));
	bad |= jset(o, "serial", json_integer(z->serial));
	bad |= jset(o, "ttl", json_integer(z->ttl));
	bad |= jset(o, "ns", ns);
	bad |= jset(o, "hostmaster", json_string(z->hostmaster));
	bad |= jset(o, "hosts", json_integer(hosts));
	bad |= jset(o, "created", time_json(z->created));
	bad |=
	    jset(o, "visibility", json_string(visibility_name(z->visibility)));
	bad |= jset(o, "groups", groups_json(z->groups[0], z->n_groups));
	bad |= jset(o, "kind", json_string(z->kind == DDNS_ZONE_MASTER
						   ? "master"
						   : "native"));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One line about Z, with its number of HOSTS unless that is NULL. */
static void zone_print(const struct ddns_zone *z, const unsigned *hosts)
{
	printf("%s id=%u serial=%u ttl=%u ns=", z->name, z->id, z->serial,
	       z->ttl);
	for (unsigned i = 0; i < z->n_ns; i++)
		printf("%s%s", i ? "," : "", z->ns[i]);
	printf(" hostmaster=%s", z->hostmaster);
	if (hosts)
		printf(" hosts=%u", *hosts);
	printf(" visibility=%s", visibility_name(z->visibility));
	if (z->n_groups) {
		printf(" groups=");
		groups_print(z->groups[0], z->n_groups);
	}
	if (z->kind == DDNS_ZONE_MASTER)
		printf(" kind=master");
	putchar('\n');
}

static int zone_list_json(const struct zone_vec *zv)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < zv->n; i++) {
		json_t *o = zone_json(&zv->v[i], zv->hosts[i]);
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (!arr) {
		say("out of memory");
		return CTL_FAIL;
	}
	return print_json(arr);
}

static int cmd_zone_list(struct ctl *c, const struct opts *o)
{
	struct zone_vec zv = {0};
	ddns_txn *t = NULL;
	int rc;

	if ((rc = txn_begin(c, false, &t)) != 0)
		return rc;
	rc = load_zones(t, &zv, true);
	ddns_txn_abort(t);
	if (rc == CTL_OK && o->json) {
		rc = zone_list_json(&zv);
	} else if (rc == CTL_OK) {
		for (size_t i = 0; i < zv.n; i++)
			zone_print(&zv.v[i], &zv.hosts[i]);
	}
	zone_vec_free(&zv);
	return rc;
}

/* Whether the settings in A and B differ in what DNS answers (TTL, NS,
 * SOA RNAME) and in who may use the zone. */
static void zone_diff(const struct ddns_zone *a, const struct ddns_zone *b,
		      bool *dns, bool *access)
{
	/* a new kind gets a new serial too: a zone made master is then
	 * NOTIFYed at pdns's next check */
	*dns = a->ttl != b->ttl || a->n_ns != b->n_ns || a->kind != b->kind ||
	       strcmp(a->hostmaster, b->hostmaster) != 0;
	for (unsigned i = 0; !*dns && i < a->n_ns; i++)
		*dns = strcmp(a->ns[i], b->ns[i]) != 0;
	*access = a->visibility != b->visibility || a->n_groups != b->n_groups;
	for (unsigned i = 0; !*access && i < a->n_groups; i++)
		*access = strcmp(a->groups[i], b->groups[i]) != 0;
}

/* Write the changed zone Z (a new serial if DNS answers change). */
static int zone_store(ddns_txn *t, struct ddns_zone *z, bool dns)
{
	int rc = ddns_zone_update(t, z);

	if (rc != 0)
		return store_err("cannot write zone", z->name, rc);
	if (dns && (rc = ddns_zone_bump_serial(t, z->name, &z->serial)) != 0)
		return store_err("cannot raise the serial of zone", z->name,
				 rc);
	return CTL_OK;
}

/* Load zone NAME into Z, or say why not. */
static int zone_load(ddns_txn *t, const char *name, struct ddns_zone *z)
{
	int rc = ddns_zone_get(t, name, z);

	if (rc == DDNS_ENOTFOUND) {
		say("no zone %s", name);
		return CTL_FAIL;
	}
	return rc ? store_err("cannot read zone", name, rc) : CTL_OK;
}

static int cmd_zone_set(struct ctl *c, const struct opts *o)
{
	struct ddns_zone z, old;
	char name[DDNS_NAME_BUF];
	ddns_txn *t = NULL;
	bool dns, access;
	int rc;

	if ((rc = arg_name("zone", o->pos[0], name)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = zone_load(t, name, &z)) != 0)
		goto fail;
	memcpy(&old, &z, sizeof z);
	if ((rc = zone_apply_opts(o, &z)) != 0)
		goto fail;
	zone_diff(&old, &z, &dns, &access);
	if (!dns && !access) {
		ddns_txn_abort(t);
		printf("unchanged: ");
		zone_print(&z, NULL);
		return CTL_OK;
	}
	if ((rc = zone_store(t, &z, dns)) != 0)
		goto fail;
	if ((rc = txn_commit(t)) != 0)
		return rc;
	printf("changed: ");
	zone_print(&z, NULL);
	zone_warn_groups(&z);
	if (dns)
		purge_zone(c, z.name);
	return CTL_OK;
fail:
	ddns_txn_abort(t);
	return rc;
}

/* ---- hosts ---------------------------------------------------------- */

/* Load host FQDN and its zone, or say why not. */
static int host_load(ddns_txn *t, const char *fqdn, struct ddns_host *h,
		     struct ddns_zone *z)
{
	int rc = ddns_host_get(t, fqdn, h);

	if (rc == DDNS_ENOTFOUND) {
		if (ddns_zone_find(t, fqdn, z) == DDNS_ENOZONE)
			say("no host %s (and the name is in no zone)", fqdn);
		else
			say("no host %s", fqdn);
		return CTL_FAIL;
	}
	if (rc != 0)
		return store_err("cannot read host", fqdn, rc);
	if ((rc = ddns_zone_get_by_id(t, h->zone_id, z)) != 0) {
		say("host %s: its zone (id %u) cannot be read: %s", fqdn,
		    h->zone_id, ddns_strerror(rc));
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* Store the changed host H and bump its zone Z's serial. */
static int host_store(ddns_txn *t, const struct ddns_host *h,
		      const struct ddns_zone *z)
{
	int rc = ddns_host_put(t, h);

	if (rc != 0)
		return store_err("cannot write host", h->fqdn, rc);
	if ((rc = ddns_zone_bump_serial(t, z->name, NULL)) != 0)
		return store_err("cannot raise the serial of zone", z->name,
				 rc);
	return CTL_OK;
}

/*
 * The zone a new host FQDN goes into, or say why it cannot be added: it
 * must lie exactly one label below its (deepest) zone, so that no name
 * between them is an empty non-terminal answering NXDOMAIN.
 */
static int host_add_zone(ddns_txn *t, const char *fqdn, struct ddns_zone *z)
{
	const char *parent = ddns_name_parent(fqdn);
	int rc = ddns_zone_find(t, fqdn, z);

	if (rc == DDNS_ENOZONE) {
		say("%s is in no zone served here (see 'zone list')", fqdn);
		return CTL_FAIL;
	}
	if (rc != 0)
		return store_err("cannot look up the zone of", fqdn, rc);
	if (strcmp(z->name, fqdn) == 0) {
		say("%s is a zone apex; a host must lie below its zone", fqdn);
		return CTL_FAIL;
	}
	if (strcmp(parent, z->name) != 0) {
		say("%s: hosts are one label below their zone (%s); add zone "
		    "%s for deeper names",
		    fqdn, z->name, parent);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* What a new host gets besides its name and addresses. */
struct host_extra {
	char owner[USER_BUF]; /* "" = none */
	const char *comment;  /* NULL or "" = none */
};

/* Insert the new host H (fqdn, addresses set) with a new secret, its
 * owner and comment from X; its zone's name goes into ZONE. */
static int host_add_txn(struct ctl *c, struct ddns_host *h,
			const struct host_extra *x,
			char secret[DDNS_SECRET_BUF], char zone[DDNS_NAME_BUF])
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_add_zone(t, h->fqdn, &z)) != 0 ||
	    (rc = owner_load(t, x->owner, &h->owner)) != 0)
		goto fail;
	if ((rc = ddns_cred_new(secret, &h->cred)) != 0) {
		rc = store_err("cannot make a secret for", h->fqdn, rc);
		goto fail;
	}
	h->zone_id = z.id;
	rc = ddns_host_add(t, h);
	if (rc == DDNS_EEXIST) {
		say("host %s already exists", h->fqdn);
		rc = CTL_FAIL;
	} else if (rc != 0) {
		rc = store_err("cannot add host", h->fqdn, rc);
	} else if ((rc = ddns_zone_bump_serial(t, z.name, NULL)) != 0) {
		rc = store_err("cannot raise the serial of zone", z.name, rc);
	} else if (x->comment && x->comment[0] &&
		   (rc = ddns_host_comment_put(t, h->fqdn, x->comment)) != 0) {
		rc = store_err("cannot write the comment of", h->fqdn, rc);
	}
	if (rc != 0)
		goto fail;
	memcpy(zone, z.name, DDNS_NAME_BUF);
	return txn_commit(t);
fail:
	ddns_txn_abort(t);
	return rc;
}

static int cmd_host_add(struct ctl *c, const struct opts *o)
{
	struct ddns_host h;
	struct ip_args ip;
	struct host_extra x = {"", o->comment};
	char secret[DDNS_SECRET_BUF] = "";
	char zone[DDNS_NAME_BUF];
	int rc;

	memset(&h, 0, sizeof h);
	if ((rc = arg_name("host", o->pos[0], h.fqdn)) != 0 ||
	    (rc = parse_ips(o, &ip)) != 0 ||
	    (o->owner && (rc = arg_owner(o->owner, x.owner)) != 0) ||
	    (o->comment && (rc = arg_comment(o->comment)) != 0))
		return rc;
	h.created = time(NULL);
	apply_ips(&h, &ip, h.created);
	if ((rc = host_add_txn(c, &h, &x, secret, zone)) == CTL_OK) {
		printf("host %s added; its secret (shown once):\n", h.fqdn);
		rc = print_secret(secret);
		OPENSSL_cleanse(secret, sizeof secret);
		purge_host(c, h.fqdn, zone, true);
	}
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

static int cmd_host_secret(struct ctl *c, const struct opts *o)
{
	struct ddns_host h;
	struct ddns_zone z;
	char fqdn[DDNS_NAME_BUF], secret[DDNS_SECRET_BUF] = "";
	ddns_txn *t = NULL;
	int rc;

	if ((rc = arg_name("host", o->pos[0], fqdn)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_load(t, fqdn, &h, &z)) != 0)
		goto fail;
	if ((rc = ddns_cred_new(secret, &h.cred)) != 0) {
		rc = store_err("cannot make a secret for", fqdn, rc);
		goto fail;
	}
	/* DNS answers do not change: no new serial (schema/lmdb-v1.md 4) */
	if ((rc = ddns_host_put(t, &h)) != 0) {
		rc = store_err("cannot write host", fqdn, rc);
		goto fail;
	}
	if ((rc = txn_commit(t)) == CTL_OK) {
		printf("new secret of %s (shown once; the old one no longer "
		       "works):\n",
		       fqdn);
		rc = print_secret(secret);
		OPENSSL_cleanse(secret, sizeof secret);
		/* answers unchanged: nothing to purge */
	}
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
fail:
	ddns_txn_abort(t);
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

static void host_print_addrs(const struct ddns_host *h)
{
	char a4[DDNS_ADDR_STRLEN], a6[DDNS_ADDR_STRLEN];
	const char *s4 = host_addr(h, AF_INET, a4);
	const char *s6 = host_addr(h, AF_INET6, a6);

	printf("host %s: A %s, AAAA %s\n", h->fqdn, s4 ? s4 : "none",
	       s6 ? s6 : "none");
}

/* The --wildcard of O into *WILD: 1 on, 0 off, -1 not given. */
static int parse_wildcard(const struct opts *o, int *wild)
{
	*wild = -1;
	if (!o->wildcard)
		return CTL_OK;
	if (strcmp(o->wildcard, "on") == 0) {
		*wild = 1;
	} else if (strcmp(o->wildcard, "off") == 0) {
		*wild = 0;
	} else {
		say("invalid --wildcard '%s' (on or off)", o->wildcard);
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* Set H's wildcard flag as WILD says (-1: leave); true if it changed. */
static bool apply_wildcard(struct ddns_host *h, int wild)
{
	uint32_t f0 = h->flags;

	if (wild == 1)
		h->flags |= DDNS_HOST_WILDCARD;
	else if (wild == 0)
		h->flags &= ~(uint32_t)DDNS_HOST_WILDCARD;
	return h->flags != f0;
}

/* What host set prints: the addresses, and what O asked to change. */
static void host_print_set(const struct ddns_host *h, int wild,
			   const struct opts *o, const char *owner)
{
	host_print_addrs(h);
	if (wild >= 0)
		printf("host %s: wildcard %s\n", h->fqdn,
		       h->flags & DDNS_HOST_WILDCARD ? "on" : "off");
	if (o->owner)
		printf("host %s: owner %s\n", h->fqdn,
		       owner[0] ? owner : "none");
	if (o->comment)
		printf("host %s: comment %s\n", h->fqdn,
		       o->comment[0] ? o->comment : "none");
}

/* Apply --owner (resolved: OWNER, "" = none) and --comment of O to host
 * H; *OWNER_CH / *COMMENT_CH tell whether they change anything. */
static int host_set_meta(ddns_txn *t, const struct opts *o, const char *owner,
			 struct ddns_host *h, bool *owner_ch, bool *comment_ch)
{
	char old[DDNS_HOST_COMMENT_BUF];
	uint32_t id = h->owner;
	int rc;

	*owner_ch = *comment_ch = false;
	if (o->owner && (rc = owner_load(t, owner, &id)) != 0)
		return rc;
	*owner_ch = id != h->owner;
	h->owner = id;
	if (!o->comment)
		return CTL_OK;
	if ((rc = ddns_host_comment_get(t, h->fqdn, old)) != 0)
		return store_err("cannot read the comment of", h->fqdn, rc);
	*comment_ch = strcmp(old, o->comment) != 0;
	return CTL_OK;
}

/* Write host H: with a new serial when DNS answers change, else as is;
 * then its new comment C (if changed). */
static int host_set_write(ddns_txn *t, const struct ddns_host *h,
			  const struct ddns_zone *z, bool dns, bool owner_ch,
			  const char *c)
{
	int rc = CTL_OK;

	if (dns)
		rc = host_store(t, h, z);
	else if (owner_ch && (rc = ddns_host_put(t, h)) != 0)
		rc = store_err("cannot write host", h->fqdn, rc);
	if (rc == CTL_OK && c && (rc = ddns_host_comment_put(t, h->fqdn, c)))
		rc = store_err("cannot write the comment of", h->fqdn, rc);
	return rc;
}

static int cmd_host_set(struct ctl *c, const struct opts *o)
{
	struct ddns_host h;
	struct ddns_zone z;
	struct ip_args ip;
	char fqdn[DDNS_NAME_BUF], owner[USER_BUF] = "";
	ddns_txn *t = NULL;
	bool dns, was_wild, owner_ch, comment_ch;
	int rc, wild;

	if ((rc = arg_name("host", o->pos[0], fqdn)) != 0 ||
	    (rc = parse_ips(o, &ip)) != 0 ||
	    (rc = parse_wildcard(o, &wild)) != 0 ||
	    (o->owner && (rc = arg_owner(o->owner, owner)) != 0) ||
	    (o->comment && (rc = arg_comment(o->comment)) != 0) ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_load(t, fqdn, &h, &z)) != 0 ||
	    (rc = host_set_meta(t, o, owner, &h, &owner_ch, &comment_ch)) != 0)
		goto fail;
	was_wild = h.flags & DDNS_HOST_WILDCARD;
	dns = apply_ips(&h, &ip, time(NULL));
	dns |= apply_wildcard(&h, wild);
	if (!dns && !owner_ch && !comment_ch) {
		ddns_txn_abort(t);
		printf("unchanged: ");
		host_print_set(&h, wild, o, owner);
		return CTL_OK;
	}
	if ((rc = host_set_write(t, &h, &z, dns, owner_ch,
				 comment_ch ? o->comment : NULL)) != 0)
		goto fail;
	if ((rc = txn_commit(t)) != 0)
		return rc;
	host_print_set(&h, wild, o, owner);
	/* an owner or a comment is no DNS answer: nothing to purge */
	if (dns)
		purge_host(c, fqdn, z.name,
			   was_wild || (h.flags & DDNS_HOST_WILDCARD));
	return CTL_OK;
fail:
	ddns_txn_abort(t);
	return rc;
}

/* Start counting H's client faults afresh (its abuse threshold). */
static int reset_fault_window(ddns_txn *t, const char *fqdn)
{
	struct ddns_fault f;
	int rc = ddns_fault_get(t, fqdn, &f);

	if (rc == DDNS_ENOTFOUND)
		return CTL_OK;
	if (rc != 0)
		return store_err("cannot read the faults of", fqdn, rc);
	f.window_start = 0;
	f.window_count = 0;
	if ((rc = ddns_fault_put(t, fqdn, &f)) != 0)
		return store_err("cannot write the faults of", fqdn, rc);
	return CTL_OK;
}

/* An operator's change of one host flag. */
struct flag_op {
	uint32_t flag;
	bool on;
	const char *done, *already; /* "host X <done>" / "host X <already>" */
};

static int host_flag(struct ctl *c, const struct opts *o,
		     const struct flag_op *op)
{
	struct ddns_host h;
	struct ddns_zone z;
	char fqdn[DDNS_NAME_BUF];
	ddns_txn *t = NULL;
	bool changed;
	int rc;

	if ((rc = arg_name("host", o->pos[0], fqdn)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_load(t, fqdn, &h, &z)) != 0)
		goto fail;
	changed = !(h.flags & op->flag) != !op->on;
	h.flags = op->on ? h.flags | op->flag : h.flags & ~op->flag;
	/* the records appear or vanish: a new serial, as for any change */
	if (changed && (rc = host_store(t, &h, &z)) != 0)
		goto fail;
	if (op->flag == DDNS_HOST_ABUSE &&
	    (rc = reset_fault_window(t, fqdn)) != 0)
		goto fail;
	if ((rc = txn_commit(t)) != 0)
		return rc;
	printf("host %s %s\n", fqdn, changed ? op->done : op->already);
	if (changed)
		purge_host(c, fqdn, z.name, h.flags & DDNS_HOST_WILDCARD);
	return CTL_OK;
fail:
	ddns_txn_abort(t);
	return rc;
}

static int cmd_host_block(struct ctl *c, const struct opts *o)
{
	static const struct flag_op op = {
	    DDNS_HOST_BLOCKED, true,
	    "blocked: its records are withdrawn, its updates answer abuse",
	    "is already blocked"};

	return host_flag(c, o, &op);
}

static int cmd_host_unblock(struct ctl *c, const struct opts *o)
{
	static const struct flag_op op = {DDNS_HOST_BLOCKED, false, "unblocked",
					  "is not blocked"};

	return host_flag(c, o, &op);
}

static int cmd_host_clear_abuse(struct ctl *c, const struct opts *o)
{
	static const struct flag_op op = {
	    DDNS_HOST_ABUSE, false,
	    "no longer flagged for abuse; its client faults count afresh",
	    "is not flagged for abuse; its client faults count afresh"};

	return host_flag(c, o, &op);
}

static int cmd_host_del(struct ctl *c, const struct opts *o)
{
	struct ddns_host h;
	struct ddns_zone z;
	char fqdn[DDNS_NAME_BUF];
	ddns_txn *t = NULL;
	int rc;

	if ((rc = arg_name("host", o->pos[0], fqdn)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_load(t, fqdn, &h, &z)) != 0)
		goto fail;
	if ((rc = ddns_host_del(t, fqdn)) != 0) {
		rc = store_err("cannot delete host", fqdn, rc);
		goto fail;
	}
	if ((rc = ddns_zone_bump_serial(t, z.name, NULL)) != 0) {
		rc = store_err("cannot raise the serial of zone", z.name, rc);
		goto fail;
	}
	if ((rc = txn_commit(t)) != 0)
		return rc;
	printf("host %s deleted\n", fqdn);
	purge_host(c, fqdn, z.name, true);
	return CTL_OK;
fail:
	ddns_txn_abort(t);
	return rc;
}

/* ---- user names by id (for lists) ----------------------------------- */

struct user_ref {
	uint32_t id;
	char name[USER_BUF];
};

/* Every user's id and name, in id order (as ddns_user_foreach goes). */
struct user_map {
	struct user_ref *v;
	size_t n, cap;
};

static int user_map_cb(const struct ddns_user *u, void *arg)
{
	struct user_map *m = arg;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct user_ref *v = reallocarray(m->v, cap, sizeof *v);

		if (!v)
			return DDNS_ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].id = u->id;
	memcpy(m->v[m->n++].name, u->name, USER_BUF);
	return 0;
}

static int user_ref_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct user_ref *)a)->id;
	uint32_t y = ((const struct user_ref *)b)->id;

	return x < y ? -1 : x > y;
}

/* The name of user ID, or NULL (0, or no such user). */
static const char *user_map_name(const struct user_map *m, uint32_t id)
{
	struct user_ref key = {.id = id};
	const struct user_ref *r;

	if (id == 0 || m->n == 0)
		return NULL;
	r = bsearch(&key, m->v, m->n, sizeof *m->v, user_ref_cmp);
	return r ? r->name : NULL;
}

/* H as a JSON object; F holds its fault record (empty text: none), OWNER
 * the owner's name (NULL: none or unknown), COMMENT its comment. */
static json_t *host_json(const struct ddns_host *h, const char *zone,
			 const struct ddns_fault *f, const char *owner,
			 const char *comment)
{
	char a4[DDNS_ADDR_STRLEN], a6[DDNS_ADDR_STRLEN];
	const char *s4 = host_addr(h, AF_INET, a4);
	const char *s6 = host_addr(h, AF_INET6, a6);
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset(o, "fqdn", json_string(h->fqdn));
	bad |= jset(o, "zone", zone ? json_string(zone) : json_null());
	bad |= jset(o, "ipv4", s4 ? json_string(s4) : json_null());
	bad |= jset(o, "ipv6", s6 ? json_string(s6) : json_null());
	bad |= jset(o, "updated", time_json(h->updated));
	bad |= jset(o, "created", time_json(h->created));
	bad |= jset(o, "wildcard", json_boolean(h->flags & DDNS_HOST_WILDCARD));
	bad |= jset(o, "blocked", json_boolean(h->flags & DDNS_HOST_BLOCKED));
	bad |= jset(o, "abuse", json_boolean(h->flags & DDNS_HOST_ABUSE));
	bad |= jset(o, "tls4", json_boolean(h->flags & DDNS_HOST_TLS4));
	bad |= jset(o, "tls6", json_boolean(h->flags & DDNS_HOST_TLS6));
	bad |= jset(o, "client_faults", json_integer(h->client_faults));
	bad |= jset(o, "server_faults", json_integer(h->server_faults));
	bad |= jset(o, "auth_faults", json_integer(h->auth_faults));
	bad |= jset(o, "last_fault", time_json(h->last_fault));
	/* the store holds printable ASCII only: valid UTF-8 for jansson */
	bad |= jset(o, "last_fault_text",
		    f->last_text[0] ? json_string(f->last_text) : json_null());
	bad |= jset(o, "owner", owner ? json_string(owner) : json_null());
	bad |= jset(o, "owner_id",
		    h->owner ? json_integer(h->owner) : json_null());
	/* comments are valid UTF-8 text (ddns_text_valid) */
	bad |=
	    jset(o, "comment", comment[0] ? json_string(comment) : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct host_list {
	ddns_txn *t;
	const struct zone_vec *zv;
	const struct user_map *users;
	json_t *arr; /* NULL: print a table */
};

/* Append H to HL's JSON array, with its faults and comment. */
static int host_list_json(struct host_list *hl, const struct ddns_host *h,
			  const char *zone, const char *owner)
{
	char comment[DDNS_HOST_COMMENT_BUF];
	struct ddns_fault f;
	json_t *o;
	int rc = ddns_fault_get(hl->t, h->fqdn, &f);

	if (rc == DDNS_ENOTFOUND)
		memset(&f, 0, sizeof f);
	else if (rc != 0)
		return rc;
	if ((rc = ddns_host_comment_get(hl->t, h->fqdn, comment)) != 0)
		return rc;
	o = host_json(h, zone, &f, owner, comment);
	if (!o || json_array_append_new(hl->arr, o) != 0)
		return DDNS_ENOMEM;
	return 0;
}

static int host_list_cb(const struct ddns_host *h, void *arg)
{
	struct host_list *hl = arg;
	const char *zone = zone_name_by_id(hl->zv, h->zone_id);
	const char *owner = user_map_name(hl->users, h->owner);
	char a4[DDNS_ADDR_STRLEN], a6[DDNS_ADDR_STRLEN], ts[32];
	const char *s4, *s6, *up;

	if (hl->arr)
		return host_list_json(hl, h, zone, owner);
	s4 = host_addr(h, AF_INET, a4);
	s6 = host_addr(h, AF_INET6, a6);
	up = iso_time(h->updated, ts);
	printf("%-40s %-15s %-39s %-20s %s\n", h->fqdn, s4 ? s4 : "-",
	       s6 ? s6 : "-", up ? up : "never", owner ? owner : "-");
	return 0;
}

/* Zone --zone NAME of O into Z (NULL when not given), or say why not. */
static int host_list_zone(ddns_txn *t, const struct opts *o,
			  struct ddns_zone *z, const struct ddns_zone **out)
{
	char name[DDNS_NAME_BUF];
	int rc;

	*out = NULL;
	if (!o->zone)
		return CTL_OK;
	if ((rc = arg_name("zone", o->zone, name)) != 0)
		return rc;
	rc = ddns_zone_get(t, name, z);
	if (rc == DDNS_ENOTFOUND) {
		say("no zone %s", name);
		return CTL_FAIL;
	}
	if (rc != 0)
		return store_err("cannot read zone", name, rc);
	*out = z;
	return CTL_OK;
}

static int cmd_host_list(struct ctl *c, const struct opts *o)
{
	struct zone_vec zv = {0};
	struct user_map um = {0};
	struct host_list hl = {.zv = &zv, .users = &um};
	struct ddns_zone zbuf;
	const struct ddns_zone *z;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = txn_begin(c, false, &t)) != 0)
		return rc;
	hl.t = t;
	if ((rc = host_list_zone(t, o, &zbuf, &z)) != 0 ||
	    (rc = load_zones(t, &zv, false)) != 0)
		goto done;
	rc = ddns_user_foreach(t, user_map_cb, &um);
	if (rc == 0 && o->json && !(hl.arr = json_array())) {
		rc = DDNS_ENOMEM;
	} else if (rc == 0) {
		if (!o->json)
			printf("%-40s %-15s %-39s %-20s %s\n", "FQDN", "IPV4",
			       "IPV6", "UPDATED", "OWNER");
		rc = ddns_host_foreach(t, z, host_list_cb, &hl);
	}
	if (rc != 0)
		rc = store_err("cannot list", "hosts", rc);
done:
	ddns_txn_abort(t);
	zone_vec_free(&zv);
	free(um.v);
	if (hl.arr && rc == CTL_OK)
		return print_json(hl.arr);
	json_decref(hl.arr);
	return rc;
}

/* ---- users --------------------------------------------------------- */

/* An e-mail address as the store takes it ("" clears it). */
static bool email_ok(const char *s)
{
	size_t len = strlen(s);
	const char *at = strchr(s, '@');

	if (len == 0)
		return true;
	return len <= DDNS_USER_EMAIL_MAX && ddns_text_valid(s, len) &&
	       !strchr(s, ' ') && at && at != s && at[1] != '\0';
}

/* --admin on|off of O into *ON. */
static int parse_admin(const struct opts *o, bool *on)
{
	if (strcmp(o->admin, "on") == 0 || strcmp(o->admin, "off") == 0) {
		*on = o->admin[1] == 'n';
		return CTL_OK;
	}
	say("invalid --admin '%s' (on or off)", o->admin);
	return CTL_USAGE;
}

/* Apply --display-name, --email, --group / --no-groups and --admin of O
 * to U, or say why not. */
static int user_apply_opts(const struct opts *o, struct ddns_user *u)
{
	unsigned n;
	bool on;
	int rc;

	if (o->display && (strlen(o->display) > DDNS_USER_DISPLAY_MAX ||
			   !ddns_text_valid(o->display, strlen(o->display)))) {
		say("invalid --display-name (at most %d bytes of UTF-8 without "
		    "control characters)",
		    DDNS_USER_DISPLAY_MAX);
		return CTL_USAGE;
	}
	if (o->email && !email_ok(o->email)) {
		say("invalid --email '%s' (an address such as "
		    "name@example.org)",
		    o->email);
		return CTL_USAGE;
	}
	if ((o->no_groups || o->n_groups) &&
	    (rc = groups_from_opts(o, DDNS_GROUPS_MAX, u->groups, &n)) != 0)
		return rc;
	if (o->no_groups || o->n_groups)
		u->n_groups = n;
	if (o->admin && (rc = parse_admin(o, &on)) != 0)
		return rc;
	if (o->admin_flag || (o->admin && on))
		u->flags |= DDNS_USER_ADMIN;
	else if (o->admin)
		u->flags &= ~(uint32_t)DDNS_USER_ADMIN;
	if (o->display)
		memcpy(u->display_name, o->display, strlen(o->display) + 1);
	if (o->email)
		memcpy(u->email, o->email, strlen(o->email) + 1);
	return CTL_OK;
}

/* If stdin is a terminal: save its settings in OLD, turn echo off, then
 * prompt for USER's password (in that order: nothing typed after the
 * prompt may be echoed).  False when stdin is no terminal. */
static bool tty_quiet(struct termios *old, const char *user)
{
	struct termios quiet;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, old) != 0)
		return false;
	quiet = *old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fprintf(stderr, "password for %s: ", user);
	fflush(stderr);
	return true;
}

/* Read one line from stdin into BUF (CAP octets), without echo when it is
 * a terminal; its length (line end dropped) into *LEN: CAP + 1 when the
 * line was longer (it is read to its end). */
static int read_line_quiet(char *buf, size_t cap, size_t *len, const char *user)
{
	struct termios old;
	bool tty = tty_quiet(&old, user), over = false, eol = false;
	ssize_t r = 0;
	size_t n = 0;
	int err = 0;
	char ch;

	while (!eol && (r = read(STDIN_FILENO, &ch, 1)) != 0) {
		if (r < 0 && (err = errno) == EINTR)
			continue;
		if (r < 0)
			break;
		if (!(eol = ch == '\n') && n < cap)
			buf[n++] = ch;
		else if (!eol)
			over = true;
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	OPENSSL_cleanse(&ch, sizeof ch);
	if (r < 0) {
		say("cannot read the password: %s", strerror(err));
		return CTL_FAIL;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*len = over ? cap + 1 : n;
	return CTL_OK;
}

/* With --password-stdin: read the password of USER from stdin, check its
 * length, and hash it into OUT.  The clear text is wiped. */
static int password_from_stdin(const char *user, char out[DDNS_PWHASH_MAX + 1])
{
	char pw[DDNS_PASSWORD_MAX + 2];
	size_t len = 0, chars = 0;
	int rc = read_line_quiet(pw, sizeof pw, &len, user);

	for (size_t i = 0; rc == CTL_OK && i < len && i < sizeof pw; i++)
		chars += ((unsigned char)pw[i] & 0xc0) != 0x80;
	if (rc == CTL_OK && len > DDNS_PASSWORD_MAX) {
		say("password too long (at most %d bytes)", DDNS_PASSWORD_MAX);
		rc = CTL_USAGE;
	} else if (rc == CTL_OK && chars < DDNS_PASSWORD_MIN) {
		say("password too short (at least %d characters; "
		    "--password-stdin reads one line)",
		    DDNS_PASSWORD_MIN);
		rc = CTL_USAGE;
	} else if (rc == CTL_OK && (rc = ddns_password_hash(pw, len, out))) {
		say("cannot hash the password: %s", ddns_strerror(rc));
		rc = CTL_FAIL;
	}
	OPENSSL_cleanse(pw, sizeof pw);
	return rc;
}

static int cmd_user_add(struct ctl *c, const struct opts *o)
{
	struct ddns_user *u = calloc(1, sizeof *u);
	ddns_txn *t = NULL;
	int rc;

	if (!u) {
		say("out of memory");
		return CTL_FAIL;
	}
	if ((rc = arg_user(o->pos[0], u->name)) != 0 ||
	    (rc = user_apply_opts(o, u)) != 0 ||
	    (o->pw_stdin && (rc = password_from_stdin(u->name, u->password))) ||
	    (rc = txn_begin(c, true, &t)) != 0)
		goto done;
	if ((rc = ddns_user_add(t, u)) != 0) {
		ddns_txn_abort(t);
		if (rc == DDNS_EEXIST)
			say("user %s already exists", u->name);
		else
			store_err("cannot add user", u->name, rc);
		rc = CTL_FAIL;
		goto done;
	}
	if ((rc = txn_commit(t)) == CTL_OK)
		printf("user %s added (id %u%s%s)\n", u->name, u->id,
		       u->flags & DDNS_USER_ADMIN ? ", admin" : "",
		       u->password[0] ? ", with a password" : "");
done:
	free(u);
	return rc;
}

/* Load user NAME, apply O (and the password hash PW when not "") and
 * write it back, in T. */
static int user_set_txn(ddns_txn *t, const char *name, const struct opts *o,
			const char *pw)
{
	struct ddns_user *u = malloc(sizeof *u);
	int rc = u ? user_load(t, name, u) : (say("out of memory"), CTL_FAIL);

	if (rc == CTL_OK)
		rc = user_apply_opts(o, u);
	if (rc == CTL_OK && pw[0])
		memcpy(u->password, pw, strlen(pw) + 1);
	if (rc == CTL_OK && (rc = ddns_user_put(t, u)) != 0)
		rc = store_err("cannot write user", name, rc);
	free(u);
	return rc;
}

static int cmd_user_set(struct ctl *c, const struct opts *o)
{
	char name[USER_BUF], pw[DDNS_PWHASH_MAX + 1] = "";
	struct ddns_user *scratch = calloc(1, sizeof *scratch);
	ddns_txn *t = NULL;
	int rc = scratch ? CTL_OK : CTL_FAIL;

	/* check the options before asking for a password */
	if (rc != CTL_OK || (rc = arg_user(o->pos[0], name)) != 0 ||
	    (rc = user_apply_opts(o, scratch)) != 0 ||
	    (o->pw_stdin && (rc = password_from_stdin(name, pw)) != 0) ||
	    (rc = txn_begin(c, true, &t)) != 0)
		goto done;
	if ((rc = user_set_txn(t, name, o, pw)) != 0) {
		ddns_txn_abort(t);
		goto done;
	}
	if ((rc = txn_commit(t)) == CTL_OK)
		printf("user %s changed\n", name);
done:
	free(scratch);
	return rc;
}

/* The owner ids of all hosts, sorted, to count each user's hosts. */
struct owner_ids {
	uint32_t *v;
	size_t n, cap;
};

static int owner_ids_cb(const struct ddns_host *h, void *arg)
{
	struct owner_ids *oi = arg;

	if (h->owner == 0)
		return 0;
	if (oi->n == oi->cap) {
		size_t cap = oi->cap ? 2 * oi->cap : 64;
		uint32_t *v = reallocarray(oi->v, cap, sizeof *v);

		if (!v)
			return DDNS_ENOMEM;
		oi->v = v;
		oi->cap = cap;
	}
	oi->v[oi->n++] = h->owner;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* How many of the sorted ids in OI are ID. */
static unsigned owner_count(const struct owner_ids *oi, uint32_t id)
{
	size_t lo = 0, hi = oi->n, mid, first;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (oi->v[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	while (lo < oi->n && oi->v[lo] == id)
		lo++;
	return (unsigned)(lo - first);
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *user_json(const struct ddns_user *u, unsigned hosts)
{
	json_t *o = json_object();
	int bad = !o;

	if (bad)
		return NULL;
	bad |= jset(o, "id", json_integer(u->id));
	bad |= jset(o, "name", json_string(u->name));
	bad |= jset(o, "display_name", str_or_null(u->display_name));
	bad |= jset(o, "email", str_or_null(u->email));
	bad |= jset(o, "admin", json_boolean(u->flags & DDNS_USER_ADMIN));
	bad |= jset(o, "password", json_boolean(u->password[0] != '\0'));
	bad |= jset(o, "groups", groups_json(u->groups[0], u->n_groups));
	bad |= jset(o, "oidc_issuer", str_or_null(u->oidc_issuer));
	bad |= jset(o, "oidc_subject", str_or_null(u->oidc_subject));
	bad |= jset(o, "hosts", json_integer(hosts));
	bad |= jset(o, "created", time_json(u->created));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void user_print(const struct ddns_user *u, unsigned hosts)
{
	printf("%s id=%u admin=%s hosts=%u password=%s", u->name, u->id,
	       u->flags & DDNS_USER_ADMIN ? "yes" : "no", hosts,
	       u->password[0] ? "yes" : "no");
	if (u->email[0])
		printf(" email=%s", u->email);
	if (u->n_groups) {
		printf(" groups=");
		groups_print(u->groups[0], u->n_groups);
	}
	if (u->oidc_issuer[0])
		printf(" oidc_issuer=%s oidc_subject=%s", u->oidc_issuer,
		       u->oidc_subject);
	if (u->display_name[0])
		printf(" display_name=%s", u->display_name);
	putchar('\n');
}

struct user_list {
	const struct owner_ids *oi;
	json_t *arr; /* NULL: print lines */
};

static int user_list_cb(const struct ddns_user *u, void *arg)
{
	struct user_list *ul = arg;
	unsigned hosts = owner_count(ul->oi, u->id);
	json_t *o;

	if (!ul->arr) {
		user_print(u, hosts);
		return 0;
	}
	o = user_json(u, hosts);
	if (!o || json_array_append_new(ul->arr, o) != 0)
		return DDNS_ENOMEM;
	return 0;
}

static int cmd_user_list(struct ctl *c, const struct opts *o)
{
	struct owner_ids oi = {0};
	struct user_list ul = {&oi, NULL};
	ddns_txn *t = NULL;
	int rc;

	if ((rc = txn_begin(c, false, &t)) != 0)
		return rc;
	rc = ddns_host_foreach(t, NULL, owner_ids_cb, &oi);
	if (rc == 0 && oi.n)
		qsort(oi.v, oi.n, sizeof *oi.v, u32_cmp);
	if (rc == 0 && o->json && !(ul.arr = json_array()))
		rc = DDNS_ENOMEM;
	if (rc == 0)
		rc = ddns_user_foreach(t, user_list_cb, &ul);
	ddns_txn_abort(t);
	free(oi.v);
	if (rc != 0) {
		json_decref(ul.arr);
		return store_err("cannot list", "users", rc);
	}
	return ul.arr ? print_json(ul.arr) : CTL_OK;
}

/* The hosts a user owns, with their zones, to purge them after a forced
 * delete. */
struct owned {
	uint32_t owner;
	const struct zone_vec *zv;
	char (*v)[2][DDNS_NAME_BUF]; /* fqdn, zone */
	size_t n, cap;
};

static int owned_cb(const struct ddns_host *h, void *arg)
{
	struct owned *ow = arg;
	const char *zone = zone_name_by_id(ow->zv, h->zone_id);

	if (h->owner != ow->owner)
		return 0;
	if (ow->n == ow->cap) {
		size_t cap = ow->cap ? 2 * ow->cap : 16;
		char(*v)[2][DDNS_NAME_BUF] =
		    reallocarray(ow->v, cap, sizeof *v);
		if (!v)
			return DDNS_ENOMEM;
		ow->v = v;
		ow->cap = cap;
	}
	memcpy(ow->v[ow->n][0], h->fqdn, DDNS_NAME_BUF);
	snprintf(ow->v[ow->n++][1], DDNS_NAME_BUF, "%s", zone ? zone : "");
	return 0;
}

/* Delete user U in T (with its hosts when FORCE, listed into OW). */
static int user_del_txn(ddns_txn *t, const struct ddns_user *u, bool force,
			struct owned *ow)
{
	unsigned n = 0;
	int rc = ddns_host_foreach(t, NULL, owned_cb, ow);

	if (rc == 0)
		rc = ddns_user_del(t, u->id, force, &n);
	if (rc == DDNS_EBUSY) {
		say("user %s owns %u host(s); delete them first, or use "
		    "--force to delete them with the user",
		    u->name, n);
		return CTL_FAIL;
	}
	return rc ? store_err("cannot delete user", u->name, rc) : CTL_OK;
}

static int cmd_user_del(struct ctl *c, const struct opts *o)
{
	struct zone_vec zv = {0};
	struct owned ow = {.zv = &zv};
	struct ddns_user *u = malloc(sizeof *u);
	char name[USER_BUF];
	ddns_txn *t = NULL;
	int rc = u ? CTL_OK : CTL_FAIL;

	if (rc != CTL_OK || (rc = arg_user(o->pos[0], name)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		goto done;
	if ((rc = user_load(t, name, u)) == CTL_OK) {
		ow.owner = u->id;
		rc = load_zones(t, &zv, false);
	}
	if (rc == CTL_OK)
		rc = user_del_txn(t, u, o->force, &ow);
	if (rc != CTL_OK) {
		ddns_txn_abort(t);
		goto done;
	}
	if ((rc = txn_commit(t)) != CTL_OK)
		goto done;
	if (ow.n)
		printf("user %s deleted, with its %zu host(s)\n", name, ow.n);
	else
		printf("user %s deleted\n", name);
	for (size_t i = 0; i < ow.n; i++)
		purge_host(c, ow.v[i][0], ow.v[i][1], true);
done:
	zone_vec_free(&zv);
	free(ow.v);
	free(u);
	return rc;
}

/* ---- users' API tokens ----------------------------------------------- */

#define DIGEST_HEX_SHOWN 16 /* digest digits 'token list' shows */

static void digest_hex(const uint8_t d[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 0xf];
	}
	out[64] = '\0';
}

static int cmd_user_token_add(struct ctl *c, const struct opts *o)
{
	/* Shown as "ddns_" + the token (schema/api/README.md): the prefix
	 * tells a personal token from an OIDC access token. */
	char name[USER_BUF], tok[DDNS_TOKEN_BUF + 5] = "ddns_", hex[65];
	const char *label = o->label ? o->label : "";
	struct ddns_user *u = malloc(sizeof *u);
	struct ddns_token tk;
	ddns_txn *t = NULL;
	int rc = u ? CTL_OK : CTL_FAIL;

	if (strlen(label) > DDNS_TOKEN_LABEL_MAX ||
	    !ddns_text_valid(label, strlen(label))) {
		say("invalid --label (at most %d bytes of UTF-8 without "
		    "control characters)",
		    DDNS_TOKEN_LABEL_MAX);
		rc = CTL_USAGE;
	}
	if (rc != CTL_OK || (rc = arg_user(o->pos[0], name)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		goto done;
	if ((rc = user_load(t, name, u)) == CTL_OK &&
	    (rc = ddns_token_new(t, u->id, label, tok + 5, &tk)) != 0)
		rc = store_err("cannot make a token for", name, rc);
	if (rc != CTL_OK) {
		ddns_txn_abort(t);
		goto done;
	}
	if ((rc = txn_commit(t)) == CTL_OK) {
		digest_hex(tk.digest, hex);
		printf("API token of %s (digest %.*s; shown once):\n", name,
		       DIGEST_HEX_SHOWN, hex);
		rc = print_once(tok, "revoke it and make a new one");
	}
done:
	OPENSSL_cleanse(tok, sizeof tok);
	free(u);
	return rc;
}

/* Tokens of one user: printed, in a JSON array, or matched against a
 * digest prefix. */
struct token_walk {
	json_t *arr;
	const char *prefix; /* matching: the lower-case hex prefix */
	unsigned matches;
	uint8_t digest[32]; /* the first match */
};

static int token_walk_cb(const struct ddns_token *tk, void *arg)
{
	struct token_walk *w = arg;
	char hex[65], ts[32];
	json_t *o;

	digest_hex(tk->digest, hex);
	if (w->prefix) {
		if (strncmp(hex, w->prefix, strlen(w->prefix)) == 0 &&
		    w->matches++ == 0)
			memcpy(w->digest, tk->digest, 32);
		return 0;
	}
	if (!w->arr) {
		printf("%.*s %-20s %s\n", DIGEST_HEX_SHOWN, hex,
		       iso_time(tk->created, ts) ? ts : "-", tk->label);
		return 0;
	}
	o = json_object();
	if (!o || jset(o, "digest", json_string(hex)) ||
	    jset(o, "created", time_json(tk->created)) ||
	    jset(o, "label", json_string(tk->label)) ||
	    json_array_append_new(w->arr, o) != 0)
		return DDNS_ENOMEM; /* O is owned by ARR, or leaks on OOM */
	return 0;
}

/* Walk the tokens of user NAME in T with W. */
static int token_walk(ddns_txn *t, const char *name, struct token_walk *w,
		      uint32_t *uid)
{
	struct ddns_user *u = malloc(sizeof *u);
	int rc = u ? user_load(t, name, u) : CTL_FAIL;

	if (rc == CTL_OK) {
		*uid = u->id;
		rc = ddns_token_foreach(t, u->id, token_walk_cb, w);
		if (rc != 0)
			rc = store_err("cannot list the tokens of", name, rc);
	}
	free(u);
	return rc;
}

static int cmd_user_token_list(struct ctl *c, const struct opts *o)
{
	struct token_walk w = {0};
	char name[USER_BUF];
	ddns_txn *t = NULL;
	uint32_t uid;
	int rc;

	if ((rc = arg_user(o->pos[0], name)) != 0 ||
	    (rc = txn_begin(c, false, &t)) != 0)
		return rc;
	if (o->json && !(w.arr = json_array())) {
		ddns_txn_abort(t);
		say("out of memory");
		return CTL_FAIL;
	}
	rc = token_walk(t, name, &w, &uid);
	ddns_txn_abort(t);
	if (rc == CTL_OK && w.arr)
		return print_json(w.arr);
	json_decref(w.arr);
	return rc;
}

/* A digest prefix: 4 to 64 hex digits, folded to lower case into OUT. */
static int arg_prefix(const char *in, char out[65])
{
	size_t len = strlen(in);

	for (size_t i = 0; i < len && i < 64; i++)
		out[i] =
		    in[i] >= 'A' && in[i] <= 'F' ? (char)(in[i] + 32) : in[i];
	out[len < 64 ? len : 64] = '\0';
	if (len >= 4 && len <= 64 && strspn(out, "0123456789abcdef") == len)
		return CTL_OK;
	say("invalid digest prefix '%s' (4 to 64 hex digits, as 'user token "
	    "list' shows)",
	    in);
	return CTL_USAGE;
}

static int cmd_user_token_del(struct ctl *c, const struct opts *o)
{
	char name[USER_BUF], prefix[65];
	struct token_walk w = {.prefix = prefix};
	ddns_txn *t = NULL;
	uint32_t uid;
	int rc;

	if ((rc = arg_user(o->pos[0], name)) != 0 ||
	    (rc = arg_prefix(o->pos[1], prefix)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = token_walk(t, name, &w, &uid)) != CTL_OK)
		goto fail;
	if (w.matches != 1) {
		if (w.matches == 0)
			say("user %s has no token %s", name, prefix);
		else
			say("%s matches %u tokens of %s; give more digits",
			    prefix, w.matches, name);
		rc = CTL_FAIL;
		goto fail;
	}
	if ((rc = ddns_token_del(t, w.digest)) != 0) {
		rc = store_err("cannot delete a token of", name, rc);
		goto fail;
	}
	if ((rc = txn_commit(t)) == CTL_OK)
		printf("token %s of %s deleted\n", prefix, name);
	return rc;
fail:
	ddns_txn_abort(t);
	return rc;
}

/* ---- main ----------------------------------------------------------- */

static const struct cmd cmds[] = {
    {"zone", "add",
     "ZONE --ns NAME [--ns NAME]... --hostmaster ADDR [--ttl SECONDS] "
     "[--visibility public|private|admin] [--group G]... "
     "[--kind native|master]",
     O_NS | O_HOSTMASTER | O_TTL | O_VISIBILITY | O_GROUP | O_KIND,
     O_NS | O_HOSTMASTER,
     1, cmd_zone_add, 0, true, NULL},
    {"zone", "set",
     "ZONE [--ttl SECONDS] [--ns NAME]... [--hostmaster ADDR] "
     "[--visibility V] [--group G]... [--no-groups] [--kind K]",
     O_NS | O_HOSTMASTER | O_TTL | O_VISIBILITY | O_GROUP | O_NO_GROUPS |
	 O_KIND,
     0, 1, cmd_zone_set,
     O_NS | O_HOSTMASTER | O_TTL | O_VISIBILITY | O_GROUP | O_NO_GROUPS |
	 O_KIND,
     false,
     NULL},
    {"zone", "list", "[--json]", O_JSON, 0, 0, cmd_zone_list, 0, false, NULL},
    {"zone", "del", "ZONE [--force]", O_FORCE, 0, 1, cmd_zone_del, 0, false,
     NULL},
    {"host", "add", "FQDN [--ip ADDR]... [--owner USER] [--comment TEXT]",
     O_IP | O_OWNER | O_COMMENT, 0, 1, cmd_host_add, 0, true, NULL},
    {"host", "secret", "FQDN", 0, 0, 1, cmd_host_secret, 0, false, NULL},
    {"host", "set",
     "FQDN [--ip ADDR|none]... [--wildcard on|off] [--owner USER|none] "
     "[--comment TEXT]",
     O_IP | O_WILDCARD | O_OWNER | O_COMMENT, 0, 1, cmd_host_set,
     O_IP | O_WILDCARD | O_OWNER | O_COMMENT, false, NULL},
    {"host", "del", "FQDN", 0, 0, 1, cmd_host_del, 0, false, NULL},
    {"host", "block", "FQDN", 0, 0, 1, cmd_host_block, 0, false, NULL},
    {"host", "unblock", "FQDN", 0, 0, 1, cmd_host_unblock, 0, false, NULL},
    {"host", "clear-abuse", "FQDN", 0, 0, 1, cmd_host_clear_abuse, 0, false,
     NULL},
    {"host", "list", "[--json] [--zone ZONE]", O_JSON | O_ZONE, 0, 0,
     cmd_host_list, 0, false, NULL},
    {"user", "add",
     "USER [--admin] [--password-stdin] [--display-name TEXT] "
     "[--email ADDR] [--group G]...",
     O_ADMIN | O_PW_STDIN | O_DISPLAY | O_EMAIL | O_GROUP, 0, 1, cmd_user_add,
     0, true, NULL},
    {"user", "set",
     "USER [--admin on|off] [--password-stdin] [--display-name TEXT] "
     "[--email ADDR] [--group G]... [--no-groups]",
     O_ADMIN_SET | O_PW_STDIN | O_DISPLAY | O_EMAIL | O_GROUP | O_NO_GROUPS, 0,
     1, cmd_user_set,
     O_ADMIN_SET | O_PW_STDIN | O_DISPLAY | O_EMAIL | O_GROUP | O_NO_GROUPS,
     false, NULL},
    {"user", "list", "[--json]", O_JSON, 0, 0, cmd_user_list, 0, false, NULL},
    {"user", "del", "USER [--force]", O_FORCE, 0, 1, cmd_user_del, 0, false,
     NULL},
    {"user", "add", "USER [--label TEXT]", O_LABEL, 0, 1, cmd_user_token_add, 0,
     false, "token"},
    {"user", "list", "USER [--json]", O_JSON, 0, 1, cmd_user_token_list, 0,
     false, "token"},
    {"user", "del", "USER DIGEST-PREFIX", 0, 0, 2, cmd_user_token_del, 0, false,
     "token"},
};
static const size_t n_cmds = sizeof cmds / sizeof cmds[0];

/* The words of command C at ARGV (ARGC of them) match it: 0 if not, else
 * how many ("user token add": 3). */
static int cmd_words(const struct cmd *c, int argc, char **argv)
{
	int w = c->sub ? 2 : 1;

	if (strcmp(c->group, argv[0]) != 0 ||
	    (c->sub && (argc < 2 || strcmp(c->sub, argv[1]) != 0)))
		return 0;
	return argc > w && strcmp(c->verb, argv[w]) == 0 ? w + 1 : 0;
}

/* Say what is wrong with the words at ARGV that name no command, and
 * list the usage of the commands they begin. */
static int no_cmd(int argc, char **argv)
{
	bool sub = false, group = false;

	for (size_t i = 0; i < n_cmds; i++) {
		group |= strcmp(cmds[i].group, argv[0]) == 0;
		sub |= group && cmds[i].sub && argc > 1 &&
		       strcmp(cmds[i].sub, argv[1]) == 0;
	}
	if (!group) {
		say("unknown command '%s' (zone, host or user)", argv[0]);
		return usage_error(NULL);
	}
	if (argc > 1 + sub)
		say("unknown command '%s %s%s%s'", argv[0], argv[1],
		    sub ? " " : "", sub ? argv[2] : "");
	else
		say("'%s%s%s' needs a subcommand", argv[0], sub ? " " : "",
		    sub ? argv[1] : "");
	for (size_t i = 0; i < n_cmds; i++)
		if (strcmp(cmds[i].group, argv[0]) == 0 &&
		    (!sub ||
		     (cmds[i].sub && strcmp(cmds[i].sub, argv[1]) == 0)))
			usage_cmd(stderr, &cmds[i]);
	return CTL_USAGE;
}

/* The command named by the first words of ARGV, and how many words name
 * it into *WORDS; or say what is wrong. */
static int find_cmd(int argc, char **argv, const struct cmd **out, int *words)
{
	for (size_t i = 0; i < n_cmds; i++) {
		if ((*words = cmd_words(&cmds[i], argc, argv)) > 0) {
			*out = &cmds[i];
			return CTL_OK;
		}
	}
	return no_cmd(argc, argv);
}

struct global {
	const char *conf_file;
	bool check, help;
	int argi; /* first word of the command */
};

static int parse_global(int argc, char **argv, struct global *g)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (++i == argc) {
				say("%s needs a FILE", a);
				return usage_error(NULL);
			}
			g->conf_file = argv[i];
		} else if (strncmp(a, "--config=", 9) == 0) {
			g->conf_file = a + 9;
		} else if (strncmp(a, "-c", 2) == 0 &&
			   strncmp(a, "--", 2) != 0) {
			g->conf_file = a + 2;
		} else if (strcmp(a, "--check-config") == 0) {
			g->check = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			g->help = true;
		} else if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else {
			say("unknown option '%s'", a);
			return usage_error(NULL);
		}
	}
	g->argi = i;
	return CTL_OK;
}

/* Load the configuration and open the store into C; run CMD. */
static int run(const struct global *g, const struct cmd *cmd,
	       const struct opts *o)
{
	struct ctl c = {0};
	char err[512] = "";
	int rc;

	if ((rc = ddns_conf_load(g->conf_file, &c.conf, err, sizeof err)) !=
	    0) {
		say("%s", err[0] ? err : ddns_strerror(rc));
		return CTL_USAGE;
	}
	if (g->check) {
		printf("%s: ok\n", g->conf_file);
		ddns_conf_free(c.conf);
		return CTL_OK;
	}
	ddns_log_init("ddnsctl", c.conf->log_level);
	/* only a command that adds something may create the store: a typo'd
	 * path must not leave an empty store behind a read */
	rc = ddns_store_open(&c.store, c.conf->store_path,
			     cmd->create ? DDNS_STORE_CREATE : 0,
			     c.conf->map_size, err, sizeof err);
	if (rc != 0) {
		say("%s", err[0] ? err : ddns_strerror(rc));
		ddns_conf_free(c.conf);
		return CTL_FAIL;
	}
	rc = cmd->run(&c, o);
	ddns_store_close(c.store);
	ddns_conf_free(c.conf);
	return rc;
}

static int ctl_main(int argc, char **argv)
{
	struct global g = {0};
	const struct cmd *cmd = NULL;
	struct opts o;
	int rc, words = 0;

	if ((rc = parse_global(argc, argv, &g)) != 0)
		return rc;
	if (g.help) {
		usage(stdout);
		return CTL_OK;
	}
	/* whole-store commands open the store their own way */
	if (g.argi < argc && !g.check && ctl_data_is_cmd(argv[g.argi]))
		return ctl_data_main(g.conf_file, argc - g.argi, argv + g.argi);
	if (g.argi < argc) {
		if ((rc = find_cmd(argc - g.argi, argv + g.argi, &cmd,
				   &words)) != 0)
			return rc;
		rc = parse_args(argc - g.argi - words, argv + g.argi + words,
				cmd, &o);
		if (rc == CTL_HELP) {
			usage_cmd(stdout, cmd);
			return CTL_OK;
		}
		if (rc != 0)
			return usage_error(cmd);
	}
	if (!g.conf_file) {
		say("no configuration file given (-c FILE)");
		return usage_error(cmd);
	}
	if (g.check == (cmd != NULL)) {
		say(g.check ? "--check-config takes no command"
			    : "no command given");
		return usage_error(NULL);
	}
	return run(&g, cmd, &o);
}

int main(int argc, char **argv)
{
	int rc;

	/* A closed stdout or a pdns that hangs up must give an error, not
	 * kill us between a commit and its report. */
	signal(SIGPIPE, SIG_IGN);
	umask(077); /* a new store (and any file we write) is private */
	rc = ctl_main(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("cannot write to stdout: %s", strerror(errno));
		if (rc == CTL_OK)
			rc = CTL_FAIL;
	}
	return rc;
}
