"""The charts on the sandbox data (what `make run` shows), in Chromium: they open on a series that changes
from run to run against when the runs started, and the axis labels are whole, inside the canvas and
apart from each other."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from stack import Envoy, Issuer, Server
from tests.integration.test_sandbox_seed import seed
from tests.web.conftest import WebServer
from tests.web.test_e2e import sign_in, wait_until

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def sandbox_envoy(mongo_base: str, issuer: Issuer, run_dir: Path, ca_pem: Path, web_server: WebServer) -> Iterator[Envoy]:
    """The page in front of a server holding the sandbox data and nothing else."""
    name = f"dm_web_sandbox_{uuid.uuid4().hex[:10]}"
    server = Server(f"{mongo_base}/{name}", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)
    edge = None
    try:
        seed(server.target, issuer.url)
        edge = Envoy(run_dir, "envoy-web-sandbox", server, issuer, ca_pem.parent, "--rate-limit", "100000", "--web", web_server.address)
        yield edge
    finally:
        if edge:
            edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(name)


def readable(labels: list[dict], width: int) -> None:
    assert len(labels) >= 3, labels
    for label in labels:
        assert 0 <= label["left"] < label["right"] <= width, label  # not cut off
    for left, right in zip(labels, labels[1:]):
        assert right["left"] - left["right"] >= 8, (left, right)  # not run together


def test_charts_open_on_a_changing_series_against_run_time(browser, sandbox_envoy):
    page = sign_in(browser, sandbox_envoy, "manager")
    page.role("link", "credit-scoring").click()
    page.role("link", "Charts").click()
    scatter = page.css('canvas[data-testid="scatter"]')
    scatter.wait()
    y, x = page.css('select[name="y"]').value(), page.css('select[name="x"]').value()
    assert (y, x) == ("data_drift.features[age].p_value", "start_time")
    assert "27 runs" in scatter.attribute("aria-label")  # the 30 runs but the 3 that failed
    ticks = json.loads(scatter.attribute("data-x-labels"))
    readable(ticks, int(scatter.attribute("width")))
    assert all(t["text"].startswith(("Oct", "Nov", "Dec")) for t in ticks), ticks  # dates of the month the runs span
    rate = page.css('canvas[data-testid="rate"]')
    readable(json.loads(rate.attribute("data-x-labels")), int(rate.attribute("width")))
    page.screenshot("chart-sandbox")

    # Another experiment opens on its own changing series; a constant one stays selectable.
    page.role("link", "Experiments").click()
    page.role("link", "fraud-detection").click()
    page.role("link", "Charts").click()
    wait_until(lambda: page.css('select[name="y"]').value() == "data_drift.features[age].p_value", "fraud-detection's chart")
    page.css('select[name="y"]').select("concept_drift.parameters.threshold")
    wait_until(lambda: "y=concept_drift.parameters.threshold" in page.url, "the constant chosen")
    readable(json.loads(scatter.attribute("data-x-labels")), int(scatter.attribute("width")))
    assert not [line for line in page.console() if line.startswith("pageerror")], page.console()
    page.close()
