#!/usr/bin/env bash
# The PostgreSQL cluster FerretDB stores its data in: install | start | stop | status | url.
# Debian's postgresql package (apt-get, as root or through sudo); one private cluster per state directory,
# on 127.0.0.1 and a free port of its own, UTF8 and C locale, so concurrent test sessions never meet.
#
# PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` OS user the package
# creates. That user must be able to reach the data: when it cannot (pytest's /tmp/pytest-of-root is 0700,
# a checkout under /root), the cluster lives in $FALLBACK/<hash of the state path> instead, which records
# the state path and is removed once that path is gone.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${PG_STATE:-${FERRETDB_STATE:-$ROOT/.run/ferretdb}/postgres}
FALLBACK=${PG_FALLBACK:-/var/tmp/drift-monitoring-postgres}
OS_USER=postgres
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/drift-monitoring
USER_NAME=ferretdb  # the superuser FerretDB connects as (trust, on 127.0.0.1 only), to the `postgres` database

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

install() {
  [ -n "$(bindir)" ] && [ -x "$(bindir)/initdb" ] && return 0
  echo "Installing PostgreSQL (Debian's postgresql package)..."
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq postgresql >/dev/null
  [ -x "$(bindir)/initdb" ] || { echo "postgres.sh: postgresql installed but initdb not found" >&2; exit 1; }
}

as_owner() {  # run a PostgreSQL tool as the cluster's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$OS_USER" -- "$@"; else "$@"; fi
}

# Where the cluster lives for this state path: the path itself when its owner can reach it, else the fallback.
data_dir() {
  if [ "$(id -u)" -ne 0 ] || runuser -u "$OS_USER" -- test -x "$(dirname "$STATE")" 2>/dev/null; then
    echo "$STATE"
  else
    echo "$FALLBACK/$(printf %s "$STATE" | cksum | cut -d' ' -f1)"
  fi
}

collect_orphans() {  # fallback clusters whose state path is gone and that no longer run
  [ -d "$FALLBACK" ] || return 0
  local dir
  for dir in "$FALLBACK"/*/; do
    [ -f "$dir/state-path" ] || continue
    [ -e "$(cat "$dir/state-path")" ] && continue
    "$(bindir)/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && continue
    rm -rf "$dir"
  done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PG=""  # set by locate; `locate create` makes the directories
locate() {
  PG=$(data_dir)
  [ "${1:-}" = create ] || return 0
  install
  mkdir -p "$(dirname "$STATE")"
  if [ "$PG" != "$STATE" ]; then
    collect_orphans
    mkdir -p "$FALLBACK" && chmod 0711 "$FALLBACK"
    mkdir -p "$PG" && printf %s "$(dirname "$STATE")" >"$PG/state-path"
  fi
  mkdir -p "$PG"
  [ "$(id -u)" -ne 0 ] || chown "$OS_USER": "$PG"
}

running() { [ -n "$(bindir)" ] && [ -f "$PG/data/postmaster.pid" ] && as_owner "$(bindir)/pg_ctl" -D "$PG/data" status >/dev/null 2>&1; }

init() {
  [ -f "$PG/data/PG_VERSION" ] && return 0
  # A half-made cluster (interrupted initdb) is made again. initdb runs once per machine: later clusters
  # are copies of that pristine one (a second instead of ten on a busy machine).
  rm -rf "$PG/data"
  local template; template=$CACHE/postgres-template-$(basename "$(dirname "$(bindir)")")
  if [ -f "$template/PG_VERSION" ]; then
    cp -a "$template" "$PG/data"
    [ "$(id -u)" -ne 0 ] || chown -R "$OS_USER": "$PG/data"
  else
    as_owner "$(bindir)/initdb" -D "$PG/data" -U "$USER_NAME" --auth=trust --encoding=UTF8 --locale=C --no-sync \
      --no-instructions >"$PG/initdb.log" 2>&1 || { echo "postgres.sh: initdb failed:" >&2; tail -n 20 "$PG/initdb.log" >&2; exit 1; }
    mkdir -p "$CACHE" && cp -a "$PG/data" "$template.$$" && { mv -T "$template.$$" "$template" 2>/dev/null || rm -rf "$template.$$"; }
  fi
  # force_custom_plan: FerretDB sends the key as a parameter (`_jsonb->$1 @> $2`); only a plan made for the
  # actual values can match the expression indexes server/ferretdb_indexes.py creates.
  # synchronous_commit=off: a crash loses the last few commits, never consistency (local runs and tests).
  cat >>"$PG/data/postgresql.conf" <<CONF

# scripts/postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
plan_cache_mode = force_custom_plan
synchronous_commit = off
shared_buffers = 64MB
max_connections = 200
logging_collector = off
${PG_FSYNC:+fsync = $PG_FSYNC}
CONF
}

start() {
  locate create
  if running; then return 0; fi
  init
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=${PG_PORT:-$(free_port)}
    # setsid: Ctrl-C in the terminal that ran `make run` must not stop the database under a running server.
    if as_owner setsid "$(bindir)/pg_ctl" -D "$PG/data" -l "$PG/postgres.log" -o "-p $port" -w -t 60 start >/dev/null; then
      echo "$port" >"$PG/port"
      break
    fi
    running && break
    [ "$attempt" -lt 5 ] && [ -z "${PG_PORT:-}" ] || { echo "postgres.sh: PostgreSQL did not start:" >&2; tail -n 20 "$PG/postgres.log" >&2; exit 1; }
  done
}

stop() {
  locate
  running || return 0
  as_owner "$(bindir)/pg_ctl" -D "$PG/data" -m fast -w stop >/dev/null
}

url() { locate; running || { echo "postgres.sh: not running" >&2; exit 1; }; echo "postgres://$USER_NAME@127.0.0.1:$(cat "$PG/port")/postgres"; }

status() { locate; if running; then echo "running on 127.0.0.1:$(cat "$PG/port"), data in $PG/data"; else echo "stopped"; exit 1; fi; }

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url ;;
  *) echo "usage: $0 install|start|stop|status|url" >&2; exit 2 ;;
esac
