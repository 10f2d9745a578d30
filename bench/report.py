"""bench/results/*.json -> SUMMARY.md (the README's table) and PNG plots. Runs in the benchmark venv."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def load(name: str, suffix: str) -> dict | None:
    path = RESULTS / f"{name}{suffix}.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    suffix = ".quick" if parser.parse_args().quick else ""
    lines: list[str] = []
    machine = None
    if ingest := load("ingest", suffix):
        machine = ingest["machine"]
        lines += ["### Ingest (jobs: start a run, record concept + data drift, finish)", "",
                  "| clients | drift-monitoring jobs/s | p50 ms | p99 ms | MLflow jobs/s | p50 ms | p99 ms | ratio |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for clients, level in ingest["levels"].items():
            dm, ml = level["drift_monitoring"], level["mlflow"]
            lines.append(f"| {clients} | {dm['jobs_per_s']} | {dm['p50_ms']} | {dm['p99_ms']} | {ml['jobs_per_s']} | {ml['p50_ms']} | {ml['p99_ms']} | {level['ratio_jobs_per_s']}× |")
        lines.append("")
        figure, axis = plt.subplots(figsize=(6, 3.5))
        clients = list(ingest["levels"])
        xs = range(len(clients))
        axis.bar([x - 0.2 for x in xs], [ingest["levels"][c]["drift_monitoring"]["jobs_per_s"] for c in clients], 0.4, label="drift-monitoring")
        axis.bar([x + 0.2 for x in xs], [ingest["levels"][c]["mlflow"]["jobs_per_s"] for c in clients], 0.4, label="MLflow")
        axis.set_xticks(list(xs), [f"{c} clients" for c in clients])
        axis.set_ylabel("jobs/s")
        axis.legend()
        figure.tight_layout()
        figure.savefig(RESULTS / f"ingest{suffix}.png", dpi=100)
    if overhead := load("client_overhead", suffix):
        up, down = overhead["server_up"], overhead["server_down"]
        lines += ["### Client overhead (enter + concept + data + exit)", "", "| server | p50 ms | p99 ms |", "| --- | ---: | ---: |",
                  f"| up (through Envoy) | {up['p50_ms']} | {up['p99_ms']} |", f"| down (spool) | {down['p50_ms']} | {down['p99_ms']} |", ""]
    if bulk := load("bulk", suffix):
        lines += ["### Bulk", "", f"{bulk['drifts']} drifts: single CreateDrift {bulk['single_per_s']}/s, "
                  f"BatchCreateDrifts {bulk['batch_per_s']}/s ({bulk['ratio']}×).", ""]
    if watch := load("watch_fanout", suffix):
        d = watch["delivery"]
        lines += ["### Watch fan-out", "", "| watchers | runs/s | delivery p50 ms | p99 ms | max ms | got every event | server RSS MB | server CPU % |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
                  f"| {watch['watchers']} | {watch['runs_per_s']} | {d['p50_ms']} | {d['p99_ms']} | {d['max_ms']} | "
                  f"{watch['watchers_with_every_event']}/{watch['watchers']} | {watch['server_rss_mb_max']} | {watch['server_cpu_percent']} |", ""]
    if query := load("query_scale", suffix):
        lines += [f"### Query at scale (`{query['filter']}`, {query['order_by']}, {query['page_size']} per page)", "",
                  "| drifts | first page p50 ms | p99 ms | page 10 p50 ms | p99 ms |", "| ---: | ---: | ---: | ---: | ---: |"]
        for step in query["steps"]:
            if "error" in step:
                lines.append(f"| {step['drifts']} | failed: {step['error']} | | | |")
                continue
            lines.append(f"| {step['drifts']} | {step['first_page']['p50_ms']} | {step['first_page']['p99_ms']} | {step['page_10']['p50_ms']} | {step['page_10']['p99_ms']} |")
        lines.append("")
        figure, axis = plt.subplots(figsize=(6, 3.5))
        measured = [s for s in query["steps"] if "error" not in s]
        sizes = [s["drifts"] for s in measured]
        axis.plot(sizes, [s["first_page"]["p50_ms"] for s in measured], marker="o", label="first page p50")
        axis.plot(sizes, [s["page_10"]["p50_ms"] for s in measured], marker="o", label="page 10 p50")
        axis.set_xlabel("drifts in the experiment")
        axis.set_ylabel("ms")
        axis.legend()
        figure.tight_layout()
        figure.savefig(RESULTS / f"query_scale{suffix}.png", dpi=100)
    if machine:
        lines = [f"Machine: {machine['cpus']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, Python {machine['python']}, "
                 f"newest section {machine['date']}; database: FerretDB v1.24.2 (on PostgreSQL from 2026-12-02, on SQLite before: "
                 f"each section's date is in its JSON file); MLflow on SQLite.", "", *lines]
    (RESULTS / f"SUMMARY{suffix}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
