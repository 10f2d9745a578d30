"""Through Envoy with real TLS and real tokens: protocols, token checks, identity headers, CORS, limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import subprocess
import sys
import time

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc, experiment_pb2, experiment_pb2_grpc, user_pb2, user_pb2_grpc
from sandbox.issuer.keys import persona_claims
from stack import ROOT, Envoy, Issuer
from stack.envoy import BINARY as ENVOY

GROUP = "urn:drift-monitoring:group:ml-team"


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


@pytest.fixture(scope="module")
def stubs(channel):
    return (
        experiment_pb2_grpc.ExperimentServiceStub(channel),
        drift_pb2_grpc.DriftServiceStub(channel),
        user_pb2_grpc.UserServiceStub(channel),
    )


@pytest.fixture(scope="module")
def world(stubs, issuer):
    """Registered personas; a private experiment of outsider's shared READ with the ML-team group; a public one."""
    experiments, drifts, users = stubs
    for persona in ("manager", "editor", "reader", "outsider", "admin"):
        users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=bearer(issuer.token(persona)), timeout=10)
    owner = bearer(issuer.token("outsider"))
    grant = experiment_pb2.Grant(entity=GROUP, level=experiment_pb2.ACCESS_LEVEL_READ)
    private = experiments.CreateExperiment(
        experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"edge-private-{time.time_ns()}", grants=[grant])),
        metadata=owner, timeout=10,
    )
    public = experiments.CreateExperiment(
        experiment_pb2.CreateExperimentRequest(experiment=experiment_pb2.Experiment(name=f"edge-public-{time.time_ns()}", public=True)),
        metadata=owner, timeout=10,
    )
    drift = drift_pb2.Drift(model="edge-model", tags=["edge"])
    drift.data_drift.parameters.update({"p_value": 0.01})
    drifts.CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=public.id, drift=drift), metadata=owner, timeout=10)
    return private, public


def grpc_web(http: httpx.Client, url: str, method: str, request, response_type, token: str | None = None):
    """One unary call in the gRPC-web wire format over HTTP/1.1, as a browser makes it."""
    body = request.SerializeToString()
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1", **({"authorization": f"Bearer {token}"} if token else {})}
    reply = http.post(f"{url}/{method}", content=b"\x00" + struct.pack(">I", len(body)) + body, headers=headers)
    assert reply.status_code == 200, reply.text
    message, trailers, data = None, {}, reply.content
    while data:
        flags, length = data[0], struct.unpack(">I", data[1:5])[0]
        frame, data = data[5 : 5 + length], data[5 + length :]
        if flags & 0x80:
            trailers = dict(line.split(":", 1) for line in frame.decode().strip().split("\r\n") if line)
        else:
            message = response_type.FromString(frame)
    status = int(trailers.get("grpc-status", reply.headers.get("grpc-status", "0")))
    return message, status


def test_grpc_grpc_web_and_rest_return_the_same_experiment(stubs, world, http, envoy, issuer):
    private, _ = world
    token = issuer.token("editor")  # READ through the group entitlement
    request = experiment_pb2.GetExperimentRequest(experiment_id=private.id)
    native = stubs[0].GetExperiment(request, metadata=bearer(token), timeout=10)
    web, status = grpc_web(http, envoy.url, "drift_monitoring.v1.ExperimentService/GetExperiment", request, experiment_pb2.Experiment, token)
    rest = http.get(f"{envoy.url}/v1/experiments/{private.id}", headers={"authorization": f"Bearer {token}"})
    assert status == 0 and web == native
    assert rest.status_code == 200, rest.text
    body = rest.json()
    assert (body["id"], body["name"], body["owner"], body["caller_access"]) == (native.id, native.name, native.owner, "ACCESS_LEVEL_READ")


def test_rest_lists_and_filters_drifts(world, http, envoy):
    _, public = world
    reply = http.get(f"{envoy.url}/v1/experiments/{public.id}/drifts", params={"filter": "data_drift.parameters.p_value < 0.05"})
    assert reply.status_code == 200, reply.text
    drifts = reply.json()["drifts"]
    assert [d["model"] for d in drifts] == ["edge-model"] and drifts[0]["data_drift"]["parameters"] == {"p_value": 0.01}


def test_rest_errors_keep_their_status(world, http, envoy):
    reply = http.get(f"{envoy.url}/v1/experiments/{world[0].id}")  # anonymous, private
    assert reply.status_code == 404
    reply = http.get(f"{envoy.url}/v1/experiments/{world[1].id}/drifts", params={"filter": "colour = red"})
    assert reply.status_code == 400 and "filter" in reply.text, dict(reply.headers)


def test_missing_token_is_anonymous_and_sees_only_public(stubs, world):
    names = {e.name for e in stubs[0].ListExperiments(experiment_pb2.ListExperimentsRequest(page_size=1000), timeout=10).experiments}
    private, public = world
    assert public.name in names and private.name not in names


def _alg_none(claims) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return f"{header.decode()}.{payload.decode()}."


def _hs256_with_public_key(issuer, claims) -> str:
    # Forged by hand: PyJWT refuses to use a PEM as an HMAC key, which is the attack.
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    signing_input = header + b"." + payload
    signature = base64.urlsafe_b64encode(hmac.new(issuer.keys.public_pem(), signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


BAD_TOKENS = {
    "expired": lambda issuer: issuer.token("admin", lifetime=-120),
    "not yet valid": lambda issuer: issuer.token("admin", not_before_offset=600),
    "wrong issuer": lambda issuer: issuer.keys.sign(persona_claims("admin", "https://evil.example.org")),
    "wrong audience": lambda issuer: issuer.token("admin", audience="someone-else"),
    "bad signature": lambda issuer: jwt.encode(
        persona_claims("admin", issuer.url), rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(issuer.token("admin"))["kid"]},
    ),
    "alg none": lambda issuer: _alg_none(persona_claims("admin", issuer.url)),
    "HS256 with the public key": lambda issuer: _hs256_with_public_key(issuer, persona_claims("admin", issuer.url)),
    "garbage": lambda issuer: "not.a.token",
}


@pytest.mark.parametrize("case", BAD_TOKENS)
def test_bad_tokens_are_refused(stubs, issuer, case):
    with pytest.raises(grpc.RpcError) as caught:
        stubs[0].ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(BAD_TOKENS[case](issuer)), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_forged_identity_headers_are_stripped(stubs, world, issuer):
    admin_claims = persona_claims("admin", issuer.url)
    forged = (
        ("x-jwt-payload", base64.urlsafe_b64encode(json.dumps(admin_claims).encode()).rstrip(b"=").decode()),
        ("x-dm-proxy-secret", "guessed-secret-guessed-secret"),
    )
    with pytest.raises(grpc.RpcError) as caught:  # anonymous once the forged payload is gone
        stubs[2].ListUsers(user_pb2.ListUsersRequest(), metadata=forged, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # With a real reader token the forged admin payload must not win either.
    with pytest.raises(grpc.RpcError) as caught:
        stubs[2].ListUsers(user_pb2.ListUsersRequest(), metadata=forged + bearer(issuer.token("reader")), timeout=10)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_backend_refuses_calls_that_bypass_envoy(server, world):
    with grpc.insecure_channel(server.target) as direct:
        with pytest.raises(grpc.RpcError) as caught:
            experiment_pb2_grpc.ExperimentServiceStub(direct).GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=world[1].id), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("with_claim", [True, False], ids=["from the token", "from UserInfo"])
def test_entitlements_grant_access(stubs, world, issuer, with_claim):
    private, _ = world
    request = experiment_pb2.GetExperimentRequest(experiment_id=private.id)
    member = issuer.token("editor", entitlements=with_claim)  # editor is in the ML team
    assert stubs[0].GetExperiment(request, metadata=bearer(member), timeout=10).caller_access == experiment_pb2.ACCESS_LEVEL_READ
    with pytest.raises(grpc.RpcError) as caught:
        stubs[0].GetExperiment(request, metadata=bearer(issuer.token("reader", entitlements=with_claim)), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_cors_preflight(http, envoy):
    def preflight(origin):
        return http.options(
            f"{envoy.url}/drift_monitoring.v1.ExperimentService/ListExperiments",
            headers={"origin": origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-grpc-web,authorization"},
        )

    allowed = preflight("https://app.example.org")
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example.org"
    assert "x-grpc-web" in allowed.headers.get("access-control-allow-headers", "")
    assert "access-control-allow-origin" not in preflight("https://evil.example.org").headers


@pytest.fixture(scope="module")
def rotating(run_dir, server, ca_pem):
    """An issuer of its own (keys rotate here) behind an Envoy of its own; both trusted by nobody else."""
    own = Issuer(run_dir)
    edge = Envoy(run_dir, "envoy-rotation", server, own, ca_pem.parent)
    with grpc.secure_channel(f"localhost:{edge.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        yield own, experiment_pb2_grpc.ExperimentServiceStub(channel)
    edge.stop()
    own.stop()


def test_new_key_accepted_after_rotation(rotating):
    issuer, experiments = rotating
    issuer.keys.rotate()
    token = issuer.token("reader")  # signed with a key Envoy has not fetched yet

    def accepted(token: str) -> bool:
        try:
            experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(token), timeout=5)
            return True
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error
            return False

    deadline = time.monotonic() + 20
    while not accepted(token):  # the JWKS cache (1 s in tests) refreshes in the background
        assert time.monotonic() < deadline, "the new key was never accepted"
        time.sleep(0.5)


def test_old_key_refused_after_retire(rotating):
    issuer, experiments = rotating
    old_token = issuer.token("reader")  # current key, soon to be old
    issuer.keys.rotate()
    issuer.keys.retire()  # only the new key remains published
    deadline = time.monotonic() + 20
    while True:
        try:
            experiments.ListExperiments(experiment_pb2.ListExperimentsRequest(), metadata=bearer(old_token), timeout=5)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() < deadline, "a token of the retired key is still accepted"
        time.sleep(0.5)


def test_watch_survives_past_default_timeouts(stubs, world, issuer):
    _, public = world
    stream = stubs[1].WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=public.id), metadata=bearer(issuer.token("reader")), timeout=60)
    started, heartbeats = time.monotonic(), 0
    for event in stream:  # Envoy's default route timeout is 15 s; heartbeats come every second
        heartbeats += event.type == drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT
        if time.monotonic() - started > 20:
            break
    stream.cancel()
    assert heartbeats >= 15


def test_rate_limit_returns_resource_exhausted(run_dir, server, issuer, ca_pem):
    limited = Envoy(run_dir, "envoy-limited", server, issuer, ca_pem.parent, "--rate-limit", "3")
    try:
        with grpc.secure_channel(f"localhost:{limited.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
            stub = experiment_pb2_grpc.ExperimentServiceStub(channel)
            codes = []
            for _ in range(20):
                try:
                    stub.ListExperiments(experiment_pb2.ListExperimentsRequest(), timeout=5)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())
    finally:
        limited.stop()
    assert grpc.StatusCode.OK in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}


@pytest.mark.parametrize("profile", ["dev", "test", "prod"])
def test_envoy_validates_every_profile(tmp_path, ca_pem, profile):
    if profile == "prod":  # laid out as the certbot deploy hook leaves it: current/{fullchain,privkey}.pem
        source = tmp_path / "live"
        source.mkdir()
        (source / "fullchain.pem").write_bytes((ca_pem.parent / "server.pem").read_bytes())
        (source / "privkey.pem").write_bytes((ca_pem.parent / "server-key.pem").read_bytes())
        cert_dir = tmp_path / "tls"
        subprocess.run([str(ROOT / "envoy" / "install-certs.sh"), str(source), str(cert_dir)], check=True, capture_output=True)
    else:
        cert_dir = ca_pem.parent
    extra = ["--domain", "drift.example.org", "--proxy-secret", "p" * 32,
             "--issuers", json.dumps([{"name": "egi", "url": "https://aai.egi.eu/auth/realms/egi", "jwks_uri": "https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/certs"}])] if profile == "prod" else []
    subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", profile, "--out", str(tmp_path / "out"), "--cert-dir", str(cert_dir), *extra], check=True)
    result = subprocess.run([ENVOY, "--mode", "validate", "-c", str(tmp_path / "out" / "envoy.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_prod_refuses_localhost(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "prod", "--domain", "localhost", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "APP_DOMAIN_NAME" in result.stderr


def test_backend_refuses_a_wrong_secret_even_with_identity_headers(server, world, issuer):
    forged = (("x-dm-proxy-secret", "not-the-secret-not-the-secret"),
              ("x-jwt-payload", base64.urlsafe_b64encode(json.dumps(persona_claims("admin", issuer.url)).encode()).rstrip(b"=").decode()))
    with grpc.insecure_channel(server.target) as direct:
        with pytest.raises(grpc.RpcError) as caught:
            user_pb2_grpc.UserServiceStub(direct).ListUsers(user_pb2.ListUsersRequest(), metadata=forged, timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_rest_status_codes_of_the_server_are_not_rewritten(world, http, envoy, issuer):
    """Envoy maps its own 403 (jwt_authn's audience check) to 401; the server's PERMISSION_DENIED stays 403."""
    reader = {"authorization": f"Bearer {issuer.token('reader')}"}
    assert http.get(f"{envoy.url}/v1/users", headers=reader).status_code == 403
    wrong_audience = {"authorization": f"Bearer {issuer.token('reader', audience='someone-else')}"}
    assert http.get(f"{envoy.url}/v1/users", headers=wrong_audience).status_code == 401
    assert http.get(f"{envoy.url}/v1/experiments", headers={"authorization": "Bearer not.a.token"}).status_code == 401


def test_tokens_in_query_strings_are_not_accepted(world, http, envoy, issuer):
    """Only the Authorization header carries tokens (URLs end up in logs); a query token is ignored, so anonymous."""
    reply = http.get(f"{envoy.url}/v1/experiments/{world[0].id}", params={"access_token": issuer.token("outsider")})
    assert reply.status_code in (400, 404), reply.text  # never the private experiment


def test_a_browser_login_token_works_through_envoy(stubs, world, issuer):
    """authorization_code + PKCE at the sandbox issuer gives an access token Envoy and the server accept."""
    verifier = base64.urlsafe_b64encode(b"v" * 48).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": "drift-monitoring-web", "redirect_uri": "https://localhost:8443/callback",
             "scope": "openid profile", "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}
    redirect = httpx.post(f"{issuer.url}/authorize", data={**query, "persona": "editor"})
    assert redirect.status_code == 302
    code = dict(httpx.QueryParams(httpx.URL(redirect.headers["location"]).query))["code"]
    tokens = httpx.post(f"{issuer.url}/token", data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                                      "client_id": query["client_id"], "redirect_uri": query["redirect_uri"]}).json()
    got = stubs[0].GetExperiment(experiment_pb2.GetExperimentRequest(experiment_id=world[0].id), metadata=bearer(tokens["access_token"]), timeout=10)
    assert got.caller_access == experiment_pb2.ACCESS_LEVEL_READ
