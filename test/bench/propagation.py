#!/usr/bin/python3
"""propagation.py -- benchmark 3 (issue 5): from the "good" reply to the
first DNS answer with the new address, pdns's packet cache on.

    /usr/bin/python3 test/bench/propagation.py [--build DIR] [--trials N]
                                               [--hosts N] [--quick]
                                               [--json FILE] [--keep]

Runs ddns-backend, pdns_server (launch=remote, unix connector, pdns's
default caches: packet cache and query cache on) and ddns-updater with
[pdns] control_socket set, all on free loopback ports, over a store of
HOSTS hosts each with its own secret.  The purge path is the real one:
the updater's purger sends "PURGE name" to pdns's control socket after
the reply.  Each of TRIALS trials takes a host not used before and:

  1. asks pdns for its A record twice, so that the old answer is in the
     packet cache;
  2. updates it to a new address over a kept-alive HTTP connection
     (Basic authentication) and notes when the whole "good" reply is in;
  3. asks pdns over UDP, one query at a time and as fast as it answers,
     until the new address comes back, and then on until the purge of
     the host has been acknowledged by pdns and 5 more queries were sent
     after that.

Two passes: in the first ("relay") the updater's control_socket is
test/bench/bench-ctlproxy, which hands each command to pdns's real
socket and notes when pdns has answered it, so that stale answers to
queries sent after that acknowledgement can be counted (target: none);
the second ("direct") points the updater at pdns's socket itself, to
measure the latency without the relay (stale answers after the first
correct one are counted there).  Target: p99 of the time from "good" to
the first correct answer < 10 ms, no stale answer after the purge.

--quick: 200 trials.
"""

import argparse
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

TARGET_P99_MS = 10.0
AFTER_ACK = 5          # queries sent after the acknowledgement
TRIAL_DEADLINE = 3.0   # seconds before a trial is given up
NEW_BASE = 0xC6330000  # 198.51.0.0/16: addresses no seeded host has


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--build', help='meson build dir (default $DDNS_BUILD_DIR '
                   'or ./build)')
    p.add_argument('--trials', type=int, help='per pass (default 1000, '
                   '200 with --quick)')
    p.add_argument('--hosts', type=int, default=10000)
    p.add_argument('--quick', action='store_true')
    p.add_argument('--json', help='also write the raw results here')
    p.add_argument('--keep', action='store_true',
                   help='keep the work directory')
    a = p.parse_args()
    if a.trials is None:
        a.trials = 200 if a.quick else 1000
    if a.trials < 1 or a.hosts < 2 * a.trials:
        p.error('need --hosts >= 2 x --trials (a fresh host per trial)')
    return a


# ---- DNS --------------------------------------------------------------------

def a_query(name):
    qid = int.from_bytes(os.urandom(2), 'big')
    q = struct.pack('>HHHHHH', qid, 0, 1, 0, 0, 0)
    for label in name.split('.'):
        q += bytes([len(label)]) + label.encode()
    return qid, q + b'\0' + struct.pack('>HH', 1, 1)


def skip_name(d, i):
    while True:
        n = d[i]
        if n >= 0xc0:
            return i + 2
        if n == 0:
            return i + 1
        i += n + 1


def answer_addrs(d, qid):
    """The A addresses (4-byte strings) of reply D to QID, or None."""
    if len(d) < 12 or struct.unpack('>H', d[:2])[0] != qid:
        return None
    qd, an = struct.unpack('>HH', d[4:8])
    i = 12
    for _ in range(qd):
        i = skip_name(d, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(d, i)
        rtype, _, _, rdlen = struct.unpack('>HHIH', d[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            out.append(d[i:i + 4])
        i += rdlen
    return out


class Resolver:
    def __init__(self, port):
        self.addr = ('127.0.0.1', port)
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(1.0)

    def ask(self, name):
        """(send time, receive time, [addresses]) of one A query."""
        qid, q = a_query(name)
        t0 = time.monotonic()
        self.s.sendto(q, self.addr)
        while True:
            d = self.s.recv(4096)
            r = answer_addrs(d, qid)
            if r is not None:
                return t0, time.monotonic(), r


# ---- HTTP -------------------------------------------------------------------

class Updater:
    """One kept-alive HTTP/1.1 connection to ddns-updater."""

    def __init__(self, port):
        self.port = port
        self.s = None

    def update(self, fqdn, secret, addr):
        """Send the update; (time the whole reply was in, status, body)."""
        auth = base64.b64encode(('%s:%s' % (fqdn, secret)).encode()).decode()
        req = ('GET /nic/update?hostname=%s&myip=%s HTTP/1.1\r\nHost: '
               '127.0.0.1\r\nAuthorization: Basic %s\r\n\r\n'
               % (fqdn, addr, auth)).encode()
        if self.s is None:
            self.s = socket.create_connection(('127.0.0.1', self.port), 5)
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.sendall(req)
        buf = b''
        while True:
            chunk = self.s.recv(65536)
            if not chunk:
                self.s.close()
                self.s = None
                raise RuntimeError('the updater closed the connection')
            buf += chunk
            h, sep, body = buf.partition(b'\r\n\r\n')
            if not sep:
                continue
            m = re.search(rb'(?im)^content-length:\s*(\d+)', h)
            if m and len(body) >= int(m.group(1)):
                t = time.monotonic()
                return t, int(h.split()[1]), body[:int(m.group(1))]


# ---- setup ------------------------------------------------------------------

class Setup:
    def __init__(self, a, bdir, work):
        self.a, self.bdir, self.work = a, bdir, work
        self.procs = []
        self.secrets = os.path.join(work, 'secrets.txt')
        subprocess.run([os.path.join(bdir, 'test/bench/bench-seed'),
                        '--secrets', self.secrets,
                        os.path.join(work, 'store'), B.ZONE, str(a.hosts)],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        self.hosts = []
        with open(self.secrets) as f:
            for line in f:
                fqdn, secret = line.split()
                self.hosts.append((fqdn, secret))
        self.sock = os.path.join(work, 'backend.sock')
        self.rundir = os.path.join(work, 'pdns-run')
        os.makedirs(self.rundir)
        self.control = os.path.join(self.rundir, 'pdns.controlsocket')
        self.relay = os.path.join(work, 'relay.sock')
        self.dns_port = B.free_port()
        self.http_port = {'relay': B.free_port(), 'direct': B.free_port()}

    def conf(self, mode):
        path = os.path.join(self.work, 'ddns-%s.conf' % mode)
        with open(path, 'w') as f:
            f.write('[store]\npath = %s\n[backend]\nlisten = unix:%s\n'
                    '[updater]\nlisten = 127.0.0.1:%d\n[pdns]\n'
                    'control_socket = %s\n[log]\nlevel = warning\n'
                    % (os.path.join(self.work, 'store'), self.sock,
                       self.http_port[mode],
                       self.relay if mode == 'relay' else self.control))
        return path

    def start(self, name, argv, ready, what):
        p = B.Proc(name, argv, self.work)
        self.procs.append(p)
        B.wait_for(ready, what, procs=[p])
        return p

    def start_all(self):
        b = self.bdir
        self.start('ddns-backend', [os.path.join(b, 'backend/ddns-backend'),
                                    '-c', self.conf('direct')],
                   lambda: os.path.exists(self.sock), 'the backend socket')
        pdir = os.path.join(self.work, 'pdns')
        os.makedirs(pdir)
        kv = [('daemon', 'no'), ('guardian', 'no'), ('write-pid', 'no'),
              ('disable-syslog', 'yes'), ('socket-dir', self.rundir),
              ('local-address', '127.0.0.1'),
              ('local-port', str(self.dns_port)),
              ('security-poll-suffix', ''), ('only-notify', ''),
              ('query-local-address', '127.0.0.1'), ('loglevel', '4'),
              ('launch', 'remote'),
              ('remote-connection-string',
               'unix:path=%s,timeout=2000' % self.sock)]
        with open(os.path.join(pdir, 'pdns.conf'), 'w') as f:
            f.write(''.join('%s=%s\n' % x for x in kv))
        probe = 'h1.' + B.ZONE
        self.start('pdns', [B.tool('pdns_server'), '--config-dir=' + pdir],
                   lambda: B.dns_query(self.dns_port, probe) == (0, 1) and
                   os.path.exists(self.control), 'pdns to answer')
        self.relay_proc = self.start(
            'bench-ctlproxy', [os.path.join(b, 'test/bench/bench-ctlproxy'),
                               self.relay, self.control],
            lambda: os.path.exists(self.relay), 'the relay socket')
        for mode in ('relay', 'direct'):
            port = self.http_port[mode]
            self.start('ddns-updater-' + mode,
                       [os.path.join(b, 'updater/ddns-updater'), '-c',
                        self.conf(mode)], lambda port=port: B.port_open(port),
                       'the updater (%s)' % mode)

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []


class Acks:
    """Acknowledgements noted by bench-ctlproxy in its log: {name: time}."""

    def __init__(self, path):
        self.f = open(path, 'rb')
        self.rest = b''
        self.seen = {}

    def poll(self):
        self.rest += self.f.read()
        *lines, self.rest = self.rest.split(b'\n')
        for line in lines:  # ack TIME REPLY PURGE NAME [NAME...]
            v = line.decode(errors='replace').split()
            if len(v) >= 5 and v[0] == 'ack' and v[3] == 'PURGE':
                for name in v[4:]:
                    self.seen[name] = float(v[1])

    def get(self, name):
        self.poll()
        return self.seen.get(name)


# ---- trials -----------------------------------------------------------------

def trial(res, upd, acks, fqdn, secret, new, mode):
    """One trial; a dict of its times (seconds) and counts."""
    want = socket.inet_aton(new)
    res.ask(fqdn)
    old = res.ask(fqdn)[2]  # now in the packet cache
    t_good, status, body = upd.update(fqdn, secret, new)
    if status != 200 or not body.startswith(b'good'):
        raise RuntimeError('update of %s answered %d %r' % (fqdn, status,
                                                            body))
    out = {'first': None, 'ack': None, 'stale_before': 0, 'stale_after': 0,
           'queries': 0, 'old_cached': old != [want]}
    after = 0
    while time.monotonic() - t_good < TRIAL_DEADLINE:
        t_send, t_recv, addrs = res.ask(fqdn)
        out['queries'] += 1
        good = addrs == [want]
        if out['ack'] is None and mode == 'relay':
            out['ack'] = acks.get(fqdn)
        # "after the purge": sent after pdns acknowledged it (relay), or
        # after the first correct answer (direct)
        past = (out['ack'] is not None and t_send > out['ack']) if \
            mode == 'relay' else out['first'] is not None
        if good and out['first'] is None:
            out['first'] = t_recv - t_good
        elif not good and past:
            out['stale_after'] += 1
        elif not good:
            out['stale_before'] += 1
        if past:
            after += 1
        if out['first'] is not None and after >= AFTER_ACK:
            break
    if out['ack'] is not None:
        out['ack'] -= t_good
    return out


def run_pass(setup, mode, offset, trials):
    res = Resolver(setup.dns_port)
    upd = Updater(setup.http_port[mode])
    acks = Acks(setup.relay_proc.log)
    out = []
    for i in range(trials):
        fqdn, secret = setup.hosts[offset + i]
        new = socket.inet_ntoa(struct.pack('>I', NEW_BASE + offset + i))
        out.append(trial(res, upd, acks, fqdn, secret, new, mode))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * (len(xs) - 1) + 0.5))] if xs else \
        float('nan')


def summary(mode, runs):
    firsts = [r['first'] * 1000 for r in runs if r['first'] is not None]
    acks = [r['ack'] * 1000 for r in runs if r['ack'] is not None]
    return {
        'mode': mode, 'trials': len(runs), 'answered': len(firsts),
        'p50': pct(firsts, 0.5), 'p99': pct(firsts, 0.99),
        'max': max(firsts) if firsts else float('nan'),
        'mean': sum(firsts) / len(firsts) if firsts else float('nan'),
        'ack_p50': pct(acks, 0.5), 'ack_p99': pct(acks, 0.99),
        'stale_before': sum(r['stale_before'] for r in runs),
        'stale_after': sum(r['stale_after'] for r in runs),
        'old_cached': sum(1 for r in runs if r['old_cached']),
        'queries': sum(r['queries'] for r in runs)}


def report(sums):
    rows, ok = [], True
    for s in sums:
        meets = (s['answered'] == s['trials'] and s['p99'] < TARGET_P99_MS
                 and s['stale_after'] == 0)
        ok = ok and meets
        rows.append([s['mode'], s['trials'], s['answered'],
                     '%.2f' % s['p50'], '%.2f' % s['p99'], '%.2f' % s['max'],
                     '%.2f' % s['mean'],
                     '%.2f' % s['ack_p50'] if s['mode'] == 'relay' else '-',
                     '%.2f' % s['ack_p99'] if s['mode'] == 'relay' else '-',
                     s['stale_before'], s['stale_after'], s['old_cached'],
                     'yes' if meets else 'NO'])
    print()
    print(B.table(['pass', 'trials', 'answered', 'p50 ms', 'p99 ms',
                   'max ms', 'mean ms', 'ack p50 ms', 'ack p99 ms',
                   'stale before', 'stale after purge', 'old cached',
                   'meets'], rows))
    print('\nms: from the whole "good" reply to the first answer with the '
          'new address (target: p99 < %.0f ms).\nack: from "good" to pdns '
          'acknowledging the PURGE of the host (relay pass only).\nstale '
          'before: old answers before the new one; stale after purge: old '
          'answers to queries\nsent after the acknowledgement (relay) or '
          'after the first new answer (direct): target 0.\nold cached: '
          'trials whose old answer was in the cache before the update '
          '(should be all).' % TARGET_P99_MS)
    return ok


def main():
    a = parse_args()
    B.require(['pdns_server', 'libremotebackend.so'])
    bdir = B.build_dir(a.build)
    work = tempfile.mkdtemp(prefix='ddns-bench-prop-')
    machine = B.machine()
    print('\n'.join(machine))
    print('work dir: %s' % work)
    setup = None
    ok = False
    try:
        setup = Setup(a, bdir, work)
        setup.start_all()
        sums, raw = [], {}
        for k, mode in enumerate(('relay', 'direct')):
            t0 = time.monotonic()
            raw[mode] = run_pass(setup, mode, k * a.trials, a.trials)
            sums.append(summary(mode, raw[mode]))
            print('  pass %-6s %d trials in %.1f s, load %.1f'
                  % (mode, a.trials, time.monotonic() - t0,
                     os.getloadavg()[0]), flush=True)
        ok = report(sums)
        if a.json:
            with open(a.json, 'w') as f:
                json.dump({'machine': machine, 'args': vars(a),
                           'summary': sums, 'trials': raw}, f, indent=1)
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
