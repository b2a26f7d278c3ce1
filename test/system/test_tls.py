"""System tests of issue 3's HTTPS part: ddns-updater serving TLS itself
(TLS 1.2 minimum, certificate reload on SIGHUP, a mark per address family
saying whether its last update came over TLS) and trusted reverse proxies
(X-Forwarded-For, X-Real-IP, X-Forwarded-Proto).

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_tls.py -v
"""

import hashlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import unittest

import ddnstest
from ddnstest import ServiceTestCase, wait_for

# enum ddns_host_flags (shared/store.h, schema/lmdb-v1.md section 6)
HOST_TLS4 = 1 << 5
HOST_TLS6 = 1 << 6


def family_of(addr):
    return 6 if ':' in addr else 4


class TlsCase(ServiceTestCase):
    """Helpers shared by the classes below."""

    def https(self, path, user=None, secret=None, *args, host='localhost',
              query=None):
        """curl exactly as users copy it: https://HOST:SECRET@NAME:PORT/...
        with --cacert."""
        url = self.svc.url(path, user, secret, host=host, query=query,
                           scheme='https')
        return self.svc.curl(url, '--cacert', self.svc.ca_file, *args)

    def http(self, path, user=None, secret=None, *args, host='127.0.0.1',
             query=None):
        return self.svc.curl(self.svc.url(path, user, secret, host=host,
                                          query=query), *args)

    def stored_flags(self, fqdn):
        """The host's flags word read from the store itself (mdb_dump of
        the documented hosts record: u32 big-endian at offset 5)."""
        exe = ddnstest.tool('mdb_dump')
        if not exe:
            self.skipTest('mdb_dump (lmdb-utils) is not installed')
        r = subprocess.run([exe, '-s', 'hosts',
                            os.path.join(self.svc.dir, 'store')],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=20, env=ddnstest.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        key = '.'.join(reversed(fqdn.split('.'))).encode().hex()
        lines = [l.strip() for l in r.stdout.splitlines()]
        self.assertIn(key, lines, 'host %s not in the store' % fqdn)
        value = bytes.fromhex(lines[lines.index(key) + 1])
        # schema 2 (schema/lmdb-v2.md): 69 octets + 4 with A + 16 with AAAA
        self.assertIn(len(value), (69, 73, 85, 89), 'hosts record size')
        return int.from_bytes(value[5:9], 'big')

    def assertTlsMarks(self, fqdn, tls4, tls6):
        """The host's TLS4 / TLS6 marks, from the store, and from
        `ddnsctl host list --json` when it reports them."""
        flags = self.stored_flags(fqdn)
        self.assertEqual((bool(flags & HOST_TLS4), bool(flags & HOST_TLS6)),
                         (tls4, tls6), 'flags 0x%x of %s' % (flags, fqdn))
        info = self.svc.host_info(fqdn) or {}
        for key, want in (('tls4', tls4), ('tls6', tls6)):
            if key in info:
                self.assertEqual(info[key], want, info)

    def updater_log(self):
        return self.svc.procs['ddns-updater'].output()

    def wait_log(self, text, before):
        """Wait until TEXT occurs in the updater's log more than BEFORE
        times (SIGHUP is handled asynchronously)."""
        return wait_for(lambda: self.updater_log().count(text) > before,
                        'updater log line %r' % text,
                        procs=[self.svc.procs['ddns-updater']])

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.svc.ca_file)
        return ctx

    def served_fingerprint(self, host='127.0.0.1'):
        """SHA-256 of the certificate a new TLS connection is given."""
        ctx = self.tls_context()
        with socket.create_connection((host, self.svc.tls_port),
                                      timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as s:
                return hashlib.sha256(
                    s.getpeercert(binary_form=True)).hexdigest()


class HttpsTest(TlsCase):
    """HTTPS served by the updater itself, without trusted proxies."""

    SERVICE_ARGS = {'tls': True}

    def test_curl_update_as_users_copy_it(self):
        fqdn, secret = self.svc.new_host()
        r = self.https('/nic/update', fqdn, secret)
        self.assertEqual(r.status, 200, r)
        code, addr = r.body.split()
        self.assertEqual(code, 'good', r)
        self.assertIn(addr, ('127.0.0.1', '::1'))  # localhost, either way
        rtype = 'A' if family_of(addr) == 4 else 'AAAA'
        self.assertAnswer(fqdn, rtype, [addr], ttl=60)
        fam4 = family_of(addr) == 4
        self.assertTlsMarks(fqdn, fam4, not fam4)
        r = self.https('/nic/update', fqdn, secret)
        self.assertReply(r, 200, 'nochg ' + addr)
        self.assertTlsMarks(fqdn, fam4, not fam4)

    def test_plain_update_clears_the_mark(self):
        fqdn, secret = self.svc.new_host()
        r = self.https('/nic/update', fqdn, secret, host='127.0.0.1',
                       query='myip=192.0.2.40')
        self.assertReply(r, 200, 'good 192.0.2.40')
        self.assertTlsMarks(fqdn, True, False)
        # the same address over plain HTTP: nochg (the address did not
        # change), but the mark is recorded
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.40'), 200,
                         'nochg 192.0.2.40')
        self.assertTlsMarks(fqdn, False, False)
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.40'), 200,
                         'nochg 192.0.2.40')
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.41'), 200,
                         'good 192.0.2.41')
        self.assertTlsMarks(fqdn, False, False)
        self.assertAnswer(fqdn, 'A', ['192.0.2.41'])

    def test_marks_are_per_family(self):
        fqdn, secret = self.svc.new_host()
        r = self.https('/nic/update', fqdn, secret, host='::1')
        self.assertReply(r, 200, 'good ::1')
        self.assertTlsMarks(fqdn, False, True)
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.42'), 200,
                         'good 192.0.2.42')
        self.assertTlsMarks(fqdn, False, True)  # AAAA untouched
        r = self.https('/nic/update', fqdn, secret, host='127.0.0.1',
                       query='myip=192.0.2.43,2001:db8::43')
        self.assertReply(r, 200, 'good 192.0.2.43,2001:db8::43')
        self.assertTlsMarks(fqdn, True, True)
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::43'])
        r = self.http('/nic/update', fqdn, secret, host='::1')
        self.assertReply(r, 200, 'good ::1')
        self.assertTlsMarks(fqdn, True, False)

    def test_myip_over_https(self):
        self.assertReply(self.https('/myip', host='127.0.0.1'), 200,
                         '127.0.0.1')
        self.assertReply(self.https('/myip', host='::1'), 200, '::1')

    def test_wrong_secret_over_https(self):
        fqdn, _ = self.svc.new_host()
        r = self.https('/nic/update', fqdn, 'not-the-secret')
        self.assertReply(r, 401, 'badauth')

    def test_tls_1_1_refused(self):
        """The server, not the client, refuses: the client allows TLS 1.1
        (SECLEVEL=0) and gets the server's protocol_version alert."""
        r = self.https('/myip', None, None, '--tlsv1.1', '--tls-max', '1.1',
                       '--ciphers', 'DEFAULT@SECLEVEL=0')
        self.assertEqual(r.status, 0, r)
        self.assertNotEqual(r.exit_code, 0, r)
        self.assertIn('alert protocol version', r.stderr)
        out = self.s_client('-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0')
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertIn('alert protocol version', out.stdout)

    def test_tls_1_2_and_1_3_accepted(self):
        fqdn, secret = self.svc.new_host()
        for opt, ver, ip in (('-tls1_2', 'TLSv1.2', '192.0.2.50'),
                             ('-tls1_3', 'TLSv1.3', '192.0.2.51')):
            out = self.s_client(opt)
            self.assertEqual(out.returncode, 0, out.stdout)
            self.assertIn('Protocol version: ' + ver, out.stdout)
            self.assertIn('Verification: OK', out.stdout)
            ver_opts = ['--tlsv1.2', '--tls-max', '1.2'] if ver.endswith(
                '2') else ['--tlsv1.3']
            r = self.https('/nic/update', fqdn, secret, *ver_opts,
                           host='127.0.0.1', query='myip=' + ip)
            self.assertReply(r, 200, 'good ' + ip)

    def test_http10_and_connection_close_over_tls(self):
        """The reply arrives whole (Content-Length) and the connection is
        closed after it, as on the plain listener."""
        fqdn, secret = self.svc.new_host()
        for version in ('HTTP/1.0', 'HTTP/1.1'):
            r, closed = self.svc.raw(
                'POST', '/nic/update', tls=True,
                headers=[('Content-Type',
                          'application/x-www-form-urlencoded')],
                body='hostname=%s&username=%s&password=%s&myip=192.0.2.52'
                % (fqdn, fqdn, secret), version=version)
            self.assertEqual(r.status, 200, r)
            self.assertIn(r.body, (b'good 192.0.2.52', b'nochg 192.0.2.52'))
            self.assertTrue(closed, version)
        self.assertTlsMarks(fqdn, True, False)

    def test_plain_http_on_tls_port_is_not_served(self):
        r = self.svc.curl('http://127.0.0.1:%d/myip' % self.svc.tls_port)
        self.assertNotEqual(r.status, 200, r)

    def test_forwarding_headers_ignored_without_trusted_proxies(self):
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.77', '-H',
                      'X-Forwarded-Proto: https')
        self.assertReply(r, 200, 'good 127.0.0.1')
        self.assertTlsMarks(fqdn, False, False)
        r = self.http('/myip', None, None, '-H', 'X-Real-IP: 192.0.2.78')
        self.assertReply(r, 200, '127.0.0.1')

    def s_client(self, *opts, host='127.0.0.1'):
        exe = ddnstest.tool('openssl')
        if not exe:
            self.skipTest('openssl is not installed')
        return subprocess.run(
            [exe, 's_client', '-connect', '%s:%d' % (host, self.svc.tls_port),
             '-CAfile', self.svc.ca_file, '-brief'] + list(opts),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=20,
            env=ddnstest.clean_env())


class ReloadTest(TlsCase):
    """SIGHUP reloads the certificate and key; nothing else moves."""

    SERVICE_ARGS = {'tls': True}
    OK = 'reload: new TLS connections use the new certificate'
    FAILED = 'reload failed, the certificate in use stays'

    def sighup(self, expect):
        before = self.updater_log().count(expect)
        self.svc.signal('ddns-updater', signal.SIGHUP)
        self.wait_log(expect, before)

    def new_pair(self):
        ddnstest.make_server_cert(self.svc.dir, self.svc.ca_file, 'server')
        return ddnstest.cert_fingerprint(self.svc.tls_cert)

    def keepalive(self, tls):
        if tls:
            c = http.client.HTTPSConnection('127.0.0.1', self.svc.tls_port,
                                            timeout=5,
                                            context=self.tls_context())
        else:
            c = http.client.HTTPConnection('127.0.0.1', self.svc.http_port,
                                           timeout=5)
        self.addCleanup(c.close)
        return c

    def get(self, conn, path='/myip'):
        conn.request('GET', path)
        r = conn.getresponse()
        return r.status, r.read().decode()

    def test_sighup_serves_new_certificate(self):
        fqdn, secret = self.svc.new_host()
        old = self.served_fingerprint()
        self.assertEqual(old, ddnstest.cert_fingerprint(self.svc.tls_cert))
        tls_conn, plain_conn = self.keepalive(True), self.keepalive(False)
        self.assertEqual(self.get(tls_conn), (200, '127.0.0.1'))
        self.assertEqual(self.get(plain_conn), (200, '127.0.0.1'))
        tls_sock, plain_sock = tls_conn.sock, plain_conn.sock

        new = self.new_pair()
        self.assertNotEqual(new, old)
        self.sighup(self.OK)
        lines = self.updater_log().splitlines()
        i = max(n for n, l in enumerate(lines) if self.OK in l)
        self.assertIn('TLS certificate %s: subject CN=server, serial'
                      % self.svc.tls_cert, lines[i - 1])
        self.assertEqual(self.served_fingerprint(), new)
        self.assertEqual(self.served_fingerprint('::1'), new)
        r = self.https('/nic/update', fqdn, secret, host='127.0.0.1',
                       query='myip=192.0.2.60')
        self.assertReply(r, 200, 'good 192.0.2.60')
        self.assertAnswer(fqdn, 'A', ['192.0.2.60'])
        # open connections go on, on their old session
        self.assertEqual(self.get(tls_conn), (200, '127.0.0.1'))
        self.assertIs(tls_conn.sock, tls_sock, 'TLS connection reopened')
        self.assertEqual(hashlib.sha256(tls_sock.getpeercert(
            binary_form=True)).hexdigest(), old)
        self.assertEqual(self.get(plain_conn), (200, '127.0.0.1'))
        self.assertIs(plain_conn.sock, plain_sock, 'plain conn. reopened')
        self.assertReply(self.http('/myip'), 200, '127.0.0.1')

    def test_sighup_with_broken_files_keeps_the_old_pair(self):
        fqdn, secret = self.svc.new_host()
        served = self.served_fingerprint()
        with open(self.svc.tls_cert, 'rb') as f:
            good_cert = f.read()
        with open(self.svc.tls_key, 'rb') as f:
            good_key = f.read()
        try:
            ddnstest.write_file(self.svc.tls_cert, 'not a certificate\n')
            self.sighup(self.FAILED)
            line = [l for l in self.updater_log().splitlines()
                    if self.FAILED in l][-1]
            self.assertIn(self.svc.tls_cert, line)
            self.assertIn('[error]', line)
            self.assertEqual(self.served_fingerprint(), served)
            r = self.https('/nic/update', fqdn, secret, host='127.0.0.1',
                           query='myip=192.0.2.61')
            self.assertReply(r, 200, 'good 192.0.2.61')
            # a key that belongs to another certificate
            with open(self.svc.tls_cert, 'wb') as f:
                f.write(good_cert)
            other = tempfile.mkdtemp(dir=self.svc.dir)
            _, other_key = ddnstest.make_server_cert(other, self.svc.ca_file,
                                                     'other')
            shutil.copyfile(other_key, self.svc.tls_key)
            self.sighup(self.FAILED)
            line = [l for l in self.updater_log().splitlines()
                    if self.FAILED in l][-1]
            self.assertIn(self.svc.tls_key, line)
            self.assertEqual(self.served_fingerprint(), served)
            self.assertReply(self.http('/myip'), 200, '127.0.0.1')
        finally:
            with open(self.svc.tls_cert, 'wb') as f:
                f.write(good_cert)
            with open(self.svc.tls_key, 'wb') as f:
                f.write(good_key)
        self.sighup(self.OK)
        self.assertEqual(self.served_fingerprint(), served)


class ProxyTest(TlsCase):
    """trusted_proxies = 127.0.0.1: its forwarding headers are believed."""

    SERVICE_ARGS = {'tls': True, 'conf_extra': {
        'updater': {'trusted_proxies': '127.0.0.1'}}}

    def myip(self, *headers, host='127.0.0.1'):
        args = []
        for h in headers:
            args += ['-H', h]
        return self.http('/myip', None, None, *args, host=host)

    def test_x_forwarded_for_updates_and_myip(self):
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.77')
        self.assertReply(r, 200, 'good 192.0.2.77')
        self.assertAnswer(fqdn, 'A', ['192.0.2.77'])
        self.assertReply(self.myip('X-Forwarded-For: 192.0.2.77'), 200,
                         '192.0.2.77')
        self.assertIn('update from 192.0.2.77 via 127.0.0.1 for ' + fqdn,
                      self.updater_log())

    def test_rightmost_untrusted_address_wins(self):
        for value, want in (
                ('203.0.113.5, 198.51.100.9', '198.51.100.9'),
                ('198.51.100.9, 127.0.0.1', '198.51.100.9'),
                ('127.0.0.1,127.0.0.1', '127.0.0.1'),
                ('2001:db8::9', '2001:db8::9'),
                ('::ffff:192.0.2.99', '192.0.2.99'),
                ('bogus, 198.51.100.10', '198.51.100.10')):
            self.assertReply(self.myip('X-Forwarded-For: ' + value), 200,
                             want)
        # two header lines make one list, in order
        self.assertReply(self.myip('X-Forwarded-For: 198.51.100.11',
                                   'X-Forwarded-For: 198.51.100.12'),
                         200, '198.51.100.12')

    def test_malformed_x_forwarded_for_is_ignored(self):
        for value in ('192.0.2.300', 'bogus', '192.0.2.7:8080',
                      '192.0.2.0/24', '198.51.100.9, ', '198.51.100.9,,',
                      '[2001:db8::1]', 'unknown'):
            self.assertReply(self.myip('X-Forwarded-For: ' + value), 200,
                             '127.0.0.1')
        # and X-Real-IP is not a fallback for a malformed X-Forwarded-For
        self.assertReply(self.myip('X-Forwarded-For: bogus',
                                   'X-Real-IP: 192.0.2.80'),
                         200, '127.0.0.1')
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.999')
        self.assertReply(r, 200, 'good 127.0.0.1')
        self.assertIn('malformed X-Forwarded-For', self.updater_log())

    def test_x_real_ip(self):
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Real-IP: 2001:db8::78')
        self.assertReply(r, 200, 'good 2001:db8::78')
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::78'])
        self.assertReply(self.myip('X-Real-IP: 192.0.2.79'), 200,
                         '192.0.2.79')
        self.assertReply(self.myip('X-Real-IP: 192.0.2.79',
                                   'X-Forwarded-For: 192.0.2.81'),
                         200, '192.0.2.81')  # X-Forwarded-For first
        self.assertReply(self.myip('X-Real-IP: nonsense'), 200,
                         '127.0.0.1')

    def test_only_the_trusted_peer_is_believed(self):
        """::1 is not in trusted_proxies: its headers are ignored."""
        self.assertReply(self.myip('X-Forwarded-For: 192.0.2.82', host='::1'),
                         200, '::1')
        self.assertReply(self.myip('X-Real-IP: 192.0.2.82', host='::1'),
                         200, '::1')

    def test_x_forwarded_proto_https_counts_as_tls(self):
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.83', '-H',
                      'X-Forwarded-Proto: https')
        self.assertReply(r, 200, 'good 192.0.2.83')
        self.assertTlsMarks(fqdn, True, False)
        self.assertIn('via 127.0.0.1 over TLS', self.updater_log())
        # the proxy's client spoke plain HTTP: not TLS, even over our TLS
        r = self.https('/nic/update', fqdn, secret, '-H',
                       'X-Forwarded-For: 192.0.2.84', '-H',
                       'X-Forwarded-Proto: http', host='127.0.0.1')
        self.assertReply(r, 200, 'good 192.0.2.84')
        self.assertTlsMarks(fqdn, False, False)
        # a list the client may have started is believed only if all https
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.85', '-H',
                      'X-Forwarded-Proto: http, https')
        self.assertReply(r, 200, 'good 192.0.2.85')
        self.assertTlsMarks(fqdn, False, False)


class UntrustedProxyTest(TlsCase):
    """trusted_proxies = 10.0.0.0/8: the loopback peer is not believed."""

    SERVICE_ARGS = {'tls': True, 'conf_extra': {
        'updater': {'trusted_proxies': '10.0.0.0/8'}}}

    def test_headers_ignored(self):
        fqdn, secret = self.svc.new_host()
        r = self.http('/nic/update', fqdn, secret, '-H',
                      'X-Forwarded-For: 192.0.2.77', '-H',
                      'X-Real-IP: 192.0.2.78', '-H',
                      'X-Forwarded-Proto: https')
        self.assertReply(r, 200, 'good 127.0.0.1')
        self.assertTlsMarks(fqdn, False, False)
        self.assertReply(self.http('/myip', None, None, '-H',
                                   'X-Forwarded-For: 192.0.2.77'),
                         200, '127.0.0.1')
        self.assertReply(self.http('/myip', None, None, '-H',
                                   'X-Real-IP: 192.0.2.78'),
                         200, '127.0.0.1')
        r = self.https('/nic/update', fqdn, secret, '-H',
                       'X-Forwarded-Proto: http', host='127.0.0.1',
                       query='myip=192.0.2.86')
        self.assertReply(r, 200, 'good 192.0.2.86')
        self.assertTlsMarks(fqdn, True, False)


class StartupTest(unittest.TestCase):
    """The updater alone (no pdns): TLS-only operation and refusing to start
    with a bad certificate or key."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ddns-tls-test-')
        self.ca, self.cert, self.key = ddnstest.make_test_ca(self.dir)
        self.proc = None

    def tearDown(self):
        if self.proc:
            self.proc.stop()
        if not os.environ.get('DDNS_KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)

    def conf(self, listen=None, tls_listen=None, cert=None, key=None):
        """Write a config; returns its path."""
        lines = ['[store]', 'path = %s' % os.path.join(self.dir, 'store'),
                 '[updater]']
        if listen:
            lines.append('listen = %s' % listen)
        if tls_listen:
            lines += ['tls_listen = %s' % tls_listen,
                      'tls_cert = %s' % (cert or self.cert),
                      'tls_key = %s' % (key or self.key)]
        path = os.path.join(self.dir, 'ddns.conf')
        ddnstest.write_file(path, '\n'.join(lines) + '\n')
        return path

    def run_updater(self, conf, *args):
        """Run ddns-updater expecting it to exit by itself."""
        return subprocess.run([ddnstest.binary('ddns-updater'), '-c', conf]
                              + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=20, env=ddnstest.clean_env())

    def tls_addr(self):
        return '127.0.0.1:%d' % ddnstest.free_port()

    def test_bad_certificate_at_start(self):
        broken = os.path.join(self.dir, 'broken.pem')
        ddnstest.write_file(broken, '-----BEGIN CERTIFICATE-----\nxx\n')
        for what, cert, key in (
                ('tls_cert', broken, None),
                ('tls_cert', os.path.join(self.dir, 'missing.pem'), None),
                ('tls_key', None, os.path.join(self.dir, 'missing.pem')),
                ('tls_key', None, self.cert)):
            conf = self.conf(listen=self.tls_addr(),
                             tls_listen=self.tls_addr(), cert=cert, key=key)
            for args in ((), ('--check-config',)):
                r = self.run_updater(conf, *args)
                self.assertEqual(r.returncode, 1, (what, args, r))
                self.assertIn(what, r.stderr)
                self.assertIn(cert or key, r.stderr)

    def test_key_of_another_certificate(self):
        _, other_key = ddnstest.make_server_cert(self.dir, self.ca, 'other')
        conf = self.conf(tls_listen=self.tls_addr(), key=other_key)
        r = self.run_updater(conf)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn(other_key, r.stderr)
        self.assertIn('does not belong to the certificate', r.stderr)

    def test_neither_listen_nor_tls_listen(self):
        r = self.run_updater(self.conf())
        self.assertEqual(r.returncode, 2, r)
        self.assertIn('neither listen nor tls_listen', r.stderr)

    def test_tls_only(self):
        """tls_listen alone: plain listen is optional."""
        port = ddnstest.free_port(ipv6=True)
        conf = self.conf(tls_listen='127.0.0.1:%d [::1]:%d' % (port, port))
        r = self.run_updater(conf, '--check-config')
        self.assertEqual((r.returncode, r.stdout.strip()),
                         (0, conf + ': ok'), r)
        ctl = [ddnstest.binary('ddnsctl'), '-c', conf]
        subprocess.run(ctl + ['zone', 'add', ddnstest.ZONE, '--ns',
                              'ns1.example.org', '--hostmaster',
                              'hostmaster@example.org'], check=True,
                       stdout=subprocess.DEVNULL, timeout=30,
                       env=ddnstest.clean_env())
        fqdn = 'tlsonly.' + ddnstest.ZONE
        out = subprocess.run(ctl + ['host', 'add', fqdn], check=True,
                             stdout=subprocess.PIPE, text=True, timeout=30,
                             env=ddnstest.clean_env()).stdout
        secret = [l for l in out.splitlines() if l.strip()][-1].strip()
        self.proc = ddnstest.Proc('ddns-updater',
                                  [ddnstest.binary('ddns-updater'), '-c',
                                   conf], self.dir)
        for addr in ('127.0.0.1', '::1'):
            wait_for(lambda: ddnstest.tcp_port_ready(addr, port),
                     'ddns-updater TLS on %s port %d' % (addr, port),
                     procs=[self.proc])
        r = ddnstest.curl('https://%s:%s@localhost:%d/nic/update?myip='
                          '192.0.2.90' % (fqdn, secret, port), '--cacert',
                          self.ca, workdir=self.dir)
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.90'), r)
        r = ddnstest.curl('https://[::1]:%d/myip' % port, '--cacert',
                          self.ca, workdir=self.dir)
        self.assertEqual((r.status, r.body), (200, '::1'), r)
        self.assertEqual(self.proc.stop(), 0, self.proc.tail())
        log = self.proc.output()
        self.assertIn('(HTTPS)', log)
        self.assertNotIn('ERROR: AddressSanitizer', log)
        self.proc = None


if __name__ == '__main__':
    ddnstest.main()
