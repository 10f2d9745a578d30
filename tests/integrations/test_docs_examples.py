"""Every Python example in docs/detect.md runs as written against the test stack (the built-in detector in
.venv, the libraries' in their venv), and the run it recorded is read back. Only the experiment name is
swapped for the test's own, and the client is pointed at the test stack through its environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from drift_monitoring.v1 import drift_pb2
from stack import ROOT

BLOCK = re.compile(r"^```python\n# example: ([\w-]+)\n(.*?)^```", re.S | re.M)
EXAMPLES = dict(BLOCK.findall((ROOT / "docs" / "detect.md").read_text()))
# What each example's data must show: the features recorded, and which of them drifted.
EXPECTED = {
    "builtin": ({"age", "plan"}, {"age"}),
    "evidently": ({"age", "plan"}, {"age"}),
    "alibi-detect": ({"age", "income", "tenure"}, {"age"}),
    "nannyml": ({"age", "plan"}, {"age"}),
    "frouros": ({"age"}, {"age"}),
}


def test_every_library_has_its_example():
    assert set(EXAMPLES) == set(EXPECTED)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_docs_example_records_its_run(name, request, client, experiment, settings):
    code = EXAMPLES[name]
    assert '"credit-scoring"' in code, "the example no longer records to credit-scoring; update this test"
    code = code.replace('"credit-scoring"', repr(experiment.name))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DRIFT_MONITOR_URL": settings["url"], "DRIFT_MONITOR_CA_BUNDLE": settings["ca_bundle"],
           "DRIFT_MONITOR_TOKEN": settings["token"], "DRIFT_MONITOR_STATE_DIR": str(settings["state_dir"])}
    python = sys.executable if name == "builtin" else str(request.getfixturevalue("libs_python"))
    result = subprocess.run([python, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stderr[-4000:]
    runs = list(client.list_drifts(experiment.id))
    assert runs and all(run.status == drift_pb2.DRIFT_STATUS_COMPLETED for run in runs)
    features, drifted = EXPECTED[name]
    for run in runs:
        assert {f.feature for f in run.data_drift.features} == features
        assert {f.feature for f in run.data_drift.features if f.detected} == drifted and run.data_drift.detected
        assert all(f.test for f in run.data_drift.features)
    if name == "nannyml":
        assert len(runs) == 3 and sorted(run.tags[0] for run in runs) == sorted(run.data_drift.parameters["chunk"] for run in runs)
    if name == "builtin":
        assert runs[0].concept_drift.detected and runs[0].concept_drift.features[0].feature == "error"
