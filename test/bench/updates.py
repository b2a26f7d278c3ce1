#!/usr/bin/python3
"""updates.py -- benchmark 2 (issue 5): authenticated updates, ddns versus
RFC 2136 into pdns's own LMDB backend, and a bare libevent ceiling.

    /usr/bin/python3 test/bench/updates.py [--build DIR] [--quick]
                                           [--rounds N] [--length S]
                                           [--hosts N] [--conns N]
                                           [--updater BIN] [--compare BIN]
                                           [--no-durability] [--json FILE]
                                           [--report FILE] [--keep]

Three servers on free loopback ports, measured in alternation (ddns,
rfc2136, ceiling, [compare] in every round, the order turning by one
each round):

  ddns      ddns-updater on a store of HOSTS hosts (default 10,000), each
            with its own secret (bench-seed --secrets); real store, group
            commit, LMDB syncs on (the default).  Driven by bench-load:
            CONNS (50) keep-alive connections, one request outstanding on
            each, "GET /nic/update?hostname=H&myip=NEW" with Basic
            authentication, every request a new address (a write).
  rfc2136   pdns_server with launch=lmdb (lmdb-sync-mode default: sync),
            dnsupdate=yes, allow-dnsupdate-from=127.0.0.0/8, the same
            hosts loaded with pdnsutil; dnsperf -u sends each host's
            "delete hN A / add hN 60 A NEW" (the same change) with 50
            updates outstanding.
  ceiling   bench-good, a bare evhttp server answering "good" to anything
            (no auth, no store), driven by the same bench-load.
  compare   (--compare BIN) another ddns-updater binary, e.g. an older
            build, on its own copy of the store: before/after in one run.

Targets: ddns >= 10 x rfc2136 and >= 0.5 x ceiling (medians of the
ratios of runs in the same round), ddns p99 latency < 20 ms (the median of
the rounds' p99), every update durable before its reply.  Durability is
checked twice after the rounds: (1) strace counts fdatasync calls during a
short ddns run and LMDB's last transaction id counts the commits (one
fdatasync each, the meta page written through LMDB's O_DSYNC descriptor);
(2) the updater is killed with SIGKILL in the middle of a load, and every
address bench-load was told "good" for must be the host's address in the
store (ddnsctl host list --json).

--quick: 3-second runs, 2 rounds.  Needs: pdns-server, pdns-backend-lmdb,
dnsperf, strace, lmdb-utils, and a build.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import propagation as P  # noqa: E402  (its small DNS client)

TARGET_RFC = 10.0
TARGET_CEIL = 0.5
TARGET_P99_MS = 20.0
KINDS = ('ddns', 'rfc2136', 'ceiling')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', help='meson build dir (default $DDNS_BUILD_DIR '
                   'or ./build)')
    p.add_argument('--quick', action='store_true',
                   help='3 s runs, 2 rounds')
    p.add_argument('--rounds', type=int)
    p.add_argument('--length', type=float, help='seconds per run '
                   '(default 10, 3 with --quick)')
    p.add_argument('--warmup', type=float, default=1.0,
                   help='seconds of load before each measured run')
    p.add_argument('--hosts', type=int, default=10000)
    p.add_argument('--conns', type=int, default=50)
    p.add_argument('--updater', help='the ddns-updater binary to measure '
                   '(default: the build\'s)')
    p.add_argument('--compare', metavar='BIN',
                   help='also measure this ddns-updater binary')
    p.add_argument('--purge', action='store_true',
                   help='run ddns with cache purges on: ddns-backend and a '
                   'pdns_server (remote backend) whose control socket the '
                   'updater purges through, as deployed')
    p.add_argument('--no-durability', dest='durability',
                   action='store_false', help='skip the strace and kill -9 '
                   'checks')
    p.add_argument('--perf', metavar='FILE', help='record a CPU profile of '
                   'the updater (perf record -e cpu-clock -g) during the '
                   'first ddns run into FILE')
    p.add_argument('--json', help='also write the raw results here')
    p.add_argument('--report', metavar='JSON',
                   help='only print the table of a run saved with --json')
    p.add_argument('--keep', action='store_true',
                   help='keep the work directory')
    a = p.parse_args()
    if a.length is None:
        a.length = 3 if a.quick else 10
    if a.rounds is None:
        a.rounds = 2 if a.quick else 3
    if a.rounds < 1 or a.conns < 1 or a.hosts < a.conns:
        p.error('bad --rounds, --conns or --hosts')
    return a


# ---- servers ----------------------------------------------------------------

def pdns_conf(rundir, port, lmdb):
    kv = [('daemon', 'no'), ('guardian', 'no'), ('write-pid', 'no'),
          ('disable-syslog', 'yes'), ('socket-dir', rundir),
          ('local-address', '127.0.0.1'), ('local-port', str(port)),
          ('security-poll-suffix', ''), ('only-notify', ''),
          ('query-local-address', '127.0.0.1'), ('loglevel', '4'),
          ('launch', 'lmdb'), ('lmdb-filename', lmdb),
          ('dnsupdate', 'yes'), ('allow-dnsupdate-from', '127.0.0.0/8')]
    return ''.join('%s=%s\n' % kv_ for kv_ in kv)


class Setup:
    def __init__(self, a, bdir, work):
        self.a, self.bdir, self.work = a, bdir, work
        self.procs = []
        self.secrets = os.path.join(work, 'secrets.txt')
        zonefile = os.path.join(work, 'zone.txt')
        t0 = time.monotonic()
        subprocess.run([self.exe('test/bench/bench-seed'), '--secrets',
                        self.secrets, '--zonefile', zonefile,
                        os.path.join(work, 'store'), B.ZONE, str(a.hosts)],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        print('seeded %d hosts, each with its own secret, in %.1f s'
              % (a.hosts, time.monotonic() - t0))
        self.updater_bin = os.path.abspath(
            a.updater or self.exe('updater/ddns-updater'))
        self.conf = self.updater_conf('ddns', 'store')
        if a.compare:
            shutil.copytree(os.path.join(work, 'store'),
                            os.path.join(work, 'store-cmp'))
            self.cmp_conf = self.updater_conf('compare', 'store-cmp')
        self.pdns_dir = os.path.join(work, 'pdns')
        os.makedirs(os.path.join(self.pdns_dir, 'run'))
        self.pdns_port = B.free_port()
        with open(os.path.join(self.pdns_dir, 'pdns.conf'), 'w') as f:
            f.write(pdns_conf(os.path.join(self.pdns_dir, 'run'),
                              self.pdns_port,
                              os.path.join(self.pdns_dir, 'pdns.lmdb')))
        r = subprocess.run([B.tool('pdnsutil'),
                            '--config-dir=' + self.pdns_dir, 'load-zone',
                            B.ZONE, zonefile], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError('pdnsutil load-zone failed:\n' + r.stdout)

    def exe(self, rel):
        return os.path.join(self.bdir, rel)

    def updater_conf(self, name, store):
        port = B.free_port()
        path = os.path.join(self.work, name + '.conf')
        with open(path, 'w') as f:
            f.write('[store]\npath = %s\n[updater]\nlisten = 127.0.0.1:%d\n'
                    'max_connections_per_source = %d\n[log]\n'
                    'level = warning\n'
                    % (os.path.join(self.work, store), port,
                       self.a.conns + 16))
            if getattr(self.a, 'purge', False):  # ddns and compare
                f.write('[backend]\nlisten = unix:%s\n[pdns]\n'
                        'control_socket = %s\n'
                        % (self.backend_sock(),
                           os.path.join(self.work, 'pdns-remote', 'run',
                                        'pdns.controlsocket')))
        return {'path': path, 'port': port,
                'store': os.path.join(self.work, store)}

    def backend_sock(self):
        return os.path.join(self.work, 'backend.sock')

    def start_purge_target(self):
        """--purge: ddns-backend and a pdns_server on it, default caches,
        whose control socket the ddns updater purges through."""
        p = B.Proc('ddns-backend', [self.exe('backend/ddns-backend'), '-c',
                                    self.conf['path']], self.work)
        self.procs.append(p)
        B.wait_for(lambda: os.path.exists(self.backend_sock()),
                   'the backend socket', procs=[p])
        d = os.path.join(self.work, 'pdns-remote')
        os.makedirs(os.path.join(d, 'run'))
        port = B.free_port()
        conf = pdns_conf(os.path.join(d, 'run'), port, '-')
        conf = conf.replace('launch=lmdb\nlmdb-filename=-\n',
                            'launch=remote\nremote-connection-string=unix:'
                            'path=%s,timeout=2000\n' % self.backend_sock())
        with open(os.path.join(d, 'pdns.conf'), 'w') as f:
            f.write(conf)
        p = B.Proc('pdns-remote', [B.tool('pdns_server'),
                                   '--config-dir=' + d], self.work)
        self.procs.append(p)
        B.wait_for(lambda: B.dns_query(port, 'h1.' + B.ZONE) == (0, 1) and
                   os.path.exists(os.path.join(d, 'run',
                                               'pdns.controlsocket')),
                   'pdns (remote) to answer', procs=[p])

    def start_updater(self, name, binary, conf):
        p = B.Proc(name, [binary, '-c', conf['path']], self.work)
        self.procs.append(p)
        B.wait_for(lambda: B.port_open(conf['port']), name + ' to listen',
                   procs=[p])
        p.port = conf['port']
        return p

    def start_ceiling(self):
        port = B.free_port()
        p = B.Proc('bench-good', [self.exe('test/bench/bench-good'), port],
                   self.work)
        self.procs.append(p)
        B.wait_for(lambda: B.port_open(port), 'bench-good to listen',
                   procs=[p])
        p.port = port
        return p

    def start_pdns(self):
        p = B.Proc('pdns-lmdb', [B.tool('pdns_server'),
                                 '--config-dir=' + self.pdns_dir], self.work)
        self.procs.append(p)
        probe = 'h1.' + B.ZONE
        B.wait_for(lambda: B.dns_query(self.pdns_port, probe) == (0, 1),
                   'pdns to answer ' + probe, procs=[p])
        p.port = self.pdns_port
        return p

    def stop(self, p):
        p.stop()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []


# ---- runs -------------------------------------------------------------------

def parse_kv(text):
    out = {}
    for m in re.finditer(r'(\w+)=([\d.]+)', text):
        out[m.group(1)] = float(m.group(2))
    return out


def run_load(a, setup, target, seq, length, acked=None):
    """bench-load against TARGET; {rps, p50_us, p99_us, ..., cpu_us}."""
    argv = [setup.exe('test/bench/bench-load'), '--port', str(target.port),
            '--secrets', setup.secrets, '--conns', str(a.conns),
            '--duration', str(length), '--warmup', str(a.warmup),
            '--seq', str(seq)]
    if acked:
        argv += ['--acked', acked]
    c0 = B.cpu_seconds(target.pid)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=length + a.warmup + 60)
    res = parse_kv(r.stdout)
    res['cpu_us'] = ((B.cpu_seconds(target.pid) - c0) /
                     max(res.get('requests', 0), 1) * 1e6)
    res['exit'] = r.returncode
    res['ok'] = (r.returncode == 0 and res.get('requests', 0) > 0 and
                 res.get('other', 1) == 0 and res.get('errors', 1) == 0)
    if not res['ok']:
        print('  warning: suspicious run on %s: %s %s'
              % (target.name, r.stdout.strip(), r.stderr.strip()))
    return res


def start_perf(path, pid):
    if not path:
        return None
    p = subprocess.Popen(['perf', 'record', '-e', 'cpu-clock', '-g', '-o',
                          os.path.abspath(path), '-p', str(pid)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # perf needs a moment to attach; not a sync point
    return p


def stop_perf(p):
    if p:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)


def update_file(work, hosts, rnd):
    """One RFC 2136 update per host: its A record replaced by a new
    address (another one in every round)."""
    path = os.path.join(work, 'updates-%d.txt' % rnd)
    with open(path, 'w') as f:
        for i in range(hosts):
            v = (rnd + 1) * 1000003 + i
            f.write('%s\ndelete h%d A\nadd h%d 60 A 198.%d.%d.%d\nsend\n'
                    % (B.ZONE, i, i, 18 + (v >> 16 & 1), v >> 8 & 255,
                       v & 255))
    return path


def run_rfc2136(a, setup, target, rnd, length):
    path = update_file(setup.work, a.hosts, rnd)
    argv = [B.tool('dnsperf'), '-u', '-s', '127.0.0.1', '-p',
            str(target.port), '-d', path, '-c', '1', '-q', str(a.conns),
            '-l', str(length), '-n', '1']
    c0 = B.cpu_seconds(target.pid)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=length + 120)
    res = {}
    m = re.search(r'(?:Queries|Updates) per second:\s+([\d.]+)', r.stdout)
    res['rps'] = float(m.group(1)) if m else 0.0
    m = re.search(r'(?:Queries|Updates) completed:\s+(\d+)', r.stdout)
    res['requests'] = int(m.group(1)) if m else 0
    m = re.search(r'Average Latency \(s\):\s+([\d.]+)', r.stdout)
    res['mean_us'] = float(m.group(1)) * 1e6 if m else 0.0
    m = re.search(r'Response codes:\s+(.*)', r.stdout)
    codes = dict((k, int(v)) for k, v in
                 re.findall(r'([A-Z]+) (\d+)', m.group(1) if m else ''))
    res['codes'] = codes
    res['cpu_us'] = ((B.cpu_seconds(target.pid) - c0) /
                     max(res['requests'], 1) * 1e6)
    res['ok'] = (r.returncode == 0 and res['requests'] > 0 and
                 codes.get('NOERROR', 0) == res['requests'])
    if not res['ok']:
        print('  warning: suspicious dnsperf run:\n' + r.stdout)
    return res


def check_rfc2136(setup, target):
    """One update must change what pdns answers (dnsupdate really on)."""
    path = os.path.join(setup.work, 'probe-update.txt')
    with open(path, 'w') as f:
        f.write('%s\ndelete h1 A\nadd h1 60 A 192.0.2.77\nsend\n' % B.ZONE)
    subprocess.run([B.tool('dnsperf'), '-u', '-s', '127.0.0.1', '-p',
                    str(target.port), '-d', path, '-n', '1'],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)
    got = P.Resolver(target.port).ask('h1.' + B.ZONE)[2]
    if got != [bytes([192, 0, 2, 77])]:
        raise RuntimeError('RFC 2136 update not applied by pdns (A: %r)'
                           % got)


def measure(a, setup):
    res = {k: [] for k in KINDS}
    if a.purge:
        setup.start_purge_target()
    targets = {'ddns': setup.start_updater('ddns-updater', setup.updater_bin,
                                           setup.conf),
               'rfc2136': setup.start_pdns(),
               'ceiling': setup.start_ceiling()}
    kinds = list(KINDS)
    if a.compare:
        res['compare'] = []
        targets['compare'] = setup.start_updater(
            'compare-updater', os.path.abspath(a.compare), setup.cmp_conf)
        kinds.append('compare')
    check_rfc2136(setup, targets['rfc2136'])
    seq = 1
    for rnd in range(a.rounds):
        # the order turns each round: no server always runs first or last
        for k in kinds[rnd % len(kinds):] + kinds[:rnd % len(kinds)]:
            if k == 'rfc2136':
                r = run_rfc2136(a, setup, targets[k], rnd, a.length)
            else:
                acked = os.path.join(setup.work, 'acked-%s-%d.txt'
                                     % (k, rnd)) if k == 'ddns' else None
                perf = start_perf(a.perf, targets[k].pid) if \
                    k == 'ddns' and rnd == 0 else None
                r = run_load(a, setup, targets[k], seq, a.length, acked)
                stop_perf(perf)
                seq += 1000000
            r['load'] = os.getloadavg()[0]
            res[k].append(r)
            print('  round %d  %-8s %9.0f updates/s  p50 %6.2f ms  p99 '
                  '%6.2f ms  cpu %4.0f us/update  load %.1f'
                  % (rnd + 1, k, r['rps'], r.get('p50_us', 0) / 1000,
                     r.get('p99_us', 0) / 1000, r['cpu_us'], r['load']),
                  flush=True)
    for k in ('rfc2136', 'ceiling', 'compare'):
        if k in targets:
            setup.stop(targets[k])
    return res, targets['ddns'], seq


# ---- durability -------------------------------------------------------------

def last_txn(store):
    r = subprocess.run([B.tool('mdb_stat'), '-e', store],
                       stdout=subprocess.PIPE, text=True, timeout=30)
    m = re.search(r'Last transaction ID:\s+(\d+)', r.stdout)
    return int(m.group(1)) if m else 0


def sync_count(a, setup, ddns, seq):
    """A 3 s load under strace: fdatasync calls against commits."""
    out = os.path.join(setup.work, 'strace.txt')
    t0 = last_txn(setup.conf['store'])
    st = subprocess.Popen([B.tool('strace'), '-f', '-c', '-o', out, '-e',
                           'trace=fdatasync,fsync,msync,sync_file_range',
                           '-p', str(ddns.pid)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # strace needs a moment to attach; not a sync point
    r = run_load(a, setup, ddns, seq, 3,
                 os.path.join(setup.work, 'acked-strace.txt'))
    st.send_signal(signal.SIGINT)
    st.wait(timeout=30)
    commits = last_txn(setup.conf['store']) - t0
    calls, usecs = {}, {}
    with open(out) as f:
        for line in f:
            m = re.match(r'\s*[\d.]+\s+[\d.]+\s+(\d+)\s+(\d+)\s+'
                         r'(?:\d+\s+)?(\w+)$', line)
            if m and m.group(3) != 'total':
                calls[m.group(3)] = int(m.group(2))
                usecs[m.group(3)] = int(m.group(1))
    good = r.get('good', 0)
    return {'commits': commits, 'syncs': calls, 'sync_us': usecs,
            'good_counted': good,
            'rps_under_strace': r['rps']}


def host_addrs(setup):
    r = subprocess.run([setup.exe('updater/ddnsctl'), '-c',
                        setup.conf['path'], 'host', 'list', '--json'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError('ddnsctl host list failed: ' + r.stderr)
    return {h['fqdn']: h['ipv4'] for h in json.loads(r.stdout)}


def kill_check(a, setup, ddns, seq, acked_files):
    """SIGKILL the updater under load; every acked address must be stored."""
    acked = os.path.join(setup.work, 'acked-kill.txt')
    argv = [setup.exe('test/bench/bench-load'), '--port', str(ddns.port),
            '--secrets', setup.secrets, '--conns', str(a.conns),
            '--duration', '30', '--warmup', '0', '--seq', str(seq),
            '--acked', acked]
    load = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    n0 = last_txn(setup.conf['store'])
    B.wait_for(lambda: last_txn(setup.conf['store']) > n0 + 200,
               '200 commits under load', timeout=30)
    os.kill(ddns.pid, signal.SIGKILL)
    ddns.popen.wait()
    out, err = load.communicate(timeout=60)
    setup.stop(ddns)
    want = {}  # fqdn -> the addresses its store may hold
    for path in acked_files + [acked]:
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    v = line.split()
                    if v[1] != '-':
                        want[v[0]] = {v[1]}
                    if len(v) > 2:  # unanswered: committed or not
                        want.setdefault(v[0], set()).add(v[2])
    stored = host_addrs(setup)
    lost = [h for h, addrs in want.items() if stored.get(h) not in addrs]
    if not os.path.exists(acked):
        raise RuntimeError('bench-load wrote no %s (exit %s): %s %s'
                           % (acked, load.returncode, out, err))
    with open(acked) as f:
        in_kill_run = sum(1 for line in f if line.split()[1] != '-')
    return {'acked_hosts': len(want), 'acked_in_kill_run': in_kill_run,
            'lost': len(lost), 'lost_examples': lost[:5],
            'load_exit': load.returncode, 'load_out': out.strip()}


# ---- report -----------------------------------------------------------------

def ratios(res, k, peer):
    return [d['rps'] / p['rps'] for d, p in zip(res[k], res[peer])
            if p['rps']]


def purge_failures(log):
    """(bursts of failed purges, purges failed) from an updater's log."""
    bursts, failed = 0, 0
    with open(log, errors='replace') as f:
        for line in f:
            if 'cannot purge' in line:
                bursts += 1
            m = re.search(r'\((\d+) failed meanwhile\)', line)
            if m:
                failed += int(m.group(1))
    return bursts, failed


def report(a, res, dur):
    ok = True
    rows = []
    r_rfc = ratios(res, 'ddns', 'rfc2136')
    r_ceil = ratios(res, 'ddns', 'ceiling')
    p99 = B.median([r['p99_us'] / 1000 for r in res['ddns']])
    for k in list(KINDS) + (['compare'] if 'compare' in res else []):
        runs = res[k]
        rows.append([k, '%.0f' % B.median([r['rps'] for r in runs]),
                     '%.2f' % B.median([r.get('p50_us', 0) / 1000
                                        for r in runs])
                     if k != 'rfc2136' else '-',
                     '%.2f' % B.median([r.get('p99_us', 0) / 1000
                                        for r in runs])
                     if k != 'rfc2136' else '-',
                     '%.2f' % B.median([r['mean_us'] / 1000 for r in runs]),
                     '%.0f' % B.median([r['cpu_us'] for r in runs]),
                     '%d/%d' % (sum(1 for r in runs if r['ok']), len(runs))])
    print()
    print(B.table(['server', 'updates/s', 'p50 ms', 'p99 ms', 'mean ms',
                   'server cpu us/update', 'clean runs'], rows))
    checks = [
        ('ddns / rfc2136', B.median(r_rfc), r_rfc, '>= %.0f' % TARGET_RFC,
         B.median(r_rfc) >= TARGET_RFC),
        ('ddns / ceiling', B.median(r_ceil), r_ceil, '>= %.2f' % TARGET_CEIL,
         B.median(r_ceil) >= TARGET_CEIL),
        ('ddns p99 ms', p99, [r['p99_us'] / 1000 for r in res['ddns']],
         '< %.0f' % TARGET_P99_MS, p99 < TARGET_P99_MS),
    ]
    if 'compare' in res:
        rc = ratios(res, 'ddns', 'compare')
        checks.append(('ddns / compare', B.median(rc), rc, '-', True))
    rows = []
    for name, v, vs, target, meets in checks:
        ok = ok and meets
        rows.append([name, '%.2f' % v, '%.2f-%.2f' % (min(vs), max(vs)),
                     target, 'yes' if meets else 'NO'])
    if dur:
        s, k = dur['syncs'], dur['kill']
        fds = s['syncs'].get('fdatasync', 0)
        per = fds / s['commits'] if s['commits'] else 0
        meets = s['commits'] > 0 and per >= 1.0 and k['lost'] == 0 and \
            k['acked_in_kill_run'] > 0
        ok = ok and meets
        rows.append(['durable: fdatasync per commit', '%.2f' % per,
                     '%d / %d' % (fds, s['commits']), '>= 1',
                     'yes' if per >= 1.0 else 'NO'])
        rows.append(['durable: acked but lost after kill -9',
                     '%d' % k['lost'], 'of %d hosts' % k['acked_hosts'],
                     '0', 'yes' if k['lost'] == 0 else 'NO'])
    print()
    print(B.table(['check', 'value', 'range / detail', 'target', 'meets'],
                  rows))
    print('\n%d rounds of %.0f s runs (+ %.0f s warm-up each), alternating '
          'ddns, rfc2136, ceiling%s\n(the order turning each round).  '
          'Ratios: median of the per-round ratios (range: lowest and\n'
          'highest).  cpu us/update: CPU time '
          'of the server process per completed update.'
          % (a.rounds, a.length, a.warmup,
             ', compare' if 'compare' in res else ''))
    if dur:
        s = dur['syncs']
        print('Under strace (%.0f updates/s), %d commits took %s for %d '
              'updates counted: %.1f updates per commit; fdatasync took '
              '%s us on average.'
              % (s['rps_under_strace'], s['commits'], s['syncs'],
                 s['good_counted'],
                 s['good_counted'] / max(s['commits'], 1),
                 s.get('sync_us', {}).get('fdatasync', '?')))
        k = dur['kill']
        print('kill -9 under load: %d updates acked in that run before the '
              'kill; %d hosts checked, %d lost.'
              % (k['acked_in_kill_run'], k['acked_hosts'], k['lost']))
    return ok


def show_saved(path):
    with open(path) as f:
        saved = json.load(f)
    a = argparse.Namespace(**saved['args'])
    print('\n'.join(saved['machine']))
    return 0 if report(a, saved['results'], saved.get('durability')) else 1


def main():
    a = parse_args()
    if a.report:
        return show_saved(a.report)
    B.require(['pdns_server', 'pdnsutil', 'dnsperf', 'liblmdbbackend.so',
               'mdb_stat'] + (['strace'] if a.durability else []))
    bdir = B.build_dir(a.build)
    for exe in ('test/bench/bench-load', 'test/bench/bench-good',
                'updater/ddns-updater', 'updater/ddnsctl'):
        if not os.access(os.path.join(bdir, exe), os.X_OK):
            B.die('%s missing: build first' % exe)
    work = tempfile.mkdtemp(prefix='ddns-bench-updates-')
    machine = B.machine()
    print('\n'.join(machine))
    print('work dir: %s' % work)
    setup = None
    ok = False
    try:
        setup = Setup(a, bdir, work)
        res, ddns, seq = measure(a, setup)
        dur = None
        if a.durability:
            dur = {'syncs': sync_count(a, setup, ddns, seq)}
            acked = [os.path.join(work, 'acked-ddns-%d.txt' % r)
                     for r in range(a.rounds)]
            acked.append(os.path.join(work, 'acked-strace.txt'))
            dur['kill'] = kill_check(a, setup, ddns, seq + 1000000, acked)
        ok = report(a, res, dur)
        for name in ('ddns-updater', 'compare-updater') if a.purge else ():
            log = os.path.join(work, name + '.log')
            if os.path.exists(log):
                print('Purges (--purge), %s: %d burst(s) of purges that '
                      'failed or were dropped (queue full)'
                      % (name, purge_failures(log)[0]))
        if a.json:
            with open(a.json, 'w') as f:
                json.dump({'machine': machine, 'args': vars(a),
                           'results': res, 'durability': dur}, f, indent=1)
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
