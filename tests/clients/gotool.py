"""Running the Go module under clients/go from tests: go mod download, then go test -json or go run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from stack import ROOT

GO_MODULE_DIR = ROOT / "clients" / "go"
# The first build compiles grpc and protobuf (a minute or two on 2 cores); later runs hit the build cache.
FIRST_BUILD_TIMEOUT = 540


def go(*args: str, env: dict[str, str], timeout: float = FIRST_BUILD_TIMEOUT) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("go")
    assert binary, "Go is required for the Go client tests (.ci/tools checks it is installed)"
    # GOFLAGS=-mod=readonly: a go.mod or go.sum that needs changing is a failure, not silently fixed.
    environment = {**os.environ, "GOFLAGS": "-mod=readonly", **env}
    return subprocess.run([binary, *args], cwd=GO_MODULE_DIR, env=environment, capture_output=True, text=True, timeout=timeout)


def download(env: dict[str, str]) -> None:
    result = go("mod", "download", env=env)
    assert result.returncode == 0, result.stderr


@dataclass
class GoTestRun:
    """The outcome of `go test -json`, test by test."""

    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    output: list[str] = field(default_factory=list)


def go_test(*packages: str, env: dict[str, str]) -> GoTestRun:
    download(env)
    result = go("test", "-json", "-count=1", *packages, env=env)
    run = GoTestRun()
    for line in result.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            run.output.append(line)  # build errors come as plain text
            continue
        run.output.append(event.get("Output", "").rstrip("\n"))
        if event.get("Test") and event.get("Action") in ("pass", "fail", "skip"):
            getattr(run, {"pass": "passed", "fail": "failed", "skip": "skipped"}[event["Action"]]).add(event["Test"])
    if result.returncode != 0 and not run.failed:
        run.failed.add(f"(go test exited {result.returncode}: {result.stderr.strip()[-2000:]})")
    return run
