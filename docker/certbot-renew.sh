#!/bin/sh
# Obtain the certificate for APP_DOMAIN_NAME from Let's Encrypt, then try to renew it twice a day.
# certbot answers the HTTP-01 challenge itself on :8080 in Envoy's network namespace (Envoy's container
# publishes port 80 to it); every new certificate is published to Envoy's watched directory by
# envoy/install-certs.sh, which Envoy reloads without a restart.
set -eu
: "${APP_DOMAIN_NAME:?set APP_DOMAIN_NAME to the public DNS name}"
: "${LETSENCRYPT_EMAIL:?set LETSENCRYPT_EMAIL, the address for certificate expiry warnings}"
server=${LETSENCRYPT_SERVER:-https://acme-v02.api.letsencrypt.org/directory}
tls=${DRIFT_MONITOR_TLS_DIR:-/etc/envoy/tls}
live=/letsencrypt/live/$APP_DOMAIN_NAME
# certbot runs its deploy hook through a shell.
hook="sh /app/envoy/install-certs.sh '$live' '$tls'"

certbot_() {
  certbot "$@" --config-dir /letsencrypt --work-dir /tmp/certbot --logs-dir /tmp/certbot/logs --non-interactive
}

until certbot_ certonly --standalone --http-01-port 8080 --preferred-challenges http \
    --agree-tos -m "$LETSENCRYPT_EMAIL" --server "$server" -d "$APP_DOMAIN_NAME" --keep-until-expiring \
    --deploy-hook "$hook"; do
  echo "certbot: no certificate yet; trying again in 10 minutes" >&2
  sleep 600
done
# A certificate kept from an earlier run is not "deployed" again: publish it if Envoy has another one.
cmp -s "$live/fullchain.pem" "$tls/current/fullchain.pem" || sh /app/envoy/install-certs.sh "$live" "$tls"

while :; do
  sleep 43200 &
  wait $! || true
  certbot_ renew --deploy-hook "$hook" || echo "certbot: renewal failed; next try in 12 hours" >&2
done
