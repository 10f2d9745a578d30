"""Persona × RPC through Envoy, with the RPC list taken from the service descriptors.

A new RPC in protos/ fails test_every_rpc_has_a_row until someone decides who may call it; the request
each row sends is built here too, so the table is the whole contract for that RPC. The integration
suite's table (tests/integration/test_permissions.py) covers variants of the same calls (update masks,
the public experiment); this one is generated, calls each RPC by its descriptor name, and adds attacks
that apply to every RPC alike: bad tokens at the edge and calls that bypass Envoy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from drift_monitoring.v1 import alert_pb2, audit_pb2, drift_pb2, experiment_pb2, imports_pb2, user_pb2
from server.settings import Settings
from tests.edge.test_edge import BAD_TOKENS
from tests.integration.conftest import Gateway, Scenario, build_scenario, sample_rule_request
from tests.integration.helpers import ADMIN, Api, Code, Persona, RpcError, gateway_metadata, import_drifts, import_experiment, import_users, unique
from tests.integration.test_permissions import MATRIX as INTEGRATION_MATRIX
from tests.integration.test_permissions import PERSONAS, _first_watch_message

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVICES = [
    experiment_pb2.DESCRIPTOR.services_by_name["ExperimentService"],
    drift_pb2.DESCRIPTOR.services_by_name["DriftService"],
    user_pb2.DESCRIPTOR.services_by_name["UserService"],
    imports_pb2.DESCRIPTOR.services_by_name["ImportService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    alert_pb2.DESCRIPTOR.services_by_name["AlertService"],
]
METHODS = {f"{service.name}/{method.name}": method for service in SERVICES for method in service.methods}

OK = None
NF, PD, FP, UA = Code.NOT_FOUND, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION, Code.UNAUTHENTICATED


def _mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


# The request each RPC is called with: on the scenario's private experiment (manager's; editor EDIT,
# reader READ, group_member READ through its group), built so that an allowed caller succeeds.
Build = Callable[[Scenario], Any]
REQUESTS: dict[str, Build] = {
    "ExperimentService/CreateExperiment": lambda s: experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=unique("authz"))),
    "ExperimentService/GetExperiment": lambda s: experiment_pb2.GetExperimentRequest(experiment_id=s.private.id),
    "ExperimentService/LookupExperiment": lambda s: experiment_pb2.LookupExperimentRequest(name=s.private.name),
    "ExperimentService/ListExperiments": lambda s: experiment_pb2.ListExperimentsRequest(filter=f'name = "{s.private.name}"'),
    "ExperimentService/UpdateExperiment": lambda s: experiment_pb2.UpdateExperimentRequest(
        experiment=experiment_pb2.Experiment(id=s.private.id, description="changed"), update_mask=_mask("description")),
    "ExperimentService/DeleteExperiment": lambda s: experiment_pb2.DeleteExperimentRequest(experiment_id=s.private.id),
    "DriftService/CreateDrift": lambda s: drift_pb2.CreateDriftRequest(experiment_id=s.private.id, drift=drift_pb2.Drift(model="authz")),
    "DriftService/BatchCreateDrifts": lambda s: drift_pb2.BatchCreateDriftsRequest(
        experiment_id=s.private.id, requests=[drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="authz"))]),
    "DriftService/GetDrift": lambda s: drift_pb2.GetDriftRequest(experiment_id=s.private.id, drift_id=s.private_drift_id),
    "DriftService/ListDrifts": lambda s: drift_pb2.ListDriftsRequest(experiment_id=s.private.id),
    "DriftService/UpdateDrift": lambda s: drift_pb2.UpdateDriftRequest(
        drift=drift_pb2.Drift(id=s.private_drift_id, experiment_id=s.private.id, tags=["changed"]), update_mask=_mask("tags")),
    "DriftService/DeleteDrift": lambda s: drift_pb2.DeleteDriftRequest(experiment_id=s.private.id, drift_id=s.private_drift_id),
    "DriftService/RenewDriftLease": lambda s: drift_pb2.RenewDriftLeaseRequest(
        experiment_id=s.private.id, drift_id=s.private_drift_id, lease_duration=duration_pb2.Duration(seconds=86400)),
    "DriftService/WatchDrifts": lambda s: drift_pb2.WatchDriftsRequest(experiment_id=s.private.id),
    "DriftService/ExportDrifts": lambda s: drift_pb2.ExportDriftsRequest(experiment_id=s.private.id, format=drift_pb2.EXPORT_FORMAT_CSV),
    "UserService/RegisterUser": lambda s: user_pb2.RegisterUserRequest(accept_terms=True),
    "UserService/GetCurrentUser": lambda s: user_pb2.GetCurrentUserRequest(),
    "UserService/UpdateCurrentUser": lambda s: user_pb2.UpdateCurrentUserRequest(),
    "UserService/ListUsers": lambda s: user_pb2.ListUsersRequest(),
    "ImportService/ImportUsers": lambda s: import_users(),
    "ImportService/ImportExperiment": lambda s: import_experiment(),
    "ImportService/ImportDrifts": lambda s: import_drifts(s.private.id),
    "AuditService/ListAuditEvents": lambda s: audit_pb2.ListAuditEventsRequest(experiment_id=s.private.id),
    "AlertService/CreateAlertRule": lambda s: sample_rule_request(s.private.id),
    "AlertService/GetAlertRule": lambda s: alert_pb2.GetAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id),
    "AlertService/ListAlertRules": lambda s: alert_pb2.ListAlertRulesRequest(experiment_id=s.private.id),
    "AlertService/UpdateAlertRule": lambda s: alert_pb2.UpdateAlertRuleRequest(
        rule=alert_pb2.AlertRule(id=s.private_rule_id, experiment_id=s.private.id, display_name="renamed"), update_mask=_mask("display_name")),
    "AlertService/DeleteAlertRule": lambda s: alert_pb2.DeleteAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id),
    "AlertService/TestAlertRule": lambda s: alert_pb2.TestAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id),
    "AlertService/RotateAlertRuleSecret": lambda s: alert_pb2.RotateAlertRuleSecretRequest(experiment_id=s.private.id, rule_id=s.private_rule_id),
    "AlertService/ListAlertFirings": lambda s: alert_pb2.ListAlertFiringsRequest(experiment_id=s.private.id),
}

# fmt: off
#                                          admin manager editor reader group outsider newbie anonymous
MATRIX = {
    "ExperimentService/CreateExperiment":     (OK,  OK,    OK,    OK,    OK,   OK,      FP,    UA),
    "ExperimentService/GetExperiment":        (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "ExperimentService/LookupExperiment":     (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "ExperimentService/ListExperiments":      (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "ExperimentService/UpdateExperiment":     (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "ExperimentService/DeleteExperiment":     (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "DriftService/CreateDrift":               (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DriftService/BatchCreateDrifts":         (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DriftService/GetDrift":                  (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "DriftService/ListDrifts":                (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "DriftService/UpdateDrift":               (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DriftService/DeleteDrift":               (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DriftService/RenewDriftLease":           (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DriftService/WatchDrifts":               (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "DriftService/ExportDrifts":              (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "UserService/RegisterUser":               (OK,  OK,    OK,    OK,    OK,   OK,      OK,    UA),
    "UserService/GetCurrentUser":             (OK,  OK,    OK,    OK,    OK,   OK,      NF,    UA),
    "UserService/UpdateCurrentUser":          (OK,  OK,    OK,    OK,    OK,   OK,      FP,    UA),
    "UserService/ListUsers":                  (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportService/ImportUsers":              (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportService/ImportExperiment":         (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportService/ImportDrifts":             (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "AuditService/ListAuditEvents":           (OK,  OK,    PD,    PD,    PD,   NF,      NF,    NF),
    # Alert rules: EDIT reads (rules say where notifications go), MANAGE changes, tests and rotates.
    "AlertService/CreateAlertRule":           (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "AlertService/GetAlertRule":              (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
    "AlertService/ListAlertRules":            (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
    "AlertService/UpdateAlertRule":           (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "AlertService/DeleteAlertRule":           (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "AlertService/TestAlertRule":             (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "AlertService/RotateAlertRuleSecret":     (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "AlertService/ListAlertFirings":          (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
}
# fmt: on
# Calls that change what they touch get a scenario of their own.
WRITES = {name for name in MATRIX if name.split("/")[1].startswith(("Update", "Delete", "Create", "BatchCreate", "Import", "Renew", "Rotate"))}
CASES = [(rpc, persona, codes[column]) for rpc, codes in MATRIX.items() for column, persona in enumerate(PERSONAS)]


async def test_every_rpc_has_a_row():
    """The descriptors are the list of RPCs: a new one must be given a row (and a request) here."""
    assert set(MATRIX) == set(METHODS), f"RPCs without a row: {sorted(set(METHODS) - set(MATRIX))}"
    assert set(REQUESTS) == set(METHODS)
    assert all(len(row) == len(PERSONAS) for row in MATRIX.values())
    for name in METHODS:  # and the integration table exercises every RPC too, in its variants
        assert any(row.split("(")[0].removeprefix("public ") == name.split("/")[1] for row in INTEGRATION_MATRIX) or name.startswith(
            "UserService/RegisterUser"
        ), f"{name} missing from tests/integration/test_permissions.py"


def _method(api: Api, name: str) -> Callable[..., Any]:
    service, method = name.split("/")
    stub = {"ExperimentService": api.experiments, "DriftService": api.drifts, "UserService": api.users, "ImportService": api.imports,
            "AuditService": api.audit, "AlertService": api.alerts}[service]
    return getattr(stub, method)


async def call(api: Api, name: str, request: Any, scenario: Scenario, people: dict[str, Api]) -> Any:
    if name == "DriftService/WatchDrifts":
        return await _first_watch_message(api, request.experiment_id, people)
    if METHODS[name].server_streaming:
        return [message async for message in _method(api, name)(request, timeout=30)]
    return await _method(api, name)(request)


@pytest.mark.parametrize(("rpc", "persona", "expected"), CASES, ids=[f"{rpc.split('/')[1]}-{persona}" for rpc, persona, _ in CASES])
async def test_matrix(gateway: Gateway, people, shared_scenario, rpc, persona, expected):
    scenario = await build_scenario(people, drifts=1) if rpc in WRITES else shared_scenario
    api = people[persona]
    if persona == "newbie" and rpc == "UserService/RegisterUser":  # registering would spoil the shared newbie
        api = gateway.api(Persona("newbie", unique("sec-newbie")))
    request = REQUESTS[rpc](scenario)
    if expected is OK:
        reply = await call(api, rpc, request, scenario, people)
        if rpc == "ExperimentService/ListExperiments":  # allowed to list, but only what they may read
            assert (scenario.private.id in {e.id for e in reply.experiments}) == (MATRIX["ExperimentService/GetExperiment"][PERSONAS.index(persona)] is OK)
        return
    with pytest.raises(RpcError) as caught:
        await call(api, rpc, request, scenario, people)
    assert caught.value.code() == expected, f"{rpc} as {persona}: {caught.value.code().name} {caught.value.details()}"
    if expected is NF:  # a refusal says nothing about the experiment
        assert scenario.private.name not in (caught.value.details() or "")


# -- bad tokens: every RPC, refused at the edge before anything runs ------------------------------------


@pytest.mark.parametrize("token_kind", sorted(BAD_TOKENS))
async def test_bad_tokens_are_refused_on_every_rpc(gateway: Gateway, issuer, people, shared_scenario, db, token_kind):
    token = BAD_TOKENS[token_kind](issuer)
    api = Api(gateway.channel, (("authorization", f"Bearer {token}"),))
    counts = (db.experiments.count_documents({}), db.drifts.count_documents({}), db.users.count_documents({}))
    for name in METHODS:
        request = REQUESTS[name](shared_scenario)
        with pytest.raises(RpcError) as caught:
            if METHODS[name].server_streaming:
                stream = _method(api, name)(request, timeout=10)
                await stream.read()
            else:
                await _method(api, name)(request)
        assert caught.value.code() == UA, f"{name} with a {token_kind} token: {caught.value.code().name}"
    assert (db.experiments.count_documents({}), db.drifts.count_documents({}), db.users.count_documents({})) == counts


# -- around Envoy: the backend port itself -------------------------------------------------------------


@pytest.mark.parametrize("headers", ["none", "forged identity", "wrong secret"])
async def test_every_rpc_refuses_calls_that_bypass_envoy(server, issuer, shared_scenario, headers):
    """The server port answers nothing without Envoy's secret, whatever identity headers come along."""
    metadata = {
        "none": (),
        "forged identity": gateway_metadata(ADMIN.claims(issuer.url))[1:],  # the payload without the secret
        "wrong secret": gateway_metadata(ADMIN.claims(issuer.url), secret="guessed-" * 4),
    }[headers]
    channel = grpc.aio.insecure_channel(server.target)
    try:
        direct = Api(channel, metadata)
        for name in METHODS:
            request = REQUESTS[name](shared_scenario)
            with pytest.raises(RpcError) as caught:
                if METHODS[name].server_streaming:
                    await _method(direct, name)(request, timeout=10).read()
                else:
                    await _method(direct, name)(request)
            assert caught.value.code() == UA, f"{name} direct with {headers}: {caught.value.code().name}"
    finally:
        await channel.close()


async def test_the_backend_listens_on_loopback_only(server):
    assert server.target.startswith("127.0.0.1:")
    assert Settings(proxy_secret="x" * 16).listen.startswith("127.0.0.1:")  # and so does the default


async def test_matrix_calls_run_concurrently_without_cross_talk(people, shared_scenario):
    """Identity is per call: interleaved calls by a reader and an outsider each get their own answer."""
    reader, outsider = people["reader"], people["outsider"]

    async def attempt(api: Api) -> str:
        try:
            await api.get_experiment(shared_scenario.private.id)
            return "ok"
        except RpcError as error:
            return error.code().name

    results = await asyncio.gather(*(attempt(reader if i % 2 else outsider) for i in range(40)))
    assert results == ["NOT_FOUND" if i % 2 == 0 else "ok" for i in range(40)]
