"""System tests of issue 2's core slice: register a host with ddnsctl, update
it over dyndns2 with curl, read it back from the real pdns_server with dig.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_core.py -v
"""

import os
import shutil
import subprocess
import time
import unittest

import ddnstest
from ddnstest import ZONE, ServiceTestCase

CACHE_TTL = 20  # pdns's default cache-ttl, which these tests keep


class Dyndns2Test(ServiceTestCase):
    """dyndns2 updates as clients send them, seen through dig."""

    SERVICE_ARGS = {'ipv6': True}

    def test_update_from_client_address(self):
        """The README's line: secret in the URL, no myip."""
        fqdn, secret = self.svc.new_host()
        r = self.svc.curl('http://%s:%s@127.0.0.1:%d/nic/update'
                          % (fqdn, secret, self.svc.http_port))
        self.assertReply(r, 200, 'good 127.0.0.1')
        self.assertTrue(r.headers.get('content-type', '')
                        .startswith('text/plain'), r.headers)
        self.assertIn('content-length', r.headers)
        self.assertAnswer(fqdn, 'A', ['127.0.0.1'], ttl=60)
        self.assertNoAnswer(fqdn, 'AAAA')

    def test_myip_v4(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.10'),
                         200, 'good 192.0.2.10')
        self.assertAnswer(fqdn, 'A', ['192.0.2.10'], ttl=60)

    def test_myip_v6_keeps_a(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.11'),
                         200, 'good 192.0.2.11')
        self.assertReply(self.svc.update(fqdn, secret, '2001:db8::10'),
                         200, 'good 2001:db8::10')
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::10'], ttl=60)
        self.assertAnswer(fqdn, 'A', ['192.0.2.11'], ttl=60)

    def test_myip_both_families(self):
        fqdn, secret = self.svc.new_host()
        r = self.svc.update(fqdn, secret, '192.0.2.20,2001:db8::20')
        self.assertReply(r, 200, 'good 192.0.2.20,2001:db8::20')
        self.assertAnswer(fqdn, 'A', ['192.0.2.20'], ttl=60)
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::20'], ttl=60)

    def test_repeat_is_nochg(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.30'),
                         200, 'good 192.0.2.30')
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.30'),
                         200, 'nochg 192.0.2.30')
        self.assertAnswer(fqdn, 'A', ['192.0.2.30'])

    def test_wrong_secret_is_badauth(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.40'),
                         200, 'good 192.0.2.40')
        r = self.svc.update(fqdn, secret[:-1] + ('x' if secret[-1] != 'x'
                                                  else 'y'), '192.0.2.41')
        self.assertReply(r, 401, 'badauth')
        self.assertTrue(r.headers.get('www-authenticate', '')
                        .startswith('Basic'), r.headers)
        self.assertAnswer(fqdn, 'A', ['192.0.2.40'])

    def test_no_credentials_is_401(self):
        fqdn, _ = self.svc.new_host()
        r = self.svc.curl(self.svc.url('/nic/update',
                                       query='hostname=' + fqdn))
        self.assertReply(r, 401, 'badauth')
        self.assertTrue(r.headers.get('www-authenticate', '')
                        .startswith('Basic'), r.headers)

    def test_unknown_host_is_badauth(self):
        r = self.svc.update('nosuchhost.' + ZONE, 'A' * 24, '192.0.2.1')
        self.assertReply(r, 401, 'badauth')

    def test_new_secret_replaces_old(self):
        fqdn, old = self.svc.new_host()
        new = self.svc.new_secret(fqdn)
        self.assertNotEqual(old, new)
        self.assertReply(self.svc.update(fqdn, old, '192.0.2.50'),
                         401, 'badauth')
        self.assertReply(self.svc.update(fqdn, new, '192.0.2.51'),
                         200, 'good 192.0.2.51')
        self.assertAnswer(fqdn, 'A', ['192.0.2.51'])

    def test_query_parameter_credentials(self):
        fqdn, secret = self.svc.new_host()
        r = self.svc.curl(self.svc.url('/nic/update', query=[
            ('hostname', fqdn), ('myip', '192.0.2.60'),
            ('username', fqdn), ('password', secret)]))
        self.assertReply(r, 200, 'good 192.0.2.60')
        self.assertAnswer(fqdn, 'A', ['192.0.2.60'])

    def test_hostname_of_another_host_is_nohost(self):
        fqdn, secret = self.svc.new_host()
        other, _ = self.svc.new_host()
        r = self.svc.curl(self.svc.url('/nic/update', fqdn, secret, query=[
            ('hostname', other), ('myip', '192.0.2.61')]))
        self.assertReply(r, 200, 'nohost')
        self.assertNoAnswer(other, 'A')

    def test_hostname_not_fqdn_is_notfqdn(self):
        fqdn, secret = self.svc.new_host()
        r = self.svc.curl(self.svc.url('/nic/update', fqdn, secret, query=[
            ('hostname', 'not_a..name'), ('myip', '192.0.2.62')]))
        self.assertReply(r, 200, 'notfqdn')

    def test_bad_myip_is_dnserr(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.300'),
                         200, 'dnserr')
        self.assertNoAnswer(fqdn, 'A')

    def test_myip_prefix_stripped_and_v6_canonical(self):
        fqdn, secret = self.svc.new_host()
        r = self.svc.update(fqdn, secret,
                            '2001:0db8:0000:0000:0000:0000:0000:0063/56')
        self.assertReply(r, 200, 'good 2001:db8::63')
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::63'])

    def test_update_over_ipv6_touches_only_aaaa(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.70'),
                         200, 'good 192.0.2.70')
        self.assertReply(self.svc.update(fqdn, secret, host='::1'),
                         200, 'good ::1')
        self.assertAnswer(fqdn, 'AAAA', ['::1'], ttl=60)
        self.assertAnswer(fqdn, 'A', ['192.0.2.70'], ttl=60)

    def test_myip_endpoint(self):
        r = self.svc.curl(self.svc.url('/myip'))
        self.assertReply(r, 200, '127.0.0.1')
        r = self.svc.curl(self.svc.url('/myip', host='::1'))
        self.assertReply(r, 200, '::1')


class DnsTest(ServiceTestCase):
    """What pdns answers from the store."""

    def test_unknown_name_is_nxdomain(self):
        r = self.svc.dig('nosuchhost.' + ZONE, 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
        self.assertTrue(r.aa, r.text)

    def test_new_host_answers_after_nxdomain(self):
        """An NXDOMAIN cached before the host existed does not hide it."""
        fqdn = 'late.' + ZONE
        self.assertEqual(self.svc.dig(fqdn, 'A').rcode, 'NXDOMAIN')
        secret = self.svc.add_host(fqdn)
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.85'),
                         200, 'good 192.0.2.85')
        self.assertAnswer(fqdn, 'A', ['192.0.2.85'])

    def test_apex_soa_and_ns(self):
        r = self.svc.dig(ZONE, 'SOA')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        soa = r.data('SOA')
        self.assertEqual(len(soa), 1, r.text)
        f = soa[0].split()
        self.assertEqual(f[:2], ['ns1.example.org.', 'hostmaster.example.org.'])
        self.assertAnswer(ZONE, 'NS', ['ns1.example.org.'])

    def test_names_are_case_insensitive(self):
        fqdn, _ = self.svc.new_host()
        self.svc.set_ip(fqdn, '192.0.2.80')
        r = self.svc.dig(fqdn.upper(), 'A')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertEqual(r.data('A'), ['192.0.2.80'], r.text)

    def test_serial_grows_after_update(self):
        fqdn, secret = self.svc.new_host()
        before = self.svc.soa_serial(axfr=True)
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.90'),
                         200, 'good 192.0.2.90')
        after = self.svc.soa_serial(axfr=True)
        self.assertGreater(after, before)
        self.svc.set_ip(fqdn, '192.0.2.91')
        self.assertGreater(self.svc.soa_serial(axfr=True), after)
        # nochg is no change: the serial stays.
        now = self.svc.soa_serial(axfr=True)
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.91'),
                         200, 'nochg 192.0.2.91')
        self.assertEqual(self.svc.soa_serial(axfr=True), now)

    def test_axfr_lists_every_host(self):
        hosts = {}
        for i in range(4):
            fqdn, _ = self.svc.new_host(prefix='axfr')
            hosts[fqdn] = ('192.0.2.%d' % (100 + i), '2001:db8::%d' % (100 + i))
            self.svc.set_ip(fqdn, hosts[fqdn][0])
            if i % 2:
                self.svc.set_ip(fqdn, hosts[fqdn][1])
        r = self.svc.dig(ZONE, 'AXFR')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertEqual(r.answer[0].type, 'SOA', r.text)
        self.assertEqual(r.answer[-1].type, 'SOA', r.text)
        got = {(x.name, x.type, x.data) for x in r.answer}
        self.assertIn((ZONE + '.', 'NS', 'ns1.example.org.'), got)
        for i, (fqdn, (v4, v6)) in enumerate(sorted(hosts.items())):
            self.assertIn((fqdn + '.', 'A', v4), got, r.text)
            if i % 2:
                self.assertIn((fqdn + '.', 'AAAA', v6), got, r.text)

    def test_ddnsctl_set_is_visible_at_once(self):
        """ddnsctl purges pdns's caches too."""
        fqdn, _ = self.svc.new_host()
        self.svc.set_ip(fqdn, '192.0.2.110')
        self.assertAnswer(fqdn, 'A', ['192.0.2.110'])
        self.svc.set_ip(fqdn, '192.0.2.111')
        self.assertAnswer(fqdn, 'A', ['192.0.2.111'])
        self.svc.set_ip(fqdn, '2001:db8::111')
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::111'])
        self.svc.set_ip(fqdn, 'none')
        r = self.svc.dig(fqdn, 'A')
        self.assertEqual(r.data('A'), [], r.text)

    def test_update_is_visible_through_packet_cache(self):
        """A cached answer is replaced at once: the updater purges it."""
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.120'),
                         200, 'good 192.0.2.120')
        t0 = time.monotonic()
        self.assertAnswer(fqdn, 'A', ['192.0.2.120'])
        hits = self._cache_hits()
        self.assertAnswer(fqdn, 'A', ['192.0.2.120'])
        self.assertGreater(self._cache_hits(), hits,
                           'second query was no packet-cache hit: the test '
                           'would prove nothing')
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.121'),
                         200, 'good 192.0.2.121')
        self.assertAnswer(fqdn, 'A', ['192.0.2.121'])
        self.assertLess(time.monotonic() - t0, CACHE_TTL,
                        'too slow: the cache may simply have expired')

    def _cache_hits(self):
        return int(self.svc.pdns_control('show', 'packetcache-hit'))


class PipeConnectorTest(ServiceTestCase):
    """pdns running `ddns-backend --pipe` itself."""

    SERVICE_ARGS = {'connector': 'pipe', 'ipv6': False}

    def test_soa(self):
        self.assertEqual(len(self.svc.dig(ZONE, 'SOA').data('SOA')), 1)

    def test_a_and_aaaa(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret,
                                         '192.0.2.130,2001:db8::130'),
                         200, 'good 192.0.2.130,2001:db8::130')
        self.assertAnswer(fqdn, 'A', ['192.0.2.130'], ttl=60)
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::130'], ttl=60)
        r = self.svc.dig('nosuchhost.' + ZONE, 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', r.text)

    def test_axfr(self):
        fqdn, _ = self.svc.new_host(prefix='pipe')
        self.svc.set_ip(fqdn, '192.0.2.131')
        r = self.svc.dig(ZONE, 'AXFR')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertIn((fqdn + '.', 'A', '192.0.2.131'),
                      {(x.name, x.type, x.data) for x in r.answer})


class ServiceDownTest(ServiceTestCase):
    """The tests above cannot pass with the updater down."""

    SERVICE_ARGS = {'ipv6': False}

    def test_stop(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.140'),
                         200, 'good 192.0.2.140')
        self.assertEqual(self.svc.stop_one('ddns-updater'), 0,
                         'ddns-updater did not exit cleanly on SIGTERM')
        r = self.svc.update(fqdn, secret, '192.0.2.141')
        self.assertEqual(r.status, 0, r)
        self.assertNotEqual(r.exit_code, 0, r)
        self.assertAnswer(fqdn, 'A', ['192.0.2.140'])
        self.svc.stop_one('pdns')
        r = self.svc.dig(fqdn, 'A', timeout=1)
        self.assertEqual(r.rcode, 'NOREPLY', r.text)
        self.assertEqual(self.svc.stop_one('ddns-backend'), 0,
                         'ddns-backend did not exit cleanly on SIGTERM')


class SchemaVersionTest(unittest.TestCase):
    """A store of another schema version is refused with both versions."""

    @classmethod
    def setUpClass(cls):
        for t in ('mdb_dump', 'mdb_load'):
            if not ddnstest.tool(t):
                raise unittest.SkipTest('%s is not installed (lmdb-utils)' % t)
        cls.svc = ddnstest.Service(ipv6=False)
        cls.svc.prepare()   # config and a v1 store with one zone
        store = os.path.join(cls.svc.dir, 'store')
        set_schema_version(store, 3)  # newer than the programs' 2

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def refused(self, argv):
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=20,
                           env=ddnstest.clean_env(), stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0, r)
        msg = r.stderr.replace(self.svc.dir, 'DIR')  # no digits of the path
        self.assertRegex(msg, r'\b3\b', 'message does not name the version '
                         'found: %r' % msg)
        self.assertRegex(msg, r'\b2\b', 'message does not name the version '
                         'needed: %r' % msg)
        return r

    def test_backend_refuses(self):
        self.refused([ddnstest.binary('ddns-backend'), '-c', self.svc.conf])

    def test_updater_refuses(self):
        self.refused([ddnstest.binary('ddns-updater'), '-c', self.svc.conf])

    def test_ddnsctl_refuses(self):
        self.refused([ddnstest.binary('ddnsctl'), '-c', self.svc.conf,
                      'zone', 'list'])


def set_schema_version(store, version):
    """Rewrite the schema version in the `meta` database of the LMDB store
    with mdb_dump / mdb_load (lmdb-utils): the value of key `schema`, a
    big-endian unsigned integer (schema/lmdb-v1.md), of the same width."""
    dump = subprocess.run([shutil.which('mdb_dump'), '-s', 'meta', store],
                          stdout=subprocess.PIPE, check=True, text=True,
                          timeout=20).stdout
    lines = dump.splitlines()
    start = lines.index('HEADER=END') + 1
    header = [l for l in lines[:start] if not l.startswith('db_pagesize=')]
    pairs = lines[start:]
    key = b'schema'.hex()
    out, found = [], False
    for i in range(0, len(pairs) - 1, 2):
        k, v = pairs[i].strip(), pairs[i + 1].strip()
        if k == key:
            width = len(bytes.fromhex(v))
            v = version.to_bytes(width, 'big').hex()
            found = True
        out += [' ' + k, ' ' + v]
    if not found:
        raise AssertionError('no key "schema" in the meta database:\n' + dump)
    text = '\n'.join(header + out + ['DATA=END']) + '\n'
    subprocess.run([shutil.which('mdb_load'), '-s', 'meta', store],
                   input=text, check=True, text=True, timeout=20)


if __name__ == '__main__':
    ddnstest.main()
