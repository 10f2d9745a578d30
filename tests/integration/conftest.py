"""Personas (registered once per session) and a shared scenario of experiments with grants."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
import pytest

from drift_monitoring.v1 import experiment_pb2
from sandbox import personas as sandbox
from sandbox.issuer.keys import persona_claims
from tests.harness import Issuer
from tests.integration.helpers import GROUP, Api, claims_for, edge_api, unique

READ, EDIT, MANAGE = experiment_pb2.ACCESS_LEVEL_READ, experiment_pb2.ACCESS_LEVEL_EDIT, experiment_pb2.ACCESS_LEVEL_MANAGE


@pytest.fixture(scope="session")
def people(channel: grpc.Channel, issuer: Issuer) -> dict[str, Api]:
    """admin, manager, editor, reader, outsider (sandbox personas), member (of GROUP), all registered;
    newbie (signed in, never registered) and anonymous. All call through Envoy with signed tokens."""
    people = {name: edge_api(channel, issuer, persona_claims(name, issuer.url)).register() for name in sandbox.NAMES}
    people["member"] = edge_api(channel, issuer, claims_for("member", [GROUP], issuer.url)).register()
    people["newbie"] = edge_api(channel, issuer, claims_for(unique("newbie"), [], issuer.url))
    people["anonymous"] = edge_api(channel, issuer, None)
    return people


@dataclass
class Scenario:
    private: experiment_pb2.Experiment
    public: experiment_pb2.Experiment
    private_drift_id: str
    public_drift_id: str


@pytest.fixture
def scenario(people: dict[str, Api]) -> Scenario:
    """A private experiment of manager's (editor EDIT, reader READ, GROUP READ) and a public one."""
    manager = people["manager"]
    grants = [
        experiment_pb2.Grant(entity=people["editor"].id, level=EDIT),
        experiment_pb2.Grant(entity=people["reader"].id, level=READ),
        experiment_pb2.Grant(entity=GROUP, level=READ),
    ]
    private = manager.create_experiment(unique("private"), description="secret plans", grants=grants)
    public = manager.create_experiment(unique("public"), public=True)
    return Scenario(
        private, public, manager.create_drift(private.id, model="m-private").id, manager.create_drift(public.id, model="m-public").id
    )
