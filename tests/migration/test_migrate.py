"""`drift-monitor migrate`: an original Drift Watch database moved here with its times, owners, grants and
both drift shapes; dry run, idempotence, resuming after a kill, and the summary of what could not be mapped."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime

from bson import ObjectId

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2, experiment_pb2
from server.identity import user_id_for
from stack import ROOT
from tests.migration import legacy as fixtures
from tests.migration.conftest import migrate_command


def _client(env, persona_token: str, tmp_path) -> Client:
    return Client(url=env["DRIFT_MONITOR_URL"], token=persona_token, ca_bundle=env["DRIFT_MONITOR_CA_BUNDLE"], state_dir=tmp_path / "c")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_migration_of_every_shape_then_a_second_run_changes_nothing(migrate, legacy_db, admin_env, db, issuer, tmp_path):
    source, old = legacy_db
    taken = f"taken-{uuid.uuid4().hex[:6]}"
    with _client(admin_env, issuer.token("manager"), tmp_path) as manager:
        manager.register()
        manager.new_experiment(taken)
    legacy = fixtures.build(old, issuer.url, taken)

    before = fixtures.snapshot(db)
    dry = json.loads(migrate(source, "--dry-run", json_output=True).stdout)
    assert fixtures.snapshot(db) == before, "a dry run wrote to the database"
    assert dry["dry_run"] and dry["would_create"]["experiments"] == 3 and dry["would_create"]["drifts"] == 6

    first = migrate(source, "--report", str(tmp_path / "report.json"))
    report = json.loads((tmp_path / "report.json").read_text())
    # The manager had registered here already: that user is left as it is.
    assert report["created"] == {"users": 1, "experiments": 3, "drifts": 6} and report["existing"] == {"users": 1}
    assert "drifts 100%" in first.stderr and "created: 1 users, 3 experiments, 6 drifts" in first.stdout
    reasons = {(s["kind"], s["reason"]) for s in report["skipped"]}
    assert ("user", "subject is missing") in reasons
    assert ("drift", "job_status 'Queued' is not Running, Completed or Failed") in reasons
    assert ("drift", "created_at is missing") in reasons
    assert ("drift", "drift.model: must be 1-256 characters, got 300") in reasons
    assert any(kind == "experiment" and "already taken" in reason for kind, reason in reasons), reasons
    notes = {n["note"] for n in report["notes"]}
    assert "permission for someone has level 'Owner', not Read, Edit or Manage; dropped" in notes
    assert any("importing admin becomes the owner" in n for n in notes)
    assert report["ignored_fields"] == {}

    manager_id = user_id_for(issuer.url, "manager")
    reader_id = user_id_for(issuer.url, "reader")
    users = {u["_id"]: u for u in db.users.find({"_id": {"$in": [manager_id, reader_id]}})}
    assert users[reader_id]["create_time"] == _time("2023-11-03T09:30:00")
    assert users[reader_id]["email"] == "reader@example.org"
    assert users[manager_id]["name"] == "Max Manager" and users[manager_id]["create_time"] != _time("2023-11-02T08:00:00.250")

    with _client(admin_env, admin_env["DRIFT_MONITOR_TOKEN"], tmp_path) as admin:
        current = admin.find_experiment(legacy.experiments["current"]["name"])
        assert current.create_time.ToDatetime(tzinfo=UTC) == _time("2024-03-05T10:15:30.123")
        assert current.owner == manager_id and not current.public and current.description == "weekly churn check"
        assert {(g.entity, g.level) for g in current.grants} == {
            (manager_id, experiment_pb2.ACCESS_LEVEL_MANAGE), (reader_id, experiment_pb2.ACCESS_LEVEL_READ),
            (fixtures.ENTITLEMENT, experiment_pb2.ACCESS_LEVEL_EDIT),
        }
        drifts = sorted(admin.list_drifts(current.id), key=lambda d: d.create_time.ToDatetime())
        assert [(d.model, d.status) for d in drifts] == [
            ("churn-v3", drift_pb2.DRIFT_STATUS_COMPLETED), ("churn-v3", drift_pb2.DRIFT_STATUS_RUNNING), ("churn-v4", drift_pb2.DRIFT_STATUS_FAILED)]
        done = drifts[0]
        assert done.result.detected and list(done.tags) == ["prod", "weekly"] and done.creator == manager_id
        assert dict(done.result.parameters)["method"] == "ks" and done.result.parameters["window"]["days"] == 7
        assert done.create_time.ToDatetime(tzinfo=UTC) == _time("2024-03-06T07:00:00.500") == done.start_time.ToDatetime(tzinfo=UTC)
        assert not done.HasField("end_time")

        older = admin.find_experiment(legacy.experiments["older"]["name"])
        assert older.public and older.owner == manager_id
        runs = sorted(admin.list_drifts(older.id), key=lambda d: d.create_time.ToDatetime())
        assert [(d.concept_drift.detected, d.data_drift.detected) for d in runs] == [(True, False), (False, True)]
        assert runs[1].data_drift.parameters["psi"] == 0.31 and not runs[1].HasField("result")

        unowned = admin.find_experiment(legacy.experiments["unowned"]["name"])
        assert unowned.owner == user_id_for(issuer.url, "admin")

    # The reader signs in here for the first time and finds the experiment shared with them there.
    with _client(admin_env, issuer.token("reader"), tmp_path) as reader:
        assert reader.me().id == reader_id
        assert reader.find_experiment(legacy.experiments["current"]["name"]).caller_access == experiment_pb2.ACCESS_LEVEL_READ

    settled = fixtures.snapshot(db)
    second = json.loads(migrate(source, json_output=True).stdout)
    assert second["created"] == {} and second["existing"] == {"users": 2, "experiments": 3, "drifts": 6}
    assert fixtures.snapshot(db) == settled, "a second run changed the database"


def test_timezone_of_the_original_server(migrate, legacy_db, admin_env, db, issuer):
    source, old = legacy_db
    record = {"_id": str(uuid.uuid4()), "name": f"legacy-tz-{uuid.uuid4().hex[:6]}", "public": False, "permissions": [],
              "created_at": "2024-07-01T12:00:00"}
    old["app.experiments"].insert_one(record)
    migrate(source, "--timezone", "Europe/Berlin")
    stored = db.experiments.find_one({"legacy_id": record["_id"]})
    assert stored["create_time"] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)  # CEST is UTC+2


def _drift_count(db, experiment_id: ObjectId) -> int:
    return db.drifts.count_documents({"experiment": experiment_id})


def test_a_killed_migration_resumes_to_exactly_the_uninterrupted_result(migrate, legacy_db, admin_env, db, issuer):
    source, old = legacy_db
    total = 3000
    record = {"_id": str(uuid.uuid4()), "name": f"legacy-big-{uuid.uuid4().hex[:6]}", "public": False, "permissions": [],
              "created_at": "2024-05-01T00:00:00"}
    old["app.experiments"].insert_one(record)
    old[f"app.{record['_id']}"].insert_many([
        {"_id": str(uuid.uuid4()), "job_status": "Completed", "model": f"m{i % 7}", "drift_detected": i % 3 == 0,
         "parameters": {"p_value": i / total, "run": i}, "tags": ["bulk"], "created_at": f"2024-05-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}"}
        for i in range(total)
    ])
    from server.services.imports import experiment_id_for

    experiment_id = experiment_id_for(record["_id"])
    process = subprocess.Popen(migrate_command(source, "--batch", "100"), cwd=ROOT, env=admin_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _drift_count(db, experiment_id) < 300 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    interrupted = _drift_count(db, experiment_id)
    assert 0 < interrupted < total, f"the kill came at {interrupted} of {total} drifts"

    resumed = json.loads(migrate(source, "--batch", "100", json_output=True).stdout)
    # A batch the server had received when the migrator died may have landed after the count above.
    assert resumed["existing"]["drifts"] >= interrupted and resumed["created"]["drifts"] + resumed["existing"]["drifts"] == total

    def ours() -> tuple:
        return (db.experiments.find_one({"_id": experiment_id}), sorted(db.drifts.find({"experiment": experiment_id}), key=lambda d: d["_id"]))

    after_resume = ours()
    # Start over without the kill: the same documents, to the byte.
    db.drifts.delete_many({"experiment": experiment_id})
    db.experiments.delete_one({"_id": experiment_id})
    db.counters.delete_one({"_id": f"drifts/{experiment_id}"})  # so the runs are numbered from 1 again
    migrate(source, "--batch", "500")
    assert ours() == after_resume and len(after_resume[1]) == total


def test_the_import_api_over_rest(admin_env, issuer):
    """POST /v1/users:import through Envoy's REST transcoding: a dry run for an admin, 403 for others."""
    import httpx

    url = f"https://{admin_env['DRIFT_MONITOR_URL']}/v1/users:import"
    body = {"users": [{"issuer": "https://legacy.example.org", "subject": f"rest-{uuid.uuid4().hex[:6]}", "create_time": "2023-01-02T03:04:05Z"}],
            "validate_only": True}
    with httpx.Client(verify=admin_env["DRIFT_MONITOR_CA_BUNDLE"], timeout=20) as http:
        ok = http.post(url, json=body, headers={"authorization": f"Bearer {admin_env['DRIFT_MONITOR_TOKEN']}"})
        assert ok.status_code == 200 and ok.json()["created_count"] == 1, ok.text
        refused = http.post(url, json=body, headers={"authorization": f"Bearer {issuer.token('manager')}"})
        assert refused.status_code == 403
