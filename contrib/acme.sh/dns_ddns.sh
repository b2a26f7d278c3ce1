#!/usr/bin/env sh
# dns_ddns.sh -- an acme.sh DNS API for ddns (README, "Certificates (ACME
# DNS-01)"): copy it to ~/.acme.sh/dnsapi/ and issue with
#
#   export DDNS_URL=https://ddns.example.org DDNS_SECRET=the-host-secret
#   acme.sh --issue --dns dns_ddns -d HOST -d '*.HOST'
#
# It sets and clears _acme-challenge.HOST through ddns-updater's httpreq
# endpoint with the host's own secret (DDNS_ACME_PATH: the [acme] path,
# default /acme).  acme.sh saves DDNS_URL and DDNS_SECRET in its account
# configuration after the first use.

dns_ddns_add() {
	_dns_ddns_call present "$1" "$2"
}

dns_ddns_rm() {
	_dns_ddns_call cleanup "$1" "$2"
}

# OP FULLDOMAIN VALUE: POST to the updater; 0 on success.
_dns_ddns_call() {
	_dd_op="$1"
	_dd_host="${2#_acme-challenge.}"
	_dd_value="$3"
	if command -v _readaccountconf_mutable >/dev/null 2>&1; then
		DDNS_URL="${DDNS_URL:-$(_readaccountconf_mutable DDNS_URL)}"
		DDNS_SECRET="${DDNS_SECRET:-$(_readaccountconf_mutable DDNS_SECRET)}"
	fi
	if [ -z "${DDNS_URL:-}" ] || [ -z "${DDNS_SECRET:-}" ]; then
		_dns_ddns_err "set DDNS_URL and DDNS_SECRET"
		return 1
	fi
	case "$_dd_host$_dd_value$DDNS_SECRET" in
	*[!A-Za-z0-9._=+/-]*)
		_dns_ddns_err "unusable name, value or secret"
		return 1
		;;
	esac
	if command -v _saveaccountconf_mutable >/dev/null 2>&1; then
		_saveaccountconf_mutable DDNS_URL "$DDNS_URL"
		_saveaccountconf_mutable DDNS_SECRET "$DDNS_SECRET"
	fi
	printf 'user = "%s:%s"\n' "$_dd_host" "$DDNS_SECRET" |
		curl -fsS --max-time 30 -K - -o /dev/null \
			-H 'Content-Type: application/json' \
			--data "{\"fqdn\":\"_acme-challenge.$_dd_host.\",\"value\":\"$_dd_value\"}" \
			"${DDNS_URL%/}${DDNS_ACME_PATH:-/acme}/$_dd_op" || {
		_dns_ddns_err "$_dd_op of _acme-challenge.$_dd_host failed"
		return 1
	}
}

_dns_ddns_err() {
	if command -v _err >/dev/null 2>&1; then
		_err "dns_ddns: $1"
	else
		echo "dns_ddns: $1" >&2
	fi
}
