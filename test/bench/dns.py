#!/usr/bin/python3
"""dns.py -- benchmark 1 (issue 5): DNS answers, ddns versus pdns's own LMDB.

    /usr/bin/python3 test/bench/dns.py [--build DIR] [--quick] [--rounds N]
                                       [--length S] [--hosts N] [--backend BIN]
                                       [--compare BIN] [--no-ceiling]
                                       [--json FILE] [--report FILE] [--keep]

Serves the same HOSTS (default 10,000) hosts three ways, each from its own
pdns_server 4.7 on a free loopback port with identical settings:

  ddns-unix   launch=remote, unix connector to one ddns-backend process
  ddns-pipe   launch=remote, pipe connector (pdns runs ddns-backend --pipe)
  native      launch=lmdb, the zone loaded with pdnsutil load-zone
  ceil-unix   (caches off only) the unix and pipe connectors to
  ceil-pipe   test/bench/bench-ceiling, a backend answering from
              constants: the most any remote backend can get out of pdns
  cmp-unix    (caches off, with --compare BIN) both connectors to another
  cmp-pipe    ddns-backend binary, e.g. an older build: a before/after
              comparison in the same run

and drives them with dnsperf (-c 4 -q 100 -l LENGTH) from a query file of
90 % A of existing hosts, 5 % AAAA of existing hosts, 5 % names that do
not exist.  Runs alternate (unix, native, pipe, native, and with caches
off ceil-unix, ceil-pipe) for ROUNDS rounds, under two pdns cache settings: caches off (cache-ttl,
query-cache-ttl, negquery-cache-ttl = 0; the zone cache stays on) and
pdns's default caches.  Prints the medians and the ratios ddns/native; the
targets are 0.6 with caches off and 0.95 with default caches.

--quick: 2-second runs, about a minute in all (CI-like smoke run).
Needs: pdns-server, pdns-backend-remote, pdns-backend-lmdb, dnsperf, and a
build (ddns-backend, test/bench/bench-seed).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

CACHES = {
    'off': {'cache-ttl': '0', 'query-cache-ttl': '0',
            'negquery-cache-ttl': '0'},
    'default': {},
}
TARGET = {'off': 0.6, 'default': 0.95}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', help='meson build dir (default $DDNS_BUILD_DIR '
                   'or ./build)')
    p.add_argument('--backend', help='the ddns-backend binary to measure '
                   '(default: the build\'s), e.g. an older build to compare')
    p.add_argument('--quick', action='store_true',
                   help='2 s runs: about a minute in all')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--length', type=int, help='seconds per dnsperf run '
                   '(default 10, 2 with --quick)')
    p.add_argument('--hosts', type=int, default=10000)
    p.add_argument('--clients', type=int, default=4, help='dnsperf -c')
    p.add_argument('--outstanding', type=int, default=100, help='dnsperf -q')
    p.add_argument('--caches', default='off,default',
                   help='comma list of: off, default')
    p.add_argument('--connectors', default='unix,pipe',
                   help='comma list of: unix, pipe')
    p.add_argument('--compare', metavar='BIN',
                   help='also measure this ddns-backend binary (caches off)')
    p.add_argument('--no-ceiling', dest='ceiling', action='store_false',
                   help='skip the bench-ceiling runs')
    p.add_argument('--json', help='also write the raw results here')
    p.add_argument('--report', metavar='JSON',
                   help='only print the table of a run saved with --json')
    p.add_argument('--keep', action='store_true',
                   help='keep the work directory')
    a = p.parse_args()
    if a.length is None:
        a.length = 2 if a.quick else 10
    a.caches = [c for c in a.caches.split(',') if c]
    a.connectors = [c for c in a.connectors.split(',') if c]
    if not set(a.caches) <= set(CACHES) or \
            not set(a.connectors) <= {'unix', 'pipe'} or a.rounds < 1:
        p.error('bad --caches, --connectors or --rounds')
    return a


# ---- data -------------------------------------------------------------------

def seed(bdir, work, hosts):
    zonefile = os.path.join(work, 'zone.txt')
    t0 = time.monotonic()
    subprocess.run([os.path.join(bdir, 'test/bench/bench-seed'), '--zonefile',
                    zonefile, os.path.join(work, 'store'), B.ZONE,
                    str(hosts)], check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    print('seeded %d hosts into the ddns store in %.1f s'
          % (hosts, time.monotonic() - t0))
    return zonefile


def query_file(work, hosts, n=100000):
    """90 % A of existing hosts, 5 % AAAA of existing hosts (every tenth
    has one), 5 % names that do not exist; a fixed pseudo-random order."""
    path = os.path.join(work, 'queries.txt')
    x = 0x2545F4914F6CDD1D
    with open(path, 'w') as f:
        for _ in range(n):
            x ^= (x << 13) & 0xffffffffffffffff
            x ^= x >> 7
            x ^= (x << 17) & 0xffffffffffffffff
            i, kind = (x >> 8) % hosts, x % 100
            if kind < 90:
                f.write('h%d.%s A\n' % (i, B.ZONE))
            elif kind < 95:
                f.write('h%d.%s AAAA\n' % (i, B.ZONE))
            else:
                f.write('nx%d.%s A\n' % (i, B.ZONE))
    return path


def pdns_conf(rundir, port, backend, cache):
    kv = [('daemon', 'no'), ('guardian', 'no'), ('write-pid', 'no'),
          ('disable-syslog', 'yes'), ('socket-dir', rundir),
          ('local-address', '127.0.0.1'), ('local-port', str(port)),
          ('security-poll-suffix', ''), ('only-notify', ''),
          ('query-local-address', '127.0.0.1'), ('loglevel', '4')]
    kv += list(backend.items()) + list(CACHES[cache].items())
    return ''.join('%s=%s\n' % kv_ for kv_ in kv)


class Setup:
    """The store, the configs, the native zone and ddns-backend."""

    def __init__(self, a, bdir, work):
        self.a, self.bdir, self.work = a, bdir, work
        self.procs = []
        zonefile = seed(bdir, work, a.hosts)
        self.queries = query_file(work, a.hosts)
        self.backend_bin = os.path.abspath(
            a.backend or os.path.join(bdir, 'backend/ddns-backend'))
        self.ceiling_bin = os.path.join(bdir, 'test/bench/bench-ceiling')
        self.sock = os.path.join(work, 'backend.sock')
        self.ceil_sock = os.path.join(work, 'ceiling.sock')
        self.cmp_bin = os.path.abspath(a.compare) if a.compare else None
        self.cmp_sock = os.path.join(work, 'compare.sock')
        self.conf = os.path.join(work, 'ddns.conf')
        with open(self.conf, 'w') as f:
            f.write('[store]\npath = %s\n[backend]\nlisten = unix:%s\n'
                    'max_connections = 512\n[log]\nlevel = warning\n'
                    % (os.path.join(work, 'store'), self.sock))
        self.native_db = os.path.join(work, 'native', 'pdns.lmdb')
        d = self.confdir('native-load', 'native', 'off', 0)
        r = subprocess.run([B.tool('pdnsutil'), '--config-dir=' + d,
                            'load-zone', B.ZONE, zonefile],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError('pdnsutil load-zone failed:\n' + r.stdout)

    def backend_settings(self, kind):
        if kind == 'native':
            return {'launch': 'lmdb', 'lmdb-filename': self.native_db}
        if kind == 'unix':
            cs = 'unix:path=%s,timeout=2000' % self.sock
        elif kind == 'pipe':
            cs = 'pipe:command=%s -c %s --pipe,timeout=2000' % (
                self.backend_bin, self.conf)
        elif kind == 'cmp-unix':
            cs = 'unix:path=%s,timeout=2000' % self.cmp_sock
        elif kind == 'cmp-pipe':
            cs = 'pipe:command=%s -c %s --pipe,timeout=2000' % (
                self.cmp_bin, self.cmp_conf)
        elif kind == 'ceil-unix':
            cs = 'unix:path=%s,timeout=2000' % self.ceil_sock
        else:
            cs = 'pipe:command=%s --zone %s --pipe,timeout=2000' % (
                self.ceiling_bin, B.ZONE)
        return {'launch': 'remote', 'remote-connection-string': cs}

    def confdir(self, name, kind, cache, port):
        d = os.path.join(self.work, name)
        os.makedirs(os.path.join(d, 'run'), exist_ok=True)
        os.makedirs(os.path.dirname(self.native_db), exist_ok=True)
        with open(os.path.join(d, 'pdns.conf'), 'w') as f:
            f.write(pdns_conf(os.path.join(d, 'run'), port,
                              self.backend_settings(kind), cache))
        return d

    def start_backend(self):
        p = B.Proc('ddns-backend', [self.backend_bin, '-c', self.conf],
                   self.work)
        self.procs.append(p)
        B.wait_for(lambda: os.path.exists(self.sock), 'the backend socket',
                   procs=[p])
        return p

    def start_compare(self):
        self.cmp_conf = os.path.join(self.work, 'compare.conf')
        with open(self.conf) as f, open(self.cmp_conf, 'w') as g:
            g.write(f.read().replace(self.sock, self.cmp_sock))
        p = B.Proc('compare-backend', [self.cmp_bin, '-c', self.cmp_conf],
                   self.work)
        self.procs.append(p)
        B.wait_for(lambda: os.path.exists(self.cmp_sock),
                   'the compared backend\'s socket', procs=[p])
        return p

    def start_ceiling(self):
        p = B.Proc('bench-ceiling', [self.ceiling_bin, '--zone', B.ZONE,
                                     self.ceil_sock], self.work)
        self.procs.append(p)
        B.wait_for(lambda: os.path.exists(self.ceil_sock),
                   'the ceiling socket', procs=[p])
        return p

    def start_pdns(self, kind, cache):
        port = B.free_port()
        d = self.confdir('pdns-%s-%s' % (kind, cache), kind, cache, port)
        p = B.Proc('pdns-%s-%s' % (kind, cache),
                   [B.tool('pdns_server'), '--config-dir=' + d], self.work)
        self.procs.append(p)
        probe = 'h%d.%s' % (self.a.hosts // 2, B.ZONE)
        B.wait_for(lambda: B.dns_query(port, probe) == (0, 1),
                   'pdns (%s) to answer %s' % (kind, probe), procs=[p])
        r = B.dns_query(port, 'nx1.' + B.ZONE)
        if not r or r[0] != 3:  # NXDOMAIN
            raise RuntimeError('pdns (%s): no NXDOMAIN for a missing name: %r'
                               % (kind, r))
        p.port = port
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []


# ---- running dnsperf ----------------------------------------------------------

def dnsperf_argv(a, port, queries, length, passes=None):
    argv = [B.tool('dnsperf'), '-s', '127.0.0.1', '-p', str(port), '-d',
            queries, '-c', str(a.clients), '-q', str(a.outstanding), '-l',
            str(length)]
    return argv + ['-n', str(passes)] if passes else argv


def parse_dnsperf(text):
    out = {}
    m = re.search(r'Queries per second:\s+([\d.]+)', text)
    out['qps'] = float(m.group(1)) if m else 0.0
    m = re.search(r'Queries sent:\s+(\d+)', text)
    out['sent'] = int(m.group(1)) if m else 0
    m = re.search(r'Queries lost:\s+(\d+)', text)
    out['lost'] = int(m.group(1)) if m else 0
    m = re.search(r'Average Latency \(s\):\s+([\d.]+)', text)
    out['latency_ms'] = float(m.group(1)) * 1000 if m else 0.0
    m = re.search(r'Response codes:\s+(.*)', text)
    codes = {}
    for name, n in re.findall(r'([A-Z]+) (\d+)', m.group(1) if m else ''):
        codes[name] = int(n)
    out['codes'] = codes
    return out


# With caches on, each run follows one unmeasured pass over the query file
# (capped at WARMUP_MAX seconds): the answers a server cached in its
# previous run have expired by its next one (cache-ttl 20 s), and a run
# starting cold would measure a burst of misses that a server under steady
# load never sees all at once.  A pass asks every name, whatever the speed
# of the misses (the pipe connector's are slow).
WARMUP_MAX = 15


def cpu_of(pids):
    return sum(B.cpu_seconds(p) for p in pids)


def run_one(a, setup, target, length, passes=None):
    """One dnsperf run against TARGET (a Proc with .port and .backend_pids):
    LENGTH seconds, or PASSES passes over the queries within that time."""
    bpids = target.backend_pids()
    p0, b0, t0 = B.cpu_seconds(target.pid), cpu_of(bpids), time.monotonic()
    r = subprocess.run(dnsperf_argv(a, target.port, setup.queries, length,
                                    passes),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=length + 60)
    res = parse_dnsperf(r.stdout)
    res['cpu_pdns'] = B.cpu_seconds(target.pid) - p0
    res['cpu_backend'] = cpu_of(bpids) - b0
    res['cpu'] = res['cpu_pdns'] + res['cpu_backend']
    res['wall'] = time.monotonic() - t0
    done = res['sent'] - res['lost']
    bad = sum(n for c, n in res['codes'].items()
              if c not in ('NOERROR', 'NXDOMAIN'))
    res['ok'] = (r.returncode == 0 and res['qps'] > 0 and
                 res['lost'] <= 0.01 * max(res['sent'], 1) and
                 bad <= 0.001 * max(done, 1) and
                 res['codes'].get('NXDOMAIN', 0) > 0)
    if not res['ok']:
        print('  warning: suspicious run on %s:\n%s' % (target.name,
                                                          r.stdout))
    return res


def measure(a, setup, cache, procs):
    """Start a pdns per kind, alternate runs; {kind: [results]}."""
    targets = {}
    ceil = ['ceil-' + c for c in a.connectors] if a.ceiling and \
        cache == 'off' else []
    if a.compare and cache == 'off':
        ceil += ['cmp-' + c for c in a.connectors]
    kinds = ['native'] + a.connectors + ceil
    for k in kinds:
        p = setup.start_pdns(k, cache)
        if k in procs:  # unix: our backend process
            p.backend_pids = lambda k=k: [procs[k].pid]
        else:  # pdns's pipe backends (none for native)
            p.backend_pids = lambda p=p: B.children_of(p.pid)
        targets[k] = p
    for k in kinds:  # warm up: caches filled, pipe backends started
        run_one(a, setup, targets[k], 1)
    seq = [k for c in a.connectors for k in (c, 'native')] + ceil
    results = {k: [] for k in kinds}
    for rnd in range(a.rounds):
        for k in seq:
            if cache != 'off':  # each run starts with its answers cached
                run_one(a, setup, targets[k], WARMUP_MAX, passes=1)
            r = run_one(a, setup, targets[k], a.length)
            results[k].append(r)
            print('  caches %-7s round %d  %-9s %9.0f q/s  %6.2f ms  '
                  'cpu %.0f%%' % (cache, rnd + 1, k, r['qps'],
                                  r['latency_ms'],
                                  100 * r['cpu'] / max(r['wall'], 1e-9)),
                  flush=True)
    for k in kinds:
        targets[k].stop()
        setup.procs.remove(targets[k])
    return results


# ---- report -----------------------------------------------------------------

def cpu_us_per_query(runs, key='cpu'):
    qs = [r[key] / max(r['qps'] * r['wall'], 1) * 1e6 for r in runs]
    return B.median(qs)


def paired(ddns, native, conn_index, n_conn):
    """The native runs that followed each ddns run (runs alternate c1,
    native, c2, native...), and each ddns run's ratio to it: slow drifts
    of the machine's load cancel out of these."""
    nat, ratios = [], []
    for i, d in enumerate(ddns):
        j = i * n_conn + conn_index
        if j < len(native) and native[j]['qps']:
            nat.append(native[j]['qps'])
            ratios.append(d['qps'] / native[j]['qps'])
    return nat, ratios


def report(a, allres):
    rows, ok_all = [], True
    for cache, res in allres.items():
        for conn in a.connectors:
            nat, ratios = paired(res[conn], res['native'],
                                 a.connectors.index(conn), len(a.connectors))
            med, nmed = B.median([r['qps'] for r in res[conn]]), B.median(nat)
            ratio = B.median(ratios)
            meets = ratio >= TARGET[cache]
            ok_all = ok_all and meets
            ceil = res.get('ceil-' + conn)
            cmed = B.median([r['qps'] for r in ceil]) if ceil else 0
            cnat = B.median([r['qps'] for r in res['native']])
            rows.append([cache, conn, '%.0f' % med, '%.0f' % nmed,
                         '%.2f' % ratio,
                         '%.2f-%.2f' % (min(ratios), max(ratios)),
                         '>= %.2f' % TARGET[cache],
                         'yes' if meets else 'NO',
                         '%.0f' % cmed if ceil else '-',
                         '%.2f' % (cmed / cnat) if ceil and cnat else '-',
                         '%.2f' % (med / cmed) if ceil and cmed else '-',
                         '%.0f' % cpu_us_per_query(res[conn], 'cpu_pdns'),
                         '%.0f' % cpu_us_per_query(res[conn], 'cpu_backend'),
                         '%.0f' % cpu_us_per_query(res['native'])])
    compare_rows = []
    for conn in a.connectors if getattr(a, 'compare', None) else []:
        res = allres.get('off', {})
        cmp_runs = res.get('cmp-' + conn)
        if not cmp_runs:
            continue
        ratios = [d['qps'] / c['qps'] for d, c in zip(res[conn], cmp_runs)
                  if c['qps']]
        compare_rows.append([
            conn, '%.0f' % B.median([r['qps'] for r in res[conn]]),
            '%.0f' % B.median([r['qps'] for r in cmp_runs]),
            '%.2f' % B.median(ratios),
            '%.2f-%.2f' % (min(ratios), max(ratios)),
            '%.0f' % cpu_us_per_query(res[conn], 'cpu_backend'),
            '%.0f' % cpu_us_per_query(cmp_runs, 'cpu_backend'),
            '%.0f' % cpu_us_per_query(res[conn], 'cpu_pdns'),
            '%.0f' % cpu_us_per_query(cmp_runs, 'cpu_pdns')])
    print()
    print(B.table(['caches', 'connector', 'ddns q/s', 'native q/s',
                   'ddns/native', 'range', 'target', 'meets',
                   'ceiling q/s', 'ceil/native', 'ddns/ceil', 'pdns us/q',
                   'backend us/q', 'native us/q'], rows))
    print('\nddns q/s: median of %d runs; native q/s: median of the native '
          'runs that followed\nthem (runs alternate); ddns/native: median '
          'of the %d ratios of a run to the\nnative run after it, range: '
          'their lowest and highest.  ceiling: pdns on\nbench-ceiling, a '
          'backend answering from constants (the most a remote backend can\n'
          'get), against all native runs.  us/q: CPU time per answered '
          'query of pdns_server\nand of the backend process(es).  With '
          'caches on, each run follows one unmeasured\npass over the query '
          'file to the same server.' % (a.rounds, a.rounds))
    if compare_rows:
        print('\nCaches off, this build against --compare %s, same run:'
              % a.compare)
        print(B.table(['connector', 'ddns q/s', 'compare q/s',
                       'ddns/compare', 'range', 'backend us/q',
                       'compare backend us/q', 'pdns us/q',
                       'compare pdns us/q'], compare_rows))
    return ok_all


def show_saved(path):
    """Print the table of a run saved with --json."""
    with open(path) as f:
        saved = json.load(f)
    a = argparse.Namespace(**saved['args'])
    print('\n'.join(saved['machine']))
    return 0 if report(a, saved['results']) else 1


def main():
    a = parse_args()
    if a.report:
        return show_saved(a.report)
    B.require(['pdns_server', 'pdnsutil', 'dnsperf', 'libremotebackend.so',
               'liblmdbbackend.so'])
    bdir = B.build_dir(a.build)
    work = tempfile.mkdtemp(prefix='ddns-bench-dns-')
    print('\n'.join(B.machine()))
    print('work dir: %s' % work)
    print('backend: %s' % (a.backend or 'the build\'s'))
    setup = None
    allres = {}
    try:
        setup = Setup(a, bdir, work)
        procs = {'unix': setup.start_backend()}
        if a.ceiling:
            procs['ceil-unix'] = setup.start_ceiling()
        if a.compare:
            procs['cmp-unix'] = setup.start_compare()
        print('dnsperf: %s' % ' '.join(dnsperf_argv(a, 'PORT', 'queries.txt',
                                                    a.length)))
        for cache in a.caches:
            allres[cache] = measure(a, setup, cache, procs)
        ok = report(a, allres)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump({'machine': B.machine(), 'args': vars(a),
                           'results': allres}, f, indent=1)
    finally:
        if setup:
            setup.stop_all()
        if a.keep:
            print('kept %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
