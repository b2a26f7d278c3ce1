"""System tests of ddns-updater's limits on client connections (review F1,
Slowloris) and of what it must never log (review F3):

- at max_connections the connection that has waited longest for a request
  is closed to make room: a flood of idle or half-sent connections from
  many sources does not lock out a real client;
- at most max_connections_per_source connections per source address (trusted
  proxies exempt);
- a connection must deliver a complete request within [updater] timeout
  seconds of its accept (or of its previous reply), however slowly it
  trickles bytes;
- a client that swaps username and password does not get its secret
  logged.

The flood uses source addresses 127.0.0.2 and up (all of 127/8 is the
loopback), so the test raises its own open-file limit to the hard limit.

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_limits.py -v
"""

import resource
import select
import socket
import time
import unittest
import urllib.parse

import ddnstest
from ddnstest import ServiceTestCase, basic_auth, wait_for

PER_SOURCE = 12     # [updater] max_connections_per_source in PerSource
FLOOD = 1000        # connections opened by the flood
FLOOD_SOURCES = 50  # 127.0.0.2 .. 127.0.0.51
FLOOD_MAX = 64      # [updater] max_connections during the flood


def raise_nofile(need):
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; skip the
    test when even that is below NEED."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        raise unittest.SkipTest(
            'open-file hard limit %d < %d' % (hard, need))
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def peer_closed(sock):
    """True if the server has closed SOCK (EOF or reset), without waiting;
    bytes from the server also count as not closed."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(4096, socket.MSG_PEEK) == b''
    except (ConnectionResetError, BrokenPipeError):
        return True


class Clients:
    """Client sockets from chosen loopback source addresses, all closed by
    close()."""

    def __init__(self, port):
        self.port = port
        self.socks = []
        self.failed = 0

    def open(self, src, first_bytes=b''):
        """A connection from SRC (an address of 127/8); None if connecting
        failed."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(3)
            s.bind((src, 0))
            s.connect(('127.0.0.1', self.port))
            if first_bytes:
                s.sendall(first_bytes)
        except OSError:
            s.close()
            self.failed += 1
            return None
        self.socks.append(s)
        return s

    def closed(self):
        return [s for s in self.socks if peer_closed(s)]

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


def ask_myip(sock, host='127.0.0.1'):
    """Send a complete GET /myip on SOCK and return the reply's body."""
    sock.sendall(ddnstest.http_request_bytes('GET', '/myip', host))
    sock.settimeout(5)
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError('closed instead of a reply: %r' % data)
        data += chunk
    head, body = data.split(b'\r\n\r\n', 1)
    n = [int(l.split(b':', 1)[1]) for l in head.split(b'\r\n')
         if l.lower().startswith(b'content-length:')][0]
    while len(body) < n:
        body += sock.recv(4096)
    return body.decode()


class Flood(ServiceTestCase):
    """max_connections = 64 and 1,000 connections that never finish a
    request: a real client still gets through at once."""

    SERVICE_ARGS = {'ipv6': False, 'extra_conf': {
        'updater': {'max_connections': FLOOD_MAX}}}

    def test_real_client_served_during_flood(self):
        raise_nofile(FLOOD + 200)
        fqdn, secret = self.svc.new_host()
        clients = Clients(self.svc.http_port)
        started = time.monotonic()
        try:
            for i in range(FLOOD):
                self.assertLess(time.monotonic() - started, 20,
                                'opening the flood took too long')
                src = '127.0.0.%d' % (2 + i % FLOOD_SOURCES)
                # half idle, half a request line that never ends
                clients.open(src, b'GET /nic/update?hostn' if i % 2 else b'')
            self.assertLess(clients.failed, FLOOD // 10,
                            'connecting failed %d times' % clients.failed)
            t0 = time.monotonic()
            r = self.svc.update(fqdn, secret, myip='192.0.2.7', timeout=5)
            took = time.monotonic() - t0
            self.assertReply(r, 200, 'good 192.0.2.7')
            self.assertLess(took, 3, 'the real client waited %.1f s' % took)
            self.assertAnswer(fqdn, 'A', ['192.0.2.7'], ttl=60)
            # the updater held at most max_connections of the flood
            wait_for(lambda: len(clients.closed()) >= len(clients.socks) -
                     FLOOD_MAX, 'the updater to close the excess', timeout=10,
                     procs=[self.svc.procs['ddns-updater']])
        finally:
            clients.close()
        self.assertLess(time.monotonic() - started, 30)
        log = self.svc.procs['ddns-updater'].output()
        self.assertIn('connection limit %d reached' % FLOOD_MAX, log)
        self.svc.check_alive()


class PerSource(ServiceTestCase):
    """At most PER_SOURCE connections from one address; a trusted proxy is
    one source for many clients and is exempt."""

    SERVICE_ARGS = {'ipv6': False, 'extra_conf': {
        'updater': {'trusted_proxies': '127.0.0.7',
                    'max_connections_per_source': str(PER_SOURCE)}}}

    def test_cap_per_source(self):
        raise_nofile(200)
        clients = Clients(self.svc.http_port)
        try:
            socks = [clients.open('127.0.0.5') for _ in range(PER_SOURCE + 8)]
            self.assertNotIn(None, socks)
            wait_for(lambda: len(clients.closed()) >= 8,
                     'the updater to close the connections over the cap',
                     procs=[self.svc.procs['ddns-updater']])
            closed = clients.closed()
            self.assertEqual(closed, socks[PER_SOURCE:])
            # the first PER_SOURCE are served
            self.assertEqual(ask_myip(socks[0]), '127.0.0.5')
            self.assertEqual(ask_myip(socks[PER_SOURCE - 1]), '127.0.0.5')
            # another source is not concerned
            extra = clients.open('127.0.0.6')
            self.assertEqual(ask_myip(extra), '127.0.0.6')
            fqdn, secret = self.svc.new_host()
            self.assertReply(self.svc.update(fqdn, secret, '192.0.2.8'),
                             200, 'good 192.0.2.8')
        finally:
            clients.close()
        log = self.svc.procs['ddns-updater'].output()
        self.assertIn('127.0.0.5: more than %d connections' % PER_SOURCE, log)

    def test_trusted_proxy_is_exempt(self):
        raise_nofile(200)
        clients = Clients(self.svc.http_port)
        try:
            socks = [clients.open('127.0.0.7') for _ in range(PER_SOURCE + 8)]
            self.assertNotIn(None, socks)
            self.assertEqual(ask_myip(socks[-1]), '127.0.0.7')
            self.assertEqual(ask_myip(socks[0]), '127.0.0.7')
            self.assertEqual(clients.closed(), [])
        finally:
            clients.close()


class RequestDeadline(ServiceTestCase):
    """[updater] timeout = 2: the whole request within 2 s of the accept,
    or of the previous reply; a byte now and then does not extend it."""

    SERVICE_ARGS = {'ipv6': False, 'extra_conf': {
        'updater': {'timeout': 2}}}
    DEADLINE = 2
    STEP = 0.4      # one byte this often: well inside the idle timeout

    def trickle(self, sock, data, limit=12):
        """Send DATA one byte per STEP seconds until the server closes
        SOCK; returns the seconds that took (fails after LIMIT)."""
        t0 = time.monotonic()
        for i in range(len(data)):
            r, _, _ = select.select([sock], [], [], self.STEP)
            if r and peer_closed(sock):
                return time.monotonic() - t0
            self.assertFalse(r, 'the server answered a partial request')
            self.assertLess(time.monotonic() - t0, limit,
                            'a trickling client kept its connection')
            try:
                sock.send(data[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0
        self.fail('the whole request went out before the server closed')

    def slow_request(self):
        return (b'GET /myip HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ' +
                b'a' * 200 + b'\r\n\r\n')

    def test_trickling_client_is_cut(self):
        with socket.create_connection(('127.0.0.1', self.svc.http_port),
                                      timeout=5) as s:
            took = self.trickle(s, self.slow_request())
        self.assertGreaterEqual(took, self.DEADLINE - 0.5)
        self.assertLess(took, self.DEADLINE + 2)

    def test_deadline_restarts_after_a_reply(self):
        with socket.create_connection(('127.0.0.1', self.svc.http_port),
                                      timeout=5) as s:
            self.assertEqual(ask_myip(s), '127.0.0.1')
            took = self.trickle(s, self.slow_request())
        self.assertLess(took, self.DEADLINE + 2)

    def test_a_request_in_pieces_within_the_deadline(self):
        data = ddnstest.http_request_bytes('GET', '/myip', '127.0.0.1',
                                           [('Connection', 'close')])
        with socket.create_connection(('127.0.0.1', self.svc.http_port),
                                      timeout=5) as s:
            for part in (data[:5], data[5:20], data[20:]):
                select.select([s], [], [], self.STEP)  # paced, not synced
                s.sendall(part)
            reply = b''
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith(b'HTTP/1.1 200'), reply)
        self.assertTrue(reply.endswith(b'\r\n\r\n127.0.0.1'), reply)


class SecretNotLogged(ServiceTestCase):
    """A client that swaps username and password sends its secret as the
    username: it must not appear in the log, even at debug level and once
    the source is rate-limited."""

    SERVICE_ARGS = {'ipv6': False, 'log_level': 'debug', 'extra_conf': {
        'abuse': {'auth_failures_per_source': 3}}}

    def test_swapped_credentials(self):
        fqdn, secret = self.svc.new_host()
        statuses = []
        # in the URL as users copy it, and as query parameters
        r = self.svc.curl(self.svc.url('/nic/update', user=secret,
                                       password=fqdn))
        statuses.append(r.status)
        q = urllib.parse.urlencode([('username', secret), ('password', fqdn),
                                    ('myip', '192.0.2.9')])
        r = self.svc.curl(self.svc.url('/nic/update', query=q))
        statuses.append(r.status)
        # as a Basic header, upper-cased, until the source gets 429
        for _ in range(4):
            r, _ = self.svc.raw('GET', '/nic/update?myip=192.0.2.9',
                                [basic_auth(secret.upper(), fqdn)])
            statuses.append(r.status)
        self.assertEqual(statuses[:3], [401, 401, 401], statuses)
        self.assertEqual(statuses[-1], 429, statuses)
        log = self.svc.procs['ddns-updater'].output()
        self.assertNotIn(secret.lower(), log.lower())
        self.assertIn('(unknown user): badauth', log)
        # the host itself is unharmed: no fault was counted against it
        self.assertEqual(self.svc.host_info(fqdn).get('auth_faults', 0), 0)


if __name__ == '__main__':
    ddnstest.main()
