"""System tests of "Everything clients send" (issue 3): dyndns2 requests as
raw bytes over a socket, so that the test controls every byte sent and
checks every byte received, against a running ddns-updater; the outcome is
then read back with dig and `ddnsctl host list --json`.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_protocol.py -v

Not here: an IPv4-mapped IPv6 client address (::ffff:192.0.2.1) needs a
dual-stack listener on [::], which binds every interface; the tests bind
loopback only, so that case is left to the unit tests of addr/dyndns2.
"""

import unittest
import urllib.parse

import ddnstest
from ddnstest import ZONE, ServiceTestCase, basic_auth

# Substrings that clients (inadyn) read as success anywhere in a 200 body.
SUCCESS_WORDS = ('good', 'nochg', 'ok', 'true', 'updated')

# Every reply code and its HTTP status (README "Replies").  Not here:
# 911 (a failed store write: unit tests) and the 429 "abuse" of too many
# failed authentications (RateLimitReply below).
STATUS_OF = {
    'good': 200, 'nochg': 200, 'badauth': 401, 'notfqdn': 200,
    'nohost': 200, 'numhost': 200, 'dnserr': 200, 'abuse': 200,
}

UPDATE_PATHS = ('/nic/update', '/v3/update', '/update')


class ProtocolCase(ServiceTestCase):
    """Helpers: requests as raw bytes, and strict checks of the framing of
    every reply."""

    SERVICE_ARGS = {'ipv6': True}

    def send(self, target, auth=None, method='GET', headers=(), body=b'',
             version='HTTP/1.1', host='127.0.0.1', close=True, **kw):
        """One request; AUTH (user, secret) as a Basic header.  Returns the
        HttpReply after checking its framing."""
        headers = list(headers)
        if auth:
            headers.insert(0, basic_auth(*auth))
        r, closed = self.svc.raw(method, target, headers, body, version,
                                 host=host, close=close, **kw)
        self.assertFraming(r)
        if close or version == 'HTTP/1.0':
            self.assertTrue(closed, 'server kept the connection open after '
                            '%s with Connection: close' % version)
        return r

    def update(self, fqdn, secret, params=(), path='/nic/update', **kw):
        """GET PATH?PARAMS (a list of (key, value) sent as they are, or a
        ready query string) with Basic auth."""
        if not isinstance(params, str):
            params = '&'.join('%s=%s' % kv for kv in params)
        target = path + ('?' + params if params else '')
        return self.send(target, auth=(fqdn, secret), **kw)

    def assertFraming(self, r):
        """A reply as every client can read it: Content-Length present and
        right, never chunked, text/plain, the code on the first line."""
        self.assertIsNone(r.header('transfer-encoding'),
                          'chunked or encoded reply: %r' % (r,))
        self.assertEqual(len(r.header_list('content-length')), 1, r)
        self.assertEqual(int(r.header('content-length')), len(r.body), r)
        self.assertTrue(r.header('content-type', '').startswith('text/plain'),
                        r)
        self.assertIn(r.version, ('HTTP/1.0', 'HTTP/1.1'), r)
        if r.body:
            self.assertFalse(r.body[:1].isspace(),
                             'blank before the code: %r' % r.body)
            self.assertNotIn(b'<', r.body, 'HTML in the body: %r' % r.body)

    def assertLines(self, r, status, lines):
        """HTTP STATUS and exactly the body LINES (a list of lines)."""
        self.assertEqual((r.status, r.text.split('\n')), (status, lines),
                         'full reply: %r' % (r,))

    def assertNoSuccessWord(self, r):
        low = r.text.lower()
        for w in SUCCESS_WORDS:
            self.assertNotIn(w, low, 'error reply %d contains "%s": %r'
                             % (r.status, w, r.body))

    def assertHost(self, fqdn, ipv4=None, ipv6=None):
        """DNS and `ddnsctl host list --json` agree that FQDN has IPV4 and
        IPV6 (None: no such record)."""
        for rtype, want in (('A', ipv4), ('AAAA', ipv6)):
            if want:
                self.assertAnswer(fqdn, rtype, [want], ttl=60)
            else:
                self.assertNoAnswer(fqdn, rtype)
        info = self.svc.host_info(fqdn)
        self.assertIsNotNone(info, fqdn)
        self.assertEqual((info.get('ipv4'), info.get('ipv6')), (ipv4, ipv6),
                         info)


class PathsAndMethods(ProtocolCase):

    def test_every_update_path(self):
        for i, path in enumerate(UPDATE_PATHS):
            fqdn, secret = self.svc.new_host()
            ip = '192.0.2.%d' % (10 + i)
            r = self.update(fqdn, secret, [('hostname', fqdn), ('myip', ip)],
                            path=path)
            self.assertLines(r, 200, ['good ' + ip])
            self.assertHost(fqdn, ip)

    def test_unknown_paths_are_404_without_success_words(self):
        fqdn, secret = self.svc.new_host()
        # ('/' is the portal's page now: test_api.py)
        for target in ('/nic', '/nic/updat', '/nic/update/', '/nic/update/x',
                       '/NIC/UPDATE', '/v2/update', '/favicon.ico'):
            r = self.send(target + '?myip=192.0.2.1', auth=(fqdn, secret))
            self.assertEqual(r.status, 404, (target, r))
            self.assertNoSuccessWord(r)
        self.assertHost(fqdn)

    def test_post_form_body(self):
        fqdn, secret = self.svc.new_host()
        body = 'hostname=%s&myip=192.0.2.20' % fqdn
        r = self.send('/nic/update', auth=(fqdn, secret), method='POST',
                      headers=[('Content-Type',
                                'application/x-www-form-urlencoded')],
                      body=body)
        self.assertLines(r, 200, ['good 192.0.2.20'])
        self.assertHost(fqdn, '192.0.2.20')

    def test_post_form_with_credentials_and_charset(self):
        fqdn, secret = self.svc.new_host()
        body = urllib.parse.urlencode([
            ('username', fqdn), ('password', secret), ('hostname', fqdn),
            ('myip', '2001:db8::21')])
        r = self.send('/v3/update', method='POST', body=body, headers=[
            ('Content-Type',
             'application/x-www-form-urlencoded; charset=UTF-8')])
        self.assertLines(r, 200, ['good 2001:db8::21'])
        self.assertHost(fqdn, None, '2001:db8::21')

    def test_post_query_and_body_together(self):
        """The query counts too (ddclient-style URL, form body from a
        script)."""
        fqdn, secret = self.svc.new_host()
        r = self.send('/update?hostname=' + fqdn, auth=(fqdn, secret),
                      method='POST', body='myip=192.0.2.22', headers=[
                          ('Content-Type',
                           'application/x-www-form-urlencoded')])
        self.assertLines(r, 200, ['good 192.0.2.22'])
        self.assertHost(fqdn, '192.0.2.22')

    def test_head_changes_nothing(self):
        fqdn, secret = self.svc.new_host()
        r, _ = self.svc.raw('HEAD', '/nic/update?myip=192.0.2.23',
                            [basic_auth(fqdn, secret)], close=False)
        self.assertEqual(r.status, 405, r)
        self.assertHost(fqdn)

    def test_head_reply_has_no_body(self):
        """A reply to HEAD ends with its headers (RFC 9110 9.3.2): body
        bytes after it would be read as the next reply on a kept-alive
        connection."""
        fqdn, secret = self.svc.new_host()
        r, closed = self.svc.raw('HEAD', '/nic/update?myip=192.0.2.24',
                                 [basic_auth(fqdn, secret)])
        self.assertTrue(closed)


class Parameters(ProtocolCase):

    def test_aliases(self):
        cases = [
            ([('myipv4', '192.0.2.30')], '192.0.2.30', None,
             'good 192.0.2.30'),
            ([('myipv6', '2001:db8::30')], None, '2001:db8::30',
             'good 2001:db8::30'),
            ([('myipv4', '192.0.2.31'), ('myipv6', '2001:db8::31')],
             '192.0.2.31', '2001:db8::31', 'good 192.0.2.31,2001:db8::31'),
            ([('ip', '192.0.2.32')], '192.0.2.32', None, 'good 192.0.2.32'),
            ([('ipv6', '2001:db8::33')], None, '2001:db8::33',
             'good 2001:db8::33'),
            ([('ip', '192.0.2.34'), ('ipv6', '2001:db8::34')],
             '192.0.2.34', '2001:db8::34', 'good 192.0.2.34,2001:db8::34'),
            ([('MyIP', '192.0.2.35')], '192.0.2.35', None,
             'good 192.0.2.35'),
        ]
        for params, v4, v6, line in cases:
            with self.subTest(params=params):
                fqdn, secret = self.svc.new_host()
                r = self.update(fqdn, secret, [('hostname', fqdn)] + params)
                self.assertLines(r, 200, [line])
                self.assertHost(fqdn, v4, v6)

    def test_percent_encoded_colons(self):
        for enc in ('2001%3adb8%3a%3a40', '2001%3Adb8%3A%3A41',
                    '2001%3adb8%3A%3a42'):
            with self.subTest(myip=enc):
                fqdn, secret = self.svc.new_host()
                want = urllib.parse.unquote(enc)
                r = self.update(fqdn, secret, [('myip', enc)])
                self.assertLines(r, 200, ['good ' + want])
                self.assertHost(fqdn, None, want)

    def test_both_families_percent_encoded(self):
        """myip=v4,v6 as inadyn and routers send it (comma as %2C)."""
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret,
                        [('myip', '192.0.2.43%2C2001%3adb8%3a%3a43')])
        self.assertLines(r, 200, ['good 192.0.2.43,2001:db8::43'])
        self.assertHost(fqdn, '192.0.2.43', '2001:db8::43')

    def test_one_family_left_empty(self):
        """A Fritz!Box fills myip=<ipaddr>,<ip6addr> with an empty part
        when it lacks that family: the other is set, the empty one left
        alone."""
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('myip', '192.0.2.44,')])
        self.assertLines(r, 200, ['good 192.0.2.44'])
        self.assertHost(fqdn, '192.0.2.44')
        r = self.update(fqdn, secret, [('myip', ',2001:db8::44')])
        self.assertLines(r, 200, ['good 2001:db8::44'])
        self.assertHost(fqdn, '192.0.2.44', '2001:db8::44')
        r = self.update(fqdn, secret, [('myip', '192.0.2.45,2001:db8::45/56')])
        self.assertLines(r, 200, ['good 192.0.2.45,2001:db8::45'])
        self.assertHost(fqdn, '192.0.2.45', '2001:db8::45')

    def test_fully_expanded_ipv6(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [
            ('myipv6', '2001:0DB8:0000:0000:0000:0000:0000:0050')])
        self.assertLines(r, 200, ['good 2001:db8::50'])
        self.assertHost(fqdn, None, '2001:db8::50')
        # The same address written another way is no change.
        r = self.update(fqdn, secret, [('myip', '2001:db8:0:0::50')])
        self.assertLines(r, 200, ['nochg 2001:db8::50'])

    def test_empty_myip_is_the_client_address(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('hostname', fqdn), ('myip', '')])
        self.assertLines(r, 200, ['good 127.0.0.1'])
        self.assertHost(fqdn, '127.0.0.1')
        r = self.update(fqdn, secret, [('myip', ''), ('myipv6', '')],
                        host='::1')
        self.assertLines(r, 200, ['good ::1'])
        self.assertHost(fqdn, '127.0.0.1', '::1')

    def test_empty_hostname_is_the_user(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('hostname', ''),
                                       ('myip', '192.0.2.51')])
        self.assertLines(r, 200, ['good 192.0.2.51'])
        self.assertHost(fqdn, '192.0.2.51')

    def test_key_without_value(self):
        """'?myip' (no '=') is an empty value too."""
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, 'myip&system=dyndns')
        self.assertLines(r, 200, ['good 127.0.0.1'])
        self.assertHost(fqdn, '127.0.0.1')

    def test_unknown_parameters_ignored(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [
            ('system', 'dyndns'), ('hostname', fqdn),
            ('myip', '192.0.2.52'), ('wildcard', 'ON'),
            ('mx', 'mx.example.org'), ('backmx', 'NO'), ('offline', 'NO'),
            ('foo', 'bar'), ('', 'x'), ('=', '')])
        self.assertLines(r, 200, ['good 192.0.2.52'])
        self.assertHost(fqdn, '192.0.2.52')
        info = self.svc.host_info(fqdn)
        self.assertFalse(info.get('wildcard'),
                         'wildcard=ON from a client changed the host')
        self.assertNoAnswer('x.' + fqdn, 'A')

    def test_offline_yes_is_ignored_too(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('myip', '192.0.2.53'),
                                       ('offline', 'YES')])
        self.assertLines(r, 200, ['good 192.0.2.53'])
        self.assertHost(fqdn, '192.0.2.53')

    def test_credentials_as_query_parameters_percent_encoded(self):
        fqdn, secret = self.svc.new_host()
        r = self.send('/nic/update?' + urllib.parse.urlencode([
            ('username', fqdn), ('password', secret),
            ('myip', '192.0.2.54')], safe=''))
        self.assertLines(r, 200, ['good 192.0.2.54'])
        self.assertHost(fqdn, '192.0.2.54')

    def test_bad_address_is_dnserr(self):
        fqdn, secret = self.svc.new_host()
        for bad in ('192.0.2.256', 'example.org', '2001:db8::1::2',
                    '192.0.2.1,192.0.2.2', '2001:db8::60'):
            with self.subTest(myip=bad):
                param = 'myipv4' if bad == '2001:db8::60' else 'myip'
                r = self.update(fqdn, secret, [(param, bad)])
                self.assertLines(r, 200, ['dnserr'])
                self.assertNoSuccessWord(r)
        self.assertHost(fqdn)


class Hostnames(ProtocolCase):

    def test_one_line_per_name_in_order(self):
        fqdn, secret = self.svc.new_host()
        other, _ = self.svc.new_host()
        names = [other, fqdn, 'not_a..name', 'nosuch.' + ZONE,
                 fqdn.upper(), 'nozone.example.net']
        r = self.update(fqdn, secret, [('hostname', ','.join(names)),
                                       ('myip', '192.0.2.70')])
        self.assertLines(r, 200, ['nohost', 'good 192.0.2.70', 'notfqdn',
                                  'nohost', 'good 192.0.2.70', 'nohost'])
        self.assertHost(fqdn, '192.0.2.70')
        self.assertHost(other)
        r = self.update(fqdn, secret, [('hostname', fqdn + ',' + other),
                                       ('myip', '192.0.2.70')])
        self.assertLines(r, 200, ['nochg 192.0.2.70', 'nohost'])

    def test_percent_encoded_commas_and_blanks(self):
        fqdn, secret = self.svc.new_host()
        other, _ = self.svc.new_host()
        r = self.update(fqdn, secret, [
            ('hostname', '%s%%2C+%s' % (fqdn, other)),
            ('myip', '192.0.2.71')])
        self.assertLines(r, 200, ['good 192.0.2.71', 'nohost'])
        self.assertHost(fqdn, '192.0.2.71')

    def test_twenty_names(self):
        fqdn, secret = self.svc.new_host()
        others = ['n%d.%s' % (i, ZONE) for i in range(19)]
        r = self.update(fqdn, secret, [('hostname', ','.join(others +
                                                             [fqdn])),
                                       ('myip', '192.0.2.72')])
        self.assertLines(r, 200, ['nohost'] * 19 + ['good 192.0.2.72'])
        self.assertHost(fqdn, '192.0.2.72')

    def test_twenty_one_names_is_numhost(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('hostname', ','.join([fqdn] * 21)),
                                       ('myip', '192.0.2.73')])
        self.assertLines(r, 200, ['numhost'])
        self.assertNoSuccessWord(r)
        self.assertHost(fqdn)

    def test_only_foreign_names(self):
        fqdn, secret = self.svc.new_host()
        other, _ = self.svc.new_host()
        r = self.update(fqdn, secret, [('hostname', other),
                                       ('myip', '192.0.2.74')])
        self.assertLines(r, 200, ['nohost'])
        self.assertNoSuccessWord(r)
        self.assertHost(fqdn)
        self.assertHost(other)


class Http(ProtocolCase):

    def test_http10_without_host(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('myip', '192.0.2.80')],
                        version='HTTP/1.0', host_header=None)
        self.assertLines(r, 200, ['good 192.0.2.80'])
        self.assertHost(fqdn, '192.0.2.80')

    def test_http10_host_without_port(self):
        """inadyn's request: HTTP/1.0, Host without the port."""
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('hostname', fqdn),
                                       ('myip', '192.0.2.81')],
                        version='HTTP/1.0', host_header='127.0.0.1')
        self.assertLines(r, 200, ['good 192.0.2.81'])

    def test_http11_connection_close(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, [('myip', '192.0.2.82')],
                        host_header='ddns.example.org')
        self.assertLines(r, 200, ['good 192.0.2.82'])

    def test_http11_keep_alive_then_close(self):
        """Two requests on one connection, then Connection: close."""
        fqdn, secret = self.svc.new_host()
        port = self.svc.http_port
        host = '127.0.0.1:%d' % port
        auth = [basic_auth(fqdn, secret)]
        with ddnstest.RawHttp('127.0.0.1', port) as c:
            c.send(ddnstest.http_request_bytes(
                'GET', '/nic/update?myip=192.0.2.83', host, auth))
            r = c.reply()
            self.assertFraming(r)
            self.assertLines(r, 200, ['good 192.0.2.83'])
            c.send(ddnstest.http_request_bytes(
                'GET', '/nic/update?myip=192.0.2.83', host,
                auth + [('Connection', 'close')]))
            r = c.reply()
            self.assertFraming(r)
            self.assertLines(r, 200, ['nochg 192.0.2.83'])
            self.assertTrue(c.closed_by_peer(),
                            'Connection: close not honoured')

    def test_pipelined_requests(self):
        fqdn, secret = self.svc.new_host()
        port = self.svc.http_port
        host = '127.0.0.1:%d' % port
        auth = [basic_auth(fqdn, secret)]
        with ddnstest.RawHttp('127.0.0.1', port) as c:
            c.send(ddnstest.http_request_bytes(
                'GET', '/nic/update?myip=192.0.2.84', host, auth) +
                ddnstest.http_request_bytes(
                    'GET', '/myip', host, [('Connection', 'close')]))
            first, second = c.reply(), c.reply()
            self.assertLines(first, 200, ['good 192.0.2.84'])
            self.assertLines(second, 200, ['127.0.0.1'])
            self.assertTrue(c.closed_by_peer())

    def test_ipv6_client_updates_aaaa(self):
        fqdn, secret = self.svc.new_host()
        r = self.update(fqdn, secret, host='::1')
        self.assertLines(r, 200, ['good ::1'])
        self.assertHost(fqdn, None, '::1')

    def test_absolute_form_target(self):
        fqdn, secret = self.svc.new_host()
        r = self.send('http://ddns.example.org/nic/update?myip=192.0.2.85',
                      auth=(fqdn, secret))
        self.assertLines(r, 200, ['good 192.0.2.85'])


class Replies(ProtocolCase):
    """The reply-code table, and no error body a client could read as a
    success."""

    def test_status_of_each_code(self):
        fqdn, secret = self.svc.new_host()
        other, _ = self.svc.new_host()
        blocked, bsecret = self.svc.new_host()
        self.svc.ctl('host', 'block', blocked)
        cases = [
            ('good', [('myip', '192.0.2.90')], (fqdn, secret)),
            ('nochg', [('myip', '192.0.2.90')], (fqdn, secret)),
            ('badauth', [('myip', '192.0.2.91')], (fqdn, 'x' + secret)),
            ('badauth', [('myip', '192.0.2.91')], None),
            ('badauth', [('myip', '192.0.2.91')], ('nosuch.' + ZONE, secret)),
            ('notfqdn', [('hostname', 'localhost')], (fqdn, secret)),
            ('nohost', [('hostname', other)], (fqdn, secret)),
            ('numhost', [('hostname', ','.join([fqdn] * 21))],
             (fqdn, secret)),
            ('dnserr', [('myip', '300.1.1.1')], (fqdn, secret)),
            ('abuse', [('myip', '192.0.2.92')], (blocked, bsecret)),
        ]
        seen = set()
        for code, params, auth in cases:
            with self.subTest(code=code, auth=bool(auth)):
                q = '&'.join('%s=%s' % kv for kv in params)
                r = self.send('/nic/update?' + q, auth=auth)
                self.assertEqual(r.text.split(' ')[0], code, r)
                self.assertEqual(r.status, STATUS_OF[code], r)
                if code == 'badauth':
                    self.assertTrue(r.header('www-authenticate', '')
                                    .startswith('Basic realm='), r)
                if code not in ('good', 'nochg'):
                    self.assertNoSuccessWord(r)
                seen.add(code)
        self.assertEqual(seen, set(STATUS_OF))
        self.assertHost(fqdn, '192.0.2.90')

    def test_error_bodies_have_no_success_words(self):
        """Every reply that is not good/nochg, whatever its status."""
        fqdn, secret = self.svc.new_host()
        auth = [basic_auth(fqdn, secret)]
        requests = [
            ('GET', '/nic/update?myip=192.0.2.95', [], b''),
            ('GET', '/nic/update?myip=bad', auth, b''),
            ('GET', '/nothing', auth, b''),
            ('HEAD', '/nic/update', auth, b''),
            ('POST', '/nic/update', auth + [
                ('Content-Type', 'application/x-www-form-urlencoded')],
             b'myip=' + b'1' * 20000),
            ('GET', '/nic/update?' + 'x' * 9000, auth, b''),
            ('GET', '/nic/update', [('Authorization', 'Basic !!!')], b''),
            ('GET', '/nic/update', [('Authorization', 'Bearer abc')], b''),
        ]
        for method, target, headers, body in requests:
            with self.subTest(method=method, target=target[:40]):
                r, _ = self.svc.raw(method, target, headers, body,
                                    close=(method != 'HEAD'))
                self.assertNotIn(r.text.split(' ')[0], ('good', 'nochg'), r)
                self.assertNoSuccessWord(r)
                if method != 'HEAD':
                    self.assertEqual(int(r.header('content-length', -1)),
                                     len(r.body), r)
                self.assertIsNone(r.header('transfer-encoding'), r)
        self.assertHost(fqdn)

    def test_malformed_requests(self):
        """What libevent itself answers: no success word either, and the
        daemon lives on."""
        for data in (b'GARBAGE\r\n\r\n', b'GET /nic/update HTTP/9.9\r\n\r\n',
                     b'GET /nic/update?myip=1 HTTP/1.1\r\nBad Header\r\n\r\n',
                     b'GET /nic/update HTTP/1.1\r\nX: ' + b'y' * 10000 +
                     b'\r\n\r\n'):
            with self.subTest(data=data[:30]):
                with ddnstest.RawHttp('127.0.0.1', self.svc.http_port) as c:
                    c.send(data)
                    try:
                        r = c.reply()
                    except AssertionError:
                        continue    # closed without a reply: fine
                    self.assertGreaterEqual(r.status, 400, r)
                    self.assertNoSuccessWord(r)
        r, _ = self.svc.raw('GET', '/myip')
        self.assertEqual((r.status, r.text), (200, '127.0.0.1'))



class RateLimitReply(ProtocolCase):
    """Past [abuse] auth_failures_per_source failed authentications from
    one address: 429 with Retry-After, body "abuse", before any secret is
    checked (even a right one from that address)."""

    SERVICE_ARGS = {'ipv6': True, 'extra_conf': {
        'abuse': {'auth_failures_per_source': 3, 'auth_window': 60}}}

    def test_429_after_failed_authentications(self):
        fqdn, secret = self.svc.new_host()
        wrong = (fqdn, secret[:-1] + ('x' if secret[-1] != 'x' else 'y'))
        statuses = []
        for _ in range(6):
            r = self.update(*wrong, params=[('myip', '192.0.2.96')])
            statuses.append(r.status)
            if r.status == 429:
                break
        self.assertEqual(statuses[0], 401, statuses)
        self.assertEqual(statuses[-1], 429, statuses)
        self.assertLines(r, 429, ['abuse'])
        self.assertNoSuccessWord(r)
        retry = r.header('retry-after', '')
        self.assertTrue(retry.isdigit() and 0 < int(retry) <= 60, r)
        r = self.update(fqdn, secret, [('myip', '192.0.2.97')])
        self.assertLines(r, 429, ['abuse'])
        self.assertHost(fqdn)


if __name__ == '__main__':
    ddnstest.main()
