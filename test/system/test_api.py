"""System tests of the portal side of ddns-updater (issue 4): the static
portal files, the JSON API under /api/v1, the EGI endpoints under /nic/,
personal tokens, sessions, CSRF, ownership and the bearer /nic/update,
against a running service (ddns-backend + pdns_server + ddns-updater).

Every reply body is checked against its JSON schema in schema/api/ (with
a small validator of the draft 2020-12 keywords those schemas use), and
every refused request is checked to have changed nothing: the host list
of `ddnsctl host list --json` is compared before and after.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_api.py -v
"""

import atexit
import calendar
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import ddnstest
from ddnstest import ZONE, ServiceTestCase

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCHEMA_DIR = os.path.join(REPO, 'schema', 'api')
PORTAL_DIR = os.path.join(REPO, 'updater', 'portal')
LAB = 'lab.example.org'   # private to GROUP
OPS = 'ops.example.org'   # admins only
GROUP = 'urn:mace:egi.eu:group:vo.example.org:role=member#aai.egi.eu'
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self'; connect-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
TYPES = {'.html': 'text/html; charset=utf-8',
         '.css': 'text/css; charset=utf-8',
         '.js': 'text/javascript; charset=utf-8',
         '.svg': 'image/svg+xml'}
PASSWORDS = {'alice': 'alice-password-1', 'bob': 'bob-password-22',
             'carol': 'carol-password-333', 'root': 'root-password-4444'}


# ---- a small JSON Schema validator (the keywords schema/api/ uses) --------

class Schemas:
    """The schemas of schema/api/; validate(instance, 'host') returns None
    or the first problem found."""

    def __init__(self, directory=SCHEMA_DIR):
        self.docs = {}
        for f in os.listdir(directory):
            if f.endswith('.json'):
                with open(os.path.join(directory, f)) as fh:
                    self.docs[f] = json.load(fh)

    def validate(self, instance, name):
        return self._check(instance, self.docs[name + '.json'],
                           name + '.json', '$')

    def _resolve(self, ref, base):
        doc_name, _, frag = ref.partition('#')
        doc_name = doc_name or base
        node = self.docs[doc_name]
        for part in [p for p in frag.split('/') if p]:
            node = node[part]
        return node, doc_name

    def _type_ok(self, v, t):
        if isinstance(t, list):
            return any(self._type_ok(v, x) for x in t)
        return {
            'object': lambda: isinstance(v, dict),
            'array': lambda: isinstance(v, list),
            'string': lambda: isinstance(v, str),
            'integer': lambda: isinstance(v, int) and not isinstance(v, bool),
            'number': lambda: (isinstance(v, (int, float))
                               and not isinstance(v, bool)),
            'boolean': lambda: isinstance(v, bool),
            'null': lambda: v is None,
        }[t]()

    def _evaluated(self, s, base, v):
        """Property names a schema (with its $ref / allOf / if-then)
        evaluates, for unevaluatedProperties."""
        names = set(s.get('properties', {}))
        if '$ref' in s:
            sub, b = self._resolve(s['$ref'], base)
            names |= self._evaluated(sub, b, v)
        for sub in s.get('allOf', []):
            names |= self._evaluated(sub, base, v)
        return names

    def _check(self, v, s, base, path):
        if s is True or s == {}:
            return None
        if '$ref' in s:
            sub, b = self._resolve(s['$ref'], base)
            err = self._check(v, sub, b, path)
            if err:
                return err
        if 'type' in s and not self._type_ok(v, s['type']):
            return '%s: not of type %s: %r' % (path, s['type'], v)
        if 'const' in s and v != s['const']:
            return '%s: not %r' % (path, s['const'])
        if 'enum' in s and v not in s['enum']:
            return '%s: not one of %r' % (path, s['enum'])
        for k in ('allOf',):
            for sub in s.get(k, []):
                err = self._check(v, sub, base, path)
                if err:
                    return err
        if 'oneOf' in s:
            ok = [sub for sub in s['oneOf']
                  if self._check(v, sub, base, path) is None]
            if len(ok) != 1:
                return '%s: matches %d of oneOf' % (path, len(ok))
        if 'if' in s:
            branch = ('then' if self._check(v, s['if'], base, path) is None
                      else 'else')
            if branch in s:
                err = self._check(v, s[branch], base, path)
                if err:
                    return err
        if isinstance(v, str):
            err = self._check_string(v, s, path)
            if err:
                return err
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if 'minimum' in s and v < s['minimum']:
                return '%s: below %s' % (path, s['minimum'])
            if 'maximum' in s and v > s['maximum']:
                return '%s: above %s' % (path, s['maximum'])
        if isinstance(v, list):
            err = self._check_array(v, s, base, path)
            if err:
                return err
        if isinstance(v, dict):
            return self._check_object(v, s, base, path)
        return None

    def _check_string(self, v, s, path):
        if 'minLength' in s and len(v) < s['minLength']:
            return '%s: shorter than %d' % (path, s['minLength'])
        if 'maxLength' in s and len(v) > s['maxLength']:
            return '%s: longer than %d' % (path, s['maxLength'])
        if 'pattern' in s and not re.search(s['pattern'], v):
            return '%s: %r does not match %s' % (path, v, s['pattern'])
        return None

    def _check_array(self, v, s, base, path):
        if 'minItems' in s and len(v) < s['minItems']:
            return '%s: fewer than %d items' % (path, s['minItems'])
        if 'maxItems' in s and len(v) > s['maxItems']:
            return '%s: more than %d items' % (path, s['maxItems'])
        if s.get('uniqueItems') and len(set(map(json.dumps, v))) != len(v):
            return '%s: duplicate items' % path
        for i, item in enumerate(v):
            err = self._check(item, s.get('items', {}), base,
                              '%s[%d]' % (path, i))
            if err:
                return err
        return None

    def _check_object(self, v, s, base, path):
        props = s.get('properties', {})
        for k in s.get('required', []):
            if k not in v:
                return '%s: %s missing' % (path, k)
        if s.get('additionalProperties') is False:
            extra = set(v) - set(props)
            if extra:
                return '%s: unexpected %s' % (path, sorted(extra))
        if s.get('unevaluatedProperties') is False:
            extra = set(v) - self._evaluated(s, base, v)
            if extra:
                return '%s: unevaluated %s' % (path, sorted(extra))
        for k, sub in props.items():
            if k in v:
                err = self._check(v[k], sub, base, '%s.%s' % (path, k))
                if err:
                    return err
        return None


SCHEMAS = Schemas()


# ---- HTTP -------------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # list of (lower-case name, value)
        self.body = body

    def header(self, name, default=None):
        vals = [v for k, v in self.headers if k == name.lower()]
        return vals[-1] if vals else default

    def header_list(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def json(self):
        return json.loads(self.body.decode('utf-8'))

    def __repr__(self):
        return 'Reply(%d, %r, %r)' % (self.status, self.headers,
                                      self.body[:300])


def request(port, method, path, body=None, headers=None, tls_ca=None,
            timeout=10):
    """One request on a new connection (http.client); BODY a dict (sent as
    JSON with its content type unless HEADERS say otherwise), str or
    bytes."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        hdrs.setdefault('Content-Type', 'application/json')
    if isinstance(body, str):
        body = body.encode()
    if tls_ca:
        ctx = ssl.create_default_context(cafile=tls_ca)
        conn = http.client.HTTPSConnection('127.0.0.1', port, context=ctx,
                                           timeout=timeout)
    else:
        conn = http.client.HTTPConnection('127.0.0.1', port,
                                          timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Reply(r.status, [(k.lower(), v) for k, v in r.getheaders()],
                     data)
    finally:
        conn.close()


def cookie_of(reply, name='ddns_session'):
    """The value NAME gets in REPLY's Set-Cookie headers, or None."""
    for v in reply.header_list('set-cookie'):
        k, _, rest = v.partition('=')
        if k == name:
            return rest.split(';', 1)[0]
    return None


def ctl_run(svc, *args, stdin=None):
    """ddnsctl ARGS without the harness's log (its output may hold a
    token); returns the CompletedProcess, raising on failure."""
    r = subprocess.run([ddnstest.binary('ddnsctl'), '-c', svc.conf]
                       + [str(a) for a in args], input=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=ddnstest.clean_env(), timeout=60)
    if r.returncode != 0:
        raise AssertionError('ddnsctl %s: %s%s' % (' '.join(map(str, args)),
                                                  r.stdout, r.stderr))
    return r


class Session:
    """A logged-in user's cookie and CSRF token."""

    def __init__(self, name, cookie, csrf):
        self.name = name
        self.cookie = cookie
        self.csrf = csrf

    def headers(self, csrf=True):
        h = {'Cookie': 'ddns_session=' + self.cookie}
        if csrf:
            h['X-CSRF-Token'] = self.csrf
        return h


class PortalCase(ServiceTestCase):
    """A service with three zones (public, private to GROUP, admin-only)
    and four users: alice, bob (plain), carol (in GROUP), root (admin);
    alice and bob also have personal tokens."""

    SERVICE_ARGS = {'zones': (ZONE, LAB, OPS), 'ipv6': False}
    seen_secrets = []   # everything that must never reach a log or store

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        svc = cls.svc
        try:
            svc.ctl('zone', 'set', LAB, '--visibility', 'private',
                    '--group', GROUP)
            svc.ctl('zone', 'set', OPS, '--visibility', 'admin')
            for name, pw in PASSWORDS.items():
                extra = []
                if name == 'root':
                    extra = ['--admin']
                if name == 'carol':
                    extra = ['--group', GROUP]
                ctl_run(svc, 'user', 'add', name, '--password-stdin',
                        *extra, stdin=pw + '\n')
                cls.seen_secrets.append(pw)
            cls.tokens = {n: cls.make_token(n) for n in ('alice', 'bob',
                                                         'root')}
            cls.sessions = {}
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def make_token(cls, name):
        out = ctl_run(cls.svc, 'user', 'token', 'add', name).stdout
        tok = [l for l in out.splitlines() if l.strip()][-1].strip()
        cls.seen_secrets.append(tok)
        # ddnsctl prints the contract's form: ddns_ + 43 base64url characters
        assert re.match(r'^ddns_[A-Za-z0-9_-]{43}$', tok), tok
        return tok

    # -- requests --

    def req(self, method, path, body=None, headers=None, **kw):
        return request(self.svc.http_port, method, path, body, headers,
                       **kw)

    def login(self, name):
        r = self.req('POST', '/api/v1/login',
                     {'username': name, 'password': PASSWORDS[name]})
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'session')
        s = Session(name, cookie_of(r), r.json['csrf'])
        self.seen_secrets.append(s.cookie)
        return s

    def session(self, name):
        if name not in self.sessions:
            self.sessions[name] = self.login(name)
        return self.sessions[name]

    def as_user(self, who, method, path, body=None, csrf=True):
        """METHOD PATH as WHO: 'alice' (session cookie), 'alice:token'
        (personal token), None (nobody)."""
        headers = {}
        if who and who.endswith(':token'):
            headers['Authorization'] = 'Bearer ' + self.tokens[who[:-6]]
        elif who:
            headers = self.session(who).headers(csrf)
        return self.req(method, path, body, headers)

    def hosts_state(self):
        return json.loads(self.svc.ctl('host', 'list', '--json').stdout)

    def new_api_host(self, who='alice', zone=ZONE, prefix='h', **extra):
        self.svc._hosts += 1
        name = '%s%d' % (prefix, self.svc._hosts)
        body = dict(name=name, domain=zone, **extra)
        r = self.as_user(who, 'POST', '/api/v1/hosts', body)
        self.assertEqual(r.status, 201, r)
        self.assertSchema(r.json, 'host-created')
        self.seen_secrets.append(r.json['secret'])
        return r.json['host']['fqdn'], r.json['secret']

    # -- assertions --

    def assertSchema(self, body, name):
        err = SCHEMAS.validate(body, name)
        self.assertIsNone(err, '%s: %s\n%r' % (name, err, body))

    def assertApiError(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header('content-type'), 'application/json', r)
        self.assertSchema(r.json, 'error')
        if status == 401:
            self.assertEqual(r.header('www-authenticate'),
                             'Bearer realm="ddns"', r)

    def assertUnchanged(self, before):
        self.assertEqual(self.hosts_state(), before)


# ---- the portal's files -----------------------------------------------------

class StaticFiles(PortalCase):

    def check_file(self, path, fname, method='GET'):
        r = self.req(method, path)
        self.assertEqual(r.status, 200, (path, r))
        ext = os.path.splitext(fname)[1]
        self.assertEqual(r.header('content-type'), TYPES[ext], path)
        self.assertEqual(r.header('content-security-policy'), CSP, path)
        self.assertEqual(r.header('x-content-type-options'), 'nosniff')
        self.assertEqual(r.header('referrer-policy'), 'no-referrer')
        self.assertEqual(r.header('x-frame-options'), 'DENY')
        self.assertEqual(r.header('cache-control'), 'no-cache')
        self.assertIsNone(r.header('access-control-allow-origin'))
        with open(os.path.join(PORTAL_DIR, fname), 'rb') as f:
            data = f.read()
        self.assertEqual(int(r.header('content-length')), len(data))
        self.assertEqual(r.body, b'' if method == 'HEAD' else data, path)

    def test_every_portal_file(self):
        names = sorted(os.listdir(PORTAL_DIR))
        self.assertIn('index.html', names)
        for fname in names:
            with self.subTest(fname=fname):
                self.check_file('/' + fname, fname)
        self.check_file('/', 'index.html')
        self.check_file('/?next=x', 'index.html')

    def test_head_has_no_body(self):
        self.check_file('/portal.js', 'portal.js', 'HEAD')
        self.check_file('/', 'index.html', 'HEAD')

    def test_other_methods(self):
        r = self.req('POST', '/index.html', 'x',
                     {'Content-Type': 'text/plain'})
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.header('allow'), 'GET, HEAD')
        r = self.req('DELETE', '/login.html')
        self.assertEqual(r.status, 405, r)

    def test_path_traversal_and_odd_names(self):
        targets = [
            '/../etc/passwd', '/..%2fetc%2fpasswd', '/%2e%2e/etc/passwd',
            '/%2E%2E%2Fetc%2Fpasswd', '/.%2e/etc/passwd', '/index.html/..',
            '/portal/../index.html', '//etc/passwd', '/etc/passwd',
            '/./index.html', '/.index.html', '/..', '/.', '/%00',
            '/index.html%00', '/index.html%00.js', '/index%2ehtml',
            '/INDEX.HTML%2f', '/favicon.ico', '/meson.build', '/portal',
            '/portal/', '/../updater/portal/index.html', '/~root',
            '/index.html.bak', '/a/b.js', '/%5c..%5cetc%5cpasswd',
            '/..\\..\\etc\\passwd', '/nic/../index.html',
        ]
        for t in targets:
            with self.subTest(target=t):
                r, _ = self.svc.raw('GET', t)
                self.assertIn(r.status, (400, 404), (t, r))
                self.assertNotIn(b'root:', r.body)
                self.assertNotIn(b'<!doctype html>', r.body.lower())
        # absolute form, and a NUL in the request line
        r, _ = self.svc.raw('GET', 'http://127.0.0.1/../../etc/passwd')
        self.assertIn(r.status, (400, 404), r)
        self.assertNotIn(b'root:', r.body)
        with ddnstest.RawHttp('127.0.0.1', self.svc.http_port) as c:
            c.send(b'GET /index.html\x00.js HTTP/1.1\r\nHost: x\r\n'
                   b'Connection: close\r\n\r\n')
            try:
                r = c.reply()
                self.assertIn(r.status, (400, 404), r)
            except AssertionError:
                pass  # closed without a reply: refused too

    def test_dyndns2_paths_come_first(self):
        fqdn, secret = self.svc.new_host()
        r = self.svc.update(fqdn, secret, myip='192.0.2.7')
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.7'))
        r = self.svc.curl(self.svc.url('/myip'))
        self.assertEqual((r.status, r.body), (200, '127.0.0.1'))


class StaticDirConfig(ServiceTestCase):
    """[portal] static_dir with a symbolic link, a directory, an over-big
    file; local login off; update_url set."""

    SERVICE_ARGS = {'ipv6': False}

    @classmethod
    def setUpClass(cls):
        cls.static = tempfile.mkdtemp(prefix='ddns-portal-')
        shutil.copytree(PORTAL_DIR, os.path.join(cls.static, 'p'))
        d = os.path.join(cls.static, 'p')
        os.symlink('/etc/passwd', os.path.join(d, 'evil.js'))
        os.symlink(os.path.join(d, 'portal.js'), os.path.join(d, 'link.js'))
        os.mkdir(os.path.join(d, 'dir.js'))
        with open(os.path.join(d, 'big.js'), 'wb') as f:
            f.write(b'/' * (1024 * 1024 + 1))
        with open(os.path.join(cls.static, 'secret.js'), 'w') as f:
            f.write('outside\n')
        cls.SERVICE_ARGS = dict(cls.SERVICE_ARGS, conf_extra={'portal': {
            'static_dir': d, 'local_login': 'no',
            'update_url': 'https://ddns.example.org:8443'}})
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.static, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.static, ignore_errors=True)

    def get(self, path, **kw):
        return request(self.svc.http_port, 'GET', path, **kw)

    def test_only_regular_files_in_the_directory(self):
        self.assertEqual(self.get('/portal.js').status, 200)
        for t in ('/evil.js', '/link.js', '/dir.js', '/big.js',
                  '/../secret.js', '/%2e%2e/secret.js'):
            with self.subTest(target=t):
                r = self.get(t)
                self.assertEqual(r.status, 404, (t, r))
                self.assertNotIn(b'root:', r.body)
                self.assertNotIn(b'outside', r.body)

    def test_local_login_disabled(self):
        r = request(self.svc.http_port, 'POST', '/api/v1/login',
                    {'username': 'x', 'password': 'yyyyyyyy'})
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json, {'error': 'local login is disabled'})
        r = self.get('/api/v1/config')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json, {'oidc_providers': [], 'local_login': False,
                                  'update_url':
                                  'https://ddns.example.org:8443'})
        self.assertIsNone(SCHEMAS.validate(r.json, 'config'))


# ---- sessions, login, CSRF -------------------------------------------------

class Sessions(PortalCase):

    def test_nobody(self):
        r = self.req('GET', '/api/v1/session')
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json, {'user': None, 'csrf': None,
                                  'expires': None})
        self.assertEqual(r.header('cache-control'), 'no-store')
        self.assertEqual(r.header('x-content-type-options'), 'nosniff')
        r = self.req('GET', '/api/v1/config')
        self.assertEqual(r.json, {'oidc_providers': [], 'local_login': True,
                                  'update_url': None})
        for path in ('/api/v1/hosts', '/api/v1/domains',
                     '/api/v1/hosts/x.' + ZONE):
            self.assertApiError(self.req('GET', path), 401)

    def test_login_cookie_and_session(self):
        t0 = time.time()
        r = self.req('POST', '/api/v1/login',
                     {'username': 'alice', 'password': PASSWORDS['alice']})
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'session')
        cookies = r.header_list('set-cookie')
        self.assertEqual(len(cookies), 1, cookies)
        sid = cookie_of(r)
        self.seen_secrets.append(sid)
        self.assertRegex(sid, r'^[A-Za-z0-9_-]{43}$')
        self.assertEqual(cookies[0], 'ddns_session=%s; Path=/; HttpOnly; '
                         'SameSite=Lax; Max-Age=43200' % sid)
        self.assertEqual(r.json['user']['name'], 'alice')
        self.assertRegex(r.json['csrf'], '^[0-9a-f]{64}$')
        self.assertNotIn(sid, r.body.decode())
        exp = calendar.timegm(time.strptime(r.json['expires'],
                                            '%Y-%m-%dT%H:%M:%SZ'))
        self.assertLess(abs(exp - (t0 + 43200)), 10)
        s = self.req('GET', '/api/v1/session',
                     headers={'Cookie': 'other=1; ddns_session=' + sid})
        self.assertEqual(s.json, r.json)
        # a new login is a new session, whatever cookie came with it
        r2 = self.req('POST', '/api/v1/login',
                      {'username': 'ALICE', 'password': PASSWORDS['alice']},
                      {'Cookie': 'ddns_session=' + sid})
        self.assertEqual(r2.status, 200, r2)
        self.assertNotEqual(cookie_of(r2), sid)
        self.seen_secrets.append(cookie_of(r2))

    def test_wrong_credentials_are_alike(self):
        bodies = set()
        for user, pw in (('alice', 'wrong-password'),
                         ('nobody-here', 'wrong-password'),
                         ('Not A Name!', 'x')):
            r = self.req('POST', '/api/v1/login',
                         {'username': user, 'password': pw})
            self.assertApiError(r, 401)
            self.assertIsNone(r.header('set-cookie'))
            bodies.add(r.body)
        self.assertEqual(bodies, {b'{"error":"wrong user name or password"}'})

    def test_login_takes_json_only(self):
        cases = [
            ({'Content-Type': 'application/x-www-form-urlencoded'},
             'username=alice&password=alice-password-1', 415),
            ({'Content-Type': 'text/plain'}, json.dumps(
                {'username': 'alice', 'password': 'x'}), 415),
            ({}, json.dumps({'username': 'alice', 'password': 'x'}), 415),
            ({'Content-Type': 'application/json'}, '{"username":', 400),
            ({'Content-Type': 'application/json'}, '[]', 400),
            ({'Content-Type': 'application/json'},
             '{"username":"alice","username":"bob","password":"x"}', 400),
            ({'Content-Type': 'application/json'},
             '{"username":"alice","password":"x","remember":true}', 400),
            ({'Content-Type': 'application/json'},
             '{"username":"alice","password":""}', 400),
            ({'Content-Type': 'application/json'},
             '{"username":"alice","password":"' + 'x' * 17000 + '"}', 413),
        ]
        for headers, body, status in cases:
            with self.subTest(body=body[:60], headers=headers):
                r = self.req('POST', '/api/v1/login', body, headers)
                self.assertApiError(r, status)
                self.assertIsNone(r.header('set-cookie'))
        r = self.req('POST', '/api/v1/login',
                     {'username': 'alice', 'password': PASSWORDS['alice']},
                     {'Content-Type': 'application/json; charset=UTF-8'})
        self.assertEqual(r.status, 200, r)
        self.seen_secrets.append(cookie_of(r))

    def test_login_from_a_foreign_origin(self):
        r = self.req('POST', '/api/v1/login',
                     {'username': 'alice', 'password': PASSWORDS['alice']},
                     {'Origin': 'http://evil.example'})
        self.assertApiError(r, 403)
        self.assertIsNone(r.header('set-cookie'))

    def test_logout(self):
        s = self.login('bob')
        # without or with a wrong CSRF token: 403, the session stays
        for h in ({}, {'X-CSRF-Token': '0' * 64},
                  {'X-CSRF-Token': s.csrf[:-1]}):
            r = self.req('POST', '/api/v1/logout', headers=dict(
                h, Cookie='ddns_session=' + s.cookie))
            self.assertApiError(r, 403)
            self.assertEqual(r.json['error'], 'missing or wrong CSRF token')
        r = self.req('GET', '/api/v1/session', headers=s.headers(False))
        self.assertEqual(r.json['user']['name'], 'bob')
        r = self.req('POST', '/api/v1/logout', headers=s.headers())
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.body, b'')
        self.assertIsNone(r.header('content-length'))  # RFC 9110 8.6
        self.assertEqual(r.header_list('set-cookie'), [
            'ddns_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0'])
        r = self.req('GET', '/api/v1/session', headers=s.headers(False))
        self.assertEqual(r.json['user'], None)
        self.assertApiError(self.req('GET', '/api/v1/hosts',
                                     headers=s.headers()), 401)
        # nobody may log out too
        self.assertEqual(self.req('POST', '/api/v1/logout').status, 204)

    def test_client_gone_during_login(self):
        """Clients that close while their password is being checked (the
        request is held for the worker thread) cost nothing more."""
        body = json.dumps({'username': 'alice',
                           'password': PASSWORDS['alice']}).encode()
        req = (b'POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n'
               b'Content-Type: application/json\r\nContent-Length: %d'
               b'\r\n\r\n' % len(body)) + body
        for _ in range(8):
            with socket.create_connection(('127.0.0.1',
                                           self.svc.http_port)) as c:
                c.sendall(req)
        self.login('alice')
        self.svc.check_alive()
        self.assertEqual(self.req('GET', '/api/v1/session').status, 200)

    def test_token_caller(self):
        r = self.as_user('alice:token', 'GET', '/api/v1/session')
        self.assertEqual(r.status, 200)
        self.assertSchema(r.json, 'session')
        self.assertEqual((r.json['user']['name'], r.json['csrf'],
                          r.json['expires']), ('alice', None, None))
        # a bad token is 401 whatever cookie comes with it
        s = self.session('alice')
        for auth in ('Bearer ddns_' + 'A' * 43, 'Bearer ddns_short',
                     'Basic YWxpY2U6eA==', 'Bearer',
                     'Bearer ' + self.tokens['alice'][5:]):
            r = self.req('GET', '/api/v1/hosts', headers={
                'Authorization': auth, 'Cookie': 'ddns_session=' + s.cookie})
            self.assertApiError(r, 401)
            self.assertNotIn('Basic', r.header('www-authenticate'))

    def test_csrf_on_every_state_change(self):
        fqdn, _ = self.new_api_host()
        before = self.hosts_state()
        s = self.session('alice')
        changes = [('POST', '/api/v1/hosts', {'name': 'csrf1',
                                              'domain': ZONE}),
                   ('PATCH', '/api/v1/hosts/' + fqdn, {'comment': 'x'}),
                   ('DELETE', '/api/v1/hosts/' + fqdn, None),
                   ('POST', '/api/v1/hosts/%s/secret' % fqdn, None)]
        for method, path, body in changes:
            for token in (None, '0' * 64, s.csrf.upper(), ''):
                with self.subTest(method=method, path=path, token=token):
                    h = {'Cookie': 'ddns_session=' + s.cookie}
                    if token is not None:
                        h['X-CSRF-Token'] = token
                    r = self.req(method, path, body, h)
                    self.assertApiError(r, 403)
            # the right token but another site's Origin
            h = dict(s.headers(), Origin='https://evil.example')
            self.assertApiError(self.req(method, path, body, h), 403)
        self.assertUnchanged(before)
        # the portal's own origin is fine
        h = dict(s.headers(),
                 Origin='http://127.0.0.1:%d' % self.svc.http_port)
        r = self.req('PATCH', '/api/v1/hosts/' + fqdn, {'comment': 'ok'}, h)
        self.assertEqual(r.status, 200, r)
        # no CORS, ever
        self.assertIsNone(r.header('access-control-allow-origin'))

    def test_api_errors(self):
        s = self.session('alice')
        r = self.req('GET', '/api/v1/nothing', headers=s.headers())
        self.assertApiError(r, 404)
        r = self.req('PUT', '/api/v1/hosts', headers=s.headers())
        self.assertIn(r.status, (405, 501), r)
        r = self.req('DELETE', '/api/v1/hosts', headers=s.headers())
        self.assertApiError(r, 405)
        self.assertEqual(r.header('allow'), 'GET, HEAD, POST')
        r = self.req('POST', '/api/v1/hosts', 'name=x',
                     dict(s.headers(), **{'Content-Type':
                                          'application/x-www-form-urlencoded'}))
        self.assertApiError(r, 415)
        r = self.req('POST', '/api/v1/hosts', {'name': 'x' * 20000,
                                               'domain': ZONE}, s.headers())
        self.assertApiError(r, 413)


# ---- hosts and ownership ----------------------------------------------------

class Hosts(PortalCase):

    def test_create_and_update_with_the_secret(self):
        fqdn, secret = self.new_api_host(ipv4='192.0.2.10',
                                         comment='web server', wildcard=True)
        self.assertAnswer(fqdn, 'A', ['192.0.2.10'])
        self.assertAnswer('x.' + fqdn, 'A', ['192.0.2.10'])
        r = self.svc.update(fqdn, secret, myip='192.0.2.11')
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.11'))
        r = self.as_user('alice', 'GET', '/api/v1/hosts/' + fqdn.upper()
                         + '.')
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'host')
        h = r.json
        self.assertEqual((h['ipv4'], h['comment'], h['wildcard'],
                          h['owner'], h['zone']),
                         ('192.0.2.11', 'web server', True, 'alice', ZONE))
        info = self.svc.host_info(fqdn)
        self.assertEqual((info['owner'], info['comment']),
                         ('alice', 'web server'))

    def test_create_by_fqdn_and_idn(self):
        r = self.as_user('alice:token', 'POST', '/api/v1/hosts',
                         {'fqdn': 'Büro.' + ZONE.upper() + '.'})
        self.assertEqual(r.status, 201, r)
        self.seen_secrets.append(r.json['secret'])
        self.assertEqual(r.json['host']['fqdn'], 'xn--bro-hoa.' + ZONE)
        self.assertEqual(r.header('location'),
                         '/api/v1/hosts/xn--bro-hoa.' + ZONE)

    def test_create_refusals(self):
        self.svc.add_host('opsmade.' + ZONE)
        before = self.hosts_state()
        cases = [
            ('alice', {'name': 'a', 'domain': 'nope.example.org'}, 404),
            ('alice', {'fqdn': 'a.nope.example.org'}, 404),
            ('alice', {'name': 'a', 'domain': LAB}, 403),
            ('alice', {'name': 'a', 'domain': OPS}, 403),
            ('bob:token', {'name': 'a', 'domain': OPS}, 403),
            ('alice', {'name': 'opsmade', 'domain': ZONE}, 409),
            ('alice', {'name': 'a_b', 'domain': ZONE}, 400),
            ('alice', {'name': 'a.b', 'domain': ZONE}, 400),
            ('alice', {'fqdn': 'a.b.' + ZONE}, 400),
            ('alice', {'fqdn': ZONE}, 400),
            ('alice', {'name': 'a'}, 400),
            ('alice', {'name': 'a', 'domain': ZONE, 'fqdn': 'a.' + ZONE},
             400),
            ('alice', {}, 400),
            ('alice', {'name': 'a', 'domain': ZONE, 'ipv4': '2001:db8::1'},
             400),
            ('alice', {'name': 'a', 'domain': ZONE, 'ipv6': '192.0.2.1'},
             400),
            ('alice', {'name': 'a', 'domain': ZONE, 'ipv4': None}, 400),
            ('alice', {'name': 'a', 'domain': ZONE, 'wildcard': 'yes'}, 400),
            ('alice', {'name': 'a', 'domain': ZONE, 'comment': 'x' * 201},
             400),
            ('alice', {'name': 'a', 'domain': ZONE, 'comment': 'a\nb'},
             400),
            ('alice', {'name': 'a', 'domain': ZONE, 'secret': 'x'}, 400),
            (None, {'name': 'a', 'domain': ZONE}, 401),
        ]
        for who, body, status in cases:
            with self.subTest(who=who, body=body):
                r = self.as_user(who, 'POST', '/api/v1/hosts', body)
                self.assertApiError(r, status)
        self.assertUnchanged(before)
        r = self.as_user('alice', 'POST', '/api/v1/hosts',
                         {'name': 'a', 'domain': ZONE, 'ipv4': 'x'})
        self.assertEqual(r.json, {'error': 'ipv4: not an IPv4 address'})

    def test_domains_by_visibility(self):
        def zones(who):
            r = self.as_user(who, 'GET', '/api/v1/domains')
            self.assertEqual(r.status, 200, r)
            self.assertSchema(r.json, 'domain-list')
            return [d['zone'] for d in r.json['domains']]
        self.assertEqual(zones('alice'), [ZONE])
        self.assertEqual(zones('bob:token'), [ZONE])
        self.assertEqual(zones('carol'), [ZONE, LAB])
        self.assertEqual(zones('root'), [ZONE, LAB, OPS])
        fqdn, _ = self.new_api_host('carol', LAB)
        fqdn2, _ = self.new_api_host('root', OPS)
        self.assertTrue(fqdn.endswith(LAB) and fqdn2.endswith(OPS))

    def operations(self, fqdn):
        return [('GET', '/api/v1/hosts/' + fqdn, None),
                ('PATCH', '/api/v1/hosts/' + fqdn, {'comment': 'mine now'}),
                ('PATCH', '/api/v1/hosts/' + fqdn, {'ipv4': '192.0.2.66'}),
                ('POST', '/api/v1/hosts/%s/secret' % fqdn, None),
                ('DELETE', '/api/v1/hosts/' + fqdn, None)]

    def test_other_users_and_nobody_change_nothing(self):
        fqdn, secret = self.new_api_host(ipv4='192.0.2.20')
        before = self.hosts_state()
        for who, status in (('bob', 404), ('bob:token', 404),
                            ('carol', 404), (None, 401)):
            for method, path, body in self.operations(fqdn):
                with self.subTest(who=who, method=method, body=body):
                    r = self.as_user(who, method, path, body)
                    self.assertApiError(r, status)
                    if status == 404:
                        # a stranger's host looks like a missing one
                        missing = self.as_user(
                            who, method, path.replace(fqdn, 'zz.' + ZONE),
                            body)
                        self.assertEqual(missing.status, 404)
                        self.assertEqual(
                            r.json['error'].replace(fqdn, 'X'),
                            missing.json['error'].replace('zz.' + ZONE, 'X'))
        self.assertUnchanged(before)
        r = self.svc.update(fqdn, secret, myip='192.0.2.20')
        self.assertEqual(r.body, 'nochg 192.0.2.20')
        for who in ('bob', 'bob:token', 'carol'):
            r = self.as_user(who, 'GET', '/api/v1/hosts')
            self.assertNotIn(fqdn, [h['fqdn'] for h in r.json['hosts']])
        r = self.as_user('alice', 'GET', '/api/v1/hosts?all=true')
        self.assertApiError(r, 403)

    def test_owner_and_admin_may(self):
        for who in ('alice', 'alice:token', 'root', 'root:token'):
            with self.subTest(who=who):
                fqdn, secret = self.new_api_host()
                ops = self.operations(fqdn)
                expect = [200, 200, 200, 200, 204]
                for (method, path, body), st in zip(ops, expect):
                    r = self.as_user(who, method, path, body)
                    self.assertEqual(r.status, st, (method, body, r))
                    if method == 'POST':
                        self.assertSchema(r.json, 'secret')
                        self.seen_secrets.append(r.json['secret'])
                        r2 = self.svc.update(fqdn, secret,
                                             myip='192.0.2.67')
                        self.assertEqual(r2.status, 401, r2)
                    elif st == 200:
                        self.assertSchema(r.json, 'host')
                self.assertIsNone(self.svc.host_info(fqdn))
                self.assertNoAnswer(fqdn, 'A')

    def test_admin_sees_every_host(self):
        self.svc.add_host('byoperator.' + ZONE)
        fqdn, _ = self.new_api_host('bob')
        r = self.as_user('root', 'GET', '/api/v1/hosts?all=true')
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'host-list')
        by = {h['fqdn']: h['owner'] for h in r.json['hosts']}
        self.assertEqual(by['byoperator.' + ZONE], None)
        self.assertEqual(by[fqdn], 'bob')
        names = [h['fqdn'] for h in r.json['hosts']]
        self.assertEqual(names, sorted(names))
        r = self.as_user('root', 'GET', '/api/v1/hosts')
        self.assertNotIn(fqdn, [h['fqdn'] for h in r.json['hosts']])
        # an operator's host is the admins' only
        r = self.as_user('alice', 'GET', '/api/v1/hosts/byoperator.' + ZONE)
        self.assertApiError(r, 404)

    def test_patch(self):
        fqdn, secret = self.new_api_host()
        serial = self.svc.soa_serial(axfr=True)
        path = '/api/v1/hosts/' + fqdn
        r = self.as_user('alice', 'PATCH', path,
                         {'ipv4': '192.0.2.30', 'ipv6': '2001:DB8:0::30',
                          'wildcard': True, 'comment': 'ünïcode ok'})
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'host')
        self.assertEqual((r.json['ipv4'], r.json['ipv6'], r.json['tls4'],
                          r.json['comment']),
                         ('192.0.2.30', '2001:db8::30', False, 'ünïcode ok'))
        self.assertIsNotNone(r.json['updated'])
        self.assertAnswer(fqdn, 'A', ['192.0.2.30'])
        self.assertAnswer('deep.' + fqdn, 'AAAA', ['2001:db8::30'])
        self.assertGreater(self.svc.soa_serial(axfr=True), serial)
        r = self.as_user('alice', 'PATCH', path, {'ipv4': None,
                                                  'wildcard': False})
        self.assertEqual((r.status, r.json['ipv4'], r.json['wildcard']),
                         (200, None, False), r)
        self.assertNoAnswer(fqdn, 'A')
        self.assertNoAnswer('deep.' + fqdn, 'AAAA')
        # a comment is no DNS change: no new serial
        serial = self.svc.soa_serial(axfr=True)
        r = self.as_user('alice', 'PATCH', path, {'comment': ''})
        self.assertEqual((r.status, r.json['comment']), (200, ''), r)
        self.assertEqual(self.svc.soa_serial(axfr=True), serial)
        # all or nothing
        before = self.hosts_state()
        for body in ({'ipv4': '192.0.2.31', 'ipv6': 'nope'},
                     {'comment': 'x', 'clear_abuse': False},
                     {'comment': 'x', 'owner': 'bob'}, {},
                     {'ipv6': '192.0.2.1'}):
            with self.subTest(body=body):
                self.assertApiError(
                    self.as_user('alice', 'PATCH', path, body), 400)
        self.assertApiError(self.as_user('alice', 'PATCH', path,
                                         {'blocked': True, 'comment': 'x'}),
                            403)
        self.assertUnchanged(before)

    def test_block_and_clear_abuse(self):
        fqdn, secret = self.new_api_host(ipv4='192.0.2.40')
        path = '/api/v1/hosts/' + fqdn
        r = self.as_user('root', 'PATCH', path, {'blocked': True})
        self.assertEqual((r.status, r.json['blocked']), (200, True), r)
        self.assertNoAnswer(fqdn, 'A')
        r = self.svc.update(fqdn, secret, myip='192.0.2.41')
        self.assertEqual(r.body, 'abuse')
        self.assertApiError(self.as_user('alice', 'PATCH', path,
                                         {'blocked': False}), 403)
        r = self.as_user('root', 'PATCH', path, {'blocked': False})
        self.assertEqual((r.status, r.json['blocked']), (200, False), r)
        self.assertAnswer(fqdn, 'A', ['192.0.2.40'])
        r = self.as_user('alice', 'PATCH', path, {'clear_abuse': True})
        self.assertEqual((r.status, r.json['abuse']), (200, False), r)

    def test_new_secret(self):
        fqdn, old = self.new_api_host()
        r = self.as_user('alice', 'POST', '/api/v1/hosts/%s/secret' % fqdn)
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'secret')
        new = r.json['secret']
        self.seen_secrets.append(new)
        self.assertEqual(self.svc.update(fqdn, old, myip='192.0.2.50')
                         .status, 401)
        r = self.svc.update(fqdn, new, myip='192.0.2.50')
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.50'))

    def test_delete(self):
        fqdn, secret = self.new_api_host(ipv4='192.0.2.60')
        self.assertAnswer(fqdn, 'A', ['192.0.2.60'])
        r = self.as_user('alice', 'DELETE', '/api/v1/hosts/' + fqdn)
        self.assertEqual((r.status, r.body), (204, b''))
        self.assertIsNone(self.svc.host_info(fqdn))
        r = self.svc.dig(fqdn, 'A')
        self.assertEqual(r.rcode, 'NXDOMAIN', r.text)
        self.assertApiError(self.as_user('alice', 'DELETE',
                                         '/api/v1/hosts/' + fqdn), 404)


# ---- domains (admins) -------------------------------------------------------

class Domains(PortalCase):

    def test_admin_only(self):
        body = {'zone': 'new.example.org', 'ns': ['ns1.example.org'],
                'hostmaster': 'hostmaster@example.org'}
        for who in ('alice', 'bob:token'):
            self.assertApiError(self.as_user(who, 'POST', '/api/v1/domains',
                                             body), 403)
            self.assertApiError(self.as_user(
                who, 'PATCH', '/api/v1/domains/' + ZONE, {'ttl': 5}), 403)
            self.assertApiError(self.as_user(
                who, 'DELETE', '/api/v1/domains/' + LAB), 403)
        self.assertApiError(self.as_user(None, 'DELETE',
                                         '/api/v1/domains/' + LAB), 401)
        zones = json.loads(self.svc.ctl('zone', 'list', '--json').stdout)
        self.assertNotIn('new.example.org', json.dumps(zones))

    def test_crud(self):
        body = {'zone': 'Extra.Example.Org.', 'ns': ['ns1.example.org',
                                                      'NS2.example.org'],
                'hostmaster': 'host.master@example.org', 'ttl': 120,
                'visibility': 'private', 'groups': ['g1', 'g2']}
        r = self.as_user('root', 'POST', '/api/v1/domains', body)
        self.assertEqual(r.status, 201, r)
        self.assertSchema(r.json, 'domain')
        self.assertEqual(r.json, {
            'zone': 'extra.example.org', 'ttl': 120,
            'ns': ['ns1.example.org', 'ns2.example.org'],
            'hostmaster': 'host.master@example.org',
            'visibility': 'private', 'groups': ['g1', 'g2']})
        self.assertEqual(r.header('location'),
                         '/api/v1/domains/extra.example.org')
        ddnstest.wait_for(
            lambda: self.svc.dig('extra.example.org', 'SOA').rcode ==
            'NOERROR', 'pdns to serve the new zone')
        self.assertApiError(self.as_user('root', 'POST', '/api/v1/domains',
                                         body), 409)
        for bad in ({'visibility': 'private', 'groups': []},
                    {'visibility': 'public', 'ttl': 0}, {},
                    {'zone': 'other.example.org'},
                    {'groups': ['a', 'a']}, {'ns': []},
                    {'hostmaster': 'no spaces@x.org'}):
            with self.subTest(bad=bad):
                self.assertApiError(self.as_user(
                    'root', 'PATCH', '/api/v1/domains/extra.example.org',
                    bad), 400)
        serial = self.svc.soa_serial('extra.example.org', axfr=True)
        r = self.as_user('root', 'PATCH', '/api/v1/domains/extra.example.org',
                         {'ttl': 300, 'visibility': 'public', 'groups': []})
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'domain')
        self.assertEqual((r.json['ttl'], r.json['visibility']),
                         (300, 'public'))
        self.assertGreater(self.svc.soa_serial('extra.example.org',
                                               axfr=True), serial)
        fqdn, _ = self.new_api_host('alice', 'extra.example.org')
        self.assertApiError(self.as_user(
            'root', 'DELETE', '/api/v1/domains/extra.example.org'), 409)
        self.as_user('alice', 'DELETE', '/api/v1/hosts/' + fqdn)
        r = self.as_user('root', 'DELETE', '/api/v1/domains/extra.example.org')
        self.assertEqual(r.status, 204, r)
        self.assertApiError(self.as_user(
            'root', 'DELETE', '/api/v1/domains/extra.example.org'), 404)
        self.assertApiError(self.as_user(
            'root', 'PATCH', '/api/v1/domains/nope.example.org', {'ttl': 9}),
            404)

    def test_create_refusals(self):
        good = {'zone': 'z1.example.org', 'ns': ['ns1.example.org'],
                'hostmaster': 'hostmaster@example.org'}
        cases = [dict(good, visibility='private'),
                 dict(good, visibility='secret'),
                 dict(good, ttl=0), dict(good, ttl=86401),
                 dict(good, ns=['a'] * 9), dict(good, ns=[]),
                 dict(good, zone='bad_name.example.org'),
                 dict(good, extra=1),
                 {k: v for k, v in good.items() if k != 'ns'}]
        for body in cases:
            with self.subTest(body=body):
                self.assertApiError(self.as_user('root', 'POST',
                                                 '/api/v1/domains', body),
                                    400)


# ---- EGI endpoints and the bearer /nic/update ---------------------------

class Egi(PortalCase):

    def nic(self, who, path, **params):
        q = urllib.parse.urlencode(params)
        headers = {}
        if who:
            headers['Authorization'] = 'Bearer ' + self.tokens[who]
        return self.req('GET', path + ('?' + q if q else ''),
                        headers=headers)

    def assertNicError(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header('content-type'), 'application/json')
        self.assertSchema(r.json, 'nic-error')
        if status == 401:
            self.assertEqual(r.header('www-authenticate'),
                             'Bearer realm="ddns"')

    def test_domains(self):
        r = self.nic('alice', '/nic/domains')
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'nic-domains')
        self.assertEqual([d['name'] for d in r.json['public']], [ZONE])
        self.assertEqual(r.json['private'], [])
        r = self.nic('root', '/nic/domains')
        self.assertSchema(r.json, 'nic-domains')
        self.assertEqual(sorted(d['name'] for d in r.json['private']),
                         [LAB, OPS])

    def test_bearer_only(self):
        s = self.session('alice')
        for path in ('/nic/domains', '/nic/hosts', '/nic/register',
                     '/nic/unregister', '/nic/generate_secret'):
            with self.subTest(path=path):
                self.assertNicError(self.req('GET', path + '?fqdn=x.' + ZONE,
                                             headers=s.headers()), 401)
                self.assertNicError(self.req('GET', path), 401)
                self.assertNicError(self.req(
                    'GET', path, headers={
                        'Authorization': 'Bearer ddns_' + 'B' * 43}), 401)

    def test_register_hosts_update_unregister(self):
        before = len(self.hosts_state())
        r = self.nic('alice', '/nic/register', fqdn='egi1.' + ZONE,
                     wildcard='True', comment='IM created DNS entry')
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'nic-register')
        h = r.json['host']
        secret = h['update_secret']
        self.seen_secrets.append(secret)
        self.assertEqual((h['ipv4'], h['wildcard'], h['comment'],
                          h['domain'], h['name']),
                         ('127.0.0.1', True, 'IM created DNS entry', ZONE,
                          'egi1'))
        base = 'http://127.0.0.1:%d' % self.svc.http_port
        self.assertEqual(h['IPv4_update_url_basic_auth'],
                         'http://egi1.%s:%s@127.0.0.1:%d/nic/update'
                         % (ZONE, secret, self.svc.http_port))
        self.assertEqual(h['IPv4_update_url_bearer_auth'],
                         base + '/nic/update?hostname=egi1.%s&myip=${myip}'
                         % ZONE)
        self.assertAnswer('egi1.' + ZONE, 'A', ['127.0.0.1'])
        self.assertAnswer('x.egi1.' + ZONE, 'A', ['127.0.0.1'])
        r = self.svc.update('egi1.' + ZONE, secret, myip='192.0.2.90')
        self.assertEqual(r.body, 'good 192.0.2.90')
        r = self.nic('alice', '/nic/register', name='egi2', domain=ZONE,
                     ip='2001:db8::90')
        self.assertSchema(r.json, 'nic-register')
        self.seen_secrets.append(r.json['host']['update_secret'])
        self.assertEqual((r.json['host']['ipv4'], r.json['host']['ipv6']),
                         (None, '2001:db8::90'))
        r = self.nic('alice', '/nic/hosts')
        self.assertSchema(r.json, 'nic-hosts')
        got = {x['fqdn']: x for x in r.json['hosts']}
        self.assertEqual(got['egi1.' + ZONE]['ipv4'], '192.0.2.90')
        r = self.nic('alice', '/nic/hosts', domain=LAB)
        self.assertEqual(r.json, {'status': 'ok', 'hosts': []})
        bobs = [x['fqdn'] for x in self.nic('bob', '/nic/hosts').json['hosts']]
        self.assertFalse(set(bobs) & set(got), bobs)
        # bob may neither unregister nor re-key alice's hosts
        snapshot = self.hosts_state()
        self.assertNicError(self.nic('bob', '/nic/unregister',
                                     fqdn='egi1.' + ZONE), 404)
        self.assertNicError(self.nic('bob', '/nic/generate_secret',
                                     fqdn='egi1.' + ZONE), 404)
        self.assertNicError(self.nic('bob', '/nic/register',
                                     fqdn='egi1.' + ZONE), 409)
        self.assertUnchanged(snapshot)
        r = self.svc.update('egi1.' + ZONE, secret, myip='192.0.2.90')
        self.assertEqual(r.body, 'nochg 192.0.2.90')
        r = self.nic('alice', '/nic/generate_secret', fqdn='egi1.' + ZONE)
        self.assertSchema(r.json, 'nic-generate-secret')
        self.seen_secrets.append(r.json['secret'])
        self.assertEqual(self.svc.update('egi1.' + ZONE, secret).status, 401)
        r = self.nic('alice', '/nic/unregister', name='egi1', domain=ZONE)
        self.assertEqual(r.status, 200, r)
        self.assertSchema(r.json, 'nic-unregister')
        self.assertEqual(r.json['host'], {
            'fqdn': 'egi1.' + ZONE, 'name': 'egi1', 'domain': ZONE,
            'wildcard': True, 'comment': 'IM created DNS entry'})
        self.nic('alice', '/nic/unregister', fqdn='egi2.' + ZONE)
        self.assertEqual(len(self.hosts_state()), before)

    def test_register_refusals(self):
        before = self.hosts_state()
        cases = [({}, 400, 'Missing parameter: fqdn'),
                 ({'name': 'x'}, 400, 'Missing parameter: domain'),
                 ({'fqdn': 'a_b.' + ZONE}, 400, None),
                 ({'fqdn': 'r1.' + ZONE, 'wildcard': 'maybe'}, 400, None),
                 ({'fqdn': 'r1.' + ZONE, 'ip': '300.1.1.1'}, 400, None),
                 ({'fqdn': 'r1.' + ZONE, 'comment': 'c' * 201}, 400, None),
                 ({'fqdn': 'r1.' + LAB}, 403, None),
                 ({'fqdn': 'r1.nope.example.org'}, 404, None)]
        for params, status, text in cases:
            with self.subTest(params=params):
                r = self.nic('alice', '/nic/register', **params)
                self.assertNicError(r, status)
                if text:
                    self.assertEqual(r.json['message'], text)
        self.assertNicError(self.nic('alice', '/nic/generate_secret'), 400)
        self.assertUnchanged(before)

    def bearer_update(self, who, **params):
        headers = {'Authorization': 'Bearer ' + self.tokens[who]} \
            if who else {}
        q = urllib.parse.urlencode(params)
        return self.req('GET', '/nic/update?' + q, headers=headers)

    def test_bearer_update(self):
        fqdn, secret = self.new_api_host('alice')
        bobs, _ = self.new_api_host('bob')
        r = self.bearer_update('alice', hostname=fqdn, myip='192.0.2.70')
        self.assertEqual((r.status, r.body), (200, b'good 192.0.2.70'))
        self.assertAnswer(fqdn, 'A', ['192.0.2.70'])
        r = self.bearer_update('alice', hostname=fqdn.upper(),
                               myip='192.0.2.70')
        self.assertEqual((r.status, r.body), (200, b'nochg 192.0.2.70'))
        r = self.bearer_update('alice', myip='192.0.2.71')
        self.assertEqual((r.status, r.body), (200, b'notfqdn'))
        before = self.hosts_state()
        for host in (bobs, 'nohost.' + ZONE):
            r = self.bearer_update('alice', hostname=host,
                                   myip='192.0.2.72')
            self.assertEqual((r.status, r.body), (200, b'nohost'), host)
        r = self.req('GET', '/nic/update?hostname=%s&myip=192.0.2.73' % fqdn,
                     headers={'Authorization': 'Bearer ddns_' + 'C' * 43})
        self.assertEqual((r.status, r.body), (401, b'badauth'))
        self.assertUnchanged(before)
        # admins may update any host by token
        r = self.bearer_update('root', hostname=bobs, myip='192.0.2.74')
        self.assertEqual(r.body, b'good 192.0.2.74')
        # Basic keeps working as before
        r = self.svc.update(fqdn, secret, myip='192.0.2.75')
        self.assertEqual((r.status, r.body), (200, 'good 192.0.2.75'))


# ---- a login does not stall updates ----------------------------------------

class Concurrency(PortalCase):

    def test_logins_do_not_delay_updates(self):
        fqdn, secret = self.svc.new_host()
        url = '/nic/update?hostname=%s&myip=' % fqdn
        auth = ddnstest.basic_auth(fqdn, secret)

        def one_update(i):
            t = time.monotonic()
            r = self.req('GET', url + '192.0.2.%d' % (100 + i % 100),
                         headers={auth[0]: auth[1]})
            dt = time.monotonic() - t
            self.assertIn(r.body.split(b' ')[0], (b'good', b'nochg'), r)
            return dt

        baseline = sorted(one_update(i) for i in range(5))
        done = []
        logins = []

        def login():
            t = time.monotonic()
            r = self.req('POST', '/api/v1/login',
                         {'username': 'alice',
                          'password': PASSWORDS['alice']})
            logins.append((t, time.monotonic(), r.status))
            self.seen_secrets.append(cookie_of(r) or '')
            done.append(1)
        threads = [threading.Thread(target=login) for _ in range(10)]
        for th in threads:
            th.start()
        during = []
        # measure while logins are pending (the worker hashes 2 at a time)
        while len(done) < len(threads) and len(during) < 50:
            during.append((time.monotonic(), one_update(len(during))))
        for th in threads:
            th.join(timeout=60)
        self.assertEqual(sorted(s for _, _, s in logins), [200] * 10)
        first_start = min(t for t, _, _ in logins)
        last_end = max(t for _, t, _ in logins)
        overlapped = [dt for t, dt in during if first_start < t < last_end]
        self.assertGreaterEqual(len(overlapped), 3,
                                'too few updates during the logins')
        med = sorted(overlapped)[len(overlapped) // 2]
        sys_note = ('baseline %s ms; during %d logins lasting %.0f ms: '
                    'median %.1f ms, max %.1f ms over %d updates'
                    % ([round(x * 1000, 1) for x in baseline], len(threads),
                       (last_end - first_start) * 1000, med * 1000,
                       max(overlapped) * 1000, len(overlapped)))
        print('\n' + sys_note)
        # one login costs 50-100 ms of scrypt; if it ran on the event
        # loop, an update queued behind it would take that long
        self.assertLess(med, 0.1, sys_note)


# ---- failed logins are limited -----------------------------------------------

class LoginLimits(ServiceTestCase):
    """[abuse] limits on failed logins: per source and per user name (the
    sources vary through a trusted proxy's X-Forwarded-For)."""

    SERVICE_ARGS = {'ipv6': False, 'conf_extra': {
        'abuse': {'auth_failures_per_source': 3,
                  'auth_failures_per_host': 4, 'auth_window': 300},
        'updater': {'trusted_proxies': '127.0.0.1'}}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name in ('alice', 'bob'):
            ctl_run(cls.svc, 'user', 'add', name, '--password-stdin',
                    stdin=PASSWORDS[name] + '\n')

    def login(self, name, pw, source=None):
        h = {'X-Forwarded-For': source} if source else {}
        return request(self.svc.http_port, 'POST', '/api/v1/login',
                       {'username': name, 'password': pw}, h)

    def test_per_source(self):
        for _ in range(3):
            self.assertEqual(self.login('alice', 'wrong-one').status, 401)
        for pw in ('wrong-one', PASSWORDS['alice']):
            r = self.login('alice', pw)
            self.assertEqual(r.status, 429, r)
            self.assertGreater(int(r.header('retry-after')), 0)
            self.assertIsNone(r.header('set-cookie'))
            self.assertIsNone(SCHEMAS.validate(r.json, 'error'))
        # another source is not concerned
        r = self.login('alice', PASSWORDS['alice'], '192.0.2.200')
        self.assertEqual(r.status, 200, r)

    def test_per_user_name(self):
        for i in range(4):
            r = self.login('bob', 'wrong-two', '198.51.100.%d' % (i + 1))
            self.assertEqual(r.status, 401, r)
        r = self.login('bob', PASSWORDS['bob'], '198.51.100.50')
        self.assertEqual(r.status, 429, r)
        r = self.login('alice', PASSWORDS['alice'], '198.51.100.51')
        self.assertEqual(r.status, 200, r)
        # unknown names are not tracked: they cannot lock anyone out
        for i in range(6):
            r = self.login('nobody%d' % i, 'wrong-three',
                           '203.0.113.%d' % (i + 1))
            self.assertEqual(r.status, 401, r)


# ---- HTTPS: Secure cookies ----------------------------------------------------

class SecureCookies(ServiceTestCase):
    SERVICE_ARGS = {'tls': True, 'ipv6': False,
                    'conf_extra': {'updater': {
                        'trusted_proxies': '127.0.0.1'}}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ctl_run(cls.svc, 'user', 'add', 'alice', '--password-stdin',
                stdin=PASSWORDS['alice'] + '\n')

    def login(self, **kw):
        return request(kw.pop('port', self.svc.http_port), 'POST',
                       '/api/v1/login', {'username': 'alice',
                                         'password': PASSWORDS['alice']},
                       **kw)

    def test_secure_over_tls_and_from_a_proxy(self):
        r = self.login(port=self.svc.tls_port, tls_ca=self.svc.ca_file)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header('set-cookie').endswith('; Secure'), r)
        sid = cookie_of(r)
        r = request(self.svc.tls_port, 'POST', '/api/v1/logout',
                    headers={'Cookie': 'ddns_session=' + sid,
                             'X-CSRF-Token': r.json['csrf']},
                    tls_ca=self.svc.ca_file)
        self.assertEqual(r.header('set-cookie'), 'ddns_session=; Path=/; '
                         'HttpOnly; SameSite=Lax; Max-Age=0; Secure')
        r = self.login(headers={'X-Forwarded-Proto': 'https',
                                'X-Forwarded-For': '192.0.2.1'})
        self.assertTrue(r.header('set-cookie').endswith('; Secure'), r)
        r = self.login()
        self.assertNotIn('Secure', r.header('set-cookie'))


# ---- OpenID Connect without a browser: bearer access tokens, login -----------

BROWSER_DIR = os.path.join(REPO, 'test', 'browser')
CLIENT_CB = 'http://127.0.0.1:9/cb'   # never contacted: the code is read
                                      # from the redirect itself


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


class Browserless:
    """Just enough of a browser for the provider's stock login and consent
    pages: a cookie jar and forms, over http.client, on 127.0.0.1."""

    def __init__(self):
        self.jar = {}

    def send(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        assert u.hostname == '127.0.0.1', url
        h = dict(headers or {})
        if self.jar:
            h['Cookie'] = '; '.join('%s=%s' % kv for kv in self.jar.items())
        if body is not None:
            h.setdefault('Content-Type', 'application/x-www-form-urlencoded')
        r = request(u.port, method, u.path + ('?' + u.query if u.query
                                              else ''), body, h)
        for v in r.header_list('set-cookie'):
            name, _, rest = v.partition('=')
            val = rest.split(';', 1)[0]
            if 'max-age=0' in v.lower() or not val:
                self.jar.pop(name, None)
            else:
                self.jar[name] = val
        return r

    def run(self, url, stop, login, password):
        """Follow URL through the provider (logging in as LOGIN, agreeing
        to everything) until a redirect to a URL starting with STOP, which
        is returned unfollowed."""
        method, body = 'GET', None
        for _ in range(20):
            r = self.send(method, url, body)
            if r.status in (301, 302, 303, 307):
                url = urllib.parse.urljoin(url, r.header('location'))
                method, body = 'GET', None
                if url.startswith(stop):
                    return url
                continue
            if r.status != 200:
                raise AssertionError('provider: %r' % r)
            page = r.body.decode()
            action = re.search(r'<form[^>]*action="([^"]+)"', page).group(1)
            fields = dict(re.findall(
                r'<input[^>]*type="hidden"[^>]*name="([^"]+)"'
                r'[^>]*value="([^"]*)"', page))
            if 'name="login"' in page:
                fields.update(login=login, password=password)
            url = urllib.parse.urljoin(url, action)
            method, body = 'POST', urllib.parse.urlencode(fields)
        raise AssertionError('no redirect to %s' % stop)


class Oidc(ServiceTestCase):
    """A real OpenID provider (test/browser/oidc-provider.mjs, npm
    oidc-provider) as [oidc egi]: its access tokens as Bearer on the API
    and the EGI endpoints, and the login redirects, driven without a
    browser.  Skipped without node and test/browser/node_modules."""

    SERVICE_ARGS = {'ipv6': False, 'zones': (ZONE, LAB)}
    provider = None

    @classmethod
    def setUpClass(cls):
        node = shutil.which('node')
        if not node or not os.path.isdir(os.path.join(
                BROWSER_DIR, 'node_modules', 'oidc-provider')):
            raise unittest.SkipTest('node or test/browser/node_modules '
                                    'missing (test/browser/run.sh)')
        for t in ('pdns_server', 'dig', 'curl'):
            if not ddnstest.tool(t):
                raise unittest.SkipTest('%s is not installed' % t)
        cls.secret = b64url(os.urandom(24))
        cls.svc = svc = ddnstest.Service(**cls.SERVICE_ARGS)
        try:
            svc.prepare()
            svc.ctl('zone', 'set', LAB, '--visibility', 'private',
                    '--group', GROUP)
            cls.base = 'http://127.0.0.1:%d' % svc.http_port
            # its own process, stopped by its PID in tearDownClass; the
            # client secret goes through the environment, not argv
            cls.provider = p = ddnstest.Proc('oidc-provider', [
                node, os.path.join(BROWSER_DIR, 'oidc-provider.mjs'),
                '--port', '0', '--users',
                os.path.join(BROWSER_DIR, 'fixtures', 'oidc-users.json'),
                '--client-id', 'ddns', '--redirect-uri',
                cls.base + '/oidc/callback', '--redirect-uri', CLIENT_CB],
                svc.dir, env={'OIDC_CLIENT_SECRET': cls.secret})
            line = ddnstest.wait_for(
                lambda: re.search(r'oidc-provider ready (\{.*\})',
                                  p.output()), 'the OpenID provider',
                procs=[p])
            cls.issuer = json.loads(line.group(1))['issuer']
            with open(svc.conf, 'a') as f:
                f.write('[portal]\npublic_url = %s\n\n[oidc egi]\n'
                        'title = EGI Check-in\nissuer = %s\n'
                        'client_id = ddns\nclient_secret = %s\n'
                        'scopes = openid profile email '
                        'eduperson_entitlement\n'
                        'groups_claim = eduperson_entitlement\n'
                        % (cls.base, cls.issuer, cls.secret))
            svc.start_backend()
            svc.start_pdns()
            svc.start_updater()
        except BaseException:
            svc.failed = True
            cls.stop_provider()
            svc.stop(dump=True)
            raise

    @classmethod
    def stop_provider(cls):
        p = getattr(cls, 'provider', None)
        if p:
            p.stop()
            cls.provider = None

    @classmethod
    def tearDownClass(cls):
        cls.stop_provider()
        super().tearDownClass()

    @classmethod
    def access_token(cls, login, password):
        """An access token of LOGIN, by the code flow with PKCE as the
        client itself (redirect URI CLIENT_CB)."""
        disc = request(int(cls.issuer.rsplit(':', 1)[1]), 'GET',
                       '/.well-known/openid-configuration').json
        verifier = b64url(os.urandom(32))
        import hashlib
        q = urllib.parse.urlencode({
            'response_type': 'code', 'client_id': 'ddns',
            'redirect_uri': CLIENT_CB,
            'scope': 'openid profile email eduperson_entitlement',
            'state': b64url(os.urandom(16)), 'nonce': b64url(os.urandom(16)),
            'code_challenge': b64url(hashlib.sha256(
                verifier.encode()).digest()),
            'code_challenge_method': 'S256'})
        cb = Browserless().run(disc['authorization_endpoint'] + '?' + q,
                               CLIENT_CB, login, password)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(cb).query)
        import base64
        basic = base64.b64encode(('ddns:' + cls.secret).encode()).decode()
        tok = urllib.parse.urlsplit(disc['token_endpoint'])
        r = request(tok.port, 'POST', tok.path, urllib.parse.urlencode({
            'grant_type': 'authorization_code', 'code': code['code'][0],
            'redirect_uri': CLIENT_CB, 'code_verifier': verifier}),
            {'Content-Type': 'application/x-www-form-urlencoded',
             'Authorization': 'Basic ' + basic})
        assert r.status == 200, r
        at = r.json['access_token']
        PortalCase.seen_secrets.append(at)
        return at

    def req(self, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h['Authorization'] = 'Bearer ' + token
        return request(self.svc.http_port, method, path, body, h)

    def test_access_tokens_as_bearer(self):
        tok = self.access_token('alice', 'alice-test-password')
        r = self.req('GET', '/api/v1/session', tok)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(SCHEMAS.validate(r.json, 'session'))
        u = r.json['user']
        self.assertEqual((u['name'], u['display_name'], u['email'],
                          u['groups'], r.json['csrf']),
                         ('alice', 'Alice Example', 'alice@example.org',
                          [GROUP], None))
        r = self.req('GET', '/api/v1/domains', tok)
        self.assertEqual([d['zone'] for d in r.json['domains']], [ZONE, LAB])
        r = self.req('GET', '/nic/register?fqdn=oidc1.' + LAB, tok)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(SCHEMAS.validate(r.json, 'nic-register'))
        PortalCase.seen_secrets.append(r.json['host']['update_secret'])
        r = self.req('GET', '/nic/update?hostname=oidc1.%s&myip=192.0.2.99'
                     % LAB, tok)
        self.assertEqual((r.status, r.body), (200, b'good 192.0.2.99'))
        # bob: no preferred_username (his name comes from the e-mail), no
        # groups: not the lab zone, not alice's host
        bob = self.access_token('bob', 'bob-test-password')
        r = self.req('GET', '/api/v1/session', bob)
        self.assertEqual(r.json['user']['name'], 'bob')
        r = self.req('GET', '/nic/register?fqdn=oidc2.' + LAB, bob)
        self.assertEqual(r.status, 403, r)
        r = self.req('GET', '/api/v1/hosts/oidc1.' + LAB, bob)
        self.assertEqual(r.status, 404, r)
        r = self.req('GET', '/nic/update?hostname=oidc1.%s&myip=192.0.2.98'
                     % LAB, bob)
        self.assertEqual((r.status, r.body), (200, b'nohost'))
        # a token the provider never issued, on each kind of endpoint
        for path in ('/api/v1/hosts', '/nic/hosts',
                     '/nic/update?hostname=oidc1.' + LAB):
            r = self.req('GET', path, 'not-a-token-' + b64url(os.urandom(9)))
            self.assertEqual(r.status, 401, (path, r))
        users = json.loads(self.svc.ctl('user', 'list', '--json').stdout)
        names = sorted(x['name'] for x in (users if isinstance(users, list)
                                           else users['users']))
        self.assertEqual(names, ['alice', 'bob'])

    def test_login_redirects(self):
        b = Browserless()
        r = b.send('GET', self.base + '/oidc/login/egi?next=/host.html%3F'
                   'fqdn%3Dx')
        self.assertEqual(r.status, 302, r)
        self.assertTrue(r.header('location').startswith(self.issuer), r)
        flow = [c for c in r.header_list('set-cookie')
                if c.startswith('ddns_oidc=')]
        self.assertEqual(len(flow), 1, r)
        self.assertRegex(flow[0], r'^ddns_oidc=[A-Za-z0-9_-]{43}; '
                         r'Path=/oidc/; HttpOnly; SameSite=Lax; '
                         r'Max-Age=600$')
        loc = urllib.parse.urlsplit(r.header('location'))
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual((q['redirect_uri'], q['code_challenge_method'],
                          q['response_type']),
                         ([self.base + '/oidc/callback'], ['S256'],
                          ['code']))
        cb = b.run(r.header('location'), self.base + '/oidc/callback',
                   'alice', 'alice-test-password')
        # a forged state, then the real one
        forged = re.sub(r'state=[^&]+', 'state=' + 'x' * 43, cb)
        r2 = Browserless().send('GET', forged)
        self.assertEqual((r2.status, r2.header('location')),
                         (302, '/login.html?error=oidc_state'))
        r = b.send('GET', cb)
        self.assertEqual((r.status, r.header('location')),
                         (302, '/host.html?fqdn=x'), r)
        sid = b.jar.get('ddns_session')
        self.assertRegex(sid or '', r'^[A-Za-z0-9_-]{43}$')
        PortalCase.seen_secrets.append(sid)
        self.assertNotIn('ddns_oidc', b.jar)
        r = b.send('GET', self.base + '/api/v1/session')
        self.assertEqual(r.json['user']['name'], 'alice')
        self.assertRegex(r.json['csrf'], '^[0-9a-f]{64}$')
        # the same callback again: its state is used up
        r = Browserless().send('GET', cb)
        self.assertEqual(r.header('location'), '/login.html?error=oidc_state')
        r = request(self.svc.http_port, 'GET', '/oidc/login/nope')
        self.assertEqual(r.status, 404, r)
        r = request(self.svc.http_port, 'GET', '/api/v1/config')
        self.assertEqual(r.json['oidc_providers'], [{
            'id': 'egi', 'title': 'EGI Check-in',
            'login_url': '/oidc/login/egi'}])


# ---- nothing secret in logs or in the store ---------------------------------

class ZzNoSecretsLeak(unittest.TestCase):
    """Runs after the classes above (alphabetical order of unittest's
    loader is by class name within the module: Zz last)."""

    def test_logs_and_store_hold_no_secret(self):
        svcs = []
        self.assertTrue(PortalCase.seen_secrets, 'nothing collected')
        for cls in (Sessions, Hosts, Egi, Domains, Concurrency, StaticFiles,
                    Oidc):
            if getattr(cls, 'kept_files', None):
                svcs.append(cls.kept_files)
        found = []
        for files in svcs:
            for path in files:
                with open(path, 'rb') as f:
                    data = f.read()
                for s in PortalCase.seen_secrets:
                    if s and len(s) >= 8 and s.encode() in data:
                        found.append('%s in %s' % (s[:4] + '...', path))
        self.assertEqual(found, [])
        self.assertTrue(svcs, 'no service files were kept for the check')


def _keep_files(cls):
    """Wrap CLS's tearDownClass: copy its updater log and data.mdb aside
    (before the directory is removed) for ZzNoSecretsLeak."""
    orig = cls.__dict__.get('tearDownClass')

    @classmethod
    def tear(c):
        keep = tempfile.mkdtemp(prefix='ddns-keep-')
        atexit.register(shutil.rmtree, keep, True)
        files = []
        if c.svc and c.svc.dir:
            for rel in ('ddns-updater.log', 'ddns-backend.log', 'pdns.log',
                        os.path.join('store', 'data.mdb')):
                src = os.path.join(c.svc.dir, rel)
                if os.path.exists(src):
                    dst = os.path.join(keep, rel.replace('/', '_'))
                    shutil.copyfile(src, dst)
                    files.append(dst)
        c.kept_files = files
        if orig:
            orig.__func__(c)
        else:
            super(cls, c).tearDownClass()
    cls.tearDownClass = tear
    return cls


for _c in (Sessions, Hosts, Egi, Domains, Concurrency, StaticFiles, Oidc):
    _keep_files(_c)


if __name__ == '__main__':
    ddnstest.main()
