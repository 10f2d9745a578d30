"""An attacker at the edge: crafted tokens, smuggled identity headers, filter injection, page-token
tampering and probing for private experiments. Everything goes through the session's Envoy.

tests/edge/test_edge.py covers the basic bad tokens (expired, alg none, HS256 with the public key, ...) on
one call and test_authorization_matrix.py on every RPC; here are the tricks built on top of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
import statistics
import time

import httpx
import jwt
import pytest
from bson import ObjectId
from cryptography.hazmat.primitives.asymmetric import rsa

from drift_monitoring.v1 import drift_pb2, user_pb2
from sandbox.issuer.keys import persona_claims
from tests.integration.helpers import ADMIN, Api, Code, RpcError, gateway_metadata

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(signature)}"


def _attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _embedded_jwk(issuer) -> str:
    """Signed with the attacker's key, which the header itself offers as the key to check it with."""
    key = _attacker_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return jwt.encode(persona_claims("admin", issuer.url), key, algorithm="RS256", headers={"jwk": jwk, "kid": issuer.keys.current})


def _jku(issuer) -> str:
    return jwt.encode(persona_claims("admin", issuer.url), _attacker_key(), algorithm="RS256",
                      headers={"jku": "http://127.0.0.1:9/jwks", "kid": "attacker"})


def _swapped_payload(issuer) -> str:
    """A reader's real signature under an admin's claims."""
    header, _, signature = issuer.token("reader").split(".")
    return f"{header}.{_b64(json.dumps(persona_claims('admin', issuer.url)).encode())}.{signature}"


def _hs256(header: dict, claims: dict, secret: bytes) -> str:
    """By hand: PyJWT refuses keys that look like public keys, and empty ones, which are the attacks."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    return f"{signing_input.decode()}.{_b64(hmac.new(secret, signing_input, hashlib.sha256).digest())}"


def _hs256_with_jwks(issuer) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.keys.current}
    return _hs256(header, persona_claims("admin", issuer.url), json.dumps(issuer.keys.jwks()).encode())


def _without_exp(issuer) -> str:
    claims = persona_claims("admin", issuer.url)
    del claims["exp"]
    return issuer.keys.sign(claims)


CRAFTED = {
    "alg None (capitalised)": lambda issuer: _unsigned({"alg": "None", "typ": "JWT"}, persona_claims("admin", issuer.url)),
    "alg NONE with the real kid": lambda issuer: _unsigned({"alg": "NONE", "kid": issuer.keys.current}, persona_claims("admin", issuer.url)),
    "signature stripped": lambda issuer: issuer.token("admin").rsplit(".", 1)[0] + ".",
    "payload swapped under a real signature": _swapped_payload,
    "embedded jwk header": _embedded_jwk,
    "jku header to the attacker's keys": _jku,
    "HS256 keyed with the JWKS": _hs256_with_jwks,
    "kid path traversal, HS256 with an empty key": lambda issuer: _hs256(
        {"alg": "HS256", "kid": "../../../../dev/null"}, persona_claims("admin", issuer.url), b""),
    "no expiry": _without_exp,
    "expired a day ago": lambda issuer: issuer.token("admin", issued_offset=-86400, lifetime=3600),
    "empty bearer": lambda issuer: "",
}


@pytest.mark.parametrize("case", CRAFTED)
async def test_crafted_tokens_are_unauthenticated(gateway, issuer, case):
    api = Api(gateway.channel, (("authorization", f"Bearer {CRAFTED[case](issuer)}"),))
    with pytest.raises(RpcError) as caught:
        await api.users.ListUsers(user_pb2.ListUsersRequest())
    assert caught.value.code() == Code.UNAUTHENTICATED, caught.value.details()


# -- identity headers over every protocol --------------------------------------------------------------


@pytest.fixture(scope="module")
def http(ca_pem):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), timeout=10) as client:
        yield client


def _forged_admin(issuer) -> str:
    return _b64(json.dumps(ADMIN.claims(issuer.url)).encode())


@pytest.mark.parametrize("style", ["lower", "UPPER", "Mixed", "underscores"])
@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "reader token"])
async def test_smuggled_identity_headers_over_rest(http, envoy, issuer, people, style, with_token):
    """However the header name is spelt, a client's x-jwt-payload never makes it to the server."""
    names = {"lower": ("x-jwt-payload", "x-dm-proxy-secret"), "UPPER": ("X-JWT-PAYLOAD", "X-DM-PROXY-SECRET"),
             "Mixed": ("X-Jwt-Payload", "X-Dm-Proxy-Secret"), "underscores": ("x_jwt_payload", "x_dm_proxy_secret")}[style]
    headers = {names[0]: _forged_admin(issuer), names[1]: "guessed-secret-guessed-secret"}
    if with_token:
        headers["authorization"] = f"Bearer {issuer.token('reader')}"
    reply = http.get(f"{envoy.url}/v1/users", headers=headers)
    assert reply.status_code == (403 if with_token else 401), reply.text


async def test_two_authorization_headers_do_not_mix_identities(http, envoy, issuer, people):
    forged = _unsigned({"alg": "none"}, persona_claims("admin", issuer.url))
    headers = [("authorization", f"Bearer {issuer.token('reader')}"), ("authorization", f"Bearer {forged}")]
    reply = http.get(f"{envoy.url}/v1/users", headers=headers)
    assert reply.status_code in (400, 401, 403), reply.text


async def test_request_smuggling_is_refused(envoy, ca_pem):
    """Content-Length and Transfer-Encoding together (CL.TE) would let a second request ride inside
    the first one's body; Envoy refuses the message instead of guessing."""
    context = ssl.create_default_context(cafile=str(ca_pem))
    context.set_alpn_protocols(["http/1.1"])
    smuggled = (b"POST /v1/experiments HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                b"GET /v1/users HTTP/1.1\r\nHost: localhost\r\nx-jwt-payload: x\r\n\r\n")
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=10) as raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(smuggled)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    statuses = [line.split(b" ")[1] for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
    assert statuses == [b"400"], answer[:500]


# -- filter injection ----------------------------------------------------------------------------------

INJECTIONS = [
    'name = "x" OR public = false',
    "public = false",
    'name = "x\\" OR public = false OR name = \\"y"',
    'name = "x") OR (public = false',
    "owner:*",
    "grants:*",
    "grants.entity:*",
    '_id:*',
    '$where = "1"',
    'name = {"$ne": null}',
    'name:{"$gt":""}',
    "name = *",
    'description = "secret plans"',
    "NOT name = \"\"",
    "name >= \"\"",
    "name = \"\\u0000\" OR public = false",
    "-public = true",
]


@pytest.mark.parametrize("text", INJECTIONS)
async def test_filter_injection_never_reveals_private_experiments(people, shared_scenario, text):
    for persona in ("outsider", "newbie", "anonymous"):
        try:
            page = await people[persona].list_experiments(filter=text, page_size=1000)
        except RpcError as error:
            assert error.code() == Code.INVALID_ARGUMENT, f"{text!r}: {error.code().name} {error.details()}"
            continue
        assert shared_scenario.private.id not in {e.id for e in page.experiments}, f"{persona} saw it with {text!r}"


@pytest.mark.parametrize("text", [
    "experiment_id:*", f"experiment = {ObjectId()}", "experiment:*", '_id:*', "model:*", "NOT model = \"\"",
    # per-feature conditions: checked partly by the server itself (element_match.py), still only this experiment's
    "NOT data_drift.features.detected = true", "data_drift.features.feature:*", "NOT concept_drift.features.feature = \"\"",
    "data_drift.features.experiment = x", "data_drift.features.$where = 1", 'data_drift.features.feature = {"$ne": null}',
])
async def test_drift_filters_stay_inside_their_experiment(people, shared_scenario, text):
    try:
        page = await people["outsider"].list_drifts(shared_scenario.public.id, filter=text, page_size=1000)
    except RpcError as error:
        assert error.code() == Code.INVALID_ARGUMENT, error.details()
        return
    assert {d.experiment_id for d in page.drifts} <= {shared_scenario.public.id}


# -- page tokens ---------------------------------------------------------------------------------------


async def test_a_page_token_does_not_open_another_experiment(people, shared_scenario):
    reader, outsider = people["reader"], people["outsider"]
    private_token = (await reader.list_drifts(shared_scenario.private.id, page_size=1)).next_page_token
    public_token = (await outsider.list_drifts(shared_scenario.public.id, page_size=1)).next_page_token
    assert private_token and public_token
    for api, experiment, token, code in [
        (outsider, shared_scenario.private.id, private_token, Code.NOT_FOUND),  # access is checked first
        (outsider, shared_scenario.private.id, public_token, Code.NOT_FOUND),
        (outsider, shared_scenario.public.id, private_token, Code.INVALID_ARGUMENT),  # bound to its experiment
        (reader, shared_scenario.private.id, public_token, Code.INVALID_ARGUMENT),
    ]:
        with pytest.raises(RpcError) as caught:
            await api.list_drifts(experiment, page_size=1, page_token=token)
        assert caught.value.code() == code, caught.value.details()


async def test_every_edited_character_of_a_page_token_is_refused(people, shared_scenario):
    reader = people["reader"]
    token = (await reader.list_drifts(shared_scenario.private.id, page_size=1)).next_page_token
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    accepted = []
    for index, char in enumerate(token):
        edited = token[:index] + alphabet[(alphabet.index(char) + 17) % 64] + token[index + 1 :]
        try:
            await reader.list_drifts(shared_scenario.private.id, page_size=1, page_token=edited)
            accepted.append(index)
        except RpcError as error:
            assert error.code() == Code.INVALID_ARGUMENT, error.details()
    assert accepted == []


async def test_an_experiments_page_token_from_a_manager_gives_an_outsider_nothing_more(people, shared_scenario):
    manager, outsider = people["manager"], people["outsider"]
    page = await manager.list_experiments(page_size=1, order_by="name")
    try:
        rest = await outsider.list_experiments(page_size=1000, order_by="name", page_token=page.next_page_token)
    except RpcError as error:
        assert error.code() == Code.INVALID_ARGUMENT
        return
    assert shared_scenario.private.id not in {e.id for e in rest.experiments}


# -- enumeration ---------------------------------------------------------------------------------------


def _refusal(error: RpcError) -> tuple:
    """Everything a caller learns from a refusal except timing."""
    details = [(k, v) for k, v in (error.trailing_metadata() or ()) if k == "grpc-status-details-bin"]
    return error.code(), error.details(), details


async def _refused(call) -> RpcError:
    with pytest.raises(RpcError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize("persona", ["outsider", "newbie", "anonymous"])
async def test_private_and_missing_experiments_are_indistinguishable(people, shared_scenario, persona):
    api, missing = people[persona], str(ObjectId())
    private = shared_scenario.private.id
    pairs = [
        (api.get_experiment(private), api.get_experiment(missing)),
        (api.list_drifts(private), api.list_drifts(missing)),
        (api.get_drift(private, shared_scenario.private_drift_id), api.get_drift(missing, shared_scenario.private_drift_id)),
        (api.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=private), timeout=10).read(),
         api.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=missing), timeout=10).read()),
    ]
    if persona == "outsider":  # a registered user's writes are refused the same way as well
        pairs += [
            (api.create_drift(private), api.create_drift(missing)),
            (api.update_experiment(private, ["description"], description="x"), api.update_experiment(missing, ["description"], description="x")),
            (api.delete_experiment(private), api.delete_experiment(missing)),
        ]
    for exists, absent in pairs:
        assert _refusal(await _refused(exists)) == _refusal(await _refused(absent))


async def test_private_experiments_cannot_be_told_apart_by_timing(people, shared_scenario):
    """Interleaved GetExperiment on a private and a missing id: the medians differ by less than the noise."""
    outsider, missing = people["outsider"], str(ObjectId())
    timings: dict[str, list[float]] = {"private": [], "missing": []}
    for _ in range(40):
        for label, experiment_id in (("private", shared_scenario.private.id), ("missing", missing)):
            started = time.perf_counter()
            await _refused(outsider.get_experiment(experiment_id))
            timings[label].append(time.perf_counter() - started)
    private, absent = statistics.median(timings["private"]), statistics.median(timings["missing"])
    assert abs(private - absent) < max(0.003, 0.5 * absent), f"private {private * 1000:.2f} ms vs missing {absent * 1000:.2f} ms"


async def test_taken_names_are_the_documented_exception(people, shared_scenario):
    """Names are unique across the service, so creating or renaming to a taken private name says
    ALREADY_EXISTS (README, Limits): that it is taken, and nothing else about the experiment."""
    outsider = people["outsider"]
    error = await _refused(outsider.create_experiment(shared_scenario.private.name))
    assert error.code() == Code.ALREADY_EXISTS
    assert error.details() == "experiment.name is already taken"
    assert shared_scenario.private.id not in str(error.trailing_metadata())


async def test_server_port_refuses_even_the_secret_without_envoy_checking_tokens(server, issuer):
    """Belt and braces for the header contract: with the secret but no payload a caller is anonymous."""
    import grpc

    channel = grpc.aio.insecure_channel(server.target)
    try:
        api = Api(channel, gateway_metadata(None))
        with pytest.raises(RpcError) as caught:
            await api.users.ListUsers(user_pb2.ListUsersRequest())
        assert caught.value.code() == Code.UNAUTHENTICATED
        listed = await api.list_experiments(page_size=1000)
        assert all(e.public for e in listed.experiments)
    finally:
        await channel.close()


async def test_a_drift_of_a_private_experiment_is_not_reachable_through_ones_own(people, shared_scenario, db):
    """outsider owns an experiment and names a private experiment's drift under it: the drift is looked
    up within the experiment in the path, so it is not found, and it stays as it was."""
    outsider = people["outsider"]
    own = await outsider.create_experiment()
    foreign = shared_scenario.private_drift_id
    before = db.drifts.find_one({"_id": ObjectId(foreign)})
    calls = [
        outsider.get_drift(own.id, foreign),
        outsider.update_drift(own.id, foreign, ["tags"], tags=["mine"]),
        outsider.delete_drift(own.id, foreign),
    ]
    for call in calls:
        assert (await _refused(call)).code() == Code.NOT_FOUND
    reused = await outsider.create_drift(own.id, request_id="same-as-elsewhere")  # request ids are per experiment
    assert reused.experiment_id == own.id
    assert db.drifts.find_one({"_id": ObjectId(foreign)}) == before
    await outsider.delete_experiment(own.id)


async def test_a_resume_token_from_a_private_stream_opens_nothing_else(people, scenario):
    """Resume tokens carry a position in the one event log, not an experiment: replayed on the public
    experiment they give its events only, and on the private one an outsider is still NOT_FOUND."""
    reader, outsider, manager = people["reader"], people["outsider"], people["manager"]
    async with reader.watch(scenario.private.id) as watcher:
        token = (await watcher.ready()).resume_token
    secret = await manager.create_drift(scenario.private.id, model="after-the-token")
    public = await manager.create_drift(scenario.public.id, model="public-after-the-token")
    async with outsider.watch(scenario.public.id, token) as replay:
        seen = await replay.changes(1)
        assert [e.drift.id for e in seen] == [public.id] and await replay.quiet(0.5) == []
    async with outsider.watch(scenario.private.id, token) as refused:
        assert (await refused.error()).code() == Code.NOT_FOUND
    assert secret.id not in {e.drift.id for e in seen}
