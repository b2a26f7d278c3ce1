/*
 * dyndns2.c -- the dyndns2 protocol logic: parsing, decisions, store
 * updates and reply text.  No network I/O (see dyndns2.h).
 */
#include "dyndns2.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"

static const char *const param_names[DDNS_D2_NPARAM] = {
    [DDNS_D2_P_USERNAME] = "username",
    [DDNS_D2_P_PASSWORD] = "password",
    [DDNS_D2_P_HOSTNAME] = "hostname",
    [DDNS_D2_P_MYIP] = "myip",
    [DDNS_D2_P_IP] = "ip",
    [DDNS_D2_P_MYIPV4] = "myipv4",
    [DDNS_D2_P_MYIPV6] = "myipv6",
    [DDNS_D2_P_IPV6] = "ipv6",
    [DDNS_D2_P_TXT] = "txt",
    [DDNS_D2_P_CLEAR] = "clear",
};

static const struct {
	const char *path;
	int route;
} routes[] = {
    {"/nic/update", DDNS_D2_ROUTE_UPDATE},
    {"/v3/update", DDNS_D2_ROUTE_UPDATE},
    {"/update", DDNS_D2_ROUTE_UPDATE},
    {"/myip", DDNS_D2_ROUTE_MYIP},
};

/* Verified against when the host is unknown, so that an unknown name costs
 * the same hash as a known one.  No secret hashes to all zeroes. */
static const struct ddns_cred dummy_cred;

#define MAX_ADDRS_PER_PARAM 2

void ddns_d2_req_clear(struct ddns_d2_req *r)
{
	OPENSSL_cleanse(r->arena, r->used);
	memset(r->param, 0, sizeof r->param);
	memset(&r->auth_user, 0, sizeof r->auth_user);
	memset(&r->auth_pass, 0, sizeof r->auth_pass);
	r->auth_basic = false;
	r->auth_broken = false;
	r->used = 0;
}

int ddns_d2_route(const char *target, size_t len, const char **query,
		  size_t *qlen)
{
	const char *p = target, *end = target + len, *q, *frag;
	size_t plen;

	*query = NULL;
	*qlen = 0;
	if (len > 0 && target[0] != '/') {
		/* absolute form: skip "scheme://authority" */
		const char *s = memmem(target, len, "://", 3);
		if (!s || !(p = memchr(s + 3, '/', (size_t)(end - s - 3))))
			return DDNS_D2_ROUTE_NONE;
	}
	if ((frag = memchr(p, '#', (size_t)(end - p))) != NULL)
		end = frag;
	q = memchr(p, '?', (size_t)(end - p));
	plen = (size_t)((q ? q : end) - p);
	if (q) {
		*query = q + 1;
		*qlen = (size_t)(end - q - 1);
	}
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strlen(routes[i].path) == plen &&
		    memcmp(routes[i].path, p, plen) == 0)
			return routes[i].route;
	return DDNS_D2_ROUTE_NONE;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy S (LEN bytes) into R's arena as field F, decoding '+' and %XX when
 * FORM.  Decoding never lengthens, so the arena's size bounds it all. */
static void arena_put(struct ddns_d2_req *r, struct ddns_d2_field *f,
		      const char *s, size_t len, bool form)
{
	char *o = r->arena + r->used;
	size_t n = 0;

	if (len > sizeof r->arena - r->used)
		return; /* cannot happen with the input caps; drop */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int hi, lo;

		if (form && c == '+') {
			c = ' ';
		} else if (form && c == '%' && i + 2 < len &&
			   (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
			   (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		o[n++] = (char)c;
	}
	f->p = o;
	f->len = n;
	f->set = true;
	r->used += n;
}

static int param_lookup(const char *k, size_t len)
{
	for (int i = 0; i < DDNS_D2_NPARAM; i++)
		if (strlen(param_names[i]) == len &&
		    strncasecmp(param_names[i], k, len) == 0)
			return i;
	return -1;
}

int ddns_d2_parse_form(struct ddns_d2_req *r, const char *s, size_t len)
{
	const char *end = s + len;

	if (len > DDNS_D2_INPUT_MAX)
		return DDNS_ETOOBIG;
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(pe - s));
		const char *v = eq ? eq + 1 : pe;
		int k = param_lookup(s, (size_t)((eq ? eq : pe) - s));

		if (k >= 0 && !r->param[k].set)
			arena_put(r, &r->param[k], v, (size_t)(pe - v), true);
		s = amp ? amp + 1 : end;
	}
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int ddns_d2_base64_decode(const char *in, size_t len, unsigned char *out,
			  size_t cap)
{
	size_t pad = 0, n = 0;
	unsigned acc = 0, bits = 0;

	while (pad < 2 && len > 0 && in[len - 1] == '=') {
		len--;
		pad++;
	}
	if ((pad > 0 && (len + pad) % 4 != 0) || len % 4 == 1)
		return DDNS_EINVAL;
	if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return DDNS_ETOOBIG;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);
		if (v < 0)
			return DDNS_EINVAL;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Strip surrounding blanks (spaces, tabs) from *S / *LEN. */
static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_blank((*s)[*len - 1]))
		(*len)--;
}

int ddns_d2_parse_auth(struct ddns_d2_req *r, const char *v, size_t len)
{
	unsigned char dec[DDNS_D2_AUTH_MAX];
	const unsigned char *colon;
	int n;

	trim(&v, &len);
	if (len < 5 || strncasecmp(v, "basic", 5) != 0 ||
	    (len > 5 && !is_blank(v[5])))
		return 0; /* another scheme: not ours */
	v += 5;
	len -= 5;
	trim(&v, &len);
	n = len > DDNS_D2_AUTH_MAX
		? DDNS_ETOOBIG
		: ddns_d2_base64_decode(v, len, dec, sizeof dec);
	colon = n > 0 ? memchr(dec, ':', (size_t)n) : NULL;
	if (!colon) {
		r->auth_broken = true;
		OPENSSL_cleanse(dec, sizeof dec);
		return DDNS_EINVAL;
	}
	arena_put(r, &r->auth_user, (const char *)dec, (size_t)(colon - dec),
		  false);
	arena_put(r, &r->auth_pass, (const char *)colon + 1,
		  (size_t)(n - (colon + 1 - dec)), false);
	r->auth_basic = r->auth_user.set && r->auth_pass.set;
	r->auth_broken = !r->auth_basic; /* never fall back to the query */
	OPENSSL_cleanse(dec, sizeof dec);
	return r->auth_basic ? 0 : DDNS_EINVAL;
}

int ddns_d2_credentials(const struct ddns_d2_req *r, const char **user,
			size_t *ulen, const char **pass, size_t *plen)
{
	const struct ddns_d2_field *u = &r->auth_user, *p = &r->auth_pass;

	if (r->auth_broken)
		return DDNS_EINVAL;
	if (!r->auth_basic) {
		u = &r->param[DDNS_D2_P_USERNAME];
		p = &r->param[DDNS_D2_P_PASSWORD];
	}
	if (!u->set || !p->set)
		return DDNS_EINVAL;
	*user = u->p;
	*ulen = u->len;
	*pass = p->p;
	*plen = p->len;
	return 0;
}

/* One hostname of the list against the authenticated FQDN. */
static uint8_t judge_hostname(const char *s, size_t len, const char *fqdn)
{
	char name[DDNS_NAME_BUF];

	trim(&s, &len);
	if (ddns_name_normalize(s, len, name) != 0 || !ddns_name_parent(name))
		return DDNS_D2_NOTFQDN;
	return strcmp(name, fqdn) == 0 ? DDNS_D2_PENDING : DDNS_D2_NOHOST;
}

void ddns_d2_hostnames(const struct ddns_d2_req *r, const char *fqdn,
		       struct ddns_d2_plan *plan)
{
	const struct ddns_d2_field *h = &r->param[DDNS_D2_P_HOSTNAME];
	const char *s = h->p, *end;
	size_t len = h->len;

	plan->n = 0;
	if (h->set)
		trim(&s, &len);
	if (!h->set || len == 0) {
		plan->code[plan->n++] = DDNS_D2_PENDING;
		return;
	}
	end = s + len;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end;

		if (plan->n == DDNS_D2_HOSTS_MAX) {
			plan->n = 1;
			plan->code[0] = DDNS_D2_NUMHOST;
			return;
		}
		plan->code[plan->n++] =
		    judge_hostname(s, (size_t)(e - s), fqdn);
		if (!comma)
			break;
		s = comma + 1;
	}
}

/* Record address A for parameter family WANT (0: either) in *V4 / *V6. */
static int take_addr(const struct ddns_addr *a, int want, struct ddns_addr *v4,
		     struct ddns_addr *v6)
{
	struct ddns_addr *slot = a->family == AF_INET ? v4 : v6;

	if (want != 0 && a->family != want)
		return DDNS_EBADADDR;
	if (slot->family != 0 && !ddns_addr_equal(slot, a))
		return DDNS_EBADADDR;
	*slot = *a;
	return 0;
}

/* A comma-separated list of at most MAX_ADDRS_PER_PARAM addresses; empty
 * entries are skipped. */
static int take_list(const struct ddns_d2_field *f, int want,
		     struct ddns_addr *v4, struct ddns_addr *v6)
{
	const char *s, *end;
	unsigned count = 0;

	/* An absent parameter has no pointer: no arithmetic on it (UB). */
	if (!f->set || !f->p)
		return 0;
	s = f->p;
	end = f->p + f->len;
	while (s < end) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end, *a = s;
		size_t len = (size_t)(e - s);
		struct ddns_addr addr;
		int rc;

		s = comma ? comma + 1 : end;
		trim(&a, &len);
		if (len == 0)
			continue;
		if (++count > MAX_ADDRS_PER_PARAM ||
		    ddns_addr_parse(a, len, &addr) != 0)
			return DDNS_EBADADDR;
		if ((rc = take_addr(&addr, want, v4, v6)) != 0)
			return rc;
	}
	return 0;
}

int ddns_d2_addresses(const struct ddns_d2_req *r,
		      const struct ddns_addr *client, struct ddns_addr *v4,
		      struct ddns_addr *v6)
{
	static const struct {
		int param;
		int family;
	} sources[] = {
	    {DDNS_D2_P_MYIP, 0},	 {DDNS_D2_P_IP, 0},
	    {DDNS_D2_P_MYIPV4, AF_INET}, {DDNS_D2_P_MYIPV6, AF_INET6},
	    {DDNS_D2_P_IPV6, AF_INET6},
	};
	int rc;

	memset(v4, 0, sizeof *v4);
	memset(v6, 0, sizeof *v6);
	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		rc = take_list(&r->param[sources[i].param], sources[i].family,
			       v4, v6);
		if (rc != 0)
			goto fail;
	}
	if (v4->family != 0 || v6->family != 0)
		return 0;
	if (!client ||
	    (client->family != AF_INET && client->family != AF_INET6))
		return DDNS_EBADADDR;
	return take_addr(client, 0, v4, v6);
fail:
	memset(v4, 0, sizeof *v4);
	memset(v6, 0, sizeof *v6);
	return rc;
}

/* Same addresses as H for every family U writes. */
static bool addrs_unchanged(const struct ddns_host *h,
			    const struct ddns_d2_update *u)
{
	if (u->v4.family != 0 &&
	    (!(h->flags & DDNS_HOST_V4) ||
	     memcmp(&h->v4, &u->v4.u.v4, sizeof h->v4) != 0))
		return false;
	if (u->v6.family != 0 &&
	    (!(h->flags & DDNS_HOST_V6) ||
	     memcmp(&h->v6, &u->v6.u.v6, sizeof h->v6) != 0))
		return false;
	return true;
}

/* H's flags with the TLS mark of each family U writes set to u->tls. */
static uint32_t marked_flags(const struct ddns_host *h,
			     const struct ddns_d2_update *u)
{
	uint32_t f = h->flags;

	if (u->v4.family != 0)
		f = u->tls ? f | DDNS_HOST_TLS4 : f & ~(uint32_t)DDNS_HOST_TLS4;
	if (u->v6.family != 0)
		f = u->tls ? f | DDNS_HOST_TLS6 : f & ~(uint32_t)DDNS_HOST_TLS6;
	return f;
}

static bool host_refused(const struct ddns_host *h)
{
	return (h->flags & (DDNS_HOST_BLOCKED | DDNS_HOST_ABUSE)) != 0;
}

/* Check R's credentials; on success plan->authed, plan->upd.fqdn and
 * plan->upd.cred are set and *H holds the host.  Otherwise PLAN is one
 * badauth line.  Returns 0 or a store error. */
static int authenticate(ddns_txn *t, const struct ddns_d2_req *r,
			struct ddns_d2_plan *plan, struct ddns_host *h)
{
	const struct ddns_cred *cred = &dummy_cred;
	const char *user, *pass;
	size_t ulen, plen;
	bool known = false;
	int rc;

	plan->n = 1;
	plan->code[0] = DDNS_D2_BADAUTH;
	plan->cred_given = r->auth_broken;
	if (ddns_d2_credentials(r, &user, &ulen, &pass, &plen) != 0)
		return 0;
	plan->cred_given = true;
	if (ddns_name_normalize(user, ulen, plan->upd.fqdn) == 0) {
		rc = ddns_host_get(t, plan->upd.fqdn, h);
		if (rc == 0) {
			known = plan->known = true;
			cred = &h->cred;
		} else if (rc != DDNS_ENOTFOUND) {
			/* a corrupt record has a host's name as its key */
			if (rc != DDNS_ECORRUPT)
				plan->upd.fqdn[0] = '\0';
			return rc;
		}
	}
	/* A username that names no host may be a secret in the wrong field:
	 * it must not reach a log line or a fault record. */
	if (!known)
		plan->upd.fqdn[0] = '\0';
	/* Always one verification, whether or not the host exists. */
	if (!ddns_cred_verify(cred, pass, plen) || !known)
		return 0;
	plan->authed = true;
	plan->upd.cred = h->cred;
	plan->n = 0;
	return 0;
}

static bool plan_pending(const struct ddns_d2_plan *plan)
{
	for (unsigned i = 0; i < plan->n; i++)
		if (plan->code[i] == DDNS_D2_PENDING)
			return true;
	return false;
}

/* ---- fault texts ------------------------------------------------------ */

/* A fault text being built: printable ASCII, cut at DDNS_FAULT_TEXT_MAX. */
struct ftext {
	char s[DDNS_FAULT_TEXT_MAX + 1];
	size_t n;
};

/* Append S (LEN bytes of untrusted text): other octets become '?'. */
static void ftext_add(struct ftext *t, const char *s, size_t len)
{
	for (size_t i = 0; i < len && t->n < DDNS_FAULT_TEXT_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		t->s[t->n++] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	t->s[t->n] = '\0';
}

static void ftext_adds(struct ftext *t, const char *s)
{
	ftext_add(t, s, strlen(s));
}

/* "; " between the parts of one request's fault. */
static void ftext_sep(struct ftext *t)
{
	if (t->n > 0)
		ftext_adds(t, "; ");
}

void ddns_d2_fault_set(struct ddns_d2_fault *f, const char *fqdn, int kind,
		       const char *text)
{
	struct ftext t = {.n = 0};

	memset(f, 0, sizeof *f);
	snprintf(f->fqdn, sizeof f->fqdn, "%s", fqdn);
	f->kind = (uint8_t)kind;
	ftext_adds(&t, text);
	memcpy(f->text, t.s, t.n + 1);
}

void ddns_d2_plan_fail(struct ddns_d2_plan *plan, int rc)
{
	char text[64];

	plan->n = 1;
	plan->code[0] = DDNS_D2_911;
	plan->write = false;
	snprintf(text, sizeof text, "911: %s", ddns_strerror(rc));
	if (plan->upd.fqdn[0])
		ddns_d2_fault_set(&plan->fault, plan->upd.fqdn,
				  DDNS_FAULT_SERVER, text);
}

/* " v4,v6" of U (whichever it sets) onto T. */
static void ftext_addrs(struct ftext *t, const struct ddns_d2_update *u)
{
	char a[DDNS_ADDR_STRLEN];

	if (u->v4.family != 0) {
		ftext_adds(t, " ");
		ftext_adds(t, ddns_addr_format(&u->v4, a, sizeof a));
	}
	if (u->v6.family != 0) {
		ftext_adds(t, u->v4.family != 0 ? "," : " ");
		ftext_adds(t, ddns_addr_format(&u->v6, a, sizeof a));
	}
}

/* "dnserr:" and every address value R sent, as sent. */
static void ftext_dnserr(struct ftext *t, const struct ddns_d2_req *r)
{
	static const int params[] = {DDNS_D2_P_MYIP,   DDNS_D2_P_IP,
				     DDNS_D2_P_MYIPV4, DDNS_D2_P_MYIPV6,
				     DDNS_D2_P_IPV6,   DDNS_D2_P_TXT};

	ftext_adds(t, "dnserr:");
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
		const struct ddns_d2_field *f = &r->param[params[i]];

		if (f->set && f->len > 0) {
			ftext_adds(t, " ");
			ftext_add(t, f->p, f->len);
		}
	}
}

/* Line I's code C and, for a name it refused, the name as sent. */
static void ftext_line(struct ftext *t, const struct ddns_d2_plan *plan,
		       unsigned i, const char *name, size_t len, bool *once)
{
	int c = plan->code[i];

	if (c == DDNS_D2_NOHOST || c == DDNS_D2_NOTFQDN) {
		ftext_sep(t);
		ftext_adds(t, ddns_d2_code_str(c));
		ftext_adds(t, " ");
		ftext_add(t, name, len);
	} else if (c == DDNS_D2_NUMHOST) {
		ftext_sep(t);
		ftext_adds(t, "numhost");
	} else if (c == DDNS_D2_NOCHG && !*once) {
		*once = true; /* every nochg line has the same addresses */
		ftext_sep(t);
		ftext_adds(t, "nochg");
		ftext_addrs(t, &plan->upd);
	}
}

/* The client fault of an authenticated request's final PLAN, if any.
 * The hostname list is split as ddns_d2_hostnames split it. */
static void client_fault(struct ddns_d2_plan *plan, const struct ddns_d2_req *r)
{
	const struct ddns_d2_field *hf = &r->param[DDNS_D2_P_HOSTNAME];
	const char *s = hf->set ? hf->p : "";
	const char *end = s + (hf->set ? hf->len : 0);
	struct ftext t = {.n = 0};
	bool once = false;

	for (unsigned i = 0; i < plan->n; i++) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *e = comma ? comma : end, *name = s;
		size_t len = (size_t)(e - s);

		trim(&name, &len);
		ftext_line(&t, plan, i, name, len, &once);
		s = comma ? comma + 1 : end;
	}
	for (unsigned i = 0; i < plan->n; i++)
		if (plan->code[i] == DDNS_D2_DNSERR) {
			ftext_sep(&t);
			ftext_dnserr(&t, r);
			break;
		}
	if (t.n > 0)
		ddns_d2_fault_set(&plan->fault, plan->upd.fqdn,
				  DDNS_FAULT_CLIENT, t.s);
}

/* A wrong secret for an existing host is that host's auth fault. */
static void auth_fault(struct ddns_d2_plan *plan,
		       const struct ddns_addr *client)
{
	char text[64], a[DDNS_ADDR_STRLEN];

	if (!plan->known)
		return;
	if (client && client->family != 0)
		snprintf(text, sizeof text, "badauth from %s",
			 ddns_addr_format(client, a, sizeof a));
	else
		snprintf(text, sizeof text, "badauth");
	ddns_d2_fault_set(&plan->fault, plan->upd.fqdn, DDNS_FAULT_AUTH, text);
}

int ddns_d2_username(const struct ddns_d2_req *r, char fqdn[DDNS_NAME_BUF])
{
	const char *user, *pass;
	size_t ulen, plen;

	fqdn[0] = '\0';
	if (ddns_d2_credentials(r, &user, &ulen, &pass, &plen) != 0 ||
	    ddns_name_normalize(user, ulen, fqdn) != 0) {
		fqdn[0] = '\0';
		return DDNS_EINVAL;
	}
	return 0;
}

/* ---- ACME challenges (see dyndns2.h) ---------------------------------- */

/* True if field F is one of the words in W (any case). */
static bool field_is(const struct ddns_d2_field *f, const char *const *w,
		     size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(w[i]) == f->len && strncasecmp(f->p, w[i], f->len) == 0)
			return true;
	return false;
}

/* The clear parameter: 1 set, 0 absent or false, -1 not understood. */
static int clear_flag(const struct ddns_d2_req *r)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	const struct ddns_d2_field *f = &r->param[DDNS_D2_P_CLEAR];

	if (!f->set || field_is(f, no, 4))
		return 0;
	return f->len == 0 || field_is(f, yes, 4) ? 1 : -1;
}

/* True if R is a challenge request (txt or a true clear). */
static bool is_txt_request(const struct ddns_d2_req *r)
{
	return r->param[DDNS_D2_P_TXT].set || clear_flag(r) != 0;
}

/* R's challenge operation into U.  0 or DDNS_EINVAL. */
static int txt_op(const struct ddns_d2_req *r, struct ddns_d2_update *u)
{
	const struct ddns_d2_field *f = &r->param[DDNS_D2_P_TXT];
	int clear = clear_flag(r);

	if (clear < 0)
		return DDNS_EINVAL;
	u->txt_ttl = r->txt_ttl ? r->txt_ttl : 3600;
	u->txt_max = r->txt_max ? r->txt_max : 4;
	if (clear && (!f->set || f->len == 0)) {
		u->txt_op = DDNS_D2_TXT_CLEAR;
		return 0;
	}
	if (!ddns_challenge_value_valid(f->p, f->len))
		return DDNS_EINVAL;
	memcpy(u->txt, f->p, f->len);
	u->txt[f->len] = '\0';
	u->txt_op = clear ? DDNS_D2_TXT_DEL : DDNS_D2_TXT_ADD;
	return 0;
}

/* The addresses of a challenge request: only those given explicitly. */
static int txt_addresses(const struct ddns_d2_req *r, struct ddns_d2_update *u)
{
	static const int params[] = {DDNS_D2_P_MYIP, DDNS_D2_P_IP,
				     DDNS_D2_P_MYIPV4, DDNS_D2_P_MYIPV6,
				     DDNS_D2_P_IPV6};
	bool any = false;

	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
		const struct ddns_d2_field *f = &r->param[params[i]];
		const char *p = f->p;
		size_t len = f->len;

		if (f->set)
			trim(&p, &len);
		any = any || (f->set && len > 0);
	}
	memset(&u->v4, 0, sizeof u->v4);
	memset(&u->v6, 0, sizeof u->v6);
	return any ? ddns_d2_addresses(r, NULL, &u->v4, &u->v6) : 0;
}

/* The lines of an authenticated request (host H) and whether to write. */
static void judge(const struct ddns_d2_req *r, const struct ddns_addr *client,
		  const struct ddns_host *h, struct ddns_d2_plan *plan)
{
	ddns_d2_hostnames(r, plan->upd.fqdn, plan);
	if (!plan_pending(plan))
		return;
	if (host_refused(h)) {
		ddns_d2_plan_finish(plan, DDNS_D2_ABUSE);
		return;
	}
	if (is_txt_request(r)) {
		if (txt_op(r, &plan->upd) != 0 ||
		    txt_addresses(r, &plan->upd) != 0)
			ddns_d2_plan_finish(plan, DDNS_D2_DNSERR);
		else
			plan->write = true; /* always GOOD (apply) */
		return;
	}
	if (ddns_d2_addresses(r, client, &plan->upd.v4, &plan->upd.v6) != 0) {
		ddns_d2_plan_finish(plan, DDNS_D2_DNSERR);
		return;
	}
	if (addrs_unchanged(h, &plan->upd) &&
	    marked_flags(h, &plan->upd) == h->flags) {
		ddns_d2_plan_finish(plan, DDNS_D2_NOCHG);
		return;
	}
	/* new addresses, or only new TLS marks (then nochg, see apply) */
	plan->write = true;
}

int ddns_d2_authenticate(ddns_txn *t, const struct ddns_d2_req *r,
			 const struct ddns_addr *client,
			 struct ddns_d2_plan *plan, struct ddns_host *h)
{
	int rc;

	memset(plan, 0, sizeof *plan);
	plan->upd.tls = r->tls;
	if ((rc = authenticate(t, r, plan, h)) != 0) {
		ddns_d2_plan_fail(plan, rc);
		return rc;
	}
	if (!plan->authed)
		auth_fault(plan, client);
	return 0;
}

int ddns_d2_decide(ddns_txn *t, const struct ddns_d2_req *r,
		   const struct ddns_addr *client, struct ddns_d2_plan *plan)
{
	struct ddns_host h;
	int rc;

	memset(plan, 0, sizeof *plan);
	plan->upd.tls = r->tls;
	if ((rc = authenticate(t, r, plan, &h)) != 0) {
		ddns_d2_plan_fail(plan, rc);
		return rc;
	}
	if (!plan->authed) {
		auth_fault(plan, client);
		return 0;
	}
	judge(r, client, &h, plan);
	client_fault(plan, r);
	return 0;
}

void ddns_d2_decide_host(const struct ddns_d2_req *r, const struct ddns_host *h,
			 const struct ddns_addr *client,
			 struct ddns_d2_plan *plan)
{
	memset(plan, 0, sizeof *plan);
	plan->upd.tls = r->tls;
	plan->cred_given = plan->known = plan->authed = true;
	memcpy(plan->upd.fqdn, h->fqdn, sizeof plan->upd.fqdn);
	plan->upd.cred = h->cred;
	judge(r, client, h, plan);
	client_fault(plan, r);
}

/* U's addresses and TLS marks into H, changed at NOW. */
static void set_addrs(struct ddns_host *h, const struct ddns_d2_update *u,
		      int64_t now)
{
	if (u->v4.family != 0) {
		h->v4 = u->v4.u.v4;
		h->flags |= DDNS_HOST_V4;
	}
	if (u->v6.family != 0) {
		h->v6 = u->v6.u.v6;
		h->flags |= DDNS_HOST_V6;
	}
	h->flags = marked_flags(h, u);
	h->updated = now;
}

/* U's challenge operation on host H at NOW. */
static int txt_apply(ddns_txn *t, const struct ddns_d2_update *u,
		     const struct ddns_host *h, int64_t now)
{
	struct ddns_challenges c;
	int rc = ddns_challenge_get(t, u->fqdn, &c);

	/* a record of a former host of this name, or unreadable: start anew */
	if (rc == DDNS_ENOTFOUND || rc == DDNS_ECORRUPT ||
	    (rc == 0 && c.host_created != h->created))
		memset(&c, 0, sizeof c);
	else if (rc != 0)
		return rc;
	c.host_created = h->created;
	ddns_challenge_expire(&c, now);
	if (u->txt_op == DDNS_D2_TXT_ADD)
		ddns_challenge_add(&c, u->txt, now + u->txt_ttl, u->txt_max);
	else if (u->txt_op == DDNS_D2_TXT_DEL)
		ddns_challenge_remove(&c, u->txt);
	else
		c.n = 0;
	return ddns_challenge_put(t, u->fqdn, &c);
}

/* GOOD for U, with H's zone and wildcard-ness. */
static int apply_good(ddns_txn *t, struct ddns_d2_update *u,
		      const struct ddns_host *h)
{
	struct ddns_zone z;
	int rc = ddns_zone_get_by_id(t, h->zone_id, &z);

	if (rc != 0)
		return rc == DDNS_ENOTFOUND ? DDNS_ECORRUPT : rc;
	memcpy(u->zone, z.name, sizeof u->zone);
	u->wildcard = (h->flags & DDNS_HOST_WILDCARD) != 0;
	u->code = DDNS_D2_GOOD;
	return 0;
}

int ddns_d2_apply(ddns_txn *t, struct ddns_d2_update *u, int64_t now)
{
	struct ddns_host h;
	int rc;

	u->code = DDNS_D2_BADAUTH;
	u->zone[0] = '\0';
	u->wildcard = false;
	rc = ddns_host_get(t, u->fqdn, &h);
	if (rc == DDNS_ENOTFOUND)
		return 0; /* deleted meanwhile */
	if (rc != 0)
		return rc;
	if (CRYPTO_memcmp(&h.cred, &u->cred, sizeof h.cred) != 0)
		return 0; /* secret replaced meanwhile */
	if (host_refused(&h)) {
		u->code = DDNS_D2_ABUSE;
		return 0;
	}
	if (u->txt_op != DDNS_D2_TXT_NONE &&
	    ((rc = apply_good(t, u, &h)) != 0 ||
	     (rc = txt_apply(t, u, &h, now)) != 0))
		return rc;
	if (u->txt_op != DDNS_D2_TXT_NONE && addrs_unchanged(&h, u)) {
		if (marked_flags(&h, u) == h.flags)
			return 0;
		h.flags = marked_flags(&h, u);
		return ddns_host_put(t, &h);
	}
	if (addrs_unchanged(&h, u)) {
		/* the address did not change: nochg, even when the TLS marks
		 * do (recorded here, without a serial bump or `updated`) */
		u->code = DDNS_D2_NOCHG;
		if (marked_flags(&h, u) == h.flags)
			return 0;
		h.flags = marked_flags(&h, u);
		return ddns_host_put(t, &h);
	}
	set_addrs(&h, u, now);
	if ((rc = apply_good(t, u, &h)) != 0)
		return rc;
	rc = ddns_host_put(t, &h);
	return rc == DDNS_ENOTFOUND ? DDNS_ECORRUPT : rc;
}

/* ---- counting faults -------------------------------------------------- */

static void count_up(uint32_t *c)
{
	if (*c < UINT32_MAX)
		(*c)++;
}

/* One more client fault in FR's window (a new window once the last one
 * has run out); true if that puts the host past POL's threshold. */
static bool window_add(struct ddns_fault *fr, const struct ddns_d2_policy *pol,
		       int64_t now)
{
	int64_t win = pol->fault_window ? pol->fault_window : 1;

	if (fr->window_start == 0 || now < fr->window_start ||
	    now - fr->window_start >= win) {
		fr->window_start = now;
		fr->window_count = 0;
	}
	count_up(&fr->window_count);
	return pol->client_faults != 0 && fr->window_count > pol->client_faults;
}

/* Flag H as abuse; F learns the zone and wildcard-ness to purge. */
static int flag_abuse(ddns_txn *t, struct ddns_host *h, struct ddns_d2_fault *f)
{
	struct ddns_zone z;
	int rc = ddns_zone_get_by_id(t, h->zone_id, &z);

	if (rc != 0)
		return rc == DDNS_ENOTFOUND ? DDNS_ECORRUPT : rc;
	h->flags |= DDNS_HOST_ABUSE;
	memcpy(f->zone, z.name, sizeof f->zone);
	f->wildcard = (h->flags & DDNS_HOST_WILDCARD) != 0;
	f->flagged = true;
	return 0;
}

int ddns_d2_fault_apply(ddns_txn *t, struct ddns_d2_fault *f,
			const struct ddns_d2_policy *pol, int64_t now)
{
	static const struct ddns_d2_policy never = {0, 3600};
	struct ddns_fault fr;
	struct ddns_host h;
	int rc;

	f->flagged = false;
	if (f->kind == DDNS_FAULT_NONE || f->kind > DDNS_FAULT_AUTH ||
	    !f->fqdn[0])
		return 0;
	if ((rc = ddns_host_get(t, f->fqdn, &h)) != 0)
		return rc == DDNS_ENOTFOUND ? 0 : rc; /* deleted meanwhile */
	/* a flagged or blocked host's client is told so and not counted */
	if (f->kind == DDNS_FAULT_CLIENT && host_refused(&h))
		return 0;
	rc = ddns_fault_get(t, f->fqdn, &fr);
	if (rc == DDNS_ENOTFOUND)
		memset(&fr, 0, sizeof fr);
	else if (rc != 0)
		return rc;
	if (f->kind == DDNS_FAULT_CLIENT) {
		count_up(&h.client_faults);
		if (window_add(&fr, pol ? pol : &never, now) &&
		    (rc = flag_abuse(t, &h, f)) != 0)
			return rc;
	} else {
		count_up(f->kind == DDNS_FAULT_SERVER ? &h.server_faults
						      : &h.auth_faults);
	}
	h.last_fault = now;
	fr.last_kind = f->kind;
	snprintf(fr.last_text, sizeof fr.last_text, "%s", f->text);
	if ((rc = ddns_host_put(t, &h)) != 0 ||
	    (rc = ddns_fault_put(t, f->fqdn, &fr)) != 0)
		return rc;
	return 0;
}

/* An update that ended NOCHG is a client fault, counted at once. */
static int nochg_fault(ddns_txn *t, struct ddns_d2_update *u,
		       const struct ddns_d2_policy *pol, int64_t now)
{
	struct ddns_d2_fault f;
	struct ftext text = {.n = 0};
	int rc;

	u->flagged = false;
	if (u->code != DDNS_D2_NOCHG)
		return 0;
	ftext_adds(&text, "nochg");
	ftext_addrs(&text, u);
	ddns_d2_fault_set(&f, u->fqdn, DDNS_FAULT_CLIENT, text.s);
	if ((rc = ddns_d2_fault_apply(t, &f, pol, now)) != 0 || !f.flagged)
		return rc;
	u->flagged = true;
	memcpy(u->zone, f.zone, sizeof u->zone);
	u->wildcard = f.wildcard;
	return 0;
}

/* The zone a batch entry changed (an address written, a host flagged), or
 * NULL. */
static const char *upd_zone(const struct ddns_d2_update *u)
{
	return u->code == DDNS_D2_GOOD || u->flagged ? u->zone : NULL;
}

static const char *fault_zone(const struct ddns_d2_fault *f)
{
	return f->flagged ? f->zone : NULL;
}

/* True if ZONE is changed by one of U[0..NU) or F[0..NF). */
static bool zone_seen(const char *zone, struct ddns_d2_update *const *u,
		      size_t nu, const struct ddns_d2_fault *f, size_t nf)
{
	for (size_t j = 0; j < nu; j++)
		if (upd_zone(u[j]) && strcmp(upd_zone(u[j]), zone) == 0)
			return true;
	for (size_t j = 0; j < nf; j++)
		if (fault_zone(&f[j]) && strcmp(fault_zone(&f[j]), zone) == 0)
			return true;
	return false;
}

/* One serial bump for every zone the batch changed. */
static int bump_serials(ddns_txn *t, struct ddns_d2_update *const *u, size_t n,
			const struct ddns_d2_fault *f, size_t nf)
{
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *z = upd_zone(u[i]);

		if (z && !zone_seen(z, u, i, f, 0) &&
		    (rc = ddns_zone_bump_serial(t, z, NULL)) != 0)
			return rc;
	}
	for (size_t i = 0; i < nf; i++) {
		const char *z = fault_zone(&f[i]);

		if (z && !zone_seen(z, u, n, f, i) &&
		    (rc = ddns_zone_bump_serial(t, z, NULL)) != 0)
			return rc;
	}
	return 0;
}

/*
 * U within a batch.  A stored record that does not decode fails only its
 * own update (911) or fault (not counted), with a log line, never the
 * batch: nothing has been written for it when that is found out.
 */
static int apply_one(ddns_txn *t, struct ddns_d2_update *u,
		     const struct ddns_d2_policy *pol, int64_t now)
{
	int rc = ddns_d2_apply(t, u, now);

	if (rc == DDNS_ECORRUPT) {
		log_err("host %s: its stored record does not decode; its "
			"update is answered 911",
			u->fqdn);
		u->code = DDNS_D2_911;
		u->flagged = false;
		return 0;
	}
	if (rc == 0 && (rc = nochg_fault(t, u, pol, now)) == DDNS_ECORRUPT) {
		log_err("host %s: a stored record does not decode; its nochg "
			"is not counted",
			u->fqdn);
		u->flagged = false;
		return 0;
	}
	return rc;
}

static int fault_one(ddns_txn *t, struct ddns_d2_fault *f,
		     const struct ddns_d2_policy *pol, int64_t now)
{
	int rc = ddns_d2_fault_apply(t, f, pol, now);

	if (rc != DDNS_ECORRUPT)
		return rc;
	log_err("host %s: a stored record does not decode; a fault is not "
		"counted",
		f->fqdn);
	f->flagged = false;
	return 0;
}

int ddns_d2_commit_batch(ddns_store *s, struct ddns_d2_update *const *u,
			 size_t n, struct ddns_d2_fault *f, size_t nf,
			 const struct ddns_d2_policy *pol, int64_t now)
{
	ddns_txn *t = NULL;
	int rc;

	if ((rc = ddns_txn_begin(s, true, &t)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = apply_one(t, u[i], pol, now)) != 0)
			goto fail;
	for (size_t i = 0; i < nf; i++)
		if ((rc = fault_one(t, &f[i], pol, now)) != 0)
			goto fail;
	if ((rc = bump_serials(t, u, n, f, nf)) != 0)
		goto fail;
	return ddns_txn_commit(t);
fail:
	ddns_txn_abort(t);
	return rc;
}

int ddns_d2_commit(ddns_store *s, struct ddns_d2_update *const *u, size_t n,
		   int64_t now)
{
	return ddns_d2_commit_batch(s, u, n, NULL, 0, NULL, now);
}

void ddns_d2_plan_finish(struct ddns_d2_plan *plan, int code)
{
	if (code == DDNS_D2_BADAUTH && plan_pending(plan)) {
		plan->n = 1;
		plan->code[0] = DDNS_D2_BADAUTH;
		return;
	}
	for (unsigned i = 0; i < plan->n; i++)
		if (plan->code[i] == DDNS_D2_PENDING)
			plan->code[i] = (uint8_t)code;
}

const char *ddns_d2_code_str(int code)
{
	switch (code) {
	case DDNS_D2_GOOD:
		return "good";
	case DDNS_D2_NOCHG:
		return "nochg";
	case DDNS_D2_BADAUTH:
		return "badauth";
	case DDNS_D2_NOTFQDN:
		return "notfqdn";
	case DDNS_D2_NOHOST:
		return "nohost";
	case DDNS_D2_NUMHOST:
		return "numhost";
	case DDNS_D2_ABUSE:
		return "abuse";
	case DDNS_D2_DNSERR:
		return "dnserr";
	default:
		return "911";
	}
}

/* " v4,v6" (whichever families U sets) onto OUT. */
static void format_addrs(const struct ddns_d2_update *u, struct ddns_buf *out)
{
	char a[DDNS_ADDR_STRLEN];

	if (u->v4.family != 0) {
		ddns_buf_addc(out, ' ');
		ddns_buf_adds(out, ddns_addr_format(&u->v4, a, sizeof a));
	}
	if (u->v6.family != 0) {
		ddns_buf_addc(out, u->v4.family != 0 ? ',' : ' ');
		ddns_buf_adds(out, ddns_addr_format(&u->v6, a, sizeof a));
	}
}

int ddns_d2_format(const struct ddns_d2_plan *plan, struct ddns_buf *out)
{
	int status = 200;

	ddns_buf_reset(out);
	for (unsigned i = 0; i < plan->n; i++) {
		int c = plan->code[i];

		if (i > 0)
			ddns_buf_addc(out, '\n');
		ddns_buf_adds(out, ddns_d2_code_str(c));
		if (c == DDNS_D2_GOOD || c == DDNS_D2_NOCHG)
			format_addrs(&plan->upd, out);
		if (c == DDNS_D2_BADAUTH)
			status = 401;
	}
	return status;
}
