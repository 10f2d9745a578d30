#!/bin/sh
# Publish a certificate and key to Envoy's watched TLS directory so it reloads them without a restart.
#
#   envoy/install-certs.sh SOURCE_DIR [TLS_DIR]        (TLS_DIR defaults to $DRIFT_MONITOR_TLS_DIR or /etc/envoy/tls)
#   certbot renew --deploy-hook 'envoy/install-certs.sh "$RENEWED_LINEAGE"'
#
# SOURCE_DIR holds fullchain.pem and privkey.pem (a certbot live/<domain> directory). Why not let Envoy
# watch live/<domain> itself: certbot replaces those symlinks with unlink + symlink, and Envoy reloads on
# moves only. Here the pair is copied into a fresh TLS_DIR/releases/<stamp>/ and TLS_DIR/current is
# swapped to it with one rename, so Envoy always reads a matching certificate and key.
set -eu

SOURCE=${1:?usage: install-certs.sh SOURCE_DIR [TLS_DIR]}
TARGET=${2:-${DRIFT_MONITOR_TLS_DIR:-/etc/envoy/tls}}

for file in fullchain.pem privkey.pem; do
  [ -s "$SOURCE/$file" ] || { echo "install-certs: $SOURCE/$file is missing or empty" >&2; exit 1; }
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)-$$
release="releases/$stamp"
mkdir -p "$TARGET/$release"
umask 077
cp -L "$SOURCE/fullchain.pem" "$TARGET/$release/fullchain.pem"
cp -L "$SOURCE/privkey.pem" "$TARGET/$release/privkey.pem"
# Envoy runs as its own user in the image: the key must be readable by it, by no one else.
if [ -n "${ENVOY_UID:-}" ]; then chown -R "$ENVOY_UID" "$TARGET/$release"; fi
chmod 0755 "$TARGET/releases" "$TARGET/$release"
chmod 0644 "$TARGET/$release/fullchain.pem"

ln -s "$release" "$TARGET/.current.$$"
mv -T "$TARGET/.current.$$" "$TARGET/current"   # rename(2): atomic, and the move Envoy watches for

# Keep the live release and the one before it (connections may still be handshaking with it).
ls -1 "$TARGET/releases" | sort | head -n -2 | while read -r old; do rm -rf "$TARGET/releases/$old"; done
echo "install-certs: $TARGET/current -> $release"
