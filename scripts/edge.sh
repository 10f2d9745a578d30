#!/usr/bin/env bash
# The edge for local runs: the sandbox OpenID issuer, the web page's static server and Envoy (TLS on :8443)
# in front of the server.
#
#   scripts/edge.sh start    render envoy/ (dev profile), make dev certificates, start issuer + web + Envoy, wait
#   scripts/edge.sh stop
#   scripts/edge.sh status
#
# The server is not started here (scripts/stack.sh does that); Envoy health-checks it and answers
# UNAVAILABLE until it serves. Pids and logs: .run/{issuer,envoy}.{pid,log}. Settings from the environment:
# DRIFT_MONITOR_EDGE_PORT (8443), DRIFT_MONITOR_EDGE_ADMIN_PORT (9901), DRIFT_MONITOR_BACKEND (127.0.0.1:50051),
# DRIFT_MONITOR_PROXY_SECRET (sandbox/secrets/proxy_secret), DRIFT_MONITOR_WEB_PORT (8960; the page's
# static server, web/serve.py; DRIFT_MONITOR_WEB_PORT=0 for no page), and envoy/render.py's other variables.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=${PY:-.venv/bin/python}
ENVOY_BIN=${ENVOY_BIN:-.venv/bin/envoy}
RUN=${RUN:-.run}
ISSUER=${DRIFT_MONITOR_SANDBOX_ISSUER:-$($PY -c 'from sandbox import personas; print(personas.ISSUER)')}
LISTEN_PORT=${DRIFT_MONITOR_EDGE_PORT:-8443}
ADMIN_PORT=${DRIFT_MONITOR_EDGE_ADMIN_PORT:-9901}
WEB_PORT=${DRIFT_MONITOR_WEB_PORT:-8960}
export DRIFT_MONITOR_BACKEND=${DRIFT_MONITOR_BACKEND:-${DRIFT_MONITOR_LISTEN:-127.0.0.1:50051}}
if [ -n "${DRIFT_MONITOR_SANDBOX_ISSUER:-}" ] && [ -z "${DRIFT_MONITOR_ISSUERS:-}" ]; then
  # The sandbox issuer somewhere else than personas.json says: trust it there instead.
  export DRIFT_MONITOR_ISSUERS="[{\"name\": \"sandbox\", \"url\": \"$ISSUER\", \"jwks_uri\": \"$ISSUER/jwks\", \"audiences\": [\"drift-monitoring\"], \"cache_duration\": \"60s\"}]"
fi

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

launch() {  # launch NAME COMMAND...: in the background, detached from this shell, once
  local name=$1; shift
  running "$name" && return 0
  rm -f "$RUN/$name.pid"
  # Own session: the process outlives the shell that started it (and its Ctrl-C).
  ( setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" "$@" >>"$RUN/$name.log" 2>&1 </dev/null & )
  for _ in $(seq 1 50); do [ -s "$RUN/$name.pid" ] && return 0; sleep 0.1; done
  echo "edge: $name did not start" >&2; return 1
}

halt() {
  if running "$1"; then
    kill "$(cat "$RUN/$1.pid")"
    for _ in $(seq 1 100); do running "$1" || break; sleep 0.1; done
    running "$1" && kill -9 "$(cat "$RUN/$1.pid")" 2>/dev/null || true
  fi
  rm -f "$RUN/$1.pid"
}

wait_for() {  # wait_for NAME SECONDS COMMAND...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    running "$name" || break
    sleep 0.2
  done
  echo "edge: $name is not ready; last lines of $RUN/$name.log:" >&2
  tail -n 20 "$RUN/$name.log" >&2 || true
  return 1
}

start() {
  mkdir -p "$RUN"
  CA=$($PY scripts/certs.py "$RUN/certs")
  launch issuer $PY -m sandbox.issuer --state "$RUN/issuer" --issuer "$ISSUER" serve
  wait_for issuer 15 curl -fsS "$ISSUER/.well-known/openid-configuration"
  local web=()
  if [ "$WEB_PORT" != 0 ]; then
    if [ ! -f web/dist/index.html ]; then  # `make run` builds it; a bare script run builds it here
      (cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build) >"$RUN/web-build.log" 2>&1 \
        || { echo "edge: building web/dist failed; see $RUN/web-build.log" >&2; return 1; }
    fi
    launch web $PY web/serve.py --listen "127.0.0.1:$WEB_PORT" --issuer "$ISSUER"
    wait_for web 15 curl -fsS "http://127.0.0.1:$WEB_PORT/config.json"
    web=(--web "127.0.0.1:$WEB_PORT")
  fi
  $PY envoy/render.py --profile dev --out "$RUN/envoy" --cert-dir "$RUN/certs" \
    --listen-port "$LISTEN_PORT" --admin-port "$ADMIN_PORT" "${web[@]}" >/dev/null
  if ! "$ENVOY_BIN" --mode validate -c "$RUN/envoy/envoy.yaml" >"$RUN/envoy/validate.log" 2>&1; then
    echo "edge: the rendered $RUN/envoy/envoy.yaml does not validate:" >&2
    tail -n 20 "$RUN/envoy/validate.log" >&2
    return 1
  fi
  launch envoy "$ENVOY_BIN" -c "$RUN/envoy/envoy.yaml" --use-dynamic-base-id --log-level warn
  # LIVE once listeners are up (the JWKS is fetched before that); TLS must then answer with our CA.
  wait_for envoy 30 sh -c "curl -fsS http://127.0.0.1:$ADMIN_PORT/ready | grep -q LIVE && curl -sS -o /dev/null --cacert '$CA' https://localhost:$LISTEN_PORT/"
  echo "edge: https://localhost:$LISTEN_PORT (CA $CA), issuer $ISSUER, admin http://127.0.0.1:$ADMIN_PORT"
}

stop() {
  halt envoy
  halt web
  halt issuer
}

status() {
  for name in issuer web envoy; do
    if running "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
