"""Bad input, generated: every request message of every RPC, filled by hypothesis from its descriptor.

Random and hostile strings, huge and deeply nested parameters with NaN and infinities, giant tag lists,
bogus ids, page and resume tokens, filters and update masks, sent through Envoy by a caller with EDIT
on the target experiment (so validation, not permission, is what answers). Whatever comes back must be
a deliberate status, never INTERNAL or UNKNOWN, and a refused call must leave the stored data exactly as
it was. tests/integration/test_validation.py pins the individual limits; this finds what it forgot.
Then the same over REST: invalid UTF-8, broken JSON, oversized bodies.
"""

from __future__ import annotations

import importlib
import ssl
from collections.abc import Iterator
from typing import Any

import grpc
import httpx
import pytest
from bson import ObjectId
from google.protobuf import descriptor, struct_pb2
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drift_monitoring.v1 import drift_pb2, experiment_pb2, user_pb2, user_pb2_grpc
from stack import Envoy
from tests.conftest import edge_of_its_own
from tests.security.test_authorization_matrix import METHODS

EXAMPLES = 30
FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS, grpc.StatusCode.UNAVAILABLE}
FD = descriptor.FieldDescriptor

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=100, max_size=5000),
    st.sampled_from(["", " ", "$where", "{\"$gt\": \"\"}", "a.b", "\x00", "\u202e", "' OR 1=1 --", "*", "null", "..", "%00"]),
)
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70).map(float))
json_leaf = st.one_of(st.none(), st.booleans(), numbers, nasty_text)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.one_of(nasty_text, st.text(max_size=8)), inner, max_size=5)),
    max_leaves=40,
)


def _deep(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


def _struct(value: dict) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    for key, item in value.items():
        struct.fields[key].CopyFrom(_value(item))
    return struct


def _value(item: Any) -> struct_pb2.Value:
    if item is None:
        return struct_pb2.Value(null_value=struct_pb2.NULL_VALUE)
    if isinstance(item, bool):
        return struct_pb2.Value(bool_value=item)
    if isinstance(item, (int, float)):
        return struct_pb2.Value(number_value=float(item))
    if isinstance(item, str):
        return struct_pb2.Value(string_value=item)
    if isinstance(item, list):
        return struct_pb2.Value(list_value=struct_pb2.ListValue(values=[_value(i) for i in item]))
    return struct_pb2.Value(struct_value=_struct(item))


structs = st.one_of(
    st.dictionaries(st.one_of(nasty_text, st.text(max_size=8)), json_value, max_size=6),
    st.integers(10, 30).map(_deep),  # deeper cannot even be built: upb refuses past 100 message levels
    st.integers(1, 3).map(lambda n: {"blob": "x" * (40_000 * n)}),
).map(_struct)


class Targets:
    """Ids worth aiming at: the experiment the caller may edit, its drifts, and ids of nothing."""

    def __init__(self, experiment_id: str, drift_ids: list[str]) -> None:
        self.experiment_id, self.drift_ids = experiment_id, drift_ids

    def ids(self, name: str) -> st.SearchStrategy[str]:
        real = [self.experiment_id] if "experiment" in name else self.drift_ids if name in ("drift_id", "id") else []
        return st.one_of(st.sampled_from(real or [""]), st.just(str(ObjectId())), nasty_text)


def message_strategy(message_type: descriptor.Descriptor, targets: Targets, depth: int = 0) -> st.SearchStrategy[Message]:
    """A strategy for any message type, field by field from the descriptor."""
    from google.protobuf import message_factory

    cls = message_factory.GetMessageClass(message_type)
    if message_type.full_name == "google.protobuf.Struct":
        return structs
    fields = {}
    for field in message_type.fields:
        strategy = field_strategy(field, targets, depth)
        if strategy is not None:
            fields[field.name] = st.one_of(st.none(), strategy)

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        for name, strategy in fields.items():
            value = draw(strategy)
            if value is None:
                continue
            field = message_type.fields_by_name[name]
            if field.is_repeated:
                container = getattr(message, name)
                if field.type == FD.TYPE_MESSAGE:
                    for item in value:
                        container.add().CopyFrom(item)
                else:
                    container.extend(value)
            elif field.type == FD.TYPE_MESSAGE:
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return build()


def field_strategy(field: descriptor.FieldDescriptor, targets: Targets, depth: int) -> st.SearchStrategy[Any] | None:
    if field.type == FD.TYPE_MESSAGE:
        if depth > 3:
            return None
        name = field.message_type.full_name
        if name == "google.protobuf.Timestamp":
            from google.protobuf import timestamp_pb2

            single = st.builds(lambda s, n: timestamp_pb2.Timestamp(seconds=s, nanos=n), st.integers(-(2**40), 2**40), st.integers(0, 999_999_999))
        elif name == "google.protobuf.FieldMask":
            from google.protobuf import field_mask_pb2

            paths = st.lists(st.one_of(st.sampled_from(["model", "status", "tags", "name", "description", "grants", "public", "concept_drift", "*", "owner", "creator", "id"]), nasty_text), max_size=4)
            single = paths.map(lambda p: field_mask_pb2.FieldMask(paths=p))
        else:
            single = message_strategy(field.message_type, targets, depth + 1)
        if field.is_repeated:
            if field.name == "requests":  # batches around the 1000 limit, of minimal drifts
                from google.protobuf import message_factory

                item = message_factory.GetMessageClass(field.message_type)
                many = st.integers(999, 1001).map(lambda n: [item(drift=drift_pb2.Drift(model="m")) for _ in range(n)])
                return st.one_of(st.lists(single, max_size=3), many)
            return st.lists(single, max_size=4)
        return single
    if field.type == FD.TYPE_STRING:
        if field.name.endswith("_id") or field.name == "id":
            single = targets.ids(field.name)
        elif field.name in ("page_token", "resume_token"):
            single = st.one_of(nasty_text, st.binary(max_size=80).map(lambda b: __import__("base64").urlsafe_b64encode(b).decode().rstrip("=")))
        elif field.name == "filter":
            single = st.one_of(nasty_text, st.lists(st.sampled_from(["model", "=", "(", ")", "AND", "OR", "NOT", "-", ":", "*", '"x"', "status", "COMPLETED", "create_time", ">", "2026-01-01", "concept_drift.parameters.p", "1e999", "NaN", "tags"]), max_size=30).map(" ".join))
        elif field.name == "order_by":
            single = st.one_of(nasty_text, st.sampled_from(["create_time desc", "name", "model asc", "status desc desc", "update_time"]))
        else:
            single = nasty_text
        if field.is_repeated:  # tags: empty, normal and giant lists
            return st.one_of(st.lists(single, max_size=5), st.lists(st.text(min_size=1, max_size=3), min_size=60, max_size=200))
        return single
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_ENUM:
        return st.integers(-5, 10)
    if field.type in (FD.TYPE_INT32, FD.TYPE_SINT32):
        return st.integers(-(2**31), 2**31 - 1)
    if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64):
        return st.integers(-(2**63), 2**63 - 1)
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        single = st.floats(allow_nan=True, allow_infinity=True, width=64 if field.type == FD.TYPE_DOUBLE else 32)
        return st.lists(single, max_size=3) if field.is_repeated else single
    return None


# The module's own server and Envoy on a fresh database (overriding the session's db, envoy and channel):
# snapshot() counts every experiment and user.
own_edge, db, envoy = edge_of_its_own("fuzz")


@pytest.fixture(scope="module")
def channel(envoy: Envoy, ca_pem) -> Iterator[grpc.Channel]:
    with grpc.secure_channel(f"localhost:{envoy.port}", grpc.ssl_channel_credentials(ca_pem.read_bytes())) as channel:
        yield channel


@pytest.fixture(scope="module")
def editor_stubs(channel, issuer):
    """editor and manager registered; a stub for every service; auth(persona) metadata; editor's id."""
    def auth(persona: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {issuer.token(persona)}"),)

    users = user_pb2_grpc.UserServiceStub(channel)
    editor_id = users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=auth("editor"), timeout=10).id
    users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True), metadata=auth("manager"), timeout=10)
    # A stub for every service the matrix knows, new ones included, from its generated *_pb2_grpc module.
    services = {method.containing_service for method in METHODS.values()}
    stubs = {service.name: getattr(importlib.import_module(service.file.name.removesuffix(".proto").replace("/", ".") + "_pb2_grpc"),
                                   f"{service.name}Stub")(channel) for service in services}
    return stubs, auth, editor_id


@pytest.fixture
def editor_world(editor_stubs):
    """manager's experiment, editor granted EDIT on it, three drifts; stubs bound to editor's token.

    A new experiment for each test: what one RPC's fuzzing stores there (a batch of 1,000 runs) would
    otherwise be read back by every snapshot of every later RPC."""
    stubs, auth, editor_id = editor_stubs
    grant = experiment_pb2.Grant(entity=editor_id, level=experiment_pb2.ACCESS_LEVEL_EDIT)
    experiment = stubs["ExperimentService"].CreateExperiment(experiment_pb2.CreateExperimentRequest(
        experiment=experiment_pb2.Experiment(name=f"fuzzed-{ObjectId()}", grants=[grant])), metadata=auth("manager"), timeout=10)
    made = [stubs["DriftService"].CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=experiment.id, drift=drift_pb2.Drift(model=f"m{i}")),
                                              metadata=auth("manager"), timeout=10) for i in range(3)]
    return stubs, auth("editor"), Targets(experiment.id, [d.id for d in made])


def snapshot(db, experiment_id: str) -> tuple:
    """What a refused call must not change."""
    experiment = ObjectId(experiment_id)
    return (
        db.experiments.find_one({"_id": experiment}),
        sorted(db.drifts.find({"experiment": experiment}), key=lambda d: d["_id"]),
        db.events.count_documents({"experiment": experiment}),
        db.experiments.count_documents({}),
        db.users.count_documents({}),
    )


def _call(stubs, metadata, name: str, request: Message) -> grpc.StatusCode:
    service, method = name.split("/")
    try:
        if METHODS[name].server_streaming:
            stream = getattr(stubs[service], method)(request, metadata=metadata, timeout=10)
            try:
                next(stream)
            finally:
                stream.cancel()
        else:
            getattr(stubs[service], method)(request, metadata=metadata, timeout=20)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.CANCELLED:
            return grpc.StatusCode.OK
        assert error.code() not in FORBIDDEN, f"{name}: {error.code().name} {error.details()}\n{request}"[:3000]
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.timeout(360)  # 30 examples, each a call and two snapshots: minutes on a loaded machine, not 120 s
@pytest.mark.parametrize("name", sorted(METHODS))
def test_generated_requests_get_deliberate_answers(editor_world, db, name):
    stubs, metadata, targets = editor_world
    strategy = message_strategy(METHODS[name].input_type, targets)

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def check(request: Message) -> None:
        before = snapshot(db, targets.experiment_id)
        code = _call(stubs, metadata, name, request)
        if code != grpc.StatusCode.OK:
            assert snapshot(db, targets.experiment_id) == before, f"{name} refused with {code.name} but changed stored data"

    check()


# -- REST: bytes that are not what they claim to be -------------------------------------------------------


@pytest.fixture(scope="module")
def http(ca_pem):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), timeout=20) as client:
        yield client


REST_BODIES = {
    "invalid UTF-8 in a string": b'{"model": "\xff\xfe\xfd"}',
    "invalid UTF-8 in a key": b'{"\xc3\x28": 1, "model": "m"}',
    "truncated JSON": b'{"model": "m", "tags": [',
    "NaN literal": b'{"model": "m", "concept_drift": {"parameters": {"p": NaN}}}',
    "number too big for JSON": b'{"model": "m", "concept_drift": {"parameters": {"p": 1e999}}}',
    "wrong type": b'{"model": {"nested": true}}',
    "unknown enum": b'{"model": "m", "status": "EXPLODED"}',
    "deep nesting": b'{"model": "m", "concept_drift": {"parameters": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}}",
    "not JSON at all": b"\x00\x01\x02\x03",
}


@pytest.mark.parametrize("case", REST_BODIES)
def test_rest_bodies_that_are_not_valid_json_are_400(editor_world, http, envoy, db, case):
    _, metadata, targets = editor_world
    before = snapshot(db, targets.experiment_id)
    reply = http.post(f"{envoy.url}/v1/experiments/{targets.experiment_id}/drifts", content=REST_BODIES[case],
                      headers={"content-type": "application/json", **dict(metadata)})
    assert reply.status_code == 400, (reply.status_code, reply.text[:300])
    assert snapshot(db, targets.experiment_id) == before


@pytest.mark.parametrize("query", ["filter=%FF%FE", "filter=model%20%3D%20%22%C3%28%22", "page_token=%FF", "order_by=%00"])
def test_rest_query_strings_with_bad_bytes_are_400(editor_world, http, envoy, query):
    _, metadata, targets = editor_world
    reply = http.get(f"{envoy.url}/v1/experiments/{targets.experiment_id}/drifts?{query}", headers=dict(metadata))
    assert reply.status_code == 400, (reply.status_code, reply.text[:300])


def test_oversized_messages_are_refused_without_harm(editor_world, db):
    """Over the 4 MiB message limit: RESOURCE_EXHAUSTED from gRPC itself, nothing stored."""
    stubs, metadata, targets = editor_world
    before = snapshot(db, targets.experiment_id)
    drift = drift_pb2.Drift(model="m", tags=["t" * 100] * 50_000)  # ~5 MB
    with pytest.raises(grpc.RpcError) as caught:
        stubs["DriftService"].CreateDrift(drift_pb2.CreateDriftRequest(experiment_id=targets.experiment_id, drift=drift), metadata=metadata, timeout=20)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value.details()
    assert snapshot(db, targets.experiment_id) == before


def test_oversized_rest_bodies_are_refused(editor_world, http, envoy, db):
    """The transcoder maps RESOURCE_EXHAUSTED to 429 (README, Limits: the body is too large, not a rate)."""
    _, metadata, targets = editor_world
    before = snapshot(db, targets.experiment_id)
    body = b'{"model": "m", "error_message": "' + b"e" * (6 * 1024 * 1024) + b'"}'
    reply = http.post(f"{envoy.url}/v1/experiments/{targets.experiment_id}/drifts", content=body,
                      headers={"content-type": "application/json", **dict(metadata)})
    assert reply.status_code == 429 and "larger than max" in reply.json()["message"], (reply.status_code, reply.text[:300])
    assert snapshot(db, targets.experiment_id) == before


def _raw_call(channel, name: str, payload: bytes, metadata) -> grpc.RpcError:
    """Bytes straight onto the wire: what a client in another language (or a hostile one) can send."""
    call = channel.unary_unary(f"/drift_monitoring.v1.{name}", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, metadata=metadata, timeout=10)
    return caught.value


def _too_deep(depth: int) -> drift_pb2.CreateDriftRequest:
    request = drift_pb2.CreateDriftRequest(drift=drift_pb2.Drift(model="m"))
    struct = request.drift.concept_drift.parameters
    for _ in range(depth):
        struct = struct.fields["n"].struct_value
    struct.fields["leaf"].number_value = 1
    return request


def test_undecodable_grpc_requests_are_invalid_argument(editor_world, channel, db):
    stubs, metadata, targets = editor_world
    before = snapshot(db, targets.experiment_id)
    utf8 = drift_pb2.CreateDriftRequest(experiment_id=targets.experiment_id, drift=drift_pb2.Drift(model="QQQQ")).SerializeToString()
    deep = _too_deep(120)
    deep.experiment_id = targets.experiment_id
    cases = {
        "invalid UTF-8": utf8.replace(b"QQQQ", b"\xff\xfe\xc3\x28"),
        "nesting past protobuf's parse limit": deep.SerializeToString(),
        "truncated": utf8[:-3],
        "garbage": b"\xff" * 64,
    }
    for case, payload in cases.items():
        error = _raw_call(channel, "DriftService/CreateDrift", payload, metadata)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, f"{case}: {error.code().name} {error.details()}"
    error = _raw_call(channel, "DriftService/ListDrifts", b"\x0a\x02\xff\xfe", metadata)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    watch = channel.unary_stream("/drift_monitoring.v1.DriftService/WatchDrifts", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as caught:
        next(watch(b"\x0a\x02\xff\xfe", metadata=metadata, timeout=10))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert snapshot(db, targets.experiment_id) == before

