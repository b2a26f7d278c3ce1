#!/usr/bin/python3
"""test_data.py -- operating the store (issue 9): `ddnsctl migrate` from a
real schema-1 store, `export` / `import` (JSON lines round trip, bulk CSV),
`backup` while the updater serves updates, and `restore` (refused while a
daemon has the store open, atomic otherwise).

The schema-1 store comes from data/store-v1.dump: `mdb_dump -a` of a store
that ddnsctl and ddns-updater of schema 1 wrote (zones, users, a token, a
comment, hosts with A, AAAA, both and none, wildcard, blocked, a host with
an auth and a client fault); data/store-v1.json holds what that store
listed and the secrets of its hosts (test data, nothing else)."""

import json
import os
import subprocess
import threading
import unittest

import ddnstest

HERE = os.path.dirname(os.path.abspath(__file__))
DUMP = os.path.join(HERE, 'data', 'store-v1.dump')
EXPECT = os.path.join(HERE, 'data', 'store-v1.json')


def need_lmdb_utils():
    if not ddnstest.tool('mdb_load'):
        raise unittest.SkipTest('mdb_load is not installed (lmdb-utils)')


def run(argv, timeout=30):
    return subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=ddnstest.clean_env(), stdin=subprocess.DEVNULL)


def load_v1(svc):
    """Make SVC's store the schema-1 store of the dump."""
    store = os.path.join(svc.dir, 'store')
    os.mkdir(store, 0o700)
    r = run([ddnstest.tool('mdb_load'), '-f', DUMP, store])
    if r.returncode != 0:
        raise AssertionError('mdb_load: %s' % r.stderr)
    return store


def same(test, got, want):
    """GOT lists the objects of WANT with the same values (fields added to
    a listing later are not compared)."""
    test.assertEqual(len(got), len(want))
    for g, w in zip(got, want):
        test.assertEqual({k: g.get(k) for k in w}, w)


def hosts_json(svc):
    return json.loads(svc.ctl('host', 'list', '--json').stdout)


class MigrateTest(unittest.TestCase):
    """A v1 store is refused by every program until `ddnsctl migrate`,
    which keeps every host, user, token and counter, and the daemons then
    serve it."""

    @classmethod
    def setUpClass(cls):
        need_lmdb_utils()
        with open(EXPECT) as f:
            cls.expect = json.load(f)
        cls.svc = ddnstest.Service(ipv6=False, zones=())
        cls.svc.prepare()
        cls.svc.zones = [ddnstest.ZONE]  # in the dump; pdns waits for it
        cls.store = load_v1(cls.svc)

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def test_1_refused_until_migrated(self):
        for argv in ([ddnstest.binary('ddns-updater'), '-c', self.svc.conf],
                     [ddnstest.binary('ddns-backend'), '-c', self.svc.conf],
                     [ddnstest.binary('ddnsctl'), '-c', self.svc.conf,
                      'host', 'list']):
            r = run(argv)
            self.assertNotEqual(r.returncode, 0, argv)
            self.assertIn("ddnsctl migrate", r.stderr, argv)
            self.assertIn('schema version 1', r.stderr, argv)
        # nothing was written: still version 1
        r = self.svc.ctl('migrate')
        self.assertIn('from schema version 1 to 2 (5 hosts', r.stdout)

    def test_2_content_kept(self):
        same(self, hosts_json(self.svc), self.expect['hosts'])
        same(self, json.loads(self.svc.ctl('zone', 'list', '--json').stdout),
             self.expect['zones'])
        same(self, json.loads(self.svc.ctl('user', 'list', '--json').stdout),
             self.expect['users'])
        toks = json.loads(self.svc.ctl('user', 'token', 'list', 'alice',
                                       '--json').stdout)
        self.assertEqual(len(toks), 1)
        r = self.svc.ctl('migrate')
        self.assertIn('already; nothing to do', r.stdout)

    def test_3_daemons_serve_it(self):
        self.svc.start_backend()
        self.svc.start_pdns()
        self.svc.start_updater()
        sec = self.expect['secrets']
        r = self.svc.update('home.dyn.example.org',
                            sec['home.dyn.example.org'], myip='192.0.2.77')
        self.assertEqual(r.body.strip(), 'good 192.0.2.77')
        r = self.svc.update('home.dyn.example.org', 'wrong',
                            myip='192.0.2.78')
        self.assertEqual(r.body.strip(), 'badauth')
        self.assertEqual(self.svc.dig('home.dyn.example.org').data('A'),
                         ['192.0.2.77'])
        self.assertEqual(self.svc.dig('x.both.dyn.example.org',
                                      'AAAA').data('AAAA'), ['2001:db8::2'])
        self.assertEqual(self.svc.dig('blocked.dyn.example.org').data('A'),
                         [])
        h = self.svc.host_info('home.dyn.example.org')
        self.assertEqual(h['auth_faults'], 2)  # one from v1, one now
        self.assertEqual(h['client_faults'], 1)
        self.assertEqual(h['comment'], 'home router')


class ExportImportTest(unittest.TestCase):
    """export -> import into an empty store -> export: the same bytes; the
    imported store serves the old secrets; a CSV adds hosts at once."""

    @classmethod
    def setUpClass(cls):
        need_lmdb_utils()
        with open(EXPECT) as f:
            cls.expect = json.load(f)
        cls.src = ddnstest.Service(ipv6=False, zones=(), updater=False,
                                   backend=False)
        cls.src.prepare()
        load_v1(cls.src)
        cls.src.ctl('migrate')
        cls.dst = ddnstest.Service(ipv6=False, zones=())

    @classmethod
    def tearDownClass(cls):
        cls.src.stop()
        cls.dst.stop()

    def test_round_trip(self):
        one = os.path.join(self.src.dir, 'one.jsonl')
        two = os.path.join(self.src.dir, 'two.jsonl')
        self.src.ctl('export', one)
        self.dst.prepare()
        self.dst.zones = [ddnstest.ZONE]  # imported; pdns waits for it
        r = self.dst.ctl('import', one)
        self.assertIn('imported 2 zones, 2 users, 1 tokens, 5 hosts',
                      r.stdout)
        self.dst.ctl('export', two)
        with open(one, 'rb') as a, open(two, 'rb') as b:
            self.assertEqual(a.read(), b.read())
        with open(one) as f:
            text = f.read()
        for secret in self.expect['secrets'].values():
            self.assertNotIn(secret, text)
        self.assertNotIn(self.expect['token'], text)
        # a second import is refused and changes nothing
        r = self.dst.ctl('import', one, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('empty store', r.stderr)
        self.assertEqual(self.dst.ctl('export').stdout, text)

        # the imported store serves the old secrets; a CSV adds hosts
        self.dst.start_backend()
        self.dst.start_pdns()
        self.dst.start_updater()
        r = self.dst.update('v6.dyn.example.org',
                            self.expect['secrets']['v6.dyn.example.org'],
                            myip='2001:db8::7')
        self.assertEqual(r.body.strip(), 'good 2001:db8::7')
        serial = self.dst.soa_serial(axfr=True)
        csv = os.path.join(self.dst.dir, 'hosts.csv')
        with open(csv, 'w') as f:
            f.write('fqdn,ipv4,ipv6\nNew1.dyn.example.org.,192.0.2.31,\n'
                    '# a comment\n\nnew2.dyn.example.org,,2001:db8::32\n')
        r = self.dst.ctl('import', csv)
        lines = r.stdout.splitlines()
        self.assertIn('imported 2 hosts', lines[0])
        secrets = dict(l.split(',') for l in lines[1:])
        self.assertEqual(sorted(secrets), ['new1.dyn.example.org',
                                           'new2.dyn.example.org'])
        self.assertGreater(self.dst.soa_serial(axfr=True), serial)
        self.assertEqual(self.dst.dig('new1.dyn.example.org').data('A'),
                         ['192.0.2.31'])
        r = self.dst.update('new2.dyn.example.org',
                            secrets['new2.dyn.example.org'],
                            myip='192.0.2.33')
        self.assertEqual(r.body.strip(), 'good 192.0.2.33')
        # all or nothing: one bad line, no host added
        with open(csv, 'w') as f:
            f.write('new3.dyn.example.org,192.0.2.34\n'
                    'new4.nozone.example,192.0.2.35\n')
        r = self.dst.ctl('import', csv, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('new4.nozone.example', r.stderr)
        self.assertIsNone(self.dst.host_info('new3.dyn.example.org'))


class BackupRestoreTest(unittest.TestCase):
    """backup while updates are served; restore refused while a daemon has
    the store open, done atomically once they are stopped."""

    @classmethod
    def setUpClass(cls):
        cls.svc = ddnstest.Service(ipv6=False).start()
        cls.hosts = [cls.svc.new_host() for _ in range(5)]

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()

    def updates(self, stop, results):
        i = 0
        while not stop.is_set():
            fqdn, secret = self.hosts[i % len(self.hosts)]
            r = self.svc.update(fqdn, secret,
                                myip='198.51.100.%d' % (i % 250 + 1))
            results.append(r.body.strip().split(' ')[0])
            i += 1

    def test_backup_under_load_then_restore(self):
        stop, results = threading.Event(), []
        t = threading.Thread(target=self.updates, args=(stop, results))
        t.start()
        try:
            files = []
            for n in range(3):
                ddnstest.wait_for(lambda: len(results) > 5 * (n + 1),
                                  'updates to be answered')
                f = os.path.join(self.svc.dir, 'backup-%d.mdb' % n)
                r = self.svc.ctl('backup', f)
                self.assertIn('compacted', r.stdout)
                files.append(f)
        finally:
            stop.set()
            t.join()
        self.assertTrue(results)
        self.assertEqual(set(results), {'good'}, results)

        # the state the last backup holds, then a change after it
        fqdn, secret = self.hosts[0]
        self.svc.set_ip(fqdn, '203.0.113.99')
        data = os.path.join(self.svc.dir, 'store', 'data.mdb')
        inode = os.stat(data).st_ino
        r = self.svc.ctl('restore', files[-1], check=False)
        self.assertEqual(r.returncode, 1)
        pids = {str(self.svc.procs[n].pid) for n in ('ddns-updater',
                                                      'ddns-backend')}
        self.assertTrue(any('process %s' % p in r.stderr for p in pids),
                        r.stderr)
        self.assertEqual(os.stat(data).st_ino, inode)
        self.assertEqual(self.svc.host_info(fqdn)['ipv4'], '203.0.113.99')

        self.assertEqual(self.svc.stop_one('ddns-updater'), 0)
        self.assertEqual(self.svc.stop_one('ddns-backend'), 0)
        r = self.svc.ctl('restore', files[-1])
        self.assertIn('restored from', r.stdout)
        self.assertNotEqual(os.stat(data).st_ino, inode)
        self.assertNotEqual(self.svc.host_info(fqdn)['ipv4'],
                            '203.0.113.99')
        self.svc.start_backend()
        self.svc.start_updater()
        r = self.svc.update(fqdn, secret, myip='192.0.2.200')
        self.assertEqual(r.body.strip(), 'good 192.0.2.200')
        # not a store: refused, nothing changed
        junk = os.path.join(self.svc.dir, 'junk')
        with open(junk, 'wb') as f:
            f.write(b'\0' * 8192)
        self.svc.stop_one('ddns-updater')
        self.svc.stop_one('ddns-backend')
        r = self.svc.ctl('restore', junk, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('not a ddns store backup', r.stderr)
        self.assertEqual(self.svc.host_info(fqdn)['ipv4'], '192.0.2.200')


if __name__ == '__main__':
    ddnstest.main()
