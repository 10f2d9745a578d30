"""Contract corners found by probing the server directly: values the database cannot store, and error
messages that must name the request field to fix. Every refusal is followed by a re-read.

These hold the server to the documented contract; when one fails, the server is wrong, not the test
(see the suite's report of suspected server bugs).
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import Code, RpcError, expect_error, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _feature(**fields: float) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="m")
    drift.data_drift.features.add(feature="income", test="ks", **fields)
    return drift


FEATURE_CASES = {
    f"{name} {field}": (field, value) for name, value in NON_FINITE.items() for field in ("statistic", "p_value", "threshold")
}


@pytest.mark.parametrize("case", FEATURE_CASES)
async def test_non_finite_feature_numbers_are_invalid_argument(people, shared_scenario, db, case):
    """Like parameters, feature numbers must be finite: INVALID_ARGUMENT naming the field, never an
    INTERNAL or UNAVAILABLE from the database choking on the value."""
    field, value = FEATURE_CASES[case]
    experiment_id = shared_scenario.private.id
    before = db.drifts.count_documents({"experiment": ObjectId(experiment_id)})
    request = drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=_feature(**{field: value}), request_id=unique("nan"))
    error = await expect_error(Code.INVALID_ARGUMENT, people["editor"].drifts.CreateDrift(request))
    assert error.details().startswith(f"drift.data_drift.features[0].{field}"), error.details()
    assert db.drifts.count_documents({"experiment": ObjectId(experiment_id)}) == before


async def test_batch_with_a_non_finite_feature_stores_nothing(people, db):
    """All or nothing: one unstorable item refuses the whole batch, and no event is written."""
    manager = people["manager"]
    experiment = await manager.create_experiment()
    good = drift_pb2.Drift(model="fine")
    bad = _feature(p_value=float("inf"))
    with pytest.raises(RpcError) as caught:
        await manager.batch_create(experiment.id, [good, good, bad], prefix="b-")
    stored = db.drifts.count_documents({"experiment": ObjectId(experiment.id)})
    events = db.events.count_documents({"experiment": ObjectId(experiment.id)})
    await manager.delete_experiment(experiment.id)
    # (code, drifts stored, events written): a half-stored batch without events is invisible to watchers.
    assert (caught.value.code(), stored, events) == (Code.INVALID_ARGUMENT, 0, 0), caught.value.details()
    assert caught.value.details().startswith("requests[2].drift.data_drift.features[0].p_value"), caught.value.details()


NESTED_LISTS = {
    "list in a list": {"matrix": [[1, 2], [3, 4]]},
    "list in a list in an object": {"window": {"bins": [[0.0, 0.5], [0.5, 1.0]]}},
}


@pytest.mark.parametrize("case", NESTED_LISTS)
async def test_nested_lists_in_parameters_round_trip_or_are_refused(people, shared_scenario, db, case):
    """A Struct may hold lists of lists (a confusion matrix, histogram bins). The server either keeps
    them exactly or refuses them with INVALID_ARGUMENT naming the parameter; an INTERNAL error (the
    database refusing the document) is neither."""
    experiment_id = shared_scenario.private.id
    drift = drift_pb2.Drift(model="m")
    drift.concept_drift.parameters.update(NESTED_LISTS[case])
    before = db.drifts.count_documents({"experiment": ObjectId(experiment_id)})
    request = drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=drift, request_id=unique("nested"))
    try:
        created = await people["editor"].drifts.CreateDrift(request)
    except Exception as error:  # noqa: BLE001 - the assertion says what arrived
        code = getattr(error, "code", lambda: None)()
        assert code == Code.INVALID_ARGUMENT, f"expected a round trip or INVALID_ARGUMENT, got {code}: {getattr(error, 'details', lambda: error)()}"
        assert error.details().startswith("drift.concept_drift.parameters"), error.details()
        assert db.drifts.count_documents({"experiment": ObjectId(experiment_id)}) == before
        return
    stored = await people["editor"].get_drift(experiment_id, created.id)
    assert stored.concept_drift.parameters == drift.concept_drift.parameters


async def test_update_drift_without_experiment_id_names_drift_experiment_id(people, shared_scenario):
    """UpdateDrift addresses the drift by drift.experiment_id and drift.id: the message names the
    request's field path, as every INVALID_ARGUMENT does."""
    drift = drift_pb2.Drift(id=shared_scenario.private_drift_id, model="x")
    error = await expect_error(Code.INVALID_ARGUMENT, people["editor"].drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=drift)))
    assert error.details().startswith("drift.experiment_id"), error.details()
    stored = await people["editor"].get_drift(shared_scenario.private.id, shared_scenario.private_drift_id)
    assert stored.model == shared_scenario.private_drifts[0].model


async def test_update_experiment_without_id_names_experiment_id(people, shared_scenario):
    error = await expect_error(Code.INVALID_ARGUMENT, people["manager"].update_experiment("", ["description"], description="x"))
    assert error.details().startswith("experiment.id"), error.details()
