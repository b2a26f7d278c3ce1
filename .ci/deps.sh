# .ci/deps.sh -- sourced by test.sh and demo.sh: install what ddns needs on
# Debian 12 and build it.  Bash only; the caller has `set -euo pipefail`.

# Debian packages needed to build ddns and run every test.
DDNS_PACKAGES=(
	meson ninja-build pkg-config gcc
	libevent-dev libjansson-dev liblmdb-dev libssl-dev libinih-dev libidn2-dev
	pdns-server pdns-backend-remote bind9-dnsutils curl lmdb-utils python3
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
# runs only when something is.  We never start or enable the system pdns
# service; Debian's package may do so on a machine where services start.
ddns_install_deps() {
	local missing=() p
	if ! command -v dpkg >/dev/null; then
		ddns_say "not a Debian system: install by hand: ${DDNS_PACKAGES[*]}"
		return 0
	fi
	for p in "${DDNS_PACKAGES[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	ddns_say "installing: ${missing[*]}"
	ddns_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	ddns_as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Configure (or reconfigure) the meson build directory $1 with -Dwerror=true
# and build it.
ddns_build() {
	local dir=$1
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" -Dwerror=true
	else
		meson setup "$dir" -Dwerror=true
	fi
	ninja -C "$dir"
}
