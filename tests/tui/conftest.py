"""The dashboard against the real stack: Envoy with TLS, signed tokens, FerretDB behind the server.

`private_stack` is a server and Envoy of this module's own, on a database of its own: tests that restart
the server, or need a deterministic experiment list (snapshots), use it without disturbing the session's."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymongo
import pytest

from drift_monitoring import Client, Settings
from drift_monitoring.v1 import drift_pb2
from stack import Envoy, Issuer, Server
from tui.app import DriftDashboard

BASE_TIME = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)


def settings_for(envoy: Envoy, ca_pem: Path, issuer: Issuer, state_dir: Path, persona: str = "manager") -> Settings:
    return Settings(url=f"localhost:{envoy.port}", ca_bundle=str(ca_pem), token=issuer.token(persona), state_dir=state_dir, timeout=5)


@pytest.fixture
def tui_settings(envoy: Envoy, ca_pem: Path, issuer: Issuer, tmp_path: Path) -> Settings:
    settings = settings_for(envoy, ca_pem, issuer, tmp_path / "state")
    with Client(settings) as client:
        client.register()
    return settings


@pytest.fixture
def client(tui_settings: Settings) -> Iterator[Client]:
    with Client(tui_settings) as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def drift(model: str, *, minute: int, status: int = drift_pb2.DRIFT_STATUS_COMPLETED, concept: bool | None = False,
          data: bool | None = None, tags: tuple[str, ...] = (), error: str = "", parameters: dict | None = None) -> drift_pb2.Drift:
    """A run with a fixed start time, so what the table shows is the same every time."""
    run = drift_pb2.Drift(model=model, status=status, tags=list(tags), error_message=error)
    run.start_time.FromDatetime(BASE_TIME + dt.timedelta(minutes=minute))
    if concept is not None:
        run.concept_drift.detected = concept
        run.concept_drift.parameters.update(parameters or {"p_value": 0.5 if not concept else 0.01})
    if data is not None:
        run.data_drift.detected = data
        run.data_drift.parameters.update({"drifted_features": 3 if data else 0})
        run.data_drift.features.add(feature="age", test="ks", statistic=0.42, p_value=0.003, threshold=0.05, detected=data)
    return run


def record(client: Client, experiment_id: str, runs: list[drift_pb2.Drift]) -> list[drift_pb2.Drift]:
    return [client.create_drift(experiment_id, run, uuid.uuid4().hex) for run in runs]


async def until(pilot, check: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    """Let the app run until check() is true; the app's workers talk to the real stack meanwhile (30 s: the
    shared session database answers slowly on a loaded machine; only a failure waits that long)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def screen_text(app) -> str:
    """What the terminal shows, as text without white space (from the SVG screenshot, the rendering a
    user sees; the SVG places words by coordinates, so spaces between them are not reliable)."""
    spans = re.findall(r"<text[^>]*>(.*?)</text>", app.export_screenshot())
    return re.sub(r"\s+", "", html.unescape("".join(spans)))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def blocking(func, *args):
    """Run a blocking client call off the event loop, so the app under test keeps running."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


@dataclass
class PrivateStack:
    server: Server
    envoy: Envoy
    database_uri: str
    run_dir: Path
    issuer: Issuer
    ca_pem: Path

    def restart_server(self) -> None:
        """Stop the server and start a new process on the same port and database, as a deploy would."""
        port = self.server.port
        self.server.stop()
        self.server = start_server_on(self.database_uri, self.issuer, port)


def start_server_on(database_uri: str, issuer: Issuer, port: int | None = None) -> Server:
    return Server(database_uri, port=port, DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url)


@pytest.fixture(scope="module")
def private_stack(mongo_base: str, issuer: Issuer, ca_pem: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStack]:
    name = f"dm_tui_{uuid.uuid4().hex[:10]}"
    database_uri = f"{mongo_base}/{name}"
    run_dir = tmp_path_factory.mktemp("tui-stack")
    server = start_server_on(database_uri, issuer)
    envoy = Envoy(run_dir, "envoy", server, issuer, ca_pem.parent, "--rate-limit", "100000")
    stack = PrivateStack(server, envoy, database_uri, run_dir, issuer, ca_pem)
    yield stack
    envoy.stop()
    stack.server.stop()
    pymongo.MongoClient(mongo_base).drop_database(name)


def dashboard(settings: Settings, **options) -> DriftDashboard:
    return DriftDashboard(settings, **options)
