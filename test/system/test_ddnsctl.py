#!/usr/bin/python3
"""test_ddnsctl -- the ddnsctl command-line contract (issues 2 and 4:
zones, hosts, and the users, owners, comments, zone visibility and API
tokens of the portal).

Needs no pdns: each test runs ddnsctl against a fresh store in a temporary
directory.  The purge tests use a stand-in for pdns's control socket (a unix
stream socket served by a thread of this process) or a path where nothing
listens.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_ddnsctl.py -v
"""

import hashlib
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ddnstest  # noqa: E402

ZONE = 'dyn.example.org'
SECRET_RE = re.compile(r'^[A-Za-z0-9]{24}$')
ISO_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
HOST_FIELDS = ('fqdn', 'zone', 'ipv4', 'ipv6', 'updated', 'created',
               'wildcard', 'client_faults', 'server_faults', 'auth_faults')
ZONE_FIELDS = ('name', 'id', 'serial', 'ttl', 'ns', 'hostmaster', 'hosts',
               'visibility', 'groups')
USER_FIELDS = ('id', 'name', 'display_name', 'email', 'admin', 'password',
               'groups', 'oidc_issuer', 'oidc_subject', 'hosts', 'created')
TOKEN_RE = r'^ddns_[A-Za-z0-9_-]{43}$'  # printed with its ddns_ prefix
PASSWORD = 'Tr0ub4dor&3 horse'


def long_name(total, zone=ZONE):
    """A valid name of exactly TOTAL octets ending in ZONE (labels <= 63)."""
    need = total - len(zone) - 1
    labels = []
    while need > 0:
        n = min(63, need)
        if need - n == 1:      # a lone dot would be left: shorten this one
            n -= 2
        labels.append('a' * n)
        need -= n + 1
    name = '.'.join(labels + [zone])
    assert len(name) == total, (len(name), total)
    return name


class FakeControlSocket:
    """A stand-in for pdns's control socket: accepts on a unix stream
    socket, records each command line, replies "1" and closes, as pdns does
    for PURGE."""

    def __init__(self, path):
        self.path = path
        self.commands = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b''
                try:
                    while b'\n' not in data:
                        chunk = conn.recv(1024)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                # Recorded before the reply: once ddnsctl has its replies,
                # every command it sent is in the list.
                with self.lock:
                    self.commands.append(
                        data.decode('ascii', 'replace').strip())
                try:
                    conn.sendall(b'1\n')
                except OSError:
                    pass

    def take(self):
        with self.lock:
            out, self.commands = self.commands, []
        return out

    def close(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


class CtlTestCase(unittest.TestCase):
    """A fresh directory, config and store for each test."""

    CONTROL_SOCKET = None  # 'fake', 'dead' or None
    MAKE_STORE = True      # begin with an empty store (else none)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ddnsctl-test-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.ctl_bin = ddnstest.binary('ddnsctl')
        self.store = os.path.join(self.dir, 'store')
        self.fake = None
        lines = ['[store]', 'path = ' + self.store, '']
        if self.CONTROL_SOCKET:
            sock = os.path.join(self.dir, 'pdns.controlsocket')
            if self.CONTROL_SOCKET == 'fake':
                self.fake = FakeControlSocket(sock)
                self.addCleanup(self.fake.close)
            lines += ['[pdns]', 'control_socket = ' + sock,
                      'purge_timeout_ms = 2000', '']
        self.conf = os.path.join(self.dir, 'ddns.conf')
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines))
        if self.MAKE_STORE:
            self.make_store()

    def make_store(self):
        """An empty store, made as an operator would: the first zone add
        creates it (then the zone goes again).  Through a configuration
        without [pdns], so that no purge is sent."""
        conf = os.path.join(self.dir, 'init.conf')
        with open(conf, 'w') as f:
            f.write('[store]\npath = %s\n' % self.store)
        for args in (add_zone_args('init.example'),
                     ['zone', 'del', 'init.example']):
            r = subprocess.run([self.ctl_bin, '-c', conf] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=30,
                               env=ddnstest.clean_env(),
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stderr)

    # -- running ddnsctl --

    def run_ctl(self, *args, conf=True, stdin=None):
        """ddnsctl ARGS; STDIN (text) is its standard input, else none."""
        argv = [self.ctl_bin] + (['-c', self.conf] if conf else [])
        argv += [str(a) for a in args]
        if stdin is None:
            return subprocess.run(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=30, env=ddnstest.clean_env(),
                                  stdin=subprocess.DEVNULL)
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=30,
                              env=ddnstest.clean_env(), input=stdin)

    def ctl(self, *args, status=0, conf=True, stdin=None):
        r = self.run_ctl(*args, conf=conf, stdin=stdin)
        self.assertEqual(r.returncode, status,
                         'ddnsctl %s\nstdout: %s\nstderr: %s'
                         % (' '.join(map(str, args)), r.stdout, r.stderr))
        return r

    def add_zone(self, zone=ZONE, ns=('ns1.example.org',),
                 hostmaster='hostmaster@example.org', ttl=None):
        args = ['zone', 'add', zone]
        for n in ns:
            args += ['--ns', n]
        args += ['--hostmaster', hostmaster]
        if ttl is not None:
            args += ['--ttl', ttl]
        return self.ctl(*args)

    def add_host(self, fqdn, *args):
        r = self.ctl('host', 'add', fqdn, *args)
        return self.secret_of(r)

    def secret_of(self, r):
        lines = r.stdout.splitlines()
        self.assertTrue(lines, 'no output: %r' % r.stdout)
        self.assertRegex(lines[-1], SECRET_RE)
        return lines[-1]

    def hosts(self, *args):
        out = json.loads(self.ctl('host', 'list', '--json', *args).stdout)
        self.assertIsInstance(out, list)
        return {h['fqdn']: h for h in out}

    def zones(self):
        out = json.loads(self.ctl('zone', 'list', '--json').stdout)
        self.assertIsInstance(out, list)
        return {z['name']: z for z in out}

    def users(self):
        out = json.loads(self.ctl('user', 'list', '--json').stdout)
        self.assertIsInstance(out, list)
        return {u['name']: u for u in out}

    def tokens(self, user):
        out = json.loads(self.ctl('user', 'token', 'list', user,
                                  '--json').stdout)
        self.assertIsInstance(out, list)
        return out

    def add_user(self, name, *args, password=None):
        if password is None:
            return self.ctl('user', 'add', name, *args)
        return self.ctl('user', 'add', name, '--password-stdin', *args,
                        stdin=password + '\n')

    def add_token(self, user, *args):
        r = self.ctl('user', 'token', 'add', user, *args)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[-1], TOKEN_RE)
        return lines[-1]

    def state(self):
        return (self.zones(), self.hosts(), self.users())

    def store_bytes(self):
        with open(os.path.join(self.store, 'data.mdb'), 'rb') as f:
            return f.read()

    def assertFails(self, args, status, *fragments, stdin=None):
        """ddnsctl ARGS exits with STATUS, says each of FRAGMENTS on stderr
        (case-insensitive), writes nothing on stdout, and changes nothing."""
        before = self.state()
        r = self.run_ctl(*args, stdin=stdin)
        where = 'ddnsctl %s\nstdout: %s\nstderr: %s' % (
            ' '.join(map(str, args)), r.stdout, r.stderr)
        self.assertEqual(r.returncode, status, where)
        for frag in fragments:
            self.assertIn(frag.lower(), r.stderr.lower(), where)
        self.assertEqual(r.stdout, '', where)
        self.assertEqual(self.state(), before, 'state changed by ' + where)
        return r


class TestUsage(CtlTestCase):

    def test_help(self):
        r = self.ctl('--help', conf=False)
        for cmd in ('zone add', 'zone set', 'zone list', 'zone del',
                    'host add', 'host secret', 'host set', 'host del',
                    'host list', 'user add', 'user set', 'user list',
                    'user del', 'user token add', 'user token list',
                    'user token del', '--visibility', '--password-stdin',
                    '--owner', '--comment', '--check-config',
                    'Exit status'):
            self.assertIn(cmd, r.stdout)
        r = self.ctl('host', 'set', '--help', conf=False)
        self.assertIn('host set FQDN [--ip', r.stdout)
        r = self.ctl('user', 'token', 'del', '--help', conf=False)
        self.assertIn('user token del USER DIGEST-PREFIX', r.stdout)

    def test_check_config(self):
        shutil.rmtree(self.store)
        r = self.ctl('--check-config')
        self.assertEqual(r.stdout.strip(), self.conf + ': ok')
        self.assertFalse(os.path.exists(self.store), 'check created a store')

    def test_check_config_errors(self):
        bad = os.path.join(self.dir, 'bad.conf')
        with open(bad, 'w') as f:
            f.write('[store]\npath = /tmp/x\nbogus = 1\n')
        r = self.run_ctl('-c', bad, '--check-config', conf=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(bad + ':3', r.stderr)
        self.assertIn('bogus', r.stderr)
        r = self.run_ctl('-c', os.path.join(self.dir, 'none.conf'),
                         '--check-config', conf=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn('none.conf', r.stderr)
        r = self.run_ctl('-c', bad, 'zone', 'list', conf=False)
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_usage_errors(self):
        self.add_zone()
        h = 'h.' + ZONE
        cases = [
            [],
            ['frob'],
            ['zone'],
            ['zone', 'frob'],
            ['zone', 'add'],
            ['zone', 'add', 'z.example', '--hostmaster', 'h@example.org'],
            ['zone', 'add', 'z.example', '--ns', 'ns1.example.org'],
            ['zone', 'add', 'z.example', 'y.example', '--ns',
             'ns1.example.org', '--hostmaster', 'h@example.org'],
            ['zone', 'add', 'z.example', '--ns'],
            ['zone', 'add', 'z.example', '--ns', 'ns1.example.org',
             '--hostmaster', 'a@example.org', '--hostmaster',
             'b@example.org'],
            ['zone', 'list', 'extra'],
            ['zone', 'list', '--force'],
            ['zone', 'del'],
            ['zone', 'del', ZONE, '--json=1'],
            ['host', 'add'],
            ['host', 'add', h, '--bogus'],
            ['host', 'add', h, '--ip'],
            ['host', 'secret'],
            ['host', 'secret', h, '--ip', '192.0.2.1'],
            ['host', 'set', h],
            ['host', 'set'],
            ['host', 'del', h, 'extra'],
            ['host', 'list', '--zone'],
            ['host', 'list', 'extra'],
            ['--check-config', 'zone', 'list'],
            ['--frob', 'zone', 'list'],
            ['zone', 'set', ZONE],
            ['zone', 'set'],
            ['zone', 'set', ZONE, '--json'],
            ['user'],
            ['user', 'frob'],
            ['user', 'add'],
            ['user', 'add', 'a', 'b'],
            ['user', 'add', 'a', '--admin=on'],
            ['user', 'add', 'a', '--no-groups'],
            ['user', 'add', 'a', '--label', 'x'],
            ['user', 'set', 'a'],
            ['user', 'set', 'a', '--admin'],
            ['user', 'set', 'a', '--force'],
            ['user', 'list', 'a'],
            ['user', 'del'],
            ['user', 'del', 'a', '--json'],
            ['user', 'token'],
            ['user', 'token', 'frob'],
            ['user', 'token', 'add'],
            ['user', 'token', 'add', 'a', '--label'],
            ['user', 'token', 'list'],
            ['user', 'token', 'del', 'a'],
            ['user', 'token', 'del', 'a', 'abcd', 'x'],
            ['host', 'add', h, '--owner'],
            ['host', 'add', h, '--wildcard', 'on'],
            ['host', 'set', h, '--owner'],
        ]
        for args in cases:
            with self.subTest(args=args):
                r = self.assertFails(args, 2)
                self.assertTrue('usage: ddnsctl' in r.stderr or
                                "try 'ddnsctl --help'" in r.stderr, r.stderr)
        r = self.run_ctl('zone', 'list', conf=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn('-c FILE', r.stderr)

    def test_bad_zone_options(self):
        base = ['zone', 'add', 'z.example', '--hostmaster', 'h@example.org']
        ns = ['--ns', 'ns1.example.org']
        for ttl in ('0', '86401', 'abc', '-1', '', '60s'):
            with self.subTest(ttl=ttl):
                self.assertFails(base + ns + ['--ttl', ttl], 2, 'ttl')
        nine = []
        for i in range(9):
            nine += ['--ns', 'ns%d.example.org' % i]
        self.assertFails(base + nine, 2, '--ns')
        self.assertFails(base + ns + ns, 2, 'twice')
        self.assertFails(base + ['--ns', 'ns_1.example.org'], 2, 'invalid')
        self.assertFails(['zone', 'add', 'z.example', '--ns',
                          'ns1.example.org', '--hostmaster', 'a b@c@'], 2,
                         'hostmaster')
        self.assertEqual(self.zones(), {})


class TestZones(CtlTestCase):

    def test_zone_add_list(self):
        r = self.add_zone(ns=('NS1.Example.org.', 'ns2.example.org'),
                          ttl=300)
        self.assertIn(ZONE, r.stdout)
        r = self.add_zone('DYN2.Example.ORG.', hostmaster='hostmaster.ex.org')
        self.assertIn('dyn2.example.org', r.stdout)
        self.add_zone('bücher.example')
        zones = self.zones()
        self.assertEqual(sorted(zones), sorted(
            [ZONE, 'dyn2.example.org', 'xn--bcher-kva.example']))
        z = zones[ZONE]
        for f in ZONE_FIELDS:
            self.assertIn(f, z)
        self.assertEqual(z['ns'], ['ns1.example.org', 'ns2.example.org'])
        self.assertEqual(z['ttl'], 300)
        self.assertEqual(z['hostmaster'], 'hostmaster.example.org')
        self.assertEqual(z['hosts'], 0)
        self.assertGreaterEqual(z['id'], 1)
        self.assertGreater(z['serial'], 0)
        z2 = zones['dyn2.example.org']
        self.assertEqual(z2['ttl'], 60)
        self.assertEqual(z2['hostmaster'], 'hostmaster.ex.org')
        self.assertEqual(len({z['id'] for z in zones.values()}), 3)

        self.add_host('a.' + ZONE)
        self.add_host('b.' + ZONE)
        lines = self.ctl('zone', 'list').stdout.splitlines()
        self.assertEqual(len(lines), 3, lines)
        line = [l for l in lines if l.split()[0] == ZONE][0]
        for frag in ('id=%d' % z['id'], 'serial=', 'ttl=300',
                     'ns=ns1.example.org,ns2.example.org', 'hosts=2'):
            self.assertIn(frag, line)

    def test_zone_list_empty(self):
        self.assertEqual(json.loads(self.ctl('zone', 'list', '--json')
                                    .stdout), [])
        self.assertEqual(self.ctl('zone', 'list').stdout, '')

    def test_zone_duplicate(self):
        self.add_zone()
        self.assertFails(['zone', 'add', 'DYN.example.org.', '--ns',
                          'ns1.example.org', '--hostmaster',
                          'h@example.org'], 1, 'already exists')

    def test_zone_invalid_names(self):
        for name, why in invalid_names(ZONE):
            with self.subTest(name=name):
                self.assertFails(['zone', 'add', name, '--ns',
                                  'ns1.example.org', '--hostmaster',
                                  'h@example.org'], 2, 'invalid', why)

    def test_zone_del(self):
        self.add_zone()
        self.add_zone('other.example')
        self.add_host('a.' + ZONE)
        self.add_host('b.' + ZONE, '--ip', '192.0.2.1')
        self.add_host('c.other.example')
        self.assertFails(['zone', 'del', ZONE], 1, ZONE, '2 host', '--force')
        r = self.ctl('zone', 'del', ZONE + '.', '--force')
        self.assertIn('2 host', r.stdout)
        self.assertEqual(sorted(self.zones()), ['other.example'])
        self.assertEqual(sorted(self.hosts()), ['c.other.example'])
        self.assertFails(['zone', 'del', ZONE], 1, 'no zone')
        self.assertFails(['zone', 'del', 'a_b.example'], 2, 'invalid')
        self.ctl('host', 'del', 'c.other.example')
        self.ctl('zone', 'del', 'other.example')
        self.assertEqual(self.state(), ({}, {}, {}))
        # The name can be served again afterwards, as a new zone.
        self.add_zone()
        self.assertEqual(self.hosts(), {})

    def test_nested_zone(self):
        self.add_zone()
        self.add_host('sub.' + ZONE)
        # A zone over a host of the enclosing zone is refused.
        self.assertFails(add_zone_args('sub.' + ZONE), 1, 'sub.' + ZONE)
        self.add_zone('other.' + ZONE)
        self.add_host('x.other.' + ZONE)
        hosts = self.hosts()
        self.assertEqual(hosts['x.other.' + ZONE]['zone'], 'other.' + ZONE)
        self.assertEqual(hosts['sub.' + ZONE]['zone'], ZONE)
        self.assertEqual(sorted(self.hosts('--zone', ZONE)), ['sub.' + ZONE])
        self.assertEqual(sorted(self.hosts('--zone', 'other.' + ZONE)),
                         ['x.other.' + ZONE])
        self.assertFails(['host', 'add', 'other.' + ZONE], 1, 'apex')

    def test_host_one_label_below_zone(self):
        """No host deeper than one label below its zone: the names between
        would be empty non-terminals answering NXDOMAIN (RFC 8020)."""
        self.add_zone()
        self.add_host('b.' + ZONE)
        for fqdn, parent in (('a.b.' + ZONE, 'b.' + ZONE),
                             ('A.C.' + ZONE + '.', 'c.' + ZONE),
                             ('x.y.z.' + ZONE, 'y.z.' + ZONE)):
            with self.subTest(fqdn=fqdn):
                r = self.assertFails(['host', 'add', fqdn], 1)
                self.assertEqual(
                    r.stderr,
                    'ddnsctl: %s: hosts are one label below their zone (%s);'
                    ' add zone %s for deeper names\n'
                    % (fqdn.lower().rstrip('.'), ZONE, parent))
        # With a zone of its own, the deeper name is one label below it.
        self.add_zone('c.' + ZONE)
        self.add_host('a.c.' + ZONE)
        self.assertEqual(self.hosts()['a.c.' + ZONE]['zone'], 'c.' + ZONE)


def invalid_names(zone):
    """(name, fragment of the reason) pairs, every name invalid."""
    return [
        ('a' * 64 + '.' + zone, '63'),
        (long_name(254, zone), '253'),
        ('a_b.' + zone, "'_'"),
        ('-a.' + zone, 'hyphen'),
        ('a-.' + zone, 'hyphen'),
        ('a..' + zone, 'empty label'),
        ('.' + zone, 'empty label'),
        ('', 'empty'),
        ('.', 'empty'),
        ('a b.' + zone, 'character'),
        ('*.' + zone, "'*'"),
    ]


class TestHosts(CtlTestCase):

    def setUp(self):
        super().setUp()
        self.add_zone()

    def test_host_add(self):
        r = self.ctl('host', 'add', 'H1.Dyn.Example.ORG.')
        s1 = self.secret_of(r)
        self.assertIn('h1.' + ZONE, r.stdout)
        s2 = self.add_host('h2.' + ZONE, '--ip', '192.0.2.2', '--ip',
                           '2001:DB8:0:0::2')
        self.assertNotEqual(s1, s2)
        hosts = self.hosts()
        self.assertEqual(sorted(hosts), ['h1.' + ZONE, 'h2.' + ZONE])
        h1, h2 = hosts['h1.' + ZONE], hosts['h2.' + ZONE]
        for f in HOST_FIELDS:
            self.assertIn(f, h1)
        self.assertEqual(h1['zone'], ZONE)
        self.assertIsNone(h1['ipv4'])
        self.assertIsNone(h1['ipv6'])
        self.assertIsNone(h1['updated'])
        self.assertRegex(h1['created'], ISO_RE)
        self.assertIs(h1['wildcard'], False)
        for f in ('client_faults', 'server_faults', 'auth_faults'):
            self.assertEqual(h1[f], 0)
        self.assertEqual(h2['ipv4'], '192.0.2.2')
        self.assertEqual(h2['ipv6'], '2001:db8::2')
        self.assertRegex(h2['updated'], ISO_RE)
        text = self.ctl('host', 'list').stdout
        self.assertRegex(text, r'(?m)^h2\.%s\s+192\.0\.2\.2\s+2001:db8::2\s'
                         % re.escape(ZONE))
        self.assertRegex(text, r'(?m)^h1\.%s\s+-\s+-\s+never\s+-$'
                         % re.escape(ZONE))
        self.assertEqual(self.zones()[ZONE]['hosts'], 2)

    def test_host_add_idn_and_limits(self):
        self.add_host('straße.' + ZONE)
        self.add_host('a' * 63 + '.' + ZONE)
        # 253 octets, one label below a long zone, + the root dot
        long_zone = long_name(253 - 64)
        self.add_zone(long_zone)
        longest = 'b' * 63 + '.' + long_zone
        self.assertEqual(len(longest), 253)
        self.add_host(longest + '.')
        hosts = self.hosts()
        self.assertIn('xn--strae-oqa.' + ZONE, hosts)
        self.assertIn('a' * 63 + '.' + ZONE, hosts)
        self.assertEqual(hosts[longest]['zone'], long_zone)
        self.assertEqual(len(hosts), 3)

    def test_host_duplicate(self):
        self.add_host('h.' + ZONE)
        self.assertFails(['host', 'add', 'H.' + ZONE + '.'], 1,
                         'already exists')

    def test_host_not_in_zone(self):
        self.assertFails(['host', 'add', 'h.other.example'], 1, 'no zone')
        self.assertFails(['host', 'add', 'example.org'], 1, 'no zone')
        self.assertFails(['host', 'add', ZONE], 1, 'apex')
        self.assertFails(['host', 'set', 'h.other.example', '--ip',
                          '192.0.2.1'], 1, 'no host', 'no zone')
        self.assertFails(['host', 'del', 'h.other.example'], 1, 'no host')
        self.assertFails(['host', 'secret', 'h.other.example'], 1, 'no host')

    def test_invalid_names(self):
        self.add_host('h.' + ZONE)
        for name, why in invalid_names(ZONE):
            for cmd in (['host', 'add', name], ['host', 'del', name],
                        ['host', 'secret', name],
                        ['host', 'set', name, '--ip', '192.0.2.1']):
                with self.subTest(cmd=cmd):
                    self.assertFails(cmd, 2, 'invalid', why)
        self.assertFails(['host', 'list', '--zone', 'a_b'], 2, 'invalid')

    def test_bad_addresses(self):
        self.add_host('h.' + ZONE)
        for addr in ('256.1.1.1', '1.2.3', '01.2.3.4', '::g', '', ' 1.2.3.4',
                     '1.2.3.4 ', '0.0.0.0', '::', '224.0.0.1', 'ff02::1',
                     'example.org', '1.2.3.4/', '1.2.3.4.5'):
            with self.subTest(addr=addr):
                self.assertFails(['host', 'set', 'h.' + ZONE, '--ip', addr],
                                 2, 'invalid address', repr(addr)[1:-1])
                self.assertFails(['host', 'add', 'n.' + ZONE, '--ip', addr],
                                 2, 'invalid address')
        self.assertFails(['host', 'set', 'h.' + ZONE, '--ip', '192.0.2.1',
                          '--ip', '192.0.2.2'], 2, 'IPv4')
        self.assertFails(['host', 'set', 'h.' + ZONE, '--ip', '2001:db8::1',
                          '--ip', '2001:db8::2'], 2, 'IPv6')

    def test_host_set(self):
        fqdn = 'h.' + ZONE
        self.add_host(fqdn)
        serial = self.zones()[ZONE]['serial']
        r = self.ctl('host', 'set', fqdn, '--ip', '192.0.2.10')
        self.assertIn('192.0.2.10', r.stdout)
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['ipv6']), ('192.0.2.10', None))
        self.assertRegex(h['updated'], ISO_RE)
        self.ctl('host', 'set', fqdn.upper() + '.', '--ip',
                 '2001:0DB8:0000::0010')
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['ipv6']), ('192.0.2.10',
                                                  '2001:db8::10'))
        self.ctl('host', 'set', fqdn, '--ip', '::ffff:192.0.2.11')
        self.assertEqual(self.hosts()[fqdn]['ipv4'], '192.0.2.11')
        self.ctl('host', 'set', fqdn, '--ip', '198.51.100.1/24')
        self.assertEqual(self.hosts()[fqdn]['ipv4'], '198.51.100.1')
        self.ctl('host', 'set', fqdn, '--ip', 'none')
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['ipv6']), (None, None))
        self.ctl('host', 'set', fqdn, '--ip', '192.0.2.7', '--ip',
                 '2001:db8::7')
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['ipv6']), ('192.0.2.7',
                                                  '2001:db8::7'))
        self.ctl('host', 'set', fqdn, '--ip', 'none', '--ip', '192.0.2.7')
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['ipv6']), ('192.0.2.7', None))
        serial2 = self.zones()[ZONE]['serial']
        self.assertGreater(serial2, serial)
        # The same address again is no change: no write, no new serial.
        r = self.ctl('host', 'set', fqdn, '--ip', '192.0.2.7')
        self.assertIn('unchanged', r.stdout)
        self.assertEqual(self.zones()[ZONE]['serial'], serial2)

    def test_host_secret(self):
        fqdn = 'h.' + ZONE
        s1 = self.add_host(fqdn)
        serial = self.zones()[ZONE]['serial']
        r = self.ctl('host', 'secret', fqdn.upper())
        s2 = self.secret_of(r)
        self.assertNotEqual(s1, s2)
        s3 = self.secret_of(self.ctl('host', 'secret', fqdn))
        self.assertNotIn(s3, (s1, s2))
        # A secret is not in DNS: the zone's serial stays.
        self.assertEqual(self.zones()[ZONE]['serial'], serial)
        self.assertFails(['host', 'secret', 'nope.' + ZONE], 1, 'no host')

    def test_host_del(self):
        self.add_host('a.' + ZONE)
        self.add_host('b.' + ZONE)
        serial = self.zones()[ZONE]['serial']
        r = self.ctl('host', 'del', 'A.' + ZONE + '.')
        self.assertIn('a.' + ZONE, r.stdout)
        self.assertEqual(sorted(self.hosts()), ['b.' + ZONE])
        self.assertGreater(self.zones()[ZONE]['serial'], serial)
        self.assertFails(['host', 'del', 'a.' + ZONE], 1, 'no host')
        # A deleted name can be added again, with a new secret.
        self.add_host('a.' + ZONE)

    def test_serial_grows_on_every_change(self):
        """The serial grows with every change of the zone's answers, and
        only then."""
        fqdn = 'h.' + ZONE
        serials = [self.zones()[ZONE]['serial']]
        for args in (['host', 'add', fqdn],
                     ['host', 'set', fqdn, '--ip', '192.0.2.1'],
                     ['host', 'set', fqdn, '--wildcard', 'on'],
                     ['host', 'block', fqdn],
                     ['host', 'unblock', fqdn],
                     ['host', 'del', fqdn]):
            self.ctl(*args)
            serials.append(self.zones()[ZONE]['serial'])
        self.assertEqual(serials, sorted(set(serials)), serials)
        self.add_host(fqdn, '--ip', '192.0.2.1')
        serial = self.zones()[ZONE]['serial']
        for args in (['host', 'secret', fqdn],
                     ['host', 'set', fqdn, '--ip', '192.0.2.1'],
                     ['host', 'unblock', fqdn],
                     ['host', 'list'], ['zone', 'list']):
            self.ctl(*args)
            self.assertEqual(self.zones()[ZONE]['serial'], serial, args)

    def test_host_list_zone(self):
        self.add_zone('other.example')
        self.add_host('a.' + ZONE)
        self.add_host('b.other.example')
        self.assertEqual(sorted(self.hosts('--zone', ZONE.upper())),
                         ['a.' + ZONE])
        self.assertEqual(sorted(self.hosts('--zone', 'other.example')),
                         ['b.other.example'])
        self.assertEqual(len(self.hosts()), 2)
        text = self.ctl('host', 'list', '--zone', 'other.example').stdout
        self.assertIn('b.other.example', text)
        self.assertNotIn('a.' + ZONE, text)
        self.assertFails(['host', 'list', '--zone', 'nope.example'], 1,
                         'no zone')

    def test_secret_not_on_disk(self):
        secrets = [self.add_host('h%d.%s' % (i, ZONE)) for i in range(5)]
        secrets.append(self.secret_of(self.ctl('host', 'secret',
                                               'h0.' + ZONE)))
        files = []
        for root, _, names in os.walk(self.dir):
            files += [os.path.join(root, n) for n in names]
        self.assertIn(os.path.join(self.store, 'data.mdb'), files)
        for path in files:
            if os.path.isfile(path):
                with open(path, 'rb') as f:
                    data = f.read()
                for s in secrets:
                    self.assertNotIn(s.encode(), data,
                                     'secret found in %s' % path)


class TestUsers(CtlTestCase):
    """user add / set / list / del; passwords only through stdin."""

    def test_user_add_list(self):
        r = self.add_user('Alice', '--admin', '--display-name', 'Alice Ä.',
                          '--email', 'alice@example.org', '--group',
                          'urn:mace:egi.eu:group:vo.example.org', '--group',
                          'ops team', password=PASSWORD)
        self.assertIn('user alice added', r.stdout)
        self.add_user('bob')
        users = self.users()
        self.assertEqual(sorted(users), ['alice', 'bob'])
        a, b = users['alice'], users['bob']
        for f in USER_FIELDS:
            self.assertIn(f, a)
        self.assertEqual((a['id'], b['id']), (1, 2))
        self.assertEqual(a['display_name'], 'Alice Ä.')
        self.assertEqual(a['email'], 'alice@example.org')
        self.assertIs(a['admin'], True)
        self.assertIs(a['password'], True)
        self.assertEqual(a['groups'], ['urn:mace:egi.eu:group:vo.example.org',
                                       'ops team'])
        self.assertIsNone(a['oidc_issuer'])
        self.assertIsNone(a['oidc_subject'])
        self.assertEqual(a['hosts'], 0)
        self.assertRegex(a['created'], ISO_RE)
        self.assertIs(b['admin'], False)
        self.assertIs(b['password'], False)
        self.assertEqual(b['groups'], [])
        self.assertIsNone(b['email'])
        self.assertIsNone(b['display_name'])
        lines = self.ctl('user', 'list').stdout.splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith('alice id=1 admin=yes hosts=0 '
                                            'password=yes'), lines[0])
        self.assertIn('groups=urn:mace:egi.eu:group:vo.example.org,ops team',
                      lines[0])
        self.assertTrue(lines[1].startswith('bob id=2 admin=no'), lines[1])
        # the hash is stored, never the password
        data = self.store_bytes()
        self.assertIn(b'$scrypt$ln=15,r=8,p=1$', data)
        self.assertNotIn(PASSWORD.encode(), data)

    def test_user_ids_not_reused(self):
        self.add_user('a')
        self.add_user('b')
        self.ctl('user', 'del', 'b')
        self.add_user('c')
        self.assertEqual(self.users()['c']['id'], 3)

    def test_user_add_errors(self):
        self.add_user('alice')
        self.assertFails(['user', 'add', 'ALICE'], 1, 'already exists')
        for name in ('', '.a', '-a', 'a b', 'a/b', 'a' * 65, 'é', 'a:b'):
            with self.subTest(name=name):
                self.assertFails(['user', 'add', name], 2,
                                 'invalid user name')
        bad = [
            (['--email', 'no-at'], '--email'),
            (['--email', '@example.org'], '--email'),
            (['--email', 'a b@example.org'], '--email'),
            (['--display-name', 'a\tb'], '--display-name'),
            (['--display-name', 'x' * 129], '--display-name'),
            (['--group', ''], 'invalid group'),
            (['--group', ' lead'], 'invalid group'),
            (['--group', 'g\x01'], 'invalid group'),
            (['--group', 'g' * 256], 'invalid group'),
            (['--group', 'g', '--group', 'g'], 'twice'),
            (sum([['--group', 'g%d' % i] for i in range(33)], []),
             'at most 32'),
        ]
        for args, frag in bad:
            with self.subTest(args=args[:4]):
                self.assertFails(['user', 'add', 'new'] + args, 2, frag)
        self.add_user('withmax', *sum([['--group', 'g%d' % i]
                                       for i in range(32)], []))
        self.assertEqual(len(self.users()['withmax']['groups']), 32)

    def test_password_stdin(self):
        """The password comes from stdin only, at least 8 characters, one
        line; it appears in no output and not in the store."""
        r = self.add_user('alice', password=PASSWORD)
        self.assertNotIn(PASSWORD, r.stdout + r.stderr)
        for pw, frag in (('pw1', 'too short'), ('', 'too short'),
                         ('1234567', 'too short'),
                         ('ééééééé', 'too short'),
                         ('x' * 1025, 'too long')):
            with self.subTest(pw=pw[:10]):
                r = self.assertFails(['user', 'add', 'bob',
                                      '--password-stdin'], 2, frag,
                                     stdin=pw + '\n')
                self.assertNotIn(pw or '\0', r.stderr)
        self.assertFails(['user', 'add', 'bob', '--password-stdin'], 2,
                         'too short', stdin='')
        # exactly 8 characters, a CRLF line end, only the first line
        self.add_user('carol', password='12345678\r')
        self.add_user('dave', password='éééééééé\nsecond line')
        self.add_user('erin', password='y' * 1024)
        users = self.users()
        for u in ('carol', 'dave', 'erin'):
            self.assertIs(users[u]['password'], True)
        data = self.store_bytes()
        for pw in (PASSWORD, '12345678', 'éééééééé', 'y' * 1024):
            self.assertNotIn(pw.encode(), data)

    def test_password_not_echoed(self):
        """On a terminal the password is read with echo off."""
        import pty
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen([self.ctl_bin, '-c', self.conf, 'user', 'add',
                              'tty', '--password-stdin'],
                             stdin=slave, stdout=subprocess.PIPE,
                             stderr=slave, env=ddnstest.clean_env())
        os.close(slave)
        seen = b''
        deadline = time.monotonic() + 20
        while b'password for tty: ' not in seen:
            self.assertLess(time.monotonic(), deadline, seen)
            if select.select([master], [], [], 0.5)[0]:
                seen += os.read(master, 1024)
        os.write(master, (PASSWORD + '\n').encode())
        out, _ = p.communicate(timeout=30)
        while True:
            try:
                if not select.select([master], [], [], 0.2)[0]:
                    break
                chunk = os.read(master, 1024)
            except OSError:  # EIO once the child is gone
                break
            if not chunk:
                break
            seen += chunk
        self.assertEqual(p.returncode, 0, seen)
        self.assertIn(b'user tty added', out)
        self.assertNotIn(PASSWORD.encode(), seen + out)
        self.assertIs(self.users()['tty']['password'], True)

    def test_user_set(self):
        self.add_user('bob', '--group', 'a', '--group', 'b')
        self.ctl('user', 'set', 'BOB', '--admin', 'on', '--email',
                 'bob@example.org', '--display-name', 'Bob')
        u = self.users()['bob']
        self.assertIs(u['admin'], True)
        self.assertEqual(u['email'], 'bob@example.org')
        self.assertEqual(u['display_name'], 'Bob')
        self.assertEqual(u['groups'], ['a', 'b'])
        self.ctl('user', 'set', 'bob', '--group', 'c')
        self.assertEqual(self.users()['bob']['groups'], ['c'])
        self.ctl('user', 'set', 'bob', '--no-groups', '--admin', 'off',
                 '--email', '')
        u = self.users()['bob']
        self.assertEqual((u['groups'], u['admin'], u['email']),
                         ([], False, None))
        self.assertIs(u['password'], False)
        before = self.store_bytes()
        self.ctl('user', 'set', 'bob', '--password-stdin',
                 stdin=PASSWORD + '\n')
        self.assertIs(self.users()['bob']['password'], True)
        self.assertNotIn(PASSWORD.encode(), self.store_bytes())
        self.assertNotEqual(before, self.store_bytes())
        self.assertFails(['user', 'set', 'nobody', '--admin', 'on'], 1,
                         'no user nobody')
        self.assertFails(['user', 'set', 'bob', '--admin', 'yes'], 2,
                         '--admin')
        self.assertFails(['user', 'set', 'bob', '--group', 'x',
                          '--no-groups'], 2, 'exclude')
        self.assertFails(['user', 'set', 'bob', '--password-stdin'], 2,
                         'too short', stdin='short\n')
        # options are checked before the password is read
        self.assertFails(['user', 'set', 'bob', '--password-stdin',
                          '--email', 'bad'], 2, '--email',
                         stdin=PASSWORD + '\n')

    def test_user_del(self):
        self.add_zone()
        self.add_zone('other.example')
        self.add_user('alice')
        self.add_user('bob')
        self.add_host('a.' + ZONE, '--owner', 'alice')
        self.add_host('b.other.example', '--owner', 'alice', '--comment', 'c')
        self.add_host('c.' + ZONE, '--owner', 'bob')
        self.add_token('alice')
        self.assertEqual(self.users()['alice']['hosts'], 2)
        serials = {z: v['serial'] for z, v in self.zones().items()}
        self.assertFails(['user', 'del', 'alice'], 1, '2 host', '--force')
        r = self.ctl('user', 'del', 'Alice', '--force')
        self.assertIn('2 host', r.stdout)
        self.assertEqual(sorted(self.users()), ['bob'])
        self.assertEqual(sorted(self.hosts()), ['c.' + ZONE])
        for z, v in self.zones().items():
            self.assertEqual(v['serial'], serials[z] + 1, z)
        self.assertFails(['user', 'del', 'alice'], 1, 'no user alice')
        self.assertFails(['user', 'del', 'a_b!'], 2, 'invalid user name')
        # its tokens went with it: a new alice has none
        self.add_user('alice')
        self.assertEqual(self.tokens('alice'), [])
        self.ctl('user', 'del', 'alice')
        self.ctl('host', 'del', 'c.' + ZONE)
        r = self.ctl('user', 'del', 'bob')
        self.assertEqual(r.stdout, 'user bob deleted\n')
        self.assertEqual(self.users(), {})


class TestTokens(CtlTestCase):
    """Personal API tokens: shown once, stored as SHA-256 only."""

    def setUp(self):
        super().setUp()
        self.add_user('alice')
        self.add_user('bob')

    def test_token_add_list_del(self):
        r = self.ctl('user', 'token', 'add', 'alice', '--label', 'ci ☺')
        lines = r.stdout.splitlines()
        token = lines[-1]
        self.assertRegex(token, TOKEN_RE)
        # the store keys a token by the digest of its part after "ddns_"
        digest = hashlib.sha256(token[5:].encode()).hexdigest()
        self.assertIn(digest[:16], lines[0])
        t2 = self.add_token('alice')
        t3 = self.add_token('bob', '--label', 'b')
        self.assertEqual(len({token, t2, t3}), 3)
        toks = self.tokens('alice')
        self.assertEqual(len(toks), 2)
        by_digest = {t['digest']: t for t in toks}
        self.assertIn(digest, by_digest)
        self.assertEqual(by_digest[digest]['label'], 'ci ☺')
        self.assertRegex(by_digest[digest]['created'], ISO_RE)
        self.assertEqual(by_digest[hashlib.sha256(t2[5:].encode()).hexdigest()]
                         ['label'], '')
        text = self.ctl('user', 'token', 'list', 'alice').stdout
        self.assertRegex(text, r'(?m)^%s\s+\S+Z\s+ci ☺$' % digest[:16])
        self.assertNotIn(token, text)
        # the tokens are not in the store in clear; their digests are
        data = self.store_bytes()
        for t in (token, t2, t3):
            self.assertNotIn(t[5:].encode(), data)
        self.assertIn(bytes.fromhex(digest), data)
        # delete by a prefix of the digest, in any case
        r = self.ctl('user', 'token', 'del', 'alice', digest[:8].upper())
        self.assertIn('deleted', r.stdout)
        self.assertEqual([t['digest'] for t in self.tokens('alice')],
                         [hashlib.sha256(t2[5:].encode()).hexdigest()])
        self.assertEqual(len(self.tokens('bob')), 1)

    def test_token_errors(self):
        token = self.add_token('alice')
        digest = hashlib.sha256(token[5:].encode()).hexdigest()
        before = self.tokens('alice')
        # another user's token is not found through this one
        self.assertFails(['user', 'token', 'del', 'bob', digest[:8]], 1,
                         'no token')
        self.assertFails(['user', 'token', 'del', 'alice', 'ffff' if
                          not digest.startswith('ffff') else '0000'], 1,
                         'no token')
        for prefix in ('abc', 'xyz1', digest + '0', '', 'abcd efgh'):
            with self.subTest(prefix=prefix):
                self.assertFails(['user', 'token', 'del', 'alice', prefix],
                                 2, 'invalid digest prefix')
        self.assertFails(['user', 'token', 'add', 'nobody'], 1,
                         'no user nobody')
        self.assertFails(['user', 'token', 'list', 'nobody'], 1,
                         'no user nobody')
        self.assertFails(['user', 'token', 'add', 'alice', '--label',
                          'x' * 65], 2, '--label')
        self.assertFails(['user', 'token', 'add', 'alice', '--label',
                          'a\nb'], 2, '--label')
        self.assertEqual(self.tokens('alice'), before)


class TestOwnersAndComments(CtlTestCase):
    """host add/set --owner and --comment; owner and comment in host list;
    neither changes a DNS answer (no new serial)."""

    def setUp(self):
        super().setUp()
        self.add_zone()
        self.add_user('alice')
        self.add_user('bob')

    def test_owner_comment(self):
        fqdn = 'h.' + ZONE
        self.add_host(fqdn, '--owner', 'ALICE', '--comment', 'home ☺')
        self.add_host('o.' + ZONE)
        hosts = self.hosts()
        self.assertEqual(hosts[fqdn]['owner'], 'alice')
        self.assertEqual(hosts[fqdn]['owner_id'], 1)
        self.assertEqual(hosts[fqdn]['comment'], 'home ☺')
        self.assertIsNone(hosts['o.' + ZONE]['owner'])
        self.assertIsNone(hosts['o.' + ZONE]['owner_id'])
        self.assertIsNone(hosts['o.' + ZONE]['comment'])
        text = self.ctl('host', 'list').stdout
        self.assertRegex(text, r'(?m)^h\.%s\s.*\salice$' % re.escape(ZONE))
        self.assertEqual(self.users()['alice']['hosts'], 1)

        serial = self.zones()[ZONE]['serial']
        r = self.ctl('host', 'set', fqdn, '--owner', 'bob', '--comment', '')
        self.assertIn('owner bob', r.stdout)
        h = self.hosts()[fqdn]
        self.assertEqual((h['owner'], h['comment']), ('bob', None))
        self.ctl('host', 'set', fqdn, '--comment', 'c' * 256)
        self.assertEqual(self.hosts()[fqdn]['comment'], 'c' * 256)
        self.ctl('host', 'set', fqdn, '--owner', 'none')
        self.assertIsNone(self.hosts()[fqdn]['owner'])
        r = self.ctl('host', 'set', fqdn, '--owner', 'none')
        self.assertIn('unchanged', r.stdout)
        self.assertEqual(self.zones()[ZONE]['serial'], serial)
        # an address change with them still bumps the serial
        self.ctl('host', 'set', fqdn, '--ip', '192.0.2.5', '--owner',
                 'alice')
        h = self.hosts()[fqdn]
        self.assertEqual((h['ipv4'], h['owner']), ('192.0.2.5', 'alice'))
        self.assertGreater(self.zones()[ZONE]['serial'], serial)

    def test_owner_comment_errors(self):
        fqdn = 'h.' + ZONE
        self.add_host(fqdn, '--comment', 'keep')
        for args, status, frag in (
                (['--owner', 'nobody'], 1, 'no user nobody'),
                (['--owner', 'Bad/Name'], 2, 'invalid user name'),
                (['--comment', 'a\nb'], 2, '--comment'),
                (['--comment', 'x' * 257], 2, '--comment'),
                (['--comment', '\x7f'], 2, '--comment')):
            with self.subTest(args=args):
                self.assertFails(['host', 'set', fqdn] + args, status, frag)
                self.assertFails(['host', 'add', 'n.' + ZONE] + args,
                                 status, frag)
        self.assertEqual(self.hosts()[fqdn]['comment'], 'keep')

    def test_comment_goes_with_host(self):
        fqdn = 'h.' + ZONE
        self.add_host(fqdn, '--comment', 'first')
        self.ctl('host', 'del', fqdn)
        self.add_host(fqdn)
        self.assertIsNone(self.hosts()[fqdn]['comment'])
        self.ctl('host', 'set', fqdn, '--comment', 'second')
        self.ctl('zone', 'del', ZONE, '--force')
        self.add_zone()
        self.add_host(fqdn)
        self.assertIsNone(self.hosts()[fqdn]['comment'])


class TestZoneVisibility(CtlTestCase):
    """zone add --visibility/--group, zone set, zone list."""

    def test_zone_add_visibility(self):
        self.add_zone()
        self.ctl(*add_zone_args('p.example'), '--visibility', 'private',
                 '--group', 'vo-a', '--group', 'urn:x:vo b')
        r = self.ctl(*add_zone_args('adm.example'), '--visibility', 'admin')
        self.assertIn('admin', r.stdout)
        r = self.ctl(*add_zone_args('nogroups.example'), '--visibility',
                     'private')
        self.assertIn('warning', r.stderr.lower())
        zones = self.zones()
        self.assertEqual((zones[ZONE]['visibility'], zones[ZONE]['groups']),
                         ('public', []))
        self.assertEqual(zones['p.example']['visibility'], 'private')
        self.assertEqual(zones['p.example']['groups'], ['vo-a', 'urn:x:vo b'])
        self.assertEqual(zones['adm.example']['visibility'], 'admin')
        line = [l for l in self.ctl('zone', 'list').stdout.splitlines()
                if l.startswith('p.example ')][0]
        self.assertIn('visibility=private groups=vo-a,urn:x:vo b', line)

    def test_zone_add_errors(self):
        base = add_zone_args('z.example')
        for args, frag in (
                (['--visibility', 'secret'], '--visibility'),
                (['--visibility', 'Public'], '--visibility'),
                (['--group', 'g', '--group', 'g'], 'twice'),
                (['--group', 'g\t'], 'invalid group'),
                (sum([['--group', 'g%d' % i] for i in range(9)], []),
                 'at most 8')):
            with self.subTest(args=args[:4]):
                self.assertFails(base + args, 2, frag)
        self.assertEqual(self.zones(), {})

    def test_zone_set(self):
        self.add_zone(ns=('ns1.example.org', 'ns2.example.org'))
        serial = self.zones()[ZONE]['serial']
        r = self.ctl('zone', 'set', ZONE, '--visibility', 'private',
                     '--group', 'vo-a')
        self.assertIn('visibility=private', r.stdout)
        z = self.zones()[ZONE]
        self.assertEqual((z['visibility'], z['groups'], z['serial']),
                         ('private', ['vo-a'], serial))
        self.ctl('zone', 'set', ZONE, '--group', 'vo-b', '--group', 'vo-c')
        self.assertEqual(self.zones()[ZONE]['groups'], ['vo-b', 'vo-c'])
        r = self.ctl('zone', 'set', ZONE, '--no-groups')
        self.assertIn('warning', r.stderr.lower())
        self.assertEqual(self.zones()[ZONE]['groups'], [])
        self.assertEqual(self.zones()[ZONE]['serial'], serial)
        # DNS settings: a new serial
        self.ctl('zone', 'set', ZONE + '.', '--ttl', '300', '--ns',
                 'ns3.example.org', '--hostmaster', 'dns@example.net')
        z = self.zones()[ZONE]
        self.assertEqual((z['ttl'], z['ns'], z['hostmaster']),
                         (300, ['ns3.example.org'], 'dns.example.net'))
        self.assertEqual(z['serial'], serial + 1)
        r = self.ctl('zone', 'set', ZONE, '--ttl', '300')
        self.assertIn('unchanged', r.stdout)
        self.assertEqual(self.zones()[ZONE]['serial'], serial + 1)
        self.assertFails(['zone', 'set', 'nope.example', '--ttl', '5'], 1,
                         'no zone')
        self.assertFails(['zone', 'set', ZONE, '--ttl', '0'], 2, '--ttl')
        self.assertFails(['zone', 'set', ZONE, '--group', 'a',
                          '--no-groups'], 2, 'exclude')
        self.assertFails(['zone', 'set', ZONE, '--visibility', 'x'], 2,
                         '--visibility')
        self.assertFails(['zone', 'set', 'a_b.example', '--ttl', '5'], 2,
                         'invalid')

class TestMissingStore(CtlTestCase):
    """Only zone add and host add create a store: any other command on a
    path that holds none fails with the store's message and leaves nothing
    behind (a mistyped path must not be filled with an empty store)."""

    MAKE_STORE = False

    def test_other_commands_need_a_store(self):
        h = 'h.' + ZONE
        cmds = (['zone', 'list'], ['zone', 'list', '--json'],
                ['host', 'list'], ['host', 'list', '--json', '--zone', ZONE],
                ['zone', 'del', ZONE], ['host', 'del', h],
                ['host', 'secret', h], ['host', 'set', h, '--ip', '192.0.2.1'],
                ['host', 'block', h], ['host', 'unblock', h],
                ['host', 'clear-abuse', h], ['zone', 'set', ZONE, '--ttl', 5],
                ['user', 'list'], ['user', 'list', '--json'],
                ['user', 'del', 'u'], ['user', 'set', 'u', '--admin', 'on'],
                ['user', 'token', 'add', 'u'], ['user', 'token', 'list', 'u'],
                ['user', 'token', 'del', 'u', 'abcd'])
        for made in (False, True):
            if made:  # an existing empty directory gets no files either
                os.mkdir(self.store, 0o700)
            for args in cmds:
                with self.subTest(args=args, dir_exists=made):
                    r = self.run_ctl(*args)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertEqual(r.stdout, '')
                    self.assertIn('no ddns store in ' + self.store, r.stderr)
                    self.assertIn('ddnsctl zone add', r.stderr)
                    self.assertEqual(os.path.exists(self.store), made)
                    if made:
                        self.assertEqual(os.listdir(self.store), [])

    def test_add_creates_the_store(self):
        r = self.run_ctl('host', 'add', 'h.' + ZONE)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('no zone', r.stderr)
        self.assertTrue(os.path.exists(os.path.join(self.store, 'data.mdb')))
        shutil.rmtree(self.store)
        self.add_zone()
        self.assertEqual(sorted(self.zones()), [ZONE])
        shutil.rmtree(self.store)
        self.add_user('first')
        self.assertEqual(sorted(self.users()), ['first'])


class TestPurgeUnreachable(CtlTestCase):
    """[pdns] control_socket names a path where nothing listens: every
    change still succeeds, with a warning."""

    CONTROL_SOCKET = 'dead'

    def test_changes_succeed_with_warning(self):
        fqdn = 'h.' + ZONE
        r = self.add_zone()
        self.assertIn('warning', r.stderr.lower())
        r = self.ctl('host', 'add', fqdn)
        self.secret_of(r)
        self.assertIn('warning', r.stderr.lower())
        self.assertIn('purg', r.stderr.lower())
        r = self.ctl('host', 'set', fqdn, '--ip', '192.0.2.1')
        self.assertIn('warning', r.stderr.lower())
        self.secret_of(self.ctl('host', 'secret', fqdn))
        self.ctl('host', 'del', fqdn)
        self.ctl('zone', 'del', ZONE)
        self.assertEqual(self.state(), ({}, {}, {}))


class TestPurgeNames(CtlTestCase):
    """The names each change purges, seen by a stand-in control socket."""

    CONTROL_SOCKET = 'fake'

    def purged(self, *args):
        r = self.ctl(*args)
        self.assertNotIn('warning', r.stderr.lower(), r.stderr)
        got = self.fake.take()
        for c in got:
            self.assertRegex(c, r'^(PURGE \S+|REDISCOVER)$')
        return sorted(got)

    def test_purge_names(self):
        fqdn = 'h.' + ZONE
        # A zone added or removed also makes pdns re-read its zone list.
        zone_change = ['PURGE ' + ZONE + '$', 'REDISCOVER']
        self.assertEqual(self.purged(*add_zone_args()), zone_change)
        # One policy for a changed host (updater/purge.h): the host, as
        # "FQDN$" (it and every name below) when it is or was a wildcard or
        # is added or deleted, and the apex (its serial).
        host = sorted(['PURGE ' + fqdn, 'PURGE ' + ZONE])
        subtree = sorted(['PURGE ' + fqdn + '$', 'PURGE ' + ZONE])
        self.assertEqual(self.purged('host', 'add', fqdn), subtree)
        self.assertEqual(self.purged('host', 'set', fqdn, '--ip',
                                     '192.0.2.1'), host)
        # a new secret changes no answer: nothing to purge
        self.assertEqual(self.purged('host', 'secret', fqdn), [])
        self.assertEqual(self.purged('host', 'set', fqdn, '--wildcard',
                                     'on'), subtree)
        self.assertEqual(self.purged('host', 'set', fqdn, '--wildcard',
                                     'off'), subtree)
        self.assertEqual(self.purged('host', 'block', fqdn), host)
        self.assertEqual(self.purged('host', 'del', fqdn), subtree)
        self.assertEqual(self.purged('zone', 'del', ZONE), zone_change)
        # Nothing is purged for reads or for failures.
        self.ctl('host', 'list')
        self.ctl('host', 'del', fqdn, status=1)
        self.assertEqual(self.fake.take(), [])

    def test_purge_names_accounts(self):
        """Owners, comments, users, tokens and a zone's visibility change
        no answer: nothing is purged; a zone's DNS settings purge the zone;
        a user deleted with hosts purges them."""
        fqdn = 'h.' + ZONE
        self.purged(*add_zone_args())
        self.assertEqual(self.purged('user', 'add', 'alice'), [])
        self.purged('host', 'add', fqdn)
        for args in (['host', 'set', fqdn, '--owner', 'alice'],
                     ['host', 'set', fqdn, '--comment', 'c'],
                     ['user', 'set', 'alice', '--admin', 'on'],
                     ['user', 'token', 'add', 'alice'],
                     ['zone', 'set', ZONE, '--visibility', 'admin']):
            with self.subTest(args=args):
                self.assertEqual(self.purged(*args), [])
        self.assertEqual(self.purged('zone', 'set', ZONE, '--ttl', '99'),
                         ['PURGE ' + ZONE + '$'])
        self.assertEqual(self.purged('user', 'del', 'alice', '--force'),
                         sorted(['PURGE ' + fqdn + '$', 'PURGE ' + ZONE]))


def add_zone_args(zone=ZONE):
    return ['zone', 'add', zone, '--ns', 'ns1.example.org', '--hostmaster',
            'hostmaster@example.org']


if __name__ == '__main__':
    unittest.main(verbosity=2)
