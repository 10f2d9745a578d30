"""Envoy with --web: the page and the API on one origin, each path to the right place."""

from __future__ import annotations

import ssl
import subprocess
import sys

import grpc
import httpx

from drift_monitoring.v1 import experiment_pb2, experiment_pb2_grpc
from stack import ROOT, free_port


def get(web_envoy, ca_pem, path: str, **kwargs) -> httpx.Response:
    return httpx.get(f"{web_envoy.url}{path}", verify=ssl.create_default_context(cafile=str(ca_pem)), **kwargs)


def test_page_and_deep_links_get_index_html(web_envoy, ca_pem):
    for path in ("/", "/experiments/abc/chart?y=data_drift.parameters.p", "/callback?code=x"):
        reply = get(web_envoy, ca_pem, path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith("text/html")
        assert '<div id="app">' in reply.text
        assert "default-src 'self'" in reply.headers["content-security-policy"]
        assert reply.headers["cache-control"] == "no-cache"


def test_assets_are_immutable_and_missing_ones_404(web_envoy, ca_pem, web_dist):
    script = next((web_dist / "assets").glob("*.js")).name
    reply = get(web_envoy, ca_pem, f"/assets/{script}")
    assert reply.status_code == 200
    assert "immutable" in reply.headers["cache-control"]
    assert reply.headers["content-type"].startswith("text/javascript")
    assert get(web_envoy, ca_pem, "/assets/nope.js").status_code == 404
    assert get(web_envoy, ca_pem, "/assets/../../serve.py").status_code in (200, 404)  # normalized, never the file
    assert "argparse" not in get(web_envoy, ca_pem, "/assets/../../serve.py").text


def test_config_names_the_issuer(web_envoy, ca_pem, issuer):
    config = get(web_envoy, ca_pem, "/config.json").json()
    assert config["issuer"] == issuer.url
    assert config["clientId"] == "drift-monitoring-web"
    assert issuer.url in get(web_envoy, ca_pem, "/").headers["content-security-policy"]


def test_rest_and_grpc_still_reach_the_server(web_envoy, ca_pem, issuer):
    reply = get(web_envoy, ca_pem, "/v1/experiments", headers={"authorization": f"Bearer {issuer.token('manager')}"})
    assert reply.status_code == 200 and "experiments" in reply.json()
    assert get(web_envoy, ca_pem, "/v1/nothing-here").status_code == 404  # the transcoder still guards /v1/
    with grpc.secure_channel(f"localhost:{web_envoy.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        stub = experiment_pb2_grpc.ExperimentServiceStub(channel)
        assert isinstance(stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), timeout=5), experiment_pb2.ListExperimentsResponse)


def test_a_bad_token_on_a_page_path_is_still_refused(web_envoy, ca_pem):
    # jwt_authn runs on every route: a forged token never gets as far as the page either.
    assert get(web_envoy, ca_pem, "/", headers={"authorization": "Bearer not.a.jwt"}).status_code == 401


def test_without_web_every_path_goes_to_the_server(tmp_path):
    """--web is optional: the rendered edge is as before (one catch-all route, no page cluster)."""
    def render(*extra: str) -> str:
        out = tmp_path / ("web" if extra else "plain")
        subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "test", "--out", str(out),
                        "--listen-port", str(free_port()), "--admin-port", str(free_port()), *extra], check=True, capture_output=True)
        return (out / "envoy.yaml").read_text()

    plain, web = render(), render("--web", "web.internal:8960")
    assert "web_static" not in plain and "name: unary" in plain
    assert "cluster: web_static" in web and "STRICT_DNS" in web.split("name: web_static")[1][:80]
    for prefix in ('"/drift_monitoring.v1."', '"/grpc."', '"/v1/"'):
        assert f"prefix: {prefix}" in web
