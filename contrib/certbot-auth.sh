#!/bin/sh
# certbot-auth.sh -- certbot --manual-auth-hook for ddns: serves certbot's
# DNS-01 value at _acme-challenge.$CERTBOT_DOMAIN through ddns-updater's
# httpreq endpoint (README, "Certificates (ACME DNS-01)"), authenticated
# with the host's own secret.  certbot-cleanup.sh removes it again.
#
#   DDNS_URL         the updater, e.g. https://ddns.example.org (required)
#   DDNS_ACME_PATH   its [acme] path (default /acme)
#   DDNS_SECRET      the host's secret, or else
#   DDNS_SECRET_DIR  a directory with one file per host, named after it,
#                    holding its secret (default /etc/ddns-acme)
#
# Usage: certbot certonly --manual --preferred-challenges dns \
#          --manual-auth-hook /path/certbot-auth.sh \
#          --manual-cleanup-hook /path/certbot-cleanup.sh -d HOST -d '*.HOST'
# The secret goes to curl on its standard input, never on a command line.
set -eu

op="${1:-present}"
case "$op" in
present | cleanup) ;;
*) echo "usage: $0 [present|cleanup]" >&2; exit 2 ;;
esac
: "${DDNS_URL:?set DDNS_URL to the ddns updater, e.g. https://ddns.example.org}"
: "${CERTBOT_DOMAIN:?CERTBOT_DOMAIN is not set (run me from certbot)}"
: "${CERTBOT_VALIDATION:?CERTBOT_VALIDATION is not set (run me from certbot)}"

host="${CERTBOT_DOMAIN#\*.}"
value="$CERTBOT_VALIDATION"
# A host name and a base64url value: nothing that needs quoting below.
case "$host" in
'' | *[!A-Za-z0-9.-]*) echo "$0: unusable domain '$host'" >&2; exit 1 ;;
esac
case "$value" in
'' | *[!A-Za-z0-9_=+/-]*) echo "$0: unusable value" >&2; exit 1 ;;
esac
secret="${DDNS_SECRET:-}"
if [ -z "$secret" ]; then
	file="${DDNS_SECRET_DIR:-/etc/ddns-acme}/$host"
	if [ ! -r "$file" ]; then
		echo "$0: no DDNS_SECRET and no readable $file" >&2
		exit 1
	fi
	secret="$(head -n 1 "$file")"
fi
case "$secret" in
'' | *[!A-Za-z0-9]*) echo "$0: the secret of $host is not letters and digits" >&2; exit 1 ;;
esac

printf 'user = "%s:%s"\n' "$host" "$secret" |
	curl -fsS --max-time 30 --retry 3 -K - -o /dev/null \
		-H 'Content-Type: application/json' \
		--data "{\"fqdn\":\"_acme-challenge.$host.\",\"value\":\"$value\"}" \
		"${DDNS_URL%/}${DDNS_ACME_PATH:-/acme}/$op"
