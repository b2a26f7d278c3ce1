#!/usr/bin/python3
"""scale.py -- benchmark 4 (issue 5): 10,000 versus 1,000,000 hosts.

    /usr/bin/python3 test/bench/scale.py [--build DIR] [--quick]
        [--sizes 10000,1000000] [--lookups N] [--rounds N] [--no-native]
        [--no-import] [--startups N]

For each size, a store is seeded with bench-seed --shuffle (hosts added in
a pseudo-random order, in transactions of 10,000, as a store filled over
time would be) and measured:

  - bytes on disk per host: data.mdb as written, the live pages (mdb_stat)
    and a compacted copy (mdb_copy -c); the peer is pdns's own LMDB backend
    holding the same records (pdnsutil load-zone), bytes per host too;
  - lookup latency: one ddns-backend per store on a unix socket, driven by
    bench-lookup (the exact request pdns sends, lookup ANY of a random
    existing host, one at a time, after a warm-up pass of the same length);
    the runs alternate between the sizes for ROUNDS rounds, medians;
  - the backend's RSS after the runs (VmRSS, of which RssAnon is its own
    memory and RssFile the store's pages it has mapped);
  - `ddnsctl import` of a bulk CSV (fqdn,ipv4,ipv6 in random order) of as
    many hosts into a store holding only the zone: wall time, and the
    bytes per host of the store it leaves (live pages);
  - ddns-updater start-up on the seeded store: from the process's start
    to its listening socket accepting, and to the first answered
    /nic/update (a `good` or `nochg`), medians of --startups runs that
    alternate between the sizes.

Targets: lookups and start-up flat within 20 % from 10k to 1M; under 200
bytes per host (random-order fill and after import).
--quick: sizes 10,000 and 100,000, fewer lookups (about 30 s).
Needs: a build (ddns-backend, test/bench/bench-seed, bench-lookup),
lmdb-utils (mdb_stat, mdb_copy); pdns-server and pdns-backend-lmdb for the
native peer.
"""

import argparse
import base64
import json
import random
import socket
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

LATENCY_TARGET = 1.20
BYTES_TARGET = 200


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', help='meson build dir (default $DDNS_BUILD_DIR '
                   'or ./build)')
    p.add_argument('--quick', action='store_true',
                   help='10k and 100k hosts, fewer lookups')
    p.add_argument('--sizes', help='comma list of host counts '
                   '(default 10000,1000000)')
    p.add_argument('--lookups', type=int, help='lookups per run '
                   '(default 200000, 50000 with --quick)')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--no-native', dest='native', action='store_false',
                   help='skip the pdns LMDB peer')
    p.add_argument('--no-import', dest='imports', action='store_false',
                   help='skip the ddnsctl import runs')
    p.add_argument('--startups', type=int, default=5,
                   help='updater start-ups per size (0: none)')
    p.add_argument('--json', help='also write the raw results here')
    p.add_argument('--keep', action='store_true')
    a = p.parse_args()
    if a.sizes:
        a.sizes = [int(x) for x in a.sizes.split(',') if x]
    else:
        a.sizes = [10000, 100000] if a.quick else [10000, 1000000]
    if a.lookups is None:
        a.lookups = 50000 if a.quick else 200000
    if len(a.sizes) < 2 or a.rounds < 1 or a.lookups < 100:
        p.error('need two sizes or more, --rounds >= 1, --lookups >= 100')
    return a


def run(argv, timeout, **kw):
    r = subprocess.run([str(x) for x in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout,
                       **kw)
    if r.returncode != 0:
        raise RuntimeError('%s failed (%d):\n%s' % (argv[0], r.returncode,
                                                   r.stdout))
    return r.stdout


# ---- bytes on disk ----------------------------------------------------------

def live_bytes(store):
    """Bytes of the pages in use in every database (mdb_stat -a), and the
    page size."""
    out = run([B.tool('mdb_stat'), '-e', '-a', store], 60)
    psize = int(re.search(r'Page size:\s+(\d+)', out).group(1))
    pages = 0
    for kind in ('Branch', 'Leaf', 'Overflow'):
        pages += sum(int(n) for n in re.findall(kind + r' pages:\s+(\d+)',
                                                out))
    return pages * psize, psize


def disk(store, work, n):
    """{file, live, compact} bytes per host of the store in STORE."""
    size = os.stat(os.path.join(store, 'data.mdb')).st_size
    live, _ = live_bytes(store)
    cdir = os.path.join(work, 'compact-%d' % n)
    os.makedirs(cdir, exist_ok=True)
    run([B.tool('mdb_copy'), '-c', store, cdir], 600)
    compact = os.stat(os.path.join(cdir, 'data.mdb')).st_size
    shutil.rmtree(cdir, ignore_errors=True)
    return {'file': size / n, 'live': live / n, 'compact': compact / n}


def native_bytes(work, zonefile, n):
    """Bytes per host of pdns's LMDB backend holding ZONEFILE."""
    d = os.path.join(work, 'native-%d' % n)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'pdns.conf'), 'w') as f:
        f.write('launch=lmdb\nlmdb-filename=%s\n' %
                os.path.join(d, 'pdns.lmdb'))
    t0 = time.monotonic()
    run([B.tool('pdnsutil'), '--config-dir=' + d, 'load-zone', B.ZONE,
         zonefile], 900)
    secs = time.monotonic() - t0
    total = sum(os.stat(os.path.join(d, f)).st_size for f in os.listdir(d)
                if f.startswith('pdns.lmdb') and not f.endswith('-lock'))
    shutil.rmtree(d, ignore_errors=True)
    return total / n, secs


# ---- ddnsctl import ----------------------------------------------------------

def write_csv(path, n):
    """A bulk file of N hosts h0..h<N-1> in a fixed random order, each with
    an A record, every tenth with an AAAA too (as bench-seed)."""
    order = list(range(n))
    random.Random(4).shuffle(order)
    with open(path, 'w') as f:
        f.write('fqdn,ipv4,ipv6\n')
        for i in order:
            v6 = ('2001:db8::%x:%x' % (i >> 16, i & 0xffff)
                  if i % 10 == 0 else '')
            f.write('h%d.%s,10.%d.%d.%d,%s\n' % (i, B.ZONE, i >> 16 & 255,
                                                i >> 8 & 255, i & 255, v6))


def import_run(bdir, work, n):
    """{secs, live, steps}: `ddnsctl import` of N hosts into a new store."""
    d = os.path.join(work, 'import-%d' % n)
    store = os.path.join(d, 'store')
    os.makedirs(d)
    conf = os.path.join(d, 'ddns.conf')
    with open(conf, 'w') as f:
        f.write('[store]\npath = %s\nmap_size = %d\n[log]\nlevel = warning\n'
                % (store, max(1 << 30, n * 2048)))
    csv = os.path.join(d, 'hosts.csv')
    write_csv(csv, n)
    ctl = os.path.join(bdir, 'updater/ddnsctl')
    run([ctl, '-c', conf, 'zone', 'add', B.ZONE, '--ns', 'ns1.example.org',
         '--hostmaster', 'hostmaster@example.org'], 60)
    t0 = time.monotonic()
    r = subprocess.run([ctl, '-c', conf, 'import', csv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True, timeout=1800)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError('ddnsctl import failed: %s' % r.stderr)
    live, _ = live_bytes(store)
    shutil.rmtree(d, ignore_errors=True)
    return {'secs': secs, 'live': live / n, 'steps': r.stderr.strip()}


# ---- ddns-updater start-up ----------------------------------------------------

def nic_update(port, fqdn, secret):
    """One GET /nic/update; the reply's first line of body, or None if the
    connection was refused."""
    auth = base64.b64encode(('%s:%s' % (fqdn, secret)).encode()).decode()
    req = ('GET /nic/update?hostname=%s&myip=10.0.0.1 HTTP/1.1\r\n'
           'Host: 127.0.0.1:%d\r\nAuthorization: Basic %s\r\n'
           'Connection: close\r\n\r\n' % (fqdn, port, auth)).encode()
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=5) as c:
            c.sendall(req)
            data = b''
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
    except ConnectionRefusedError:
        return None
    return data.split(b'\r\n\r\n', 1)[-1].decode().strip()


def accepting(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def startup_run(bdir, work, store, n):
    """{listen, answer} seconds from exec of ddns-updater on STORE to its
    socket accepting and to the first answered /nic/update."""
    port = B.free_port()
    conf = os.path.join(work, 'updater-%d.conf' % n)
    with open(conf, 'w') as f:
        f.write('[store]\npath = %s\n[updater]\nlisten = 127.0.0.1:%d\n'
                '[log]\nlevel = warning\n' % (store, port))
    t0 = time.monotonic()
    p = B.Proc('updater-%d' % n, [os.path.join(bdir, 'updater/ddns-updater'),
                                  '-c', conf], work)
    try:
        # a busy poll: the figure is a few milliseconds
        while not accepting(port):
            if not p.alive() or time.monotonic() - t0 > 30:
                raise RuntimeError('ddns-updater did not start; log: %s'
                                   % p.log)
        listen = time.monotonic() - t0
        reply = nic_update(port, 'h0.' + B.ZONE, 'benchsecret')
        answer = time.monotonic() - t0
        if not reply or reply.split()[0] not in ('good', 'nochg'):
            raise RuntimeError('updater answered %r' % reply)
    finally:
        p.stop()
    return {'listen': listen, 'answer': answer}


# ---- per size ---------------------------------------------------------------

class Size:
    def __init__(self, a, bdir, work, n):
        self.n = n
        self.store = os.path.join(work, 'store-%d' % n)
        self.sock = os.path.join(work, 'backend-%d.sock' % n)
        self.conf = os.path.join(work, 'ddns-%d.conf' % n)
        self.runs = []
        zonefile = os.path.join(work, 'zone-%d.txt' % n) if a.native else None
        argv = [os.path.join(bdir, 'test/bench/bench-seed'), '--shuffle',
                '--map-size', str(max(1 << 30, n * 2048))]
        if zonefile:
            argv += ['--zonefile', zonefile]
        t0 = time.monotonic()
        run(argv + [self.store, B.ZONE, n], 1800)
        self.seed_s = time.monotonic() - t0
        self.disk = disk(self.store, work, n)
        self.native = None
        if zonefile:
            self.native = native_bytes(work, zonefile, n)
            os.unlink(zonefile)
        with open(self.conf, 'w') as f:
            f.write('[store]\npath = %s\n[backend]\nlisten = unix:%s\n'
                    '[log]\nlevel = warning\n' % (self.store, self.sock))
        self.proc = None
        self.imp = import_run(bdir, work, n) if a.imports else None
        self.starts = []

    def start(self, bdir, work):
        self.proc = B.Proc('backend-%d' % self.n,
                           [os.path.join(bdir, 'backend/ddns-backend'),
                            '-c', self.conf], work)
        B.wait_for(lambda: os.path.exists(self.sock), 'backend socket',
                   procs=[self.proc])

    def lookup_run(self, bdir, lookups):
        out = run([os.path.join(bdir, 'test/bench/bench-lookup'), '--warmup',
                   lookups, self.sock, B.ZONE, self.n, lookups], 600)
        r = dict(kv.split('=') for kv in out.split())
        r = {k: float(v) for k, v in r.items()}
        if r['empty']:
            raise RuntimeError('%d lookups found nothing' % r['empty'])
        self.runs.append(r)
        return r


def report(a, sizes):
    base = sizes[0]
    rows = []
    for s in sizes:
        p50 = B.median([r['p50_us'] for r in s.runs])
        mean = B.median([r['mean_us'] for r in s.runs])
        rss = B.rss_kib(s.proc.pid)
        s.summary = {'p50_us': p50, 'mean_us': mean,
                     'p99_us': B.median([r['p99_us'] for r in s.runs]),
                     'rate': B.median([r['rate'] for r in s.runs]),
                     'rss_kib': rss}
        rows.append([
            '%d' % s.n, '%.1f' % s.seed_s,
            '%.0f' % s.disk['file'], '%.0f' % s.disk['live'],
            '%.0f' % s.disk['compact'],
            '%.0f' % s.native[0] if s.native else '-',
            '%.2f' % p50, '%.2f' % s.summary['p99_us'], '%.2f' % mean,
            '%.2f' % (p50 / base.summary['p50_us']) if s is not base
            else '1.00',
            '%.0f' % s.summary['rate'],
            '%.1f' % (rss.get('VmRSS', 0) / 1024),
            '%.1f' % (rss.get('RssAnon', 0) / 1024),
            '%.1f' % (rss.get('RssFile', 0) / 1024)])
    print()
    print(B.table(['hosts', 'seed s', 'file B/host', 'live B/host',
                   'compact B/host', 'pdns-lmdb B/host', 'p50 us',
                   'p99 us', 'mean us', 'p50 vs first', 'lookups/s',
                   'RSS MiB', 'anon MiB', 'file MiB'], rows))
    last = sizes[-1]
    ratio = last.summary['p50_us'] / base.summary['p50_us']
    mratio = last.summary['mean_us'] / base.summary['mean_us']
    flat = ratio <= LATENCY_TARGET
    small = all(s.disk['live'] < BYTES_TARGET for s in sizes)
    print('\nlookup latency %d vs %d hosts: median x%.2f, mean x%.2f '
          '(target <= %.2f): %s' % (last.n, base.n, ratio, mratio,
                                     LATENCY_TARGET,
                                     'meets' if flat else 'MISSES'))
    print('bytes per host (live pages): %s (target < %d): %s'
          % (', '.join('%.0f' % s.disk['live'] for s in sizes),
             BYTES_TARGET, 'meets' if small else 'MISSES'))
    print('Medians of %d alternating runs of %d lookups each (after a '
          'warm-up pass of as many);\none connection, one request at a '
          'time, round trip measured by the client.' % (a.rounds,
                                                        a.lookups))
    ok = report_ops(a, sizes)
    return flat and small and ok


def report_ops(a, sizes):
    """The import and start-up table and its verdicts."""
    base, last = sizes[0], sizes[-1]
    rows = []
    for s in sizes:
        st = s.summary
        st['import'] = s.imp
        st['listen_ms'] = (B.median([x['listen'] for x in s.starts]) * 1e3
                           if s.starts else None)
        st['answer_ms'] = (B.median([x['answer'] for x in s.starts]) * 1e3
                           if s.starts else None)
        rows.append([
            '%d' % s.n,
            '%.2f' % s.imp['secs'] if s.imp else '-',
            '%.0f' % (s.n / s.imp['secs']) if s.imp else '-',
            '%.0f' % s.imp['live'] if s.imp else '-',
            '%.1f' % st['listen_ms'] if s.starts else '-',
            '%.1f' % st['answer_ms'] if s.starts else '-',
            '%.2f' % (st['answer_ms'] / base.summary['answer_ms'])
            if s.starts and s is not base else '1.00' if s.starts else '-'])
    print()
    print(B.table(['hosts', 'import s', 'hosts/s', 'import B/host',
                   'start: listen ms', 'start: 1st update ms',
                   'vs first'], rows))
    ok = True
    if a.imports:
        small = all(s.imp['live'] < BYTES_TARGET for s in sizes)
        ok = small
        print('bytes per host after import: %s (target < %d): %s'
              % (', '.join('%.0f' % s.imp['live'] for s in sizes),
                 BYTES_TARGET, 'meets' if small else 'MISSES'))
        for s in sizes:
            print('  %d: %s' % (s.n, s.imp['steps']))
    if a.startups:
        ratio = last.summary['answer_ms'] / base.summary['answer_ms']
        flat = ratio <= LATENCY_TARGET
        ok = ok and flat
        print('updater start-up to the first answered update, %d vs %d '
              'hosts: x%.2f (target <= %.2f): %s; medians of %d alternating '
              'start-ups' % (last.n, base.n, ratio, LATENCY_TARGET,
                             'meets' if flat else 'MISSES', a.startups))
    return ok


def main():
    a = parse_args()
    tools = ['mdb_stat', 'mdb_copy']
    if a.native:
        tools += ['pdnsutil', 'liblmdbbackend.so']
    B.require(tools)
    bdir = B.build_dir(a.build)
    work = tempfile.mkdtemp(prefix='ddns-bench-scale-')
    print('\n'.join(B.machine()))
    print('work dir: %s' % work)
    sizes, ok = [], False
    try:
        for n in a.sizes:
            print('seeding %d hosts...' % n, flush=True)
            sizes.append(Size(a, bdir, work, n))
            sizes[-1].start(bdir, work)
        for rnd in range(a.rounds):
            for s in sizes:
                r = s.lookup_run(bdir, a.lookups)
                print('  round %d  %8d hosts  p50 %6.2f us  mean %6.2f us  '
                      'p99 %6.2f us' % (rnd + 1, s.n, r['p50_us'],
                                        r['mean_us'], r['p99_us']),
                      flush=True)
        for rnd in range(a.startups):
            for s in sizes:
                r = startup_run(bdir, work, s.store, s.n)
                s.starts.append(r)
                print('  start-up %d  %8d hosts  listening %6.1f ms  first '
                      'update %6.1f ms' % (rnd + 1, s.n, r['listen'] * 1e3,
                                            r['answer'] * 1e3), flush=True)
        ok = report(a, sizes)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump({'machine': B.machine(), 'args': vars(a),
                           'sizes': [{'hosts': s.n, 'seed_s': s.seed_s,
                                      'disk': s.disk, 'native': s.native,
                                      'runs': s.runs, 'starts': s.starts,
                                      'summary': s.summary}
                                     for s in sizes]}, f, indent=1)
    finally:
        for s in sizes:
            if s.proc:
                s.proc.stop()
        if a.keep:
            print('kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
