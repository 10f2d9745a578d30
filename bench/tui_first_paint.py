"""Time to first paint of the dashboard's experiment screen for an experiment with many runs.

    .venv/bin/python bench/tui_first_paint.py [--runs 100000] [--repeat 5]

Starts a private stack (FerretDB, issuer, server, Envoy with TLS), records the runs with
BatchCreateDrifts of 1000, then opens the experiment in the real app (headless, 160x48) several times:
first paint = from the screen's creation to the first refresh after the first page is in the table.
Also times loading the next page (End). Writes bench/results/tui_first_paint_<runs>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
import uuid

from tui_stack import ROOT, run, stack

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2
from tui.app import DriftDashboard
from tui.screens.experiment import ExperimentScreen


async def open_once(settings, name: str, limit: float = 180) -> dict[str, float | None]:
    app = DriftDashboard(settings, experiment=name)
    started = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        while not (isinstance(app.screen, ExperimentScreen) and app.screen.first_paint is not None):
            if time.perf_counter() - started > limit:
                raise SystemExit(f"no first paint in {limit} s; notifications: {[n.message for n in app._notifications]}")
            await pilot.pause(0.01)
        screen: ExperimentScreen = app.screen
        result = {"first_paint_s": screen.first_paint, "from_launch_s": time.perf_counter() - started}
        rows = screen.query_one("DriftTable").row_count
        paged = time.perf_counter()
        await pilot.press("end")
        while screen.query_one("DriftTable").row_count <= rows:
            if time.perf_counter() - paged > limit:
                result["next_page_s"] = None  # the listing failed or took longer (its error notification expires)
                break
            await pilot.pause(0.01)
        else:
            result["next_page_s"] = time.perf_counter() - paged
        result["rows_after_page"] = screen.query_one("DriftTable").row_count
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with stack() as s, Client(s.settings) as client:
        experiment = client.new_experiment(f"bench-{uuid.uuid4().hex[:6]}")
        auth = (("authorization", f"Bearer {s.settings.token}"),)
        inserted = time.perf_counter()
        for start in range(0, args.runs, 1000):
            requests = [drift_pb2.CreateDriftRequest(drift=run("bench-model", i), request_id=uuid.uuid4().hex) for i in range(start, min(args.runs, start + 1000))]
            # The stub itself, not client.call: that gives each attempt 5 s, and a big batch may need more.
            client.drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests), metadata=auth, timeout=300)
            print(f"\rrecorded {start + len(requests)} runs", end="", flush=True)
        insert_seconds = time.perf_counter() - inserted
        print()
        # The server's share: one first page straight from the client, no dashboard involved.
        server = []
        for _ in range(3):
            began = time.perf_counter()
            client.drifts.ListDrifts(drift_pb2.ListDriftsRequest(experiment_id=experiment.id, page_size=100), metadata=auth, timeout=600)
            server.append(time.perf_counter() - began)
        print(f"ListDrifts first page: {statistics.median(server):.2f} s")
        samples = []
        for _ in range(args.repeat):
            samples.append(asyncio.run(open_once(s.settings, experiment.name)))
            print(samples[-1], flush=True)
    result = {
        "benchmark": "tui_first_paint",
        "runs": args.runs,
        "insert_seconds": round(insert_seconds, 1),
        "server_first_page_s_median": round(statistics.median(server), 3),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        **{f"{key}_median": round(statistics.median(s[key] for s in samples), 3) for key in ("first_paint_s", "from_launch_s")},
        "next_page_s": [None if s["next_page_s"] is None else round(s["next_page_s"], 3) for s in samples],
        "first_paint_s_all": [round(s["first_paint_s"], 3) for s in samples],
        "rows_after_page": samples[0]["rows_after_page"],
    }
    out = ROOT / "bench" / "results" / f"tui_first_paint_{args.runs}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
