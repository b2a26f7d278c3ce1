# .ci/deps.sh -- sourced by test.sh and demo.sh: install what ddns needs on
# Debian 12 and build it.  Bash only; the caller has `set -euo pipefail`.

# Debian packages needed to build ddns and run every test.
DDNS_PACKAGES=(
	meson ninja-build pkg-config gcc
	libevent-dev libjansson-dev liblmdb-dev libssl-dev libinih-dev libidn2-dev
	pdns-server pdns-backend-remote bind9-dnsutils curl lmdb-utils python3
	openssl
	# Real dyndns2 clients of the system tests (test_clients.py), and
	# the perl TLS module ddclient needs for ssl=yes (a Recommends).
	ddclient inadyn wget busybox libio-socket-ssl-perl
	# The portal's browser tests (test/browser): headless chromium; the
	# npm packages come from test/browser/package-lock.json.
	chromium
	# Secondaries and DNSSEC checks (test_secondary.py, test_dnssec.py,
	# test/bench/axfr.py): NSD, Knot, a pdns LMDB secondary, ldns-verify-zone.
	nsd knot pdns-backend-lmdb ldnsutils
	# ACME DNS-01 (test_acme.py): the pebble test CA and the lego client.
	pebble lego
	# The Debian package test (test/package.sh): dpkg-buildpackage with
	# debhelper, man/lexgrog for the man pages, systemd-analyze verify.
	debhelper dpkg-dev man-db systemd
)

# Daemons that Debian's packages of DDNS_PACKAGES would start at install
# (ddclient's postinst starts its service, which contacts no-ip.com with the
# debconf defaults): "name pidfile" of each, stopped after an install.
DDNS_NO_DAEMONS=(
	"ddclient /run/ddclient.pid"
	"inadyn /run/inadyn/inadyn.pid"
)

# Print a message to stderr, prefixed with the calling script's name.
ddns_say() {
	printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

# Run a command as root: directly when we are root, else through sudo.
ddns_as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		ddns_say "need root to run: $* (and sudo is not installed)"
		return 1
	fi
}

# Install the packages of DDNS_PACKAGES that are missing; `apt-get update`
# runs only when something is.  No service is started: debconf asks nothing
# (noninteractive), and while apt runs a policy-rc.d of ours (only if the
# machine has none) tells invoke-rc.d / deb-systemd-invoke to start nothing,
# so neither the system pdns nor ddclient's daemon runs.  ddclient's package
# still enables its service for the next boot.
ddns_install_deps() {
	local missing=() p rc=0 policy=/usr/sbin/policy-rc.d ours=
	if ! command -v dpkg >/dev/null; then
		ddns_say "not a Debian system: install by hand: ${DDNS_PACKAGES[*]}"
		return 0
	fi
	for p in "${DDNS_PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	ddns_say "installing: ${missing[*]}"
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# ddns .ci/deps.sh: start no service\nexit 101\n' |
			ddns_as_root tee "$policy" >/dev/null
		ddns_as_root chmod 755 "$policy"
		ours=1
	fi
	ddns_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		ddns_as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		rc=$?
	[ -n "$ours" ] && ddns_as_root rm -f "$policy"
	ddns_stop_daemons
	return $rc
}

# Stop a daemon of DDNS_NO_DAEMONS that an install started anyway, by the PID
# in its pidfile, and only if that PID is the daemon named (ddclient is a
# perl script: its command line is checked, not its process name).
ddns_stop_daemons() {
	local d name pidfile pid
	for d in "${DDNS_NO_DAEMONS[@]}"; do
		read -r name pidfile <<<"$d"
		[ -r "$pidfile" ] && read -r pid <"$pidfile" || continue
		case "$pid" in '' | *[!0-9]*) continue ;; esac
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" |
			grep -qw "$name"; then
			ddns_say "stopping $name (pid $pid) started by its package"
			ddns_as_root kill "$pid" || true
		fi
	done
}

# Configure (or reconfigure) the meson build directory $1 with -Dwerror=true
# and build it.
ddns_build() {
	local dir=$1
	shift # the rest: more meson options, e.g. -Db_sanitize=address,undefined
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dwerror=true "$@"
	else
		meson setup "$dir" -Dwerror=true "$@"
	fi
	ninja -C "$dir"
}
