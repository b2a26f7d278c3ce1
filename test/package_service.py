#!/usr/bin/python3
"""package_service.py -- run the INSTALLED ddns the way its systemd units
do, with the shipped /etc/ddns/ddns.conf, and a pdns_server of our own
(running as user pdns) configured as pdns.conf.example says.  Called by
test/package.sh after installing the package, as root.

Like the units (this machine need not run systemd): the updater as
ddns:ddns with the supplementary group pdns, the backend as user ddns with
group pdns and the supplementary group ddns, /run/ddns made ddns:pdns 0750 (RuntimeDirectory).  Then: pdns
answers the zone's SOA through /run/ddns/backend.sock, curl updates a host
through 127.0.0.1:8080, dig answers its address, /healthz says ok.

The shipped config listens on 127.0.0.1:8080 and [::1]:8080 and names the
system pdns's control socket: when that port is taken or the system pdns
runs (its control socket exists), nothing is done (exit 77), so the system
pdns is never touched.  Every process started here is stopped by its PID;
what the run created (/run/ddns, the store in /var/lib/ddns) is removed.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'system'))
import ddnstest  # noqa: E402
from ddnstest import Proc, dig, free_port, wait_for  # noqa: E402

CONF = '/etc/ddns/ddns.conf'
SOCK = '/run/ddns/backend.sock'
STORE = '/var/lib/ddns'
ZONE = 'dyn.example.org'
HOST = 'h.' + ZONE


def as_user(user, group, groups, argv):
    g = ['--groups=' + ','.join(groups)] if groups else ['--clear-groups']
    return ['setpriv', '--reuid=' + user, '--regid=' + group] + g + argv


def ctl(*args):
    r = subprocess.run(as_user('ddns', 'ddns', [], ['/usr/sbin/ddnsctl', '-c',
                                                    CONF] + list(args)),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError('ddnsctl %s: %s' % (' '.join(args), r.stderr))
    return r.stdout


def skip_reason():
    if os.path.exists('/run/pdns/pdns.controlsocket'):
        return 'the system pdns runs (its control socket exists)'
    for addr in ('127.0.0.1', '::1'):
        if ddnstest.tcp_port_ready(addr, 8080):
            return 'port 8080 is in use on %s' % addr
    if os.path.exists('/run/ddns') or os.listdir(STORE):
        return '/run/ddns or a store in /var/lib/ddns exists already'
    return None


def start_pdns(work, port):
    """pdns_server as user pdns, with the connection string of
    pdns.conf.example (unix connector)."""
    rundir = os.path.join(work, 'pdns-run')
    os.mkdir(rundir)
    shutil.chown(rundir, 'pdns', 'pdns')
    conf = ddnstest.pdns_conf(rundir, port,
                              'unix:path=%s,timeout=2000' % SOCK)
    ddnstest.write_file(os.path.join(work, 'pdns.conf'), conf)
    return Proc('pdns', as_user('pdns', 'pdns', [], [
        ddnstest.tool('pdns_server'), '--config-dir=' + work]), work)


def run(work, procs):
    os.mkdir('/run/ddns', 0o750)
    shutil.chown('/run/ddns', 'ddns', 'pdns')
    upd = Proc('ddns-updater', as_user('ddns', 'ddns', ['pdns'], [
        '/usr/sbin/ddns-updater', '-c', CONF]), work)
    procs.append(upd)
    wait_for(lambda: ddnstest.tcp_port_ready('127.0.0.1', 8080),
             'ddns-updater on 127.0.0.1:8080', procs=[upd])
    ctl('zone', 'add', ZONE, '--ns', 'ns1.example.org', '--hostmaster',
        'hostmaster@example.org')
    secret = ctl('host', 'add', HOST).strip().splitlines()[-1]
    be = Proc('ddns-backend', as_user('ddns', 'pdns', ['ddns'], [
        '/usr/sbin/ddns-backend', '-c', CONF]), work)
    procs.append(be)
    wait_for(lambda: ddnstest.unix_socket_ready(SOCK), SOCK, procs=[be])
    mode = os.stat(SOCK).st_mode & 0o777
    assert mode == 0o660, 'socket mode %o' % mode
    port = free_port(udp=True)
    pdns = start_pdns(work, port)
    procs.append(pdns)
    wait_for(lambda: dig(port, ZONE, 'SOA', timeout=1).rcode == 'NOERROR',
             'pdns (as user pdns) to answer SOA through the socket',
             procs=procs)
    r = ddnstest.curl('http://%s:%s@127.0.0.1:8080/nic/update?myip=192.0.2.44'
                      % (HOST, secret), workdir=work)
    assert (r.status, r.body.strip()) == (200, 'good 192.0.2.44'), r
    a = dig(port, HOST, 'A')
    assert a.data('A') == ['192.0.2.44'], a.text
    r = ddnstest.curl('http://127.0.0.1:8080/healthz', workdir=work)
    assert (r.status, r.body) == (200, 'ok\n'), r
    print('package_service: the shipped config serves: SOA through %s to '
          'pdns as user pdns, update good, dig A 192.0.2.44, /healthz ok'
          % SOCK)


def main():
    reason = skip_reason()
    if reason:
        print('package_service: skipped: ' + reason)
        return 77
    work = tempfile.mkdtemp(prefix='ddns-pkgsvc-')
    os.chmod(work, 0o755)
    procs, status = [], 1
    try:
        run(work, procs)
        status = 0
    except (AssertionError, RuntimeError) as e:
        print('package_service: FAILED: %s' % e)
        for p in procs:
            print('----- %s\n%s' % (p.name, p.tail()))
    finally:
        for p in reversed(procs):
            st = p.stop()
            if p.name != 'pdns' and st != 0:
                print('package_service: %s exited %s on SIGTERM'
                      % (p.name, st))
                status = 1
        shutil.rmtree('/run/ddns', ignore_errors=True)
        for f in os.listdir(STORE):
            path = os.path.join(STORE, f)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
