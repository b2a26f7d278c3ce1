"""Privileges and file modes (issue 6, "Security"):

- with [updater] user / [backend] user (and socket_group, socket_mode) the
  daemons, started as root, bind and open the store, then run as that user
  with no supplementary group and no way back to root; updates and DNS
  answers still work; the store belongs to the updater's user, 0700/0600;
  the backend's unix socket has the configured mode and group;
- an unknown user or group is a configuration error (exit 2);
- a world-writable store directory or store file is refused by every
  program (exit 1, a message saying which and what to do).

The daemons must start as root to switch users: without root the drop
tests are skipped.  The user is `nobody` (group `nogroup`).

Run: DDNS_BUILD_DIR=build /usr/bin/python3 test/system/test_privileges.py -v
"""

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

import ddnstest
from ddnstest import ZONE, Service, wait_for

USER, GROUP = 'nobody', 'nogroup'


def ids_of(pid):
    """{'Uid': [real, effective, saved, fs], 'Gid': [...], 'Groups': [...]}
    from /proc/PID/status."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('Uid', 'Gid', 'Groups'):
                out[k] = [int(x) for x in v.split()]
    return out


def need_root_and_nobody():
    if os.geteuid() != 0:
        raise unittest.SkipTest('the daemons must start as root to drop it')
    try:
        return pwd.getpwnam(USER).pw_uid, grp.getgrnam(GROUP).gr_gid
    except KeyError:
        raise unittest.SkipTest('no user %s / group %s' % (USER, GROUP))


class Drop(unittest.TestCase):
    def test_daemons_run_as_nobody(self):
        uid, gid = need_root_and_nobody()
        svc = Service(ipv6=False, conf_extra={
            'updater': {'user': USER},
            'backend': {'user': USER, 'group': GROUP,
                        'socket_group': GROUP, 'socket_mode': '0660'}})
        ok = False
        try:
            svc.prepare()
            # Let nobody reach its socket and pdns's control socket.
            os.chmod(svc.dir, 0o755)
            svc.start_backend()
            svc.start_pdns()
            # pdns makes its control socket 0755: open it to the updater's
            # user, as a deployment must (README "Privileges").
            os.chmod(svc.control_socket, 0o666)
            svc.start_updater()
            self._check(svc, uid, gid)
            ok = True
        finally:
            svc.failed = not ok
            self.assertEqual(svc.stop(dump=not ok), [])

    def _check(self, svc, uid, gid):
        for name in ('ddns-updater', 'ddns-backend'):
            # Listening comes first, then the switch, then "ready".
            p = svc.procs[name]
            wait_for(lambda: ': ready' in p.output(), '%s ready' % name,
                     procs=[p])
            ids = ids_of(p.pid)
            self.assertEqual(ids, {'Uid': [uid] * 4, 'Gid': [gid] * 4,
                                   'Groups': [gid]}, name)
            self.assertIn('running as user %s' % USER,
                          svc.procs[name].output())
        st = os.stat(svc.backend_socket)
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_gid), (0o660, gid))
        store = os.path.join(svc.dir, 'store')
        for path, mode in ((store, 0o700),
                           (os.path.join(store, 'data.mdb'), 0o600),
                           (os.path.join(store, 'lock.mdb'), 0o600)):
            st = os.stat(path)
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                             (mode, uid), path)
        # The store still takes updates and pdns still gets answers.
        fqdn, secret = svc.new_host()
        r = svc.update(fqdn, secret, myip='192.0.2.55')
        self.assertEqual(r.body.strip(), 'good 192.0.2.55')
        self.assertEqual(svc.dig(fqdn, 'A').data('A'), ['192.0.2.55'])
        # Restarted as root on a store that now belongs to nobody.
        self.assertEqual(svc.stop_one('ddns-updater'), 0)
        svc.start_updater()
        p = svc.procs['ddns-updater']
        wait_for(lambda: p.output().count(': ready') == 2,
                 'the updater ready again', procs=[p])
        r = svc.update(fqdn, secret, myip='192.0.2.56')
        self.assertEqual(r.body.strip(), 'good 192.0.2.56')
        self.assertEqual(svc.dig(fqdn, 'A').data('A'), ['192.0.2.56'])
        self.assertNotIn('cannot purge', svc.procs['ddns-updater'].output())


class Refusals(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='ddns-test-')
        self.store = os.path.join(self.dir, 'store')
        self.conf = os.path.join(self.dir, 'ddns.conf')
        self.write_conf()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_conf(self, extra=None):
        ddnstest.write_file(self.conf, ddnstest.ddns_conf(
            self.dir, ['127.0.0.1:%d' % ddnstest.free_port()],
            os.path.join(self.dir, 'b.sock'), os.path.join(self.dir, 'ctl'),
            extra=extra))

    def run_prog(self, argv):
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           timeout=10, env=ddnstest.clean_env())
        text = r.stdout.decode('utf-8', 'replace')
        self.assertEqual(ddnstest.sanitizer_reports(argv[0], text), [])
        return r.returncode, text

    def ctl(self, *args):
        return self.run_prog([ddnstest.binary('ddnsctl'), '-c', self.conf]
                             + list(args))

    def programs(self):
        return [[ddnstest.binary('ddns-updater'), '-c', self.conf],
                [ddnstest.binary('ddns-backend'), '-c', self.conf],
                [ddnstest.binary('ddnsctl'), '-c', self.conf, 'host',
                 'list']]

    def test_world_writable_store(self):
        rc, out = self.ctl('zone', 'add', ZONE, '--ns', 'ns1.example.org',
                           '--hostmaster', 'hostmaster@example.org')
        self.assertEqual(rc, 0, out)
        for path, what in ((self.store, 'store directory'),
                           (os.path.join(self.store, 'data.mdb'),
                            'store file'),
                           (os.path.join(self.store, 'lock.mdb'),
                            'store file')):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            os.chmod(path, mode | 0o002)
            for argv in self.programs():
                with self.subTest(path=path, prog=argv[3:] or argv[0]):
                    rc, out = self.run_prog(argv)
                    self.assertEqual(rc, 1, out)
                    self.assertIn('%s %s is writable by everyone' %
                                  (what, path), out)
                    self.assertIn('chmod o-w', out)
            os.chmod(path, mode)
        rc, out = self.ctl('host', 'list')
        self.assertEqual(rc, 0, out)

    def test_unknown_user_or_group(self):
        cases = [({'updater': {'user': 'no-such-user-ddns'}},
                  "unknown user 'no-such-user-ddns'"),
                 ({'updater': {'user': USER, 'group': 'no-such-group-ddns'}},
                  "unknown group 'no-such-group-ddns'"),
                 ({'updater': {'group': GROUP}}, 'group is set without user'),
                 ({'backend': {'user': 'no-such-user-ddns'}},
                  "unknown user 'no-such-user-ddns'"),
                 ({'backend': {'socket_group': 'no-such-group-ddns'}},
                  "unknown group 'no-such-group-ddns'")]
        for extra, msg in cases:
            self.write_conf(extra)
            prog = 'ddns-updater' if 'updater' in extra else 'ddns-backend'
            with self.subTest(extra=extra):
                rc, out = self.run_prog([ddnstest.binary(prog), '-c',
                                         self.conf])
                self.assertEqual(rc, 2, out)
                self.assertIn(msg, out)
                self.assertIn(self.conf, out)


if __name__ == '__main__':
    ddnstest.main()
