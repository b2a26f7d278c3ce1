#!/usr/bin/python3
"""Operating ddns: /metrics of the updater and the backend (Prometheus text
format 0.0.4, parsed strictly here), /healthz (200, then 503 when the store
is read-only or full), and the one log line per update."""

import json
import os
import re
import shutil
import subprocess
import unittest

import ddnstest
from ddnstest import Service, ServiceTestCase, free_port, wait_for

METRIC_NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*\Z')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)\Z')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def parse_labels(text, line):
    """{name: value} of a label set 'a="x",b="y"'; raises on any flaw."""
    out, pos = {}, 0
    while pos < len(text):
        m = LABEL.match(text, pos)
        if not m:
            raise AssertionError('bad label set in %r' % line)
        if m.group(1) in out:
            raise AssertionError('label repeated in %r' % line)
        out[m.group(1)] = m.group(2)
        pos = m.end()
        if pos < len(text):
            if text[pos] != ',':
                raise AssertionError('bad label separator in %r' % line)
            pos += 1
    return out


def parse_exposition(text):
    """Parse TEXT strictly as the Prometheus text format 0.0.4.  Returns
    ({family: type}, {(name, frozenset(labels)): value}).  Every sample's
    family must have HELP and TYPE lines before it, and no series may
    repeat; histograms are checked for cumulative buckets ending in +Inf
    equal to _count."""
    if not text.endswith('\n'):
        raise AssertionError('exposition does not end with a newline')
    types, helps, samples = {}, set(), {}
    for line in text[:-1].split('\n'):
        if line.startswith('# HELP '):
            name = line.split(' ')[2]
            assert METRIC_NAME.match(name), line
            assert name not in helps, 'HELP repeated: ' + line
            helps.add(name)
        elif line.startswith('# TYPE '):
            parts = line.split(' ')
            assert len(parts) == 4 and parts[3] in TYPES, line
            assert parts[2] not in types, 'TYPE repeated: ' + line
            types[parts[2]] = parts[3]
        else:
            m = SAMPLE.match(line)
            assert m, 'not a sample line: %r' % line
            name, labels, value = m.group(1), m.group(2) or '', m.group(3)
            family = name
            for suffix in ('_bucket', '_sum', '_count'):
                if name.endswith(suffix) and types.get(
                        name[:-len(suffix)]) == 'histogram':
                    family = name[:-len(suffix)]
            assert family in types and family in helps, (
                'sample before its HELP/TYPE: %r' % line)
            key = (name, frozenset(parse_labels(labels, line).items()))
            assert key not in samples, 'series repeated: %r' % line
            samples[key] = float(value)
    check_histograms(types, samples)
    return types, samples


def check_histograms(types, samples):
    for fam in (f for f, t in types.items() if t == 'histogram'):
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + '_bucket':
                d = dict(labels)
                le = d.pop('le')
                series.setdefault(frozenset(d.items()), []).append(
                    (float(le), v))
        assert series, 'histogram %s has no buckets' % fam
        for rest, buckets in series.items():
            buckets.sort()
            counts = [c for _, c in buckets]
            assert counts == sorted(counts), (fam, buckets)
            assert buckets[-1][0] == float('inf'), (fam, buckets)
            assert samples[(fam + '_count', rest)] == buckets[-1][1], fam
            assert (fam + '_sum', rest) in samples, fam


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), None)


class OpsTestBase(ServiceTestCase):
    backend_metrics_port = None

    @classmethod
    def setUpClass(cls):
        cls.backend_metrics_port = free_port()
        extra = cls.extra_conf()
        extra.setdefault('backend', {})['metrics_listen'] = (
            '127.0.0.1:%d' % cls.backend_metrics_port)
        cls.SERVICE_ARGS = {'conf_extra': extra}
        super().setUpClass()

    @classmethod
    def extra_conf(cls):
        return {}

    def metrics(self, host='127.0.0.1'):
        r = self.svc.curl(self.svc.url('/metrics', host=host))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get('content-type'),
                         'text/plain; version=0.0.4; charset=utf-8')
        return parse_exposition(r.body)[1]

    def backend_metrics(self):
        r = self.svc.curl('http://127.0.0.1:%d/metrics'
                          % self.backend_metrics_port)
        self.assertEqual(r.status, 200, r)
        return parse_exposition(r.body)[1]

    def healthz(self):
        return self.svc.curl(self.svc.url('/healthz'))

    def update(self, fqdn, secret, **query):
        return self.svc.curl(self.svc.url('/nic/update', user=fqdn,
                                          password=secret,
                                          query=list(query.items())))


class MetricsTest(OpsTestBase):

    @classmethod
    def extra_conf(cls):
        return {'updater': {'metrics_allow': '127.0.0.1'}}

    def test_update_counters_move(self):
        fqdn, secret = self.svc.new_host('m')
        before = self.metrics()
        self.assertEqual(self.update(fqdn, secret, myip='192.0.2.7').body,
                         'good 192.0.2.7')
        self.assertEqual(self.update(fqdn, secret, myip='192.0.2.7').body,
                         'nochg 192.0.2.7')
        self.assertEqual(self.update(fqdn, 'wrong' + secret).status, 401)
        after = self.metrics()
        for result in ('good', 'nochg', 'badauth'):
            name = 'ddns_updater_updates_total'
            self.assertEqual(value(after, name, result=result),
                             value(before, name, result=result) + 1, result)
        self.assertEqual(value(after, 'ddns_updater_auth_failures_total'),
                         value(before, 'ddns_updater_auth_failures_total')
                         + 1)
        hist = 'ddns_updater_update_duration_seconds_count'
        self.assertEqual(value(after, hist), value(before, hist) + 3)
        self.assertGreater(
            value(after, 'ddns_updater_update_duration_seconds_sum'), 0)

    def test_store_gauges(self):
        self.svc.new_host('g')
        s = self.metrics()
        hosts = json.loads(self.svc.ctl('host', 'list', '--json').stdout)
        if isinstance(hosts, dict):
            hosts = hosts.get('hosts', [])
        self.assertEqual(value(s, 'ddns_store_up'), 1)
        self.assertEqual(value(s, 'ddns_store_map_size_bytes'), 1 << 30)
        self.assertGreater(value(s, 'ddns_store_used_bytes'), 0)
        self.assertLess(value(s, 'ddns_store_used_bytes'), 1 << 30)
        self.assertGreaterEqual(value(s, 'ddns_store_hosts'), 1)
        self.assertEqual(value(s, 'ddns_store_hosts'), len(hosts))
        self.assertEqual(value(s, 'ddns_store_zones'), 1)
        self.assertGreater(value(s, 'ddns_store_max_readers'), 0)

    def test_backend_lookups_counted(self):
        fqdn, secret = self.svc.new_host('b')
        self.update(fqdn, secret, myip='192.0.2.8')
        before = self.backend_metrics()
        r = self.svc.dig(fqdn, 'A')
        self.assertEqual(r.data('A'), ['192.0.2.8'], r.text)
        self.svc.dig('nx-' + fqdn, 'AAAA')
        after = self.backend_metrics()
        lk = 'ddns_backend_lookups_total'
        total = sum(after[k] - before.get(k, 0) for k in after
                    if k[0] == lk)
        self.assertGreaterEqual(total, 2)
        # pdns asks ANY with consistent-backends=yes (its default)
        moved = [dict(k[1])['qtype'] for k in after
                 if k[0] == lk and after[k] > before.get(k, 0)]
        self.assertTrue(set(moved) & {'ANY', 'A', 'AAAA'}, moved)
        req = 'ddns_backend_requests_total'
        self.assertGreaterEqual(value(after, req, method='lookup')
                                - value(before, req, method='lookup'), 2)
        hc = 'ddns_backend_request_duration_seconds_count'
        self.assertEqual(value(after, hc, method='lookup'),
                         value(after, req, method='lookup'))

    def test_metrics_allow(self):
        # metrics_allow = 127.0.0.1: the same updater over ::1 says 403
        for path in ('/metrics', '/healthz'):
            r = self.svc.curl(self.svc.url(path, host='::1'))
            self.assertEqual(r.status, 403, r)
        r = self.svc.curl(self.svc.url('/metrics'), '-X', 'POST')
        self.assertEqual(r.status, 405, r)

    def test_backend_metrics_other_paths(self):
        r = self.svc.curl('http://127.0.0.1:%d/other'
                          % self.backend_metrics_port)
        self.assertEqual(r.status, 404, r)

    def test_log_line_per_update(self):
        fqdn, secret = self.svc.new_host('l')
        self.update(fqdn, secret, myip='192.0.2.9')
        self.update(fqdn, 'bad' + secret)
        log_path = self.svc.logs()['ddns-updater']
        pat = re.compile(r'update from 127\.0\.0\.1 for %s: (\S+)[^\n]* '
                         r'\((\d+\.\d{3}) ms\)$' % re.escape(fqdn), re.M)

        def lines():
            with open(log_path) as f:
                return pat.findall(f.read())
        wait_for(lambda: len(lines()) >= 2, 'two update log lines')
        self.assertEqual([r for r, _ in lines()], ['good', 'badauth'])
        with open(log_path) as f:
            self.assertNotIn(secret, f.read())


class HealthTest(OpsTestBase):

    def test_healthz_read_only(self):
        r = self.healthz()
        self.assertEqual((r.status, r.body), (200, 'ok\n'))
        store = os.path.join(self.svc.dir, 'store')
        if os.geteuid() == 0:
            if not shutil.which('chattr'):
                self.skipTest('root without chattr: cannot make the store '
                              'read-only')
            lock, unlock = (['chattr', '+i', store], ['chattr', '-i', store])
        else:
            lock = unlock = None
        try:
            if lock:
                subprocess.run(lock, check=True)
            else:
                os.chmod(store, 0o500)
            r = self.healthz()
            self.assertEqual(r.status, 503, r)
            self.assertIn('not writable', r.body)
        finally:
            if unlock:
                subprocess.run(unlock, check=True)
            else:
                os.chmod(store, 0o700)
        self.assertEqual(self.healthz().status, 200)


class FullStoreTest(OpsTestBase):
    """A 1 MiB store filled by mdb_load (a database of its own, which ddns
    ignores) while the updater runs: /healthz turns 503."""

    @classmethod
    def extra_conf(cls):
        return {'store': {'map_size': '1M'}}

    def fill_chunk(self, n, start):
        lines = ['VERSION=3', 'format=bytevalue', 'type=btree',
                 'HEADER=END']
        for i in range(start, start + n):
            lines.append(' ' + ('filler%010d' % i).encode().hex())
            lines.append(' ' + ('%04d' % i).encode().hex() * 250)
        lines.append('DATA=END')
        r = subprocess.run([shutil.which('mdb_load'), '-s', 'filler',
                            os.path.join(self.svc.dir, 'store')],
                           input='\n'.join(lines) + '\n', text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return r.returncode == 0

    def test_healthz_full(self):
        if not shutil.which('mdb_load'):
            self.skipTest('mdb_load (lmdb-utils) is not installed')
        self.assertEqual(self.healthz().status, 200)
        for chunk in range(100):
            if not self.fill_chunk(16, chunk * 16):
                break
        else:
            self.fail('a 1 MiB store took 1600 KiB')
        r = self.healthz()
        self.assertEqual(r.status, 503, r)
        self.assertIn('full', r.body)
        s = self.metrics()
        self.assertGreater(value(s, 'ddns_store_used_bytes'),
                           0.9 * value(s, 'ddns_store_map_size_bytes'))


SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def roff_text(path):
    """The page's source with the escapes that matter here undone."""
    with open(path) as f:
        t = f.read()
    for a, b in (('\\-', '-'), ('\\fR', ''), ('\\fP', ''),
                 ('\\fI', ''), ('\\fB', ''), ('\\(dq', '"')):
        t = t.replace(a, b)
    return t


def help_commands(text):
    """The commands ('zone add', 'host block'...) of `ddnsctl --help`: the
    lowercase words that start each 2-space-indented line of its Commands
    section (several on a line are separated by ' / ')."""
    out, on = [], False
    for line in text.splitlines():
        if line.startswith('Commands:'):
            on = True
        elif on and line and not line.startswith(' '):
            break
        elif on and re.match(r'  [a-z]', line):
            for part in line.strip().split(' / '):
                words = []
                for w in part.split():
                    if not re.match(r'[a-z][a-z-]*\Z', w):
                        break
                    words.append(w)
                out.append(' '.join(words))
    return out


def conf_keys():
    """{section: {keys}} of ddns.conf.example (commented-out keys too) and
    of the key table in shared/conf.c."""
    keys, sec = {}, None
    with open(os.path.join(SRC, 'ddns.conf.example')) as f:
        for line in f:
            m = re.match(r'#?\[(\w+)[^]]*\]\s*$', line)
            if m:
                sec = m.group(1)
                continue
            m = re.match(r'#?([a-z_]+) = ', line)
            if m and sec:
                keys.setdefault(sec, set()).add(m.group(1))
    with open(os.path.join(SRC, 'shared', 'conf.c')) as f:
        for sec, key in re.findall(r'\{"([a-z]+)", "([a-z_]+)", K_', f.read()):
            keys.setdefault(sec, set()).add(key)
    return keys


class ManPagesTest(unittest.TestCase):
    """The manual pages: well-formed, every ddnsctl command and every
    configuration key documented."""

    PAGES = ('ddns-updater.8', 'ddns-backend.8', 'ddnsctl.8', 'ddns.conf.5')

    def page(self, name):
        return os.path.join(SRC, 'man', name)

    def test_pages_format_cleanly(self):
        for tool in ('man', 'lexgrog'):
            if not shutil.which(tool):
                self.skipTest('%s (man-db) is not installed' % tool)
        for name in self.PAGES:
            r = subprocess.run(['man', '--warnings', '-l', '-Tutf8',
                                self.page(name)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env=ddnstest.clean_env({'MANWIDTH': '80'}))
            self.assertEqual((r.returncode, r.stderr), (0, ''), name)
            self.assertIn('\nNAME\n', re.sub('.\b', '', r.stdout))
            r = subprocess.run(['lexgrog', self.page(name)],
                               stdout=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 0, name)
            self.assertIn(name.rsplit('.', 1)[0] + ' - ', r.stdout)

    def test_every_ddnsctl_command(self):
        r = subprocess.run([ddnstest.binary('ddnsctl'), '--help'],
                           stdout=subprocess.PIPE, text=True)
        cmds = help_commands(r.stdout)
        self.assertIn('zone add', cmds)
        self.assertIn('host unblock', cmds)
        text = roff_text(self.page('ddnsctl.8'))
        missing = [c for c in cmds if c not in text]
        self.assertEqual(missing, [], 'not in man/ddnsctl.8')

    def test_every_config_key(self):
        text = roff_text(self.page('ddns.conf.5'))
        parts = re.split(r'^\.SH ', text, flags=re.M)
        sections = {p.split('\n', 1)[0].strip('[]').split()[0]:
                    p for p in parts if p.startswith('[')}
        missing = []
        for sec, keys in sorted(conf_keys().items()):
            body = sections.get(sec, '')
            missing += ['[%s] %s' % (sec, k) for k in sorted(keys)
                        if not re.search(r'^\.B[RI]? .*\b%s\b' % k, body,
                                         re.M)]
        self.assertEqual(missing, [], 'not in man/ddns.conf.5')


if __name__ == '__main__':
    ddnstest.main()
