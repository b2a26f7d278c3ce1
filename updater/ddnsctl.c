/*
 * ddnsctl.c -- the operator's command line: zones and hosts in the store.
 *
 * Every change is one short write transaction (a change of what a zone
 * answers bumps its SOA serial in the same one; a new secret does not),
 * committed before anything is printed; then pdns's caches are purged, and
 * a failed purge only warns.  A new secret is shown once, as the last line
 * of stdout, and wiped.  Only zone add and host add create a missing store.
 *
 * Exit status: 0 done, 1 the operation failed (not found, exists, store
 * error), 2 usage, invalid argument or configuration error.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "names.h"
#include "purge.h"
#include "secret.h"
#include "store.h"

enum {
	CTL_OK = 0,
	CTL_FAIL = 1,
	CTL_USAGE = 2,
	CTL_HELP = -1, /* internal: --help seen after a command */
};

#define TTL_MAX 86400
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
};

struct optdef {
	const char *name;
	unsigned bit;
	bool arg;
};

static const struct optdef optdefs[] = {
	{"ns", O_NS, true},     {"hostmaster", O_HOSTMASTER, true},
	{"ttl", O_TTL, true},   {"force", O_FORCE, false},
	{"ip", O_IP, true},     {"json", O_JSON, false},
	{"zone", O_ZONE, true}, {"wildcard", O_WILDCARD, true},
};

/* A command's arguments; every pointer is borrowed from argv. */
struct opts {
	const char *pos; /* the one positional: ZONE or FQDN */
	const char *ns[DDNS_ZONE_NS_MAX];
	unsigned n_ns;
	const char *ip[IP_ARGS_MAX];
	unsigned n_ip;
	const char *hostmaster, *ttl, *zone, *wildcard;
	bool force, json;
	unsigned seen; /* enum opt_bit */
};

struct ctl {
	struct ddns_conf *conf;
	ddns_store *store;
};

struct cmd {
	const char *group, *verb, *args;
	unsigned allowed, required; /* enum opt_bit */
	bool has_pos;
	int (*run)(struct ctl *c, const struct opts *o);
	unsigned one_of; /* enum opt_bit: at least one of these is needed */
	bool create;     /* may create the store (others need an existing one) */
};

static const char *const usage_text[] = {
	"usage: ddnsctl -c FILE [--check-config] COMMAND [ARGS...]",
	"",
	"Manage the zones and hosts of a ddns store.",
	"",
	"  -c, --config FILE  the ddns configuration file (required)",
	"  --check-config     check FILE, print \"FILE: ok\" and exit",
	"  -h, --help         this text (after a command: that command's usage)",
	"",
	"Commands:",
	"  zone add ZONE --ns NAME [--ns NAME]... --hostmaster ADDR [--ttl SECONDS]",
	"      serve ZONE with up to 8 name servers; ADDR as hostmaster@example.org",
	"      or hostmaster.example.org; SECONDS is the TTL of the host records",
	"      (1..86400, default 60)",
	"  zone list [--json]",
	"      one line per zone: name, id, serial, ttl, name servers, hosts",
	"  zone del ZONE [--force]",
	"      stop serving ZONE; refused while it has hosts unless --force,",
	"      which deletes them too",
	"  host add FQDN [--ip ADDR]...",
	"      add a host one label below a zone (NAME.ZONE; a deeper name needs",
	"      a zone of its own); its secret is printed once, as the last line",
	"      of output",
	"  host secret FQDN",
	"      replace the secret (the old one stops working at once) and print",
	"      the new one as the last line",
	"  host set FQDN --ip ADDR [--ip ADDR] [--wildcard on|off]",
	"      set the A (IPv4) or AAAA (IPv6) record, chosen by the address's",
	"      family; give --ip twice to set both; \"--ip none\" clears both",
	"      (\"--ip none --ip 192.0.2.1\" keeps only that IPv4 address);",
	"      --wildcard on makes every name below FQDN answer its addresses",
	"      (--ip may then be left out)",
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
	"      last_fault_text)",
	"",
	"Names may be given in any letter case, with a trailing dot, or in UTF-8",
	"(international names are stored as A-labels).",
	"Only zone add and host add create the store when [store] path has none.",
	"After a change pdns's caches are purged through [pdns] control_socket,",
	"when set; a failed purge prints a warning and does not fail the command.",
	"",
	"Exit status: 0 done; 1 the operation failed (not found, already exists,",
	"store error); 2 usage error, invalid name, address or TTL, bad config.",
};

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
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
	for (size_t i = 0; i < sizeof usage_text / sizeof usage_text[0]; i++)
		fprintf(f, "%s\n", usage_text[i]);
}

static void usage_cmd(FILE *f, const struct cmd *c)
{
	fprintf(f, "usage: ddnsctl -c FILE %s %s%s%s\n", c->group, c->verb,
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

/* Record option D with value V (NULL for flags) in O. */
static int opt_store(struct opts *o, const struct optdef *d, const char *v)
{
	const char **single = NULL;

	o->seen |= d->bit;
	switch (d->bit) {
	case O_NS:
		if (o->n_ns == DDNS_ZONE_NS_MAX) {
			say("at most %d --ns", DDNS_ZONE_NS_MAX);
			return CTL_USAGE;
		}
		o->ns[o->n_ns++] = v;
		return CTL_OK;
	case O_IP:
		if (o->n_ip == IP_ARGS_MAX) {
			say("too many --ip: one IPv4, one IPv6 and \"none\" at most");
			return CTL_USAGE;
		}
		o->ip[o->n_ip++] = v;
		return CTL_OK;
	case O_FORCE: o->force = true; return CTL_OK;
	case O_JSON: o->json = true; return CTL_OK;
	case O_HOSTMASTER: single = &o->hostmaster; break;
	case O_TTL: single = &o->ttl; break;
	case O_ZONE: single = &o->zone; break;
	case O_WILDCARD: single = &o->wildcard; break;
	}
	if (*single) {
		say("--%s given twice", d->name);
		return CTL_USAGE;
	}
	*single = v;
	return CTL_OK;
}

static const struct optdef *opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof optdefs / sizeof optdefs[0]; i++)
		if (strlen(optdefs[i].name) == len &&
		    memcmp(optdefs[i].name, name, len) == 0)
			return &optdefs[i];
	return NULL;
}

/* One "--name[=value]" at ARGV[*I] (advanced past a separate value). */
static int parse_opt(int argc, char **argv, int *i, const struct cmd *c,
		     struct opts *o)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *v = NULL;
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	const struct optdef *d = opt_find(a, len);

	if (strcmp(a, "help") == 0)
		return CTL_HELP;
	if (!d || !(c->allowed & d->bit)) {
		say("%s option '--%.*s' for %s %s", d ? "no" : "unknown",
		    (int)len, a, c->group, c->verb);
		return CTL_USAGE;
	}
	if (d->arg && eq) {
		v = eq + 1;
	} else if (d->arg) {
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
	char names[64] = "";
	size_t n = 0;

	if (!c->one_of || (o->seen & c->one_of))
		return CTL_OK;
	for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
		if ((c->one_of & optdefs[k].bit) && n < sizeof names)
			n += (size_t)snprintf(names + n, sizeof names - n,
					      "%s--%s", n ? " or " : "",
					      optdefs[k].name);
	say("%s %s: missing %s", c->group, c->verb, names);
	return CTL_USAGE;
}

/*
 * Parse the ARGC arguments after "GROUP VERB".  Words starting with "--"
 * are options (until a lone "--"); anything else, "-a.example" included,
 * is the positional, so a bad name gets a name error, not an option error.
 */
static int parse_args(int argc, char **argv, const struct cmd *c,
		      struct opts *o)
{
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
		} else if (c->has_pos && !o->pos) {
			o->pos = a;
		} else {
			say("unexpected argument '%s'", a);
			return CTL_USAGE;
		}
	}
	if (c->has_pos && !o->pos) {
		say("%s %s: missing %s", c->group, c->verb,
		    strcmp(c->group, "zone") == 0 ? "ZONE" : "FQDN");
		return CTL_USAGE;
	}
	for (size_t k = 0; k < sizeof optdefs / sizeof optdefs[0]; k++)
		if ((c->required & optdefs[k].bit) && !(o->seen & optdefs[k].bit)) {
			say("%s %s: missing --%s", c->group, c->verb,
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
			say("invalid address '%s' (expected an IPv4 or IPv6 unicast address, or none)", s);
			return CTL_USAGE;
		}
		has = a.family == AF_INET ? &ip->has4 : &ip->has6;
		if (*has) {
			say("two %s addresses given; --ip takes one of each family",
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
		 fputc('\n', stdout) != EOF ? CTL_OK : CTL_FAIL;

	json_decref(j);
	if (rc != CTL_OK)
		say("cannot write the JSON output");
	return rc;
}

/*
 * Write SECRET as the last line of stdout, straight to the descriptor so
 * that no copy of it stays in stdio's buffer.  The caller wipes SECRET.
 */
static int print_secret(const char *secret)
{
	char line[DDNS_SECRET_BUF + 1];
	size_t len = strlen(secret), off = 0;

	if (fflush(stdout) != 0 || len >= DDNS_SECRET_BUF)
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
		say("cannot write the secret (%s); make a new one with 'host secret'",
		    strerror(errno));
		return CTL_FAIL;
	}
	return CTL_OK;
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
		say("commit failed, nothing was changed: %s", ddns_strerror(rc));
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
		say("warning: the change is stored, but the pdns cache purge failed; pdns may answer old data until it expires");
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
		say("warning: the change is stored, but pdns did not re-read its zones; it may take up to zone-cache-refresh-interval to show");
	purge_zone(c, zone);
}

/* Purge what a change of host FQDN in ZONE may have left in pdns's
 * caches, by the one policy of purge.h (SUBTREE: a host that is or was a
 * wildcard, or one added or deleted). */
static void purge_host(const struct ctl *c, const char *fqdn,
		       const char *zone, bool subtree)
{
	struct ddns_purge_names pn;
	const char *names[DDNS_PURGE_HOST_MAX];

	ddns_purge_host_names(fqdn, zone, subtree, &pn);
	for (unsigned i = 0; i < pn.n; i++)
		names[i] = pn.v[i];
	purge(c, names, pn.n);
}

/* ---- zones ---------------------------------------------------------- */

static int zone_from_opts(const struct opts *o, struct ddns_zone *z)
{
	uint64_t ttl = DDNS_DEFAULT_TTL;
	int rc;

	memset(z, 0, sizeof *z);
	if ((rc = arg_name("zone", o->pos, z->name)) != 0)
		return rc;
	for (unsigned i = 0; i < o->n_ns; i++) {
		if ((rc = arg_name("name server", o->ns[i], z->ns[i])) != 0)
			return rc;
		for (unsigned k = 0; k < i; k++)
			if (strcmp(z->ns[k], z->ns[i]) == 0) {
				say("name server %s given twice", z->ns[i]);
				return CTL_USAGE;
			}
	}
	z->n_ns = (uint8_t)o->n_ns;
	if (ddns_mailbox_to_rname(o->hostmaster, z->hostmaster) != 0) {
		say("invalid --hostmaster '%s' (expected an address such as hostmaster@example.org)",
		    o->hostmaster);
		return CTL_USAGE;
	}
	if (o->ttl && ddns_parse_uint(o->ttl, 1, TTL_MAX, &ttl) != 0) {
		say("invalid --ttl '%s' (seconds, 1 to %d)", o->ttl, TTL_MAX);
		return CTL_USAGE;
	}
	z->ttl = (uint32_t)ttl;
	z->kind = DDNS_ZONE_NATIVE;
	return CTL_OK;
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
		return store_err("cannot list the hosts of zone", parent.name, rc);
	if (sh.n > 0) {
		say("zone %s would take over %u host(s) of zone %s (such as %s); delete them first",
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

	if ((rc = zone_from_opts(o, &z)) != 0 || (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = zone_add_check(t, &z)) != 0)
		goto fail;
	rc = ddns_zone_add(t, &z);
	if (rc == DDNS_EEXIST || rc == DDNS_EBUSY) {
		/* zone_add_check said why already; this is the store's own
		 * check of the same rules. */
		say("zone %s: %s", z.name, rc == DDNS_EEXIST ? "already exists" :
		    "hosts of an enclosing zone lie at or below it");
		rc = CTL_FAIL;
		goto fail;
	}
	if (rc != 0) {
		rc = store_err("cannot add zone", z.name, rc);
		goto fail;
	}
	if ((rc = txn_commit(t)) != 0)
		return rc;
	printf("zone %s added (id %u, serial %u, ttl %u)\n", z.name, z.id,
	       z.serial, z.ttl);
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

	if ((rc = arg_name("zone", o->pos, name)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	rc = ddns_zone_del(t, name, o->force, &n);
	if (rc != 0) {
		ddns_txn_abort(t);
		if (rc == DDNS_ENOTFOUND)
			say("no zone %s", name);
		else if (rc == DDNS_EBUSY)
			say("zone %s still has %u host(s); delete them first, or use --force to delete them with the zone",
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
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void zone_print(const struct ddns_zone *z, unsigned hosts)
{
	printf("%s id=%u serial=%u ttl=%u ns=", z->name, z->id, z->serial,
	       z->ttl);
	for (unsigned i = 0; i < z->n_ns; i++)
		printf("%s%s", i ? "," : "", z->ns[i]);
	printf(" hostmaster=%s hosts=%u\n", z->hostmaster, hosts);
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
			zone_print(&zv.v[i], zv.hosts[i]);
	}
	zone_vec_free(&zv);
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
		return store_err("cannot raise the serial of zone", z->name, rc);
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
		say("%s: hosts are one label below their zone (%s); add zone %s for deeper names",
		    fqdn, z->name, parent);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* Insert the new host H (fqdn, addresses set) with a new secret; its zone's
 * name goes into ZONE. */
static int host_add_txn(struct ctl *c, struct ddns_host *h,
			char secret[DDNS_SECRET_BUF], char zone[DDNS_NAME_BUF])
{
	struct ddns_zone z;
	ddns_txn *t = NULL;
	int rc;

	if ((rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_add_zone(t, h->fqdn, &z)) != 0)
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
	char secret[DDNS_SECRET_BUF] = "";
	char zone[DDNS_NAME_BUF];
	int rc;

	memset(&h, 0, sizeof h);
	if ((rc = arg_name("host", o->pos, h.fqdn)) != 0 ||
	    (rc = parse_ips(o, &ip)) != 0)
		return rc;
	h.created = time(NULL);
	apply_ips(&h, &ip, h.created);
	if ((rc = host_add_txn(c, &h, secret, zone)) == CTL_OK) {
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

	if ((rc = arg_name("host", o->pos, fqdn)) != 0 ||
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
		printf("new secret of %s (shown once; the old one no longer works):\n",
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

static void host_print_set(const struct ddns_host *h, int wild)
{
	host_print_addrs(h);
	if (wild >= 0)
		printf("host %s: wildcard %s\n", h->fqdn,
		       h->flags & DDNS_HOST_WILDCARD ? "on" : "off");
}

static int cmd_host_set(struct ctl *c, const struct opts *o)
{
	struct ddns_host h;
	struct ddns_zone z;
	struct ip_args ip;
	char fqdn[DDNS_NAME_BUF];
	ddns_txn *t = NULL;
	bool changed, was_wild;
	int rc, wild;

	if ((rc = arg_name("host", o->pos, fqdn)) != 0 ||
	    (rc = parse_ips(o, &ip)) != 0 ||
	    (rc = parse_wildcard(o, &wild)) != 0 ||
	    (rc = txn_begin(c, true, &t)) != 0)
		return rc;
	if ((rc = host_load(t, fqdn, &h, &z)) != 0)
		goto fail;
	was_wild = h.flags & DDNS_HOST_WILDCARD;
	changed = apply_ips(&h, &ip, time(NULL));
	changed |= apply_wildcard(&h, wild);
	if (!changed) {
		ddns_txn_abort(t);
		printf("unchanged: ");
		host_print_set(&h, wild);
		return CTL_OK;
	}
	if ((rc = host_store(t, &h, &z)) != 0)
		goto fail;
	if ((rc = txn_commit(t)) != 0)
		return rc;
	host_print_set(&h, wild);
	purge_host(c, fqdn, z.name, was_wild || (h.flags & DDNS_HOST_WILDCARD));
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

	if ((rc = arg_name("host", o->pos, fqdn)) != 0 ||
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
	static const struct flag_op op = {DDNS_HOST_BLOCKED, false,
					  "unblocked", "is not blocked"};

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

	if ((rc = arg_name("host", o->pos, fqdn)) != 0 ||
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

/* H as a JSON object; F holds its fault record (empty text: none). */
static json_t *host_json(const struct ddns_host *h, const char *zone,
			 const struct ddns_fault *f)
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
	bad |= jset(o, "last_fault_text", f->last_text[0]
					      ? json_string(f->last_text)
					      : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct host_list {
	ddns_txn *t;
	const struct zone_vec *zv;
	json_t *arr; /* NULL: print a table */
};

static int host_list_cb(const struct ddns_host *h, void *arg)
{
	struct host_list *hl = arg;
	const char *zone = zone_name_by_id(hl->zv, h->zone_id);
	char a4[DDNS_ADDR_STRLEN], a6[DDNS_ADDR_STRLEN], ts[32];
	const char *s4, *s6, *up;

	if (hl->arr) {
		struct ddns_fault f;
		json_t *o;
		int rc = ddns_fault_get(hl->t, h->fqdn, &f);

		if (rc == DDNS_ENOTFOUND)
			memset(&f, 0, sizeof f);
		else if (rc != 0)
			return rc;
		o = host_json(h, zone, &f);
		if (!o || json_array_append_new(hl->arr, o) != 0)
			return DDNS_ENOMEM;
		return 0;
	}
	s4 = host_addr(h, AF_INET, a4);
	s6 = host_addr(h, AF_INET6, a6);
	up = iso_time(h->updated, ts);
	printf("%-40s %-15s %-39s %s\n", h->fqdn, s4 ? s4 : "-", s6 ? s6 : "-",
	       up ? up : "never");
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
	struct host_list hl = {.zv = &zv};
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
	if (o->json && !(hl.arr = json_array())) {
		rc = DDNS_ENOMEM;
	} else {
		if (!o->json)
			printf("%-40s %-15s %-39s %s\n", "FQDN", "IPV4", "IPV6",
			       "UPDATED");
		rc = ddns_host_foreach(t, z, host_list_cb, &hl);
	}
	if (rc != 0)
		rc = store_err("cannot list", "hosts", rc);
done:
	ddns_txn_abort(t);
	zone_vec_free(&zv);
	if (hl.arr && rc == CTL_OK)
		return print_json(hl.arr);
	json_decref(hl.arr);
	return rc;
}

/* ---- main ----------------------------------------------------------- */

static const struct cmd cmds[] = {
	{"zone", "add",
	 "ZONE --ns NAME [--ns NAME]... --hostmaster ADDR [--ttl SECONDS]",
	 O_NS | O_HOSTMASTER | O_TTL, O_NS | O_HOSTMASTER, true, cmd_zone_add, 0,
	 true},
	{"zone", "list", "[--json]", O_JSON, 0, false, cmd_zone_list, 0, false},
	{"zone", "del", "ZONE [--force]", O_FORCE, 0, true, cmd_zone_del, 0,
	 false},
	{"host", "add", "FQDN [--ip ADDR]...", O_IP, 0, true, cmd_host_add, 0,
	 true},
	{"host", "secret", "FQDN", 0, 0, true, cmd_host_secret, 0, false},
	{"host", "set", "FQDN --ip ADDR|none [--ip ADDR] [--wildcard on|off]",
	 O_IP | O_WILDCARD, 0, true, cmd_host_set, O_IP | O_WILDCARD, false},
	{"host", "del", "FQDN", 0, 0, true, cmd_host_del, 0, false},
	{"host", "block", "FQDN", 0, 0, true, cmd_host_block, 0, false},
	{"host", "unblock", "FQDN", 0, 0, true, cmd_host_unblock, 0, false},
	{"host", "clear-abuse", "FQDN", 0, 0, true, cmd_host_clear_abuse, 0,
	 false},
	{"host", "list", "[--json] [--zone ZONE]", O_JSON | O_ZONE, 0, false,
	 cmd_host_list, 0, false},
};
static const size_t n_cmds = sizeof cmds / sizeof cmds[0];

/* The command named by ARGV[0] ARGV[1], or say what is wrong. */
static int find_cmd(int argc, char **argv, const struct cmd **out)
{
	bool group = false;

	for (size_t i = 0; i < n_cmds; i++) {
		if (strcmp(cmds[i].group, argv[0]) != 0)
			continue;
		group = true;
		if (argc > 1 && strcmp(cmds[i].verb, argv[1]) == 0) {
			*out = &cmds[i];
			return CTL_OK;
		}
	}
	if (!group) {
		say("unknown command '%s' (zone or host)", argv[0]);
		return usage_error(NULL);
	}
	if (argc > 1)
		say("unknown command '%s %s'", argv[0], argv[1]);
	else
		say("'%s' needs a subcommand", argv[0]);
	for (size_t i = 0; i < n_cmds; i++)
		if (strcmp(cmds[i].group, argv[0]) == 0)
			usage_cmd(stderr, &cmds[i]);
	return CTL_USAGE;
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
		} else if (strncmp(a, "-c", 2) == 0 && strncmp(a, "--", 2) != 0) {
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

	if ((rc = ddns_conf_load(g->conf_file, &c.conf, err, sizeof err)) != 0) {
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
	int rc;

	if ((rc = parse_global(argc, argv, &g)) != 0)
		return rc;
	if (g.help) {
		usage(stdout);
		return CTL_OK;
	}
	if (g.argi < argc) {
		if ((rc = find_cmd(argc - g.argi, argv + g.argi, &cmd)) != 0)
			return rc;
		rc = parse_args(argc - g.argi - 2, argv + g.argi + 2, cmd, &o);
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
		say(g.check ? "--check-config takes no command" : "no command given");
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
	rc = ctl_main(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		say("cannot write to stdout: %s", strerror(errno));
		if (rc == CTL_OK)
			rc = CTL_FAIL;
	}
	return rc;
}
