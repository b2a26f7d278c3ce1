#!/usr/bin/python3
"""ACME DNS-01 challenges (issue 7) against real pdns_server, dig and curl:
TXT values at _acme-challenge.HOST set and cleared with the host's secret
through lego's httpreq contract and /nic/update (txt=, clear), by the
owner through the API, expiring by themselves; and a real issuance with
the pebble test CA and the lego client for HOST and *.HOST.

Run: /usr/bin/python3 test/system/test_acme.py (DDNS_BUILD_DIR=build-x)."""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import ddnstest
from ddnstest import ZONE, ServiceTestCase

V1 = 'Zm9vYmFyMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY'
V2 = 'YmF6cXV4MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY'
V3 = 'cXV1eDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg'
CONTRIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..',
                       '..', 'contrib')


def call(port, method, path, body=None, headers=None, auth=None):
    """One request on a new connection; BODY a dict is sent as JSON, AUTH
    (user, password) as Basic.  Returns (status, parsed JSON or text)."""
    hdrs = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body)
        hdrs.setdefault('Content-Type', 'application/json')
    if auth:
        hdrs['Authorization'] = ddnstest.basic_auth(*auth)[1]
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read().decode('utf-8', 'replace')
    finally:
        conn.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data


def acme_name(fqdn):
    return '_acme-challenge.' + fqdn


class AcmeCase(ServiceTestCase):
    """One service for the set/clear paths (default challenge lifetime)."""

    SERVICE_ARGS = {'ipv6': False}

    def txt(self, fqdn):
        """The TXT values served at _acme-challenge.FQDN, without quotes."""
        r = self.svc.dig(acme_name(fqdn), 'TXT')
        self.assertIn(r.rcode, ('NOERROR', 'NXDOMAIN'), r.text)
        for rec in r.answer:
            if rec.type == 'TXT':
                self.assertLessEqual(rec.ttl, 60, r.text)
        return sorted(v.strip('"') for v in r.data('TXT'))

    def present(self, fqdn, secret, value, op='present', user=None,
                name=None):
        return call(self.svc.http_port, 'POST', '/acme/' + op,
                    {'fqdn': (name or acme_name(fqdn)) + '.',
                     'value': value}, auth=(user or fqdn, secret))

    def test_httpreq_present_cleanup(self):
        fqdn, secret = self.svc.new_host('lego')
        self.assertEqual(self.txt(fqdn), [])
        self.assertEqual(self.present(fqdn, secret, V1)[0], 200)
        self.assertEqual(self.txt(fqdn), [V1])
        # a name and its wildcard: two values at once
        st, body = self.present(fqdn, secret, V2)
        self.assertEqual((st, body), (200, {'fqdn': acme_name(fqdn),
                                            'value': V2}))
        self.assertEqual(self.txt(fqdn), sorted([V1, V2]))
        r = self.assertAnswer(acme_name(fqdn), 'TXT',
                              ['"%s"' % V1, '"%s"' % V2], ttl=60)
        # cleanup removes only the value named
        self.assertEqual(self.present(fqdn, secret, V1, 'cleanup')[0], 200)
        self.assertEqual(self.txt(fqdn), [V2])
        self.assertEqual(self.present(fqdn, secret, V2, 'cleanup')[0], 200)
        self.assertEqual(self.txt(fqdn), [])
        # nothing else of the host changed: no address was set
        self.assertNoAnswer(fqdn, 'A')
        del r

    def test_httpreq_refusals(self):
        fqdn, secret = self.svc.new_host('lego')
        other, other_secret = self.svc.new_host('lego')
        port = self.svc.http_port
        # wrong secret, unknown host: 401 and nothing set
        st, _ = self.present(fqdn, other_secret, V1)
        self.assertEqual(st, 401)
        st, _ = self.present(fqdn, secret, V1, user='nohost.' + ZONE)
        self.assertEqual(st, 401)
        # another host's name with this host's secret: 403
        st, body = self.present(fqdn, secret, V1, name=acme_name(other))
        self.assertEqual(st, 403, body)
        # not a challenge name, a bad value, a bad body: 400
        self.assertEqual(self.present(fqdn, secret, V1, name=fqdn)[0], 400)
        self.assertEqual(self.present(fqdn, secret, 'a b"c')[0], 400)
        st, _ = call(port, 'POST', '/acme/present', 'not json',
                     auth=(fqdn, secret))
        self.assertEqual(st, 400)
        st, _ = call(port, 'GET', '/acme/present', auth=(fqdn, secret))
        self.assertEqual(st, 405)
        st, _ = call(port, 'POST', '/acme/other', {}, auth=(fqdn, secret))
        self.assertEqual(st, 404)
        self.assertEqual(self.txt(fqdn), [])
        self.assertEqual(self.txt(other), [])
        # a wrong secret is counted on the host, as for /nic/update
        ddnstest.wait_for(
            lambda: self.svc.host_info(fqdn).get('auth_faults', 0) >= 1,
            'the auth fault of %s to be counted' % fqdn)

    def update(self, fqdn, secret, query):
        return self.svc.curl(self.svc.url('/nic/update', fqdn, secret,
                                          query=query))

    def test_nic_update_txt(self):
        fqdn, secret = self.svc.new_host('nic')
        r = self.update(fqdn, secret, 'txt=' + V1)
        self.assertEqual((r.status, r.body), (200, 'good'))
        # no address parameter: the address is left alone
        self.assertNoAnswer(fqdn, 'A')
        r = self.update(fqdn, secret, 'txt=%s&myip=192.0.2.7' % V2)
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.7'))
        self.assertAnswer(fqdn, 'A', ['192.0.2.7'])
        self.assertEqual(self.txt(fqdn), sorted([V1, V2]))
        # clear one of two values, then every value
        r = self.update(fqdn, secret, 'txt=%s&clear=true' % V1)
        self.assertEqual((r.status, r.body), (200, 'good'))
        self.assertEqual(self.txt(fqdn), [V2])
        r = self.update(fqdn, secret, 'clear')
        self.assertEqual((r.status, r.body), (200, 'good'))
        self.assertEqual(self.txt(fqdn), [])
        # refused input changes nothing
        r = self.update(fqdn, secret, 'txt=a%22b')
        self.assertEqual((r.status, r.body), (200, 'dnserr'))
        r = self.update(fqdn, 'wrong' + secret, 'txt=' + V1)
        self.assertEqual((r.status, r.body), (401, 'badauth'))
        self.assertEqual(self.txt(fqdn), [])
        self.assertAnswer(fqdn, 'A', ['192.0.2.7'])

    def test_axfr_and_cap(self):
        fqdn, secret = self.svc.new_host('cap')
        for v in (V1, V2, V3, 'd4', 'e5'):
            self.assertEqual(self.present(fqdn, secret, v)[0], 200)
        # at most [acme] max_values (4): the oldest made room
        self.assertEqual(self.txt(fqdn), sorted([V2, V3, 'd4', 'e5']))
        r = self.svc.dig(ZONE, 'AXFR')
        names = [x.name.rstrip('.') for x in r.answer if x.type == 'TXT']
        self.assertEqual(names.count(acme_name(fqdn)), 4, r.text)
        self.update(fqdn, secret, 'clear')
        self.assertEqual(self.txt(fqdn), [])

    def hook(self, script, env, *args):
        """Run CONTRIB/SCRIPT under /bin/sh with ENV added; returns the
        CompletedProcess."""
        path = os.path.join(CONTRIB, script)
        return subprocess.run(['/bin/sh', path] + list(args), text=True,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              env=ddnstest.clean_env(env), timeout=60,
                              stdin=subprocess.DEVNULL)

    def test_certbot_hooks(self):
        """contrib/certbot-auth.sh and certbot-cleanup.sh as certbot runs
        them (certbot itself is not run): a name and its wildcard."""
        fqdn, secret = self.svc.new_host('certbot')
        sdir = tempfile.mkdtemp(prefix='secrets-', dir=self.svc.dir)
        ddnstest.write_file(os.path.join(sdir, fqdn), secret + '\n', 0o600)
        base = {'DDNS_URL': 'http://127.0.0.1:%d' % self.svc.http_port,
                'DDNS_SECRET_DIR': sdir, 'CERTBOT_DOMAIN': fqdn}
        for domain, v in ((fqdn, V1), ('*.' + fqdn, V2)):
            r = self.hook('certbot-auth.sh', dict(
                base, CERTBOT_DOMAIN=domain, CERTBOT_VALIDATION=v))
            self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.txt(fqdn), sorted([V1, V2]))
        r = self.hook('certbot-cleanup.sh', dict(base, CERTBOT_VALIDATION=V1))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.txt(fqdn), [V2])
        # a wrong secret fails the hook (and so certbot) and sets nothing
        r = self.hook('certbot-auth.sh', dict(
            base, DDNS_SECRET='x' + secret, CERTBOT_VALIDATION=V3))
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertNotIn(secret, r.stdout)
        r = self.hook('certbot-cleanup.sh', dict(base, CERTBOT_VALIDATION=V2))
        self.assertEqual((r.returncode, self.txt(fqdn)), (0, []), r.stdout)

    def test_acme_sh_dnsapi(self):
        """contrib/acme.sh/dns_ddns.sh's functions, sourced by /bin/sh as
        acme.sh sources a DNS API (acme.sh itself is not run)."""
        fqdn, secret = self.svc.new_host('acmesh')
        env = {'DDNS_URL': 'http://127.0.0.1:%d' % self.svc.http_port,
               'DDNS_SECRET': secret, 'NAME': acme_name(fqdn),
               'SCRIPT': os.path.join(CONTRIB, 'acme.sh', 'dns_ddns.sh')}

        def run(calls):
            return subprocess.run(
                ['/bin/sh', '-c', '. "$SCRIPT" && ' + calls], text=True,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=ddnstest.clean_env(env), timeout=60)
        r = run('dns_ddns_add "$NAME" %s && dns_ddns_add "$NAME" %s'
                % (V1, V2))
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.txt(fqdn), sorted([V1, V2]))
        r = run('dns_ddns_rm "$NAME" %s' % V1)
        self.assertEqual((r.returncode, self.txt(fqdn)), (0, [V2]), r.stdout)
        env['DDNS_SECRET'] = 'x' + secret
        r = run('dns_ddns_rm "$NAME" %s' % V2)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertEqual(self.txt(fqdn), [V2])
        env['DDNS_SECRET'] = secret
        self.assertEqual(run('dns_ddns_rm "$NAME" %s' % V2).returncode, 0)
        self.assertEqual(self.txt(fqdn), [])

    def test_host_deleted_and_made_again(self):
        fqdn, secret = self.svc.new_host('gone')
        self.assertEqual(self.present(fqdn, secret, V1)[0], 200)
        self.svc.ctl('host', 'del', fqdn)
        self.svc.add_host(fqdn)
        # a new host of the same name never inherits the old values
        self.assertEqual(self.txt(fqdn), [])


class OwnerCase(ServiceTestCase):
    """The owner's session and token (API and /nic/update with Bearer)."""

    SERVICE_ARGS = {'ipv6': False}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.tokens = {}
            for name in ('alice', 'bob'):
                ctl = subprocess.run(
                    [ddnstest.binary('ddnsctl'), '-c', cls.svc.conf, 'user',
                     'add', name, '--password-stdin'],
                    input='pw-%s-0123456789\n' % name, text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=ddnstest.clean_env(), timeout=60, check=True)
                out = subprocess.run(
                    [ddnstest.binary('ddnsctl'), '-c', cls.svc.conf, 'user',
                     'token', 'add', name], text=True,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=ddnstest.clean_env(), timeout=60, check=True).stdout
                cls.tokens[name] = out.strip().splitlines()[-1].strip()
                del ctl
        except BaseException:
            cls.tearDownClass()
            raise

    def api(self, who, method, path, body=None):
        h = {'Authorization': 'Bearer ' + self.tokens[who]}
        return call(self.svc.http_port, method, '/api/v1' + path, body, h)

    def txt(self, fqdn):
        r = self.svc.dig(acme_name(fqdn), 'TXT')
        return sorted(v.strip('"') for v in r.data('TXT'))

    def test_owner_only(self):
        st, host = self.api('alice', 'POST', '/hosts',
                            {'name': 'alicehost', 'domain': ZONE})
        self.assertEqual(st, 201, host)
        fqdn = host['fqdn'] if 'fqdn' in host else host['host']['fqdn']
        path = '/hosts/%s/acme' % fqdn
        st, body = self.api('alice', 'POST', path, {'value': V1})
        self.assertEqual(st, 200, body)
        self.assertEqual([v['value'] for v in body['values']], [V1])
        self.assertEqual(self.txt(fqdn), [V1])
        # bob sees no such host and changes nothing
        for method, p, b in (('GET', path, None),
                             ('POST', path, {'value': V2}),
                             ('DELETE', path, None),
                             ('DELETE', path + '/' + V1, None)):
            st, body = self.api('bob', method, p, b)
            self.assertEqual(st, 404, (method, p, body))
        self.assertEqual(self.txt(fqdn), [V1])
        # /nic/update with alice's token: her host only
        r = self.svc.curl(self.svc.url('/nic/update', query='hostname=%s'
                                       '&txt=%s' % (fqdn, V2)),
                          '-H', 'Authorization: Bearer ' + self.tokens['alice'])
        self.assertEqual((r.status, r.body), (200, 'good'))
        r = self.svc.curl(self.svc.url('/nic/update', query='hostname=%s'
                                       '&txt=%s' % (fqdn, V3)),
                          '-H', 'Authorization: Bearer ' + self.tokens['bob'])
        self.assertEqual((r.status, r.body), (200, 'nohost'))
        self.assertEqual(self.txt(fqdn), sorted([V1, V2]))
        st, body = self.api('alice', 'GET', path)
        self.assertEqual(sorted(v['value'] for v in body['values']),
                         sorted([V1, V2]))
        # delete one, then all
        self.assertEqual(self.api('alice', 'DELETE', path + '/' + V1)[0], 204)
        self.assertEqual(self.txt(fqdn), [V2])
        self.assertEqual(self.api('alice', 'DELETE', path)[0], 204)
        self.assertEqual(self.txt(fqdn), [])

    def test_session(self):
        st, host = self.api('alice', 'POST', '/hosts',
                            {'name': 'alicesess', 'domain': ZONE})
        self.assertEqual(st, 201, host)
        fqdn = host['fqdn'] if 'fqdn' in host else host['host']['fqdn']
        conn = http.client.HTTPConnection('127.0.0.1', self.svc.http_port,
                                          timeout=10)
        try:
            conn.request('POST', '/api/v1/login', json.dumps(
                {'username': 'alice', 'password': 'pw-alice-0123456789'}),
                {'Content-Type': 'application/json'})
            r = conn.getresponse()
            login = json.loads(r.read())
            cookie = [v for k, v in r.getheaders()
                      if k.lower() == 'set-cookie'][0].split(';')[0]
        finally:
            conn.close()
        h = {'Cookie': cookie, 'X-CSRF-Token': login['csrf']}
        path = '/api/v1/hosts/%s/acme' % fqdn
        st, _ = call(self.svc.http_port, 'POST', path, {'value': V3},
                     {'Cookie': cookie})
        self.assertEqual(st, 403)  # no CSRF token
        st, body = call(self.svc.http_port, 'POST', path, {'value': V3}, h)
        self.assertEqual(st, 200, body)
        self.assertEqual(self.txt(fqdn), [V3])


class ExpiryCase(ServiceTestCase):
    """A short challenge lifetime: values vanish by themselves."""

    SERVICE_ARGS = {'ipv6': False,
                    'conf_extra': {'acme': {'challenge_ttl': '3'},
                                   'abuse': {'auth_failures_per_source':
                                             '3'}}}

    def test_expiry(self):
        fqdn, secret = self.svc.new_host('exp')
        name = acme_name(fqdn)
        st, _ = call(self.svc.http_port, 'POST', '/acme/present',
                     {'fqdn': name, 'value': V1}, auth=(fqdn, secret))
        self.assertEqual(st, 200)
        start = time.monotonic()
        r = self.svc.dig(name, 'TXT')
        self.assertEqual(r.data('TXT'), ['"%s"' % V1], r.text)
        for rec in r.answer:
            self.assertLessEqual(rec.ttl, 3, r.text)
        # gone once expired, without any cleanup: poll the answer
        ddnstest.wait_for(lambda: self.svc.dig(name, 'TXT').data('TXT') == [],
                          'the challenge to expire', timeout=15)
        self.assertGreaterEqual(time.monotonic() - start, 1.0)
        # and the sweep removes it from the store (its log line)
        ddnstest.wait_for(
            lambda: 'swept' in ddnstest._read(self.svc.logs()['ddns-updater']),
            'the sweep to remove it', timeout=15)


    def test_rate_limit(self):
        """Failed authentications count as for /nic/update: past the
        limit per source, 429 before any secret is verified (even a
        good one).  Runs after test_expiry (it blocks this source)."""
        fqdn, secret = self.svc.new_host('rl')
        body = {'fqdn': acme_name(fqdn), 'value': V1}
        for _ in range(3):
            st, _ = call(self.svc.http_port, 'POST', '/acme/present', body,
                         auth=(fqdn, 'x' + secret))
            self.assertEqual(st, 401)
        st, _ = call(self.svc.http_port, 'POST', '/acme/present', body,
                     auth=(fqdn, secret))
        self.assertEqual(st, 429)
        self.assertEqual(self.svc.dig(acme_name(fqdn), 'TXT').data('TXT'),
                         [])


class LegoCase(ServiceTestCase):
    """pebble (a test ACME CA resolving through our pdns) and lego (--dns
    httpreq pointed at the updater) issue a certificate for HOST and
    *.HOST; with a wrong secret nothing is set and lego fails."""

    SERVICE_ARGS = {'ipv6': False}

    @classmethod
    def setUpClass(cls):
        if not (shutil.which('pebble') and shutil.which('lego')):
            raise unittest.SkipTest('pebble or lego is not installed')
        super().setUpClass()
        try:
            cls.start_pebble()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_pebble(cls):
        svc = cls.svc
        cls.pdir = os.path.join(svc.dir, 'pebble')
        os.mkdir(cls.pdir)
        ca, cert, key = ddnstest.make_test_ca(cls.pdir)
        cls.pebble_ca = ca
        cls.acme_port = ddnstest.free_port()
        cls.mgmt_port = ddnstest.free_port()
        conf = os.path.join(cls.pdir, 'pebble.json')
        ddnstest.write_file(conf, json.dumps({'pebble': {
            'listenAddress': '127.0.0.1:%d' % cls.acme_port,
            'managementListenAddress': '127.0.0.1:%d' % cls.mgmt_port,
            'certificate': cert, 'privateKey': key,
            'httpPort': ddnstest.free_port(),
            'tlsPort': ddnstest.free_port(),
            'ocspResponderURL': '',
            'externalAccountBindingRequired': False}}))
        env = ddnstest.clean_env({'PEBBLE_VA_NOSLEEP': '1',
                                  'PEBBLE_WFE_NONCEREJECT': '0',
                                  'PEBBLE_AUTHZREUSE': '0'})
        p = ddnstest.Proc('pebble', ['pebble', '-config', conf, '-dnsserver',
                                     '127.0.0.1:%d' % svc.dns_port],
                          svc.dir, env=env)
        svc.procs['pebble'] = p
        ddnstest.wait_for(lambda: ddnstest.tcp_port_ready('127.0.0.1',
                                                          cls.acme_port),
                          'pebble on port %d' % cls.acme_port, procs=[p])

    @classmethod
    def tearDownClass(cls):
        if cls.svc and 'pebble' in cls.svc.procs:
            cls.svc.procs.pop('pebble').stop()
        super().tearDownClass()

    def lego(self, fqdn, secret, workdir):
        env = ddnstest.clean_env({
            'HTTPREQ_ENDPOINT': 'http://127.0.0.1:%d/acme'
                                % self.svc.http_port,
            'HTTPREQ_USERNAME': fqdn, 'HTTPREQ_PASSWORD': secret,
            'HTTPREQ_POLLING_INTERVAL': '1',
            'HTTPREQ_PROPAGATION_TIMEOUT': '30',
            'LEGO_CA_CERTIFICATES': self.pebble_ca})
        argv = ['lego', '--path', os.path.join(workdir, 'lego'), '--server',
                'https://127.0.0.1:%d/dir' % self.acme_port, '--accept-tos',
                '--email', 'acme@example.org', '--dns', 'httpreq',
                '--dns.resolvers', '127.0.0.1:%d' % self.svc.dns_port,
                '--dns.disable-cp', '--domains', fqdn, '--domains',
                '*.' + fqdn, 'run']
        r = subprocess.run(argv, cwd=workdir, env=env, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=120)
        with open(os.path.join(self.svc.dir, 'lego.log'), 'a') as f:
            f.write(r.stdout.replace(secret, '(secret)'))
        return r

    def test_certificate(self):
        fqdn, secret = self.svc.new_host('cert')
        work = tempfile.mkdtemp(prefix='lego-', dir=self.svc.dir)
        r = self.lego(fqdn, secret, work)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        crt = os.path.join(work, 'lego', 'certificates', fqdn + '.crt')
        issuer = os.path.join(work, 'lego', 'certificates',
                              fqdn + '.issuer.crt')
        root = os.path.join(work, 'root.pem')
        c = self.svc.curl('https://127.0.0.1:%d/roots/0' % self.mgmt_port,
                          '--cacert', self.pebble_ca)
        self.assertEqual(c.status, 200, c)
        ddnstest.write_file(root, c.body)
        out = ddnstest.openssl('verify', '-CAfile', root, '-untrusted',
                               issuer, crt)
        self.assertIn(': OK', out)
        sans = ddnstest.openssl('x509', '-in', crt, '-noout', '-ext',
                                'subjectAltName')
        self.assertIn('DNS:' + fqdn, sans)
        self.assertIn('DNS:*.' + fqdn, sans)
        # lego cleaned up after itself
        self.assertEqual(self.svc.dig(acme_name(fqdn), 'TXT').data('TXT'),
                         [])

    def test_wrong_secret(self):
        fqdn, secret = self.svc.new_host('bad')
        work = tempfile.mkdtemp(prefix='lego-', dir=self.svc.dir)
        r = self.lego(fqdn, 'Wrong' + secret[5:], work)
        self.assertNotEqual(r.returncode, 0, r.stdout[-3000:])
        self.assertFalse(os.path.exists(os.path.join(
            work, 'lego', 'certificates', fqdn + '.crt')))
        self.assertEqual(self.svc.dig(acme_name(fqdn), 'TXT').data('TXT'),
                         [])


if __name__ == '__main__':
    ddnstest.main()
