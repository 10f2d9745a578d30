#!/usr/bin/env bash
# The local stack with sandbox data: up | down | run (foreground, Ctrl-C stops everything).
# State, pids and logs live under .run/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=.venv/bin/python
RUN=.run
export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:27017/drift_monitoring}
export DRIFT_MONITOR_LISTEN=${DRIFT_MONITOR_LISTEN:-127.0.0.1:50051}
export DRIFT_MONITOR_PROXY_SECRET=${DRIFT_MONITOR_PROXY_SECRET:-$(cat sandbox/secrets/proxy_secret)}
export DRIFT_MONITOR_ADMIN_ENTITLEMENTS=${DRIFT_MONITOR_ADMIN_ENTITLEMENTS:-urn:drift-monitoring:group:admins}

server_running() { [ -f $RUN/server.pid ] && kill -0 "$(cat $RUN/server.pid)" 2>/dev/null; }

up() {
  mkdir -p $RUN
  scripts/ferretdb.sh start
  if ! server_running; then
    $PY -m server >>$RUN/server.log 2>&1 &
    echo $! > $RUN/server.pid
  fi
  $PY scripts/wait_healthy.py "$DRIFT_MONITOR_LISTEN" || { tail -n 20 $RUN/server.log >&2; down; exit 1; }
  $PY -m sandbox.seed --target "$DRIFT_MONITOR_LISTEN"
  cat <<MSG

Drift Monitoring is up.
  gRPC server   $DRIFT_MONITOR_LISTEN   (logs: $RUN/server.log)
  FerretDB      ${MONGODB_URI}
  Sandbox data: 4 experiments, personas admin/manager/editor/reader/outsider (sandbox/personas.json)
MSG
}

down() {
  if server_running; then
    kill "$(cat $RUN/server.pid)"
    for _ in $(seq 1 150); do server_running || break; sleep 0.1; done
  fi
  rm -f $RUN/server.pid
  scripts/ferretdb.sh stop
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  run)
    trap 'echo; down' EXIT
    trap 'exit 0' INT TERM
    up
    echo "Ctrl-C stops everything."
    tail -n 0 -f $RUN/server.log & wait $!
    ;;
  *) echo "usage: $0 up|down|run" >&2; exit 2 ;;
esac
