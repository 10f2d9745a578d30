"""The cross-language scenario, once per language (Python, Go, TypeScript, curl): register, create an
experiment, start watching it, record the runs of scenario.json the way that language's users would, list them, and collect the watched
events until every run is complete. How many calls a run takes is each client's business (Python's
DriftMonitor sends in the background and coalesces; Go's Run and curl send each step): what must agree
is what is stored and what watchers see a run become. Each returns {"experiment_id", "listed", "watched"} as proto JSON
(field names as in the protos) for the test to compare."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from drift_monitoring import Client, DriftMonitor, flush
from drift_monitoring.v1 import drift_pb2
from tests.clients.gotool import go

SPEC = json.loads((Path(__file__).parent / "scenario.json").read_text())
RESULTS = ("concept_drift", "data_drift", "result")  # recorded in this order by every language
WATCH_TIMEOUT = 30.0


def proto_json(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def in_python(settings: dict[str, Any], name: str) -> dict[str, Any]:
    with Client(**settings) as client:
        client.register()
        experiment = client.new_experiment(name, SPEC["experiment_description"])
        watch = client.watch_drifts(experiment.id)
        first = next(watch)  # a heartbeat: the watch is live before anything is recorded
        assert first.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT, first
        for run in SPEC["runs"]:
            with DriftMonitor(name, run["model"], tags=run["tags"], client=client) as monitor:
                for field, record in zip(RESULTS, (monitor.concept, monitor.data, monitor)):
                    if field in run:
                        record(run[field]["detected"], run[field].get("parameters"), features=run[field].get("features"))
        assert flush(30), "DriftMonitor's background sender did not deliver the runs"
        listed = [proto_json(d) for d in client.list_drifts(experiment.id, order_by="create_time")]
        watched, complete = [], set()
        for event in watch:
            if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                watched.append(proto_json(event))
                if event.drift.status == drift_pb2.DRIFT_STATUS_COMPLETED:
                    complete.add(event.drift.id)
            if len(complete) == len(SPEC["runs"]):
                break
        return {"experiment_id": experiment.id, "listed": listed, "watched": watched}


def in_go(env: dict[str, str], name: str) -> dict[str, Any]:
    spec = Path(__file__).parent / "scenario.json"
    result = go("run", "./internal/crosslang", "-spec", str(spec), "-experiment", name, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


TS_PACKAGE = Path(__file__).parents[2] / "clients" / "ts"


def build_typescript() -> None:
    """clients/ts built with tsc into dist/, so scripts importing the package run what is in src now."""
    assert (TS_PACKAGE / "node_modules").is_dir(), "clients/ts has no node_modules: run `make ts-client` (npm ci)"
    build = subprocess.run(["npm", "run", "--silent", "build"], cwd=TS_PACKAGE, capture_output=True, text=True, timeout=180)
    assert build.returncode == 0, build.stdout + build.stderr


def node(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Plain node in clients/ts (the package imports itself by name), trusting the dev CA like any Node user."""
    environment = {**os.environ, **env, "NODE_EXTRA_CA_CERTS": env["DRIFT_MONITOR_CA_BUNDLE"]}
    return subprocess.run(["node", *args], cwd=TS_PACKAGE, env=environment, capture_output=True, text=True, timeout=120)


def in_typescript(env: dict[str, str], name: str) -> dict[str, Any]:
    """examples/crosslang.mjs on the built package: gRPC over HTTP/2 through Envoy."""
    build_typescript()
    result = node(["examples/crosslang.mjs", str(Path(__file__).parent / "scenario.json"), name], env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


class Curl:
    """REST/JSON through Envoy with the curl command line, as a shell user would."""

    def __init__(self, base_url: str, ca_pem: Path, token: str) -> None:
        self.base_url, self.common = base_url, ["curl", "-sS", "--fail-with-body", "--cacert", str(ca_pem), "-H", f"authorization: Bearer {token}"]

    def __call__(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        command = [*self.common, "-X", method, f"{self.base_url}{path}"]
        if body is not None:
            command += ["-H", "content-type: application/json", "-d", json.dumps(body)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{method} {path}: {result.stdout} {result.stderr}"
        return json.loads(result.stdout)

    def watch(self, path: str, out: Path) -> subprocess.Popen[bytes]:
        with out.open("wb") as sink:
            return subprocess.Popen([*self.common, "-N", f"{self.base_url}{path}"], stdout=sink)


def watched_so_far(out: Path) -> list[dict[str, Any]]:
    """Envoy streams one JSON array, element by element; close what has arrived to read it."""
    text = out.read_text().strip()
    return json.loads(text + "]") if text.endswith("}") else []


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def in_curl(base_url: str, ca_pem: Path, token: str, name: str, scratch: Path) -> dict[str, Any]:
    curl = Curl(base_url, ca_pem, token)
    curl("POST", "/v1/users:register", {"accept_terms": True})
    experiment = curl("POST", "/v1/experiments", {"name": name, "description": SPEC["experiment_description"]})
    drifts = f"/v1/experiments/{experiment['id']}/drifts"
    stream_file = scratch / "watch.json"
    watcher = curl.watch(f"{drifts}:watch", stream_file)
    try:
        deadline = time.monotonic() + WATCH_TIMEOUT
        while not watched_so_far(stream_file):  # the first heartbeat: the watch is live
            assert time.monotonic() < deadline and watcher.poll() is None, stream_file.read_text()
            time.sleep(0.1)
        for run in SPEC["runs"]:
            # The same calls as DriftMonitor and Run: create RUNNING, one update per result, then complete.
            drift = curl("POST", f"{drifts}?request_id={uuid.uuid4().hex}", {"model": run["model"], "tags": run["tags"], "start_time": now()})
            for field in RESULTS:
                if field in run:
                    curl("PATCH", f"{drifts}/{drift['id']}?update_mask={field}", {field: run[field]})
            final_fields = ["status", "end_time", "error_message", *(f for f in RESULTS if f in run)]
            final = {"status": "DRIFT_STATUS_COMPLETED", "end_time": now(), "error_message": "", **{f: run[f] for f in RESULTS if f in run}}
            curl("PATCH", f"{drifts}/{drift['id']}?update_mask={','.join(final_fields)}", final)
        listed = curl("GET", f"{drifts}?order_by=create_time")["drifts"]
        while True:
            events = [e for e in watched_so_far(stream_file) if e["type"] != "DRIFT_EVENT_TYPE_HEARTBEAT"]
            if len({e["drift"]["id"] for e in events if e["drift"]["status"] == "DRIFT_STATUS_COMPLETED"}) == len(SPEC["runs"]):
                break
            assert time.monotonic() < deadline, stream_file.read_text()
            time.sleep(0.1)
    finally:
        watcher.terminate()
        watcher.wait(10)
    return {"experiment_id": experiment["id"], "listed": listed, "watched": events}
