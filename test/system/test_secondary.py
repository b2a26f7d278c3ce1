"""ddns as a primary: NOTIFY and zone transfers to real secondaries on
loopback (issue 8).

One primary (ddns-backend + pdns_server with primary=yes,
xfr-cycle-interval=1, NOTIFY only to the secondaries' loopback ports) and
three secondaries: NSD, Knot and a second pdns_server on the LMDB backend.
Knot is told of changes through ALSO-NOTIFY metadata that `pdnsutil
set-meta` writes through the backend into its state; the others through
pdns.conf's also-notify.
After a host's address changes, each secondary must answer the new
address within xfr-cycle-interval plus the transfer time (a deadline of
XFR_DEADLINE seconds; the times measured are printed).
"""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import ddnstest
import secondaries

ZONE = ddnstest.ZONE
CYCLE = 1            # xfr-cycle-interval of the primary, seconds
XFR_DEADLINE = 10.0  # CYCLE + transfer time, with room for a loaded CI


class SecondaryTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for t in ('pdns_server', 'pdnsutil', 'dig'):
            if not ddnstest.tool(t):
                raise unittest.SkipTest('%s is not installed' % t)
        cls.kinds = [k for k in ('nsd', 'knot', 'pdns')
                     if secondaries.available(k)]
        cls.tmp = tempfile.mkdtemp(prefix='ddns-sec-')
        cls.ports = {k: ddnstest.free_port(udp=True) for k in cls.kinds}
        conf_notify = [p for k, p in cls.ports.items() if k != 'knot']
        cls.svc = ddnstest.Service(
            pdns_extra=secondaries.primary_pdns_extra(conf_notify, CYCLE),
            conf_extra={'backend': {'state': os.path.join(cls.tmp,
                                                          'state')}})
        cls.secs = []
        try:
            cls.svc.start()
            cls.svc.ctl('zone', 'set', ZONE, '--kind', 'master')
            if 'knot' in cls.ports:
                cls.set_meta('ALSO-NOTIFY', '127.0.0.1:%d' % cls.ports['knot'])
            for k in cls.kinds:
                s = secondaries.KINDS[k](cls.tmp, ZONE, cls.svc.dns_port,
                                         cls.ports[k])
                cls.secs.append(s)
                s.start()
        except BaseException:
            cls._dump()
            cls._stop_all()
            raise

    @classmethod
    def set_meta(cls, kind, *values):
        r = subprocess.run([ddnstest.tool('pdnsutil'),
                            '--config-dir=' + cls.svc.pdnsdir, 'set-meta',
                            ZONE, kind] + list(values),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30, env=ddnstest.clean_env())
        if r.returncode != 0:
            raise AssertionError('pdnsutil set-meta: ' + r.stdout)

    @classmethod
    def _stop_all(cls):
        for s in cls.secs:
            s.stop()
        cls.svc.stop()

    @classmethod
    def _dump(cls):
        cls.svc.failed = True
        for s in cls.secs:
            print('----- %s\n%s' % (s.name, s.log_tail()))

    @classmethod
    def tearDownClass(cls):
        cls._stop_all()
        if not cls.svc.failed:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        else:
            print('kept', cls.tmp)

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            self._dump()
            self.svc.dump_logs()
        return out

    def wait_serial(self, serial):
        """Wait until every secondary serves SERIAL (or a later one)."""
        for s in self.secs:
            ddnstest.wait_for(lambda: (s.serial() or 0) >= serial,
                              '%s to serve serial %d' % (s.name, serial),
                              timeout=30, procs=[s.proc])

    def test_1_initial_transfer(self):
        """Every secondary transfers the zone and serves its SOA."""
        self.wait_serial(self.svc.soa_serial(axfr=True))

    def test_2_update_reaches_every_secondary(self):
        fqdn, secret = self.svc.new_host('sec')
        r = self.svc.update(fqdn, secret, myip='192.0.2.10')
        self.assertIn('good', r.body)
        self.wait_serial(self.svc.soa_serial(axfr=True))
        for ip in ('192.0.2.11', '198.51.100.7'):
            r = self.svc.update(fqdn, secret, myip=ip)
            self.assertIn('good', r.body)
            t0 = time.monotonic()
            times = {}
            for s in self.secs:
                ddnstest.wait_for(
                    lambda: s.dig(fqdn, 'A', timeout=1).data('A') == [ip],
                    '%s to answer %s A %s' % (s.name, fqdn, ip),
                    timeout=XFR_DEADLINE, procs=[s.proc])
                times[s.name] = time.monotonic() - t0
            print('\n  %s -> %s: %s' % (fqdn, ip, ', '.join(
                '%s %.2f s' % kv for kv in sorted(times.items()))))
            for name, t in times.items():
                self.assertLess(t, XFR_DEADLINE, name)

    def test_3_delete_reaches_every_secondary(self):
        """ddnsctl changes raise the serial too: a deleted host goes."""
        fqdn, secret = self.svc.new_host('gone')
        self.svc.update(fqdn, secret, myip='192.0.2.99')
        self.wait_serial(self.svc.soa_serial(axfr=True))
        self.svc.ctl('host', 'del', fqdn)
        for s in self.secs:
            ddnstest.wait_for(
                lambda: s.dig(fqdn, 'A', timeout=1).rcode == 'NXDOMAIN',
                '%s to forget %s' % (s.name, fqdn), timeout=XFR_DEADLINE,
                procs=[s.proc])

    def test_4_notified_serial_kept(self):
        """After the NOTIFY round, pdns finds no zone to notify: the
        notified serial is kept in the backend state, not in memory."""
        serial = self.svc.soa_serial(axfr=True)
        self.wait_serial(serial)
        log = os.path.join(self.svc.dir, 'ddns-backend.log')
        ddnstest.wait_for(
            lambda: ('serial %d notified' % serial) in ddnstest._read(log),
            'setNotified for serial %d' % serial)


if __name__ == '__main__':
    ddnstest.main()
