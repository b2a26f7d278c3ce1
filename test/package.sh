#!/usr/bin/env bash
# test/package.sh -- build the Debian package, install it on this machine,
# test the installed programs, purge it.  Run as root (or with sudo) on
# Debian 12; `./test.sh package` calls it, and CI runs that.
#
#   1. copy the source tree (no build dirs, no .git) to a temporary
#      directory and run `dpkg-buildpackage -us -uc -b` there (with
#      DEB_BUILD_OPTIONS=nocheck: CI's main step runs the unit tests);
#   2. install the .deb with a policy-rc.d that starts no service (ours if
#      the machine has none; an existing one is left as it is);
#   3. check the install: the ddns user, the conffile and its mode, the
#      store directory, the man pages, `--check-config` of the shipped
#      config as user ddns, `systemd-analyze verify` of the units;
#   4. run the system tests test_core and test_ops against the installed
#      binaries (DDNS_BIN_DIR=/usr/sbin);
#   5. run the installed daemons with the shipped config as the units do,
#      with a pdns_server of ours as user pdns (test/package_service.py;
#      skipped if port 8080 is taken or the system pdns runs);
#   6. purge the package (and the ddns user if this script created it).
#
# The system's pdns is never started or configured: the tests run their
# own pdns_server on free loopback ports.  If a ddns package is already
# installed, nothing is done (exit 77: skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/deps.sh

src=$PWD
work=
policy=/usr/sbin/policy-rc.d
own_policy=
had_user=
installed=
failed=0

say() { ddns_say "$*"; }

cleanup() {
	set +e
	if [ -n "$installed" ]; then
		say "purging the package"
		ddns_as_root env DEBIAN_FRONTEND=noninteractive \
			dpkg --purge ddns >/dev/null
	fi
	if [ -z "$had_user" ] && getent passwd ddns >/dev/null; then
		ddns_as_root deluser --system --quiet ddns >/dev/null 2>&1
	fi
	[ -n "$own_policy" ] && ddns_as_root rm -f "$policy"
	[ -n "$work" ] && rm -rf "$work"
	return 0
}
trap cleanup EXIT

# 1. build
build() {
	work=$(mktemp -d /tmp/ddns-package.XXXXXX)
	mkdir "$work/ddns"
	tar -C "$src" --exclude='./build*' --exclude=./.git \
		--exclude='./obj-*' --exclude=node_modules \
		--exclude=__pycache__ -cf - . | tar -C "$work/ddns" -xf -
	say "dpkg-buildpackage -us -uc -b in $work/ddns"
	(cd "$work/ddns" &&
		DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
			dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
		tail -40 "$work/build.log" >&2
		return 1
	}
	deb=$(ls "$work"/ddns_*.deb)
	say "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"
}

# 2. install with no service started
install_deb() {
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# ddns test/package.sh: start no service\nexit 101\n' |
			ddns_as_root tee "$policy" >/dev/null
		ddns_as_root chmod 755 "$policy"
		own_policy=1
	fi
	getent passwd ddns >/dev/null && had_user=1
	installed=1
	ddns_as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "$deb" \
		>"$work/install.log" 2>&1 || {
		tail -30 "$work/install.log" >&2
		return 1
	}
	check "nothing listens on port 53 after the install" no_port53
}

no_port53() {
	! ss -Hlnu 'sport = :53' 2>/dev/null | grep -q .
}

check() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then
		say "ok: $what"
	else
		say "FAILED: $what"
		failed=1
	fi
}

conffile_listed() {
	dpkg-query -W -f='${Conffiles}\n' ddns | grep -q ' /etc/ddns/ddns.conf '
}

conf_mode() {
	[ "$(stat -c '%a %U %G' /etc/ddns/ddns.conf)" = "640 root ddns" ]
}

store_dir() {
	[ "$(stat -c '%a %U' /var/lib/ddns)" = "750 ddns" ]
}

as_ddns() {
	ddns_as_root setpriv --reuid=ddns --regid=ddns --init-groups -- "$@"
}

# 3. what the package put in place
check_install() {
	local units=(/lib/systemd/system/ddns-backend.service
		/lib/systemd/system/ddns-updater.service)
	check "system user ddns" getent passwd ddns
	check "conffile /etc/ddns/ddns.conf" conffile_listed
	check "/etc/ddns/ddns.conf is 0640 root:ddns" conf_mode
	check "/var/lib/ddns is 0750 ddns" store_dir
	check "man pages installed" man -w ddns-updater ddns-backend ddnsctl \
		ddns.conf
	check "examples installed" test -r \
		/usr/share/doc/ddns/examples/pdns.conf.example
	check "shipped config: ddns-updater --check-config as ddns" \
		as_ddns /usr/sbin/ddns-updater -c /etc/ddns/ddns.conf --check-config
	check "shipped config: ddns-backend --check-config as ddns" \
		as_ddns /usr/sbin/ddns-backend -c /etc/ddns/ddns.conf --check-config
	check "shipped config: ddnsctl --check-config as ddns" \
		as_ddns /usr/sbin/ddnsctl -c /etc/ddns/ddns.conf --check-config
	check "units enabled (WantedBy multi-user, pdns)" test -L \
		/etc/systemd/system/pdns.service.wants/ddns-backend.service
	check "systemd-analyze verify" systemd-analyze verify "${units[@]}"
}

# 4. the system tests against /usr/sbin
system_tests() {
	local t
	for t in core ops; do
		check "system test $t against the installed binaries" \
			env DDNS_BIN_DIR=/usr/sbin PYTHONDONTWRITEBYTECODE=1 \
			/usr/bin/python3 "test/system/test_$t.py" \
			>"$work/test_$t.log" 2>&1
		tail -3 "$work/test_$t.log" >&2
		[ $failed -eq 0 ] || tail -60 "$work/test_$t.log" >&2
	done
}

# 5. the installed daemons with the shipped config, as the units run them
service_test() {
	local rc=0
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 test/package_service.py ||
		rc=$?
	case $rc in
	0) say "ok: the shipped config serves (as the units run it)" ;;
	77) say "skipped: the shipped config run (see above)" ;;
	*)
		say "FAILED: the shipped config run"
		failed=1
		;;
	esac
}

main() {
	if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
		say "skipped: needs root (or sudo) to install a package"
		exit 77
	fi
	if dpkg -s ddns >/dev/null 2>&1; then
		say "skipped: a ddns package is installed already; not touching it"
		exit 77
	fi
	build || failed=1
	[ $failed -eq 0 ] && { install_deb || failed=1; }
	if [ $failed -eq 0 ]; then
		check_install
		system_tests
		service_test
	fi
}

SECONDS=0
main
if [ $failed -eq 0 ]; then
	say "package test passed in ${SECONDS} s"
else
	say "package test FAILED after ${SECONDS} s"
	exit 1
fi
