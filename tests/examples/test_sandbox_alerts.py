"""What `make run` adds for alerts: the local receivers (python -m sandbox.receivers, a real process) and the
sandbox rules (sandbox/alerts.py) on the example job's experiment, with a server configured as
scripts/stack.sh configures it. A drifted run must reach the receiver's log as a signed webhook and a mail.

The server runs on a database of its own: a rule in the session's database would also be evaluated by the
session's server, which may not reach loopback and could claim the delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymongo
import pytest

from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2
from sandbox import alerts
from stack import ROOT, Envoy, Issuer, Server, free_port
from tests.alerts.receivers import records

MAIL = "sandbox@example.org"


def stack_env(smtp_port: int, ca_pem: Path) -> dict[str, str]:
    """The alert settings scripts/stack.sh gives the server (its CA bundle is the dev CA plus the system's)."""
    return {"DRIFT_MONITOR_ALERT_ALLOW_HTTP": "1", "DRIFT_MONITOR_ALERT_ALLOW_NETWORKS": "127.0.0.0/8",
            "DRIFT_MONITOR_ALERT_CA_BUNDLE": str(ca_pem), "DRIFT_MONITOR_SMTP_HOST": "127.0.0.1",
            "DRIFT_MONITOR_SMTP_PORT": str(smtp_port), "DRIFT_MONITOR_SMTP_FROM": "drift-monitor@localhost"}


@pytest.fixture(scope="module")
def receivers(tmp_path_factory: pytest.TempPathFactory, ca_pem: Path) -> Iterator[tuple[int, int, Path]]:
    log = tmp_path_factory.mktemp("receivers") / "notifications.jsonl"
    webhook_port, smtp_port = free_port(), free_port()
    command = [sys.executable, "-m", "sandbox.receivers", "--webhook-port", str(webhook_port), "--smtp-port", str(smtp_port),
               "--log", str(log), "--tls-cert", str(ca_pem.parent / "server.pem"), "--tls-key", str(ca_pem.parent / "server-key.pem")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().startswith("receivers ready:")
    yield webhook_port, smtp_port, log
    process.terminate()
    assert process.wait(timeout=10) == 0  # stops cleanly on SIGTERM, as scripts/stack.sh down stops it


@pytest.fixture(scope="module")
def sandbox_client(mongo_base: str, run_dir: Path, issuer: Issuer, ca_pem: Path, receivers: tuple[int, int, Path],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    database = f"dm_sandbox_alerts_{uuid.uuid4().hex[:10]}"
    server = Server(f"{mongo_base}/{database}", DRIFT_MONITOR_TRUSTED_ISSUERS=issuer.url, **stack_env(receivers[1], ca_pem))
    edge = None
    try:
        edge = Envoy(run_dir, f"envoy-{database}", server, issuer, ca_pem.parent, "--rate-limit", "100000")
        with Client(url=f"localhost:{edge.port}", ca_bundle=str(ca_pem), token=issuer.token("manager"),
                    state_dir=tmp_path_factory.mktemp("state"), timeout=10) as client:
            client.register()
            yield client
    finally:
        if edge is not None:
            edge.stop()
        server.stop()
        pymongo.MongoClient(mongo_base).drop_database(database)


def wait_for(log: Path, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = records(log)
        if check(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not in the receivers' log within {timeout} s: {found}")
        time.sleep(0.2)


def run(client: Client, experiment_id: str, detected: bool) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model="xgb-credit-v3", status=drift_pb2.DRIFT_STATUS_COMPLETED)
    drift.data_drift.detected = detected
    return client.create_drift(experiment_id, drift, request_id=uuid.uuid4().hex)


def test_a_drifted_run_of_the_example_job_reaches_the_local_receivers(sandbox_client, receivers):
    webhook_port, _, log = receivers
    url = f"http://127.0.0.1:{webhook_port}/sandbox"
    rules = alerts.ensure_rules(sandbox_client, url, [MAIL])
    assert set(rules) == {alerts.WEBHOOK_RULE, alerts.EMAIL_RULE}
    secret = rules[alerts.WEBHOOK_RULE].channel.webhook.secret
    assert secret.startswith("whsec_")
    # Idempotent: the second call (the next `make run`) finds the same rules and makes none.
    again = alerts.ensure_rules(sandbox_client, url, [MAIL])
    assert {name: rule.id for name, rule in again.items()} == {name: rule.id for name, rule in rules.items()}
    experiment = sandbox_client.find_experiment(alerts.EXPERIMENT)
    assert len(list(sandbox_client.list_alert_rules(experiment.id))) == 2

    run(sandbox_client, experiment.id, detected=False)
    time.sleep(2)
    assert not log.exists() or not log.read_text().strip()  # no drift, no notification

    run(sandbox_client, experiment.id, detected=True)
    found = wait_for(log, lambda f: {r["channel"] for r in f} == {"webhook", "email"})
    hooks = [r for r in found if r["channel"] == "webhook"]
    assert len(hooks) == 1 and hooks[0]["path"] == "/sandbox"
    hook = hooks[0]
    assert hook["body"]["type"] == "alert.firing"
    assert hook["body"]["data"]["rule_name"] == alerts.WEBHOOK_RULE and hook["body"]["data"]["experiment_name"] == alerts.EXPERIMENT
    # Signed per Standard Webhooks with the rule's secret, and the log kept the bytes that were signed.
    headers = hook["headers"]
    assert headers["webhook-id"].startswith("msg_") and abs(time.time() - int(headers["webhook-timestamp"])) < 120
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{hook['raw']}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected in headers["webhook-signature"].split()
    mails = [r for r in found if r["channel"] == "email"]
    assert len(mails) == 1 and mails[0]["to"] == [MAIL] and mails[0]["tls"]  # over STARTTLS, as the server insists
    assert alerts.EMAIL_RULE in mails[0]["subject"] and json.loads(mails[0]["body"])["type"] == "alert.firing"
