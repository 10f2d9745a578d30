"""The backend and Envoy started here with the environment compose gives them (rendered by the real
Compose), through the same entrypoints as in their images; only what names the container world is
swapped: service names and fixed ports for this machine's, /run/secrets/* for the sandbox files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import grpc
import httpx
import pytest

from tests.deploy.conftest import rendered
from drift_monitoring.v1 import user_pb2, user_pb2_grpc
from sandbox import personas
from scripts import wait_healthy
from stack import ROOT, free_port

SECRETS = ROOT / "sandbox" / "secrets"
SECRET_FILES = {"/run/secrets/app_proxy_secret": SECRETS / "proxy_secret", "/run/secrets/app_database_password": SECRETS / "app_database_password"}


def container_env(combination: str, service: str, swap: dict[str, str]) -> dict[str, str]:
    env = {k: str(v) for k, v in rendered(combination)["services"][service]["environment"].items()}
    env = {k: str(SECRET_FILES.get(v, v)) for k, v in env.items()}
    return {**env, **swap}


def test_backend_serves_with_its_compose_environment(database_uri: str, tmp_path: Path) -> None:
    listen, metrics = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = container_env("prod", "backend", {
        "MONGODB_URI": database_uri, "MONGODB_PASSWORD_FILE": "",  # FerretDB has no users
        "DRIFT_MONITOR_LISTEN": listen, "DRIFT_MONITOR_METRICS_LISTEN": metrics, "PATH": os.environ["PATH"],
    })
    assert env["DRIFT_MONITOR_PROXY_SECRET_FILE"] == str(SECRETS / "proxy_secret")
    log = tmp_path / "backend.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "docker" / "entrypoint.py"), sys.executable, "-m", "server"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy.main(listen, 30) == 0, log.read_text()
        assert "drift_monitor_grpc_handled_total" in httpx.get(f"http://{metrics}/metrics", timeout=5).text
        # The proxy secret came from its file: calls carrying it are served, others refused.
        with grpc.insecure_channel(listen) as channel:
            users = user_pb2_grpc.UserServiceStub(channel)
            claims = personas.claims("reader")
            users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=personas.gateway_metadata(personas.proxy_secret(), claims))
            with pytest.raises(grpc.RpcError) as refused:
                users.GetCurrentUser(user_pb2.GetCurrentUserRequest(), metadata=personas.gateway_metadata("not-the-secret-of-this-stack", claims))
            assert refused.value.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    finally:
        process.terminate()
        assert process.wait(30) == 0  # SIGTERM drains and exits 0, as `docker compose stop` expects


def test_envoy_entrypoint_starts_with_the_dev_compose_environment(tmp_path: Path, server) -> None:
    admin = free_port()
    env = container_env("dev", "envoy", {
        "DRIFT_MONITOR_EDGE_ADDRESS": "127.0.0.1", "DRIFT_MONITOR_EDGE_PORT": str(free_port()), "DRIFT_MONITOR_EDGE_ADMIN_PORT": str(admin),
        "DRIFT_MONITOR_EDGE_STATS_PORT": str(free_port()), "DRIFT_MONITOR_BACKEND": server.target,
        "DRIFT_MONITOR_TLS_DIR": str(tmp_path / "tls"), "DRIFT_MONITOR_EDGE_CONFIG_DIR": str(tmp_path / "out"), "ENVOY_LOG_LEVEL": "warn",
    })
    help_text = subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--help"], capture_output=True, text=True).stdout
    if "--web" not in help_text:  # the web view's render option lands with its branch
        env.pop("DRIFT_MONITOR_WEB")
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    log = tmp_path / "envoy.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "docker" / "entrypoint.py"), "sh", str(ROOT / "docker" / "envoy-entrypoint.sh")],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{admin}/ready").text.strip() == "LIVE":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"Envoy did not start:\n{log.read_text()[-3000:]}")
        assert (tmp_path / "tls" / "ca.pem").is_file()  # the dev CA developers copy out of the volume
        config = (tmp_path / "out" / "envoy.yaml").read_text()
        assert (SECRETS / "proxy_secret").read_text().strip() in config  # the secret came through its file
        assert "http://127.0.0.1:8950" in config and '"issuer"' in config  # iss as the host sees it, keys from the service
    finally:
        process.terminate()
        process.wait(10)
