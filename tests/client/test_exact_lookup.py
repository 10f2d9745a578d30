"""A name with filter metacharacters never resolves to another experiment: find_experiment, DriftMonitor
and sync() all look experiments up by exact name (LookupExperiment), and check the name that comes back."""

from __future__ import annotations

import uuid

import pytest

from drift_monitoring import Client, DriftMonitor, NotFoundError, flush, sync
from drift_monitoring.offline import spool_for
from drift_monitoring.settings import Settings
from tests.integration.test_experiments import METACHARACTER_SUFFIXES


@pytest.mark.parametrize("suffix", METACHARACTER_SUFFIXES)
def test_find_experiment_is_exact(client: Client, suffix: str):
    stem = f"lookup-{uuid.uuid4().hex[:8]}"
    decoy = client.new_experiment(f"{stem}!decoy")  # first by name among everything starting with stem
    with pytest.raises(NotFoundError, match="no experiment named"):
        client.find_experiment(stem + suffix)
    wanted = client.new_experiment(stem + suffix)
    assert client.find_experiment(stem + suffix).id == wanted.id
    assert client.find_experiment(decoy.name).id == decoy.id


def test_a_run_lands_in_the_experiment_named_and_nowhere_else(client: Client, settings):
    stem = f"lookup-{uuid.uuid4().hex[:8]}"
    decoy = client.new_experiment(f"{stem}!decoy")
    with pytest.raises(NotFoundError):
        with DriftMonitor(stem + "*", "model_1", **settings):
            pass
    wanted = client.new_experiment(stem + "*")
    with DriftMonitor(wanted.name, "model_1", **settings) as monitor:
        monitor(True, {"score": 1.0})
    assert flush()
    assert [d.model for d in client.list_drifts(wanted.id)] == ["model_1"]
    assert list(client.list_drifts(decoy.id)) == []


def test_sync_delivers_a_spooled_run_to_the_exact_name(client: Client, settings):
    stem = f"lookup-{uuid.uuid4().hex[:8]}"
    decoy = client.new_experiment(f"{stem}!decoy")
    wanted = client.new_experiment(stem + ".*")
    offline = {**settings, "url": "localhost:9", "timeout": 0.5}  # nothing listens there: the run is spooled
    with DriftMonitor(wanted.name, "model_1", **offline) as monitor:
        monitor(False, {"score": 0.0})
    flush()
    spool_for(Settings(**offline)).directory.rename(spool_for(client.settings).directory)
    assert sync(client) == (1, 0)
    assert [d.model for d in client.list_drifts(wanted.id)] == ["model_1"]
    assert list(client.list_drifts(decoy.id)) == []
