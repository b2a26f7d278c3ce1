#!/bin/sh
# test/browser/run.sh -- install what the browser tests need and run them.
#
#   test/browser/run.sh                      # every *.test.mjs
#   test/browser/run.sh smoke.test.mjs       # some of them
#   DDNS_SCREENSHOTS=DIR test/browser/run.sh # keep the portal screenshots
#
# Needs Node.js 20 or later and Debian's chromium (installed here with
# apt-get when missing and running as root). The npm packages come from
# package-lock.json with `npm ci` (exact versions, integrity-checked);
# SKIP_NPM_CI=1 reuses node_modules as it is.
set -eu
cd "$(dirname "$0")"

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
	echo "run.sh: Node.js 20 or later is needed (found: $(node --version 2>/dev/null || echo none))" >&2
	exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }
	else
		echo "run.sh: /usr/bin/chromium is missing: apt-get install -y chromium" >&2
		exit 1
	fi
fi

# npm ci empties node_modules first: two runs in one checkout must not
# overlap there, so the install holds a lock (flock, util-linux).
if [ "${SKIP_NPM_CI:-0}" != 1 ] || [ ! -d node_modules ]; then
	flock .npm-ci.lock npm ci --no-audit --no-fund --loglevel=error
fi

# no proxies: everything the tests talk to is on 127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
exec node --test "$@"
