"""One scenario in Python (DriftMonitor), Go (driftmonitor.Run), TypeScript (clients/ts over gRPC) and curl
(REST/JSON): create an experiment, record three runs, list them, watch them. The stored records, the listings and the watched events must be
the same field by field, apart from what is unique to each record (ids, names, request ids, times)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from drift_monitoring.v1 import drift_pb2
from tests.clients import scenario
from tests.clients.gotool import download

# Unique to each record: compared as "set" or "unset", not by value.
VARYING = {"_id", "id", "experiment", "experiment_id", "name", "request_id", "create_time", "update_time", "start_time", "end_time",
           "time", "seq", "resume_token", "event_time"}


def normalized(record: dict[str, Any]) -> dict[str, Any]:
    return {key: ("<set>" if value else "<unset>") if key in VARYING else value for key, value in record.items()}


def canonical(message_json: dict[str, Any], message_type: type) -> dict[str, Any]:
    """Proto JSON as one canonical form: curl gets default values printed (Envoy's print options), the
    Python and Go clients leave them out; both mean the same message."""
    message = json_format.ParseDict(message_json, message_type())
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def watched(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the watcher saw each drift become, canonical and normalized."""
    canonical_events = [canonical(event, drift_pb2.WatchDriftsResponse) for event in events]
    return [normalized(event["drift"]) for event in last_per_drift(canonical_events, "id")]


def last_per_drift(events: list[dict[str, Any]], drift_id: str) -> list[dict[str, Any]]:
    """Each drift's last event, in the order the drifts first appear: what a watcher ends up seeing."""
    last: dict[str, dict[str, Any]] = {}
    for event in events:
        last[event["drift"][drift_id]] = event
    return list(last.values())


def stored(db, experiment_id: str) -> dict[str, Any]:
    from bson import ObjectId

    oid = ObjectId(experiment_id)
    events = list(db.events.find({"experiment": oid}).sort("seq", 1))
    first_types = {}
    for event in events:
        first_types.setdefault(event["drift"]["_id"], event["type"])
    assert set(first_types.values()) == {"CREATED"}, first_types  # every drift's log starts with its creation
    return {
        "experiment": normalized(db.experiments.find_one({"_id": oid})),
        "drifts": [normalized(d) for d in db.drifts.find({"experiment": oid}).sort("create_time", 1)],
        # The event log's final snapshot of each drift; the type is left out (a client that coalesces
        # creates a finished run in one CREATED event).
        "final_events": [normalized(e["drift"]) for e in last_per_drift(events, "_id")],
    }


def flat(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flat(item, f"{path}.{key}" if path else key).items()} or {path: {}}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in flat(item, f"{path}[{i}]").items()} or {path: []}
    return {path: value}


def differences(left: Any, right: Any) -> list[str]:
    a, b = flat(left), flat(right)
    return [f"{path}: {a.get(path, '<missing>')!r} != {b.get(path, '<missing>')!r}" for path in sorted(a.keys() | b.keys()) if a.get(path, "<missing>") != b.get(path, "<missing>")]


# Each is compared with Python. A new language adds a driver in scenario.py that prints the same report
# ({"experiment_id", "listed", "watched"}, proto JSON) and its name here.
OTHERS = ["go", "typescript", "curl"]


@pytest.fixture(scope="module")
def outcomes(edge_env, envoy, ca_pem: Path, issuer, tmp_path_factory) -> dict[str, dict[str, Any]]:
    suffix = uuid.uuid4().hex[:8]
    settings = {"url": edge_env["DRIFT_MONITOR_URL"], "ca_bundle": str(ca_pem), "token": edge_env["DRIFT_MONITOR_TOKEN"],
                "state_dir": tmp_path_factory.mktemp("python-client"), "timeout": 10, "heartbeat": 0}
    # Leases are opt-in for TypeScript and curl: the Python and Go clients, which lease by default, opt out
    # here so all four store the same records (leases have tests of their own: tests/reliability/test_leases.py).
    download(edge_env)
    return {
        "python": scenario.in_python(settings, f"scenario-python-{suffix}"),
        "go": scenario.in_go({**edge_env, "DRIFT_MONITOR_HEARTBEAT": "0"}, f"scenario-go-{suffix}"),
        "typescript": scenario.in_typescript(edge_env, f"scenario-typescript-{suffix}"),
        "curl": scenario.in_curl(envoy.url, ca_pem, edge_env["DRIFT_MONITOR_TOKEN"], f"scenario-curl-{suffix}", tmp_path_factory.mktemp("curl")),
    }


@pytest.mark.timeout(600)  # the first Go build compiles grpc
@pytest.mark.parametrize("language", OTHERS)
def test_stored_records_are_identical(outcomes, db, language):
    python, other = stored(db, outcomes["python"]["experiment_id"]), stored(db, outcomes[language]["experiment_id"])
    assert len(python["drifts"]) == len(python["final_events"]) == len(scenario.SPEC["runs"])
    for language_records in (python, other):  # the log's last word on each drift is the stored drift
        assert not differences(language_records["final_events"], language_records["drifts"])
    diff = differences(python, other)
    assert not diff, f"python and {language} stored different records:\n" + "\n".join(diff)


@pytest.mark.parametrize("language", OTHERS)
def test_listings_and_watches_are_identical(outcomes, language):
    python, other = outcomes["python"], outcomes[language]
    for part, convert in (("listed", lambda drifts: [normalized(canonical(d, drift_pb2.Drift)) for d in drifts]), ("watched", watched)):
        mine, theirs = convert(python[part]), convert(other[part])
        assert len(mine) == len(scenario.SPEC["runs"])
        diff = differences(mine, theirs)
        assert not diff, f"python and {language} {part} differently:\n" + "\n".join(diff)


def test_what_all_stored_is_the_spec(outcomes, db):
    """Identical is not enough: the records say what the scenario recorded (so all of them are not equally wrong)."""
    drifts = stored(db, outcomes["python"]["experiment_id"])["drifts"]
    for drift, run in zip(drifts, scenario.SPEC["runs"]):
        assert drift["model"] == run["model"] and drift["tags"] == run["tags"] and drift["status"] == "COMPLETED"
        assert drift["start_time"] == drift["end_time"] == "<set>" and drift["error_message"] == ""
        for field in scenario.RESULTS:
            if field not in run:
                assert not drift.get(field), field
                continue
            assert drift[field]["detected"] is run[field]["detected"]
            assert drift[field]["parameters"] == run[field]["parameters"]
            features = [{k: v for k, v in f.items() if v is not None} for f in drift[field].get("features", [])]
            assert [{k: v for k, v in f.items()} for f in features] == run[field].get("features", [])
