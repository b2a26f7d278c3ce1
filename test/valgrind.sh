#!/usr/bin/env bash
# test/valgrind.sh -- a short system run with ddns-updater and ddns-backend
# under valgrind memcheck: every error, and every definite leak at exit,
# makes the daemon exit 99 when the test stops it, which fails the test.
#
#   test/valgrind.sh                 the core and backend suites
#   test/valgrind.sh SUITE...        other system tests (by meson test name)
#
# Builds into ./build-valgrind (a plain build: valgrind and ASan do not
# mix), or into $DDNS_VALGRIND_BUILD.  Not run by CI (.ci/run): it takes a
# few minutes; run it by hand before a release and after touching memory
# handling.  pdns_server itself is not run under valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/deps.sh

if ! command -v valgrind >/dev/null; then
	ddns_say "valgrind is not installed (apt-get install valgrind)"
	exit 1
fi
dir=${DDNS_VALGRIND_BUILD:-build-valgrind}
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(core backend)

ddns_build "$dir"
export DDNS_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full
	--show-leak-kinds=definite --errors-for-leak-kinds=definite
	--track-origins=yes --num-callers=30"
export DDNS_TIME_SCALE=4 # start-up and stop deadlines of the harness
start=$(date +%s)
status=0
meson test -C "$dir" --no-rebuild --print-errorlogs --timeout-multiplier 4 \
	"${suites[@]}" || status=$?
echo "valgrind run of ${suites[*]}: $(($(date +%s) - start)) s, status $status"
exit $status
