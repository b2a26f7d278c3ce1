#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "err.h"
#include "log.h"

static char path[64];

static int load(const char *text, struct ddns_conf **c, char *err, size_t n)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return ddns_conf_load(path, c, err, n);
}

/* The error text names the file and LINE, and contains WHAT. */
static void expect_error(const char *text, int line, const char *what)
{
	struct ddns_conf *c = NULL;
	char err[512], prefix[128];

	CHECK(load(text, &c, err, sizeof err) != 0);
	CHECK(c == NULL);
	if (line > 0)
		snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
	else
		snprintf(prefix, sizeof prefix, "%s: ", path);
	CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
	CHECK(strstr(err, what) != NULL);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, what))
		fprintf(stderr, "  got: %s\n  want: %s...%s\n", err, prefix, what);
}

static void test_good(void)
{
	struct ddns_conf *c = NULL;
	char err[512];

	CHECK_INT(load("# comment\n[store]\npath = /var/lib/ddns\n"
		       "map_size = 2G\n"
		       "[updater]\nlisten = 127.0.0.1:8080 [::1]:8080\n"
		       "listen = 127.0.0.2:80\n"
		       "[backend]\nlisten = unix:/run/ddns/b.sock, http:127.0.0.1:8081\n"
		       "socket_mode = 0666\n"
		       "[pdns]\ncontrol_socket = /run/pdns/pdns.controlsocket\n"
		       "[log]\nlevel = debug\n",
		       &c, err, sizeof err), 0);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(c->store_path, "/var/lib/ddns");
	CHECK(c->map_size == 2ULL << 30);
	CHECK_INT(c->updater_listen.n, 3);
	CHECK_STR(c->updater_listen.v[1], "[::1]:8080");
	CHECK_INT(c->backend_listen.n, 2);
	CHECK_STR(c->backend_listen.v[1], "http:127.0.0.1:8081");
	CHECK_INT(c->backend_socket_mode, 0666);
	CHECK_STR(c->pdns_control_socket, "/run/pdns/pdns.controlsocket");
	CHECK_INT(c->log_level, DDNS_LOG_DEBUG);
	CHECK_INT(c->updater_timeout, 10);
	ddns_conf_free(c);

	CHECK_INT(load("[store]\npath=/x\n[updater]\ntls_listen = [::1]:8443\n"
		       "tls_cert = /c.pem\ntls_key = /k.pem\n"
		       "trusted_proxies = 10.0.0.0/8 ::1\n"
		       "[abuse]\nclient_faults = 0\nauth_failures_per_source = 5\n",
		       &c, err, sizeof err), 0);
	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_INT(c->updater_tls_listen.n, 1);
	CHECK_STR(c->updater_tls_key, "/k.pem");
	CHECK_INT(c->updater_trusted_proxies.n, 2);
	CHECK_STR(c->updater_trusted_proxies.v[1], "::1");
	CHECK_INT(c->abuse_client_faults, 0);
	CHECK_INT(c->abuse_auth_per_source, 5);
	CHECK_INT(c->abuse_auth_per_host, 30);
	ddns_conf_free(c);

	CHECK_INT(load("[store]\npath=/x\n", &c, err, sizeof err), 0);
	CHECK(c && c->map_size == 1ULL << 30 && c->pdns_control_socket == NULL);
	ddns_conf_free(c);

	/* A list may be split over repeated keys. */
	c = NULL;
	CHECK_INT(load("[store]\npath=/x\n[updater]\nlisten = 127.0.0.1:1\n"
		       "[updater]\nlisten = 127.0.0.1:2\n", &c, err, sizeof err), 0);
	CHECK(c && c->updater_listen.n == 2);
	ddns_conf_free(c);
}

static void test_errors(void)
{
	expect_error("[store]\npath = /x\ncolour = blue\n", 3, "unknown key \"colour\"");
	expect_error("[store]\npath = /x\n[nope]\nkey = 1\n", 3, "unknown section [nope]");
	expect_error("[store]\npath = /x\nmap_size = lots\n", 3, "map_size");
	expect_error("[store]\npath = /x\n[updater]\nlisten = 127.0.0.1\n", 4, "listen");
	expect_error("[store]\npath = /x\n[updater]\nlisten = ::1:80\n", 4, "[::1]:PORT");
	expect_error("[store]\npath = /x\n[backend]\nlisten = tcp:1\n", 4, "unix:/path");
	expect_error("[store]\npath = /x\n[updater]\ntimeout = 0\n", 4, "timeout");
	expect_error("[store]\npath = /x\n[updater]\ntimeout = -5\n", 4, "timeout");
	expect_error("[store]\npath = /x\n[log]\nlevel = loud\n", 4, "level");
	expect_error("[store]\npath = /x\nthis is not ini\n", 3, "syntax");
	expect_error("[updater]\nlisten = 127.0.0.1:1\n", 0, "[store] path is required");
	expect_error("[store]\npath =\n", 2, "path");
	expect_error("[store]\npath = /x\n[backend]\nsocket_mode = 0999\n", 4, "octal");
	expect_error("[store]\npath = /x\n[updater]\ntrusted_proxies = 10.0.0.0/40\n", 4, "prefixes");
	expect_error("[store]\npath = /x\n[updater]\ntls_listen = 127.0.0.1:8443\n", 0, "tls_cert and tls_key");
	expect_error("[store]\npath = /x\n[abuse]\nauth_window = 0\n", 4, "auth_window");
	/* more backend connections than LMDB reader slots would starve the
	 * updater of read transactions */
	expect_error("[store]\npath = /x\n[backend]\nmax_connections = 2000\n", 4, "max_connections");
	/* A section with no keys is still checked. */
	expect_error("[store]\npath = /x\n\n[bogus]\n", 4, "unknown section [bogus]");
	/* libinih would split a long line silently: refused with its number. */
	char long_conf[600];
	int n = snprintf(long_conf, sizeof long_conf, "[store]\npath = /x\n[updater]\nlisten =");
	for (int i = 0; i < 16; i++)
		n += snprintf(long_conf + n, sizeof long_conf - (size_t)n, " 127.0.0.1:%d", 8000 + i);
	snprintf(long_conf + n, sizeof long_conf - (size_t)n, "\n");
	expect_error(long_conf, 4, "line longer than");
}

static void test_oidc(void)
{
	struct ddns_conf *c = NULL;
	char err[512], secret_path[64] = "/tmp/ddns-conf-secret-XXXXXX";
	char text[1024];
	int fd = mkstemp(secret_path);

	CHECK(write(fd, "s3cr3t-from-file\n", 17) == 17);
	close(fd);
	snprintf(text, sizeof text,
		 "[store]\npath=/x\n[portal]\npublic_url = https://ddns.example.org\n"
		 "session_lifetime = 3600\nlocal_login = no\n"
		 "[oidc egi]\ntitle = EGI Check-in\nissuer = https://aai.egi.eu/auth/realms/egi\n"
		 "client_id = ddns\nclient_secret_file = %s\n"
		 "groups_claim = eduperson_entitlement\n"
		 "[oidc local-test]\nissuer = http://127.0.0.1:9000\nclient_id = c\n"
		 "client_secret = x\ntoken_auth_method = client_secret_post\nallow_http = yes\n",
		 secret_path);
	CHECK_INT(load(text, &c, err, sizeof err), 0);
	CHECK(c != NULL);
	if (c) {
		CHECK_STR(c->portal_public_url, "https://ddns.example.org");
		CHECK_INT(c->portal_session_lifetime, 3600);
		CHECK(!c->portal_local_login);
		CHECK_INT(c->n_oidc, 2);
		CHECK_STR(c->oidc[0].id, "egi");
		CHECK_STR(c->oidc[0].title, "EGI Check-in");
		CHECK_STR(c->oidc[0].client_secret, "s3cr3t-from-file");
		CHECK_STR(c->oidc[1].id, "local-test");
		CHECK(c->oidc[1].allow_http);
		CHECK_STR(c->oidc[1].token_auth, "client_secret_post");
		ddns_conf_free(c);
	}
	unlink(secret_path);

	expect_error("[store]\npath=/x\n[oidc egi]\nissuer = https://i\nclient_id = c\nclient_secret = s\n",
		     0, "need [portal] public_url");
	expect_error("[store]\npath=/x\n[portal]\npublic_url = https://d\n[oidc egi]\nissuer = https://i\n",
		     0, "[oidc egi] needs client_id");
	expect_error("[store]\npath=/x\n[oidc Bad!]\nissuer = https://i\n", 3, "unknown section [oidc Bad!]");
	expect_error("[store]\npath=/x\n[oidc e]\nissuer = ftp://i\n", 4, "issuer");
	expect_error("[store]\npath=/x\n[oidc e]\nclient_secret_file = /nonexistent/x\n", 4, "client_secret_file");
	expect_error("[store]\npath=/x\n[oidc e]\ncolour = red\n", 4, "unknown key \"colour\"");
	expect_error("[store]\npath=/x\n[portal]\npublic_url = https://d/\n", 4, "public_url");
	expect_error("[store]\npath=/x\n[portal]\nlocal_login = maybe\n", 4, "yes or no");
	/* A bad secret is never echoed into the message. */
	expect_error("[store]\npath=/x\n[oidc e]\nclient_secret =\n", 4, "bad value");
}

static void test_numbers(void)
{
	uint64_t v;
	CHECK_INT(ddns_parse_uint("42", 0, 100, &v), 0);
	CHECK_INT((int)v, 42);
	CHECK_INT(ddns_parse_uint("101", 0, 100, &v), DDNS_EINVAL);
	CHECK_INT(ddns_parse_uint("", 0, 100, &v), DDNS_EINVAL);
	CHECK_INT(ddns_parse_uint("1x", 0, 100, &v), DDNS_EINVAL);
	CHECK_INT(ddns_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v), DDNS_EINVAL);
	CHECK_INT(ddns_parse_size("512M", &v), 0);
	CHECK(v == 512ULL << 20);
	CHECK_INT(ddns_parse_size("3k", &v), 0);
	CHECK(v == 3072);
	CHECK_INT(ddns_parse_size("G", &v), DDNS_EINVAL);
	CHECK_INT(ddns_parse_size("1P", &v), DDNS_EINVAL);
}

int main(void)
{
	int fd;
	strcpy(path, "/tmp/ddns-conf-XXXXXX");
	fd = mkstemp(path);
	close(fd);
	test_good();
	test_errors();
	test_oidc();
	test_numbers();
	unlink(path);
	return check_done();
}
