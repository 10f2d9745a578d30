"""Through Envoy with real tokens, every condition fires and resolves as docs/alerts.md says, at a real
HTTPS receiver, and every notification's signature is verified by an independent implementation (the
`standardwebhooks` package)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from google.protobuf import duration_pb2
from standardwebhooks import Webhook

from drift_monitoring.v1 import alert_pb2, drift_pb2

C = alert_pb2.AlertCondition
COMPLETED, FAILED = drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED


def drifted(detected: bool = True, features: dict[str, bool] | None = None) -> dict[str, Any]:
    result = drift_pb2.DriftResult(detected=detected, features=[drift_pb2.FeatureResult(feature=f, detected=d) for f, d in (features or {}).items()])
    return {"status": COMPLETED, "model": "m", "data_drift": result}


def types(found: list[dict[str, Any]]) -> list[str]:
    return [json.loads(r["body"])["type"] for r in found]


def verified(found: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    """Each request's payload, after the independent library accepted its signature."""
    hook = Webhook(secret)
    return [hook.verify(r["body"], {k: r["headers"][k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}) for r in found]


def fire_then_resolve(api, receiver, make_rule, fire, resolve, timeout: float = 20) -> list[dict[str, Any]]:  # noqa: ANN001
    experiment = api.experiment()
    path = f"ok/{uuid.uuid4().hex[:8]}"
    rule = make_rule(experiment, receiver.url(path))
    fire(experiment)
    receiver.wait(path, lambda found: "alert.firing" in types(found), timeout)
    resolve(experiment)
    found = receiver.wait(path, lambda found: "alert.resolved" in types(found), timeout)
    assert types(found) == ["alert.firing", "alert.resolved"]
    payloads = verified(found, rule.channel.webhook.secret)
    assert [p["data"]["rule_id"] for p in payloads] == [rule.id] * 2
    ids = [r["headers"]["webhook-id"] for r in found]
    assert len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
    return payloads


def test_drift_detected_fires_and_resolves_and_the_filter_narrows(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(drift_detected=C.DriftDetected(kind=alert_pb2.DRIFT_KIND_DATA)), filter='model = "m"')

    def fire(experiment: str) -> None:
        api.drift(experiment, **{**drifted(), "model": "other"})  # outside the filter: nothing
        time.sleep(1)
        api.drift(experiment, **drifted())

    payloads = fire_then_resolve(api, receiver, make, fire, lambda e: api.drift(e, **drifted(False)))
    assert "drift detected" in payloads[0]["data"]["summary"] and "(model m)" in payloads[0]["data"]["summary"]


def test_a_named_feature(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(feature_detected=C.FeatureDetected(features=["age", "income"])))

    def fire(experiment: str) -> None:
        api.drift(experiment, **drifted(True, {"zip": True}))  # drift, but not on a named feature
        time.sleep(1)
        api.drift(experiment, **drifted(True, {"income": True, "zip": True}))

    payloads = fire_then_resolve(api, receiver, make, fire, lambda e: api.drift(e, **drifted(True, {"income": False, "zip": True})))
    assert "drift on income" in payloads[0]["data"]["summary"]


def test_k_of_n(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(k_of_n=C.KOfN(k=2, n=3)))

    def fire(experiment: str) -> None:
        api.drift(experiment, **drifted())
        api.drift(experiment, **drifted(False))
        api.drift(experiment, **drifted())

    def resolve(experiment: str) -> None:
        for _ in range(2):
            api.drift(experiment, **drifted(False))

    payloads = fire_then_resolve(api, receiver, make, fire, resolve)
    assert payloads[0]["data"]["summary"].startswith("2 of the last 3 runs drifted")


def test_drift_rate_over_a_window(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(drift_rate=C.DriftRate(window=duration_pb2.Duration(seconds=3), threshold=0.5, min_runs=2)))

    def fire(experiment: str) -> None:
        api.drift(experiment, **drifted())  # one run: below min_runs
        time.sleep(1)
        api.drift(experiment, **drifted(False))
        api.drift(experiment, **drifted())

    payloads = fire_then_resolve(api, receiver, make, fire, lambda e: None)  # the runs age out of the window
    assert payloads[0]["data"]["summary"].startswith("drift rate 0.67")


def test_a_failed_run(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(run_failed=C.RunFailed()))

    payloads = fire_then_resolve(api, receiver, make, lambda e: api.drift(e, model="m", status=FAILED, error_message="out of memory"),
                                 lambda e: api.drift(e, model="m", status=COMPLETED))
    assert "FAILED: out of memory" in payloads[0]["data"]["summary"]


def test_a_lost_run_and_its_late_completion(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(run_lost=C.RunLost()))

    runs: dict[str, drift_pb2.Drift] = {}

    def fire(experiment: str) -> None:
        runs["lost"] = api.drift(experiment, model="m", lease_duration=duration_pb2.Duration(seconds=1))  # nobody renews it

    def resolve(experiment: str) -> None:  # the job was only unreachable: its completion lands
        api.update(drift_pb2.Drift(id=runs["lost"].id, experiment_id=experiment, status=COMPLETED), "status")

    payloads = fire_then_resolve(api, receiver, make, fire, resolve)
    assert "was LOST: no heartbeat" in payloads[0]["data"]["summary"]


def test_no_run_for_a_period(api, receiver):
    def make(experiment: str, url: str) -> alert_pb2.AlertRule:
        return api.rule(experiment, url, condition=C(no_run=C.NoRun(period=duration_pb2.Duration(seconds=2))))

    payloads = fire_then_resolve(api, receiver, make, lambda e: None, lambda e: api.drift(e, model="m"))
    assert payloads[0]["data"]["summary"] == "no run started in the last 2 s"


def test_pending_duration_holds_back_a_short_blip(api, receiver):
    experiment = api.experiment()
    path = f"ok/{uuid.uuid4().hex[:8]}"
    api.rule(experiment, receiver.url(path), condition=C(run_failed=C.RunFailed()), pending_duration=duration_pb2.Duration(seconds=2))
    api.drift(experiment, model="m", status=FAILED)
    time.sleep(0.8)
    api.drift(experiment, model="m", status=COMPLETED)  # over before the pending time: never fires
    time.sleep(3)
    assert receiver.requests(path) == []
    api.drift(experiment, model="m", status=FAILED)
    started = time.monotonic()
    receiver.wait(path, lambda found: types(found) == ["alert.firing"])
    assert time.monotonic() - started >= 1.9


def test_a_burst_of_drifted_runs_is_one_notification_and_repeats_keep_the_alert_alive(api, receiver):
    experiment = api.experiment()
    path = f"ok/{uuid.uuid4().hex[:8]}"
    api.rule(experiment, receiver.url(path), condition=C(drift_detected=C.DriftDetected()), repeat_interval=duration_pb2.Duration(seconds=3))
    for _ in range(5):
        api.batch(experiment, [drift_pb2.Drift(**drifted()) for _ in range(200)])
    found = receiver.wait(path, lambda found: "alert.repeat" in types(found), timeout=30)
    assert types(found) == ["alert.firing", "alert.repeat"]


def test_group_by_model_gives_one_alert_per_model(api, receiver):
    experiment = api.experiment()
    path = f"ok/{uuid.uuid4().hex[:8]}"
    api.rule(experiment, receiver.url(path), condition=C(drift_detected=C.DriftDetected()), group_by=["model"])
    api.batch(experiment, [drift_pb2.Drift(**{**drifted(), "model": f"m{i % 3}"}) for i in range(60)])
    found = receiver.wait(path, lambda found: len(found) >= 3)
    time.sleep(1)
    found = receiver.requests(path)
    assert sorted(json.loads(r["body"])["data"]["labels"]["model"] for r in found) == ["m0", "m1", "m2"]


@pytest.mark.parametrize("persona", ["editor"])
def test_firings_are_listed_with_their_deliveries(api, receiver, persona):
    experiment = api.experiment()
    path = f"ok/{uuid.uuid4().hex[:8]}"
    rule = api.rule(experiment, receiver.url(path), condition=C(run_failed=C.RunFailed()))
    api.drift(experiment, model="m", status=FAILED)
    receiver.wait(path, lambda found: len(found) == 1)
    deadline = time.monotonic() + 10
    while True:
        firings = api.alerts("ListAlertFirings", alert_pb2.ListAlertFiringsRequest(experiment_id=experiment)).firings
        if firings and firings[0].delivery_status == alert_pb2.ALERT_DELIVERY_STATUS_DELIVERED or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(f.kind, f.rule_id, f.delivery_status) for f in firings] == [("FIRING", rule.id, alert_pb2.ALERT_DELIVERY_STATUS_DELIVERED)]
    assert [a.status_code for a in firings[0].attempts] == [200]
    got = api.alerts("GetAlertRule", alert_pb2.GetAlertRuleRequest(experiment_id=experiment, rule_id=rule.id))
    assert got.state == alert_pb2.ALERT_STATE_FIRING
