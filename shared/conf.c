#include "conf.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "addr.h"
#include "err.h"
#include "log.h"

enum key_type {
	K_STR,     /* char *, non-empty */
	K_SIZE,    /* uint64_t bytes with K/M/G/T suffix */
	K_UINT,    /* unsigned within [min, max] */
	K_OCTAL,   /* unsigned file mode */
	K_LOGLEVEL,
	K_BOOL,    /* yes/no, true/false, on/off, 1/0 */
	K_URL,     /* char *, http:// or https://, no final slash */
	K_SECRET_FILE, /* read the file's first line into a char * */
	K_LIST_HOSTPORT, /* ADDR:PORT list */
	K_LIST_BACKEND,  /* unix:/path or http:ADDR:PORT list */
	K_LIST_PREFIX,   /* ADDR[/LEN] list */
};

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	uint64_t min, max;
};

#define OFF(field) offsetof(struct ddns_conf, field)

static const struct key keys[] = {
	{"store", "path", K_STR, OFF(store_path), 0, 0},
	{"store", "map_size", K_SIZE, OFF(map_size), 1 << 20, 1ULL << 40},
	{"updater", "listen", K_LIST_HOSTPORT, OFF(updater_listen), 0, 0},
	{"updater", "max_connections", K_UINT, OFF(updater_max_connections), 1, 100000},
	{"updater", "max_connections_per_source", K_UINT, OFF(updater_max_conns_per_source), 0, 100000},
	{"updater", "timeout", K_UINT, OFF(updater_timeout), 1, 3600},
	{"updater", "tls_listen", K_LIST_HOSTPORT, OFF(updater_tls_listen), 0, 0},
	{"updater", "tls_cert", K_STR, OFF(updater_tls_cert), 0, 0},
	{"updater", "tls_key", K_STR, OFF(updater_tls_key), 0, 0},
	{"updater", "trusted_proxies", K_LIST_PREFIX, OFF(updater_trusted_proxies), 0, 0},
	{"updater", "metrics_allow", K_LIST_PREFIX, OFF(updater_metrics_allow), 0, 0},
	{"updater", "user", K_STR, OFF(updater_user), 0, 0},
	{"updater", "group", K_STR, OFF(updater_group), 0, 0},
	{"abuse", "client_faults", K_UINT, OFF(abuse_client_faults), 0, 1000000},
	{"abuse", "fault_window", K_UINT, OFF(abuse_fault_window), 1, 30 * 86400},
	{"abuse", "auth_failures_per_source", K_UINT, OFF(abuse_auth_per_source), 1, 1000000},
	{"abuse", "auth_failures_per_host", K_UINT, OFF(abuse_auth_per_host), 1, 1000000},
	{"abuse", "auth_window", K_UINT, OFF(abuse_auth_window), 1, 86400},
	{"backend", "listen", K_LIST_BACKEND, OFF(backend_listen), 0, 0},
	{"backend", "socket_mode", K_OCTAL, OFF(backend_socket_mode), 0, 0777},
	/* Each backend connection holds an LMDB reader slot (1024 in all,
	 * shared with the updater and ddnsctl): stay well below. */
	{"backend", "max_connections", K_UINT, OFF(backend_max_connections), 1, 512},
	{"backend", "state", K_STR, OFF(backend_state), 0, 0},
	{"backend", "user", K_STR, OFF(backend_user), 0, 0},
	{"backend", "group", K_STR, OFF(backend_group), 0, 0},
	{"backend", "socket_group", K_STR, OFF(backend_socket_group), 0, 0},
	{"backend", "metrics_listen", K_LIST_HOSTPORT, OFF(backend_metrics_listen), 0, 0},
	{"backend", "metrics_allow", K_LIST_PREFIX, OFF(backend_metrics_allow), 0, 0},
	{"pdns", "control_socket", K_STR, OFF(pdns_control_socket), 0, 0},
	{"pdns", "purge_timeout_ms", K_UINT, OFF(pdns_purge_timeout_ms), 1, 60000},
	{"portal", "public_url", K_URL, OFF(portal_public_url), 0, 0},
	{"portal", "static_dir", K_STR, OFF(portal_static_dir), 0, 0},
	{"portal", "update_url", K_URL, OFF(portal_update_url), 0, 0},
	{"portal", "session_lifetime", K_UINT, OFF(portal_session_lifetime), 60, 30 * 86400},
	{"portal", "local_login", K_BOOL, OFF(portal_local_login), 0, 0},
	{"acme", "path", K_STR, OFF(acme_path), 0, 0},
	{"acme", "challenge_ttl", K_UINT, OFF(acme_challenge_ttl), 1, 7 * 86400},
	{"acme", "max_values", K_UINT, OFF(acme_max_values), 1, 8},
	{"log", "level", K_LOGLEVEL, OFF(log_level), 0, 0},
};

#define OOFF(field) offsetof(struct ddns_conf_oidc, field)

/* Keys of an [oidc ID] section; offsets into struct ddns_conf_oidc. */
static const struct key oidc_keys[] = {
	{"oidc", "title", K_STR, OOFF(title), 0, 0},
	{"oidc", "issuer", K_URL, OOFF(issuer), 0, 0},
	{"oidc", "client_id", K_STR, OOFF(client_id), 0, 0},
	{"oidc", "client_secret", K_STR, OOFF(client_secret), 0, 0},
	{"oidc", "client_secret_file", K_SECRET_FILE, OOFF(client_secret), 0, 0},
	{"oidc", "scopes", K_STR, OOFF(scopes), 0, 0},
	{"oidc", "groups_claim", K_STR, OOFF(groups_claim), 0, 0},
	{"oidc", "admin_group", K_STR, OOFF(admin_group), 0, 0},
	{"oidc", "ca_file", K_STR, OOFF(ca_file), 0, 0},
	{"oidc", "token_auth_method", K_STR, OOFF(token_auth), 0, 0},
	{"oidc", "allow_http", K_BOOL, OOFF(allow_http), 0, 0},
};

static bool valid_oidc_id(const char *id);

struct parse_state {
	struct ddns_conf *conf;
	char err[256]; /* first error, without file and line */
};

__attribute__((format(printf, 2, 3)))
static void set_err(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
}

static bool valid_list_item(const char *v, enum key_type type)
{
	struct sockaddr_storage ss;
	struct ddns_prefix p;
	socklen_t len;

	switch (type) {
	case K_LIST_HOSTPORT: return ddns_hostport_parse(v, &ss, &len) == 0;
	case K_LIST_PREFIX: return ddns_prefix_parse(v, &p) == 0;
	default: break;
	}
	if (strncmp(v, "unix:", 5) == 0)
		return v[5] != '\0' &&
		       strlen(v + 5) < sizeof(((struct sockaddr_un *)0)->sun_path);
	if (strncmp(v, "http:", 5) == 0)
		return ddns_hostport_parse(v + 5, &ss, &len) == 0;
	return false;
}

/* Split a list value on blanks and commas, appending each item. */
static int set_list(struct ddns_conf_list *l, const char *value,
		    enum key_type type)
{
	const char *p = value;

	while (*p) {
		size_t n = strcspn(p, " \t,");
		if (n > 0) {
			char *item;
			if (l->n >= DDNS_CONF_LIST_MAX)
				return DDNS_ETOOBIG;
			if (!(item = strndup(p, n)))
				return DDNS_ENOMEM;
			l->v[l->n++] = item;
			if (!valid_list_item(item, type))
				return DDNS_EINVAL;
		}
		p += n;
		p += strspn(p, " \t,");
	}
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *yes[] = {"yes", "true", "on", "1"};
	static const char *no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			return 0;
		}
	}
	return DDNS_EINVAL;
}

static bool valid_url(const char *v)
{
	size_t n = strlen(v);
	const char *rest = strncmp(v, "https://", 8) == 0 ? v + 8
			   : strncmp(v, "http://", 7) == 0  ? v + 7
							    : NULL;
	return rest && *rest && *rest != '/' && v[n - 1] != '/' &&
	       strcspn(v, " \t\"<>\\") == n;
}

/* The first line of file PATH, for secrets kept out of the config. */
static int read_secret_file(const char *path, char **out)
{
	char buf[1024];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return DDNS_EIO;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0)
		return DDNS_EINVAL;
	free(*out);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	return *out ? 0 : DDNS_ENOMEM;
}

static int set_value(void *base, const struct key *k, const char *value)
{
	void *field = (char *)base + k->offset;
	uint64_t u;
	char *end;
	int lvl;

	switch (k->type) {
	case K_STR:
		if (value[0] == '\0')
			return DDNS_EINVAL;
		free(*(char **)field);
		return (*(char **)field = strdup(value)) ? 0 : DDNS_ENOMEM;
	case K_SIZE:
		if (ddns_parse_size(value, &u) != 0 || u < k->min || u > k->max)
			return DDNS_EINVAL;
		*(uint64_t *)field = u;
		return 0;
	case K_UINT:
		if (ddns_parse_uint(value, k->min, k->max, &u) != 0)
			return DDNS_EINVAL;
		*(unsigned *)field = (unsigned)u;
		return 0;
	case K_OCTAL:
		errno = 0;
		u = strtoull(value, &end, 8);
		if (errno || end == value || *end || u > k->max || value[0] == '-')
			return DDNS_EINVAL;
		*(unsigned *)field = (unsigned)u;
		return 0;
	case K_BOOL:
		return parse_bool(value, (bool *)field);
	case K_URL:
		if (!valid_url(value))
			return DDNS_EINVAL;
		free(*(char **)field);
		return (*(char **)field = strdup(value)) ? 0 : DDNS_ENOMEM;
	case K_SECRET_FILE:
		return read_secret_file(value, (char **)field);
	case K_LOGLEVEL:
		if ((lvl = ddns_log_level_parse(value)) < 0)
			return DDNS_EINVAL;
		*(int *)field = lvl;
		return 0;
	case K_LIST_HOSTPORT:
	case K_LIST_BACKEND:
	case K_LIST_PREFIX:
		return set_list(field, value, k->type);
	}
	return DDNS_EINVAL;
}

static const char *hint(const struct key *k)
{
	switch (k->type) {
	case K_SIZE: return " (a size such as 1G, 512M)";
	case K_UINT: return " (a whole number in range)";
	case K_OCTAL: return " (an octal mode such as 0660)";
	case K_LOGLEVEL: return " (error, warning, info or debug)";
	case K_BOOL: return " (yes or no)";
	case K_URL: return " (http:// or https:// URL without a final slash)";
	case K_SECRET_FILE: return " (a readable file whose first line is the secret)";
	case K_LIST_HOSTPORT: return " (ADDR:PORT, IPv6 as [::1]:PORT)";
	case K_LIST_BACKEND: return " (unix:/path or http:ADDR:PORT)";
	case K_LIST_PREFIX: return " (addresses or prefixes such as 10.0.0.0/8)";
	default: return "";
	}
}

static bool valid_oidc_id(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= 32 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* The entry of section "oidc ID", created on first sight; NULL if the id
 * is invalid or there are too many. */
static struct ddns_conf_oidc *oidc_section(struct ddns_conf *c, const char *id)
{
	for (unsigned i = 0; i < c->n_oidc; i++)
		if (strcmp(c->oidc[i].id, id) == 0)
			return &c->oidc[i];
	if (!valid_oidc_id(id) || c->n_oidc == DDNS_CONF_OIDC_MAX)
		return NULL;
	struct ddns_conf_oidc *o = &c->oidc[c->n_oidc++];
	snprintf(o->id, sizeof o->id, "%s", id);
	return o;
}

static const struct key *find_key(const struct key *tab, size_t n,
				  const char *section, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(section, tab[i].section) == 0 &&
		    strcmp(name, tab[i].name) == 0)
			return &tab[i];
	return NULL;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse_state *st = user;
	const struct key *k;
	void *base = st->conf;
	int rc;

	if (strncmp(section, "oidc ", 5) == 0) {
		if (!(base = oidc_section(st->conf, section + 5))) {
			set_err(st, "[%s]: the id must be 1-32 of a-z 0-9 _ - (at most %d providers)",
				section, DDNS_CONF_OIDC_MAX);
			return 0;
		}
		k = find_key(oidc_keys, sizeof oidc_keys / sizeof oidc_keys[0],
			     "oidc", name);
	} else {
		k = find_key(keys, sizeof keys / sizeof keys[0], section, name);
	}
	if (!k) {
		set_err(st, "unknown key \"%s\" in section [%s]", name, section);
		return 0;
	}
	rc = set_value(base, k, value);
	if (rc == DDNS_ETOOBIG)
		set_err(st, "[%s] %s: too many entries (at most %d)", section,
			name, DDNS_CONF_LIST_MAX);
	else if (rc != 0 && strstr(name, "secret") && k->type == K_STR)
		set_err(st, "[%s] %s: bad value", section, name);
	else if (rc != 0)
		set_err(st, "[%s] %s: bad value \"%.60s\"%s", section, name,
			value, hint(k));
	return rc == 0;
}

static bool known_section(const char *name, size_t len)
{
	if (len > 5 && len <= 5 + 32 && memcmp(name, "oidc ", 5) == 0) {
		char id[33];
		memcpy(id, name + 5, len - 5);
		id[len - 5] = '\0';
		return valid_oidc_id(id);
	}
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i].section) == len &&
		    memcmp(keys[i].section, name, len) == 0)
			return true;
	return false;
}

/*
 * What libinih cannot report well, checked first: a line too long for its
 * fixed buffer (it would silently split it) and a section with no known
 * name (one without keys would pass unnoticed).  Returns the offending line
 * number with a message in ERR, or 0.
 */
static int prescan(FILE *f, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, bad = 0;

	while (!bad && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		const char *p = line + strspn(line, " \t");
		const char *close = p[0] == '[' ? strchr(p, ']') : NULL;
		if (n >= INI_MAX_LINE - 1) {
			snprintf(err, errlen, "line longer than %d characters (split a long list over several \"key =\" lines)",
				 INI_MAX_LINE - 2);
			bad = lineno;
		} else if (close && !known_section(p + 1, (size_t)(close - p - 1))) {
			snprintf(err, errlen, "unknown section %.*s (or an [oidc ID] whose ID is not 1-32 of a-z 0-9 _ -)",
				 (int)(close - p + 1), p);
			bad = lineno;
		}
	}
	free(line);
	return bad;
}

static void set_defaults(struct ddns_conf *c)
{
	c->map_size = 1ULL << 30;
	c->updater_max_connections = 1024;
	c->updater_timeout = 10;
	c->updater_max_conns_per_source = 32;
	c->portal_session_lifetime = 43200;
	c->portal_local_login = true;
	c->backend_socket_mode = 0660;
	c->backend_max_connections = 256;
	c->pdns_purge_timeout_ms = 1000;
	c->log_level = DDNS_LOG_INFO;
	c->abuse_client_faults = 120;
	c->abuse_fault_window = 3600;
	c->abuse_auth_per_source = 10;
	c->abuse_auth_per_host = 30;
	c->abuse_auth_window = 300;
	c->acme_challenge_ttl = 3600;
	c->acme_max_values = 4;
}

/* Rules that involve several keys. */
static int check_oidc(const struct ddns_conf *c, char *err, size_t errlen)
{
	for (unsigned i = 0; i < c->n_oidc; i++) {
		const struct ddns_conf_oidc *o = &c->oidc[i];
		const char *missing = !o->issuer ? "issuer"
				      : !o->client_id ? "client_id"
				      : !o->client_secret ? "client_secret or client_secret_file"
							  : NULL;
		if (missing) {
			snprintf(err, errlen, "%s: [oidc %s] needs %s", c->file,
				 o->id, missing);
			return DDNS_EINVAL;
		}
		if (o->token_auth &&
		    strcmp(o->token_auth, "client_secret_basic") != 0 &&
		    strcmp(o->token_auth, "client_secret_post") != 0) {
			snprintf(err, errlen, "%s: [oidc %s] token_auth_method is client_secret_basic or client_secret_post",
				 c->file, o->id);
			return DDNS_EINVAL;
		}
	}
	if (c->n_oidc > 0 && !c->portal_public_url) {
		snprintf(err, errlen,
			 "%s: [oidc] sections need [portal] public_url (the redirect URI is public_url/oidc/callback)",
			 c->file);
		return DDNS_EINVAL;
	}
	return 0;
}

static int check_together(const struct ddns_conf *c, char *err, size_t errlen)
{
	if (check_oidc(c, err, errlen) != 0)
		return DDNS_EINVAL;
	if (c->updater_tls_listen.n > 0 &&
	    (!c->updater_tls_cert || !c->updater_tls_key)) {
		snprintf(err, errlen,
			 "%s: [updater] tls_listen needs tls_cert and tls_key",
			 c->file);
		return DDNS_EINVAL;
	}
	return 0;
}

int ddns_conf_load(const char *file, struct ddns_conf **out, char *err,
		   size_t errlen)
{
	struct parse_state st = {0};
	int line, rc = DDNS_EINVAL;
	FILE *f;

	if (!(st.conf = calloc(1, sizeof *st.conf)) ||
	    !(st.conf->file = strdup(file))) {
		snprintf(err, errlen, "%s: out of memory", file);
		rc = DDNS_ENOMEM;
		goto fail;
	}
	set_defaults(st.conf);
	if (!(f = fopen(file, "r"))) {
		snprintf(err, errlen, "%s: cannot open: %s", file, strerror(errno));
		rc = DDNS_EIO;
		goto fail;
	}
	line = prescan(f, st.err, sizeof st.err);
	if (line == 0) {
		rewind(f);
		line = ini_parse_file(f, handler, &st);
	}
	fclose(f);
	if (line != 0) {
		snprintf(err, errlen, "%s:%d: %s", file, line,
			 st.err[0] ? st.err : "syntax error (expected [section] or key = value)");
		goto fail;
	}
	if (!st.conf->store_path) {
		snprintf(err, errlen, "%s: [store] path is required", file);
		goto fail;
	}
	if (check_together(st.conf, err, errlen) != 0)
		goto fail;
	*out = st.conf;
	return 0;
fail:
	ddns_conf_free(st.conf);
	return rc;
}

void ddns_conf_free(struct ddns_conf *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->updater_listen.n; i++)
		free(c->updater_listen.v[i]);
	for (unsigned i = 0; i < c->backend_listen.n; i++)
		free(c->backend_listen.v[i]);
	for (unsigned i = 0; i < c->updater_tls_listen.n; i++)
		free(c->updater_tls_listen.v[i]);
	for (unsigned i = 0; i < c->updater_trusted_proxies.n; i++)
		free(c->updater_trusted_proxies.v[i]);
	for (unsigned i = 0; i < c->updater_metrics_allow.n; i++)
		free(c->updater_metrics_allow.v[i]);
	for (unsigned i = 0; i < c->backend_metrics_listen.n; i++)
		free(c->backend_metrics_listen.v[i]);
	for (unsigned i = 0; i < c->backend_metrics_allow.n; i++)
		free(c->backend_metrics_allow.v[i]);
	free(c->updater_tls_cert);
	free(c->updater_tls_key);
	free(c->portal_public_url);
	free(c->portal_static_dir);
	free(c->portal_update_url);
	free(c->acme_path);
	for (unsigned i = 0; i < c->n_oidc; i++) {
		struct ddns_conf_oidc *o = &c->oidc[i];
		if (o->client_secret)
			explicit_bzero(o->client_secret, strlen(o->client_secret));
		char **strs[] = {&o->title, &o->issuer, &o->client_id,
				 &o->client_secret, &o->scopes, &o->groups_claim,
				 &o->admin_group, &o->ca_file, &o->token_auth};
		for (size_t j = 0; j < sizeof strs / sizeof strs[0]; j++)
			free(*strs[j]);
	}
	free(c->file);
	free(c->store_path);
	free(c->pdns_control_socket);
	free(c->backend_state);
	free(c->updater_user);
	free(c->updater_group);
	free(c->backend_user);
	free(c->backend_group);
	free(c->backend_socket_group);
	free(c);
}

int ddns_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return DDNS_EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return DDNS_EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return DDNS_EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return DDNS_EINVAL;
	*out = v;
	return 0;
}

int ddns_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	char num[32];
	size_t n = strlen(s);
	unsigned shift = 0;
	uint64_t v;

	if (n == 0 || n >= sizeof num)
		return DDNS_EINVAL;
	memcpy(num, s, n + 1);
	const char *u = strchr(units, num[n - 1] & ~0x20);
	if (num[n - 1] != '\0' && u && *u) {
		shift = 10 * (unsigned)(u - units + 1);
		num[n - 1] = '\0';
	}
	if (ddns_parse_uint(num, 0, UINT64_MAX >> shift, &v) != 0)
		return DDNS_EINVAL;
	*out = v << shift;
	return 0;
}
