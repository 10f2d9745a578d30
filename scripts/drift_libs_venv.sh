#!/usr/bin/env bash
# Make .run/drift-libs-venv from requirements-drift-libs.txt when it is missing or the file changed (a stamp
# holds the file's hash). Tests of the drift-library adapters and their docs examples run in it.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.run/drift-libs-venv
REQ=requirements-drift-libs.txt
want=$(sha256sum "$REQ" | cut -d' ' -f1)
[ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$want" ] && exit 0
rm -rf "$VENV"
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$REQ"
echo "$want" > "$VENV/.stamp"
