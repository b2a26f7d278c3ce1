"""DNSSEC with remote-dnssec=yes (issue 8): keys and metadata kept in the
backend state, live signing by pdns, NSEC denial from
getBeforeAndAfterNamesAbsolute.

`pdnsutil secure-zone` against the running backend; then `delv` with the
zone's own DNSKEY as its trust anchor validates a host's address after an
update, a name that does not exist (NXDOMAIN), a type a host does not have
(NODATA) and a wildcard answer; `ldns-verify-zone` checks an AXFR of the
signed zone.  Once on the unix connector, once on the pipe connector
(where pdns and pdnsutil start their own backend processes: nothing may
live in memory).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

import ddnstest
import secondaries

ZONE = ddnstest.ZONE


def run(argv, timeout=30):
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env=ddnstest.clean_env())


class DnssecBase(ddnstest.ServiceTestCase):
    CONNECTOR = 'unix'
    NSEC3_NARROW = False

    @classmethod
    def setUpClass(cls):
        for t in ('pdnsutil', 'delv', 'ldns-verify-zone'):
            if not ddnstest.tool(t):
                raise unittest.SkipTest('%s is not installed' % t)
        cls.tmp = tempfile.mkdtemp(prefix='ddns-dnssec-')
        cls.SERVICE_ARGS = {
            'connector': cls.CONNECTOR,
            'pdns_extra': {'remote-dnssec': 'yes'},
            'conf_extra': {'backend': {
                'state': os.path.join(cls.tmp, 'state')}},
        }
        super().setUpClass()
        r = cls.pdnsutil('secure-zone', ZONE)
        if r.returncode == 0 and cls.NSEC3_NARROW:
            r = cls.pdnsutil('set-nsec3', ZONE, '1 0 0 -', 'narrow')
        if r.returncode != 0:
            cls.tearDownClass()
            raise AssertionError('secure-zone / set-nsec3: ' + r.stdout)
        cls.anchor = os.path.join(cls.tmp, 'anchor.conf')
        cls.write_anchor()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.svc and not cls.svc.failed:
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def pdnsutil(cls, *args):
        return run([ddnstest.tool('pdnsutil'),
                    '--config-dir=' + cls.svc.pdnsdir] + list(args))

    @classmethod
    def write_anchor(cls):
        """delv's trust anchor: the zone's KSK as pdns serves it."""
        r = cls.svc.dig(ZONE, 'DNSKEY')
        keys = [d.split(None, 3) for d in r.data('DNSKEY')]
        ksk = [k for k in keys if k[0] == '257']
        if not ksk:
            raise AssertionError('no KSK served:\n' + r.text)
        flags, proto, alg, b64 = ksk[0]
        ddnstest.write_file(cls.anchor, 'trust-anchors {\n  %s. static-key '
                            '%s %s %s "%s";\n};\n' % (
                                ZONE, flags, proto, alg,
                                b64.replace(' ', '')))

    def delv(self, name, rtype='A', port=None):
        r = run([ddnstest.tool('delv'), '-a', self.anchor, '+root=' + ZONE,
                 '@127.0.0.1', '-p', str(port or self.svc.dns_port), name,
                 rtype])
        return r.stdout

    def test_secure_zone_keys_in_state(self):
        r = self.pdnsutil('show-zone', ZONE)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn('Active', r.stdout)
        self.assertIn('flags = 257', r.stdout)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, 'state',
                                                    'data.mdb')))

    def test_update_validates(self):
        fqdn, secret = self.svc.new_host('sig')
        for ip in ('192.0.2.21', '198.51.100.22'):
            r = self.svc.update(fqdn, secret, myip=ip)
            self.assertIn('good', r.body)
            r = self.svc.dig(fqdn, 'A')
            out = self.delv(fqdn)
            self.assertIn('; fully validated', out)
            self.assertIn('\tA\t%s' % ip, out)
            self.assertIn('RRSIG\tA 13', out)

    def test_nxdomain_validates(self):
        out = self.delv('no-such-host.' + ZONE)
        self.assertIn('negative response, fully validated', out)
        self.assertIn('NXDOMAIN', out)
        out = self.delv('zzz.' + ZONE)
        self.assertIn('negative response, fully validated', out)

    def test_blocked_host_denied(self):
        """A blocked host has no records and leaves the NSEC chain: its
        name is a validated NXDOMAIN until it is unblocked."""
        fqdn, secret = self.svc.new_host('blk')
        self.svc.update(fqdn, secret, myip='192.0.2.70')
        self.assertIn('; fully validated', self.delv(fqdn))
        self.svc.ctl('host', 'block', fqdn)
        out = self.delv(fqdn)
        self.assertIn('negative response, fully validated', out)
        self.assertIn('NXDOMAIN', out)
        self.svc.ctl('host', 'unblock', fqdn)
        self.assertIn('192.0.2.70', self.delv(fqdn))

    def test_acme_challenge_validates(self):
        """A live ACME challenge's TXT validates, and so do denials
        around it (its name is in the NSEC chain while it lives)."""
        fqdn, secret = self.svc.new_host('acme')
        r = self.svc.curl(self.svc.url('/nic/update', fqdn, secret, query=[
            ('myip', '192.0.2.80'), ('txt', 'dGVzdC12YWx1ZQ')]))
        self.assertIn('good', r.body)
        name = '_acme-challenge.' + fqdn
        out = self.delv(name, 'TXT')
        self.assertIn('; fully validated', out)
        self.assertIn('dGVzdC12YWx1ZQ', out)
        for qname, rtype in ((name, 'A'), ('0.' + fqdn, 'A'),
                             ('zz.' + fqdn, 'A')):
            out = self.delv(qname, rtype)
            self.assertIn('negative response, fully validated', out,
                          qname + ' ' + rtype)

    def test_nodata_validates(self):
        fqdn, secret = self.svc.new_host('v4only')
        self.svc.update(fqdn, secret, myip='192.0.2.30')
        out = self.delv(fqdn, 'AAAA')
        self.assertIn('negative response, fully validated', out)
        self.assertIn('NXRRSET', out)

    def test_wildcard_validates(self):
        fqdn, secret = self.svc.new_host('wild')
        self.svc.update(fqdn, secret, myip='192.0.2.40')
        self.svc.ctl('host', 'set', fqdn, '--wildcard', 'on')
        self.svc.pdns_control('purge', ZONE + '$')
        out = self.delv('any.thing.' + fqdn)
        self.assertIn('; fully validated', out)
        self.assertIn('192.0.2.40', out)

    def test_axfr_verifies(self):
        fqdn, secret = self.svc.new_host('xfr')
        self.svc.update(fqdn, secret, myip='192.0.2.50')
        r = run([ddnstest.tool('dig'), '@127.0.0.1', '-p',
                 str(self.svc.dns_port), ZONE, 'AXFR'])
        path = os.path.join(self.tmp, 'axfr.zone')
        ddnstest.write_file(path, r.stdout)
        self.assertIn('RRSIG', r.stdout)
        self.assertIn('NSEC', r.stdout)
        v = run([ddnstest.tool('ldns-verify-zone'), path])
        self.assertEqual(v.returncode, 0, v.stdout)
        self.assertIn('Zone is verified and complete', v.stdout)

    def test_signed_zone_on_a_secondary(self):
        """NSD serves the transferred signed zone: it validates there."""
        if not secondaries.available('nsd'):
            self.skipTest('nsd is not installed')
        fqdn, secret = self.svc.new_host('onsec')
        self.svc.update(fqdn, secret, myip='192.0.2.60')
        nsd = secondaries.Nsd(self.tmp, ZONE, self.svc.dns_port)
        try:
            nsd.start()
            ddnstest.wait_for(
                lambda: nsd.dig(fqdn, 'A', timeout=1).data('A') ==
                ['192.0.2.60'], 'nsd to serve %s' % fqdn, procs=[nsd.proc])
            out = self.delv(fqdn, port=nsd.port)
            self.assertIn('; fully validated', out)
            out = self.delv('absent.' + ZONE, port=nsd.port)
            self.assertIn('negative response, fully validated', out)
        finally:
            nsd.stop()

    def test_key_lifecycle_and_metadata(self):
        r = self.pdnsutil('add-zone-key', ZONE, 'zsk', 'inactive',
                          'ecdsa256')
        self.assertEqual(r.returncode, 0, r.stdout)
        kid = r.stdout.strip().splitlines()[-1].strip()
        self.assertTrue(kid.isdigit(), r.stdout)
        for cmd in ('activate-zone-key', 'deactivate-zone-key',
                    'unpublish-zone-key', 'publish-zone-key',
                    'remove-zone-key'):
            r = self.pdnsutil(cmd, ZONE, kid)
            self.assertEqual(r.returncode, 0, cmd + ': ' + r.stdout)
        r = self.pdnsutil('show-zone', ZONE)
        self.assertNotIn('ID = %s ' % kid, r.stdout)
        r = self.pdnsutil('set-meta', ZONE, 'X-DDNS-TEST', 'a', 'b')
        self.assertEqual(r.returncode, 0, r.stdout)
        r = self.pdnsutil('get-meta', ZONE, 'X-DDNS-TEST')
        self.assertIn('X-DDNS-TEST = a, b', r.stdout)
        self.pdnsutil('set-meta', ZONE, 'X-DDNS-TEST')
        r = self.pdnsutil('get-meta', ZONE, 'X-DDNS-TEST')
        self.assertNotIn('= a', r.stdout)


class DnssecUnixTest(DnssecBase):
    CONNECTOR = 'unix'


class DnssecPipeTest(DnssecBase):
    CONNECTOR = 'pipe'


class DnssecNsec3NarrowTest(DnssecBase):
    """NSEC3 narrow: pdns makes the denials itself (white lies) and never
    asks for the order of names."""
    NSEC3_NARROW = True

    def test_nxdomain_validates(self):
        super().test_nxdomain_validates()
        out = self.delv('nope.' + ZONE)
        self.assertNotIn('NSEC ', out)
        log = ddnstest._read(os.path.join(self.svc.dir, 'ddns-backend.log'))
        self.assertNotIn('getBeforeAndAfterNamesAbsolute', log)

    def test_axfr_verifies(self):
        """pdns 4.7 refuses AXFR of an NSEC3 narrow zone (README)."""
        r = run([ddnstest.tool('dig'), '@127.0.0.1', '-p',
                 str(self.svc.dns_port), ZONE, 'AXFR'])
        self.assertIn('Transfer failed', r.stdout)

    def test_signed_zone_on_a_secondary(self):
        self.skipTest('no AXFR of an NSEC3 narrow zone')


del DnssecBase

if __name__ == '__main__':
    ddnstest.main()
