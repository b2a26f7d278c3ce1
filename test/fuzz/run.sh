#!/bin/sh
# run.sh -- run a libFuzzer target of a -Dfuzzing=true build, or merge what
# it found into the checked-in corpus (see README.md).
#
#   test/fuzz/run.sh BUILD TARGET [SECONDS]   fuzz (default 600 s) from the
#                                             corpus into a work copy
#   test/fuzz/run.sh BUILD TARGET merge       minimise corpus + work copy
#                                             into corpus/TARGET
#
# The work copy and crash files live in $FUZZ_WORK/TARGET (default
# /tmp/ddns-fuzz-work); a crash is written there as crash-*, never into
# the source tree.  Extra libFuzzer flags: FUZZ_ARGS="-jobs=2 ...".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1
target=$2
what=${3:-600}
bin=$build/test/fuzz/fuzz_$target
work=${FUZZ_WORK:-/tmp/ddns-fuzz-work}/$target

case $target in
dyndns2 | conf | oidc | decode) max_len=16384 ;;
rb_proto) max_len=70000 ;; # past RB_LINE_MAX (65536), to reach the cap
jwt) max_len=20000 ;;      # past DDNS_JWT_MAX (16384)
names) max_len=2048 ;;     # past the 1024-byte UTF-8 cap of names.c
addr) max_len=256 ;;
acme) max_len=2048 ;;    # past DDNS_ACME_BODY_MAX (1024)
*)
	echo "run.sh: unknown target $target" >&2
	exit 2
	;;
esac
[ -x "$bin" ] || {
	echo "run.sh: no $bin (CC=clang meson setup $build -Dfuzzing=true)" >&2
	exit 2
}
mkdir -p "$work/corpus"

if [ "$what" = merge ]; then
	new=$(mktemp -d)
	"$bin" -merge=1 -max_len=$max_len -rss_limit_mb=2048 "$new" \
		"$here/corpus/$target" "$work/corpus"
	rm -f "$here/corpus/$target"/*
	cp "$new"/* "$here/corpus/$target/"
	rm -rf "$new"
	echo "corpus/$target: $(ls "$here/corpus/$target" | wc -l) files," \
		"$(du -sk "$here/corpus/$target" | cut -f1) KiB"
	exit 0
fi

cp -n "$here/corpus/$target"/* "$work/corpus/" 2>/dev/null || true
dict=
[ -f "$here/$target.dict" ] && dict=-dict=$here/$target.dict
# shellcheck disable=SC2086
exec "$bin" -max_total_time="$what" -rss_limit_mb=2048 -max_len=$max_len \
	-timeout=10 -print_final_stats=1 -artifact_prefix="$work/" $dict \
	${FUZZ_ARGS:-} "$work/corpus"
