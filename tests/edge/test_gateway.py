"""What Envoy itself decides, per protocol: refusals as each client expects them, unknown paths, preflights,
timeouts on streams, key retirement, the ways an issuer can be configured, and what render.py refuses."""

from __future__ import annotations

import json
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import grpc
import httpx
import jwt
import pytest

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc
from stack import ROOT, Envoy, Issuer
from stack.envoy import BINARY as ENVOY

LIST = "drift_monitoring.v1.ExperimentService/ListExperiments"
WATCH = "drift_monitoring.v1.DriftService/WatchDrifts"


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def frame(message) -> bytes:
    body = message.SerializeToString()
    return b"\x00" + struct.pack(">I", len(body)) + body


def frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    while len(data) >= 5:
        flags, length = data[0], struct.unpack(">I", data[1:5])[0]
        if len(data) < 5 + length:
            return
        yield flags, data[5 : 5 + length]
        data = data[5 + length :]


def grpc_web_status(reply: httpx.Response) -> int:
    """grpc-status from a trailers frame, or from the headers of a trailers-only reply."""
    for flags, payload in frames(reply.content):
        if flags & 0x80:
            trailers = dict(line.split(":", 1) for line in payload.decode().strip().split("\r\n") if line)
            return int(trailers["grpc-status"].strip())
    return int(reply.headers["grpc-status"])


def grpc_web_call(http: httpx.Client, envoy: Envoy, method: str, message, token: str = "") -> httpx.Response:
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1", "origin": "https://app.example.org"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return http.post(f"{envoy.url}/{method}", content=frame(message), headers=headers)


@pytest.fixture(scope="module")
def public_experiment(channel, issuer) -> experiment_pb2.Experiment:
    from drift_monitoring.v1 import user_pb2, user_pb2_grpc

    token = issuer.token("manager")
    user_pb2_grpc.UserServiceStub(channel).RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=bearer(token), timeout=10)
    return experiment_pb2_grpc.ExperimentServiceStub(channel).CreateExperiment(
        experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"gateway-{time.time_ns()}", public=True)),
        metadata=bearer(token), timeout=10,
    )


# -- refusals, as each kind of client expects them ---------------------------------------------------------


@pytest.mark.parametrize("case", ["expired", "wrong audience", "garbage"])
def test_grpc_web_clients_get_unauthenticated_with_cors_headers(http, envoy, issuer, case):
    token = {
        "expired": lambda: issuer.token("reader", lifetime=3600, issued_offset=-7200),
        "wrong audience": lambda: issuer.token("reader", audience="someone-else"),
        "garbage": lambda: "not.a.token",
    }[case]()
    reply = grpc_web_call(http, envoy, LIST, experiment_pb2.ListExperimentsRequest(), token)
    assert grpc_web_status(reply) == grpc.StatusCode.UNAUTHENTICATED.value[0], (reply.status_code, dict(reply.headers))
    # A browser can only read the status when the refusal carries the CORS headers too.
    assert reply.headers.get("access-control-allow-origin") == "https://app.example.org"
    assert "grpc-status" in reply.headers.get("access-control-expose-headers", "")


def test_rate_limited_grpc_web_and_rest_calls(run_dir, server, issuer, ca_pem, http):
    limited = Envoy(run_dir, "envoy-limited-web", server, issuer, ca_pem.parent, "--rate-limit", "1", "--rate-burst", "2")
    try:
        web = [grpc_web_call(http, limited, LIST, experiment_pb2.ListExperimentsRequest()) for _ in range(6)]
        rest = [http.get(f"{limited.url}/v1/experiments") for _ in range(6)]
    finally:
        limited.stop()
    # Browsers hear what native gRPC clients hear (test_edge.py): RESOURCE_EXHAUSTED, in a 200 reply.
    assert {grpc_web_status(r) for r in web} == {grpc.StatusCode.OK.value[0], grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]}
    assert all(r.status_code == 200 for r in web)
    assert 429 in {r.status_code for r in rest} and {r.status_code for r in rest} <= {200, 429}


def test_a_token_of_an_untrusted_issuer_is_refused(run_dir, channel):
    stranger = Issuer(run_dir)  # a real issuer with keys of its own, trusted by no one
    try:
        with pytest.raises(grpc.RpcError) as caught:
            experiment_pb2_grpc.ExperimentServiceStub(channel).ListExperiments(
                experiment_pb2.ListExperimentsRequest(), metadata=bearer(stranger.token("admin")), timeout=10
            )
    finally:
        stranger.stop()
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_token_without_expiry_is_refused(channel, issuer):
    claims = issuer.claims("admin")
    del claims["exp"]
    token = jwt.encode(claims, issuer.keys._private_keys[issuer.keys.current], algorithm="RS256", headers={"kid": issuer.keys.current})
    with pytest.raises(grpc.RpcError) as caught:
        experiment_pb2_grpc.ExperimentServiceStub(channel).ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(token), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


# -- what never reaches the server --------------------------------------------------------------------------


def test_unknown_rest_paths_and_parameters_are_answered_by_envoy(http, envoy):
    assert http.get(f"{envoy.url}/v2/nothing/here").status_code == 404
    assert http.get(f"{envoy.url}/v1/experiments", params={"page_sise": "3"}).status_code == 400  # a typo, not a 503


def test_a_preflight_from_another_origin_is_not_forwarded(http, envoy):
    before = envoy.stat("cluster.backend_grpc.upstream_rq_total")
    reply = http.options(f"{envoy.url}/{LIST}", headers={"origin": "https://evil.example.org", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in reply.headers and "grpc-status" not in reply.headers
    assert envoy.stat("cluster.backend_grpc.upstream_rq_total") == before


# -- streams ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def impatient(run_dir, server, issuer, ca_pem) -> Iterator[Envoy]:
    """Envoy with a 2 s unary timeout and a 3 s idle timeout: a Watch must outlive both."""
    edge = Envoy(run_dir, "envoy-impatient", server, issuer, ca_pem.parent, "--request-timeout", "2s", "--stream-idle-timeout", "3s")
    yield edge
    edge.stop()


def test_watch_outlives_route_and_idle_timeouts(impatient, ca_pem, issuer, public_experiment):
    with grpc.secure_channel(impatient.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        stream = drift_pb2_grpc.DriftServiceStub(channel).WatchDrifts(
            drift_pb2.WatchDriftsRequest(experiment_id=public_experiment.id), metadata=bearer(issuer.token("reader")), timeout=30
        )
        started, heartbeats = time.monotonic(), 0
        for event in stream:  # heartbeats every second (DRIFT_MONITOR_HEARTBEAT_SECONDS=1)
            heartbeats += event.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT
            if time.monotonic() - started > 8:
                break
        stream.cancel()
    assert heartbeats >= 6


def test_watch_over_grpc_web_and_http_1_1(impatient, ca_pem, issuer, public_experiment):
    """A browser's server stream: gRPC-web frames arriving one by one over a single HTTP/1.1 response."""
    request = drift_pb2.WatchDriftsRequest(experiment_id=public_experiment.id)
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1", "authorization": f"Bearer {issuer.token('reader')}"}
    events, buffer, started = [], b"", time.monotonic()
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), http2=False, timeout=10) as client:
        with client.stream("POST", f"{impatient.url}/{WATCH}", content=frame(request), headers=headers) as reply:
            assert reply.status_code == 200 and reply.http_version == "HTTP/1.1"
            for chunk in reply.iter_bytes():
                buffer += chunk
                for flags, payload in frames(buffer):
                    buffer = buffer[5 + len(payload) :]
                    assert not flags & 0x80, f"the stream ended: {payload!r}"
                    events.append(drift_pb2.WatchDriftsResponse.FromString(payload))
                if time.monotonic() - started > 5:
                    break
    assert sum(e.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT for e in events) >= 3


# -- keys and issuers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_edge(run_dir, server, ca_pem) -> Iterator[tuple[Issuer, Envoy, experiment_pb2_grpc.ExperimentServiceStub]]:
    own = Issuer(run_dir)
    edge = Envoy(run_dir, "envoy-own-issuer", server, own, ca_pem.parent)
    with grpc.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        yield own, edge, experiment_pb2_grpc.ExperimentServiceStub(channel)
    edge.stop()
    own.stop()


def test_a_token_in_use_is_refused_once_its_key_is_retired(own_edge):
    """Envoy caches verified tokens; retiring the key must still end them (after the 1 s JWKS refresh)."""
    issuer, _, experiments = own_edge
    token = issuer.token("reader")
    for _ in range(3):  # verified, and so in Envoy's token cache
        experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(token), timeout=5)
    issuer.keys.rotate()
    issuer.keys.retire()
    deadline = time.monotonic() + 20
    while True:
        try:
            experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(token), timeout=5)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() < deadline, "a token of a retired key is still accepted"
        time.sleep(0.5)
    experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(issuer.token("reader")), timeout=5)


def test_an_issuer_from_a_local_jwks_file(run_dir, server, issuer, ca_pem):
    """jwks_file instead of jwks_uri: the issuer's published jwks.json, read by Envoy at start."""
    provider = {"name": "sandbox_file", "url": issuer.url, "jwks_file": str(issuer.keys.jwks_path), "audiences": ["drift-monitoring"]}
    edge = Envoy(run_dir, "envoy-jwks-file", server, [provider], ca_pem.parent)
    try:
        with grpc.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            stub = experiment_pb2_grpc.ExperimentServiceStub(channel)
            stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(issuer.token("reader")), timeout=10)
            with pytest.raises(grpc.RpcError) as caught:
                stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer("a.b.c"), timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        edge.stop()
    assert "jwks_" not in edge.config.read_text().split("clusters:", 1)[1]  # no cluster to fetch a file


def test_two_issuers_each_accepted(run_dir, server, issuer, ca_pem):
    second = Issuer(run_dir)
    edge = Envoy(run_dir, "envoy-two-issuers", server, [issuer.provider("first", "1s"), second.provider("second", "1s")], ca_pem.parent)
    try:
        with grpc.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            stub = experiment_pb2_grpc.ExperimentServiceStub(channel)
            for source in (issuer, second):
                stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(source.token("reader")), timeout=10)
    finally:
        edge.stop()
        second.stop()


def test_a_backend_named_by_dns(run_dir, server, issuer, ca_pem):
    """Compose names the server by service name: the cluster resolves it instead of taking an IP."""
    named = SimpleNamespace(target=f"localhost:{server.port}")
    edge = Envoy(run_dir, "envoy-dns-backend", named, issuer, ca_pem.parent)
    try:
        assert "STRICT_DNS" in edge.config.read_text()
        with grpc.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            experiment_pb2_grpc.ExperimentServiceStub(channel).ListExperiments(experiment_pb2.ListExperimentsRequest(), timeout=10)
    finally:
        edge.stop()


# -- rendering ----------------------------------------------------------------------------------------------


def render(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--out", str(tmp_path / "out"), *args],
                          capture_output=True, text=True, cwd=ROOT)


PROD = ["--profile", "prod", "--domain", "drift.example.org", "--proxy-secret", "s" * 32]


@pytest.mark.parametrize(("issuers", "complaint"), [
    ([], "DRIFT_MONITOR_ISSUERS"),
    ([{"name": "has space", "url": "https://a.example", "jwks_uri": "https://a.example/jwks"}], "letters, digits"),
    ([{"name": "a", "url": "https://a.example", "jwks_uri": "https://a.example/jwks", "audience": "x"}], "keys from"),
    ([{"name": "a", "url": "https://a.example"}], "jwks_uri"),
    ([{"name": "a", "url": "https://a.example", "jwks_uri": "https://a.example/jwks", "cache_duration": "10m"}], "cache_duration"),
    ([{"name": "a", "url": "https://a.example", "jwks_uri": "https://a.example/jwks"},
      {"name": "a", "url": "https://b.example", "jwks_uri": "https://b.example/jwks"}], "share a name"),
])
def test_render_refuses_bad_issuer_lists(tmp_path, issuers, complaint):
    result = render(tmp_path, *PROD, "--issuers", json.dumps(issuers))
    assert result.returncode == 2 and complaint in result.stderr, result.stderr


def test_render_escapes_values_and_checks_https_jwks_names(tmp_path, ca_pem):
    secret = 'with "quotes", a colon: and a \\ backslash'
    egi = {"name": "egi", "url": "https://aai.egi.eu/auth/realms/egi", "audiences": ["drift-monitoring"],
           "jwks_uri": "https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/certs"}
    result = render(tmp_path, "--profile", "test", "--proxy-secret", secret, "--issuers", json.dumps([egi]),
                    "--cert-dir", str(ca_pem.parent))
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "out" / "envoy.yaml").read_text()
    assert json.dumps(secret) in config
    # Upstream TLS to the JWKS host checks the certificate's name, not only its chain.
    assert 'matcher: {exact: "aai.egi.eu"}' in config
    validated = subprocess.run([ENVOY, "--mode", "validate", "-c", str(tmp_path / "out" / "envoy.yaml")], capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-2000:]


def test_the_rendered_config_speaks_the_servers_header_contract(envoy):
    """The names Envoy strips, sets and forwards are the ones server/identity.py reads."""
    from server.identity import PAYLOAD_HEADER, PROXY_SECRET_HEADER

    config = envoy.config.read_text()
    assert f"- remove: {PAYLOAD_HEADER}" in config and f"- remove: {PROXY_SECRET_HEADER}" in config
    assert f"forward_payload_header: {PAYLOAD_HEADER}" in config and "forward: true" in config
    assert f"key: {PROXY_SECRET_HEADER}, value:" in config
    # The strip comes before jwt_authn sets the payload: filter order is the guarantee.
    filters = config.split("http_filters:", 1)[1]
    assert filters.index("header_mutation") < filters.index("jwt_authn") < filters.index("envoy.filters.http.router")
