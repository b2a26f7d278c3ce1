#!/usr/bin/python3
"""service_driver.py -- the real ddns service for the browser tests.

Started by service.mjs (never through a shell, so its PID is this
program's).  It uses test/system/ddnstest.py's Service: ddns-backend,
pdns_server and ddns-updater on free loopback ports in a fresh temporary
directory, each stopped by its PID.  DDNS_BUILD_DIR names the meson build
root.  A line protocol on stdin/stdout, one JSON object per line:

  stdin  {"zones": [...], "ipv6": false, "log_level": "info"}
  stdout service prepared {"http_port", "dns_port", "dir", "conf",
                           "ddnsctl", "build_dir"}
         (ports chosen, config written, zones made; nothing running yet:
         the caller now starts what the config must name, e.g. an OpenID
         provider whose redirect URI holds http_port)
  stdin  {"conf": "INI text appended to the config"}
  stdout service ready {... the same ...}
         (backend, pdns and updater up, each waited for with a deadline)
  stdin  {"failed": true}      optional: on stop print every log's tail
                               and keep the directory
  stdin  end of file           stop everything (also on SIGTERM/SIGINT)

The exit status is 0 when every daemon stopped cleanly (exit 0 on
SIGTERM, no sanitizer report), 1 otherwise (the problems on stderr), 2 on
a protocol or start error.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'system'))
import ddnstest  # noqa: E402


class Stop(Exception):
    """Raised by the signal handler to leave the wait for stdin."""


def _on_signal(signum, frame):
    raise Stop()


def _read_json():
    """One JSON object from stdin; None at end of file."""
    line = sys.stdin.readline()
    if not line:
        return None
    return json.loads(line)


def _say(word, svc):
    info = {'http_port': svc.http_port, 'dns_port': svc.dns_port,
            'dir': svc.dir, 'conf': svc.conf,
            'ddnsctl': ddnstest.binary('ddnsctl'),
            'build_dir': ddnstest.build_dir()}
    sys.stdout.write('service %s %s\n' % (word, json.dumps(info)))
    sys.stdout.flush()


def _start(svc):
    """Phase 1 and 2 of the protocol; False if stdin ended first."""
    svc.prepare()
    _say('prepared', svc)
    msg = _read_json()
    if msg is None:
        return False
    extra = msg.get('conf', '')
    if extra:
        with open(svc.conf, 'a') as f:
            f.write('\n' + extra.strip('\n') + '\n')
    if svc.want_backend:
        svc.start_backend()
    svc.start_pdns()
    svc.start_updater()
    _say('ready', svc)
    return True


def main():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    svc = None
    try:
        spec = _read_json()
        if spec is None:
            return 2
        svc = ddnstest.Service(zones=tuple(spec.get('zones',
                                                    [ddnstest.ZONE])),
                               ipv6=bool(spec.get('ipv6', False)),
                               log_level=spec.get('log_level', 'info'))
        if _start(svc):
            while True:
                msg = _read_json()
                if msg is None:
                    break
                if msg.get('failed'):
                    svc.failed = True
    except Stop:
        pass
    except Exception as e:  # a start error: the logs say why
        sys.stderr.write('service_driver: %r\n' % (e,))
        if svc:
            svc.failed = True
            svc.stop(dump=True)
        return 2
    if not svc or not svc.dir:
        return 0
    # no second signal may interrupt the stop: every daemon must go
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    problems = svc.stop(dump=svc.failed)
    for p in problems:
        sys.stderr.write('service_driver: %s\n' % p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
