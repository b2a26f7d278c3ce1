"""System tests of ddns-backend alone behind the real pdns_server, once per
pdns connector (unix socket, pipe, HTTP post_json), plus the daemon's own
lifecycle (config check, stale socket, SIGTERM) and its protocol spoken
directly on the socket, the pipe and HTTP.

The store is filled with the real ddnsctl; no ddns-updater runs.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_backend.py -v
"""

import http.client
import json
import os
import socket
import subprocess
import threading
import unittest

import ddnstest
from ddnstest import ZONE, ServiceTestCase

OTHER = 'other.test'          # a second zone, TTL 120
SOA_TIMERS = ['10800', '3600', '604800']
HOSTS = {                     # name below ZONE -> addresses
    'h': ['192.0.2.1', '2001:db8::1'],
    'v4': ['192.0.2.2'],
    'v6': ['2001:db8::2'],
    'a1': ['192.0.2.11'],
    'a2': ['192.0.2.12'],
    'a3': ['192.0.2.13', '2001:db8::13'],
}
LINE_MAX = 64 * 1024          # RB_LINE_MAX in backend/rb_proto.h


class BackendService(ddnstest.Service):
    """The harness's service with two name servers per zone, no updater,
    and for connector 'http' pdns's HTTP connector instead of the socket."""

    def __init__(self, connector='unix', **kw):
        self.http = connector == 'http'
        kw.setdefault('zones', (ZONE, OTHER))
        super().__init__(connector='unix' if self.http else connector,
                         ipv6=False, updater=False, **kw)

    def prepare(self):
        if self.http:
            self.backend_http_port = ddnstest.free_port()
            self.pdns_extra['remote-connection-string'] = (
                'http:url=http://127.0.0.1:%d/dns,post,post_json,'
                'timeout=2000' % self.backend_http_port)
            self.conf_extra.setdefault('backend', {})['listen'] = (
                'http:127.0.0.1:%d' % self.backend_http_port)
        super().prepare()

    def start_backend(self):
        if not self.http:
            return super().start_backend()
        p = self._spawn('ddns-backend', [ddnstest.binary('ddns-backend'),
                                         '-c', self.conf])
        ddnstest.wait_for(
            lambda: ddnstest.tcp_port_ready('127.0.0.1',
                                            self.backend_http_port),
            'ddns-backend on 127.0.0.1:%d' % self.backend_http_port,
            procs=[p])

    def add_zone(self, zone, ns=('ns1.example.org', 'ns2.example.org'),
                 hostmaster='hostmaster@example.org', ttl=None):
        if zone == OTHER and ttl is None:
            ttl = 120
        return super().add_zone(zone, ns, hostmaster, ttl)

    def seed(self):
        """The hosts of HOSTS (ddnsctl host add, then host set --ip), one
        host without an address, and one in the other zone."""
        for name, addrs in HOSTS.items():
            fqdn = '%s.%s' % (name, ZONE)
            self.add_host(fqdn)
            args = ['host', 'set', fqdn]
            for a in addrs:
                args += ['--ip', a]
            self.ctl(*args)
        self.add_host('empty.' + ZONE)
        self.add_host('o.' + OTHER)
        self.set_ip('o.' + OTHER, '198.51.100.7')


# ---- direct protocol clients ----------------------------------------------

def unix_connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s


def read_line(s):
    """One reply line from socket S (bytes, newline included)."""
    buf = b''
    while not buf.endswith(b'\n'):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf


def lookup_line(qtype, qname, zone_id=-1):
    return (json.dumps({'method': 'lookup', 'parameters': {
        'qtype': qtype, 'qname': qname, 'remote': '127.0.0.1',
        'local': '127.0.0.1', 'real-remote': '127.0.0.1/32',
        'zone-id': zone_id}}) + '\n').encode()


class BackendChecks:
    """What pdns answers through one connector.  Mixed into a
    ServiceTestCase whose SERVICE_ARGS name the connector."""

    @classmethod
    def setUpClass(cls):
        for t in ('pdns_server', 'dig'):
            if not ddnstest.tool(t):
                raise unittest.SkipTest('%s is not installed' % t)
        cls.svc = BackendService(**cls.SERVICE_ARGS)
        try:
            cls.svc.start()
            cls.svc.seed()
        except BaseException:
            cls.svc.failed = True
            cls.svc.stop(dump=True)
            raise

    def test_apex_soa(self):
        r = self.svc.dig(ZONE, 'SOA')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertTrue(r.aa, r.text)
        self.assertEqual(len(r.answer), 1, r.text)
        rec = r.answer[0]
        self.assertEqual((rec.name, rec.ttl, rec.type),
                         (ZONE + '.', 3600, 'SOA'), r.text)
        f = rec.data.split()
        self.assertEqual(f[:2], ['ns1.example.org.',
                                 'hostmaster.example.org.'])
        self.assertTrue(f[2].isdigit(), r.text)
        # The last field, the negative-caching TTL, is the zone's TTL.
        self.assertEqual(f[3:], SOA_TIMERS + ['60'], r.text)

    def test_apex_ns(self):
        r = self.assertAnswer(ZONE, 'NS', ['ns1.example.org.',
                                           'ns2.example.org.'], ttl=3600)
        self.assertEqual(r.answer[0].name, ZONE + '.')

    def test_a_and_aaaa(self):
        fqdn = 'h.' + ZONE
        self.assertAnswer(fqdn, 'A', ['192.0.2.1'], ttl=60)
        self.assertAnswer(fqdn, 'AAAA', ['2001:db8::1'], ttl=60)
        self.assertAnswer('v6.' + ZONE, 'AAAA', ['2001:db8::2'], ttl=60)

    def test_other_zone_ttl(self):
        self.assertAnswer('o.' + OTHER, 'A', ['198.51.100.7'], ttl=120)
        r = self.svc.dig(OTHER, 'SOA')
        self.assertEqual(r.data('SOA')[0].split()[-1], '120', r.text)

    def test_case_insensitive(self):
        r = self.svc.dig('H.Dyn.EXAMPLE.org', 'A')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertEqual(r.data('A'), ['192.0.2.1'], r.text)
        r = self.svc.dig(ZONE.upper() + '.', 'SOA')
        self.assertEqual(len(r.data('SOA')), 1, r.text)

    def test_nodata(self):
        """A name with records, but none of the type asked."""
        for name, rtype in (('v4.' + ZONE, 'AAAA'), ('v6.' + ZONE, 'A'),
                            ('h.' + ZONE, 'TXT'), ('h.' + ZONE, 'SOA')):
            r = self.svc.dig(name, rtype)
            self.assertEqual(r.rcode, 'NOERROR', r.text)
            self.assertEqual(r.answer, [], r.text)
            self.assertIn('SOA', r.text.split('AUTHORITY SECTION')[-1])

    def test_unknown_name_is_nxdomain(self):
        for name in ('nosuchhost.' + ZONE, 'x.h.' + ZONE, 'empty.' + ZONE,
                     '_dmarc.' + ZONE):
            r = self.svc.dig(name, 'A')
            self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
            self.assertTrue(r.aa, r.text)

    def test_outside_zones_refused(self):
        r = self.svc.dig('example.com', 'A')
        self.assertEqual(r.rcode, 'REFUSED', r.text)

    def test_tcp(self):
        r = self.svc.dig('a3.' + ZONE, 'AAAA', tcp=True)
        self.assertEqual(r.data('AAAA'), ['2001:db8::13'], r.text)

    def test_axfr_lists_every_host(self):
        r = self.svc.dig(ZONE, 'AXFR')
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertEqual(r.answer[0].type, 'SOA', r.text)
        self.assertEqual(r.answer[-1].type, 'SOA', r.text)
        got = sorted((x.name, x.type, x.data) for x in r.answer[1:-1])
        want = [(ZONE + '.', 'NS', 'ns1.example.org.'),
                (ZONE + '.', 'NS', 'ns2.example.org.')]
        for name, addrs in HOSTS.items():
            for a in addrs:
                want.append(('%s.%s.' % (name, ZONE),
                             'AAAA' if ':' in a else 'A', a))
        self.assertEqual(got, sorted(want), r.text)
        self.assertTrue(all(x.ttl == 60 for x in r.answer
                            if x.type in ('A', 'AAAA')), r.text)

    def test_change_is_answered(self):
        """Each request reads a fresh snapshot of the store."""
        fqdn = 'chg.' + ZONE
        self.svc.add_host(fqdn)
        self.svc.set_ip(fqdn, '192.0.2.50')
        self.assertAnswer(fqdn, 'A', ['192.0.2.50'])
        before = self.svc.soa_serial(axfr=True)
        self.svc.set_ip(fqdn, '192.0.2.51')
        self.assertAnswer(fqdn, 'A', ['192.0.2.51'])
        self.assertGreater(self.svc.soa_serial(axfr=True), before)


class UnixConnectorTest(BackendChecks, ServiceTestCase):
    SERVICE_ARGS = {'connector': 'unix'}

    def test_bad_requests_answered_false(self):
        s = unix_connect(self.svc.backend_socket)
        try:
            for req in (b'garbage\n', b'{"method":"nope"}\n', b'\n',
                        b'{"method":"lookup","parameters":{"qtype":1}}\n'):
                s.sendall(req)
                self.assertEqual(read_line(s), b'{"result":false}\n', req)
            # An over-long line: false, the rest of it dropped, and the
            # connection goes on.
            s.sendall(b'{"x":"' + b'y' * (LINE_MAX * 3) + b'"}\n')
            self.assertEqual(read_line(s), b'{"result":false}\n')
            s.sendall(b'{"method":"initialize","parameters":{}}\n')
            self.assertEqual(read_line(s), b'{"result":true}\n')
        finally:
            s.close()
        self.svc.check_alive()
        self.assertAnswer('h.' + ZONE, 'A', ['192.0.2.1'])

    def test_64_concurrent_connections(self):
        conns = [unix_connect(self.svc.backend_socket) for _ in range(70)]
        try:
            for s in conns:
                s.sendall(lookup_line('A', 'h.%s.' % ZONE))
            for s in conns:
                r = json.loads(read_line(s))
                self.assertEqual([x['content'] for x in r['result']],
                                 ['192.0.2.1'])
        finally:
            for s in conns:
                s.close()
        self.assertAnswer('v4.' + ZONE, 'A', ['192.0.2.2'])

    def test_reply_shapes(self):
        """Numbers where pdns wants numbers, dots at the ends of names."""
        s = unix_connect(self.svc.backend_socket)
        try:
            s.sendall(lookup_line('ANY', 'H.%s.' % ZONE.upper()))
            rrs = json.loads(read_line(s))['result']
            s.sendall(b'{"method":"getAllDomains","parameters":'
                      b'{"include_disabled":false}}\n')
            domains = json.loads(read_line(s))['result']
        finally:
            s.close()
        self.assertEqual(sorted(r['qtype'] for r in rrs), ['A', 'AAAA'])
        for r in rrs:
            self.assertEqual(r['qname'], 'h.%s.' % ZONE)
            self.assertIsInstance(r['ttl'], int)
            self.assertIsInstance(r['domain_id'], int)
            self.assertEqual((r['auth'], r['scopeMask']), (1, 0))
        self.assertEqual(sorted(d['zone'] for d in domains),
                         [ZONE + '.', OTHER + '.'])
        for d in domains:
            self.assertEqual((d['kind'], d['masters'], d['last_check']),
                             ('native', [], 0))


class PipeConnectorTest(BackendChecks, ServiceTestCase):
    SERVICE_ARGS = {'connector': 'pipe'}

    def test_pipe_directly(self):
        """--pipe answers every line, bad ones too, and exits 0 at EOF."""
        lines = [b'{"method":"initialize","parameters":{"timeout":"2000"}}',
                 b'not json',
                 lookup_line('A', 'h.%s' % ZONE).strip(),
                 b'{"method":"lookup","parameters":{}}',
                 b'{"z":"' + b'q' * (LINE_MAX + 10) + b'"}',
                 b'{"method":"getDomainInfo","parameters":{"name":"%s."}}'
                 % ZONE.encode()]
        r = subprocess.run(
            [ddnstest.binary('ddns-backend'), '-c', self.svc.conf, '--pipe'],
            input=b'\n'.join(lines) + b'\n', stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=30, env=ddnstest.clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.split(b'\n')
        self.assertEqual(out[-1], b'')
        out = [json.loads(x) for x in out[:-1]]
        self.assertEqual(len(out), len(lines), r.stdout)
        self.assertIs(out[0]['result'], True)
        self.assertIs(out[1]['result'], False)
        self.assertEqual(out[2]['result'][0]['content'], '192.0.2.1')
        self.assertIs(out[3]['result'], False)
        self.assertIs(out[4]['result'], False)
        self.assertEqual(out[5]['result']['zone'], ZONE + '.')
        self.assertIn(b'malformed request', r.stderr)


class HttpConnectorTest(BackendChecks, ServiceTestCase):
    SERVICE_ARGS = {'connector': 'http'}

    def post(self, body):
        h = http.client.HTTPConnection('127.0.0.1',
                                       self.svc.backend_http_port, timeout=5)
        try:
            h.request('POST', '/dns', body=body, headers={
                'Content-Type': 'text/javascript; charset=utf-8'})
            r = h.getresponse()
            return r.status, r.read()
        finally:
            h.close()

    def test_http_requests(self):
        st, body = self.post(b'{"method":"initialize","parameters":{}}')
        self.assertEqual((st, json.loads(body)), (200, {'result': True}))
        st, body = self.post(lookup_line('AAAA', 'h.%s.' % ZONE))
        self.assertEqual(json.loads(body)['result'][0]['content'],
                         '2001:db8::1')
        st, body = self.post(b'junk')
        self.assertEqual((st, json.loads(body)), (200, {'result': False}))
        st, _ = self.post(b' ' * (LINE_MAX + 1))
        self.assertEqual(st, 413)
        self.svc.check_alive()


class LifecycleTest(unittest.TestCase):
    """The daemon on its own: config check, stale socket, refusal of a
    second instance, SIGTERM."""

    def setUp(self):
        self.svc = BackendService(zones=(ZONE,))
        self.svc.prepare()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.stop()
        self.svc.stop()

    def backend(self, *args, name='ddns-backend'):
        p = ddnstest.Proc(name, [ddnstest.binary('ddns-backend'), '-c',
                                 self.svc.conf] + list(args), self.svc.dir)
        self.procs.append(p)
        return p

    def run_backend(self, *args, conf=None):
        return subprocess.run(
            [ddnstest.binary('ddns-backend'), '-c', conf or self.svc.conf]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, timeout=30,
            env=ddnstest.clean_env())

    def test_check_config(self):
        r = self.run_backend('--check-config')
        self.assertEqual((r.returncode, r.stdout),
                         (0, '%s: ok\n' % self.svc.conf), r.stderr)
        self.assertFalse(os.path.exists(self.svc.backend_socket))
        bad = os.path.join(self.svc.dir, 'bad.conf')
        with open(self.svc.conf) as f:
            text = f.read()
        ddnstest.write_file(bad, text.replace(
            '[backend]\n', '[backend]\nbogus = 1\n'))
        r = self.run_backend('--check-config', conf=bad)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(bad + ':', r.stderr)

    def test_missing_store(self):
        conf = os.path.join(self.svc.dir, 'empty.conf')
        empty = os.path.join(self.svc.dir, 'nostore')
        os.mkdir(empty)
        with open(self.svc.conf) as f:
            text = f.read()
        ddnstest.write_file(conf, text.replace(
            os.path.join(self.svc.dir, 'store'), empty))
        r = self.run_backend(conf=conf)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(empty, r.stderr)

    def test_stale_socket_sigterm_and_second_instance(self):
        path = self.svc.backend_socket
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()                 # the file stays, nobody listens
        p = self.backend()
        ddnstest.wait_for(lambda: ddnstest.unix_socket_ready(path),
                          'ddns-backend socket', procs=[p])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o660)
        # A second instance must not steal the live socket.
        r = self.run_backend()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('another process', r.stderr)
        s = unix_connect(path)
        s.sendall(lookup_line('SOA', ZONE + '.'))
        self.assertEqual(json.loads(read_line(s))['result'][0]['qtype'],
                         'SOA')
        # SIGTERM with a connection open: exit 0, socket file removed.
        self.assertEqual(p.stop(), 0, p.tail())
        s.close()
        self.assertFalse(os.path.exists(path))
        self.assertIn('stopping', p.output())


if __name__ == '__main__':
    ddnstest.main()
