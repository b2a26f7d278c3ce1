"""benchlib -- what the ddns benchmark scripts share.

Python 3 standard library only (run with /usr/bin/python3).  Same rules as
the system tests: loopback only, free ports, never port 53, every process
started here is stopped by its PID, waiting is polling with a deadline.
"""

import glob
import os
import platform
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

ZONE = 'dyn.example.org'
STOP_DEADLINE = 5.0

# Debian packages providing each outside tool the scripts use.
PACKAGES = {
    'pdns_server': 'pdns-server',
    'pdnsutil': 'pdns-server',
    'libremotebackend.so': 'pdns-backend-remote',
    'liblmdbbackend.so': 'pdns-backend-lmdb',
    'dnsperf': 'dnsperf',
    'mdb_stat': 'lmdb-utils',
}


def die(msg):
    sys.exit('bench: ' + msg)


def tool(name):
    """Absolute path of a system program, or None."""
    return shutil.which(name, path=os.environ.get('PATH', '') +
                        ':/usr/sbin:/sbin')


def pdns_module(name):
    """Path of a pdns backend module (libNAMEbackend.so), or None."""
    for d in ('/usr/lib/*/pdns', '/usr/lib/pdns', '/usr/lib64/pdns',
              '/usr/local/lib/pdns'):
        hits = glob.glob(os.path.join(d, name))
        if hits:
            return hits[0]
    return None


def require(names):
    """Exit with an install hint unless every tool in NAMES is present
    (programs, or pdns modules ending in .so).  Returns {name: path}."""
    found, missing = {}, []
    for n in names:
        p = pdns_module(n) if n.endswith('.so') else tool(n)
        if p:
            found[n] = p
        else:
            missing.append(n)
    if missing:
        pkgs = sorted({PACKAGES.get(n, n) for n in missing})
        die('missing %s; on Debian: apt-get install -y %s'
            % (', '.join(missing), ' '.join(pkgs)))
    return found


def build_dir(arg):
    """The meson build directory: ARG, $DDNS_BUILD_DIR, or ./build."""
    d = os.path.abspath(arg or os.environ.get('DDNS_BUILD_DIR') or 'build')
    for exe in ('backend/ddns-backend', 'test/bench/bench-seed',
                'test/bench/bench-ceiling',
                'test/bench/bench-lookup'):
        if not os.access(os.path.join(d, exe), os.X_OK):
            die('%s not found: build first (meson setup %s && ninja -C %s)'
                % (os.path.join(d, exe), d, d))
    return d


def machine():
    """Lines describing this machine and the software measured."""
    model = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass

    def version(argv):
        try:
            r = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=10)
            for line in r.stdout.splitlines():
                if 'PowerDNS' in line or 'Version' in line:
                    return line.split(' ', 3)[-1].strip()
        except (OSError, subprocess.SubprocessError):
            pass
        return '?'

    return [
        'date: %s' % time.strftime('%Y-%m-%d %H:%M:%S %Z'),
        'cpu: %s x %d (nproc)' % (model, os.cpu_count() or 0),
        'kernel: %s' % platform.release(),
        'pdns: %s' % version([tool('pdns_server') or 'pdns_server',
                              '--version']),
        'load average before: %.2f %.2f %.2f' % os.getloadavg(),
    ]


# ---- ports, waiting, processes ---------------------------------------------

_given = set()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1, never 53, never
    handed out twice by this process."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port in _given or port == 53:
            continue
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            u.close()
        _given.add(port)
        return port
    raise RuntimeError('no free port')


def port_open(port):
    """True when something accepts TCP connections on 127.0.0.1:PORT."""
    s = socket.socket()
    s.settimeout(0.5)
    try:
        s.connect(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_for(pred, what, timeout=20.0, procs=()):
    """Poll PRED() until true (returned); fail after TIMEOUT or as soon as
    one of PROCS exits."""
    end = time.monotonic() + timeout
    delay = 0.01
    while True:
        v = pred()
        if v:
            return v
        for p in procs:
            if not p.alive():
                raise RuntimeError('%s exited (status %s) while waiting for '
                                   '%s; log: %s' % (p.name, p.returncode(),
                                                    what, p.log))
        if time.monotonic() > end:
            raise RuntimeError('timed out waiting for %s' % what)
        time.sleep(delay)  # polling interval
        delay = min(delay * 2, 0.2)


def children_of(pid):
    """PIDs whose parent is PID (from /proc)."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return out


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def cpu_seconds(pid):
    """User + system CPU seconds used so far by PID (0 if gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_kib(pid):
    """{VmRSS, RssAnon, RssFile, RssShmem} of PID in KiB."""
    out = {}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                k, _, v = line.partition(':')
                if k in ('VmRSS', 'RssAnon', 'RssFile', 'RssShmem'):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class Proc:
    """A background process logging to WORKDIR/NAME.log, stopped by PID
    (and its children, e.g. pdns's pipe backends, by theirs)."""

    def __init__(self, name, argv, workdir, stdin=subprocess.DEVNULL):
        self.name = name
        self.log = os.path.join(workdir, name + '.log')
        env = {k: v for k, v in os.environ.items()
               if not k.lower().endswith('_proxy')}
        env['LC_ALL'] = 'C'
        with open(self.log, 'ab') as out:
            self.popen = subprocess.Popen([str(a) for a in argv],
                                          stdin=stdin, stdout=out,
                                          stderr=subprocess.STDOUT, env=env,
                                          cwd=workdir)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def returncode(self):
        return self.popen.poll()

    def stop(self):
        kids = children_of(self.pid) if self.alive() else []
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait()
            except ProcessLookupError:
                pass
        # Children see end of input once their parent is gone.
        end = time.monotonic() + STOP_DEADLINE
        for k in kids:
            while pid_alive(k) and time.monotonic() < end:
                time.sleep(0.05)  # polling interval
            if pid_alive(k):
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ---- a minimal DNS client (readiness checks) --------------------------------

def dns_query(port, name, qtype=1, timeout=1.0):
    """Ask 127.0.0.1:PORT for NAME (qtype number) over UDP.  Returns
    (rcode, answer count) or None when no reply came."""
    qid = int.from_bytes(os.urandom(2), 'big')
    q = struct.pack('>HHHHHH', qid, 0, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    q += b'\0' + struct.pack('>HH', qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(q, ('127.0.0.1', port))
        while True:
            data = s.recv(4096)
            if len(data) >= 12 and struct.unpack('>H', data[:2])[0] == qid:
                flags, _, an = struct.unpack('>HHH', data[2:8])
                return flags & 0xf, an
    except OSError:
        return None
    finally:
        s.close()


def median(xs):
    return statistics.median(xs) if xs else float('nan')


def table(header, rows):
    """Text table, columns padded, numbers right-aligned."""
    rows = [[str(c) for c in r] for r in rows]
    w = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(h)
         for i, h in enumerate(header)]
    out = ['  '.join(str(h).ljust(w[i]) for i, h in enumerate(header)),
           '  '.join('-' * n for n in w)]
    for r in rows:
        out.append('  '.join(c.rjust(w[i]) if _num(c) else c.ljust(w[i])
                             for i, c in enumerate(r)))
    return '\n'.join(out)


def _num(s):
    try:
        float(s.rstrip('%x'))
        return True
    except ValueError:
        return False
