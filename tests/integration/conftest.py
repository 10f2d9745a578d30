"""Async clients for the registered personas, and a shared scenario of experiments with grants.

Transport (DM_TEST_TRANSPORT):
  edge (default)  through Envoy with TLS and signed tokens, the way every client connects;
  direct          straight to the server with the headers Envoy adds, to tell server bugs from edge bugs.
Tests of one server process's own behaviour (health, shutdown, a second process) always go direct.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import grpc
import pymongo
import pytest
import pytest_asyncio

from drift_monitoring.v1 import alert_pb2, drift_pb2, experiment_pb2
from stack import Issuer, Server
from tests.integration.helpers import (
    EDIT,
    GROUP,
    READ,
    REGISTERED,
    Api,
    Metadata,
    Persona,
    gateway_metadata,
    unique,
)

TRANSPORT = os.environ.get("DM_TEST_TRANSPORT", "edge")
assert TRANSPORT in ("edge", "direct"), f"DM_TEST_TRANSPORT must be edge or direct, not {TRANSPORT!r}"


@dataclass
class Gateway:
    """Makes clients for a persona (or None: anonymous) on the suite's transport."""

    channel: grpc.aio.Channel
    issuer: str
    metadata_for: Callable[[Persona | None], Metadata]

    def api(self, persona: Persona | None) -> Api:
        return Api(self.channel, self.metadata_for(persona), persona)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def gateway(request: pytest.FixtureRequest, server: Server, issuer: Issuer) -> AsyncIterator[Gateway]:
    if TRANSPORT == "direct":
        channel = grpc.aio.insecure_channel(server.target)

        def metadata_for(persona: Persona | None) -> Metadata:
            return gateway_metadata(persona.claims(issuer.url) if persona else None)
    else:
        envoy, ca_pem = request.getfixturevalue("envoy"), request.getfixturevalue("ca_pem")
        channel = grpc.aio.secure_channel(f"localhost:{envoy.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes()))

        def metadata_for(persona: Persona | None) -> Metadata:
            return (("authorization", f"Bearer {issuer.keys.sign(persona.claims(issuer.url))}"),) if persona else ()

    yield Gateway(channel, issuer.url, metadata_for)
    await channel.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def people(gateway: Gateway) -> dict[str, Api]:
    """admin, manager, editor, reader, outsider, group_member: registered. newbie: signed in, never
    registered. anonymous: no token at all."""
    people = {persona.name: await gateway.api(persona).register() for persona in REGISTERED}
    people["newbie"] = gateway.api(Persona("newbie", unique("it-newbie")))
    people["anonymous"] = gateway.api(None)
    return people


@pytest_asyncio.fixture(loop_scope="session")
async def direct_to() -> AsyncIterator[Callable[[Server], grpc.aio.Channel]]:
    """Open insecure aio channels straight to server processes; all closed after the test."""
    channels: list[grpc.aio.Channel] = []

    def open_channel(process: Server) -> grpc.aio.Channel:
        channels.append(grpc.aio.insecure_channel(process.target))
        return channels[-1]

    yield open_channel
    for channel in channels:
        await channel.close()


@pytest.fixture
def scratch_database(mongo_base: str) -> Iterator[tuple[str, pymongo.database.Database]]:
    """A database of the test's own (URI and handle), dropped afterwards: for tests that write thousands
    of documents, which would slow every later test on FerretDB."""
    name = f"dm_scratch_{uuid.uuid4().hex[:10]}"
    client = pymongo.MongoClient(mongo_base, tz_aware=True)
    yield f"{mongo_base}/{name}", client[name]
    client.drop_database(name)
    client.close()


def sample_rule_request(experiment_id: str, url: str = "https://alerts.invalid/hook") -> alert_pb2.CreateAlertRuleRequest:
    """A valid webhook rule (drift detected) on an experiment."""
    return alert_pb2.CreateAlertRuleRequest(experiment_id=experiment_id, rule=alert_pb2.AlertRule(
        display_name="drift", condition=alert_pb2.AlertCondition(drift_detected=alert_pb2.AlertCondition.DriftDetected()),
        channel=alert_pb2.AlertChannel(webhook=alert_pb2.WebhookChannel(url=url))))


@dataclass
class Scenario:
    """manager's private experiment (editor EDIT, reader READ, GROUP READ) and public one, 3 drifts each."""

    private: experiment_pb2.Experiment
    public: experiment_pb2.Experiment
    private_drifts: list[drift_pb2.Drift] = field(default_factory=list)
    public_drifts: list[drift_pb2.Drift] = field(default_factory=list)
    private_rule_id: str = ""  # a webhook alert rule on the private experiment

    @property
    def private_drift_id(self) -> str:
        return self.private_drifts[0].id

    @property
    def public_drift_id(self) -> str:
        return self.public_drifts[0].id


async def build_scenario(people: dict[str, Api], drifts: int = 3) -> Scenario:
    manager = people["manager"]
    grants = [
        experiment_pb2.Grant(entity=people["editor"].id, level=EDIT),
        experiment_pb2.Grant(entity=people["reader"].id, level=READ),
        experiment_pb2.Grant(entity=GROUP, level=READ),
    ]
    private = await manager.create_experiment(unique("private"), description="secret plans", grants=grants)
    public = await manager.create_experiment(unique("public"), description="open data", public=True)
    scenario = Scenario(private, public)
    scenario.private_rule_id = (await manager.alerts.CreateAlertRule(sample_rule_request(private.id))).id
    for index in range(drifts):
        scenario.private_drifts.append(await manager.create_drift(private.id, model=f"private-m{index}", tags=["private"]))
        scenario.public_drifts.append(await manager.create_drift(public.id, model=f"public-m{index}", tags=["public"]))
    return scenario


@pytest_asyncio.fixture(loop_scope="session")
async def scenario(people: dict[str, Api]) -> Scenario:
    """A fresh scenario per test, so tests may change or delete it."""
    return await build_scenario(people)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_scenario(people: dict[str, Api]) -> Scenario:
    """One scenario for a module's tests that leave it as it was (refusals, reads). Fewer documents
    keep the shared database fast: FerretDB scans whole collections, so every query slows as it grows."""
    return await build_scenario(people)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The query-plan and stored-schema checks run last: they check every query the session's servers sent,
    and every document they stored, before them."""
    last = ("tests/integration/test_query_plans.py", "tests/integration/test_stored_schema.py")
    items.sort(key=lambda item: item.nodeid.startswith(last))
