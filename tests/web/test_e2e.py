"""The page in Chromium against the real stack through Envoy: sign in as personas, see only permitted
experiments, create one, watch runs recorded by DriftMonitor arrive live, filter, chart, export, share."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from pathlib import Path

import pytest

from drift_monitoring import Client, DriftMonitor
from drift_monitoring.v1 import drift_pb2
from tests.web.browser import ARTIFACTS, Browser, Page
from tests.web.netcut import CuttableProxy

pytestmark = pytest.mark.timeout(240)


def sign_in(browser: Browser, web_envoy, persona: str, start: str = "/", base: str = "") -> Page:
    """A fresh browser context signed in through the issuer's login page (code flow with PKCE)."""
    base = base or web_envoy.url
    page = browser.page(persona)
    page.goto(f"{base}{start}")
    page.role("button", "Sign in").click()
    page.css(f'button[name="persona"][value="{persona}"]').click()  # the sandbox issuer's persona picker
    page.css('[data-testid="signed-in-as"]').wait()
    assert page.url.startswith(f"{base}{start.split('?')[0]}"), "back where the sign-in started"
    # Registered users see their id under their name; new ones the registration prompt.
    page.css('[aria-label="registration"], [data-testid="my-user-id"]').wait("attached")
    if page.css('[aria-label="registration"]').count():
        page.role("button", "Accept the terms and register").click()
    page.css('[data-testid="my-user-id"]').wait("attached")
    return page


def rows(page: Page) -> list[str]:
    table = page.css('table[data-testid="drifts"] tbody tr')
    return [table.nth(i).text() for i in range(table.count())]


def wait_until(check, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def client_for(web_envoy, ca_pem: Path, issuer, persona: str, tmp_path: Path) -> Client:
    return Client(url=f"localhost:{web_envoy.port}", ca_bundle=str(ca_pem), token=issuer.token(persona), state_dir=tmp_path / persona, timeout=5)


def test_anonymous_visitors_see_public_experiments_only(browser, web_envoy, ca_pem, issuer, tmp_path):
    suffix = uuid.uuid4().hex[:6]
    with client_for(web_envoy, ca_pem, issuer, "manager", tmp_path) as manager:
        manager.register()
        public = manager.new_experiment(f"web-public-{suffix}", "anyone may look", public=True)
        manager.new_experiment(f"web-private-{suffix}", "team only")
        # More runs than one page of the table (50) holds.
        batch = drift_pb2.BatchCreateDriftsRequest(experiment_id=public.id, requests=[
            drift_pb2.CreateDriftRequest(request_id=uuid.uuid4().hex, drift=drift_pb2.Drift(model=f"m-{i:02d}", status=drift_pb2.DRIFT_STATUS_COMPLETED))
            for i in range(60)
        ])
        manager.call(manager.drifts.BatchCreateDrifts, batch)
    page = browser.page("anonymous")
    started = time.monotonic()
    page.goto(f"{web_envoy.url}/?q=web-p")
    page.role("link", f"web-public-{suffix}").wait()
    interactive_ms = (time.monotonic() - started) * 1000
    listing = page.css('table[data-testid="experiments"]').text()
    assert f"web-public-{suffix}" in listing and f"web-private-{suffix}" not in listing
    assert page.role("button", "Sign in").count() == 1
    page.screenshot("experiments-anonymous")
    assert page.accessibility_violations() == []
    # A deep link to the public experiment works without signing in; its sharing is not shown.
    page.goto(f"{web_envoy.url}/experiments/{public.id}")
    page.role("heading", f"web-public-{suffix}").wait()
    assert page.role("link", "Sharing").count() == 0
    wait_until(lambda: len(rows(page)) == 50, "the first page of runs")
    page.role("button", "Load more").click()
    wait_until(lambda: len(rows(page)) == 60, "the second page")
    assert page.role("button", "Load more").count() == 0
    record_timing(list_rendered_ms=round(interactive_ms), **navigation_timing(page))
    page.close()

    # The visibility filter is the server's, and in the URL.
    page = browser.page("anonymous-private")
    page.goto(f"{web_envoy.url}/?q=web-public-{suffix}&visibility=private")
    page.css("text=No experiments match.").wait()
    assert page.css("select[name=visibility]").value() == "private"
    page.close()

    # Keyboard only: search by typing and Enter; the search lands in the URL.
    keys = browser.page("keyboard")
    keys.goto(f"{web_envoy.url}/")
    keys.label("Search by name").wait()
    keys.eval("document.querySelector('input[name=q]').focus()")
    keys.css("input[name=q]").press_sequentially(f"web-public-{suffix}")
    keys.css("input[name=q]").press("Enter")
    wait_until(lambda: f"q=web-public-{suffix}" in keys.url, "the search in the URL")
    keys.role("link", f"web-public-{suffix}").wait()
    keys.close()

    # A phone's width: nothing wider than the screen but the tables, which scroll inside their box.
    phone = browser.page("phone", viewport={"width": 390, "height": 844})
    phone.goto(f"{web_envoy.url}/experiments/{public.id}")
    phone.role("heading", f"web-public-{suffix}").wait()
    assert phone.eval("document.documentElement.scrollWidth <= window.innerWidth + 1")
    phone.screenshot("experiment-phone")
    phone.close()


def record_timing(**values: int) -> None:
    """Load times for the report, in .run/artifacts/web/timing.json (merged across tests)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "timing.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**known, **values}, indent=1))


def navigation_timing(page: Page) -> dict[str, int]:
    entry = page.eval("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    nav = json.loads(entry)
    return {"dom_interactive_ms": round(nav["domInteractive"]), "load_event_end_ms": round(nav["loadEventEnd"])}


def test_manager_creates_watches_filters_charts_and_shares(browser, web_envoy, ca_pem, issuer, tmp_path):
    name = f"web-e2e-{uuid.uuid4().hex[:8]}"
    manager = sign_in(browser, web_envoy, "manager")

    # Create an experiment from the list page; the page moves to it.
    page = manager
    page.css("details.create summary").click()
    page.screenshot("experiments-signed-in")
    page.label("Name").fill(name)
    page.label("Description").fill("made in Chromium")
    page.role("button", "Create", exact=True).click()  # not "Delete tui-created-…"
    page.role("heading", name).wait()
    experiment_id = page.url.split("/experiments/")[1].split("?")[0]
    page.css("summary:has-text('Edit name and description')").click()
    page.label("Description").fill("watched from Chromium")
    page.role("button", "Save").click()
    page.css("p.meta:has-text('watched from Chromium')").wait()
    page.css('[data-testid="live"]:has-text("live")').wait()  # the WatchDrifts stream is open (heartbeats)

    # Runs recorded by DriftMonitor appear without a reload.
    settings = {"url": f"localhost:{web_envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"),
                "state_dir": tmp_path / "spool", "timeout": 5}
    with DriftMonitor(name, "xgb-credit-v3", tags=["weekly", "web"], strict=True, **settings) as monitor:
        monitor.concept(True, {"p_value": 0.01, "threshold": 0.05})
        monitor.data(False, {"drifted_features": 1}, features=[
            {"feature": "income", "test": "ks", "statistic": 0.12, "p_value": 0.31, "threshold": 0.05, "detected": False},
            {"feature": "tenure", "test": "wasserstein", "statistic": 0.47, "threshold": 0.1, "detected": True},
        ])
    wait_until(lambda: len(rows(page)) == 1 and "completed" in rows(page)[0], "the completed run in the table")
    with pytest.raises(RuntimeError):
        with DriftMonitor(name, "lgbm-churn-v2", tags=["daily"], strict=True, **settings) as monitor:
            monitor.concept(False, {"p_value": 0.4, "threshold": 0.05})
            raise RuntimeError("feature store down")
    wait_until(lambda: len(rows(page)) == 2 and "failed" in rows(page)[0], "the failed run on top")
    assert "lgbm-churn-v2" in rows(page)[0] and "xgb-credit-v3" in rows(page)[1]
    page.screenshot("experiment-runs-live")
    assert page.accessibility_violations() == []

    # A signed-in deep link, loaded from scratch: time until its runs are on screen.
    started = time.monotonic()
    page.goto(page.url)
    wait_until(lambda: len(rows(page)) == 2, "the runs after a reload")
    record_timing(signed_in_runs_rendered_ms=round((time.monotonic() - started) * 1000))

    # Sorting is the server's, and in the URL.
    page.css('select[name="order"]').select("model")
    wait_until(lambda: "order=model" in page.url and "lgbm-churn-v2" in (rows(page) or [""])[0], "runs by model")
    page.css('select[name="order"]').select("start_time desc")
    wait_until(lambda: "order=" not in page.url and "lgbm-churn-v2" in (rows(page) or [""])[0], "newest first again")

    # Friendly filter controls become the server's filter and the URL.
    page.css('input[name="status"][value="FAILED"]').check()
    page.role("button", "Apply").click()
    wait_until(lambda: len(rows(page)) == 1, "only the failed run")
    assert "status=FAILED" in page.url and "lgbm-churn-v2" in rows(page)[0]
    page.label("Filter").fill("concept_drift.parameters.p_value > 0.1")
    page.role("button", "Apply").click()
    wait_until(lambda: "filter=" in page.url, "the raw filter in the URL")
    wait_until(lambda: len(rows(page)) == 1, "the run matching both")
    page.label("Filter").fill("model = = x")
    page.role("button", "Apply").click()
    page.css('[role="alert"]:has-text("invalid argument")').wait()  # the server's message, naming the problem
    page.role("button", "Clear").click()
    wait_until(lambda: len(rows(page)) == 2, "both runs again")
    assert page.css('[role="alert"]').count() == 0

    # A run's detail: parameters and results.
    page.css('table[data-testid="drifts"] tbody tr:nth-child(2) a').click()
    page.role("heading", "Run").wait()
    detail = page.css("aside.detail").text()
    assert "xgb-credit-v3" in detail and "p_value" in detail and "drift detected" in detail
    assert "income\tks\t0.1200\t0.310" in detail  # the per-feature results table
    assert "tenure\twasserstein\t0.4700" in detail and detail.index("tenure\t") < detail.index("income\t")  # by statistic, largest first
    assert "drift=" in page.url
    page.screenshot("run-detail")
    assert page.accessibility_violations() == []

    # Charts: a parameter over time, then exported as CSV and PNG.
    page.role("link", "Charts").click()
    page.css('canvas[data-testid="scatter"]').wait()
    page.css('select[name="y"]').select("concept_drift.parameters.p_value")
    wait_until(lambda: "y=concept_drift.parameters.p_value" in page.url, "the axis in the URL")
    assert "2 runs" in page.css('canvas[data-testid="scatter"]').attribute("aria-label")
    page.screenshot("chart")
    assert page.accessibility_violations() == []
    saved = page.role("button", "Export CSV").download(tmp_path / "runs.csv")
    assert saved.endswith(".csv")
    table = list(csv.DictReader(io.StringIO((tmp_path / "runs.csv").read_text())))
    assert {row["model"] for row in table} == {"xgb-credit-v3", "lgbm-churn-v2"}
    assert {row["concept_drift.parameters.p_value"] for row in table} == {"0.01", "0.4"}
    png = tmp_path / "chart.png"
    page.role("button", "Export PNG").download(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Sharing: the reader's id (shown to them under their name) gets READ; the outsider gets nothing.
    reader = sign_in(browser, web_envoy, "reader")
    reader_id = reader.eval("document.querySelector('[data-testid=my-user-id]').textContent")
    reader.goto(f"{web_envoy.url}/?q={name}")
    reader.css("text=No experiments match.").wait()  # not shared yet
    page.role("link", "Sharing").click()
    page.label("User id or entitlement").fill(reader_id)
    page.css('form[aria-label="add a grant"] select[name="level"]').select("1")
    page.role("button", "Add grant").click()
    page.css(f'table[data-testid="grants"] >> text={reader_id}').wait()
    page.screenshot("sharing")
    assert page.accessibility_violations() == []
    reader.goto(f"{web_envoy.url}/?q={name}")
    reader.role("link", name).wait()
    assert "read" in reader.css("table[data-testid=experiments]").text()
    reader.role("link", name).click()
    reader.css('table[data-testid="drifts"]').wait()
    assert reader.role("link", "Sharing").count() == 0

    outsider = sign_in(browser, web_envoy, "outsider")
    outsider.goto(f"{web_envoy.url}/?q={name}")
    outsider.css("text=No experiments match.").wait()
    outsider.goto(f"{web_envoy.url}/experiments/{experiment_id}")
    outsider.css('[role="alert"]').wait()
    assert "not found" in outsider.css('[role="alert"]').text()
    outsider.screenshot("outsider-not-found")

    # Changing a grant's level, making the experiment public, removing the grant.
    page.css(f'select[aria-label="level for {reader_id}"]').select("2")
    wait_until(lambda: page.css(f'select[aria-label="level for {reader_id}"]').value() == "2", "the new level stored")
    reader.goto(f"{web_envoy.url}/?q={name}")
    reader.role("link", name).wait()
    assert "edit" in reader.css("table[data-testid=experiments]").text()
    reader.role("link", name).click()
    reader.css("summary:has-text('Edit description')").wait()  # EDIT may describe, not rename
    assert reader.css("summary:has-text('Edit name')").count() == 0
    public = page.label("Public: anyone, signed in or not, can read this experiment")
    public.click()  # the box shows the stored flag: checked once the server said so
    wait_until(public.checked, "the experiment public")
    outsider.goto(f"{web_envoy.url}/?q={name}")
    outsider.role("link", name).wait()
    assert "public" in outsider.css("table[data-testid=experiments]").text()
    page.role("button", f"remove {reader_id}").click()
    page.css('table[data-testid="grants"]').wait("detached")
    # The history (the audit trail) lists each sharing change, newest first, with who and before/after.
    try:
        wait_until(lambda: page.css('table[data-testid="audit"] tbody tr').count() == 4, "four sharing changes in the history")
    except AssertionError:
        raise AssertionError(page.css('section[aria-label="history"]').text()) from None
    history = page.css('table[data-testid="audit"]').text()
    assert history.count("experiment.sharing") == 4 and reader_id in history and '"public":true' in history
    page.screenshot("sharing-history")
    for p in (reader, outsider, manager):
        assert not [line for line in p.console() if line.startswith("pageerror")], p.console()
        p.close()


def test_live_table_survives_network_loss_and_the_session_refreshes_and_ends(browser, web_envoy, ca_pem, issuer, tmp_path):
    name = f"web-resume-{uuid.uuid4().hex[:8]}"
    network = CuttableProxy(web_envoy.port)  # the browser reaches Envoy through a network that can fail
    base = f"https://localhost:{network.port}"
    page = sign_in(browser, web_envoy, "manager", base=base)
    page.css("details.create summary").click()
    page.label("Name").fill(name)
    page.role("button", "Create", exact=True).click()  # not "Delete tui-created-…"
    page.css('[data-testid="live"]:has-text("live")').wait()
    settings = {"url": f"localhost:{web_envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"),
                "state_dir": tmp_path / "spool", "timeout": 5}

    # Offline, the stream breaks; a run recorded meanwhile arrives once the network is back (resumed, not re-read).
    network.down()
    page.css('[data-testid="live"]:has-text("reconnecting")').wait()
    with DriftMonitor(name, "while-offline", strict=True, **settings) as monitor:
        monitor.data(True, {"drifted_features": 3})
    time.sleep(1)
    assert rows(page) == []
    network.up()
    wait_until(lambda: len(rows(page)) == 1 and "completed" in rows(page)[0], "the run recorded while offline", timeout=45)
    page.css('[data-testid="live"]:has-text("live")').wait()

    # An access token about to expire is refreshed with the (rotated) refresh token before the next call.
    before = json.loads(page.eval("sessionStorage.getItem('dm.session')"))
    page.eval("(() => { const s = JSON.parse(sessionStorage.getItem('dm.session')); s.expiresAt = Date.now(); sessionStorage.setItem('dm.session', JSON.stringify(s)); })()")
    page.goto(page.url)
    page.role("heading", name).wait()
    wait_until(lambda: json.loads(page.eval("sessionStorage.getItem('dm.session')"))["refreshToken"] != before["refreshToken"], "a refreshed session")
    after = json.loads(page.eval("sessionStorage.getItem('dm.session')"))
    assert after["accessToken"] != before["accessToken"] and after["expiresAt"] > time.time() * 1000 + 600_000
    wait_until(lambda: len(rows(page)) == 1, "the runs, read with the new token")

    # Deleting needs MANAGE and a confirmation; the experiment is gone from the list.
    page.goto(f"{base}/?q={name}")
    page.role("button", f"Delete {name}").click()
    page.role("link", name).wait("detached")
    assert any(line.startswith(f'dialog: Delete experiment "{name}"') for line in page.console())

    # Signing out forgets the tokens: the page is anonymous again.
    page.role("button", "Sign out").click()
    page.role("button", "Sign in").wait()
    assert page.eval("sessionStorage.getItem('dm.session')") is None
    page.close()
    network.close()
