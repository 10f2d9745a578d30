"""The page's live table when its watch can never come back: it says why and stops reconnecting."""

from __future__ import annotations

import time
import uuid

import pytest

from drift_monitoring.v1 import experiment_pb2
from tests.web.test_e2e import client_for, rows, sign_in

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
