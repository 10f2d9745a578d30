"""The spool when the disk is full or the directory read-only, with the server unreachable.

A real job runs in a subprocess: its work inside the monitored block completes and its output is intact,
the monitor ends with one clear DriftMonitorError naming the spool and the cause, nothing half-written
is left in the spool, and records spooled earlier are untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from drift_monitoring.offline import spool_for
from drift_monitoring.settings import Settings
from stack import ROOT, free_port

JOB = r"""
import json, resource, signal, sys
from drift_monitoring import DriftMonitor

options = json.loads(sys.argv[1])
limit = options.pop("file_size_limit")
if limit is not None:  # a full disk, as far as this process can tell: writes past `limit` bytes fail
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    with DriftMonitor("jobs", "model-x", **options) as monitor:
        result = sum(i * i for i in range(10_000))  # the job's own work
        monitor.concept(True, {"p_value": 0.01})
        print("RESULT", result, flush=True)
except Exception as exc:
    print("MONITOR", type(exc).__module__, type(exc).__name__, exc, flush=True)
    sys.exit(3)
print("DONE", flush=True)
"""


@contextlib.contextmanager
def read_only(directory: Path):
    """Read-only for this process. root ignores permission bits, so it gets the immutable attribute."""
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a filesystem without chattr +i: no way to make a directory read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_spool_that_cannot_be_written(tmp_path, fault):
    options = {"url": f"localhost:{free_port()}", "token": "unused", "state_dir": str(tmp_path / "state"), "timeout": 1}
    spool = spool_for(Settings(url=options["url"], state_dir=Path(options["state_dir"])))
    earlier = spool.add({"experiment": "jobs", "request_id": "earlier", "drift": {"model": "m"}})
    before = {p.name: p.read_bytes() for p in spool.directory.iterdir()}
    argv = [sys.executable, "-c", JOB, json.dumps({**options, "file_size_limit": 64 if fault == "disk full" else None})]
    with read_only(spool.directory) if fault == "read-only" else contextlib.nullcontext():
        job = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    lines = job.stdout.splitlines()
    assert lines[0] == f"RESULT {sum(i * i for i in range(10_000))}", job.stdout + job.stderr  # the work went on
    assert job.returncode == 3 and lines[1].startswith("MONITOR drift_monitoring.errors DriftMonitorError "), job.stdout + job.stderr
    assert str(spool.directory) in lines[1] and ("File too large" in lines[1] or "ermission" in lines[1] or "not permitted" in lines[1])
    after = {p.name: p.read_bytes() for p in spool.directory.iterdir() if p.name != ".unreachable"}
    assert after == before and earlier.name in after  # nothing half-written, the earlier record untouched
