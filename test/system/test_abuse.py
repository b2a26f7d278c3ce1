"""System tests of issue 3's abuse and fault handling: per-host fault
counters in `ddnsctl host list --json`, the abuse flag past
[abuse] client_faults (reply "abuse", DNS records withdrawn, cleared by
`host clear-abuse`), the operator's block, failed-authentication limits
(429 + Retry-After), and wildcard hosts, all seen through curl and dig.

Faults are written by the updater's next group commit, just after the
reply: the tests poll `host list` with a deadline rather than assume the
order.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_abuse.py -v
"""

import json
import re
import unittest

import ddnstest
from ddnstest import ZONE, ServiceTestCase

ISO_RE = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
DNS_WAIT = 10  # seconds: less than pdns's cache-ttl, so a cached answer
#               that was not purged would fail the test


def wrong(secret):
    return secret[:-1] + ('x' if secret[-1] != 'x' else 'y')


class AbuseCase(ServiceTestCase):
    """Helpers shared by the classes below."""

    def host(self, fqdn):
        out = json.loads(self.svc.ctl('host', 'list', '--json').stdout)
        return {h['fqdn']: h for h in out}[fqdn]

    def wait_host(self, fqdn, pred, what):
        """Poll `host list --json` until PRED(host) holds; return it."""
        return ddnstest.wait_for(
            lambda: (lambda h: h if pred(h) else None)(self.host(fqdn)),
            '%s: %s' % (fqdn, what), timeout=DNS_WAIT)

    def update_from(self, src, fqdn, secret, myip=None, **query):
        """A dyndns2 update sent from source address SRC (127.0.0.0/8 is
        all ours on loopback)."""
        q = [('myip', myip)] if myip is not None else []
        q += list(query.items())
        url = self.svc.url('/nic/update', fqdn, secret, query=q or None)
        return self.svc.curl(url, '--interface', src)

    def wait_dns(self, name, rtype, data):
        """Poll dig until NAME/RTYPE answers exactly DATA ([] = none)."""
        def ok():
            r = self.svc.dig(name, rtype)
            return r if r.data(rtype) == sorted(data) else None
        r = ddnstest.wait_for(ok, 'dig %s %s -> %s' % (name, rtype, data),
                              timeout=DNS_WAIT)
        if data:
            self.assertEqual(r.rcode, 'NOERROR', r.text)
        else:
            self.assertIn(r.rcode, ('NXDOMAIN', 'NOERROR'), r.text)
        return r


class FaultsTest(AbuseCase):
    """Counters, the abuse flag, the block, wildcards.  Auth limits are
    high here so that failed authentications are only counted."""

    SERVICE_ARGS = {'ipv6': True, 'conf_extra': {'abuse': {
        'client_faults': 3, 'fault_window': 3600,
        'auth_failures_per_source': 1000, 'auth_failures_per_host': 1000}}}

    def test_counters(self):
        fqdn, secret = self.svc.new_host()
        h = self.host(fqdn)
        for k in ('client_faults', 'server_faults', 'auth_faults'):
            self.assertEqual(h[k], 0)
        for k in ('abuse', 'blocked', 'wildcard', 'tls4', 'tls6'):
            self.assertIs(h[k], False, k)
        self.assertIsNone(h['last_fault'])
        self.assertIsNone(h['last_fault_text'])

        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.1'),
                         200, 'good 192.0.2.1')
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.1'),
                         200, 'nochg 192.0.2.1')
        h = self.wait_host(fqdn, lambda h: h['client_faults'] == 1,
                           'one client fault')
        self.assertEqual(h['last_fault_text'], 'nochg 192.0.2.1')
        self.assertRegex(h['last_fault'], ISO_RE)

        self.assertReply(self.svc.update(fqdn, secret, '01.2.3.4'),
                         200, 'dnserr')
        h = self.wait_host(fqdn, lambda h: h['client_faults'] == 2,
                           'two client faults')
        self.assertEqual(h['last_fault_text'], 'dnserr: 01.2.3.4')

        other = 'other.' + ZONE
        r = self.svc.curl(self.svc.url('/nic/update', fqdn, secret,
                                       query=[('hostname', other)]))
        self.assertReply(r, 200, 'nohost')
        h = self.wait_host(fqdn, lambda h: h['client_faults'] == 3,
                           'three client faults')
        self.assertEqual(h['last_fault_text'], 'nohost ' + other)

        self.assertReply(self.svc.update(fqdn, wrong(secret), '192.0.2.2'),
                         401, 'badauth')
        h = self.wait_host(fqdn, lambda h: h['auth_faults'] == 1,
                           'one auth fault')
        self.assertEqual(h['last_fault_text'], 'badauth from 127.0.0.1')
        self.assertEqual(h['client_faults'], 3)
        self.assertEqual(h['server_faults'], 0)
        self.assertIs(h['abuse'], False)  # 3 is not past 3
        self.assertEqual(h['ipv4'], '192.0.2.1')

    def test_abuse_flag(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.50'),
                         200, 'good 192.0.2.50')
        self.assertAnswer(fqdn, 'A', ['192.0.2.50'])  # now in pdns's cache
        for _ in range(4):  # the 4th nochg is past client_faults = 3
            self.assertReply(self.svc.update(fqdn, secret, '192.0.2.50'),
                             200, 'nochg 192.0.2.50')
        h = self.wait_host(fqdn, lambda h: h['abuse'], 'the abuse flag')
        self.assertEqual(h['client_faults'], 4)
        # Its records are withdrawn, the cached answer purged.
        self.wait_dns(fqdn, 'A', [])
        # Its updates answer abuse with 200, change and count nothing.
        r = self.svc.update(fqdn, secret, '192.0.2.51')
        self.assertReply(r, 200, 'abuse')
        self.assertEqual(r.body.strip(), 'abuse')
        h = self.host(fqdn)
        self.assertEqual((h['ipv4'], h['client_faults']), ('192.0.2.50', 4))
        self.assertEqual(self.svc.dig(fqdn, 'A').data('A'), [])

        r = self.svc.ctl('host', 'clear-abuse', fqdn)
        self.assertIn('no longer flagged', r.stdout)
        self.assertIs(self.host(fqdn)['abuse'], False)
        self.assertAnswer(fqdn, 'A', ['192.0.2.50'])
        # The window starts afresh: three more faults are tolerated.
        for _ in range(3):
            self.assertReply(self.svc.update(fqdn, secret, '192.0.2.50'),
                             200, 'nochg 192.0.2.50')
        self.wait_host(fqdn, lambda h: h['client_faults'] == 7,
                       'seven client faults')
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.52'),
                         200, 'good 192.0.2.52')
        self.assertIs(self.host(fqdn)['abuse'], False)
        self.assertAnswer(fqdn, 'A', ['192.0.2.52'])
        # Clearing a host that is not flagged says so and succeeds.
        r = self.svc.ctl('host', 'clear-abuse', fqdn)
        self.assertIn('is not flagged', r.stdout)

    def test_block(self):
        fqdn, secret = self.svc.new_host()
        self.svc.set_ip(fqdn, '192.0.2.70')
        self.assertAnswer(fqdn, 'A', ['192.0.2.70'])
        serial = self.svc.soa_serial(axfr=True)
        r = self.svc.ctl('host', 'block', fqdn)
        self.assertIn('blocked', r.stdout)
        self.assertIs(self.host(fqdn)['blocked'], True)
        self.assertGreater(self.svc.soa_serial(axfr=True), serial)
        self.assertNoAnswer(fqdn, 'A')
        r = self.svc.update(fqdn, secret, '192.0.2.71')
        self.assertReply(r, 200, 'abuse')
        self.assertIn('already', self.svc.ctl('host', 'block', fqdn).stdout)
        h = self.host(fqdn)
        self.assertEqual((h['ipv4'], h['client_faults']), ('192.0.2.70', 0))

        self.svc.ctl('host', 'unblock', fqdn)
        self.assertIs(self.host(fqdn)['blocked'], False)
        self.assertAnswer(fqdn, 'A', ['192.0.2.70'])
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.71'),
                         200, 'good 192.0.2.71')
        self.assertIn('not blocked',
                      self.svc.ctl('host', 'unblock', fqdn).stdout)
        # An unknown host is an error.
        r = self.svc.ctl('host', 'block', 'nope.' + ZONE, check=False)
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_wildcard(self):
        fqdn, secret = self.svc.new_host()
        below = 'anything.' + fqdn
        self.svc.set_ip(fqdn, '192.0.2.60')
        self.assertEqual(self.svc.dig(below, 'A').rcode, 'NXDOMAIN')
        r = self.svc.ctl('host', 'set', fqdn, '--wildcard', 'on')
        self.assertIn('wildcard on', r.stdout)
        self.assertIs(self.host(fqdn)['wildcard'], True)
        self.assertAnswer(below, 'A', ['192.0.2.60'])
        self.assertAnswer('a.b.' + fqdn, 'A', ['192.0.2.60'])
        # An update reaches the names below at once (the updater purges
        # the subtree).
        self.assertReply(self.svc.update(fqdn, secret, '192.0.2.61'),
                         200, 'good 192.0.2.61')
        self.wait_dns(below, 'A', ['192.0.2.61'])
        # --ip and --wildcard together.
        self.svc.ctl('host', 'set', fqdn, '--ip', '2001:db8::61',
                     '--wildcard', 'on')
        self.assertAnswer(below, 'AAAA', ['2001:db8::61'])
        r = self.svc.ctl('host', 'set', fqdn, '--wildcard', 'off')
        self.assertIn('wildcard off', r.stdout)
        self.assertIs(self.host(fqdn)['wildcard'], False)
        self.assertEqual(self.svc.dig(below, 'A').rcode, 'NXDOMAIN')
        self.assertAnswer(fqdn, 'A', ['192.0.2.61'])
        r = self.svc.ctl('host', 'set', fqdn, '--wildcard', 'off')
        self.assertIn('unchanged', r.stdout)
        r = self.svc.ctl('host', 'set', fqdn, '--wildcard', 'yes',
                         check=False)
        self.assertEqual(r.returncode, 2, r.stderr)


class AuthLimitTest(AbuseCase):
    """Failed authentications: at most 3 per source and 5 per host in 300 s,
    then 429 without verifying the secret."""

    SERVICE_ARGS = {'ipv6': True, 'conf_extra': {'abuse': {
        'auth_failures_per_source': 3, 'auth_failures_per_host': 5,
        'auth_window': 300}}}

    def assert429(self, r):
        self.assertReply(r, 429, 'abuse')
        retry = r.headers.get('retry-after', '')
        self.assertTrue(retry.isdigit() and 0 < int(retry) <= 300, r)
        for word in ('good', 'nochg', 'ok', 'true', 'updated'):
            self.assertNotIn(word, r.body)

    def test_per_source(self):
        fqdn, secret = self.svc.new_host()
        self.assertReply(self.update_from('127.0.0.2', fqdn, secret,
                                          '192.0.2.80'),
                         200, 'good 192.0.2.80')
        for _ in range(3):
            self.assertReply(self.update_from('127.0.0.3', fqdn,
                                              wrong(secret), '192.0.2.81'),
                             401, 'badauth')
        self.assert429(self.update_from('127.0.0.3', fqdn, wrong(secret),
                                        '192.0.2.81'))
        # Not even the right secret is looked at from there, and nothing
        # changes.
        self.assert429(self.update_from('127.0.0.3', fqdn, secret,
                                        '192.0.2.82'))
        # Any host, from that source.
        other, other_secret = self.svc.new_host()
        self.assert429(self.update_from('127.0.0.3', other, other_secret,
                                        '192.0.2.83'))
        # The right secret from another address is unaffected.
        self.assertReply(self.update_from('127.0.0.2', fqdn, secret,
                                          '192.0.2.84'),
                         200, 'good 192.0.2.84')
        self.assertReply(self.svc.update(fqdn, secret, '2001:db8::84',
                                         host='::1'),
                         200, 'good 2001:db8::84')
        h = self.wait_host(fqdn, lambda h: h['auth_faults'] == 3,
                           'three auth faults')
        self.assertEqual(h['ipv4'], '192.0.2.84')
        self.assertEqual(h['last_fault_text'], 'badauth from 127.0.0.3')
        self.assertAnswer(fqdn, 'A', ['192.0.2.84'])
        self.assertEqual(self.host(other)['ipv4'], None)

    def test_per_host(self):
        fqdn, secret = self.svc.new_host()
        # 127.0.0.10 is the host's usual client.
        self.assertReply(self.update_from('127.0.0.10', fqdn, secret,
                                          '192.0.2.90'),
                         200, 'good 192.0.2.90')
        # Five failures from three addresses, each under its own limit.
        for src, n in (('127.0.0.11', 2), ('127.0.0.12', 2),
                       ('127.0.0.13', 1)):
            for _ in range(n):
                self.assertReply(self.update_from(src, fqdn, wrong(secret)),
                                 401, 'badauth')
        # A new address is refused for that host, even with its secret...
        self.assert429(self.update_from('127.0.0.14', fqdn, secret,
                                        '192.0.2.91'))
        # ... but not for another host,
        other, other_secret = self.svc.new_host()
        self.assertReply(self.update_from('127.0.0.14', other, other_secret,
                                          '192.0.2.92'),
                         200, 'good 192.0.2.92')
        # and the host's usual client still gets through.
        self.assertReply(self.update_from('127.0.0.10', fqdn, secret,
                                          '192.0.2.93'),
                         200, 'good 192.0.2.93')
        h = self.wait_host(fqdn, lambda h: h['auth_faults'] == 5,
                           'five auth faults')
        self.assertEqual(h['ipv4'], '192.0.2.93')
        # Unknown names are limited per source only.
        self.assertReply(self.update_from('127.0.0.15', 'nope.' + ZONE,
                                          'x'),
                         401, 'badauth')


if __name__ == '__main__':
    unittest.main(verbosity=2)
