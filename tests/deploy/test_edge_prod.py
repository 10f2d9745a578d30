"""The prod edge as its container runs it, here without Docker: docker/envoy-entrypoint.sh renders the
prod profile, puts a throwaway certificate in place (certbot has none yet), and execs Envoy. A renewed
certificate published by envoy/install-certs.sh (certbot's deploy hook) is served without a restart,
and the stats listener Prometheus scrapes serves /stats/prometheus and nothing else of the admin."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from scripts import certs
from stack import ROOT, SECRET, free_port

DOMAIN = "drift.example.org"


def served_certificate(port: int) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        return tls.getpeercert(binary_form=True)


def first_certificate(pem: Path) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding
    return x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)


@pytest.fixture
def prod_edge(tmp_path: Path, server, issuer):
    ports = {"DRIFT_MONITOR_EDGE_PORT": free_port(), "DRIFT_MONITOR_EDGE_ADMIN_PORT": free_port(), "DRIFT_MONITOR_EDGE_STATS_PORT": free_port()}
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DRIFT_MONITOR_EDGE_PROFILE": "prod",
        "APP_DOMAIN_NAME": DOMAIN,
        "DRIFT_MONITOR_EDGE_ADDRESS": "127.0.0.1",  # a test on a shared machine listens on loopback only
        **{k: str(v) for k, v in ports.items()},
        "DRIFT_MONITOR_BACKEND": server.target,
        "DRIFT_MONITOR_PROXY_SECRET": SECRET,
        "DRIFT_MONITOR_ISSUERS": json.dumps([{"name": "sandbox", "url": issuer.url, "jwks_uri": f"{issuer.url}/jwks"}]),
        "DRIFT_MONITOR_TLS_DIR": str(tmp_path / "tls"),
        "DRIFT_MONITOR_EDGE_CONFIG_DIR": str(tmp_path / "out"),
        "ENVOY_LOG_LEVEL": "warn",
    }
    log = tmp_path / "envoy.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["sh", str(ROOT / "docker" / "envoy-entrypoint.sh")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    admin = f"http://127.0.0.1:{ports['DRIFT_MONITOR_EDGE_ADMIN_PORT']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{admin}/ready").text.strip() == "LIVE":
                break
        except httpx.HTTPError:
            pass
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    else:
        process.kill()
        raise AssertionError(f"prod Envoy did not start:\n{log.read_text()[-3000:]}")
    yield process, ports, tmp_path / "tls"
    process.terminate()
    process.wait(10)


def test_renewed_certificate_is_served_without_a_restart(prod_edge, tmp_path: Path) -> None:
    process, ports, tls = prod_edge
    port = ports["DRIFT_MONITOR_EDGE_PORT"]
    placeholder = tls / "current" / "fullchain.pem"
    assert served_certificate(port) == first_certificate(placeholder)

    renewed = tmp_path / "live"  # what certbot leaves in /letsencrypt/live/<domain>
    certs.ensure(renewed)
    shutil.copy(renewed / "server.pem", renewed / "fullchain.pem")
    shutil.copy(renewed / "server-key.pem", renewed / "privkey.pem")
    subprocess.run(["sh", str(ROOT / "envoy" / "install-certs.sh"), str(renewed), str(tls)], check=True, capture_output=True)
    new = first_certificate(renewed / "fullchain.pem")
    assert hashlib.sha256(new).digest() != hashlib.sha256(first_certificate(renewed / "ca.pem")).digest()

    deadline = time.monotonic() + 15
    while served_certificate(port) != new and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served_certificate(port) == new
    assert process.poll() is None  # the same Envoy process, no restart


def test_stats_listener_serves_prometheus_stats_only(prod_edge) -> None:
    process, ports, _ = prod_edge
    stats = f"http://127.0.0.1:{ports['DRIFT_MONITOR_EDGE_STATS_PORT']}"
    scraped = httpx.get(f"{stats}/stats/prometheus", timeout=5)
    assert scraped.status_code == 200 and "envoy_cluster_upstream_rq_total" in scraped.text
    for method, path in (("POST", "/quitquitquit"), ("GET", "/config_dump"), ("POST", "/logging"), ("GET", "/stats")):
        assert httpx.request(method, f"{stats}{path}", timeout=5).status_code == 404, path
    assert process.poll() is None
