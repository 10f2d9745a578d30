"""A stack of its own for the alert tests (docs/alerts.md): FerretDB, issuer, server, Envoy with TLS and
real tokens, plus a real HTTPS webhook receiver and a real SMTP server (aiosmtpd, STARTTLS + AUTH), each a
process. The server evaluates every 0.3 s and may reach loopback (the allow-list), trusting the dev CA."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from drift_monitoring.v1 import alert_pb2, alert_pb2_grpc, drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc
from stack import ROOT, Stack, free_port
from tests.alerts.receivers import records

SMTP_USER, SMTP_PASSWORD = "alerts", "smtp-" + uuid.uuid4().hex


@dataclass
class Receiver:
    process: subprocess.Popen[str]
    port: int
    log: Path
    control: Path

    def url(self, path: str) -> str:
        return f"https://localhost:{self.port}/{path.strip('/')}"

    def requests(self, prefix: str = "") -> list[dict[str, Any]]:
        found = records(self.log)
        return [r for r in found if r.get("path", "").startswith("/" + prefix.strip("/"))] if prefix else found

    def wait(self, prefix: str, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 20) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.requests(prefix)
            if check(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver {prefix}: condition not met in {timeout} s; got {[(r['path'], json.loads(r['body'])['type']) for r in found]}")
            time.sleep(0.05)


def _start(args: list[str]) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.alerts.receivers", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.fixture(scope="package")
def certs(ca_pem: Path) -> tuple[str, str]:
    return str(ca_pem.parent / "server.pem"), str(ca_pem.parent / "server-key.pem")


@pytest.fixture(scope="package")
def receiver(tmp_path_factory: pytest.TempPathFactory, certs: tuple[str, str]) -> Iterator[Receiver]:
    directory = tmp_path_factory.mktemp("receiver")
    port = free_port()
    process = _start(["https", str(port), *certs, str(directory / "log.jsonl"), str(directory)])
    yield Receiver(process, port, directory / "log.jsonl", directory)
    process.kill()


@pytest.fixture(scope="package")
def mailbox(tmp_path_factory: pytest.TempPathFactory, certs: tuple[str, str]) -> Iterator[tuple[int, Path]]:
    log = tmp_path_factory.mktemp("smtp") / "mail.jsonl"
    port = free_port()
    process = _start(["smtp", str(port), *certs, str(log), SMTP_USER, SMTP_PASSWORD])
    yield port, log
    process.kill()


def alert_env(ca_pem: Path, smtp_port: int, **more: str) -> dict[str, str]:
    return {
        "DRIFT_MONITOR_ALERT_ALLOW_NETWORKS": "127.0.0.0/8,::1/128", "DRIFT_MONITOR_ALERT_CA_BUNDLE": str(ca_pem),
        "DRIFT_MONITOR_ALERT_EVAL_SECONDS": "0.3", "DRIFT_MONITOR_ALERT_TIMEOUT_SECONDS": "2", "DRIFT_MONITOR_ALERT_GIVE_UP_SECONDS": "8", "DRIFT_MONITOR_LEASE_SWEEP_SECONDS": "0.2",
        "DRIFT_MONITOR_SMTP_HOST": "127.0.0.1", "DRIFT_MONITOR_SMTP_PORT": str(smtp_port), "DRIFT_MONITOR_SMTP_USERNAME": SMTP_USER,
        "DRIFT_MONITOR_SMTP_PASSWORD": SMTP_PASSWORD, "DRIFT_MONITOR_SMTP_FROM": "drift-monitor@example.org", **more,
    }


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, ca_pem: Path, mailbox: tuple[int, Path]) -> Iterator[Stack]:
    own = Stack(tmp_path_factory.mktemp("alerts"), ca_pem=ca_pem, DRIFT_MONITOR_METRICS_LISTEN=f"127.0.0.1:{free_port()}", **alert_env(ca_pem, mailbox[0]))
    with own.client() as client:
        client.register()
    yield own
    own.stop()


class Api:
    """AlertService, DriftService and ExperimentService through Envoy with the manager's real token."""

    def __init__(self, stack: Stack, persona: str = "manager") -> None:
        self.channel = grpc.secure_channel(stack.target, grpc.ssl_channel_credentials(stack.ca_pem.read_bytes()))
        self.metadata = (("authorization", f"Bearer {stack.token(persona)}"),)
        self._alerts = alert_pb2_grpc.AlertServiceStub(self.channel)
        self._drifts = drift_pb2_grpc.DriftServiceStub(self.channel)
        self._experiments = experiment_pb2_grpc.ExperimentServiceStub(self.channel)

    def alerts(self, method: str, request: Any) -> Any:
        return getattr(self._alerts, method)(request, metadata=self.metadata, timeout=20)

    def experiment(self, prefix: str = "alerts") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        return self._experiments.CreateExperiment(experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=name)),
                                                  metadata=self.metadata, timeout=20).id

    def delete_experiment(self, experiment_id: str) -> None:
        self._experiments.DeleteExperiment(experiment_pb2.DeleteExperimentRequest(experiment_id=experiment_id), metadata=self.metadata, timeout=20)

    def drift(self, experiment_id: str, **fields: Any) -> drift_pb2.Drift:
        return self._drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=experiment_id, drift=drift_pb2.Drift(**fields)),
                                        metadata=self.metadata, timeout=20)

    def batch(self, experiment_id: str, drifts: list[drift_pb2.Drift]) -> None:
        self._drifts.BatchCreateDrifts(drift_pb2.BatchCreateDriftsRequest(
            experiment_id=experiment_id, requests=[drift_pb2.CreateDriftRequest(drift=d) for d in drifts]), metadata=self.metadata, timeout=60)

    def update(self, drift: drift_pb2.Drift, *paths: str) -> drift_pb2.Drift:
        from google.protobuf import field_mask_pb2  # noqa: PLC0415

        return self._drifts.UpdateDrift(drift_pb2.UpdateDriftRequest(drift=drift, update_mask=field_mask_pb2.FieldMask(paths=list(paths))),
                                        metadata=self.metadata, timeout=20)

    def rule(self, experiment_id: str, url: str = "", **fields: Any) -> alert_pb2.AlertRule:
        channel = fields.pop("channel", None) or alert_pb2.AlertChannel(webhook=alert_pb2.WebhookChannel(url=url))
        rule = alert_pb2.AlertRule(display_name=fields.pop("display_name", "rule"), channel=channel, **fields)
        return self.alerts("CreateAlertRule", alert_pb2.CreateAlertRuleRequest(experiment_id=experiment_id, rule=rule))


@pytest.fixture(scope="package")
def api(stack: Stack) -> Iterator[Api]:
    own = Api(stack)
    yield own
    own.channel.close()
