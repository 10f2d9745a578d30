"""Who may do what: every persona against every RPC on a private experiment (and the public one).

manager owns the private experiment; editor has EDIT, reader READ, member READ through the GROUP
entitlement; outsider has nothing; newbie is signed in but never registered; admin holds the admin
entitlement. A caller without READ must learn nothing: NOT_FOUND, never PERMISSION_DENIED.
"""

import grpc
import pytest
from google.protobuf import field_mask_pb2

from drift_monitoring.v1 import drift_pb2, experiment_pb2, user_pb2
from tests.integration.helpers import Code

OK, NF, PD, FP, UA = None, Code.NOT_FOUND, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION, Code.UNAUTHENTICATED
PERSONAS = ("admin", "manager", "editor", "reader", "member", "outsider", "newbie", "anonymous")


def _mask(experiment_id, **fields):
    return experiment_pb2.UpdateExperimentRequest(
        experiment=experiment_pb2.Experiment(id=experiment_id, **fields), update_mask=field_mask_pb2.FieldMask(paths=list(fields))
    )


def _watch_first(api, experiment_id):
    stream = api.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), timeout=10)
    try:
        return next(stream)  # a heartbeat arrives within DRIFT_MONITOR_HEARTBEAT_SECONDS (1 s here)
    finally:
        stream.cancel()


RPCS = {
    "GetExperiment": lambda api, s: api.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=s.private.id)),
    "UpdateExperiment.description": lambda api, s: api.experiments.UpdateExperiment(_mask(s.private.id, description="new")),
    "UpdateExperiment.public": lambda api, s: api.experiments.UpdateExperiment(_mask(s.private.id, public=True)),
    "DeleteExperiment": lambda api, s: api.experiments.DeleteExperiment(experiment_pb2.DeleteExperimentRequest(experiment_id=s.private.id)),
    "CreateDrift": lambda api, s: api.create_drift(s.private.id),
    "GetDrift": lambda api, s: api.drifts.GetDrift(drift_pb2.GetDriftRequest(experiment_id=s.private.id, drift_id=s.private_drift_id)),
    "ListDrifts": lambda api, s: api.list_drifts(s.private.id),
    "UpdateDrift": lambda api, s: api.drifts.UpdateDrift(
        drift_pb2.UpdateDriftRequest(drift=drift_pb2.Drift(id=s.private_drift_id, experiment_id=s.private.id, tags=["x"]))
    ),
    "DeleteDrift": lambda api, s: api.drifts.DeleteDrift(drift_pb2.DeleteDriftRequest(experiment_id=s.private.id, drift_id=s.private_drift_id)),
    "WatchDrifts": lambda api, s: _watch_first(api, s.private.id),
    "ListUsers": lambda api, s: api.users.ListUsers(user_pb2.ListUsersRequest()),
    "public.GetExperiment": lambda api, s: api.experiments.GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=s.public.id)),
    "public.ListDrifts": lambda api, s: api.list_drifts(s.public.id),
    "public.CreateDrift": lambda api, s: api.create_drift(s.public.id),
}

#                                admin manager editor reader member outsider newbie anonymous
MATRIX = {
    "GetExperiment":                (OK, OK, OK, OK, OK, NF, NF, NF),
    "UpdateExperiment.description": (OK, OK, OK, PD, PD, NF, FP, UA),
    "UpdateExperiment.public":      (OK, OK, PD, PD, PD, NF, FP, UA),
    "DeleteExperiment":             (OK, OK, PD, PD, PD, NF, FP, UA),
    "CreateDrift":                  (OK, OK, OK, PD, PD, NF, FP, UA),
    "GetDrift":                     (OK, OK, OK, OK, OK, NF, NF, NF),
    "ListDrifts":                   (OK, OK, OK, OK, OK, NF, NF, NF),
    "UpdateDrift":                  (OK, OK, OK, PD, PD, NF, FP, UA),
    "DeleteDrift":                  (OK, OK, OK, PD, PD, NF, FP, UA),
    "WatchDrifts":                  (OK, OK, OK, OK, OK, NF, NF, NF),
    "ListUsers":                    (OK, PD, PD, PD, PD, PD, PD, UA),
    "public.GetExperiment":         (OK, OK, OK, OK, OK, OK, OK, OK),
    "public.ListDrifts":            (OK, OK, OK, OK, OK, OK, OK, OK),
    "public.CreateDrift":           (OK, OK, PD, PD, PD, PD, FP, UA),
}
CASES = [(rpc, persona, codes[i]) for rpc, codes in MATRIX.items() for i, persona in enumerate(PERSONAS)]


@pytest.mark.parametrize(("rpc", "persona", "expected"), CASES, ids=[f"{r}-{p}" for r, p, _ in CASES])
def test_matrix(people, scenario, rpc, persona, expected):
    call = RPCS[rpc]
    if expected is OK:
        call(people[persona], scenario)
        return
    with pytest.raises(grpc.RpcError) as caught:
        call(people[persona], scenario)
    assert caught.value.code() == expected, caught.value.details()
    if expected is NF:  # nothing about the experiment leaks through the message either
        assert scenario.private.name not in caught.value.details()


@pytest.mark.parametrize("persona", PERSONAS)
def test_list_shows_exactly_the_readable_experiments(people, scenario, persona):
    names = set()
    request = experiment_pb2.ListExperimentsRequest(page_size=1000)
    while True:
        page = people[persona].experiments.ListExperiments(request)
        names |= {e.name for e in page.experiments}
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert scenario.public.name in names
    assert (scenario.private.name in names) == (persona in ("admin", "manager", "editor", "reader", "member"))


def test_grants_are_shown_only_to_managers(people, scenario):
    def grants(persona):
        request = experiment_pb2.GetExperimentRequest(experiment_id=scenario.private.id)
        return people[persona].experiments.GetExperiment(request)

    assert len(grants("manager").grants) == 3 and grants("manager").caller_access == experiment_pb2.ACCESS_LEVEL_MANAGE
    assert len(grants("editor").grants) == 0 and grants("editor").caller_access == experiment_pb2.ACCESS_LEVEL_EDIT
    assert grants("member").caller_access == experiment_pb2.ACCESS_LEVEL_READ


def test_private_experiment_is_not_found_by_name_filter(people, scenario):
    page = people["outsider"].experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(filter=f'name = "{scenario.private.name}"'))
    assert list(page.experiments) == []
