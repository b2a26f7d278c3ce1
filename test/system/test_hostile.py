"""Hostile requests to ddns-updater (issue 6, "Bad input"): a table of
requests sent as raw bytes on a socket, each with the status and reply it
must get, and a check after each that the store did not change.

"Did not change" is checked on a full `mdb_dump` of every database of the
store, before and after each request, byte for byte, except what counts
faults: the `faults` database and, in `hosts`, the counters (schema 1) or
the FAULTS flag bit (schema 2).  Fault counters exist to record exactly
these requests (a failed authentication or a client fault), by design.  So
that
counting never turns into an `abuse` flag or a 429 during the table, the
service runs with [abuse] client_faults = 0 and high auth limits.

The victim host H has 192.0.2.1; requests that authenticate as H use an
address that is invalid or equal to that one, so a correct server changes
nothing.  O is another host (another user's), never touched.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_hostile.py -v
"""

import base64
import os
import socket
import subprocess
import unittest

import ddnstest
from ddnstest import ZONE, ServiceTestCase

H = 'h1.' + ZONE
O = 'h2.' + ZONE
H_IP = '192.0.2.1'
O_IP = '198.51.100.7'
ERROR_PAGE = None   # libevent's own HTML error page: status checked only
CLOSED = 'closed'   # the server closed the connection without a reply


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def req(method, target, headers=(), body=b'', version='HTTP/1.1',
        host='127.0.0.1'):
    """Bytes of one request with Host and Connection: close."""
    headers = list(headers) + [('Connection', 'close')]
    return ddnstest.http_request_bytes(method, target, host, headers, body,
                                       version)


# Each case of CASES: (name, a function of (H's secret, O's secret) that
# returns the request's bytes, the expected HTTP status or CLOSED, the
# expected first line of the body or ERROR_PAGE: not checked).
def auth_h(s):
    return ('Authorization', 'Basic ' + b64('%s:%s' % (H, s)))


def upd(query, auth=True, headers=(), method='GET', body=b'', **kw):
    """An update of H with H's credentials and QUERY (raw, not encoded)."""
    def build(sh, so):
        hs = ([auth_h(sh)] if auth else []) + list(headers)
        target = '/nic/update' + ('?' + query if query else '')
        return req(method, target, hs, body, **kw)
    return build


def with_auth(value):
    """An update of H (myip = its address) with this Authorization."""
    def build(sh, so):
        v = value(sh, so) if callable(value) else value
        return req('GET', '/nic/update?hostname=%s&myip=%s' % (H, H_IP),
                   [('Authorization', v)])
    return build


def raw(data):
    return lambda sh, so: data


LONG_LABEL = 'a' * 64 + '.' + ZONE
LONG_NAME = '.'.join(['b' * 60] * 4) + '.' + ZONE  # over 253 octets
THOUSAND = ','.join('n%d.%s' % (i, ZONE) for i in range(1000))
THREE_HUNDRED = ','.join('n%d.%s' % (i, ZONE) for i in range(300))[:7000]
TWENTY_ONE = ','.join([H] * 21)
MEGA = 'x' * (1 << 20)

CASES = [
    # -- authentication --
    ('no credentials', upd('hostname=%s&myip=%s' % (H, H_IP), auth=False),
     401, 'badauth'),
    ('wrong secret', with_auth('Basic ' + b64('%s:%s' % (H, 'A' * 24))),
     401, 'badauth'),
    ('broken base64', with_auth('Basic !!!not*base64!!!'), 401, 'badauth'),
    ('base64 with bad padding', with_auth('Basic ' + b64('%s:x' % H)[:-1]),
     401, 'badauth'),
    ('base64 of no colon', with_auth(lambda sh, so: 'Basic ' + b64(H + sh)),
     401, 'badauth'),
    ('secret with a colon', with_auth(
        lambda sh, so: 'Basic ' + b64('%s:%s:x' % (H, sh))), 401, 'badauth'),
    ('secret cut short', with_auth(
        lambda sh, so: 'Basic ' + b64('%s:%s' % (H, sh[:-1]))),
     401, 'badauth'),
    ('empty user, right secret', with_auth(
        lambda sh, so: 'Basic ' + b64(':' + sh)), 401, 'badauth'),
    ('NUL in the user name', with_auth(
        lambda sh, so: 'Basic ' + b64('%s\0:%s' % (H, sh))), 401, 'badauth'),
    ('NUL in the secret', with_auth(
        lambda sh, so: 'Basic ' + b64('%s:%s\0' % (H, sh))), 401, 'badauth'),
    ('non-ASCII user name', with_auth(
        lambda sh, so: 'Basic ' + b64('h\xe9.%s:%s' % (ZONE, sh))),
     401, 'badauth'),
    ('another host\'s secret', with_auth(
        lambda sh, so: 'Basic ' + b64('%s:%s' % (H, so))), 401, 'badauth'),
    ('user 2 KB long', with_auth('Basic ' + b64('u' * 2048 + ':x')),
     401, 'badauth'),
    ('Basic with nothing', with_auth('Basic '), 401, 'badauth'),
    ('Digest scheme', with_auth('Digest username="%s"' % H), 401, 'badauth'),
    ('Bearer garbage', with_auth('Bearer ' + 'z' * 64), 401, 'badauth'),
    ('Bearer with NUL', with_auth('Bearer ddns_\0abc'), 401, 'badauth'),
    # -- hostnames --
    ('label of 64 octets', upd('hostname=%s&myip=%s' % (LONG_LABEL, H_IP)),
     200, 'notfqdn'),
    ('name over 253 octets', upd('hostname=%s&myip=%s' % (LONG_NAME, H_IP)),
     200, 'notfqdn'),
    ('NUL in hostname', upd('hostname=h1%%00.%s&myip=%s' % (ZONE, H_IP)),
     200, 'notfqdn'),
    ('NUL after hostname', upd('hostname=%s%%00&myip=%s' % (H, H_IP)),
     200, 'notfqdn'),
    ('control byte in hostname', upd('hostname=h1%%01.%s&myip=%s'
                                     % (ZONE, H_IP)), 200, 'notfqdn'),
    ('space in hostname', upd('hostname=h%%201.%s&myip=%s' % (ZONE, H_IP)),
     200, 'notfqdn'),
    ('invalid UTF-8 in hostname', upd('hostname=h%%ff%%fe.%s&myip=%s'
                                      % (ZONE, H_IP)), 200, 'notfqdn'),
    ('hostname "."', upd('hostname=.&myip=%s' % H_IP), 200, 'notfqdn'),
    ('empty label', upd('hostname=h1..%s&myip=%s' % (ZONE, H_IP)),
     200, 'notfqdn'),
    ('label starting with -', upd('hostname=-h1.%s&myip=%s' % (ZONE, H_IP)),
     200, 'notfqdn'),
    ('wildcard hostname', upd('hostname=*.%s&myip=%s' % (ZONE, H_IP)),
     200, 'notfqdn'),
    ('another user\'s host', upd('hostname=%s&myip=%s' % (O, H_IP)),
     200, 'nohost'),
    ('the zone apex', upd('hostname=%s&myip=%s' % (ZONE, H_IP)),
     200, 'nohost'),
    ('a name out of every zone', upd('hostname=h1.example.net&myip=%s'
                                     % H_IP), 200, 'nohost'),
    ('21 hostnames', upd('hostname=%s&myip=%s' % (TWENTY_ONE, H_IP)),
     200, 'numhost'),
    ('300 hostnames', upd('hostname=%s&myip=%s' % (THREE_HUNDRED, H_IP)),
     200, 'numhost'),
    # 1,000 names make a request line of 21 KB: over the 8 KiB limit.
    ('1,000 hostnames', upd('hostname=%s&myip=%s' % (THOUSAND, H_IP)),
     400, ERROR_PAGE),
    ('1,000 hostnames in a form body', upd('', method='POST', headers=[
        ('Content-Type', 'application/x-www-form-urlencoded')],
        body='hostname=%s&myip=%s' % (THOUSAND, H_IP)), 413, ERROR_PAGE),
    # -- addresses --
    ('myip 256.1.1.1', upd('hostname=%s&myip=256.1.1.1' % H), 200, 'dnserr'),
    ('myip 1.2.3', upd('hostname=%s&myip=1.2.3' % H), 200, 'dnserr'),
    ('myip 01.2.3.4', upd('hostname=%s&myip=01.2.3.4' % H), 200, 'dnserr'),
    ('myip 1.2.3.4.5', upd('hostname=%s&myip=1.2.3.4.5' % H), 200, 'dnserr'),
    ('myip 0x7f.1.1.1', upd('hostname=%s&myip=0x7f.1.1.1' % H),
     200, 'dnserr'),
    ('myip 0.0.0.0', upd('hostname=%s&myip=0.0.0.0' % H), 200, 'dnserr'),
    ('myip multicast', upd('hostname=%s&myip=224.0.0.1' % H), 200, 'dnserr'),
    ('myip ::', upd('hostname=%s&myip=::' % H), 200, 'dnserr'),
    ('myip ff02::1', upd('hostname=%s&myip=ff02::1' % H), 200, 'dnserr'),
    ('myip 1:2:3:4:5:6:7:8:9', upd('hostname=%s&myip=1:2:3:4:5:6:7:8:9' % H),
     200, 'dnserr'),
    ('myip with NUL', upd('hostname=%s&myip=192.0.2.1%%00' % H),
     200, 'dnserr'),
    ('myip non-ASCII', upd('hostname=%s&myip=%%c2%%b9.2.3.4' % H),
     200, 'dnserr'),
    ('myip 300 digits', upd('hostname=%s&myip=%s' % (H, '1' * 300)),
     200, 'dnserr'),
    ('myip /33 on IPv4', upd('hostname=%s&myip=192.0.2.1/33' % H),
     200, 'dnserr'),
    ('myip /129 on IPv6', upd('hostname=%s&myip=2001:db8::1/129' % H),
     200, 'dnserr'),
    ('myip of a wrong family field', upd('hostname=%s&myipv6=192.0.2.1' % H),
     200, 'dnserr'),
    ('myip ::ffff:192.0.2.1 (the same address)',
     upd('hostname=%s&myip=::ffff:%s' % (H, H_IP)),
     200, 'nochg ' + H_IP),
    # -- parameters --
    ('duplicated hostname', upd('hostname=%s&hostname=%s&myip=%s'
                                % (O, H, H_IP)), 200, 'nohost'),
    ('duplicated myip', upd('hostname=%s&myip=%s&myip=203.0.113.9'
                            % (H, H_IP)), 200, 'nochg ' + H_IP),
    ('broken percent-escapes', upd('hostname=%%zz%%&myip=%s' % H_IP),
     200, 'notfqdn'),
    ('1 MB query string', upd('hostname=%s&myip=%s&x=%s'
                              % (H, H_IP, MEGA)), 400, ERROR_PAGE),
    ('1 MB form body', upd('', method='POST', headers=[
        ('Content-Type', 'application/x-www-form-urlencoded')],
        body='hostname=%s&myip=%s&x=%s' % (H, H_IP, MEGA)), 413, ERROR_PAGE),
    # -- HTTP framing --
    ('unknown method', upd('hostname=%s&myip=%s' % (H, H_IP), method='FOO'),
     501, ERROR_PAGE),
    # DELETE is a method the API uses: the update path answers 405.
    ('DELETE', upd('hostname=%s&myip=%s' % (H, H_IP), method='DELETE'),
     405, ERROR_PAGE),
    ('HEAD on the update path', upd('hostname=%s' % H, method='HEAD'),
     405, None),
    ('lower-case method', upd('hostname=%s' % H, method='get'),
     501, ERROR_PAGE),
    ('HTTP/2.0 on plain text', upd('hostname=%s' % H, version='HTTP/2.0'),
     400, ERROR_PAGE),
    ('header 10 KB long', upd('hostname=%s&myip=%s' % (H, H_IP),
                              headers=[('X-Big', 'y' * 10240)]),
     400, ERROR_PAGE),
    ('300 headers', upd('hostname=%s&myip=%s' % (H, H_IP),
                        headers=[('X-H%d' % i, 'v' * 30)
                                 for i in range(300)]), 400, ERROR_PAGE),
    ('header line without a colon',
     raw(b'GET /nic/update HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'),
     400, ERROR_PAGE),
    ('NUL in a header',
     raw(b'GET /nic/update HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n'
         b'Connection: close\r\n\r\n'), 401, 'badauth'),
    ('negative Content-Length', upd('', method='POST',
                                    headers=[('Content-Length', '-1')]),
     400, ERROR_PAGE),
    # libevent's lingering close waits for the declared body before its
    # 413: the [updater] timeout (3 s here) closes the connection first.
    ('Content-Length of a terabyte', upd('', method='POST', headers=[
        ('Content-Length', str(1 << 40))]), CLOSED, None),
    ('a broken chunk', raw(
        b'POST /nic/update HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
        b'Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'),
     413, ERROR_PAGE),  # libevent reads a bad chunk size as too long
    ('a request line alone', raw(b'GET\r\n\r\n'), 400, ERROR_PAGE),
    ('a TLS ClientHello on the plain port',
     raw(b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\0' * 64
         + b'\r\n\r\n'), 400, ERROR_PAGE),
    ('raw non-ASCII bytes in the target',
     raw(b'GET /nic/update?hostname=h\xc3\xa9\xff.dyn.example.org HTTP/1.1'
         b'\r\nHost: x\r\nConnection: close\r\n\r\n'), 401, 'badauth'),
    ('path traversal', raw(
        b'GET /nic/../../../etc/passwd HTTP/1.1\r\nHost: x\r\n'
        b'Connection: close\r\n\r\n'), 404, 'not found'),
    ('NUL in the path', raw(b'GET /nic/update%00 HTTP/1.1\r\nHost: x\r\n'
                            b'Connection: close\r\n\r\n'), 404, 'not found'),
]


def mdb_dump_by_db(store):
    """{database name: dump text} of every named database of STORE."""
    r = subprocess.run(['mdb_dump', '-a', store], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30,
                       env=ddnstest.clean_env())
    if r.returncode != 0:
        raise AssertionError('mdb_dump: %s' % r.stderr.decode())
    out = {}
    for block in r.stdout.decode('latin-1').split('VERSION=')[1:]:
        name = '(main)'
        for line in block.splitlines():
            if line.startswith('database='):
                name = line.split('=', 1)[1]
        out[name] = block
    return out


# What a fault may change in a hosts value, by schema version: v1
# (schema/lmdb-v1.md section 6) keeps the counters and last_fault at octets
# 93..113 of its 117; v2 (schema/lmdb-v2.md section 6) keeps them in
# `faults` and only sets flag bit 31 (FAULTS, octet 5, big-endian u32).
def mask_faults(val):
    """VAL (bytearray) with what a fault may change zeroed."""
    if val[0] == 1 and len(val) == 117:
        val[93:113] = bytes(20)
    elif val[0] == 2 and len(val) in (69, 73, 85, 89):
        val[5] &= 0x7f
    else:
        raise AssertionError('hosts value of %d octets, version %d: teach '
                             'mask_faults the new layout'
                             % (len(val), val[0]))
    return bytes(val)


def hosts_masked(dump):
    """{key: value with the fault fields zeroed} from the mdb_dump text of
    the hosts database."""
    lines = dump.split('HEADER=END\n', 1)[1].splitlines()
    out = {}
    for k, v in zip(lines[0::2], lines[1::2]):
        if k == 'DATA=END':
            break
        out[k.strip()] = mask_faults(bytearray.fromhex(v.strip()))
    return out


def exchange(port, data, timeout=10):
    """Send DATA on a new connection (a server that stops reading early is
    fine) and read the reply.  Returns (status, first body line) or
    (CLOSED, raw bytes) when no HTTP reply came."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    got = b''
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
    finally:
        s.close()
    head, sep, body = got.partition(b'\r\n\r\n')
    if not sep or not head.startswith(b'HTTP/1.'):
        return CLOSED, got[:200]
    status = int(head.split(b' ', 2)[1])
    first = body.decode('utf-8', 'replace').split('\n', 1)[0].rstrip('\r')
    return status, first


class Hostile(ServiceTestCase):
    SERVICE_ARGS = {
        'ipv6': False,
        'conf_extra': {'updater': {'timeout': '3'}, 'abuse': {
            'client_faults': '0',
            'auth_failures_per_source': '1000000',
            'auth_failures_per_host': '1000000'}},
    }

    @classmethod
    def setUpClass(cls):
        if not ddnstest.tool('mdb_dump'):
            raise unittest.SkipTest('mdb_dump (lmdb-utils) is not installed')
        super().setUpClass()
        svc = cls.svc
        cls.sh = svc.add_host(H)
        cls.so = svc.add_host(O)
        svc.set_ip(H, H_IP)
        svc.set_ip(O, O_IP)
        cls.store = os.path.join(svc.dir, 'store')

    def test_table(self):
        self.assertGreaterEqual(len(CASES), 50)
        before = mdb_dump_by_db(self.store)
        self.assertIn('hosts', before)
        for name, build, status, body in CASES:
            with self.subTest(name):
                data = build(self.sh, self.so)
                got = exchange(self.svc.http_port, data)
                want = (status, body)
                if body is ERROR_PAGE or status == CLOSED:
                    got = (got[0], None)
                self.assertEqual(got, want, 'request %r...' % data[:120])
                after = mdb_dump_by_db(self.store)
                for db in sorted(set(before) | set(after)):
                    if db in ('faults', 'hosts'):
                        continue
                    self.assertEqual(before.get(db), after.get(db),
                                     'database %s changed' % db)
                self.assertEqual(hosts_masked(before['hosts']),
                                 hosts_masked(after['hosts']),
                                 'a host changed beyond its fault counters')
                before = after
                self.svc.check_alive()
        # Nothing reached DNS either.
        self.assertAnswer(H, 'A', [H_IP])
        self.assertAnswer(O, 'A', [O_IP])
        self.assertNoAnswer(H, 'AAAA')

    def test_store_decodes(self):
        """Every stored record still decodes: the full JSON listing."""
        hosts = {h.get('fqdn', h.get('name', '')).rstrip('.')
                 for h in self._hosts()}
        self.assertLessEqual({H, O}, hosts)

    def _hosts(self):
        import json
        out = json.loads(self.svc.ctl('host', 'list', '--json').stdout)
        return out.get('hosts', []) if isinstance(out, dict) else out


if __name__ == '__main__':
    ddnstest.main()
