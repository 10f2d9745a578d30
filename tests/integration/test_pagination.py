"""Keyset pagination: stable under inserts, ordered as asked, tokens bound to their request."""

import base64

import pytest

from drift_monitoring.v1 import drift_pb2
from tests.integration.helpers import Code, expect_error


def _walk(api, experiment_id, size, on_page=None, **fields):
    seen, token = [], ""
    while True:
        page = api.list_drifts(experiment_id, page_size=size, page_token=token, **fields)
        seen += page.drifts
        if on_page:
            on_page()
        token = page.next_page_token
        if not token:
            return seen


@pytest.fixture
def filled(people):
    manager = people["manager"]
    experiment = manager.create_experiment()
    requests = [
        drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"m{i % 4}", status=1 + i % 3), request_id=str(i)) for i in range(23)
    ]
    manager.drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests))
    return experiment.id


def test_inserts_while_paging_never_duplicate_or_skip(people, filled):
    manager = people["manager"]
    before = {d.id for d in _walk(manager, filled, 100)}
    seen = _walk(manager, filled, 4, on_page=lambda: manager.create_drift(filled))
    ids = [d.id for d in seen]
    assert len(ids) == len(set(ids)), "a drift appeared twice"
    assert before <= set(ids), "a drift that existed before paging was skipped"


@pytest.mark.parametrize("order_by", ["create_time", "create_time desc", "model", "model desc", "status", "status asc", "update_time desc", "start_time"])
def test_order_by(people, filled, order_by):
    field, *direction = order_by.split()
    seen = _walk(people["manager"], filled, 5, order_by=order_by)
    assert len(seen) == 23
    if field == "status":  # statuses sort by name, as stored: COMPLETED < FAILED < RUNNING
        keys = [drift_pb2.DriftStatus.Name(d.status) for d in seen]
    else:
        keys = [getattr(d, field).ToDatetime() if field.endswith("_time") else getattr(d, field) for d in seen]
    assert keys == sorted(keys, reverse=direction == ["desc"])


def test_default_order_is_newest_first(people, filled):
    seen = _walk(people["manager"], filled, 7)
    times = [(d.create_time.ToDatetime(), d.id) for d in seen]
    assert times == sorted(times, reverse=True)


def test_token_is_bound_to_filter_order_and_experiment(people, filled, scenario):
    manager = people["manager"]
    token = manager.list_drifts(filled, page_size=2).next_page_token
    assert token
    for fields in ({"filter": "model = m1"}, {"order_by": "model"}):
        expect_error(Code.INVALID_ARGUMENT, lambda: manager.list_drifts(filled, page_size=2, page_token=token, **fields), mentions="page_token")
    expect_error(Code.INVALID_ARGUMENT, lambda: manager.list_drifts(scenario.public.id, page_token=token), mentions="page_token")


def test_tampered_token_is_refused(people, filled):
    manager = people["manager"]
    token = manager.list_drifts(filled, page_size=2).next_page_token
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[5] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    expect_error(Code.INVALID_ARGUMENT, lambda: manager.list_drifts(filled, page_size=2, page_token=forged), mentions="page_token")


def test_token_does_not_bypass_authorization(people, scenario):
    manager = people["manager"]
    for _ in range(3):
        manager.create_drift(scenario.private.id)
    token = manager.list_drifts(scenario.private.id, page_size=1).next_page_token
    expect_error(Code.NOT_FOUND, lambda: people["outsider"].list_drifts(scenario.private.id, page_size=1, page_token=token))
