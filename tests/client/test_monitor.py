"""DriftMonitor end to end through Envoy: the seed's example, the 1.x style, failures, offline runs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from drift_monitoring import Client, DriftMonitor, NotFoundError, UnavailableError, flush, sync
from drift_monitoring.offline import spool_for
from drift_monitoring.settings import Settings
from drift_monitoring.v1 import drift_pb2
from stack import ROOT, Envoy

COMPLETED, FAILED, RUNNING = drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED, drift_pb2.DRIFT_STATUS_RUNNING


def test_the_seed_example_runs_as_written(client, experiment, settings):
    with DriftMonitor(experiment.name, "model_1", **settings) as monitor:
        monitor.concept(True, {"kl_divergence": np.float64(0.31), "threshold": 0.1, "window": {"size": np.int64(1000)}})
        monitor.data(False, {"p_values": np.array([0.2, 0.5]), "when": dt.datetime(2026, 1, 1), "bad": float("nan")},
                     features=[{"feature": "age", "test": "ks", "statistic": 0.1, "p_value": 0.2, "detected": False}])
    assert flush()  # runs are sent in the background; this waits for them
    [drift] = client.list_drifts(experiment.id)
    assert drift.status == COMPLETED and drift.model == "model_1" and drift.HasField("end_time")
    assert drift.concept_drift.detected and drift.concept_drift.parameters["kl_divergence"] == pytest.approx(0.31)
    assert drift.concept_drift.parameters["window"]["size"] == 1000
    assert list(drift.data_drift.parameters["p_values"]) == [0.2, 0.5]
    assert drift.data_drift.parameters["when"] == "2026-01-01T00:00:00" and drift.data_drift.parameters["bad"] is None
    assert drift.data_drift.features[0].feature == "age" and drift.data_drift.features[0].p_value == pytest.approx(0.2)


def test_the_1x_style_single_verdict(client, experiment, settings):
    with DriftMonitor(experiment.name, "model_1", tags=["nightly"], **settings) as monitor:
        monitor(True, {"score": 0.9})
    assert flush()
    [drift] = client.list_drifts(experiment.id)
    assert drift.result.detected and drift.result.parameters["score"] == 0.9 and list(drift.tags) == ["nightly"]


def test_results_are_visible_while_the_job_runs(client, experiment, settings):
    with DriftMonitor(experiment.name, "model_1", **settings) as monitor:
        monitor.data(True, {"p": 0.01})
        assert flush()  # sent while the block still runs
        [running] = client.list_drifts(experiment.id)
        assert running.status == RUNNING and running.data_drift.detected


def test_an_exception_marks_the_run_failed_and_propagates(client, experiment, settings):
    with pytest.raises(ZeroDivisionError), DriftMonitor(experiment.name, "model_1", **settings):
        1 / 0  # noqa: B018
    assert flush()
    [drift] = client.list_drifts(experiment.id)
    assert drift.status == FAILED and drift.error_message == "ZeroDivisionError: division by zero"


def test_missing_experiment_is_a_clear_error(settings):
    with pytest.raises(NotFoundError, match="no experiment named 'nope-"):
        with DriftMonitor("nope-does-not-exist", "model_1", **settings):
            pass


def _unreachable(settings):
    return {**settings, "url": "localhost:9", "timeout": 0.5}  # nothing listens on the discard port


def test_server_down_the_job_finishes_and_sync_delivers_exactly_once(client, experiment, settings):
    with DriftMonitor(experiment.name, "offline-model", **_unreachable(settings)) as monitor:
        monitor.data(True, {"p": 0.01})
        assert monitor.offline
    spool = spool_for(Settings(**_unreachable(settings)))
    assert spool.pending() == 1
    # The records belong to the server they were meant for: point the same spool at the real one.
    flush()  # the background sender is done with the spool before it moves
    spool.directory.rename(spool_for(client.settings).directory)
    assert sync(client) == (1, 0)
    assert sync(client) == (0, 0)
    drifts = list(client.list_drifts(experiment.id))
    assert [(d.model, d.status, d.data_drift.detected) for d in drifts] == [("offline-model", COMPLETED, True)]


def test_strict_mode_raises_instead_of_spooling(settings, experiment):
    with pytest.raises(UnavailableError), DriftMonitor(experiment.name, "m", strict=True, **_unreachable(settings)):
        pass


def test_server_lost_mid_run_is_completed_by_sync(client, experiment, settings, run_dir, server, issuer, ca_pem):
    edge = Envoy(run_dir, "envoy-lost", server, issuer, ca_pem.parent)
    lost = {**settings, "url": f"localhost:{edge.port}", "timeout": 1}
    try:
        with DriftMonitor(experiment.name, "m", **lost) as monitor:
            monitor.concept(False, {"kl": 0.01})
            edge.stop()  # the network goes away while the job runs
            monitor.data(True, {"p": 0.02})
    finally:
        edge.stop()
    flush()  # the sender gives up on the lost server; the final state stays in the spool
    [running] = client.list_drifts(experiment.id)
    assert running.status == RUNNING
    spool = spool_for(Settings(**lost))
    flush()  # the background sender is done with the spool before it moves
    spool.directory.rename(spool_for(client.settings).directory)
    assert sync(client) == (1, 0)
    [drift] = client.list_drifts(experiment.id)
    assert drift.id == running.id and drift.status == COMPLETED and drift.data_drift.detected and not drift.concept_drift.detected


def test_processes_sharing_a_spool_neither_duplicate_nor_lose(client, experiment, settings):
    for index in range(24):
        with DriftMonitor(experiment.name, f"m{index}", **_unreachable(settings)):
            pass
    source = spool_for(Settings(**_unreachable(settings)))
    flush()  # the background sender is done with the spool before it moves
    source.directory.rename(spool_for(client.settings).directory)
    script = textwrap.dedent(f"""
        from drift_monitoring import Client, sync
        with Client(url={client.settings.url!r}, ca_bundle={client.settings.ca_bundle!r}, token={client.settings.token!r},
                    state_dir={str(client.settings.state_dir)!r}) as client:
            print(sync(client)[0])
    """)
    workers = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [worker.communicate(timeout=60) for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    sent = [int(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(sent) == 24  # no run sent by two of them
    assert spool_for(client.settings).pending() == 0
    models = sorted(d.model for d in client.list_drifts(experiment.id))
    assert models == sorted(f"m{i}" for i in range(24))


def test_client_reuse_after_close_is_an_error(settings):
    client = Client(**settings)
    client.close()
    client.close()  # idempotent
    with pytest.raises(Exception, match="closed"):
        client.me()


def test_after_one_unreachable_run_the_next_ones_do_not_wait(experiment, settings):
    unreachable = {**_unreachable(settings), "timeout": 3}
    started = time.monotonic()
    with DriftMonitor(experiment.name, "first", **unreachable):
        pass
    first = time.monotonic() - started
    started = time.monotonic()
    with DriftMonitor(experiment.name, "second", **unreachable) as monitor:
        assert monitor.offline
    second = time.monotonic() - started
    # The first retried until its timeout's budget ran low (jittered backoff: over a second); the next did not try.
    assert first >= 1.0 and second < 0.5 and second * 10 < first, (first, second)
    assert spool_for(Settings(**unreachable)).pending() == 2


def test_an_offline_run_stays_private_to_its_user(experiment, settings):
    """Spooled runs carry private results: under the usual umask (022) the spool directory is still
    0700 and each record 0600, whichever comes first: the breaker's marker or the record."""
    previous = os.umask(0o022)
    try:
        with DriftMonitor(experiment.name, "private-model", **_unreachable(settings)) as monitor:
            monitor.data(True, {"p": 0.01})
        flush()
    finally:
        os.umask(previous)
    spool = spool_for(Settings(**_unreachable(settings)))
    assert spool.pending() == 1
    assert spool.directory.stat().st_mode & 0o777 == 0o700
    assert {path.name: path.stat().st_mode & 0o077 for path in spool.directory.iterdir()} == {path.name: 0 for path in spool.directory.iterdir()}
