"""secondaries -- real secondary name servers on loopback for the system
tests and benchmarks of zone transfers (test_secondary.py, test_dnssec.py,
test/bench/axfr.py).

Each class writes its own config into a directory, takes a free port, runs
the server in the foreground as a ddnstest.Proc (stopped by its PID) and
answers with dig on 127.0.0.1.  Configs follow
shared/reference/secondaries.md: NSD 4.6 and Knot 3.2 from Debian, and a
second pdns_server with the LMDB backend in secondary mode.  Nothing
listens anywhere but 127.0.0.1; NOTIFY comes from the primary's explicit
also-notify list.
"""

import os
import subprocess

import ddnstest


def primary_pdns_extra(notify_ports, cycle=1):
    """pdns.conf settings for the primary: NOTIFY only to NOTIFY_PORTS on
    127.0.0.1, zone transfers allowed from loopback, a check for changed
    zones every CYCLE seconds."""
    return {
        'primary': 'yes',
        'xfr-cycle-interval': str(cycle),
        'also-notify': ','.join('127.0.0.1:%d' % p for p in notify_ports),
        'only-notify': '',
        'allow-axfr-ips': '127.0.0.0/8',
        'query-local-address': '127.0.0.1',
    }


class Secondary:
    """A secondary for ZONE transferring from 127.0.0.1:PRIMARY_PORT."""

    name = 'secondary'

    def __init__(self, workdir, zone, primary_port, port=None):
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.zone = zone
        self.primary_port = primary_port
        self.port = port or ddnstest.free_port(udp=True)
        self.proc = None

    def argv(self):
        raise NotImplementedError

    def prepare(self):
        """Write configs (and anything else before the start)."""

    def start(self):
        self.prepare()
        self.proc = ddnstest.Proc(self.name, self.argv(), self.dir)
        ddnstest.wait_for(lambda: self.dig(self.zone, 'SOA',
                                           timeout=1).rcode in
                          ('NOERROR', 'SERVFAIL', 'REFUSED', 'NXDOMAIN'),
                          '%s on port %d' % (self.name, self.port),
                          procs=[self.proc])
        return self

    def stop(self):
        if self.proc:
            status = self.proc.stop()
            self.proc = None
            return status
        return None

    def dig(self, name, rtype='A', **kw):
        return ddnstest.dig(self.port, name, rtype, **kw)

    def serial(self):
        """The zone's SOA serial here, or None while it has none."""
        r = self.dig(self.zone, 'SOA', timeout=1)
        soa = r.data('SOA')
        if r.rcode != 'NOERROR' or len(soa) != 1:
            return None
        return int(soa[0].split()[2])

    def log_tail(self, n=30):
        return self.proc.tail(n) if self.proc else ''


def nsd_conf_text(d, port, zone, primary):
    """nsd.conf of an NSD secondary for ZONE, all in directory D, on
    127.0.0.1@PORT, transferring from (and notified by) 127.0.0.1@PRIMARY.
    Also used by test/bench/axfr.py."""
    return '''\
server:
  ip-address: 127.0.0.1@%(port)d
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  database: ""
  zonesdir: "%(d)s"
  xfrdir: "%(d)s"
  xfrdfile: "%(d)s/xfrd.state"
  zonelistfile: "%(d)s/zone.list"
  pidfile: "%(d)s/nsd.pid"
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: %(zone)s
  zonefile: "%(d)s/%(zone)s.zone"
  allow-notify: 127.0.0.1 NOKEY
  request-xfr: AXFR 127.0.0.1@%(primary)d NOKEY
''' % {'port': port, 'd': d, 'zone': zone, 'primary': primary}


class Nsd(Secondary):
    name = 'nsd'

    def prepare(self):
        ddnstest.write_file(os.path.join(self.dir, 'nsd.conf'),
                            nsd_conf_text(self.dir, self.port, self.zone,
                                          self.primary_port))

    def argv(self):
        return [ddnstest.tool('nsd'), '-d', '-c',
                os.path.join(self.dir, 'nsd.conf')]


class Knot(Secondary):
    name = 'knot'

    def prepare(self):
        d = self.dir
        ddnstest.write_file(os.path.join(d, 'knot.conf'), '''\
server:
    rundir: "%(d)s"
    listen: 127.0.0.1@%(port)d
log:
  - target: stderr
    any: info
database:
    storage: "%(d)s"
remote:
  - id: primary
    address: 127.0.0.1@%(primary)d
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "%(d)s"
zone:
  - domain: %(zone)s
    master: primary
    acl: notify_from_primary
''' % {'port': self.port, 'd': d, 'zone': self.zone,
       'primary': self.primary_port})

    def argv(self):
        return [ddnstest.tool('knotd'), '-c',
                os.path.join(self.dir, 'knot.conf')]


class PdnsSecondary(Secondary):
    """pdns_server with the LMDB backend, ZONE a secondary zone."""
    name = 'pdns2'

    def prepare(self):
        d = self.dir
        rundir = os.path.join(d, 'run')
        os.makedirs(rundir, exist_ok=True)
        kv = [
            ('launch', 'lmdb'),
            ('lmdb-filename', os.path.join(d, 'pdns.lmdb')),
            ('daemon', 'no'), ('guardian', 'no'), ('write-pid', 'no'),
            ('disable-syslog', 'yes'), ('socket-dir', rundir),
            ('local-address', '127.0.0.1'), ('local-port', str(self.port)),
            ('security-poll-suffix', ''), ('only-notify', ''),
            ('query-local-address', '127.0.0.1'),
            ('secondary', 'yes'), ('allow-notify-from', '127.0.0.0/8'),
            ('xfr-cycle-interval', '1'), ('loglevel', '4'),
        ]
        ddnstest.write_file(os.path.join(d, 'pdns.conf'),
                            ''.join('%s=%s\n' % x for x in kv))
        r = subprocess.run([ddnstest.tool('pdnsutil'), '--config-dir=' + d,
                            'create-secondary-zone', self.zone,
                            '127.0.0.1:%d' % self.primary_port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30, env=ddnstest.clean_env())
        if r.returncode != 0:
            raise AssertionError('pdnsutil create-secondary-zone: '
                                 + r.stdout)

    def argv(self):
        return [ddnstest.tool('pdns_server'), '--config-dir=' + self.dir]


KINDS = {'nsd': Nsd, 'knot': Knot, 'pdns': PdnsSecondary}


def available(kind):
    """True if the server of KIND is installed."""
    return bool(ddnstest.tool({'nsd': 'nsd', 'knot': 'knotd',
                               'pdns': 'pdns_server'}[kind]))
