/*
 * dyndns2.h -- the dyndns2 update protocol as clients speak it (see
 * shared/reference/dyndns2.md): parsing a request, deciding its outcome
 * against the store, applying it, and formatting the reply.  No network
 * I/O here: ddns-updater's server.c feeds it bytes and sends what it
 * returns, and the unit tests drive it directly.
 *
 * A request is handled in four steps:
 *   1. ddns_d2_route, ddns_d2_parse_form (query, then a form body) and
 *      ddns_d2_parse_auth fill a struct ddns_d2_req;
 *   2. ddns_d2_decide authenticates (read transaction) and judges every
 *      hostname and the addresses: the plan either is final already
 *      (badauth, nochg, notfqdn...) or holds one update to write;
 *   3. ddns_d2_commit_batch applies a batch of updates, and the faults
 *      to count, in one write transaction with one serial bump per zone;
 *   4. ddns_d2_plan_finish and ddns_d2_format give the reply body and its
 *      HTTP status.
 *
 * Faults.  Each request that ends in a client fault (nochg, nohost,
 * notfqdn, numhost, dnserr: one per request, however many lines), a
 * server fault (911) or an auth fault (a wrong secret for an existing
 * host) yields one struct ddns_d2_fault in its plan.  The caller queues
 * it for the next group commit instead of writing it on its own, and
 * answers at once: counting never delays a reply nor costs an fsync of
 * its own.  Every nochg counts, the first after a good one included:
 * the abuse threshold ([abuse] client_faults per fault_window, default
 * 120 an hour) is what tolerates a client that updates every minute.
 * Past it the host gets DDNS_HOST_ABUSE; a flagged or blocked host's
 * updates answer "abuse" with HTTP 200 (so that ddclient, which reads
 * only 2xx and 401 bodies, logs the reason) and count nothing more.
 */
#ifndef DDNS_DYNDNS2_H
#define DDNS_DYNDNS2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "buf.h"
#include "challenge.h"
#include "names.h"
#include "secret.h"
#include "store.h"

#define DDNS_D2_INPUT_MAX 8192 /* a query string or a form body, bytes */
#define DDNS_D2_AUTH_MAX  1024 /* an Authorization header value, bytes */
#define DDNS_D2_HOSTS_MAX 20   /* hostnames in one request (Dyn's limit) */
#define DDNS_D2_ARENA	  (2 * DDNS_D2_INPUT_MAX + DDNS_D2_AUTH_MAX)

/* Reply codes.  PENDING marks a line whose outcome the store decides. */
enum ddns_d2_code {
	DDNS_D2_PENDING = 0,
	DDNS_D2_GOOD,
	DDNS_D2_NOCHG,
	DDNS_D2_BADAUTH,
	DDNS_D2_NOTFQDN,
	DDNS_D2_NOHOST,
	DDNS_D2_NUMHOST, /* more than DDNS_D2_HOSTS_MAX names */
	DDNS_D2_ABUSE,	 /* host blocked by an operator or flagged */
	DDNS_D2_DNSERR,	 /* malformed address */
	DDNS_D2_911,	 /* storage failure */
};

enum ddns_d2_route {
	DDNS_D2_ROUTE_NONE = 0, /* unknown path: 404 */
	DDNS_D2_ROUTE_UPDATE,	/* /nic/update, /v3/update, /update */
	DDNS_D2_ROUTE_MYIP,	/* /myip */
};

/* Parameters the protocol knows; every other one is ignored. */
enum ddns_d2_param {
	DDNS_D2_P_USERNAME,
	DDNS_D2_P_PASSWORD,
	DDNS_D2_P_HOSTNAME,
	DDNS_D2_P_MYIP,
	DDNS_D2_P_IP,
	DDNS_D2_P_MYIPV4,
	DDNS_D2_P_MYIPV6,
	DDNS_D2_P_IPV6,
	DDNS_D2_P_TXT,	 /* an ACME challenge value (issue 7) */
	DDNS_D2_P_CLEAR, /* remove it (or, without txt, every value) */
	DDNS_D2_NPARAM
};

/* What an update does to the host's ACME challenge values (issue 7). */
enum ddns_d2_txt_op {
	DDNS_D2_TXT_NONE = 0,
	DDNS_D2_TXT_ADD,   /* txt=VALUE */
	DDNS_D2_TXT_DEL,   /* txt=VALUE&clear */
	DDNS_D2_TXT_CLEAR, /* clear without txt: every value */
};

/* A decoded value: LEN bytes at P (inside the request's arena; may hold
 * NULs), or set == false when absent. */
struct ddns_d2_field {
	const char *p;
	size_t len;
	bool set;
};

/*
 * A parsed request.  Large (the arena holds every decoded value), so keep
 * one and reuse it: it must start zeroed (calloc, static or = {0}), and
 * ddns_d2_req_clear resets it between requests and wipes the password.
 * The arena holds one query, one form body and one Authorization value at
 * their caps; a value that does not fit is dropped (a header: broken).
 */
struct ddns_d2_req {
	struct ddns_d2_field param[DDNS_D2_NPARAM]; /* first occurrence wins */
	struct ddns_d2_field auth_user; /* from Authorization: Basic */
	struct ddns_d2_field auth_pass;
	bool auth_basic;  /* a Basic header was decoded */
	bool auth_broken; /* a Basic header was present but broken */
	bool tls;	  /* came over TLS (set by the caller; kept by
			     ddns_d2_req_clear) */
	unsigned txt_ttl; /* [acme] challenge_ttl and max_values (set by */
	unsigned txt_max; /* the caller, kept; 0: 3600 s and 4) */
	size_t used;	  /* bytes of arena in use */
	char arena[DDNS_D2_ARENA];
};

/* One host update, as queued for a write transaction. */
struct ddns_d2_update {
	/* input, set by ddns_d2_decide */
	char fqdn[DDNS_NAME_BUF];
	struct ddns_cred cred; /* the credential the secret was checked on */
	struct ddns_addr v4;   /* family 0: leave the A record alone */
	struct ddns_addr v6;   /* family 0: leave the AAAA record alone */
	bool tls;	       /* sets (else clears) DDNS_HOST_TLS4/6 of the
				  families given */
	uint8_t txt_op;	       /* enum ddns_d2_txt_op */
	char txt[DDNS_CHALLENGE_VALUE_MAX + 1]; /* ADD / DEL: the value */
	uint32_t txt_ttl;      /* ADD: seconds the value lives */
	uint32_t txt_max;      /* ADD: values kept per host */
	/* output, set by ddns_d2_apply (911: by ddns_d2_commit_batch) */
	int code;		  /* GOOD, NOCHG, BADAUTH, ABUSE or 911 */
	char zone[DDNS_NAME_BUF]; /* the host's zone when GOOD or flagged */
	bool wildcard;		  /* host has DDNS_HOST_WILDCARD */
	/* output of ddns_d2_commit_batch: the NOCHG this update ended in
	 * was the client fault that flagged the host (purge it) */
	bool flagged;
};

/* A fault to count on a host (see the top of this file). */
struct ddns_d2_fault {
	/* input */
	char fqdn[DDNS_NAME_BUF]; /* the host; "" = no fault */
	uint8_t kind;		  /* enum ddns_fault_kind; NONE = no fault */
	char text[DDNS_FAULT_TEXT_MAX + 1]; /* printable ASCII */
	/* output of ddns_d2_commit_batch */
	bool flagged;		  /* this fault set DDNS_HOST_ABUSE */
	bool wildcard;		  /* ... on a host with DDNS_HOST_WILDCARD */
	char zone[DDNS_NAME_BUF]; /* ... whose zone is this */
};

/* When client faults flag a host (conf.h [abuse]). */
struct ddns_d2_policy {
	unsigned client_faults; /* flag past this many per window; 0 never */
	unsigned fault_window;	/* seconds; 0 is taken as 1 */
};

/* What to answer: one code per hostname line, in request order. */
struct ddns_d2_plan {
	unsigned n;
	uint8_t code[DDNS_D2_HOSTS_MAX]; /* enum ddns_d2_code */
	bool write;		   /* upd must go through ddns_d2_commit */
	bool authed;		   /* the secret matched */
	bool cred_given;	   /* credentials were sent (even broken) */
	bool known;		   /* the username names an existing host */
	struct ddns_d2_update upd; /* fqdn is "" unless the username names
				      an existing host (it may be a secret
				      sent in the wrong field) */
	struct ddns_d2_fault fault; /* kind NONE when nothing to count */
};

/* Reset R for a new request; the used arena (passwords) is wiped. */
void ddns_d2_req_clear(struct ddns_d2_req *r);

/*
 * Route the request target TARGET (LEN bytes, origin form "/path?query" or
 * absolute form "http://host/path?query").  *QUERY and *QLEN get the query
 * string (borrowed from TARGET, without '?' and any '#fragment'), or NULL
 * and 0.  Returns an enum ddns_d2_route.
 */
int ddns_d2_route(const char *target, size_t len, const char **query,
		  size_t *qlen);

/*
 * Parse S (LEN bytes of application/x-www-form-urlencoded text, a query or
 * a POST body) into R: '+' is a space, %XX is decoded (a broken escape is
 * kept literally), keys are matched without regard to case, the first
 * occurrence of a key wins, unknown keys are ignored.  Returns 0, or
 * DDNS_ETOOBIG when LEN exceeds DDNS_D2_INPUT_MAX (R is then unchanged).
 */
int ddns_d2_parse_form(struct ddns_d2_req *r, const char *s, size_t len);

/*
 * Parse an Authorization header value V (LEN bytes).  "Basic" (any case)
 * with strict base64 sets auth_user and auth_pass, split at the first
 * colon; any other scheme is ignored (0).  A Basic value that is too long,
 * does not decode or has no colon sets auth_broken and returns
 * DDNS_EINVAL: the request then gets badauth.
 */
int ddns_d2_parse_auth(struct ddns_d2_req *r, const char *v, size_t len);

/*
 * Strict standard base64 (RFC 4648, padding optional, no blanks) of IN
 * (LEN bytes) into OUT (CAP bytes).  Returns the decoded length, or
 * DDNS_EINVAL / DDNS_ETOOBIG.
 */
int ddns_d2_base64_decode(const char *in, size_t len, unsigned char *out,
			  size_t cap);

/*
 * The credentials of R: the Basic header if there was one, else the
 * username and password parameters.  USER/PASS are borrowed from R.
 * Returns 0, or DDNS_EINVAL when they are missing or the header was broken.
 */
int ddns_d2_credentials(const struct ddns_d2_req *r, const char **user,
			size_t *ulen, const char **pass, size_t *plen);

/*
 * The username of R's credentials, normalised, into FQDN: the host a rate
 * limit per host applies to, known before the secret is verified.
 * Returns 0, or DDNS_EINVAL when there are no credentials or the username
 * is not a valid name (FQDN is then "").
 */
int ddns_d2_username(const struct ddns_d2_req *r, char fqdn[DDNS_NAME_BUF]);

/*
 * Judge R's hostname list (absent or empty: FQDN itself) against the
 * authenticated FQDN: each line of PLAN gets PENDING when it names FQDN,
 * NOTFQDN when it is not a valid fully qualified name, NOHOST otherwise;
 * more than DDNS_D2_HOSTS_MAX names give one NUMHOST line.
 */
void ddns_d2_hostnames(const struct ddns_d2_req *r, const char *fqdn,
		       struct ddns_d2_plan *plan);

/*
 * The addresses R asks for: myip / ip (a "v4,v6" list), myipv4, myipv6 and
 * ipv6, each through ddns_addr_parse; when none is given (or all are
 * empty), CLIENT (may be NULL) for its family only.  *V4 and *V6 get
 * family 0 when that record is to be left alone.  Returns 0, or
 * DDNS_EBADADDR for a malformed address, an address of the wrong family
 * for its parameter, two different addresses of one family, or no address
 * at all.
 */
int ddns_d2_addresses(const struct ddns_d2_req *r,
		      const struct ddns_addr *client, struct ddns_addr *v4,
		      struct ddns_addr *v6);

/*
 * Decide request R from CLIENT using the read (or write) transaction T:
 * authenticate (an unknown host still costs one hash, so timing does not
 * tell which names exist), judge the hostnames and addresses, and compare
 * with the stored host.  PLAN is always filled; plan->write says whether
 * plan->upd must be committed (new addresses, or the same addresses with a
 * TLS mark that differs from R->tls: the commit records the mark and
 * answers nochg), plan->fault what to count (texts
 * such as "nochg 192.0.2.1", "dnserr: 01.2.3.4", "nohost b.example.org",
 * "badauth from 192.0.2.9"; client text is cut to printable ASCII).
 * Returns 0, or a store error: PLAN is then a 911 with its server fault
 * (ddns_d2_plan_fail).
 */
int ddns_d2_decide(ddns_txn *t, const struct ddns_d2_req *r,
		   const struct ddns_addr *client, struct ddns_d2_plan *plan);

/*
 * ACME challenges (issue 7).  A request with txt=VALUE, or with clear
 * (empty, 1, true, yes or on; 0, false, no and off mean "absent"), is a
 * challenge request: txt=VALUE adds VALUE (a known value only gets a new
 * expiry), txt=VALUE&clear removes that value, clear alone removes every
 * value of the host.  Its addresses change only when an address parameter
 * (myip, ip, myipv4, myipv6, ipv6) is given; the client's own address is
 * never taken then.  The answer is "good" (with the addresses when some
 * were given: "good 192.0.2.1"), never nochg; an invalid value or clear,
 * or a malformed address, is dnserr (a client fault); a host flagged or
 * blocked answers abuse.
 */

/*
 * Authenticate R's credentials (as ddns_d2_decide does) and nothing else:
 * on success plan->authed, plan->upd.fqdn and plan->upd.cred are set and
 * *H holds the host; otherwise PLAN is one badauth line with its auth
 * fault (a wrong secret for an existing host).  Returns 0, or a store
 * error: PLAN is then a 911 (ddns_d2_plan_fail).
 */
int ddns_d2_authenticate(ddns_txn *t, const struct ddns_d2_req *r,
			 const struct ddns_addr *client,
			 struct ddns_d2_plan *plan, struct ddns_host *h);

/*
 * Decide request R for host H, whose caller was authenticated otherwise
 * (a bearer token of H's owner: no secret is checked), from CLIENT:
 * judge the hostnames against H->fqdn, the addresses and the stored
 * record as ddns_d2_decide does after a good secret.  PLAN is always
 * filled; plan->upd.cred is H's credential, so that a secret replaced
 * before the commit answers badauth as with Basic authentication.
 */
void ddns_d2_decide_host(const struct ddns_d2_req *r, const struct ddns_host *h,
			 const struct ddns_addr *client,
			 struct ddns_d2_plan *plan);

/*
 * Apply U inside write transaction T at time NOW: re-read the host (it may
 * have changed since ddns_d2_decide), then set u->code to BADAUTH (host
 * gone or secret replaced), ABUSE, NOCHG (the addresses are the stored
 * ones; TLS marks that differ are written, `updated` stays) or GOOD
 * (addresses written, u->zone and u->wildcard set).  A challenge update
 * (u->txt_op) writes the host's challenge values and is GOOD, with
 * u->zone and u->wildcard set, whether or not an address changed.  Does not bump the
 * zone serial.  Returns 0 or a store error, after which T must be aborted
 * (DDNS_ECORRUPT: the host does not decode, nothing was written).
 */
int ddns_d2_apply(ddns_txn *t, struct ddns_d2_update *u, int64_t now);

/*
 * Count fault F on its host inside write transaction T at time NOW: the
 * host's counter and last_fault, the `faults` record's text and, for a
 * client fault, its window; past POL's threshold (POL NULL: never) the
 * host gets DDNS_HOST_ABUSE and f->flagged, f->zone, f->wildcard are set.
 * A fault of a host that no longer exists, or already flagged or blocked,
 * is dropped.  Does not bump the zone serial.  Returns 0 or a store
 * error, after which T must be aborted.
 */
int ddns_d2_fault_apply(ddns_txn *t, struct ddns_d2_fault *f,
			const struct ddns_d2_policy *pol, int64_t now);

/*
 * Apply the N updates U[], then count the NF faults F[] (and a client
 * fault for each update that ends NOCHG), in one write transaction on S;
 * bump once the serial of every zone that changed (an address written or
 * a host flagged), then commit (durable on return).  A host whose stored
 * record does not decode fails only its own update (u->code 911) or fault
 * (not counted), with a log line.  Returns 0, or a store error: then
 * nothing was written, every update must be answered 911, and the faults
 * are lost.
 */
int ddns_d2_commit_batch(ddns_store *s, struct ddns_d2_update *const *u,
			 size_t n, struct ddns_d2_fault *f, size_t nf,
			 const struct ddns_d2_policy *pol, int64_t now);

/* ddns_d2_commit_batch without queued faults and without a threshold. */
int ddns_d2_commit(ddns_store *s, struct ddns_d2_update *const *u, size_t n,
		   int64_t now);

/* Make PLAN a single 911 after store error RC, with a server fault
 * "911: <error>" for plan->upd.fqdn (if any). */
void ddns_d2_plan_fail(struct ddns_d2_plan *plan, int rc);

/* Set F to a fault of KIND on FQDN with TEXT (cut to printable ASCII and
 * DDNS_FAULT_TEXT_MAX octets). */
void ddns_d2_fault_set(struct ddns_d2_fault *f, const char *fqdn, int kind,
		       const char *text);

/* Replace PLAN's PENDING lines by CODE (a BADAUTH makes the whole reply a
 * single badauth line). */
void ddns_d2_plan_finish(struct ddns_d2_plan *plan, int code);

/*
 * The reply body of PLAN into OUT (reset first): one line per hostname
 * joined by "\n", no trailing newline, "good IP" / "nochg IP" with the
 * addresses of plan->upd (v4 first, comma-joined).  Returns the HTTP
 * status: 401 for badauth, else 200.
 */
int ddns_d2_format(const struct ddns_d2_plan *plan, struct ddns_buf *out);

/* The text of CODE ("good", "badauth"...); never NULL. */
const char *ddns_d2_code_str(int code);

#endif
