"""Faults (issue 6): nothing acknowledged is lost, and every daemon fails
cleanly.

- kill -9 of ddns-updater in the middle of a sustained update load (many
  hosts, several keep-alive connections): after a restart every update that
  was answered `good` is in the store and in DNS, and the store passes an
  integrity check (mdb_stat, and a full decode with `ddnsctl host list
  --json`, `zone list --json` and `export`); two rounds of kill/restart;
- kill -9 of ddns-backend (unix connector) under query load: pdns answers
  SERVFAIL while it is away, at most once per pdns connection after it is
  back, then answers again; the backend in pipe mode never exits on bad
  input (nor on an over-long request line);
- the store full (a 1 MiB [store] map_size filled by bench-seed): updates
  answer `911`, nothing stored is damaged, and raising map_size in the
  config and restarting the updater recovers without data loss;
- a read-only store (a read-only bind mount in a private mount namespace)
  or a missing store directory at start: a clear error and a non-zero exit
  of ddns-updater, ddns-backend and ddnsctl.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_faults.py -v
The long version of the kill -9 test: DDNS_FAULT_ROUNDS=50 (default 2).
"""

import base64
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import ddnstest
from ddnstest import ZONE, Service, wait_for

SECRET = 'benchsecret'   # bench-seed's credential for every host
LOAD_HOSTS = 400         # hosts under the kill -9 load
LOAD_THREADS = 8         # keep-alive connections sending updates
KILL_AFTER = 1500        # `good` replies before the kill
# Kill/restart rounds; the long version: DDNS_FAULT_ROUNDS=50.
ROUNDS = int(os.environ.get('DDNS_FAULT_ROUNDS', '2'))


def bench_seed():
    path = os.path.join(ddnstest.build_dir(), 'test', 'bench', 'bench-seed')
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest('bench-seed is not built')
    return path


def seed(store, count, map_size=None):
    """bench-seed COUNT hosts h0..h<COUNT-1>.ZONE into STORE; True if they
    fit."""
    argv = [bench_seed(), '--secret', SECRET]
    if map_size:
        argv += ['--map-size', str(map_size)]
    r = subprocess.run(argv + [store, ZONE, str(count)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60, env=ddnstest.clean_env())
    return r.returncode == 0


# ---- a small DNS client (UDP, A queries), for load --------------------------

def dns_query(port, name, qid, timeout=2):
    """(rcode, [A addresses]) of NAME A from 127.0.0.1:PORT; ('TIMEOUT', [])
    when nothing came back."""
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    q += b'\0' + struct.pack('>HH', 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, ('127.0.0.1', port))
        while True:
            data = s.recv(4096)
            if struct.unpack('>H', data[:2])[0] == qid:
                break
    except socket.timeout:
        return 'TIMEOUT', []
    finally:
        s.close()
    rcode = {0: 'NOERROR', 2: 'SERVFAIL', 3: 'NXDOMAIN',
             5: 'REFUSED'}.get(data[3] & 15, str(data[3] & 15))
    an = struct.unpack('>H', data[6:8])[0]
    off = _skip_name(data, 12) + 4
    addrs = []
    for _ in range(an):
        off = _skip_name(data, off)
        rtype, _, _, rdlen = struct.unpack('>HHIH', data[off:off + 10])
        off += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(data[off:off + 4]))
        off += rdlen
    return rcode, addrs


def _skip_name(data, off):
    while True:
        n = data[off]
        if n == 0:
            return off + 1
        if n & 0xc0 == 0xc0:
            return off + 2
        off += n + 1


# ---- helpers --------------------------------------------------------------

def start_seeded(count, **kw):
    """A Service whose zone holds COUNT bench-seed hosts (secret SECRET)
    before the daemons start."""
    svc = Service(**kw)
    try:
        svc.prepare()
        if not seed(os.path.join(svc.dir, 'store'), count):
            raise AssertionError('bench-seed of %d hosts failed' % count)
        if svc.want_backend:
            svc.start_backend()
        svc.start_pdns()
        svc.start_updater()
    except BaseException:
        svc.failed = True
        svc.stop(dump=True)
        raise
    return svc


def hosts_by_name(svc):
    out = json.loads(svc.ctl('host', 'list', '--json').stdout)
    if isinstance(out, dict):
        out = out.get('hosts', [])
    return {h['fqdn'].rstrip('.'): h for h in out}


def integrity(test, svc, count):
    """mdb_stat reads every database, ddnsctl lists and exports (decodes)
    every record, and the zone holds COUNT hosts."""
    store = os.path.join(svc.dir, 'store')
    if ddnstest.tool('mdb_stat'):
        r = subprocess.run(['mdb_stat', '-a', '-r', store],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30, env=ddnstest.clean_env())
        test.assertEqual(r.returncode, 0, r.stdout)
        test.assertIn('Status of hosts', r.stdout)
    zones = json.loads(svc.ctl('zone', 'list', '--json').stdout)
    if isinstance(zones, dict):
        zones = zones.get('zones', [])
    test.assertEqual([z['hosts'] for z in zones
                      if z['name'].rstrip('.') == ZONE], [count])
    hosts = hosts_by_name(svc)
    test.assertEqual(len(hosts), count)
    # `ddnsctl export` decodes every record of every database.
    r = svc.ctl('export', check=False)
    if r.returncode != 2:  # 2: a ddnsctl without export
        test.assertEqual(r.returncode, 0, r.stderr)
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        test.assertEqual(sum('host' in x for x in recs), count)
    return hosts


class Load:
    """Updates of hosts h0..h<N-1> from THREADS keep-alive connections, each
    thread owning the hosts i with i % THREADS == its number (so the
    requests of one host are sequential).  Records per host the last
    address answered `good` and the address of a request left without a
    reply."""

    def __init__(self, port, n_hosts, threads, counter):
        self.port = port
        self.n = n_hosts
        self.threads = threads
        self.lock = threading.Lock()
        self.acked = {}      # fqdn -> last address answered good
        self.inflight = {}   # fqdn -> address sent, no reply
        self.goods = 0
        self.other = []      # replies other than good
        self.counter = counter  # itertools.count shared by the rounds
        self.stop = threading.Event()
        self.workers = [threading.Thread(target=self._run, args=(t,),
                                         daemon=True)
                        for t in range(threads)]

    def start(self):
        for w in self.workers:
            w.start()

    def join(self):
        self.stop.set()
        for w in self.workers:
            w.join(timeout=20)

    def _next_ip(self):
        c = next(self.counter)
        c %= 1 << 17
        return '198.%d.%d.%d' % (18 + (c >> 16), c >> 8 & 255, c & 255)

    def _run(self, t):
        mine = [i for i in range(self.n) if i % self.threads == t]
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            for i in itertools.cycle(mine):
                if self.stop.is_set():
                    return
                fqdn = 'h%d.%s' % (i, ZONE)
                ip = self._next_ip()
                auth = base64.b64encode(('%s:%s' % (fqdn, SECRET)).encode())
                with self.lock:
                    self.inflight[fqdn] = ip
                conn.request('GET', '/nic/update?hostname=%s&myip=%s'
                             % (fqdn, ip),
                             headers={'Authorization':
                                      'Basic ' + auth.decode()})
                resp = conn.getresponse()
                body = resp.read().decode().strip()
                with self.lock:
                    del self.inflight[fqdn]
                    if body == 'good ' + ip:
                        self.acked[fqdn] = ip
                        self.goods += 1
                    else:
                        self.other.append(body)
        except (OSError, http.client.HTTPException):
            return  # the updater was killed
        finally:
            conn.close()


class KillUpdater(unittest.TestCase):
    def test_kill_9_under_load(self):
        svc = start_seeded(LOAD_HOSTS, ipv6=False)
        ok = False
        try:
            self._run(svc)
            ok = True
        finally:
            svc.failed = not ok
            problems = svc.stop(dump=not ok)
            self.assertEqual(problems, [])

    def _run(self, svc):
        self.ips = itertools.count(1)
        for rnd in range(ROUNDS):
            self._round(svc, rnd)
        # And the restarted updater takes updates again.
        r = svc.update('h0.' + ZONE, SECRET, myip='203.0.113.1')
        self.assertEqual(r.body.strip(), 'good 203.0.113.1')

    def _round(self, svc, rnd):
        initial = {f: h['ipv4'] for f, h in hosts_by_name(svc).items()}
        load = Load(svc.http_port, LOAD_HOSTS, LOAD_THREADS, self.ips)
        load.start()
        wait_for(lambda: load.goods >= KILL_AFTER or load.other,
                 '%d good replies' % KILL_AFTER, timeout=60)
        self.assertEqual(load.other, [])
        p = svc.procs.pop('ddns-updater')
        os.kill(p.pid, signal.SIGKILL)
        self.assertEqual(p.popen.wait(timeout=10), -signal.SIGKILL)
        load.join()
        with load.lock:
            acked, inflight = dict(load.acked), dict(load.inflight)
        print('\nround %d: kill -9 after %d good replies (%d hosts, %d in '
              'flight)' % (rnd + 1, load.goods, len(acked), len(inflight)))
        svc.start_updater()
        hosts = integrity(self, svc, LOAD_HOSTS)
        lost = []
        for i in range(LOAD_HOSTS):
            fqdn = 'h%d.%s' % (i, ZONE)
            allowed = {acked.get(fqdn, initial[fqdn])}
            if fqdn in inflight:
                allowed.add(inflight[fqdn])
            stored = hosts[fqdn]['ipv4']
            rcode, dns = dns_query(svc.dns_port, fqdn, i + 1)
            if stored not in allowed or rcode != 'NOERROR' or \
                    len(dns) != 1 or dns[0] not in allowed:
                lost.append((fqdn, sorted(allowed), stored, rcode, dns))
        self.assertEqual(lost, [], 'acknowledged updates lost')


class KillBackend(unittest.TestCase):
    """pdns with caches off, so that every query reaches the backend."""

    NO_CACHE = {'cache-ttl': '0', 'query-cache-ttl': '0',
                'negquery-cache-ttl': '0', 'distributor-threads': '2'}

    def test_kill_9_under_query_load(self):
        svc = start_seeded(20, ipv6=False, pdns_extra=self.NO_CACHE)
        ok = False
        try:
            self._run(svc)
            ok = True
        finally:
            svc.failed = not ok
            self.assertEqual(svc.stop(dump=not ok), [])

    def _query_loop(self, svc, stop, out):
        qid = 0
        while not stop.is_set():
            qid = (qid + 1) & 0xffff
            rc, _ = dns_query(svc.dns_port, 'h%d.%s' % (qid % 20, ZONE), qid,
                              timeout=3)
            out.append((time.monotonic(), rc))

    def _run(self, svc):
        stop, seen = threading.Event(), []
        loop = threading.Thread(target=self._query_loop,
                                args=(svc, stop, seen), daemon=True)
        loop.start()
        try:
            wait_for(lambda: len(seen) >= 50, '50 answers before the kill')
            self.assertEqual({rc for _, rc in seen}, {'NOERROR'})
            p = svc.procs.pop('ddns-backend')
            os.kill(p.pid, signal.SIGKILL)
            p.popen.wait(timeout=10)
            n = len(seen)
            wait_for(lambda: any(rc != 'NOERROR' for _, rc in seen[n:]),
                     'a failed answer while the backend is away')
            away = {rc for _, rc in seen[n:]}
            svc.start_backend()
            back = time.monotonic()
            m = len(seen)
            wait_for(lambda: len(seen) >= m + 100,
                     '100 answers after the restart', timeout=30)
        finally:
            stop.set()
            loop.join(timeout=10)
        after = [rc for t, rc in seen if t > back]
        bad = [rc for rc in after if rc != 'NOERROR']
        first_ok = after.index('NOERROR') if 'NOERROR' in after else None
        print('\nbackend away: %s; after its restart: %d answers, %d not '
              'NOERROR (%s), the first NOERROR at #%s'
              % (sorted(away), len(after), len(bad), sorted(set(bad)),
                 first_ok))
        self.assertLessEqual(away, {'SERVFAIL', 'TIMEOUT'})
        # One failure per pdns backend connection (one per distributor
        # thread), then answers again and only answers.
        self.assertLessEqual(len(bad), int(self.NO_CACHE[
            'distributor-threads']))
        self.assertEqual(after[-50:], ['NOERROR'] * 50)

    def test_restart_between_queries(self):
        """Killed and back before the next query: each pdns connection to
        the dead backend fails its next query once (SERVFAIL), then pdns
        reconnects."""
        svc = start_seeded(20, ipv6=False, pdns_extra=self.NO_CACHE)
        ok = False
        try:
            ask = lambda i: dns_query(svc.dns_port, 'h%d.%s' % (i % 20, ZONE),
                                      i + 1, timeout=3)[0]
            self.assertEqual({ask(i) for i in range(50)}, {'NOERROR'})
            p = svc.procs.pop('ddns-backend')
            os.kill(p.pid, signal.SIGKILL)
            p.popen.wait(timeout=10)
            svc.start_backend()
            after = [ask(i) for i in range(100)]
            bad = [rc for rc in after if rc != 'NOERROR']
            print('\nbackend restarted between queries: %d of 100 answers '
                  'not NOERROR (%s)' % (len(bad), sorted(set(bad))))
            self.assertLessEqual(set(bad), {'SERVFAIL'})
            self.assertLessEqual(len(bad), int(self.NO_CACHE[
                'distributor-threads']))
            self.assertEqual(after[-90:], ['NOERROR'] * 90)
            ok = True
        finally:
            svc.failed = not ok
            self.assertEqual(svc.stop(dump=not ok), [])


class PipeBadInput(unittest.TestCase):
    """ddns-backend --pipe, fed directly: every bad line gets an answer
    ({"result":false}), the process stays up, a good request afterwards is
    answered, and end of input is a clean exit."""

    def test_pipe_never_exits(self):
        d = tempfile.mkdtemp(prefix='ddns-test-')
        try:
            self._run(d)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def _run(self, d):
        conf = os.path.join(d, 'ddns.conf')
        ddnstest.write_file(conf, ddnstest.ddns_conf(
            d, ['127.0.0.1:1'], os.path.join(d, 'b.sock'),
            os.path.join(d, 'ctl')))
        subprocess.run([ddnstest.binary('ddnsctl'), '-c', conf, 'zone', 'add',
                        ZONE, '--ns', 'ns1.example.org', '--hostmaster',
                        'hostmaster@example.org'], check=True,
                       stdout=subprocess.DEVNULL, env=ddnstest.clean_env())
        bad = [b'', b'not json', b'{', b'[]', b'null', b'"x"', b'{"method":1}',
               b'{"method":"lookup"}', b'{"method":"lookup","parameters":7}',
               b'{"method":"lookup","parameters":{"qname":5,"qtype":[]}}',
               b'\xff\xfe\x00\x01binary', b'{"a":"\x00"}',
               b'{"method":"' + b'x' * 70000 + b'"}',
               b'[' * 10000 + b']' * 10000,
               b'{"method":"lookup","parameters":{"qname":"' + b'a.' * 200
               + b'","qtype":"ANY"}}']
        good = (b'{"method":"lookup","parameters":{"qname":"' + ZONE.encode()
                + b'.","qtype":"SOA","zone-id":-1}}')
        p = subprocess.Popen([ddnstest.binary('ddns-backend'), '-c', conf,
                              '--pipe'], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=ddnstest.clean_env())
        try:
            out, err = p.communicate(b'\n'.join(bad + [good]) + b'\n',
                                     timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
        lines = out.decode('utf-8', 'replace').splitlines()
        self.assertEqual(p.returncode, 0, err.decode()[-2000:])
        self.assertEqual(len(lines), len(bad) + 1, out[:2000])
        for line in lines[:-1]:
            self.assertEqual(json.loads(line).get('result'), False, line)
        self.assertIn('SOA', lines[-1])
        self.assertEqual(ddnstest.sanitizer_reports('ddns-backend',
                                                    err.decode()), [])


class StoreFull(unittest.TestCase):
    MAP = 1 << 20   # the smallest map_size the config takes

    def test_full_then_raised(self):
        svc = Service(ipv6=False, conf_extra={'store': {
            'map_size': str(self.MAP)}})
        ok = False
        try:
            svc.prepare()
            count = self._fill(os.path.join(svc.dir, 'store'))
            svc.start_backend()
            svc.start_pdns()
            svc.start_updater()
            self._run(svc, count)
            ok = True
        finally:
            svc.failed = not ok
            self.assertEqual(svc.stop(dump=not ok), [])

    def _fill(self, store):
        """Seed the largest count of hosts that fits (a binary search on
        copies of the fresh store).  Returns it."""
        base = store + '.empty'
        shutil.copytree(store, base)
        lo, hi = 0, 20000
        while hi - lo > 1:
            mid = (lo + hi) // 2
            shutil.rmtree(store)
            shutil.copytree(base, store)
            if seed(store, mid, self.MAP):
                lo = mid
            else:
                hi = mid
        shutil.rmtree(store)
        shutil.copytree(base, store)
        shutil.rmtree(base)
        self.assertTrue(seed(store, lo, self.MAP))
        return lo

    def _run(self, svc, count):
        before = hosts_by_name(svc)
        self.assertEqual(len(before), count)
        # Updates until the store refuses them: 911, nothing else but good.
        acked, full = {}, 0
        for i in range(200):
            fqdn = 'h%d.%s' % (i, ZONE)
            ip = '203.0.113.%d' % (i % 250 + 1)
            r = svc.update(fqdn, SECRET, myip=ip)
            if r.body.strip() == '911':
                full += 1
                if full >= 5:
                    break
                continue
            self.assertEqual((r.status, r.body.strip()), (200, 'good ' + ip))
            acked[fqdn] = ip
        print('\nstore of 1 MiB: %d hosts seeded, %d updates good, then 911'
              % (count, len(acked)))
        self.assertEqual(full, 5, 'the store never filled up')
        self.assertIn('store is full (raise [store] map_size)',
                      svc.procs['ddns-updater'].output())
        want = {f: acked.get(f, h['ipv4']) for f, h in before.items()}
        got = {f: h['ipv4'] for f, h in integrity(self, svc, count).items()}
        self.assertEqual(got, want)
        # Raise map_size, restart the updater: updates work, nothing lost.
        text = open(svc.conf).read().replace(
            'map_size = %d' % self.MAP, 'map_size = 4M')
        self.assertIn('map_size = 4M', text)
        ddnstest.write_file(svc.conf, text)
        self.assertEqual(svc.stop_one('ddns-updater'), 0)
        svc.start_updater()
        fqdn = 'h%d.%s' % (count - 1, ZONE)
        r = svc.update(fqdn, SECRET, myip='198.51.100.99')
        self.assertEqual(r.body.strip(), 'good 198.51.100.99')
        want[fqdn] = '198.51.100.99'
        got = {f: h['ipv4'] for f, h in integrity(self, svc, count).items()}
        self.assertEqual(got, want)
        self.assertEqual(dns_query(svc.dns_port, fqdn, 7),
                         ('NOERROR', ['198.51.100.99']))
        self.assertEqual(dns_query(svc.dns_port, 'h0.' + ZONE, 8),
                         ('NOERROR', [want['h0.' + ZONE]]))


class StartFailures(unittest.TestCase):
    """A missing or read-only store at start: each program exits non-zero
    with a message naming the problem."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ddns-test-')
        self.conf = os.path.join(self.dir, 'ddns.conf')

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, store):
        text = ddnstest.ddns_conf(
            self.dir, ['127.0.0.1:%d' % ddnstest.free_port()],
            os.path.join(self.dir, 'b.sock'), os.path.join(self.dir, 'ctl'))
        text = text.replace('path = ' + os.path.join(self.dir, 'store'),
                            'path = ' + store)
        ddnstest.write_file(self.conf, text)

    def run_prog(self, argv, wrap=()):
        """Run ARGV (under WRAP); its (exit status, stderr text).  A program
        that does not exit within 10 s is killed by its PID and fails."""
        p = subprocess.Popen(list(wrap) + argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=ddnstest.clean_env())
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.communicate()
            self.fail('%s kept running with a bad store' % argv[0])
        text = (out + err).decode('utf-8', 'replace')
        self.assertEqual(ddnstest.sanitizer_reports(argv[0], text), [])
        return p.returncode, text

    def programs(self):
        return [
            ('ddns-updater', [ddnstest.binary('ddns-updater'), '-c',
                              self.conf]),
            ('ddns-backend', [ddnstest.binary('ddns-backend'), '-c',
                              self.conf]),
            ('ddnsctl host list', [ddnstest.binary('ddnsctl'), '-c',
                                   self.conf, 'host', 'list']),
            ('ddnsctl host add', [ddnstest.binary('ddnsctl'), '-c',
                                  self.conf, 'host', 'add', 'x.' + ZONE]),
        ]

    def test_missing_store_directory(self):
        store = os.path.join(self.dir, 'no', 'such', 'store')
        self.write_conf(store)
        for name, argv in self.programs():
            with self.subTest(name):
                rc, text = self.run_prog(argv)
                self.assertNotEqual(rc, 0, text)
                self.assertIn(os.path.join(self.dir, 'no'), text)
                self.assertTrue('No such file' in text or
                                'no ddns store' in text, text)

    def test_read_only_store(self):
        unshare = ddnstest.tool('unshare')
        if os.geteuid() != 0 or not unshare:
            raise unittest.SkipTest('needs root and unshare(1)')
        store = os.path.join(self.dir, 'store')
        self.write_conf(store)
        subprocess.run([ddnstest.binary('ddnsctl'), '-c', self.conf, 'zone',
                        'add', ZONE, '--ns', 'ns1.example.org',
                        '--hostmaster', 'hostmaster@example.org'],
                       check=True, stdout=subprocess.DEVNULL,
                       env=ddnstest.clean_env())
        # A read-only bind mount of the store, in a mount namespace of its
        # own that ends with the program.
        wrap = [unshare, '-m', '--propagation', 'private', 'sh', '-c',
                'mount --bind -o ro "$0" "$0" && exec "$@"', store]
        probe = subprocess.run(wrap + ['true'], stderr=subprocess.PIPE)
        if probe.returncode != 0:
            raise unittest.SkipTest('cannot bind-mount: %s'
                                    % probe.stderr.decode().strip())
        for name, argv in self.programs():
            with self.subTest(name):
                rc, text = self.run_prog(argv, wrap)
                self.assertNotEqual(rc, 0, text)
                self.assertIn(store, text)
                self.assertIn('Read-only file system', text)


if __name__ == '__main__':
    ddnstest.main()
