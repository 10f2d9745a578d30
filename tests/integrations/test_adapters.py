"""Each adapter against its real library (check_adapters.py, run in the drift libraries' venv), and what
a wrong object gets: a TypeError naming what monitor.data accepts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from drift_monitoring.integrations import to_verdict
from stack import ROOT

HERE = Path(__file__).parent


@pytest.mark.timeout(600)
@pytest.mark.parametrize("library", ["lazy", "evidently", "alibi", "nannyml", "frouros"])
def test_adapter_against_the_real_library(libs_python, library):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(libs_python), str(HERE / "check_adapters.py"), library], cwd=ROOT, env=env, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0 and f"{library}: ok" in result.stdout, result.stderr[-4000:]


def test_a_wrong_object_names_what_is_accepted():
    with pytest.raises(TypeError, match="cannot record a builtins.list: .*Evidently Snapshot.*alibi-detect predict\\(\\) dict.*NannyML.*Frouros"):
        to_verdict([1, 2])
    with pytest.raises(TypeError, match="cannot record a builtins.dict"):
        to_verdict({"data": {"p_val": 0.1}})  # no is_drift: not a predict() dict


def test_alibi_multivariate_and_feature_names():
    mmd = to_verdict({"data": {"is_drift": 1, "p_val": 0.001, "threshold": 0.05, "distance": 0.3, "distance_threshold": 0.1}, "meta": {"name": "MMDDrift"}})
    assert mmd.detected and mmd.features == [] and mmd.parameters == {"detector": "alibi_detect.MMDDrift", "p_val": 0.001, "threshold": 0.05, "distance": 0.3, "distance_threshold": 0.1}
    batch = to_verdict({"data": {"is_drift": 0, "p_val": [0.5, 0.2], "threshold": 0.025, "distance": [0.01, 0.02]}, "meta": {"name": "KSDrift"}})
    assert [row["feature"] for row in batch.features] == ["x0", "x1"] and not batch.detected
