"""Who may do what: every persona against every RPC, as a table of expected status codes.

The scenario (fresh per test): manager owns a private experiment with grants editor=EDIT, reader=READ,
GROUP=READ (group_member holds GROUP); outsider holds another group only; newbie is signed in but never
registered; anonymous sends no token; admin holds the admin entitlement. A public experiment sits beside it.
A caller without READ learns nothing: NOT_FOUND, never PERMISSION_DENIED, and no name in the message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from drift_monitoring.v1 import alert_pb2, drift_pb2, experiment_pb2, user_pb2
from tests.integration.conftest import Scenario, build_scenario, sample_rule_request
from tests.integration.helpers import EDIT, GROUP, MANAGE, READ, Api, Code, RpcError, import_drifts, import_experiment, import_users

pytestmark = pytest.mark.asyncio(loop_scope="session")

OK = None
NF, PD, FP, UA = Code.NOT_FOUND, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION, Code.UNAUTHENTICATED
PERSONAS = ("admin", "manager", "editor", "reader", "group_member", "outsider", "newbie", "anonymous")
CAN_READ_PRIVATE = {"admin", "manager", "editor", "reader", "group_member"}


async def _export(api: Api, experiment_id: str) -> bytes:
    """The whole of a small CSV export (refusals arrive as the stream's error)."""
    request = drift_pb2.ExportDriftsRequest(experiment_id=experiment_id, format=drift_pb2.EXPORT_FORMAT_CSV)
    return b"".join([message.data async for message in api.drifts.ExportDrifts(request, timeout=30)])


async def _first_watch_message(api: Api, experiment_id: str, people: dict[str, Api]) -> drift_pb2.WatchDriftsResponse:
    """Open WatchDrifts and return its first message; a write right after opening makes one arrive
    quickly (else the 1 s heartbeat does). Refusals arrive at once as errors."""
    call = api.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), timeout=10)
    try:
        first = asyncio.ensure_future(call.read())
        done, _ = await asyncio.wait({first}, timeout=0.2)
        if not done:
            await people["manager"].create_drift(experiment_id, model="wake-up")
        message = await asyncio.wait_for(first, 5)
        assert message.type in (drift_pb2.DRIFT_EVENT_TYPE_CREATED, drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT), message
        return message
    finally:
        call.cancel()


def _drift_change(s: Scenario) -> drift_pb2.Drift:
    return drift_pb2.Drift(id=s.private_drift_id, experiment_id=s.private.id, tags=["changed"])


Call = Callable[[Api, Scenario, dict[str, Api]], Awaitable[Any]]
RPCS: dict[str, Call] = {
    # The private experiment.
    "GetExperiment": lambda api, s, p: api.get_experiment(s.private.id),
    "LookupExperiment": lambda api, s, p: api.lookup_experiment(s.private.name),
    "UpdateExperiment(description)": lambda api, s, p: api.update_experiment(s.private.id, ["description"], description="new"),
    "UpdateExperiment(name)": lambda api, s, p: api.update_experiment(s.private.id, ["name"], name=s.private.name + "-renamed"),
    "UpdateExperiment(public)": lambda api, s, p: api.update_experiment(s.private.id, ["public"], public=True),
    "UpdateExperiment(grants)": lambda api, s, p: api.update_experiment(
        s.private.id, ["grants"], grants=[experiment_pb2.Grant(entity="urn:x", level=READ)]
    ),
    "DeleteExperiment": lambda api, s, p: api.delete_experiment(s.private.id),
    "CreateDrift": lambda api, s, p: api.create_drift(s.private.id),
    "BatchCreateDrifts": lambda api, s, p: api.batch_create(s.private.id, [drift_pb2.Drift(model="b")] * 2),
    "GetDrift": lambda api, s, p: api.get_drift(s.private.id, s.private_drift_id),
    "ListDrifts": lambda api, s, p: api.list_drifts(s.private.id),
    "UpdateDrift": lambda api, s, p: api.drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=_drift_change(s))),
    "DeleteDrift": lambda api, s, p: api.delete_drift(s.private.id, s.private_drift_id),
    "RenewDriftLease": lambda api, s, p: api.drifts.RenewDriftLease(drift_pb2.RenewDriftLeaseRequest(
        experiment_id=s.private.id, drift_id=s.private_drift_id, lease_duration=duration_pb2.Duration(seconds=86400))),
    "WatchDrifts": lambda api, s, p: _first_watch_message(api, s.private.id, p),
    "ExportDrifts": lambda api, s, p: _export(api, s.private.id),
    # The public experiment: anyone reads, only granted people write.
    "public GetExperiment": lambda api, s, p: api.get_experiment(s.public.id),
    "public LookupExperiment": lambda api, s, p: api.lookup_experiment(s.public.name),
    "public GetDrift": lambda api, s, p: api.get_drift(s.public.id, s.public_drift_id),
    "public ListDrifts": lambda api, s, p: api.list_drifts(s.public.id),
    "public WatchDrifts": lambda api, s, p: _first_watch_message(api, s.public.id, p),
    "public ExportDrifts": lambda api, s, p: _export(api, s.public.id),
    "public CreateDrift": lambda api, s, p: api.create_drift(s.public.id),
    "public UpdateExperiment(description)": lambda api, s, p: api.update_experiment(s.public.id, ["description"], description="x"),
    "public DeleteExperiment": lambda api, s, p: api.delete_experiment(s.public.id),
    # Not about one experiment.
    "CreateExperiment": lambda api, s, p: api.create_experiment(),
    "ListExperiments": lambda api, s, p: api.list_experiments(),
    "GetCurrentUser": lambda api, s, p: api.users.GetCurrentUser(user_pb2.GetCurrentUserRequest()),
    "UpdateCurrentUser": lambda api, s, p: api.users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest()),
    "ListUsers": lambda api, s, p: api.users.ListUsers(user_pb2.ListUsersRequest()),
    "ImportUsers": lambda api, s, p: api.imports.ImportUsers(import_users()),
    "ImportExperiment": lambda api, s, p: api.imports.ImportExperiment(import_experiment()),
    "ImportDrifts": lambda api, s, p: api.imports.ImportDrifts(import_drifts(s.private.id)),
    "ListAuditEvents": lambda api, s, p: api.audit_events(s.private.id),
    "ListAuditEvents(all)": lambda api, s, p: api.audit_events(),
    # Alert rules (docs/alerts.md): EDIT reads them, MANAGE changes them.
    "CreateAlertRule": lambda api, s, p: api.alerts.CreateAlertRule(sample_rule_request(s.private.id)),
    "GetAlertRule": lambda api, s, p: api.alerts.GetAlertRule(alert_pb2.GetAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id)),
    "ListAlertRules": lambda api, s, p: api.alerts.ListAlertRules(alert_pb2.ListAlertRulesRequest(experiment_id=s.private.id)),
    "UpdateAlertRule": lambda api, s, p: api.alerts.UpdateAlertRule(alert_pb2.UpdateAlertRuleRequest(
        rule=alert_pb2.AlertRule(id=s.private_rule_id, experiment_id=s.private.id, display_name="renamed"),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]))),
    "DeleteAlertRule": lambda api, s, p: api.alerts.DeleteAlertRule(alert_pb2.DeleteAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id)),
    "TestAlertRule": lambda api, s, p: api.alerts.TestAlertRule(alert_pb2.TestAlertRuleRequest(experiment_id=s.private.id, rule_id=s.private_rule_id)),
    "RotateAlertRuleSecret": lambda api, s, p: api.alerts.RotateAlertRuleSecret(
        alert_pb2.RotateAlertRuleSecretRequest(experiment_id=s.private.id, rule_id=s.private_rule_id)),
    "ListAlertFirings": lambda api, s, p: api.alerts.ListAlertFirings(alert_pb2.ListAlertFiringsRequest(experiment_id=s.private.id)),
}

# fmt: off
#                                          admin manager editor reader group outsider newbie anonymous
MATRIX = {
    "GetExperiment":                          (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "LookupExperiment":                       (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "UpdateExperiment(description)":          (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "UpdateExperiment(name)":                 (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "UpdateExperiment(public)":               (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "UpdateExperiment(grants)":               (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "DeleteExperiment":                       (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "CreateDrift":                            (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "BatchCreateDrifts":                      (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "GetDrift":                               (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "ListDrifts":                             (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "UpdateDrift":                            (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "DeleteDrift":                            (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "RenewDriftLease":                        (OK,  OK,    OK,    PD,    PD,   NF,      FP,    UA),
    "WatchDrifts":                            (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "ExportDrifts":                           (OK,  OK,    OK,    OK,    OK,   NF,      NF,    NF),
    "public GetExperiment":                   (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public LookupExperiment":                (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public GetDrift":                        (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public ListDrifts":                      (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public WatchDrifts":                     (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public ExportDrifts":                    (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "public CreateDrift":                     (OK,  OK,    PD,    PD,    PD,   PD,      FP,    UA),
    "public UpdateExperiment(description)":   (OK,  OK,    PD,    PD,    PD,   PD,      FP,    UA),
    "public DeleteExperiment":                (OK,  OK,    PD,    PD,    PD,   PD,      FP,    UA),
    "CreateExperiment":                       (OK,  OK,    OK,    OK,    OK,   OK,      FP,    UA),
    "ListExperiments":                        (OK,  OK,    OK,    OK,    OK,   OK,      OK,    OK),
    "GetCurrentUser":                         (OK,  OK,    OK,    OK,    OK,   OK,      NF,    UA),
    "UpdateCurrentUser":                      (OK,  OK,    OK,    OK,    OK,   OK,      FP,    UA),
    "ListUsers":                              (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportUsers":                            (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportExperiment":                       (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ImportDrifts":                           (OK,  PD,    PD,    PD,    PD,   PD,      PD,    UA),
    "ListAuditEvents":                        (OK,  OK,    PD,    PD,    PD,   NF,      NF,    NF),
    "ListAuditEvents(all)":                   (OK,  PD,    PD,    PD,    PD,   PD,      PD,    PD),
    "CreateAlertRule":                        (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "GetAlertRule":                           (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
    "ListAlertRules":                         (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
    "UpdateAlertRule":                        (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "DeleteAlertRule":                        (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "TestAlertRule":                          (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "RotateAlertRuleSecret":                  (OK,  OK,    PD,    PD,    PD,   NF,      FP,    UA),
    "ListAlertFirings":                       (OK,  OK,    OK,    PD,    PD,   NF,      NF,    NF),
}
# fmt: on
CASES = [(rpc, persona, codes[column]) for rpc, codes in MATRIX.items() for column, persona in enumerate(PERSONAS)]


async def test_the_table_covers_every_rpc_and_persona():
    assert set(MATRIX) == set(RPCS)
    assert WRITES <= set(RPCS)
    assert all(len(row) == len(PERSONAS) for row in MATRIX.values())


# Rows whose calls change something run on a fresh scenario each; the others share one (it is faster,
# and the database stays small: FerretDB scans whole collections).
WRITES = {
    "UpdateExperiment(description)", "UpdateExperiment(name)", "UpdateExperiment(public)", "UpdateExperiment(grants)",
    "DeleteExperiment", "CreateDrift", "BatchCreateDrifts", "UpdateDrift", "DeleteDrift",
    "RenewDriftLease", "CreateAlertRule", "UpdateAlertRule", "DeleteAlertRule", "RotateAlertRuleSecret", "public CreateDrift", "public UpdateExperiment(description)", "public DeleteExperiment", "ImportDrifts",
}


@pytest.mark.parametrize(("rpc", "persona", "expected"), CASES, ids=[f"{rpc}-{persona}" for rpc, persona, _ in CASES])
async def test_matrix(people, shared_scenario, rpc, persona, expected):
    scenario = await build_scenario(people, drifts=1) if rpc in WRITES else shared_scenario
    call = RPCS[rpc](people[persona], scenario, people)
    if expected is OK:
        await call
        return
    with pytest.raises(RpcError) as caught:
        await call
    assert caught.value.code() == expected, f"{rpc} as {persona}: {caught.value.code().name} {caught.value.details()}"
    if expected is NF:  # nothing about the experiment leaks through the message either
        assert scenario.private.name not in (caught.value.details() or "")


async def test_refused_writes_change_nothing(people, scenario):
    """PERMISSION_DENIED and NOT_FOUND writes leave experiment and drifts exactly as they were."""
    manager = people["manager"]
    before = (await manager.get_experiment(scenario.private.id), list((await manager.list_drifts(scenario.private.id)).drifts))
    for persona in ("reader", "group_member", "outsider", "newbie", "anonymous"):
        for rpc in ("UpdateExperiment(description)", "DeleteExperiment", "CreateDrift", "UpdateDrift", "DeleteDrift"):
            with pytest.raises(RpcError):
                await RPCS[rpc](people[persona], scenario, people)
    after = (await manager.get_experiment(scenario.private.id), list((await manager.list_drifts(scenario.private.id)).drifts))
    assert after == before


@pytest.mark.parametrize("persona", PERSONAS)
async def test_list_shows_exactly_the_readable_experiments(people, scenario, persona):
    names: set[str] = set()
    request: dict[str, Any] = {"page_size": 1000}
    while True:
        page = await people[persona].list_experiments(**request)
        names |= {e.name for e in page.experiments}
        if not page.next_page_token:
            break
        request["page_token"] = page.next_page_token
    assert scenario.public.name in names
    assert (scenario.private.name in names) == (persona in CAN_READ_PRIVATE)


@pytest.mark.parametrize(
    ("persona", "access", "sees_grants"),
    [
        ("admin", MANAGE, True),
        ("manager", MANAGE, True),
        ("editor", EDIT, False),
        ("reader", READ, False),
        ("group_member", READ, False),
    ],
)
async def test_caller_access_and_grants_on_get_and_list(people, scenario, persona, access, sees_grants):
    api = people[persona]
    got = await api.get_experiment(scenario.private.id)
    listed = [e for e in (await api.list_experiments(filter=f'name = "{scenario.private.name}"')).experiments]
    assert [e.id for e in listed] == [scenario.private.id]
    for experiment in (got, listed[0]):
        assert experiment.caller_access == access
        expected = {(people["editor"].id, EDIT), (people["reader"].id, READ), (GROUP, READ)} if sees_grants else set()
        assert {(g.entity, g.level) for g in experiment.grants} == expected


@pytest.mark.parametrize("persona", ["outsider", "newbie", "anonymous"])
async def test_public_experiment_reads_as_read_access_without_grants(people, scenario, persona):
    got = await people[persona].get_experiment(scenario.public.id)
    assert got.caller_access == READ and list(got.grants) == []


async def test_description_edit_by_editor_does_not_expose_grants(people, scenario):
    updated = await people["editor"].update_experiment(scenario.private.id, ["description"], description="edited")
    assert updated.description == "edited" and list(updated.grants) == []


@pytest.mark.parametrize("text", ["name = \"{name}\"", "owner = \"{owner}\"", "public = false", "description = \"secret plans\""])
async def test_filters_never_reveal_unreadable_experiments(people, scenario, text):
    query = text.format(name=scenario.private.name, owner=scenario.private.owner)
    for persona in ("outsider", "newbie", "anonymous"):
        page = await people[persona].list_experiments(filter=query, page_size=1000)
        assert scenario.private.id not in {e.id for e in page.experiments}, f"{persona} found it with {query}"


async def test_revoking_a_grant_takes_effect_at_once(people, scenario):
    reader = people["reader"]
    assert (await reader.get_experiment(scenario.private.id)).id == scenario.private.id
    keep = [experiment_pb2.Grant(entity=people["editor"].id, level=EDIT)]
    await people["manager"].update_experiment(scenario.private.id, ["grants"], grants=keep)
    with pytest.raises(RpcError) as caught:
        await reader.get_experiment(scenario.private.id)
    assert caught.value.code() == NF
    with pytest.raises(RpcError) as caught:
        await people["group_member"].list_drifts(scenario.private.id)
    assert caught.value.code() == NF


async def test_publishing_and_unpublishing(people, scenario):
    outsider, manager = people["outsider"], people["manager"]
    await manager.update_experiment(scenario.private.id, ["public"], public=True)
    assert {d.id for d in (await outsider.list_drifts(scenario.private.id)).drifts} == {d.id for d in scenario.private_drifts}
    await manager.update_experiment(scenario.private.id, ["public"], public=False)
    with pytest.raises(RpcError) as caught:
        await outsider.list_drifts(scenario.private.id)
    assert caught.value.code() == NF


async def test_entitlement_grant_at_edit_lets_group_members_write(people, scenario):
    grants = [experiment_pb2.Grant(entity=GROUP, level=EDIT)]
    await people["manager"].update_experiment(scenario.private.id, ["grants"], grants=grants)
    drift = await people["group_member"].create_drift(scenario.private.id, model="by-the-group")
    assert drift.creator == people["group_member"].id
    with pytest.raises(RpcError) as caught:  # EDIT is not MANAGE
        await people["group_member"].delete_experiment(scenario.private.id)
    assert caught.value.code() == PD


async def test_manage_grant_makes_a_co_owner(people, scenario):
    grants = [experiment_pb2.Grant(entity=people["reader"].id, level=MANAGE)]
    await people["manager"].update_experiment(scenario.private.id, ["grants"], grants=grants)
    renamed = await people["reader"].update_experiment(scenario.private.id, ["name"], name=scenario.private.name + "-co")
    assert renamed.name.endswith("-co") and renamed.caller_access == MANAGE and renamed.owner == people["manager"].id
    await people["reader"].delete_experiment(scenario.private.id)
    with pytest.raises(RpcError) as caught:
        await people["manager"].get_experiment(scenario.private.id)
    assert caught.value.code() == NF
