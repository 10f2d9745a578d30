"""The page's live table when its watch can never come back: it says why and stops reconnecting."""

from __future__ import annotations

import time
import uuid

import pytest

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

