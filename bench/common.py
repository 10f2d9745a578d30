"""What every benchmark shares: a private stack, percentiles, and where results go.

The stack is the one the tests use (stack.Stack): FerretDB on a free port with its data in a temporary
directory, the server, the sandbox issuer and Envoy with TLS, so a benchmark never touches `make run`'s
stack and two runs never collide.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stack import Stack, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(values_ms: list[float]) -> dict[str, float | None]:
    if not values_ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "n": len(values_ms),
        "p50_ms": round(percentile(values_ms, 0.5), 2),
        "p99_ms": round(percentile(values_ms, 0.99), 2),
        "max_ms": round(max(values_ms), 2),
    }


def machine() -> dict[str, Any]:
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(int(memory) / 2**20, 1), "python": platform.python_version(),
            "kernel": platform.release(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def save(name: str, result: dict[str, Any], quick: bool = False) -> Path:
    """bench/results/<name>.json (a quick run writes <name>.quick.json: smoke numbers are not results)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}{'.quick' if quick else ''}.json"
    out.write_text(json.dumps({"benchmark": name, "machine": machine(), **result}, indent=2) + "\n")
    return out


def process_stats(pid: int) -> dict[str, float]:
    """RSS in MB and CPU seconds (user + system) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rss_mb": round(rss_kb / 1024, 1), "cpu_s": (int(fields[11]) + int(fields[12])) / ticks}


def bench_stack(**server_env: str) -> Stack:
    """The unified stack (stack.Stack) with limits raised so that the edge, not a limit, is measured."""
    return Stack(envoy_args=("--rate-limit", "1000000", "--max-backend-streams", "100000"), **server_env)
