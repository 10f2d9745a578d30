#!/usr/bin/env bash
# The local stack with sandbox data: up | down | run (foreground, Ctrl-C stops everything).
# FerretDB -> alert receivers -> server -> sandbox issuer -> web page -> Envoy (TLS on :8443). State, pids and logs live under .run/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=.venv/bin/python
RUN=.run
ISSUER=$($PY -c 'from sandbox import personas; print(personas.ISSUER)')
export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:27017/drift_monitoring}
export DRIFT_MONITOR_LISTEN=${DRIFT_MONITOR_LISTEN:-127.0.0.1:50051}
export DRIFT_MONITOR_PROXY_SECRET=${DRIFT_MONITOR_PROXY_SECRET:-$(cat sandbox/secrets/proxy_secret)}
export DRIFT_MONITOR_ADMIN_ENTITLEMENTS=${DRIFT_MONITOR_ADMIN_ENTITLEMENTS:-urn:drift-monitoring:group:admins}
export DRIFT_MONITOR_TRUSTED_ISSUERS=${DRIFT_MONITOR_TRUSTED_ISSUERS:-$ISSUER}
# The local alert receivers (sandbox/receivers.py): a webhook receiver and a mail catcher, every notification
# a JSON line in $NOTIFICATIONS. The server may reach them (loopback, plain http) and mails through the catcher,
# which offers STARTTLS with the dev certificate (the server sends mail only over STARTTLS).
WEBHOOK_PORT=${DRIFT_MONITOR_SANDBOX_WEBHOOK_PORT:-8970}
SMTP_PORT=${DRIFT_MONITOR_SANDBOX_SMTP_PORT:-8025}
NOTIFICATIONS=$RUN/notifications.jsonl
SANDBOX_MAIL=sandbox@example.org
export DRIFT_MONITOR_ALERT_ALLOW_HTTP=${DRIFT_MONITOR_ALERT_ALLOW_HTTP:-1}
export DRIFT_MONITOR_ALERT_ALLOW_NETWORKS=${DRIFT_MONITOR_ALERT_ALLOW_NETWORKS:-127.0.0.0/8}
export DRIFT_MONITOR_ALERT_CA_BUNDLE=${DRIFT_MONITOR_ALERT_CA_BUNDLE:-$RUN/certs/alert-ca.pem}
export DRIFT_MONITOR_SMTP_HOST=${DRIFT_MONITOR_SMTP_HOST:-127.0.0.1}
export DRIFT_MONITOR_SMTP_PORT=${DRIFT_MONITOR_SMTP_PORT:-$SMTP_PORT}
export DRIFT_MONITOR_SMTP_FROM=${DRIFT_MONITOR_SMTP_FROM:-drift-monitor@localhost}

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: in the background, once
  local name=$1; shift
  running "$name" && return 0
  # Detached twice (subshell + own session) so the stack outlives the shell that started it:
  # Envoy is terminated with its parent otherwise.
  rm -f "$RUN/$name.pid"
  ( setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" >>"$RUN/$name.log" 2>&1 </dev/null & )
  for _ in $(seq 1 50); do [ -s "$RUN/$name.pid" ] && return 0; sleep 0.1; done
}

stop() {
  if running "$1"; then
    kill "$(cat "$RUN/$1.pid")"
    for _ in $(seq 1 150); do running "$1" || break; sleep 0.1; done
  fi
  rm -f "$RUN/$1.pid"
}

wait_for() {  # wait_for NAME COMMAND...: until COMMAND succeeds, or show the log and give up
  local name=$1; shift
  for _ in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "$name did not come up; last log lines:" >&2
  tail -n 20 "$RUN/$name.log" >&2
  down
  exit 1
}

up() {
  mkdir -p $RUN
  scripts/ferretdb.sh start
  # The server makes the GIN indexes FerretDB needs directly in its PostgreSQL (server/ferretdb_indexes.py).
  DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL=${DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL:-$(scripts/postgres.sh url 2>/dev/null || true)}
  export DRIFT_MONITOR_FERRETDB_POSTGRESQL_URL
  $PY scripts/certs.py >/dev/null
  # Alert targets are verified against the dev CA (the mail catcher's STARTTLS) and the system CAs (real receivers).
  { cat $RUN/certs/ca.pem; cat "$($PY -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "/dev/null")')" 2>/dev/null || true; } >$RUN/certs/alert-ca.pem
  start receivers $PY -m sandbox.receivers --webhook-port "$WEBHOOK_PORT" --smtp-port "$SMTP_PORT" --log "$NOTIFICATIONS" \
    --tls-cert $RUN/certs/server.pem --tls-key $RUN/certs/server-key.pem
  wait_for receivers curl -fsS "http://127.0.0.1:$WEBHOOK_PORT/"
  start server $PY -m server
  wait_for server $PY scripts/wait_healthy.py "$DRIFT_MONITOR_LISTEN"
  scripts/edge.sh start || { down; exit 1; }  # sandbox issuer + Envoy (dev certificates, rendered config)
  wait_for envoy curl -fsS --cacert $RUN/certs/ca.pem https://localhost:8443/v1/experiments  # backend healthy behind it
  $PY -m sandbox.seed --target "$DRIFT_MONITOR_LISTEN"
  # The sandbox rules (sandbox/alerts.py): the example job's drifted runs notify the local receivers.
  DRIFT_MONITOR_URL=localhost:8443 DRIFT_MONITOR_CA_BUNDLE=$RUN/certs/ca.pem DRIFT_MONITOR_TOKEN=$($PY -m sandbox.issuer token manager) \
    $PY -m sandbox.alerts --webhook-url "http://127.0.0.1:$WEBHOOK_PORT/sandbox" --email "$SANDBOX_MAIL" >>"$RUN/receivers.log"
  cat <<MSG

Drift Monitoring is up.
  the web page                https://localhost:8443/            (trust $RUN/certs/ca.pem, or accept the warning)
  API (gRPC, gRPC-web, REST)  https://localhost:8443        CA certificate: $RUN/certs/ca.pem
  sandbox issuer              $ISSUER
  a token for a persona       $PY -m sandbox.issuer token reader   (admin, manager, editor, reader, outsider)
  try                         curl --cacert $RUN/certs/ca.pem -H "authorization: Bearer \$($PY -m sandbox.issuer token manager)" https://localhost:8443/v1/experiments
  alert receivers             webhooks http://127.0.0.1:$WEBHOOK_PORT/, mail catcher smtp://127.0.0.1:$SMTP_PORT ($SANDBOX_MAIL)
  notifications               $NOTIFICATIONS (one JSON line each; summaries in $RUN/receivers.log), from the sandbox
                              rules on live-credit-example: drift detected -> webhook and mail (signing secret: first lines of $RUN/receivers.log)
  logs                        $RUN/{server,receivers,issuer,web,envoy}.log, $RUN/ferretdb/ferretdb.log
MSG
}

down() {
  scripts/edge.sh stop
  stop server
  stop receivers
  scripts/ferretdb.sh stop
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  run)
    # A script's background children ignore SIGINT, so the EXIT trap also ends the log tail.
    trap 'echo; [ -z "${TAIL:-}" ] || kill "$TAIL" 2>/dev/null || true; [ -z "${EXAMPLE:-}" ] || kill "$EXAMPLE" 2>/dev/null || true; down' EXIT
    trap 'exit 0' INT TERM
    up
    # Live data for the dashboards: the example drift job records a run every few seconds (examples/live_drift.py).
    # PYTHONPATH: the project is not installed in .venv, and a script's own directory is what Python puts on its path.
    PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} DRIFT_MONITOR_URL=localhost:8443 DRIFT_MONITOR_CA_BUNDLE=$RUN/certs/ca.pem \
      DRIFT_MONITOR_TOKEN=$($PY -m sandbox.issuer token manager) $PY examples/live_drift.py >"$RUN/example.log" 2>&1 & EXAMPLE=$!
    echo "The example job records a run of live-credit-example every 5 s (log: $RUN/example.log); its drifted runs notify the receivers ($NOTIFICATIONS)."
    echo "Ctrl-C stops everything."
    # --pid: also return when the server dies by itself, rather than tailing a dead stack.
    tail -n 0 -f --pid="$(cat $RUN/server.pid)" $RUN/server.log $RUN/envoy.log $RUN/receivers.log & TAIL=$!
    wait $TAIL
    ;;
  *) echo "usage: $0 up|down|run" >&2; exit 2 ;;
esac
