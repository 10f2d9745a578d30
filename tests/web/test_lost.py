"""A run whose job stopped heartbeating (docs/leases.md) turns LOST live in the page, in a style of its own,
filterable, with the server's reason in its detail."""

from __future__ import annotations

import uuid

import pytest

from drift_monitoring.v1 import drift_pb2
from tests.web.test_e2e import client_for, rows, sign_in, wait_until

pytestmark = pytest.mark.timeout(120)


def test_a_lost_run_is_shown_apart_and_filterable(browser, web_envoy, ca_pem, issuer, tmp_path):
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as manager:
        manager.register()
        experiment = manager.new_experiment(f"web-lost-{uuid.uuid4().hex[:8]}")
        manager.create_drift(experiment.id, drift_pb2.Drift(model="done-job", status=drift_pb2.DRIFT_STATUS_FAILED), uuid.uuid4().hex)
        quiet = manager.create_drift(experiment.id, drift_pb2.Drift(model="quiet-job"), uuid.uuid4().hex)
        page = sign_in(browser, web_envoy, "manager", f"/experiments/{experiment.id}")
        wait_until(lambda: len(rows(page)) == 2 and "running" in rows(page)[0], "both runs, the quiet one running")
        # The lease starts only once the page shows the run (a lease given at creation could expire before
        # the page loaded on a loaded machine): one renewal of 1 s, and nobody renews it again.
        manager.renew_lease(experiment.id, quiet.id, lease_seconds=1)
    # The session's server sweeps every 10 s (DRIFT_MONITOR_LEASE_SWEEP_SECONDS); the watch brings the change.
    wait_until(lambda: "lost" in rows(page)[0], "the run turning lost without a reload", timeout=30)
    colour = "(s) => getComputedStyle(document.querySelector(s)).color"
    lost = page.eval(f"({colour})('table[data-testid=drifts] span.status.lost')")
    failed = page.eval(f"({colour})('table[data-testid=drifts] span.status.failed')")
    running = page.eval("(() => { const s = document.createElement('span'); s.className = 'status running'; document.body.append(s); return getComputedStyle(s).color; })()")
    assert len({lost, failed, running}) == 3, (lost, failed, running)

    page.css('input[name="status"][value="LOST"]').check()
    page.role("button", "Apply").click()
    wait_until(lambda: "status=LOST" in page.url and len(rows(page)) == 1, "only the lost run")
    assert "quiet-job" in rows(page)[0]
    page.css('table[data-testid="drifts"] tbody tr:nth-child(1) a').click()
    page.css('[data-testid="status-reason"]').wait()
    assert "lease expired" in page.css('[data-testid="status-reason"]').text()
    assert page.accessibility_violations() == []
