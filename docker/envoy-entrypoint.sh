#!/bin/sh
# Envoy in compose: render envoy/envoy.yaml.in from the environment (render.py refuses what is wrong, e.g.
# APP_DOMAIN_NAME=localhost in prod), make sure a certificate is in place, then run Envoy.
set -eu
profile=${DRIFT_MONITOR_EDGE_PROFILE:-prod}
tls=${DRIFT_MONITOR_TLS_DIR:-/etc/envoy/tls}
out=${DRIFT_MONITOR_EDGE_CONFIG_DIR:-/run/envoy}
export DRIFT_MONITOR_TLS_DIR="$tls"

set -- python envoy/render.py --profile "$profile" --out "$out"
[ -z "${DRIFT_MONITOR_WEB:-}" ] || set -- "$@" --web "$DRIFT_MONITOR_WEB"
"$@" >/dev/null  # exits 2 with "render: <why>" on stderr

if [ "$profile" = prod ]; then
  # Until certbot has the Let's Encrypt certificate: a throwaway one, so Envoy starts (and certbot's
  # challenge can be answered in its network namespace). certbot's deploy hook swaps it without a restart.
  if [ ! -s "$tls/current/fullchain.pem" ]; then
    tmp=$(mktemp -d)
    python scripts/certs.py "$tmp" >/dev/null
    cp "$tmp/server.pem" "$tmp/fullchain.pem" && cp "$tmp/server-key.pem" "$tmp/privkey.pem"
    sh envoy/install-certs.sh "$tmp" "$tls"
    rm -rf "$tmp"
  fi
else
  # dev and test: the dev CA and a localhost certificate (scripts/certs.py), kept in the volume;
  # the CA for clients: docker compose cp envoy:$tls/ca.pem .
  python scripts/certs.py "$tls" >/dev/null
fi
# A dynamic base id: several Envoys on one host (tests, or a restart overlapping the old one) never share memory.
exec envoy -c "$out/envoy.yaml" --use-dynamic-base-id --log-level "${ENVOY_LOG_LEVEL:-info}"
