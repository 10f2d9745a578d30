"""The page's live table when its watch can never come back: it says why and stops reconnecting."""

from __future__ import annotations

import time
import uuid

import grpc
import pymongo
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2
from stack import Envoy, Server
from tests.integration.helpers import gateway_metadata
from tests.web.test_e2e import client_for, rows, sign_in, wait_until

pytestmark = pytest.mark.timeout(240)

WATCH_REQUESTS = "performance.getEntriesByType('resource').filter((e) => e.name.includes('WatchDrifts')).length"


def test_a_deleted_experiment_stops_the_live_table_with_a_reason(browser, web_envoy, ca_pem, issuer, tmp_path):
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as client:
        client.register()
        experiment = client.new_experiment(f"web-deleted-{uuid.uuid4().hex[:8]}")
        page = sign_in(browser, web_envoy, "manager", start=f"/experiments/{experiment.id}")
        page.css('[data-testid="live"]:has-text("live")').wait()
        assert rows(page) == []
        client.delete_experiment(experiment.id)

    note = page.css('[data-testid="watch-note"]')
    note.wait()
    assert note.text() == "Live updates stopped: the experiment was deleted, or you can no longer read it."
    assert note.attribute("role") == "alert"
    page.css('[data-testid="live"]:has-text("stopped")').wait()
    page.screenshot("watch-ended")
    opened = page.eval(WATCH_REQUESTS)
    time.sleep(3)  # backoff would have tried again by now
    assert page.eval(WATCH_REQUESTS) == opened
    assert page.css('[data-testid="live"]').text() == "stopped"
    assert page.accessibility_violations() == []
    assert not [line for line in page.console() if line.startswith("pageerror")], page.console()
    page.close()



@pytest.mark.parametrize("withdrawn", ["grant revoked", "made private"])
def test_access_withdrawn_mid_watch_stops_the_live_table_with_a_reason(browser, web_envoy, ca_pem, issuer, tmp_path, withdrawn):
    """The reader watches through a grant (or because the experiment is public); the manager withdraws it
    while the page is live. The server ends the stream with NOT_FOUND (issue 15.2); the page says why and
    opens no further watch."""
    with client_for(web_envoy, ca_pem, issuer, "reader", tmp_path) as reader:
        reader_id = reader.register().id
    public = withdrawn == "made private"
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as manager:
        manager.register()
        experiment = manager.new_experiment(f"web-withdrawn-{uuid.uuid4().hex[:8]}", public=public, grants=() if public else [(reader_id, "read")])
        page = sign_in(browser, web_envoy, "reader", start=f"/experiments/{experiment.id}")
        page.css('[data-testid="live"]:has-text("live")').wait()
        change = experiment_pb2.Experiment(id=experiment.id, public=False, grants=[])
        manager.update_experiment(change, ["public"] if public else ["grants"])

    note = page.css('[data-testid="watch-note"]')
    note.wait()
    assert note.text() == "Live updates stopped: the experiment was deleted, or you can no longer read it."
    assert note.attribute("role") == "alert"
    page.css('[data-testid="live"]:has-text("stopped")').wait()
    opened = page.eval(WATCH_REQUESTS)  # a stream shows here once it has ended
    assert opened >= 1
    time.sleep(3)  # backoff would have tried again by now
    assert page.eval(WATCH_REQUESTS) == opened
    assert page.css('[data-testid="live"]').text() == "stopped"
    assert not [line for line in page.console() if line.startswith("pageerror")], page.console()
    page.close()


def test_away_longer_than_the_log_keeps_re_reads_the_runs_and_goes_on_live(browser, mongo_base, issuer, ca_pem, run_dir, web_server, tmp_path):
    """OUT_OF_RANGE (issue 15.5) in a real browser: the page's server goes away, 1000 runs land through another
    process on a server that keeps 100 events, the server comes back on its port: the page's resume token is
    older than the log, so it says so, reads the runs again and watches from now."""
    name = f"dm_web_stale_{uuid.uuid4().hex[:10]}"
    uri = f"{mongo_base}/{name}"
    options = {"DRIFT_MONITOR_EVENT_RETENTION": "100", "DRIFT_MONITOR_TRUSTED_ISSUERS": issuer.url}
    server = Server(uri, **options)
    edge = Envoy(run_dir, f"envoy-web-stale-{uuid.uuid4().hex[:6]}", server, issuer, ca_pem.parent, "--rate-limit", "100000", "--web", web_server.address)
    try:
        with client_for(edge, ca_pem, issuer, "manager", tmp_path) as manager:
            manager.register()
            experiment = manager.new_experiment(f"web-stale-{uuid.uuid4().hex[:8]}")
            manager.create_drift(experiment.id, drift_pb2.Drift(model="before", status=drift_pb2.DRIFT_STATUS_COMPLETED), uuid.uuid4().hex)
        page = sign_in(browser, edge, "manager", start=f"/experiments/{experiment.id}")
        page.css('[data-testid="live"]:has-text("live")').wait()
        time.sleep(1.5)  # a heartbeat (1 s): the page holds a resume token
        port = server.port
        server.stop()
        other = Server(uri, **options)
        try:
            with grpc.insecure_channel(other.target) as channel:
                drifts = drift_pb2_grpc.DriftServiceStub(channel)
                for batch in range(2):
                    requests = [drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model=f"away-{batch}-{i:03d}")) for i in range(500)]
                    drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment.id, requests=requests),
                                             metadata=gateway_metadata(issuer.claims("manager")), timeout=120)
        finally:
            other.stop()
        server = Server(uri, port=port, **options)

        note = page.css('[data-testid="watch-note"]')
        note.wait(timeout=40_000)  # the reconnect backoff, then the restarted server
        assert note.text() == "Away longer than the server keeps changes: the runs were read again; live from now on."
        assert note.attribute("role") == "status"
        page.css('[data-testid="live"]:has-text("live")').wait()
        wait_until(lambda: any("away-" in row for row in rows(page)), "the runs read again")
        with client_for(edge, ca_pem, issuer, "manager", tmp_path) as manager:
            manager.create_drift(experiment.id, drift_pb2.Drift(model="after-the-gap"), uuid.uuid4().hex)
        wait_until(lambda: any("after-the-gap" in row for row in rows(page)), "a new run, live")
        assert not [line for line in page.console() if line.startswith("pageerror")], page.console()
        page.close()
    finally:
        edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)
