#!/usr/bin/env bash
# demo.sh -- build ddns and run the whole service on this machine, on
# loopback only, until Ctrl-C:
#   ddns-backend  (unix socket)  <- pdns_server (its own config, port 5300
#   or a free one)  and  ddns-updater (http://127.0.0.1:8080 or a free port).
# It creates the zone dyn.example.org and the host myhost.dyn.example.org,
# and prints the commands to try.  Everything lives in $DDNS_DEMO_DIR
# (default /tmp/ddns-demo), wiped at each start.  Never uses port 53 or the
# system's pdns service.
set -euo pipefail
cd "$(dirname "$0")"
. .ci/deps.sh

top=$(pwd)
build=$top/build
demo=${DDNS_DEMO_DIR:-/tmp/ddns-demo}
zone=dyn.example.org
host=myhost.$zone
pids=()

# A port free on 127.0.0.1 for TCP (and UDP with "udp"): $1 if free, else one
# the kernel picks.
free_port() {
	/usr/bin/python3 - "$@" <<'PY'
import socket, sys
want, udp = int(sys.argv[1]), len(sys.argv) > 2
def free(port):
    kinds = [socket.SOCK_STREAM] + ([socket.SOCK_DGRAM] if udp else [])
    for k in kinds:
        s = socket.socket(socket.AF_INET, k)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
        finally:
            s.close()
    return True
port = want
while not free(port):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
print(port)
PY
}

# Poll "$@" until it succeeds; give up after 15 s or when process $pid dies.
wait_for() {
	local what=$1 pid=$2 i
	shift 2
	for ((i = 0; i < 150; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			ddns_say "$what exited; its log:"
			tail -n 20 "$demo"/*.log >&2 || true
			return 1
		fi
		sleep 0.1
	done
	ddns_say "timed out waiting for $what"
	return 1
}

# ddnsctl with the demo config; its stderr goes to ddnsctl.log, shown if it
# fails.
ctl() {
	"$build/updater/ddnsctl" -c "$demo/ddns.conf" "$@" 2>>"$demo/ddnsctl.log" ||
		{
			cat "$demo/ddnsctl.log" >&2
			return 1
		}
}

# Start "$@" in the background, output to $demo/$1-name.log.
spawn() {
	local name=$1
	shift
	"$@" >"$demo/$name.log" 2>&1 &
	pids+=("$!")
	last_pid=$!
}

# Stop every process we started, by PID: SIGTERM, then SIGKILL after 5 s.
stop_all() {
	local pid i
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ ${#pids[@]} -gt 0 ]; then
		echo "stopped; logs are in $demo/*.log"
	fi
}

prepare_dir() {
	if [ -e "$demo" ] && [ ! -e "$demo/.ddns-demo" ]; then
		ddns_say "$demo exists and is not a demo directory; set DDNS_DEMO_DIR"
		exit 1
	fi
	rm -rf "$demo"
	mkdir -p "$demo/run" "$demo/pdns"
	touch "$demo/.ddns-demo"
	chmod 700 "$demo"
}

write_configs() {
	cat >"$demo/ddns.conf" <<CONF
# ddns demo configuration (see ddns.conf.example)
[store]
path = $demo/store

[updater]
listen = 127.0.0.1:$http_port

[backend]
listen = unix:$demo/backend.sock

[pdns]
control_socket = $demo/run/pdns.controlsocket

[log]
level = info
CONF
	cat >"$demo/pdns/pdns.conf" <<CONF
# pdns_server of the ddns demo: foreground, own sockets, loopback only.
launch=remote
remote-connection-string=unix:path=$demo/backend.sock,timeout=2000
daemon=no
guardian=no
write-pid=no
disable-syslog=yes
socket-dir=$demo/run
local-address=127.0.0.1
local-port=$dns_port
security-poll-suffix=
only-notify=
query-local-address=127.0.0.1
loglevel=4
CONF
}

main() {
	ddns_install_deps
	ddns_build "$build"
	prepare_dir
	http_port=$(free_port 8080)
	dns_port=$(free_port 5300 udp)
	write_configs

	# pdns is not running yet: ddnsctl's cache purges fail, harmlessly; its
	# messages go to ddnsctl.log.
	local secret
	ctl zone add "$zone" --ns ns1.example.org \
		--hostmaster hostmaster@example.org >/dev/null
	secret=$(ctl host add "$host" | tail -n 1)

	trap stop_all EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	spawn backend "$build/backend/ddns-backend" -c "$demo/ddns.conf"
	wait_for ddns-backend "$last_pid" test -S "$demo/backend.sock"
	spawn pdns /usr/sbin/pdns_server --config-dir="$demo/pdns"
	wait_for pdns_server "$last_pid" bash -c \
		"dig @127.0.0.1 -p $dns_port +short +time=1 +tries=1 $zone SOA | grep -q ."
	spawn updater "$build/updater/ddns-updater" -c "$demo/ddns.conf"
	wait_for ddns-updater "$last_pid" \
		curl -sf --noproxy '*' "http://127.0.0.1:$http_port/myip"

	cat <<TXT

ddns is running (logs in $demo/*.log).  Try:

  # update $host to your address (127.0.0.1 here), then to another one
  curl "http://$host:$secret@127.0.0.1:$http_port/nic/update"
  curl "http://$host:$secret@127.0.0.1:$http_port/nic/update?myip=192.0.2.1"

  # ask pdns
  dig @127.0.0.1 -p $dns_port $host A +norecurse

  # manage hosts
  $build/updater/ddnsctl -c $demo/ddns.conf host list

Press Ctrl-C to stop.
TXT
	# Stay in the foreground until a signal, or until a daemon dies.
	local rc=0
	wait -n "${pids[@]}" || rc=$?
	ddns_say "a daemon exited (status $rc); stopping"
	exit 1
}

main "$@"
