"""System tests with the real dyndns2 clients of Debian 12 (issue 3):
ddclient 3.10, inadyn 2.10, GNU wget, busybox wget and curl (over HTTP and
the updater's own HTTPS),
each configured as in shared/reference/dyndns2.md, against a running
ddns-updater; every outcome is also read back with dig.

Each client is judged by what it says itself (its exit status and its own
success or failure message), as its user would.  Nothing leaves the
machine: servers are on loopback, proxies are removed from the
environment, ddclient gets its address from the config (use=ip), inadyn
asks our /myip (with verify-address off, so that it accepts 127.0.0.1
instead of falling back to its built-in public checkip server).

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_clients.py -v
"""

import os
import re
import subprocess
import unittest

import ddnstest
from ddnstest import ServiceTestCase

CLIENT_TIMEOUT = 60  # seconds one client run may take


def need(*tools):
    """The paths of TOOLS; skip the test if one is not installed, except
    in CI (CI=true), where .ci/deps.sh installs them all: a failure
    there, so that a missing package cannot pass as a skip."""
    missing = [t for t in tools if not ddnstest.tool(t)]
    if missing and os.environ.get('CI') == 'true':
        raise AssertionError('not installed: %s (see .ci/deps.sh)'
                             % ' '.join(missing))
    if missing:
        raise unittest.SkipTest('not installed: %s (./test.sh installs it)'
                                % ' '.join(missing))
    return [ddnstest.tool(t) for t in tools]


class ClientCase(ServiceTestCase):
    """Running a client: its output goes to NAME.log in the service's
    directory (printed with the other logs on a failure), secrets left
    out."""

    SERVICE_ARGS = {'ipv6': True}

    def run_client(self, name, argv, secrets=(), timeout=CLIENT_TIMEOUT):
        """Run ARGV to completion; returns (exit status, output of stdout
        and stderr together)."""
        r = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           env=ddnstest.clean_env({'HOME': self.svc.dir}),
                           cwd=self.svc.dir, timeout=timeout, text=True,
                           errors='replace')
        out = redact(r.stdout, secrets)
        with open(os.path.join(self.svc.dir, name + '.log'), 'a') as f:
            f.write('$ %s\n-> exit %d\n%s\n' % (
                redact(' '.join(map(str, argv)), secrets), r.returncode, out))
        return r.returncode, r.stdout

    def write(self, name, text):
        path = os.path.join(self.svc.dir, name)
        ddnstest.write_file(path, text, mode=0o600)
        return path

    def assertSays(self, out, pattern, secrets=()):
        """OUT (a client's output) matches the regular expression
        PATTERN."""
        self.assertRegex(out, pattern, 'client output:\n'
                         + redact(out, secrets))

    def assertNotSays(self, out, pattern, secrets=()):
        self.assertNotRegex(out, pattern, 'client output:\n'
                            + redact(out, secrets))


def redact(text, secrets):
    """TEXT without the SECRETS and without Authorization header values
    (ddclient -verbose prints its request)."""
    for s in secrets:
        if s:
            text = text.replace(s, '<secret>')
    return re.sub(r'(Authorization:\s*\S+\s+)\S+', r'\1<redacted>', text)


# ---- ddclient -------------------------------------------------------------

def ddclient_conf(port, fqdn, secret, ip, ca=None):
    """The reference's ddclient config; with CA, over HTTPS verified with
    that CA file.  The server is an address: ddclient 3.10 refuses
    'localhost:PORT' and then falls back to members.dyndns.org."""
    tls = 'ssl=yes\nssl_ca_file=%s\n' % ca if ca else 'ssl=no\n'
    return ('daemon=0\n'
            'syslog=no\n'
            '%s'
            'use=ip, ip=%s\n'
            'protocol=dyndns2\n'
            'server=127.0.0.1:%d\n'
            'login=%s\n'
            "password='%s'\n"
            '%s\n') % (tls, ip, port, fqdn, secret, fqdn)


def run_ddclient(case, conf, cache, secret):
    """One ddclient run in the foreground; (exit status, output).  Fails
    the test if ddclient rejected a setting or went for a server of its
    own."""
    ddclient, = need('ddclient')
    rc, out = case.run_client('ddclient', [
        ddclient, '-foreground', '-daemon=0', '-verbose', '-noquiet',
        '-file', conf, '-cache', cache], secrets=[secret])
    case.assertNotSays(out, r'Invalid Value|dyndns\.org', [secret])
    return rc, out


class DdclientTest(ClientCase):
    """ddclient 3.10 with the recipe of the reference: dyndns2, plain HTTP,
    use=ip (the address is in the config: no IP discovery on the net)."""

    @classmethod
    def setUpClass(cls):
        need('ddclient')
        super().setUpClass()

    def conf(self, fqdn, secret, ip):
        return self.write('ddclient-%s.conf' % fqdn.split('.')[0],
                          ddclient_conf(self.svc.http_port, fqdn, secret, ip))

    def ddclient_run(self, conf, cache, secret):
        return run_ddclient(self, conf, cache, secret)

    def test_update_then_nochg(self):
        fqdn, secret = self.svc.new_host()
        conf = self.conf(fqdn, secret, '192.0.2.10')
        cache = os.path.join(self.svc.dir, 'ddclient-1.cache')
        rc, out = self.ddclient_run(conf, cache, secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'SUCCESS: +updating %s: good: IP address set '
                        r'to 192\.0\.2\.10' % re.escape(fqdn), [secret])
        self.assertSays(out, r'GET /nic/update\?system=dyndns&hostname=%s'
                        r'&myip=192\.0\.2\.10 ' % re.escape(fqdn), [secret])
        self.assertAnswer(fqdn, 'A', ['192.0.2.10'], ttl=60)

        # Again with its cache: nothing to do, nothing sent.
        rc, out = self.ddclient_run(conf, cache, secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'SUCCESS: +%s: skipped: IP address was '
                        r'already set to 192\.0\.2\.10' % re.escape(fqdn))
        self.assertNotSays(out, r'SENDING:')

        # Again without a cache: sent, and the server says nochg.
        cache2 = os.path.join(self.svc.dir, 'ddclient-2.cache')
        rc, out = self.ddclient_run(conf, cache2, secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'updating %s: nochg: No update required'
                        % re.escape(fqdn), [secret])
        self.assertNotSays(out, r'FAILED', [secret])
        self.assertAnswer(fqdn, 'A', ['192.0.2.10'])

    def test_new_address(self):
        """A second address (each run with a cache of its own: with one
        cache ddclient skips updates closer than its min-interval, 30 s)."""
        fqdn, secret = self.svc.new_host()
        for i, ip in enumerate(('192.0.2.11', '192.0.2.12')):
            cache = os.path.join(self.svc.dir, 'ddclient-3-%d.cache' % i)
            rc, out = self.ddclient_run(self.conf(fqdn, secret, ip), cache,
                                        secret)
            self.assertEqual(rc, 0, redact(out, [secret]))
            self.assertSays(out, r'SUCCESS: +updating %s: good: IP address '
                            r'set to %s' % (re.escape(fqdn), re.escape(ip)))
            self.assertAnswer(fqdn, 'A', [ip])

    def test_wrong_secret_is_auth_failure(self):
        fqdn, secret = self.svc.new_host()
        self.svc.set_ip(fqdn, '192.0.2.13')
        bad = 'x' + secret[1:] if secret[0] != 'x' else 'y' + secret[1:]
        conf = self.conf(fqdn, bad, '192.0.2.14')
        rc, out = self.ddclient_run(
            conf, os.path.join(self.svc.dir, 'ddclient-4.cache'), bad)
        self.assertNotEqual(rc, 0, redact(out, [bad]))
        self.assertSays(out, r'FAILED: +updating %s: authorization failed'
                        % re.escape(fqdn), [bad])
        self.assertSays(out, r'badauth', [bad])
        self.assertNotSays(out, r'SUCCESS', [bad])
        self.assertAnswer(fqdn, 'A', ['192.0.2.13'])


# ---- inadyn ---------------------------------------------------------------

def inadyn_conf(port, fqdn, secret, ca=None):
    """The reference's inadyn config, checkip at our /myip; with CA, both
    over HTTPS verified with that CA file."""
    ssl = 'true' if ca else 'false'
    return (
        '# 127.0.0.1 from /myip is fine here; with verification on,\n'
        '# inadyn would ask api.ipify.org instead.\n'
        'verify-address = false\n'
        '%s'
        'period = 300\n'
        'custom myserver {\n'
        '    ssl            = %s\n'
        '    username       = %s\n'
        '    password       = %s\n'
        '    checkip-server = 127.0.0.1:%d\n'
        '    checkip-path   = /myip\n'
        '    checkip-ssl    = %s\n'
        '    ddns-server    = 127.0.0.1:%d\n'
        '    ddns-path      = "/nic/update?hostname=%%h&myip=%%i"\n'
        '    hostname       = %s\n'
        '}\n') % ('ca-trust-file = %s\n' % ca if ca else '', ssl, fqdn,
                   secret, port, ssl, port, fqdn)


def run_inadyn(case, conf, fqdn, secret, cached):
    """One `inadyn --once` with its cache holding CACHED (None: leave it);
    returns (exit status, output, the cache's content afterwards)."""
    inadyn, = need('inadyn')
    cachedir = os.path.join(case.svc.dir, 'inadyn-cache')
    os.makedirs(cachedir, exist_ok=True)
    cache = os.path.join(cachedir, fqdn + '.cache')
    if cached is not None:
        ddnstest.write_file(cache, cached + '\n')
    rc, out = case.run_client('inadyn', [
        inadyn, '--once', '--foreground', '-l', 'debug', '-f', conf,
        '--cache-dir=' + cachedir, '-P',
        os.path.join(case.svc.dir, 'inadyn.pid')], secrets=[secret])
    # Never its fallback to a public checkip server.
    case.assertNotSays(out, r'api\.ipify\.org|Retrying with built-in',
                       [secret])
    with open(cache) as f:
        return rc, out, f.read().strip()


class InadynTest(ClientCase):
    """inadyn 2.10 with the recipe of the reference; its address comes from
    our /myip (127.0.0.1).  The cache is always pre-filled: without one
    inadyn first resolves the host's name in real DNS."""

    @classmethod
    def setUpClass(cls):
        need('inadyn')
        super().setUpClass()

    def conf(self, fqdn, secret):
        return self.write('inadyn-%s.conf' % fqdn.split('.')[0],
                          inadyn_conf(self.svc.http_port, fqdn, secret))

    def inadyn_run(self, conf, fqdn, secret, cached):
        return run_inadyn(self, conf, fqdn, secret, cached)

    def test_update_then_no_change(self):
        fqdn, secret = self.svc.new_host()
        conf = self.conf(fqdn, secret)
        rc, out, cache = self.inadyn_run(conf, fqdn, secret, '203.0.113.1')
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'GET /myip HTTP/1\.0')
        self.assertSays(out, r'Successful alias table update for %s => new '
                        r'IP# 127\.0\.0\.1' % re.escape(fqdn))
        self.assertSays(out, r'Updating cache for %s' % re.escape(fqdn))
        self.assertEqual(cache, '127.0.0.1')
        self.assertAnswer(fqdn, 'A', ['127.0.0.1'], ttl=60)

        # Again: the cache has the address, no update is sent.
        rc, out, cache = self.inadyn_run(conf, fqdn, secret, None)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'No IP# change detected for custom, still at '
                        r'127\.0\.0\.1')
        self.assertNotSays(out, r'Sending alias table update')

        # A stale cache: sent again, the server says nochg, inadyn is fine.
        rc, out, cache = self.inadyn_run(conf, fqdn, secret, '203.0.113.2')
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'\nnochg 127\.0\.0\.1')
        self.assertSays(out, r'Successful alias table update for %s'
                        % re.escape(fqdn))
        self.assertEqual(cache, '127.0.0.1')
        self.assertAnswer(fqdn, 'A', ['127.0.0.1'])

    def test_wrong_secret_is_auth_failure(self):
        fqdn, secret = self.svc.new_host()
        self.svc.set_ip(fqdn, '192.0.2.20')
        bad = 'x' + secret[1:] if secret[0] != 'x' else 'y' + secret[1:]
        rc, out, cache = self.inadyn_run(self.conf(fqdn, bad), fqdn, bad,
                                         '203.0.113.3')
        self.assertNotEqual(rc, 0, redact(out, [bad]))
        self.assertSays(out, r'\[401 Unauthorized\] badauth', [bad])
        self.assertSays(out, r'Error code \d+: Authentication failure', [bad])
        self.assertNotSays(out, r'Successful', [bad])
        self.assertEqual(cache, '203.0.113.3')
        self.assertAnswer(fqdn, 'A', ['192.0.2.20'])


# ---- wget -----------------------------------------------------------------

class WgetTest(ClientCase):
    """GNU wget (OpenWrt's default fetcher) sends no credentials until it is
    challenged with 401 + WWW-Authenticate; busybox wget sends those of the
    URL at once.  (busybox 1.35's wget crashes with -T, so the run's own
    timeout bounds it.)"""

    def gnu_wget(self, url, secret, *args):
        wget, = need('wget')
        return self.run_client('wget', [
            wget, '--no-config', '--no-proxy', '-nv', '-S', '-O-', '-T', '10',
            '-t', '1'] + list(args) + [url], secrets=[secret])

    def busybox_wget(self, url, secret):
        busybox, = need('busybox')
        return self.run_client('busybox-wget', [
            busybox, 'wget', '-q', '-O-', url], secrets=[secret])

    def assertChallenged(self, out, secret):
        """wget's -S output: a 401 first, then the 200."""
        statuses = re.findall(r'^\s*HTTP/1\.[01] (\d{3})', out, re.M)
        self.assertEqual(statuses, ['401', '200'], redact(out, [secret]))

    def test_gnu_wget_user_password(self):
        fqdn, secret = self.svc.new_host()
        url = self.svc.url('/nic/update', query=[('hostname', fqdn),
                                                 ('myip', '192.0.2.30')])
        rc, out = self.gnu_wget(url, secret, '--user', fqdn, '--password',
                                secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertChallenged(out, secret)
        self.assertSays(out, r'(?m)^good 192\.0\.2\.30')
        self.assertAnswer(fqdn, 'A', ['192.0.2.30'], ttl=60)
        rc, out = self.gnu_wget(url, secret, '--user', fqdn, '--password',
                                secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'(?m)^nochg 192\.0\.2\.30')

    def test_gnu_wget_credentials_in_url(self):
        """OpenWrt's ddns-scripts put [USERNAME]:[PASSWORD] in the URL."""
        fqdn, secret = self.svc.new_host()
        url = self.svc.url('/nic/update', fqdn, secret,
                           query=[('hostname', fqdn),
                                  ('myip', '192.0.2.31')])
        rc, out = self.gnu_wget(url, secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertChallenged(out, secret)
        self.assertSays(out, r'(?m)^good 192\.0\.2\.31')
        self.assertAnswer(fqdn, 'A', ['192.0.2.31'])

    def test_gnu_wget_wrong_secret(self):
        fqdn, secret = self.svc.new_host()
        url = self.svc.url('/nic/update', query=[('myip', '192.0.2.32')])
        rc, out = self.gnu_wget(url, secret, '--user', fqdn, '--password',
                                secret + 'x')
        self.assertEqual(rc, 6, redact(out, [secret]))  # 6: auth failure
        self.assertSays(out, r'Username/Password Authentication Failed')
        self.assertNotSays(out, r'(?m)^(good|nochg)')
        self.assertNoAnswer(fqdn, 'A')

    def test_busybox_wget(self):
        fqdn, secret = self.svc.new_host()
        url = self.svc.url('/nic/update', fqdn, secret,
                           query=[('myip', '192.0.2.33')])
        rc, out = self.busybox_wget(url, secret)
        self.assertEqual((rc, out), (0, 'good 192.0.2.33'))
        self.assertAnswer(fqdn, 'A', ['192.0.2.33'], ttl=60)
        rc, out = self.busybox_wget(url, secret)
        self.assertEqual((rc, out), (0, 'nochg 192.0.2.33'))
        # From ::1 without myip: the AAAA record only.
        rc, out = self.busybox_wget(self.svc.url('/nic/update', fqdn, secret,
                                                 host='::1'), secret)
        self.assertEqual((rc, out), (0, 'good ::1'))
        self.assertAnswer(fqdn, 'AAAA', ['::1'])
        self.assertAnswer(fqdn, 'A', ['192.0.2.33'])

    def test_busybox_wget_wrong_secret(self):
        fqdn, secret = self.svc.new_host()
        busybox, = need('busybox')
        url = self.svc.url('/nic/update', fqdn, 'x' + secret,
                           query=[('myip', '192.0.2.34')])
        rc, out = self.run_client('busybox-wget', [
            busybox, 'wget', '-O-', url], secrets=[secret])
        self.assertNotEqual(rc, 0, out)
        self.assertSays(out, r'server returned error: HTTP/1\.1 401')
        self.assertNoAnswer(fqdn, 'A')


# ---- over HTTPS -----------------------------------------------------------

class HttpsTest(ClientCase):
    """The updater's own HTTPS listener, certificate from a test CA: curl as
    users copy it from the README (the secret in an https URL, the CA with
    --cacert), ddclient (ssl=yes) and inadyn (ssl = true)."""

    SERVICE_ARGS = {'ipv6': True, 'tls': True}

    def other_ca(self):
        """The certificate of another test CA, one that did not sign the
        server's certificate."""
        other = os.path.join(self.svc.dir, 'other-ca')
        if not os.path.isdir(other):
            os.mkdir(other)
            ddnstest.make_test_ca(other)
        return os.path.join(other, 'ca.pem')

    def curl_https(self, url, secret, *args):
        curl, = need('curl')
        return self.run_client('curl', [curl, '-sS', '--noproxy', '*',
                                        '--max-time', '10'] + list(args) +
                               [url], secrets=[secret])

    def test_curl_https_localhost(self):
        fqdn, secret = self.svc.new_host()
        rc, out = self.curl_https(
            'https://%s:%s@localhost:%d/nic/update'
            % (fqdn, secret, self.svc.tls_port), secret,
            '--cacert', self.svc.ca_file)
        self.assertEqual(rc, 0, redact(out, [secret]))
        # localhost is 127.0.0.1 or ::1, whichever curl connected to.
        m = re.fullmatch(r'good (127\.0\.0\.1|::1)', out)
        self.assertTrue(m, out)
        self.assertAnswer(fqdn, 'AAAA' if ':' in m.group(1) else 'A',
                          [m.group(1)], ttl=60)

    def test_curl_https_address_and_myip(self):
        fqdn, secret = self.svc.new_host()
        url = 'https://%s:%s@127.0.0.1:%d/nic/update?myip=192.0.2.40' % (
            fqdn, secret, self.svc.tls_port)
        rc, out = self.curl_https(url, secret, '--cacert', self.svc.ca_file)
        self.assertEqual((rc, out), (0, 'good 192.0.2.40'))
        self.assertAnswer(fqdn, 'A', ['192.0.2.40'])
        rc, out = self.curl_https(url, secret, '--cacert', self.svc.ca_file)
        self.assertEqual((rc, out), (0, 'nochg 192.0.2.40'))
        url6 = 'https://%s:%s@[::1]:%d/nic/update' % (fqdn, secret,
                                                      self.svc.tls_port)
        rc, out = self.curl_https(url6, secret, '--cacert', self.svc.ca_file)
        self.assertEqual((rc, out), (0, 'good ::1'))
        self.assertAnswer(fqdn, 'AAAA', ['::1'])

    def test_curl_https_wrong_secret(self):
        fqdn, secret = self.svc.new_host()
        rc, out = self.curl_https(
            'https://%s:x%s@localhost:%d/nic/update?myip=192.0.2.41'
            % (fqdn, secret, self.svc.tls_port), secret,
            '--cacert', self.svc.ca_file, '-w', '\n%{http_code}')
        self.assertEqual((rc, out), (0, 'badauth\n401'))
        self.assertNoAnswer(fqdn, 'A')

    def test_gnu_wget_https(self):
        fqdn, secret = self.svc.new_host()
        wget, = need('wget')
        url = 'https://localhost:%d/nic/update?myip=192.0.2.45' % (
            self.svc.tls_port)
        rc, out = self.run_client('wget', [
            wget, '--no-config', '--no-proxy', '-q', '-O-', '-t', '1',
            '--ca-certificate=' + self.svc.ca_file, '--user', fqdn,
            '--password', secret, url], secrets=[secret])
        self.assertEqual((rc, out), (0, 'good 192.0.2.45'))
        self.assertAnswer(fqdn, 'A', ['192.0.2.45'])

    def test_ddclient_https(self):
        fqdn, secret = self.svc.new_host()
        conf = self.write('ddclient-tls.conf', ddclient_conf(
            self.svc.tls_port, fqdn, secret, '192.0.2.43', self.svc.ca_file))
        rc, out = run_ddclient(self, conf, os.path.join(
            self.svc.dir, 'ddclient-tls.cache'), secret)
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'CONNECTED: +using SSL')
        self.assertSays(out, r'SUCCESS: +updating %s: good: IP address set '
                        r'to 192\.0\.2\.43' % re.escape(fqdn))
        self.assertAnswer(fqdn, 'A', ['192.0.2.43'])

    def test_ddclient_https_unknown_ca_fails(self):
        fqdn, secret = self.svc.new_host()
        conf = self.write('ddclient-tls-bad.conf', ddclient_conf(
            self.svc.tls_port, fqdn, secret, '192.0.2.44', self.other_ca()))
        rc, out = run_ddclient(self, conf, os.path.join(
            self.svc.dir, 'ddclient-tls-bad.cache'), secret)
        self.assertNotEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'certificate verify failed')
        self.assertNoAnswer(fqdn, 'A')

    def test_inadyn_https(self):
        fqdn, secret = self.svc.new_host()
        conf = self.write('inadyn-tls.conf', inadyn_conf(
            self.svc.tls_port, fqdn, secret, self.svc.ca_file))
        rc, out, cache = run_inadyn(self, conf, fqdn, secret, '203.0.113.4')
        self.assertEqual(rc, 0, redact(out, [secret]))
        self.assertSays(out, r'Successfully received HTTPS response')
        self.assertSays(out, r'Successful alias table update for %s => new '
                        r'IP# 127\.0\.0\.1' % re.escape(fqdn))
        self.assertEqual(cache, '127.0.0.1')
        self.assertAnswer(fqdn, 'A', ['127.0.0.1'])

    def test_curl_https_unknown_ca_fails(self):
        """Trusting another CA, curl refuses the certificate (exit 60) and
        sends nothing."""
        fqdn, secret = self.svc.new_host()
        rc, out = self.curl_https(
            'https://%s:%s@localhost:%d/nic/update?myip=192.0.2.42'
            % (fqdn, secret, self.svc.tls_port), secret,
            '--cacert', self.other_ca())
        self.assertEqual(rc, 60, out)
        self.assertNoAnswer(fqdn, 'A')


if __name__ == '__main__':
    ddnstest.main()
