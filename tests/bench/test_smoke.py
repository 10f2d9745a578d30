"""The benchmarks at tiny sizes, so they do not rot: `python -m bench.run_all --quick` end to end (its
own stack, MLflow from the benchmark venv), then the numbers it saved must be complete and sane."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from bench.mlflow_peer import available
from bench.run_all import QUICK
from stack import ROOT

RESULTS = ROOT / "bench" / "results"


@pytest.fixture(scope="module")
def quick_run() -> float:
    if not available():  # a failure under CI (tests/no_skip_in_ci.py)
        pytest.skip("no benchmark venv here: `make bench-venv` (make test builds it)")
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "bench.run_all", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return started


def result(name: str, since: float) -> dict:
    path = RESULTS / f"{name}.quick.json"
    assert path.stat().st_mtime >= since, f"{path.name} was not written by this run"
    return json.loads(path.read_text())


@pytest.mark.timeout(1800)
def test_every_benchmark_runs_and_saves_sane_numbers(quick_run):
    ingest = result("ingest", quick_run)
    for clients in QUICK["concurrency"]:
        level = ingest["levels"][str(clients)]
        for peer in ("drift_monitoring", "mlflow"):
            assert level[peer]["failed"] == 0 and level[peer]["jobs"] > 0 and level[peer]["jobs_per_s"] > 0
        rates = [level[peer]["jobs"] / level[peer]["seconds"] for peer in ("drift_monitoring", "mlflow")]
        assert level["ratio_jobs_per_s"] == pytest.approx(rates[0] / rates[1], rel=0.01)
    overhead = result("client_overhead", quick_run)
    assert overhead["server_up"]["n"] == overhead["server_down"]["n"] == QUICK["overhead_jobs"]
    assert overhead["server_down"]["p50_ms"] < 100  # the spool path never waits out the 1 s timeout
    watch = result("watch_fanout", quick_run)
    assert watch["runs"] > 0 and watch["watchers_with_every_event"] == watch["watchers"] == QUICK["watchers"]
    assert 0 < watch["delivery"]["p50_ms"] <= watch["delivery"]["max_ms"]
    bulk = result("bulk", quick_run)
    assert bulk["batch_per_s"] > bulk["single_per_s"] > 0
    query = result("query_scale", quick_run)
    assert [step["drifts"] for step in query["steps"]] == QUICK["sizes"]
    assert all(step["first_page"]["n"] == QUICK["repeats"] for step in query["steps"])
    summary = (RESULTS / "SUMMARY.quick.md").read_text()
    assert "### Ingest" in summary and "MLflow" in summary and (RESULTS / "ingest.quick.png").stat().st_size > 1000
