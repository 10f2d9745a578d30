"""What every benchmark shares: a private stack, percentiles, and where results go.

The stack is the one the tests use (tests/harness.py): FerretDB on a free port with its data in a
temporary directory, the server, the sandbox issuer and Envoy with TLS, so a benchmark never touches
`make run`'s stack and two runs never collide.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts import certs  # noqa: E402
from tests.harness import POSTGRESQL_URL, Envoy, Issuer, ServerProcess, ferretdb_postgresql_url, free_port  # noqa: E402

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


class Stack:
    """FerretDB + server + sandbox issuer + Envoy (TLS), all on free ports, stopped on exit."""

    def __init__(self, **server_env: str) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="dm-bench-"))
        self.server_env = server_env

    def __enter__(self) -> Stack:
        address = f"127.0.0.1:{free_port()}"
        self._db_env = {**os.environ, "FERRETDB_ADDR": address, "FERRETDB_STATE": str(self.run_dir / "ferretdb")}
        subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "start"], check=True, env=self._db_env, stdout=subprocess.DEVNULL)
        self.mongodb_uri = f"mongodb://{address}/drift_monitoring_bench"
        self.ca = certs.ensure(self.run_dir / "certs")
        self.issuer = Issuer(self.run_dir)
        self.postgresql_url = ferretdb_postgresql_url(self._db_env)
        self.server = ServerProcess(self.mongodb_uri, DRIFT_MONITOR_TRUSTED_ISSUERS=self.issuer.url,
                                    **{POSTGRESQL_URL: self.postgresql_url, **self.server_env})
        self.envoy = Envoy(self.run_dir, "envoy", self.server, self.issuer, self.ca.parent, "--rate-limit", "1000000", "--max-backend-streams", "100000")
        return self

    @property
    def url(self) -> str:
        return f"localhost:{self.envoy.port}"

    def token(self, persona: str = "manager") -> str:
        return self.issuer.token(persona)

    def settings(self, persona: str = "manager", **extra: Any) -> dict[str, Any]:
        """DriftMonitor / Client settings for a persona, with a spool of its own."""
        return {"url": self.url, "ca_bundle": str(self.ca), "token": self.token(persona), "state_dir": self.run_dir / f"state-{persona}", **extra}

    def __exit__(self, *exc: object) -> None:
        for part in (getattr(self, "envoy", None), getattr(self, "server", None), getattr(self, "issuer", None)):
            if part is not None:
                part.stop()
        subprocess.run([str(ROOT / "scripts" / "ferretdb.sh"), "stop"], check=False, env=self._db_env, stdout=subprocess.DEVNULL)
