#!/usr/bin/env bash
# test.sh -- install what is missing (Debian 12), build ddns into ./build with
# warnings as errors, run the tests, and print "N passed, N failed".
#
#   ./test.sh          every test (unit and system)
#   ./test.sh unit     the unit tests only
#   ./test.sh system   the system tests only (real pdns_server, dig, curl)
#   ./test.sh sanitize the unit, fuzz-replay and system suites built with
#                      AddressSanitizer + UndefinedBehaviorSanitizer (gcc) in
#                      ./build-asan; any report fails its test
#   ./test.sh package  build the Debian package, install it (starting no
#                      service), run test_core and test_ops against the
#                      installed programs, purge it (test/package.sh; root)
#
# The system tests start their own pdns_server on free loopback ports; they
# never use port 53 or the system's pdns service.
set -euo pipefail
cd "$(dirname "$0")"
. .ci/deps.sh

suite_args=()
builddir=build
build_opts=()
case "${1:-all}" in
all) ;;
unit | system) suite_args=(--suite "$1") ;;
sanitize)
	builddir=build-asan
	build_opts=(-Db_sanitize=address,undefined)
	suite_args=(--suite unit --suite fuzz --suite system)
	# Stop at the first report, make it fail the process (abort), and check
	# our daemons and tools for leaks at exit.
	export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1
	export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1
	;;
package)
	ddns_install_deps
	exec test/package.sh
	;;
*)
	echo "usage: $0 [unit|system|sanitize|package]" >&2
	exit 2
	;;
esac

ddns_install_deps
ddns_build "$builddir" ${build_opts[@]+"${build_opts[@]}"}

log=$builddir/meson-logs/testlog.json
rm -f "$log"
status=0
meson test -C "$builddir" --print-errorlogs ${suite_args[@]+"${suite_args[@]}"} || status=$?

# One JSON object per line, one line per meson test.
counts=$(/usr/bin/python3 - "$log" <<'PY'
import json, sys
ok = bad = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
for line in lines:
    if line.strip():
        r = json.loads(line)['result']
        ok += r == 'OK'
        bad += r in ('FAIL', 'TIMEOUT', 'ERROR', 'UNEXPECTEDPASS')
print(ok, bad)
PY
)
read -r passed failed <<<"$counts"
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$status" -ne 0 ] || [ "$passed" -eq 0 ]; then
	exit 1
fi
