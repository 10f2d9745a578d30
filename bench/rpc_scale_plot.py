"""Plot bench/results/rpc_scale-before.json beside rpc_scale-after.json: p50 per RPC at each size
(run with the bench venv, which has matplotlib: `.run/bench-venv/bin/python -m bench.rpc_scale_plot`)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    runs = {label: json.loads((RESULTS / f"rpc_scale-{label}.json").read_text()) for label in ("before", "after")}
    rpcs = list(runs["after"]["steps"][0]["rpcs"])
    figure, axes = plt.subplots(len(rpcs) // 3 + 1, 3, figsize=(15, 3.2 * (len(rpcs) // 3 + 1)))
    for axis, rpc in zip(axes.flat, rpcs, strict=False):
        for label, run in runs.items():
            steps = [s for s in run["steps"] if rpc in s["rpcs"] and s["rpcs"][rpc]["p50_ms"] is not None]
            axis.plot([s["drifts"] for s in steps], [s["rpcs"][rpc]["p50_ms"] for s in steps], marker="o", label=label)
        axis.set_title(rpc, fontsize=9)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("drifts in the experiment")
        axis.set_ylabel("p50 ms")
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(rpcs):]:
        axis.axis("off")
    figure.suptitle("Every RPC through Envoy: before (FerretDB on SQLite) and after (PostgreSQL + GIN, buckets, blocks)")
    figure.tight_layout()
    out = RESULTS / "rpc_scale.png"
    figure.savefig(out, dpi=90)
    print(out)


if __name__ == "__main__":
    main()
