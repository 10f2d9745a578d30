"""Memory of the dashboard process under live updates: `python -m tui` runs in a tmux terminal (a real
process, a real terminal) on an experiment while a job writes runs at a steady rate, each created
RUNNING and then completed, as DriftMonitor does; the dashboard's resident memory is sampled.

    .venv/bin/python bench/tui_memory.py [--seconds 3600] [--rate 10] [--sample 60]

Writes bench/results/tui_memory.json (RSS samples in MiB, runs written, the rate achieved).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import threading
import time
import uuid

from tui_stack import ROOT, run, stack

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def writer(settings, experiment_id: str, rate: float, stop: threading.Event, counts: dict[str, int], lock: threading.Lock) -> None:
    """One job's worth of runs at `rate` per second (several writers run side by side)."""
    with Client(settings) as client:
        index, started = 0, time.monotonic()
        while not stop.is_set():
            drift = run("live-model", index, status=drift_pb2.DRIFT_STATUS_RUNNING)
            created = client.create_drift(experiment_id, drift, uuid.uuid4().hex)
            created.status = drift_pb2.DRIFT_STATUS_COMPLETED
            client.update_drift(created, ["status"])
            index += 1
            with lock:
                counts["runs"] += 1
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                stop.wait(delay)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--rate", type=float, default=10.0, help="runs per second")
    parser.add_argument("--sample", type=float, default=60.0, help="seconds between memory samples")
    parser.add_argument("--writers", type=int, default=4, help="jobs writing side by side (the rate is shared)")
    args = parser.parse_args()
    socket = f"dm-tui-bench-{uuid.uuid4().hex[:6]}"
    with stack() as s:
        with Client(s.settings) as client:
            experiment = client.new_experiment(f"bench-live-{uuid.uuid4().hex[:6]}")
        env = {"DRIFT_MONITOR_URL": s.settings.url, "DRIFT_MONITOR_TOKEN": s.settings.token,
               "DRIFT_MONITOR_CA_BUNDLE": s.settings.ca_bundle, "TERM": "xterm-256color"}
        command = f"env {' '.join(f'{k}={shlex.quote(v)}' for k, v in env.items())} {sys.executable} -m tui --experiment {experiment.name}"
        tmux = ["tmux", "-L", socket]
        subprocess.run([*tmux, "new-session", "-d", "-x", "160", "-y", "48", "-c", str(ROOT), f"exec {command}"], check=True)
        stop, counts = threading.Event(), {"runs": 0}
        try:
            time.sleep(5)
            pid = int(subprocess.run([*tmux, "display", "-p", "#{pane_pid}"], capture_output=True, text=True, check=True).stdout)
            samples = [{"t": 0, "runs": 0, "rss_mib": round(rss_mib(pid), 1)}]
            lock = threading.Lock()
            threads = [threading.Thread(target=writer, args=(s.settings, experiment.id, args.rate / args.writers, stop, counts, lock), daemon=True)
                       for _ in range(args.writers)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            while (elapsed := time.monotonic() - started) < args.seconds:
                time.sleep(min(args.sample, args.seconds - elapsed))
                samples.append({"t": round(time.monotonic() - started), "runs": counts["runs"], "rss_mib": round(rss_mib(pid), 1)})
                print(samples[-1], flush=True)
            stop.set()
            for thread in threads:
                thread.join(30)
            time.sleep(2)
            screen = subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout
        finally:
            stop.set()
            subprocess.run([*tmux, "kill-server"], check=False)
    result = {
        "benchmark": "tui_memory",
        "seconds": args.seconds,
        "rate_asked": args.rate,
        "runs_written": counts["runs"],
        "rate_achieved": round(counts["runs"] / args.seconds, 2),
        "rss_mib_start": samples[0]["rss_mib"],
        "rss_mib_end": samples[-1]["rss_mib"],
        "rss_mib_max": max(x["rss_mib"] for x in samples),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "samples": samples,
        "screen_info_line": next((line.strip() for line in screen.splitlines() if "runs" in line and "order" in line), ""),
    }
    out = ROOT / "bench" / "results" / "tui_memory.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
