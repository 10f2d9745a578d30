"""The shell examples that call the API (curl, go run) in the README and docs/ run as written against the test stack.

Only the addresses are swapped for the test's own: Envoy's port, its CA, and the test issuer's keys for
the token command. Each swap must find its text, so an edited README cannot quietly escape the test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.clients.gotool import download
from tests.docs import doc_pages
from stack import ROOT

BLOCK = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)


def readme_examples() -> str:
    blocks = [b for page in doc_pages() for b in BLOCK.findall(page.read_text()) if re.search(r"\bcurl |\bgo run ", b)]
    assert len(blocks) >= 3, "README and docs/ lost their curl / go run examples"
    return "\n".join(blocks)


def for_the_test_stack(script: str, envoy, ca_pem, issuer) -> str:
    swaps = [
        (".venv/bin/python -m sandbox.issuer token", f"{sys.executable} -m sandbox.issuer --state {issuer.state} --issuer {issuer.url} token"),
        ("https://localhost:8443", envoy.url),
        ("localhost:8443", f"localhost:{envoy.port}"),
        ("$PWD/.run/certs/ca.pem", str(ca_pem)),
        (".run/certs/ca.pem", str(ca_pem)),
    ]
    for old, new in swaps:
        assert old in script, f"README examples no longer contain {old!r}; update this test's swaps"
        script = script.replace(old, new)
    return script


@pytest.mark.timeout(600)  # the Go example's first build compiles grpc
def test_readme_examples_run_against_the_stack(envoy, ca_pem, issuer, db):
    assert shutil.which("jq"), "the README's examples use jq: apt-get install jq (.ci/tools does)"
    script = for_the_test_stack(readme_examples(), envoy, ca_pem, issuer)
    env = {**os.environ, "GOFLAGS": "-mod=readonly"}
    download(env)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    out = result.stdout

    # What the curl session stored, read back from the database.
    experiment = db.experiments.find_one({"name": "curl-demo"})
    assert experiment and experiment["description"] == "recorded with curl"
    (drift,) = db.drifts.find({"experiment": experiment["_id"]})
    assert drift["model"] == "xgb-credit-v3" and drift["tags"] == ["weekly"] and drift["status"] == "COMPLETED"
    assert drift["concept_drift"]["detected"] is True
    assert drift["concept_drift"]["parameters"] == {"p_value": 0.003, "window": 1000}
    assert drift["end_time"] and len(drift["request_id"]) == 36

    # What the reader of the README sees: the filtered list names the run, the watch stream opened.
    assert json.dumps({"id": str(drift["_id"]), "model": "xgb-credit-v3", "status": "DRIFT_STATUS_COMPLETED"}, separators=(",", ":")) in out
    assert '[{"type":"DRIFT_EVENT_TYPE_HEARTBEAT"' in out
    assert '{"code":3,"message":"experiment.name: is required"}' in out

    # The Go example recorded its run.
    go_experiment = db.experiments.find_one({"name": "go-example"})
    assert go_experiment, out
    (go_drift,) = db.drifts.find({"experiment": go_experiment["_id"]})
    assert go_drift["status"] == "COMPLETED" and go_drift["data_drift"]["features"][0]["feature"] == "income"
