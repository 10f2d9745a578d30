"""Backup and restore against the real FerretDB: every document back with byte-identical BSON.

The database is filled by a real server (its collections, indexes and documents as production has them)
plus a collection of awkward BSON values; backups go through the command line as operators run it.
"""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import bson
import grpc
import pymongo
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox import personas
from scripts import backup
from stack import ROOT, SECRET, Server

RAW = CodecOptions(document_class=RawBSONDocument)


def cli(*args: str, uri: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "backup.py"), "--uri", uri, *args], capture_output=True, text=True, timeout=120)


def contents(db: pymongo.database.Database) -> dict[str, list[bytes]]:
    """Every document of every collection as the server sends its bytes, in _id order."""
    return {
        name: [doc.raw for doc in db.get_collection(name, codec_options=RAW).find({}, sort=[("_id", 1)])]
        for name in sorted(db.list_collection_names())
    }


def indexes(db: pymongo.database.Database) -> dict[str, list[tuple]]:
    return {
        name: sorted((i["name"], tuple(i["key"].items()), bool(i.get("unique"))) for i in db[name].list_indexes())
        for name in db.list_collection_names()
    }


@pytest.fixture(scope="module")
def databases(mongo_base: str):
    """A source database filled by a real server, and the name of an empty target."""
    client = pymongo.MongoClient(mongo_base, tz_aware=True)
    source, target = f"dm_backup_{uuid.uuid4().hex[:8]}", f"dm_restore_{uuid.uuid4().hex[:8]}"
    process = Server(f"{mongo_base}/{source}")
    try:
        metadata = personas.gateway_metadata(SECRET, personas.claims("editor"))
        with grpc.insecure_channel(process.target) as channel:
            user_pb2_grpc.UserServiceStub(channel).RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=metadata)
            experiment = experiment_pb2_grpc.ExperimentServiceStub(channel).CreateExperiment(
                experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name="backup", description="ünïcode ✓")), metadata=metadata
            )
            requests = []
            for index in range(1100):  # more than one restore batch (1000)
                drift = drift_pb2.Drift(model=f"model-{index % 7}", tags=["nightly"], status=drift_pb2.DRIFT_STATUS_COMPLETED)
                drift.data_drift.detected = index % 3 == 0
                drift.data_drift.parameters.update({"p_value": index / 1100, "window": {"size": index, "features": ["a", "b"]}})
                requests.append(drift_pb2.CreateDriftRequest(drift=drift, request_id=f"r{index}"))
            stub = drift_pb2_grpc.DriftServiceStub(channel)
            for start in range(0, len(requests), 1000):
                stub.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests[start : start + 1000]), metadata=metadata)
    finally:
        process.stop()
    client[source]["odd"].insert_many([
        {"_id": 1, "int64": bson.Int64(2**40), "float": 1.5, "none": None, "bool": False, "when": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)},
        {"_id": "text", "binary": bson.Binary(b"\x00\x01\xff"), "nested": {"list": [1, "two", {"three": 3.0}], "empty": {}}, "oid": bson.ObjectId()},
        {"_id": bson.ObjectId(), "order": {"z": 1, "a": 2, "m": 3}},  # field order is part of the bytes
    ])
    yield client[source], client[target]
    client.drop_database(source)
    client.drop_database(target)


def test_round_trip_restores_every_document_byte_identical(databases, tmp_path: Path, mongo_base: str) -> None:
    source, target = databases
    done = cli("dump", "--dir", str(tmp_path), uri=f"{mongo_base}/{source.name}")
    assert done.returncode == 0, done.stderr
    [archive] = tmp_path.glob(f"{source.name}-*.dmbak.gz")
    assert Path(done.stdout.strip()) == archive

    restored = cli("restore", str(archive), uri=f"{mongo_base}/{target.name}")
    assert restored.returncode == 0, restored.stderr
    before, after = contents(source), contents(target)
    assert set(after) == set(before) >= {"users", "experiments", "drifts", "events", "odd"}
    assert len(after["drifts"]) == 1100 and after["events"]
    assert after == before  # every document, every byte
    assert indexes(target) == indexes(source)
    assert f"{sum(map(len, before.values()))} documents" in restored.stdout


@pytest.fixture(scope="module")
def small(mongo_base: str):
    """A few documents in two collections, for the checks that need a backup, not a big one."""
    client = pymongo.MongoClient(mongo_base)
    db = client[f"dm_backup_small_{uuid.uuid4().hex[:8]}"]
    db["drifts"].insert_many([{"_id": i, "model": f"m{i}", "parameters": {"p": i / 10}} for i in range(20)])
    db["drifts"].create_index([("model", 1), ("_id", 1)])
    db["events"].insert_many([{"_id": bson.ObjectId(), "seq": i} for i in range(5)])
    db["events"].create_index("seq", unique=True)
    yield db
    client.drop_database(db.name)


def test_restore_refuses_a_database_with_data_unless_dropping(small, tmp_path: Path, mongo_base: str) -> None:
    source = small
    archive = backup.dump_to(source, tmp_path, keep=0)
    scratch = f"dm_restore_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(mongo_base)
    try:
        client[scratch]["drifts"].insert_one({"_id": "stale"})
        refused = cli("restore", str(archive), uri=f"{mongo_base}/{scratch}")
        assert refused.returncode == 1
        assert "collection drifts" in refused.stderr and "--drop" in refused.stderr
        assert cli("restore", str(archive), "--drop", uri=f"{mongo_base}/{scratch}").returncode == 0
        assert contents(client[scratch]) == contents(source)
        assert indexes(client[scratch]) == indexes(source)
    finally:
        client.drop_database(scratch)


def test_truncated_or_foreign_files_are_refused(small, tmp_path: Path) -> None:
    source = small
    archive = backup.dump_to(source, tmp_path, keep=0)
    assert backup.verify(archive)[1] == sum(map(len, contents(source).values()))
    data = gzip.decompress(archive.read_bytes())
    cut = tmp_path / "cut.dmbak.gz"
    for damaged, message in ((data[: len(data) // 2], "truncated"), (data[:-30], "truncated"), (b"H" + bson.encode({"format": "other"}), "not a Drift")):
        cut.write_bytes(gzip.compress(damaged))
        with pytest.raises(backup.BackupError, match=message):
            backup.verify(cut)
    cut.write_bytes(archive.read_bytes()[:-100])  # a cut gzip stream
    with pytest.raises(backup.BackupError):
        backup.verify(cut)


def test_retention_keeps_the_newest_and_check_sees_their_age(small, tmp_path: Path) -> None:
    source = small
    made = [backup.dump_to(source, tmp_path, keep=2) for _ in range(4)]
    assert backup.backups(tmp_path, source.name) == made[-2:]
    assert not list(tmp_path.glob(".*partial"))
    assert backup.main(["check", "--dir", str(tmp_path), "--max-age", "3600"]) == 0
    assert backup.main(["check", "--dir", str(tmp_path / "nothing"), "--max-age", "3600"]) == 1


def test_schedule_dumps_every_interval_keeps_the_newest_and_stops_on_sigterm(small, tmp_path: Path, mongo_base: str) -> None:
    """The backup service's command: `schedule` as compose runs it, stopped as `docker compose stop` does."""
    command = [sys.executable, str(ROOT / "scripts" / "backup.py"), "--uri", f"{mongo_base}/{small.name}",
               "schedule", "--dir", str(tmp_path), "--every", "0.3", "--keep", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen) < 4 and time.monotonic() < deadline:
        present = {p.name for p in backup.backups(tmp_path, small.name)}
        # The new backup is renamed into place before the oldest goes (a failed dump never costs an old
        # one), so for a moment there are keep + 1; never more.
        assert len(present) <= 3
        seen |= present
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert len(seen) >= 4, process.stdout.read()
    assert len(backup.backups(tmp_path, small.name)) == 2
    assert "retention: removed" in process.stdout.read()
