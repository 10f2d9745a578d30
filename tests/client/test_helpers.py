"""The one-call helpers, through Envoy, configured from the environment as a notebook user would."""

from __future__ import annotations

import uuid

import pytest

import drift_monitoring as dm


@pytest.fixture
def environment(monkeypatch, settings):
    for name, value in {"URL": settings["url"], "CA_BUNDLE": settings["ca_bundle"], "TOKEN": settings["token"], "STATE_DIR": str(settings["state_dir"])}.items():
        monkeypatch.setenv(f"DRIFT_MONITOR_{name}", value)


def test_register_create_and_find_from_the_environment(environment):
    user = dm.register(accept_terms=True)
    name = f"helpers-{uuid.uuid4().hex[:8]}"
    created = dm.new_experiment(name, "made by a helper", grants=[("urn:example:group:team", "read")])
    found = dm.find_experiment(name)
    assert user.id and found.id == created.id and found.description == "made by a helper"
    with pytest.raises(dm.NotFoundError, match="no experiment named"):
        dm.find_experiment(name + "-missing")
    with pytest.raises(dm.AlreadyExistsError):
        dm.new_experiment(name)


def test_registering_requires_accepting_the_terms(environment):
    with pytest.raises(dm.InvalidArgumentError, match="terms"):
        dm.register(accept_terms=False)
