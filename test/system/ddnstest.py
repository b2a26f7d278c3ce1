"""ddnstest -- shared harness of the ddns system tests.

Python 3 standard library only; run the tests with /usr/bin/python3.

It starts the real programs on free loopback ports, in a fresh temporary
directory, and drives them with the real clients (dig, curl, ddnsctl):

    svc = Service()               # ddns-backend, pdns_server, ddns-updater
    svc.start()
    secret = svc.add_host('h.dyn.example.org')
    r = svc.curl(svc.url('/nic/update', user='h.dyn.example.org',
                         password=secret))
    assert r.body.strip() == 'good 127.0.0.1'
    assert svc.dig('h.dyn.example.org', 'A').data() == ['127.0.0.1']
    svc.stop()

HTTPS: Service(tls=True) also serves TLS on svc.tls_port with a certificate
from a fresh test CA (make_test_ca; svc.ca_file, svc.tls_cert, svc.tls_key;
make_server_cert makes another pair from the same CA, for reload tests).
Exact bytes: svc.raw(method, target, headers, body) sends one request on a
new socket and returns the strictly parsed HttpReply (RawHttp for several
requests on one connection).  host_info(fqdn) is the host's object from
`ddnsctl host list --json`.

Rules it enforces: every process is stopped by its PID (SIGTERM, then SIGKILL
after a deadline); waiting is polling with a deadline, never a fixed sleep;
nothing but 127.0.0.1 / ::1 is ever contacted; port 53 and the system's pdns
are never touched.  On a failure the tail of each log is printed, and the
temporary directory is kept (DDNS_KEEP_TMP=1 keeps it always).
DDNS_WRAPPER, a command line split on blanks, is put before our daemons'
(not pdns's): test/valgrind.sh runs them under valgrind that way.

The binaries come from the meson build root in DDNS_BUILD_DIR (set by
`meson test`; set it yourself to run a test file directly).
"""

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# DDNS_TIME_SCALE (e.g. 4 under valgrind) stretches both deadlines.
_SCALE = float(os.environ.get('DDNS_TIME_SCALE', '1'))
DEADLINE = 15.0 * _SCALE     # seconds to wait for a daemon to come up
STOP_DEADLINE = 5.0 * _SCALE  # seconds between SIGTERM and SIGKILL
LOG_TAIL = 40       # lines of each log printed on a failure
ZONE = 'dyn.example.org'


# ---- locating things ------------------------------------------------------

def build_dir():
    """The meson build root (DDNS_BUILD_DIR); exits with a message if unset."""
    d = os.environ.get('DDNS_BUILD_DIR')
    if not d:
        sys.exit('DDNS_BUILD_DIR is not set: point it at the meson build '
                 'directory (meson test sets it)')
    return os.path.abspath(d)


def binary(name):
    """Absolute path of a built program: ddns-updater, ddnsctl, ddns-backend.
    With DDNS_BIN_DIR set (e.g. /usr/sbin), the installed programs there
    are used instead of the build's (test/package.sh)."""
    sub = {'ddns-updater': 'updater', 'ddnsctl': 'updater',
           'ddns-backend': 'backend'}[name]
    installed = os.environ.get('DDNS_BIN_DIR')
    if installed:
        path = os.path.join(installed, name)
        if not os.access(path, os.X_OK):
            sys.exit('%s not found (DDNS_BIN_DIR)' % path)
        return path
    path = os.path.join(build_dir(), sub, name)
    if not os.access(path, os.X_OK):
        sys.exit('%s not found: build first (ninja -C %s)' % (path,
                                                              build_dir()))
    return path


def tool(name):
    """Absolute path of a system tool (pdns_server, dig, curl...), or None."""
    path = os.environ.get('PATH', '') + ':/usr/sbin:/sbin'
    return shutil.which(name, path=path)


def clean_env(extra=None):
    """The environment for child processes: no proxies, C locale."""
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith('_proxy')}
    env['LC_ALL'] = 'C'
    if extra:
        env.update(extra)
    return env


# ---- ports and waiting ----------------------------------------------------

_ports_given = set()


def _can_bind(family, addr, port, kind):
    s = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(ipv6=False, udp=False):
    """A TCP port free on 127.0.0.1 (and on ::1 if IPV6, and for UDP too if
    UDP), never handed out twice by this process.  The kernel picks it, so
    parallel test processes rarely collide."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port in _ports_given:
            continue
        ok = _can_bind(socket.AF_INET, '127.0.0.1', port, socket.SOCK_STREAM)
        if udp:
            ok = ok and _can_bind(socket.AF_INET, '127.0.0.1', port,
                                  socket.SOCK_DGRAM)
        if ipv6:
            ok = ok and _can_bind(socket.AF_INET6, '::1', port,
                                  socket.SOCK_STREAM)
        if ok:
            _ports_given.add(port)
            return port
    raise RuntimeError('no free port found')


def wait_for(pred, what, timeout=DEADLINE, procs=()):
    """Poll PRED() until it returns a true value, which is returned.  Fails
    with a message naming WHAT after TIMEOUT seconds, or as soon as one of
    PROCS has exited."""
    end = time.monotonic() + timeout
    delay = 0.01
    while True:
        v = pred()
        if v:
            return v
        for p in procs:
            if not p.alive():
                raise RuntimeError('%s exited (status %s) while waiting for '
                                   '%s' % (p.name, p.returncode(), what))
        if time.monotonic() > end:
            raise RuntimeError('timed out after %.0f s waiting for %s'
                               % (timeout, what))
        time.sleep(delay)  # a polling interval, not a synchronisation
        delay = min(delay * 2, 0.2)


def unix_socket_ready(path):
    """True if something accepts connections on the unix socket PATH."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def tcp_port_ready(addr, port):
    """True if something accepts TCP connections on ADDR:PORT."""
    try:
        with socket.create_connection((addr, port), timeout=1):
            return True
    except OSError:
        return False


# ---- processes ------------------------------------------------------------

class Proc:
    """A background process whose stdout and stderr go to NAME.log in
    WORKDIR.  Stopped by its PID only."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log = os.path.join(workdir, name + '.log')
        with open(self.log, 'ab') as out:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=clean_env(env),
                cwd=workdir)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def returncode(self):
        return self.popen.poll()

    def stop(self, sig=signal.SIGTERM, deadline=STOP_DEADLINE):
        """Send SIG, wait up to DEADLINE seconds, then SIGKILL.  Returns the
        exit status (negative: killed by that signal)."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
                return self.popen.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return self.popen.wait()

    def output(self):
        with open(self.log, 'r', errors='replace') as f:
            return f.read()

    def tail(self, n=LOG_TAIL):
        try:
            lines = self.output().splitlines()
        except OSError:
            return '(no log)'
        return '\n'.join(lines[-n:])


# ---- clients --------------------------------------------------------------

Record = collections.namedtuple('Record', 'name ttl type data')


class DigResult:
    """The reply to one dig: RCODE ('NOERROR', 'NXDOMAIN', ...; 'NOREPLY'
    when no reply came; for AXFR 'NOERROR' or 'FAILED'), the ANSWER records
    (for AXFR every transferred record), the AA flag and dig's output."""

    def __init__(self, rcode, answer, aa, text):
        self.rcode = rcode
        self.answer = answer
        self.aa = aa
        self.text = text

    def data(self, rtype=None):
        """Sorted rdata of the answer records of type RTYPE (default all)."""
        return sorted(r.data for r in self.answer
                      if rtype is None or r.type == rtype)

    def __repr__(self):
        return 'DigResult(%s, %r)' % (self.rcode, self.answer)


def _parse_records(lines):
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith(';'):
            continue
        f = line.split(None, 4)
        if len(f) < 5:
            continue
        out.append(Record(f[0].lower(), int(f[1]), f[3].upper(), f[4]))
    return out


def parse_dig(text, axfr=False):
    """Parse dig's default output into a DigResult."""
    if axfr:
        recs = _parse_records(text.splitlines())
        failed = ('Transfer failed' in text or 'connection refused' in text
                  or 'timed out' in text or not recs)
        return DigResult('FAILED' if failed else 'NOERROR', recs, True, text)
    rcode, aa, answer, in_answer = 'NOREPLY', False, [], False
    for line in text.splitlines():
        if '->>HEADER<<-' in line and 'status:' in line:
            rcode = line.split('status:')[1].split(',')[0].strip()
        elif line.startswith(';; flags:'):
            aa = ' aa' in line.split(';')[2]
        elif line.startswith(';; ANSWER SECTION:'):
            in_answer = True
        elif in_answer and not line.strip():
            in_answer = False
        elif in_answer:
            answer.extend(_parse_records([line]))
    return DigResult(rcode, answer, aa, text)


def dig(port, name, rtype='A', server='127.0.0.1', tcp=False, timeout=2):
    """Ask SERVER:PORT for NAME/RTYPE with the real dig, non-recursive, one
    try.  Returns a DigResult."""
    argv = [tool('dig') or 'dig', '@' + server, '-p', str(port), '+norecurse',
            '+tries=1', '+time=%d' % timeout, name, rtype]
    if tcp:
        argv.append('+tcp')
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=clean_env(), timeout=timeout * 3 + 10, text=True)
    return parse_dig(r.stdout, axfr=(rtype.upper() == 'AXFR'))


CurlResult = collections.namedtuple('CurlResult',
                                    'status body headers exit_code stderr')


def curl(url, *args, timeout=5, workdir=None):
    """GET URL with the real curl binary (no proxy, no URL globbing), extra
    curl ARGS appended.  Returns a CurlResult: STATUS the HTTP status (0 when
    no reply came; then EXIT_CODE is curl's), BODY text, HEADERS a dict with
    lower-case names (last response's)."""
    tmp = tempfile.mkdtemp(prefix='curl-', dir=workdir)
    try:
        body_f = os.path.join(tmp, 'body')
        head_f = os.path.join(tmp, 'head')
        argv = [tool('curl') or 'curl', '-sS', '-g', '--noproxy', '*',
                '--max-time', str(timeout), '-o', body_f, '-D', head_f,
                '-w', '%{http_code}'] + list(args) + ['--', url]
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=clean_env(),
                           timeout=timeout + 10, text=True)
        status = int(r.stdout.strip() or '0')
        body = _read(body_f)
        headers = {}
        for line in _read(head_f).splitlines():
            if line.startswith('HTTP/'):
                headers = {}
            elif ':' in line:
                k, v = line.split(':', 1)
                headers[k.strip().lower()] = v.strip()
        return CurlResult(status, body, headers, r.returncode, r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class HttpReply(collections.namedtuple(
        'HttpReply', 'version status reason headers body head')):
    """One HTTP reply as it came on the wire: VERSION ('HTTP/1.1'), STATUS
    (int), REASON, HEADERS (list of (lower-case name, value) in order),
    BODY (bytes, exactly Content-Length of them) and HEAD (the raw bytes of
    the status line and headers)."""

    def header(self, name, default=None):
        """The value of the last header NAME (any case), or DEFAULT."""
        vals = self.header_list(name)
        return vals[-1] if vals else default

    def header_list(self, name):
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def text(self):
        return self.body.decode('utf-8', 'replace')


class RawHttp:
    """One TCP connection to HOST:PORT on which the test writes exact bytes
    and reads replies strictly: a status line, headers ending in an empty
    line, and a body of exactly Content-Length bytes.  A reply with
    Transfer-Encoding or without Content-Length is read to the end of the
    connection and kept as it came (the caller's assertions reject it).
    With CA (a PEM file) the connection is TLS, verified for
    SERVER_HOSTNAME (default HOST)."""

    def __init__(self, host, port, timeout=5, ca=None, server_hostname=None):
        self.timeout = timeout
        self.buf = b''
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if ca:
            import ssl
            ctx = ssl.create_default_context(cafile=ca)
            self.sock = ctx.wrap_socket(
                self.sock, server_hostname=server_hostname or host)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        """Read more bytes into the buffer; False at the end of stream."""
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def reply(self, no_body=False):
        """Read one reply; raises AssertionError if the connection ends or
        stays silent (TIMEOUT) before a whole one came.  NO_BODY: the reply
        to a HEAD request, which has no body whatever Content-Length says."""
        try:
            while b'\r\n\r\n' not in self.buf:
                if not self._fill():
                    raise AssertionError('connection closed before a whole '
                                         'reply head: %r' % self.buf)
            head, self.buf = self.buf.split(b'\r\n\r\n', 1)
            lines = head.decode('latin-1').split('\r\n')
            version, status, reason = (lines[0].split(' ', 2) + [''])[:3]
            headers = []
            for line in lines[1:]:
                k, sep, v = line.partition(':')
                if not sep:
                    raise AssertionError('bad header line %r' % line)
                headers.append((k.strip().lower(), v.strip()))
            clen = [v for k, v in headers if k == 'content-length']
            te = [v for k, v in headers if k == 'transfer-encoding']
            if no_body:
                body = b''
            elif clen and not te:
                n = int(clen[-1])
                while len(self.buf) < n:
                    if not self._fill():
                        raise AssertionError(
                            'connection closed after %d of %d body bytes'
                            % (len(self.buf), n))
                body, self.buf = self.buf[:n], self.buf[n:]
            else:
                while self._fill():
                    pass
                body, self.buf = self.buf, b''
        except socket.timeout:
            raise AssertionError('no whole reply within %s s; got %r'
                                 % (self.timeout, self.buf))
        return HttpReply(version, int(status), reason, headers, body,
                         head + b'\r\n\r\n')

    def closed_by_peer(self, timeout=None):
        """True if the server closes the connection (within TIMEOUT,
        default the connection's), False if it stays open; bytes arriving
        meanwhile are an AssertionError."""
        self.sock.settimeout(timeout or self.timeout)
        try:
            if not self.buf and not self._fill():
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        raise AssertionError('unexpected bytes after the reply: %r'
                             % self.buf)


def http_request_bytes(method, target, host_header, headers=(), body=b'',
                       version='HTTP/1.1'):
    """The bytes of one request: request line, Host (unless HOST_HEADER is
    None), HEADERS (a list of (name, value)), Content-Length when BODY is
    not empty, an empty line, BODY."""
    if isinstance(body, str):
        body = body.encode()
    lines = ['%s %s %s' % (method, target, version)]
    if host_header is not None:
        lines.append('Host: ' + host_header)
    lines += ['%s: %s' % kv for kv in headers]
    if body:
        lines.append('Content-Length: %d' % len(body))
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def basic_auth(user, password):
    """An Authorization header (name, value) for Basic USER:PASSWORD."""
    import base64
    tok = base64.b64encode(('%s:%s' % (user, password)).encode()).decode()
    return ('Authorization', 'Basic ' + tok)


def _read(path):
    try:
        with open(path, 'r', errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


# ---- configuration --------------------------------------------------------

def write_file(path, text, mode=0o644):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def ddns_conf(workdir, updater_listen, backend_socket, control_socket,
              log_level='info', extra=None):
    """The text of a ddns config.  EXTRA, added or replacing: a dict
    {section: {key: value}} or {section: 'raw key = value lines'}, or a
    string of INI text appended as it is (with its own [section] lines)."""
    sections = collections.OrderedDict()
    sections['store'] = {'path': os.path.join(workdir, 'store')}
    sections['updater'] = {'listen': ' '.join(updater_listen)}
    sections['backend'] = {'listen': 'unix:' + backend_socket}
    sections['pdns'] = {'control_socket': control_socket}
    sections['log'] = {'level': log_level}
    raw = {}
    if isinstance(extra, str):
        raw[None] = extra
        extra = {}
    for sec, kv in (extra or {}).items():
        sections.setdefault(sec, {})
        if isinstance(kv, str):
            raw[sec] = kv
        else:
            sections[sec].update(kv)
    out = ['# written by ddnstest.py']
    for sec, kv in sections.items():
        out.append('[%s]' % sec)
        out.extend('%s = %s' % (k, v) for k, v in kv.items())
        if sec in raw:
            out.append(raw[sec].strip('\n'))
        out.append('')
    if None in raw:
        out.append(raw[None].strip('\n'))
        out.append('')
    return '\n'.join(out)


def ddns_section_text(section, kv):
    """'[SECTION]' (unless None) and 'key = value' lines of KV, as text."""
    out = ['[%s]' % section] if section else []
    out.extend('%s = %s' % (k, v) for k, v in kv.items())
    return '\n'.join(out) + '\n'


# ---- a test certificate authority (openssl CLI) ---------------------------

TLS_NAMES = ('IP:127.0.0.1', 'IP:::1', 'DNS:localhost')


def openssl(*args, cwd=None):
    """Run the openssl CLI; raises with its output on failure."""
    exe = tool('openssl')
    if not exe:
        raise unittest.SkipTest('openssl is not installed')
    r = subprocess.run([exe] + [str(a) for a in args], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, text=True, timeout=60,
                       env=clean_env())
    if r.returncode != 0:
        raise RuntimeError('openssl %s: exit %d\n%s'
                           % (' '.join(map(str, args)), r.returncode,
                              r.stdout))
    return r.stdout


def ca_key_path(ca_pem):
    """The private key that make_test_ca wrote next to CA_PEM."""
    return os.path.splitext(ca_pem)[0] + '-key.pem'


def make_test_ca(workdir, name='server'):
    """A throw-away ECDSA (P-256) CA in WORKDIR and a server certificate
    from it for 127.0.0.1, ::1 and localhost (subjectAltName).  Returns
    (ca_pem, cert_pem, key_pem) paths; the CA's key is ca_key_path(ca_pem).
    The certificate file holds the server certificate only (the CA is the
    trust anchor the client is given)."""
    ca_pem = os.path.join(workdir, 'ca.pem')
    ext = os.path.join(workdir, 'ca.ext')
    write_file(ext, '[v3_ca]\n'
               'basicConstraints = critical, CA:TRUE, pathlen:0\n'
               'keyUsage = critical, keyCertSign, cRLSign\n'
               'subjectKeyIdentifier = hash\n')
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-sha256', '-days', '2',
            '-subj', '/CN=ddns test CA', '-keyout', ca_key_path(ca_pem),
            '-out', ca_pem, '-config', ext, '-extensions', 'v3_ca')
    os.chmod(ca_key_path(ca_pem), 0o600)
    cert, key = make_server_cert(workdir, ca_pem, name)
    return ca_pem, cert, key


def make_server_cert(workdir, ca_pem, name, names=TLS_NAMES, days=2):
    """A new key and server certificate signed by the CA of make_test_ca,
    written to WORKDIR/NAME.pem and WORKDIR/NAME-key.pem (replaced if they
    exist), valid for NAMES (subjectAltName entries) and DAYS days, with a
    random serial (so two certificates for the same names differ).  Returns
    (cert_pem, key_pem)."""
    cert = os.path.join(workdir, name + '.pem')
    key = os.path.join(workdir, name + '-key.pem')
    csr = os.path.join(workdir, name + '.csr')
    ext = os.path.join(workdir, name + '.ext')
    write_file(ext, 'basicConstraints = critical, CA:FALSE\n'
               'keyUsage = critical, digitalSignature\n'
               'extendedKeyUsage = serverAuth\n'
               'subjectAltName = %s\n' % ', '.join(names))
    # Written beside, then renamed: a reload never sees half a file.
    openssl('req', '-new', '-newkey', 'ec', '-pkeyopt',
            'ec_paramgen_curve:prime256v1', '-nodes', '-sha256',
            '-subj', '/CN=%s' % name, '-keyout', key + '.new', '-out', csr)
    openssl('x509', '-req', '-in', csr, '-CA', ca_pem, '-CAkey',
            ca_key_path(ca_pem), '-set_serial',
            '0x%s' % os.urandom(8).hex(), '-days', str(days), '-sha256',
            '-extfile', ext, '-out', cert + '.new')
    os.chmod(key + '.new', 0o600)
    os.replace(key + '.new', key)
    os.replace(cert + '.new', cert)
    os.unlink(csr)
    return cert, key


def cert_fingerprint(pem):
    """SHA-256 fingerprint of the certificate in the PEM file (hex, no
    colons, lower case)."""
    out = openssl('x509', '-in', pem, '-noout', '-fingerprint', '-sha256')
    return out.strip().split('=', 1)[1].replace(':', '').lower()


def pdns_conf(rundir, port, connection_string, extra=None):
    """The text of a pdns.conf for a foreground pdns_server of our own: own
    socket dir, loopback port PORT, nothing sent off the machine, default
    caches.  EXTRA: {key: value} added or replacing."""
    kv = collections.OrderedDict([
        ('launch', 'remote'),
        ('remote-connection-string', connection_string),
        ('daemon', 'no'),
        ('guardian', 'no'),
        ('write-pid', 'no'),
        ('disable-syslog', 'yes'),
        ('socket-dir', rundir),
        ('local-address', '127.0.0.1'),
        ('local-port', str(port)),
        ('security-poll-suffix', ''),
        ('only-notify', ''),
        ('query-local-address', '127.0.0.1'),
        ('loglevel', '4'),
    ])
    kv.update(extra or {})
    return ''.join('%s=%s\n' % (k, v) for k, v in kv.items())


# ---- the whole service ----------------------------------------------------

class Service:
    """ddns-backend + pdns_server + ddns-updater in a temporary directory.

    CONNECTOR: 'unix' (pdns talks to the backend's socket) or 'pipe' (pdns
    runs `ddns-backend --pipe` itself; no backend process of ours).
    IPV6: the updater also listens on [::1].  ZONES: zone names created with
    ddnsctl before pdns starts (pdns reads its zone list at start).
    PDNS_EXTRA: added to pdns.conf.  CONF_EXTRA (or its alias EXTRA_CONF):
    added to the ddns config, as ddns_conf()'s EXTRA (a dict by section, or
    raw INI text).  UPDATER / BACKEND false: do not start that daemon.
    TLS: the updater also serves HTTPS on TLS_PORT (127.0.0.1, and [::1]
    with IPV6) with a certificate for 127.0.0.1, ::1 and localhost from a
    fresh test CA (CA_FILE; the pair in TLS_CERT / TLS_KEY, which a reload
    test may replace with make_server_cert(svc.dir, svc.ca_file, 'server')
    and then svc.signal('ddns-updater', signal.SIGHUP))."""

    def __init__(self, connector='unix', ipv6=True, zones=(ZONE,),
                 pdns_extra=None, conf_extra=None, log_level='info',
                 updater=True, backend=True, tls=False, extra_conf=None):
        self.connector = connector
        self.ipv6 = ipv6
        self.zones = list(zones)
        self.pdns_extra = pdns_extra or {}
        if conf_extra is not None and extra_conf is not None:
            raise ValueError('give conf_extra or extra_conf, not both')
        self.conf_extra = conf_extra or extra_conf or {}
        self.tls = tls
        self.tls_port = None
        self.ca_file = self.tls_cert = self.tls_key = None
        self.log_level = log_level
        self.want_updater = updater
        self.want_backend = backend and connector == 'unix'
        self.procs = {}
        self.dir = None
        self.failed = False
        self._hosts = 0

    # -- lifecycle --

    def prepare(self):
        """Make the directory and the configs, and create the zones; start
        nothing.  Called by start()."""
        self.dir = tempfile.mkdtemp(prefix='ddns-test-')
        self.rundir = os.path.join(self.dir, 'run')
        self.pdnsdir = os.path.join(self.dir, 'pdns')
        os.mkdir(self.rundir)
        os.mkdir(self.pdnsdir)
        self.dns_port = free_port(udp=True)
        self.http_port = free_port(ipv6=self.ipv6)
        self.backend_socket = os.path.join(self.dir, 'backend.sock')
        self.control_socket = os.path.join(self.rundir, 'pdns.controlsocket')
        self.conf = os.path.join(self.dir, 'ddns.conf')
        listen = ['127.0.0.1:%d' % self.http_port]
        if self.ipv6:
            listen.append('[::1]:%d' % self.http_port)
        extra = self.conf_extra
        if self.tls:
            extra = self._tls_conf(extra)
        write_file(self.conf, ddns_conf(self.dir, listen, self.backend_socket,
                                        self.control_socket, self.log_level,
                                        extra))
        if self.connector == 'pipe':
            cs = 'pipe:command=%s -c %s --pipe,timeout=2000' % (
                binary('ddns-backend'), self.conf)
        else:
            cs = 'unix:path=%s,timeout=2000' % self.backend_socket
        write_file(os.path.join(self.pdnsdir, 'pdns.conf'),
                   pdns_conf(self.rundir, self.dns_port, cs, self.pdns_extra))
        for z in self.zones:
            self.add_zone(z)

    def _tls_conf(self, extra):
        """EXTRA with the [updater] TLS keys added: a test CA and server
        pair in the directory, a free port for tls_listen."""
        self.ca_file, self.tls_cert, self.tls_key = make_test_ca(self.dir)
        self.tls_port = free_port(ipv6=self.ipv6)
        listen = ['127.0.0.1:%d' % self.tls_port]
        if self.ipv6:
            listen.append('[::1]:%d' % self.tls_port)
        kv = {'tls_listen': ' '.join(listen), 'tls_cert': self.tls_cert,
              'tls_key': self.tls_key}
        if isinstance(extra, str):
            return ddns_section_text('updater', kv) + extra
        extra = {sec: (dict(v) if isinstance(v, dict) else v)
                 for sec, v in extra.items()}
        upd = extra.get('updater')
        if isinstance(upd, str):
            extra['updater'] = ddns_section_text(None, kv) + upd
        else:
            extra['updater'] = dict(kv, **(upd or {}))
        return extra

    def start(self):
        """Prepare, then start the daemons in order, each waited for."""
        try:
            self.prepare()
            if self.want_backend:
                self.start_backend()
            self.start_pdns()
            if self.want_updater:
                self.start_updater()
        except BaseException:
            self.failed = True
            self.stop(dump=True)
            raise
        return self

    def start_backend(self):
        p = self._spawn('ddns-backend',
                        [binary('ddns-backend'), '-c', self.conf])
        wait_for(lambda: unix_socket_ready(self.backend_socket),
                 'ddns-backend socket %s' % self.backend_socket, procs=[p])

    def start_pdns(self):
        p = self._spawn('pdns', [tool('pdns_server'),
                                 '--config-dir=' + self.pdnsdir])
        zone = self.zones[0] if self.zones else '.'

        def soa():
            r = self.dig(zone, 'SOA', timeout=1)
            return r.rcode == 'NOERROR' and r.data('SOA')
        wait_for(soa, 'pdns to answer SOA %s on port %d' % (zone,
                                                             self.dns_port),
                 procs=[p] + self._others(p))

    def start_updater(self):
        p = self._spawn('ddns-updater',
                        [binary('ddns-updater'), '-c', self.conf])
        wait_for(lambda: tcp_port_ready('127.0.0.1', self.http_port),
                 'ddns-updater on 127.0.0.1:%d' % self.http_port, procs=[p])
        if self.ipv6:
            wait_for(lambda: tcp_port_ready('::1', self.http_port),
                     'ddns-updater on [::1]:%d' % self.http_port, procs=[p])
        if self.tls:
            for addr in ('127.0.0.1', '::1') if self.ipv6 else ('127.0.0.1',):
                wait_for(lambda: tcp_port_ready(addr, self.tls_port),
                         'ddns-updater TLS on %s port %d'
                         % (addr, self.tls_port), procs=[p])

    def signal(self, name, sig):
        """Send SIG to our daemon NAME ('ddns-updater'...) by its PID."""
        os.kill(self.procs[name].pid, sig)

    def stop_one(self, name):
        """Stop daemon NAME ('ddns-updater', 'pdns', 'ddns-backend') by PID;
        returns its exit status."""
        p = self.procs.pop(name)
        return p.stop()

    def sanitizer_reports(self):
        """Sanitizer reports found so far in every log of the directory."""
        out = []
        for name, path in self.logs().items():
            out += sanitizer_reports(name, _read(path))
        return out

    def stop(self, dump=False):
        """Stop every daemon (updater, pdns, backend) by PID.  Returns the
        problems seen: one of our daemons exiting non-zero on SIGTERM, or a
        sanitizer report in any log.  With DUMP or a problem, print the
        logs and keep the directory; it is also kept after a failure or
        with DDNS_KEEP_TMP, else removed."""
        problems = []
        for name in ('ddns-updater', 'pdns', 'ddns-backend'):
            p = self.procs.get(name)
            if p:
                status = p.stop()
                if name != 'pdns' and status != 0:
                    problems.append('%s exited with status %s on SIGTERM'
                                    % (name, status))
        self.procs = {}
        problems += self.sanitizer_reports()
        if problems:
            self.failed = True
        if dump or problems:
            self.dump_logs()
        if self.dir and not self.failed and not os.environ.get(
                'DDNS_KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.dir:
            sys.stderr.write('ddnstest: kept %s\n' % self.dir)
        return problems

    def _spawn(self, name, argv):
        # DDNS_WRAPPER (e.g. test/valgrind.sh's "valgrind --error-exitcode=
        # 99 ..."): run our daemons under it; it must exec them in place,
        # so that the PID stays theirs.
        wrapper = os.environ.get('DDNS_WRAPPER', '').split()
        if wrapper and name != 'pdns':
            argv = wrapper + list(argv)
        p = Proc(name, argv, self.dir)
        self.procs[name] = p
        return p

    def _others(self, p):
        return [q for q in self.procs.values() if q is not p]

    def logs(self):
        """{name: path} of every log written so far in the directory."""
        out = {}
        for f in sorted(os.listdir(self.dir or '.')):
            if f.endswith('.log'):
                out[f[:-4]] = os.path.join(self.dir, f)
        return out

    def dump_logs(self, n=LOG_TAIL):
        """Print the tail of each log to stderr."""
        if not self.dir:
            return
        for name, path in self.logs().items():
            lines = _read(path).splitlines()[-n:]
            sys.stderr.write('----- %s (last %d lines of %s)\n%s\n'
                             % (name, len(lines), path, '\n'.join(lines)))
        sys.stderr.write('----- end of logs\n')

    def check_alive(self):
        """Raise if a daemon we started has exited."""
        for p in self.procs.values():
            if not p.alive():
                raise AssertionError('%s exited with status %s'
                                     % (p.name, p.returncode()))

    # -- ddnsctl --

    def ctl(self, *args, check=True):
        """Run `ddnsctl -c CONF ARGS...`; returns the CompletedProcess (text
        stdout/stderr).  With CHECK, a non-zero exit raises with its output.
        Its stdout/stderr are also appended to ddnsctl.log."""
        argv = [binary('ddnsctl'), '-c', self.conf] + [str(a) for a in args]
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=30,
                           env=clean_env(), stdin=subprocess.DEVNULL)
        with open(os.path.join(self.dir, 'ddnsctl.log'), 'a') as f:
            f.write('$ ddnsctl %s\n-> exit %d\n%s%s' % (
                ' '.join(argv[3:]), r.returncode, _redact(r.stdout, args),
                r.stderr))
        if check and r.returncode != 0:
            raise AssertionError('ddnsctl %s: exit %d\nstdout: %s\nstderr: %s'
                                 % (' '.join(argv[3:]), r.returncode,
                                    r.stdout, r.stderr))
        return r

    def add_zone(self, zone, ns=('ns1.example.org',),
                 hostmaster='hostmaster@example.org', ttl=None):
        args = ['zone', 'add', zone]
        for n in ns:
            args += ['--ns', n]
        args += ['--hostmaster', hostmaster]
        if ttl is not None:
            args += ['--ttl', ttl]
        return self.ctl(*args)

    def add_host(self, fqdn):
        """`ddnsctl host add FQDN`; returns the secret (last stdout line)."""
        return _last_line(self.ctl('host', 'add', fqdn).stdout)

    def new_host(self, prefix='h', zone=None):
        """A new host with a unique name in ZONE; returns (fqdn, secret)."""
        self._hosts += 1
        fqdn = '%s%d.%s' % (prefix, self._hosts, zone or self.zones[0])
        return fqdn, self.add_host(fqdn)

    def new_secret(self, fqdn):
        """`ddnsctl host secret FQDN`; returns the new secret."""
        return _last_line(self.ctl('host', 'secret', fqdn).stdout)

    def set_ip(self, fqdn, ip):
        return self.ctl('host', 'set', fqdn, '--ip', ip)

    def host_info(self, fqdn):
        """The object of FQDN in `ddnsctl host list --json` (None if it is
        not listed)."""
        hosts = json.loads(self.ctl('host', 'list', '--json').stdout)
        if isinstance(hosts, dict):
            hosts = hosts.get('hosts', [])
        for h in hosts:
            name = h.get('fqdn', h.get('name', ''))
            if name.rstrip('.').lower() == fqdn.rstrip('.').lower():
                return h
        return None

    # -- clients --

    def dig(self, name, rtype='A', **kw):
        return dig(self.dns_port, name, rtype, **kw)

    def soa_serial(self, zone=None, axfr=False):
        """The zone's SOA serial from a plain SOA query, or with AXFR from
        the transfer's first record: pdns reads that from the backend,
        bypassing its caches, whereas a plain SOA answer may come from the
        packet cache (the updater purges the host's name, not the apex)."""
        zone = zone or self.zones[0]
        r = self.dig(zone, 'AXFR' if axfr else 'SOA')
        soa = [x.data for x in r.answer[:1] if x.type == 'SOA']
        if r.rcode != 'NOERROR' or len(soa) != 1:
            raise AssertionError('no SOA for %s: %r' % (zone, r))
        return int(soa[0].split()[2])

    def url(self, path, user=None, password=None, host='127.0.0.1',
            query=None, scheme='http', port=None):
        """http://[USER:PASSWORD@]HOST:PORT/PATH[?QUERY], HOST an address
        ('::1' is bracketed) or a name.  QUERY: a string or a list of (key,
        value).  With SCHEME 'https' the port defaults to TLS_PORT."""
        if ':' in host:
            host = '[%s]' % host
        auth = ''
        if user is not None:
            auth = user + ':' + (password or '') + '@'
        q = ''
        if query:
            if not isinstance(query, str):
                query = '&'.join('%s=%s' % kv for kv in query)
            q = '?' + query
        if port is None:
            port = self.tls_port if scheme == 'https' else self.http_port
        return '%s://%s%s:%d%s%s' % (scheme, auth, host, port, path, q)

    def curl(self, url, *args, **kw):
        return curl(url, *args, workdir=self.dir, **kw)

    def raw(self, method, target, headers=(), body=b'', version='HTTP/1.1',
            host='127.0.0.1', host_header=True, tls=False, close=True):
        """Send one request of exact bytes on a new connection and return
        (reply, closed): the HttpReply and whether the server closed the
        connection after it (None: not waited for, when neither CLOSE nor
        HTTP/1.0 asked it to).  HOST_HEADER True: 'Host: HOST:PORT'; a string
        as given; None: no Host header.  With CLOSE (and HTTP/1.1) a
        'Connection: close' header is added.  TLS: to TLS_PORT, verified
        with CA_FILE."""
        port = self.tls_port if tls else self.http_port
        if host_header is True:
            host_header = '%s:%d' % ('[%s]' % host if ':' in host else host,
                                     port)
        headers = list(headers)
        if close and version == 'HTTP/1.1':
            headers.append(('Connection', 'close'))
        data = http_request_bytes(method, target, host_header, headers, body,
                                  version)
        with RawHttp(host, port, ca=self.ca_file if tls else None) as c:
            c.send(data)
            r = c.reply(no_body=(method == 'HEAD'))
            if close or version == 'HTTP/1.0':
                return r, c.closed_by_peer()
            return r, None

    def update(self, fqdn, secret, myip=None, host='127.0.0.1', **kw):
        """GET /nic/update as the README shows it: credentials in the URL,
        myip only when given.  Returns a CurlResult."""
        query = [('myip', myip)] if myip is not None else None
        return self.curl(self.url('/nic/update', fqdn, secret, host=host,
                                  query=query), **kw)

    def pdns_control(self, *args):
        """Run pdns_control against our pdns; returns its stdout."""
        r = subprocess.run([tool('pdns_control'),
                            '--config-dir=' + self.pdnsdir] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=10, env=clean_env())
        if r.returncode != 0:
            raise AssertionError('pdns_control %s: %s' % (args, r.stdout))
        return r.stdout.strip()


SANITIZER_MARKS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer',
                   'runtime error:', 'WARNING: ThreadSanitizer')


def sanitizer_reports(name, text):
    """Lines of TEXT (the log of NAME) where a sanitizer reported."""
    return ['%s: %s' % (name, line.strip()) for line in text.splitlines()
            if any(m in line for m in SANITIZER_MARKS)]


def _last_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        raise AssertionError('no output where a secret was expected')
    return lines[-1].strip()


def _redact(stdout, args):
    """ddnsctl output with the secret of host add/secret left out of logs."""
    if len(args) >= 2 and args[0] == 'host' and args[1] in ('add', 'secret'):
        return '(output withheld: holds a secret)\n'
    return stdout


# ---- unittest glue --------------------------------------------------------

class ServiceTestCase(unittest.TestCase):
    """A test class with one Service started for the whole class.  Override
    SERVICE_ARGS (dict for Service()).  On any failure or error of a test the
    tail of every log is printed and the directory is kept."""

    SERVICE_ARGS = {}
    svc = None

    @classmethod
    def setUpClass(cls):
        for t in ('pdns_server', 'dig', 'curl'):
            if not tool(t):
                raise unittest.SkipTest('%s is not installed' % t)
        cls.svc = Service(**cls.SERVICE_ARGS)
        cls.svc.start()

    @classmethod
    def tearDownClass(cls):
        """Stop the service; a daemon that died during the tests (rather
        than being stopped by one) is an error of the class."""
        if not cls.svc:
            return
        dead = ['%s died during the tests (status %s)'
                % (p.name, p.returncode())
                for p in cls.svc.procs.values() if not p.alive()]
        if dead:
            cls.svc.failed = True
        problems = dead + cls.svc.stop(dump=bool(dead))
        if problems:
            raise AssertionError('; '.join(problems))

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.svc:
            sys.stderr.write('\n===== %s failed; logs:\n' % self.id())
            self.svc.failed = True
            self.svc.dump_logs()
        return out

    # -- assertions shared by test files --

    def assertReply(self, r, status, body):
        """HTTP status STATUS and a body whose first line is BODY."""
        first = r.body.splitlines()[0] if r.body else ''
        self.assertEqual((r.status, first), (status, body),
                         'full reply: %r' % (r,))

    def assertAnswer(self, name, rtype, data, ttl=None):
        """dig NAME RTYPE answers exactly DATA (a list), authoritatively,
        each record with TTL if given."""
        r = self.svc.dig(name, rtype)
        self.assertEqual(r.rcode, 'NOERROR', r.text)
        self.assertEqual(r.data(rtype), sorted(data), r.text)
        if data:
            self.assertTrue(r.aa, 'answer not authoritative:\n' + r.text)
        if ttl is not None:
            for rec in r.answer:
                self.assertEqual(rec.ttl, ttl, r.text)
        return r


    def assertNoAnswer(self, name, rtype):
        """dig NAME RTYPE has no record of that type: NODATA, or NXDOMAIN
        (a host with no address at all has no records)."""
        r = self.svc.dig(name, rtype)
        self.assertIn(r.rcode, ('NOERROR', 'NXDOMAIN'), r.text)
        self.assertEqual(r.data(rtype), [], r.text)
        return r


def main():
    """unittest.main with verbose output by default."""
    unittest.main(verbosity=2)
