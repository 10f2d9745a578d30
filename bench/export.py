"""ExportDrifts at growing sizes (issue 18 item 2): wall time, and peak RSS of the server and of the client
(`drift-monitor export`, a process of its own), through Envoy with TLS and a token, per format.

    python -m bench.export --sizes 10000 100000 1000000 [--formats csv jsonl parquet]

One experiment grows from size to size. Its runs are written straight into the database, shaped exactly as
the server stores them (ordinals, buckets, the counter): this measures the export, not ingest (bench/ingest.py).
Writes bench/results/export.json. Memory must stay flat while the size grows tenfold (docs/data.md).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bson import ObjectId

from bench.common import ROOT, bench_stack, process_stats, save

INSERT_BATCH = 5000


def _doc(experiment: ObjectId, creator: str, ordinal: int, rng: random.Random, start: datetime) -> dict[str, Any]:
    moment = start + timedelta(milliseconds=ordinal)
    features = [{"feature": f"f{i}", "test": "ks", "statistic": rng.random(), "p_value": rng.random(), "threshold": 0.05, "detected": False}
                for i in range(5)]
    return {
        "_id": ObjectId(), "experiment": experiment, "request_id": uuid.uuid4().hex, "model": f"model-{ordinal % 5}",
        "status": "COMPLETED" if ordinal % 10 else "FAILED", "tags": ["bench", f"t{ordinal % 3}"],
        "concept_drift": {"detected": rng.random() < 0.3, "parameters": {f"concept_param_{i}": rng.random() for i in range(10)}, "features": []},
        "data_drift": {"detected": rng.random() < 0.3, "parameters": {f"data_param_{i}": rng.random() for i in range(10)}, "features": features},
        "result": None, "error_message": "", "creator": creator, "create_time": moment, "start_time": moment, "end_time": moment,
        "update_time": moment, "ordinal": ordinal, "bucket": ordinal // 100, "status_reason": "",
    }


def load(db: Any, experiment: ObjectId, creator: str, start: int, stop: int) -> float:
    """Runs with ordinals start..stop-1 into the database; returns seconds taken."""
    rng, began, base = random.Random(start), time.monotonic(), datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(start, stop, INSERT_BATCH):
        db.drifts.insert_many([_doc(experiment, creator, i, rng, base) for i in range(first, min(stop, first + INSERT_BATCH))], ordered=False)
    db.counters.update_one({"_id": f"drifts/{experiment}"}, {"$max": {"high": stop - 1}, "$min": {"low": 1}}, upsert=True)
    return time.monotonic() - began


class PeakRss:
    """Samples a process's RSS every 50 ms while running."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, process_stats(self.pid)["rss_mb"])
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def export_once(stack: Any, name: str, kind: str, out: Path) -> dict[str, Any]:
    env = {**os.environ, "DRIFT_MONITOR_URL": stack.target, "DRIFT_MONITOR_CA_BUNDLE": str(stack.ca_pem),
           "DRIFT_MONITOR_TOKEN": stack.token("manager"), "DRIFT_MONITOR_STATE_DIR": str(stack.directory / "bench-state"), "PYTHONPATH": str(ROOT)}
    server_before = process_stats(stack.server.process.pid)["rss_mb"]
    began = time.monotonic()
    with PeakRss(stack.server.process.pid) as server:
        process = subprocess.Popen([sys.executable, "-m", "drift_monitoring", "--json", "export", name, "--format", kind, "-o", str(out)],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        output = process.stdout.read().decode() if process.stdout else ""
    seconds = time.monotonic() - began
    if status != 0:
        raise RuntimeError(f"export failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}")
    size = out.stat().st_size
    out.unlink()
    return {"seconds": round(seconds, 2), "runs_per_s": round(int(__import__("json").loads(output)["runs"]) / seconds),
            "bytes": size, "server_rss_before_mb": server_before, "server_peak_rss_mb": server.peak, "client_peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "jsonl", "parquet"])
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes export.quick.json")
    args = parser.parse_args()
    sizes = [500, 2000] if args.quick else sorted(args.sizes)
    steps = []
    with bench_stack() as stack:
        with stack.client() as client:
            creator = client.register().id
            name = f"export-bench-{uuid.uuid4().hex[:6]}"
            experiment = ObjectId(client.new_experiment(name, "bench/export.py").id)
        db = stack.db()
        loaded = 0
        for size in sizes:
            load_s = load(db, experiment, creator, loaded + 1, size + 1)
            loaded = size
            step: dict[str, Any] = {"runs": size, "load_s": round(load_s, 1), "formats": {}}
            for kind in args.formats:
                step["formats"][kind] = result = export_once(stack, name, kind, stack.directory / f"bench.{kind}")
                print(f"{size:>9} runs {kind:<8} {result['seconds']:>8.1f} s {result['runs_per_s']:>7}/s {result['bytes'] / 1e6:>8.1f} MB "
                      f"server peak {result['server_peak_rss_mb']} MB (before {result['server_rss_before_mb']}), client peak {result['client_peak_rss_mb']} MB", flush=True)
            steps.append(step)
            save("export", {"steps": steps, "note": "runs inserted directly in the server's stored shape; export through Envoy by drift-monitor export"}, quick=args.quick)
    print(f"saved bench/results/export{'.quick' if args.quick else ''}.json")


if __name__ == "__main__":
    main()
