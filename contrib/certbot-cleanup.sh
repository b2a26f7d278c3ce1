#!/bin/sh
# certbot-cleanup.sh -- certbot --manual-cleanup-hook for ddns: removes the
# value certbot-auth.sh served (same environment variables as that script).
exec "$(dirname "$0")/certbot-auth.sh" cleanup
