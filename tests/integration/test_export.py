"""ExportDrifts (issue 18 item 2, docs/data.md): every format round-trips real runs through Envoy with real
tokens, over gRPC, over REST (the file itself) and with `drift-monitor export`; bad input names the field;
a caller without READ learns nothing; nothing of another experiment ever appears in an export."""

from __future__ import annotations

import csv
import io
import json
import os
import ssl
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from google.protobuf import json_format

from drift_monitoring.v1 import drift_pb2
from stack import ROOT
from tests.integration.helpers import COMPLETED, FAILED, Code, RpcError, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

CSV, JSONL, PARQUET = drift_pb2.EXPORT_FORMAT_CSV, drift_pb2.EXPORT_FORMAT_JSON_LINES, drift_pb2.EXPORT_FORMAT_PARQUET
RUNS = 2300  # three pages of 1000


def _run(index: int) -> drift_pb2.Drift:
    """Runs as jobs record them: a verdict, nested and listed parameters, per-feature tests; later ones add a
    parameter the first page never had (it lands in `other`) and change a type (Parquet keeps it in `other`)."""
    drift = drift_pb2.Drift(model=f"model-{index % 3}", status=FAILED if index % 7 == 0 else COMPLETED, tags=["weekly", f"n{index % 5}"])
    drift.data_drift.detected = index % 2 == 0
    window: Any = {"size": 1000 + index, "kind": "sliding"}
    params: dict[str, Any] = {"p_value": index / RUNS, "window": window, "columns": ["a", "b"], "note": f"run, \"{index}\"\n"}
    if index >= 2000:
        params["late_key"] = index
        params["p_value"] = "n/a"  # a string where the first page had numbers
    drift.data_drift.parameters.update(params)
    for name in ("age", "income"):
        feature = drift.data_drift.features.add(feature=name, test="ks", statistic=0.1 + index / 10_000, detected=index % 2 == 0)
        if name == "age":
            feature.p_value = 0.01
    if index % 4 == 0:
        drift.concept_drift.detected = True
        drift.concept_drift.parameters.update({"threshold": 0.5})
    if index % 7 == 0:
        drift.error_message = "diverged"
    return drift


@pytest.fixture(scope="module")
async def exported(people) -> dict[str, Any]:
    """An experiment of the manager with RUNS runs, and a secret one next to it."""
    manager = people["manager"]
    experiment = await manager.create_experiment(unique("export"))
    for start in range(0, RUNS, 1000):
        await manager.batch_create(experiment.id, [_run(i) for i in range(start, min(RUNS, start + 1000))])
    secret = await manager.create_experiment(unique("export-secret"))
    await manager.create_drift(secret.id, model="secret-model-xyz", tags=["secret-tag-xyz"])
    listed: list[drift_pb2.Drift] = []
    request = drift_pb2.ListDriftsRequest(experiment_id=experiment.id, page_size=1000)
    while True:
        page = await manager.drifts.ListDrifts(request)
        listed += page.drifts
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    return {"experiment": experiment, "secret": secret, "runs": list(reversed(listed))}  # oldest first, as exported


async def _export(api, experiment_id: str, format: int, **fields: Any) -> tuple[bytes, list[drift_pb2.HttpBody] | list[Any]]:  # noqa: A002
    fields.setdefault("progress", True)
    stream = api.drifts.ExportDrifts(drift_pb2.ExportDriftsRequest(experiment_id=experiment_id, format=format, **fields), timeout=120)
    messages = [message async for message in stream]
    return b"".join(m.data for m in messages), messages


def _progress(message) -> drift_pb2.ExportProgress:
    state = drift_pb2.ExportProgress()
    assert message.extensions[0].Unpack(state)
    return state


async def test_json_lines_round_trip_every_field(people, exported):
    data, messages = await _export(people["manager"], exported["experiment"].id, JSONL)
    assert {m.content_type for m in messages} == {"application/x-ndjson"}
    back = [json_format.ParseDict(json.loads(line), drift_pb2.Drift()) for line in data.decode().splitlines()]
    assert back == exported["runs"]
    states = [_progress(m) for m in messages]
    assert states[-1].runs_exported == RUNS and states[-1].fraction_done == 1.0
    assert [s.runs_exported for s in states] == sorted(s.runs_exported for s in states) and len(messages) >= 3  # page by page


async def test_csv_one_row_per_run_with_flattened_parameters(people, exported):
    data, messages = await _export(people["manager"], exported["experiment"].id, CSV)
    assert messages[0].content_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    runs = exported["runs"]
    assert [r["id"] for r in rows] == [d.id for d in runs]
    first, late = rows[1], rows[2100]
    assert float(first["data_drift.parameters.window.size"]) == 1001 and first["data_drift.parameters.window.kind"] == "sliding"
    assert first["data_drift.parameters.note"] == 'run, "1"\n' and json.loads(first["data_drift.parameters.columns"]) == ["a", "b"]
    assert float(first["data_drift.parameters.p_value"]) == runs[1].data_drift.parameters["p_value"]
    assert first["data_drift.detected"] == "false" and first["concept_drift.detected"] == "" and first["result.detected"] == ""
    assert json.loads(first["tags"]) == ["weekly", "n1"] and first["status"] == "COMPLETED"
    assert datetime.fromisoformat(first["create_time"]) == runs[1].create_time.ToDatetime(tzinfo=UTC) and first["create_time"].endswith("Z")
    assert datetime.fromisoformat(first["end_time"]) == runs[1].end_time.ToDatetime(tzinfo=UTC)
    statistic = runs[1].data_drift.features[0].statistic
    assert json.loads(first["data_drift.features"]) == [{"feature": "age", "test": "ks", "statistic": statistic, "p_value": 0.01, "threshold": None, "detected": False},
                                                        {"feature": "income", "test": "ks", "statistic": statistic, "p_value": None, "threshold": None, "detected": False}]
    assert first["data_drift.parameters.other"] == ""
    assert json.loads(late["data_drift.parameters.other"]) == {"late_key": 2100}  # a key the first page never had
    assert late["data_drift.parameters.p_value"] == "n/a"  # CSV has no types: it fits its column
    assert rows[0]["error_message"] == "diverged" and rows[0]["status"] == "FAILED"


async def test_csv_one_row_per_feature_result(people, exported):
    data, _ = await _export(people["manager"], exported["experiment"].id, CSV, csv_row_per_feature=True)
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == 2 * RUNS  # two features of data_drift each; concept_drift has none
    assert [(r["feature"], r["result_kind"]) for r in rows[:2]] == [("age", "data_drift"), ("income", "data_drift")]
    assert rows[0]["id"] == rows[1]["id"] == exported["runs"][0].id
    assert rows[0]["p_value"] == "0.01" and rows[1]["p_value"] == "" and rows[0]["feature_detected"] == "true"


async def test_parquet_is_typed_and_complete(people, exported, tmp_path):
    data, messages = await _export(people["manager"], exported["experiment"].id, PARQUET)
    assert messages[0].content_type == "application/vnd.apache.parquet"
    path = tmp_path / "runs.parquet"
    path.write_bytes(data)
    table = pq.read_table(path)
    assert table.num_rows == RUNS and pq.ParquetFile(path).num_row_groups == 3
    rows = table.to_pylist()
    runs = exported["runs"]
    assert [r["id"] for r in rows] == [d.id for d in runs]
    assert rows[5]["data_drift.parameters.p_value"] == runs[5].data_drift.parameters["p_value"]  # a float column
    assert rows[5]["data_drift.parameters.window.size"] == 1005.0 and rows[5]["tags"] == ["weekly", "n0"]
    assert rows[5]["create_time"] == runs[5].create_time.ToDatetime().replace(tzinfo=rows[5]["create_time"].tzinfo)
    assert rows[4]["concept_drift.detected"] is True and rows[5]["concept_drift.detected"] is None
    late = rows[2100]
    assert late["data_drift.parameters.p_value"] is None  # a string in a float column: kept in `other`
    assert json.loads(late["data_drift.parameters.other"]) == {"late_key": 2100, "p_value": "n/a"}


async def test_a_filter_selects_runs(people, exported):
    data, _ = await _export(people["manager"], exported["experiment"].id, JSONL, filter='status = FAILED AND model = "model-0"')
    ids = [json.loads(line)["id"] for line in data.decode().splitlines()]
    assert ids == [d.id for d in exported["runs"] if d.status == FAILED and d.model == "model-0"] and ids


async def test_bad_input_names_the_field(people, exported):
    manager, experiment_id = people["manager"], exported["experiment"].id
    for fields, field in (({"format": 0}, "format"), ({"format": 9}, "format"), ({"format": PARQUET, "csv_row_per_feature": True}, "csv_row_per_feature"),
                          ({"format": CSV, "filter": "nonsense ==="}, "filter"), ({"format": CSV, "experiment_id": "not-an-id"}, "experiment_id")):
        request = drift_pb2.ExportDriftsRequest(experiment_id=experiment_id, **fields) if "experiment_id" not in fields else drift_pb2.ExportDriftsRequest(**fields)
        with pytest.raises(RpcError) as caught:
            [m async for m in manager.drifts.ExportDrifts(request, timeout=30)]
        assert caught.value.code() == Code.INVALID_ARGUMENT and field in caught.value.details(), (fields, caught.value.details())


async def test_strangers_learn_nothing_and_nothing_else_leaks(people, exported):
    for persona in ("outsider", "anonymous", "reader"):
        with pytest.raises(RpcError) as caught:
            await _export(people[persona], exported["secret"].id, CSV)
        assert caught.value.code() == Code.NOT_FOUND and exported["secret"].name not in caught.value.details()
    for format in (CSV, JSONL, PARQUET):  # the secret experiment's run never shows up in the other one's export
        data, _ = await _export(people["manager"], exported["experiment"].id, format, csv_row_per_feature=False)
        assert b"secret-model-xyz" not in data and b"secret-tag-xyz" not in data and exported["secret"].id.encode() not in data


def _token(issuer, people) -> str:
    return issuer.keys.sign(people["manager"].persona.claims(issuer.url))


async def test_rest_download_is_the_file_itself(envoy, ca_pem, issuer, people, exported):
    url = f"{envoy.url}/v1/experiments/{exported['experiment'].id}/drifts:export"
    headers = {"authorization": f"Bearer {_token(issuer, people)}"}
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), timeout=120) as http:
        with http.stream("GET", url, params={"format": "EXPORT_FORMAT_CSV", "filter": "status = FAILED"}, headers=headers) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/csv")
            body = b"".join(response.iter_bytes())
        rows = list(csv.DictReader(io.StringIO(body.decode())))
        assert [r["id"] for r in rows] == [d.id for d in exported["runs"] if d.status == FAILED]
        parquet = http.get(url, params={"format": "EXPORT_FORMAT_PARQUET"}, headers=headers)
        assert parquet.status_code == 200 and pq.read_table(io.BytesIO(parquet.content)).num_rows == RUNS
        refused = http.get(f"{envoy.url}/v1/experiments/{exported['secret'].id}/drifts:export", params={"format": "EXPORT_FORMAT_CSV"},
                           headers={"authorization": f"Bearer {issuer.keys.sign(people['outsider'].persona.claims(issuer.url))}"})
        assert refused.status_code == 404 and b"secret-model-xyz" not in refused.content
        bad = http.get(url, params={"format": "EXPORT_FORMAT_CSV", "filter": "(("}, headers=headers)
        assert bad.status_code == 400 and "filter" in bad.text


async def test_the_command_writes_the_file_with_progress(envoy, ca_pem, issuer, people, exported, tmp_path):
    out = tmp_path / "runs.parquet"
    env = {**os.environ, "DRIFT_MONITOR_URL": envoy.target, "DRIFT_MONITOR_CA_BUNDLE": str(ca_pem), "DRIFT_MONITOR_TOKEN": _token(issuer, people),
           "DRIFT_MONITOR_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}
    name = exported["experiment"].name
    done = subprocess.run([sys.executable, "-m", "drift_monitoring", "export", name, "--filter", "status = COMPLETED", "--format", "parquet", "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    completed = [d.id for d in exported["runs"] if d.status == COMPLETED]
    assert pq.read_table(out).column("id").to_pylist() == completed
    assert f"exported {len(completed)} run(s)" in done.stdout
    steps = [line for line in done.stderr.splitlines() if line.startswith("export runs.parquet")]  # not a terminal: a line per 10 %
    assert len(steps) >= 2 and steps[-1].startswith("export runs.parquet 100%") and f"{len(completed)} runs" in steps[-1], done.stderr
    failed = subprocess.run([sys.executable, "-m", "drift_monitoring", "export", name, "--filter", "((", "-o", str(tmp_path / "bad.csv")],
                            env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode != 0 and "filter" in failed.stderr and not (tmp_path / "bad.csv").exists() and not (tmp_path / "bad.csv.part").exists()
