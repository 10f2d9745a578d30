"""A server process's own surface: health, reflection, and the gateway secret guarding every API RPC.

These talk straight to the server (no Envoy): they test what the process itself exposes.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import grpc
import pytest
from google.protobuf import descriptor_pb2, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from stack import ROOT, SECRET
from tests.integration.helpers import ADMIN, MANAGER, Code, RpcError, direct_api, gateway_metadata

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVING = health_pb2.HealthCheckResponse.SERVING
PROTOS = ROOT / "protos" / "drift_monitoring" / "v1"


def _api_modules() -> list[ModuleType]:
    """The generated module of every .proto file in protos/drift_monitoring/v1."""
    return [importlib.import_module(f"drift_monitoring.v1.{proto.stem}_pb2") for proto in sorted(PROTOS.glob("*.proto"))]


def _api_methods() -> list[tuple[str, object]]:
    """Every RPC of every API service, from the generated descriptors."""
    methods = []
    for module in _api_modules():
        for service in module.DESCRIPTOR.services_by_name.values():
            methods += [(f"{service.name}.{method.name}", method) for method in service.methods]
    return methods


API_SERVICES = tuple(service.full_name for module in _api_modules() for service in module.DESCRIPTOR.services_by_name.values())
API_METHODS = _api_methods()


async def test_every_api_rpc_is_enumerated():
    """Each `rpc` the .proto sources declare is in the generated descriptors, so every RPC, new ones too,
    joins the secret check below."""
    declared = {(match[0], rpc) for proto in PROTOS.glob("*.proto")
                for match in re.findall(r"^service (\w+) \{(.*?)^\}", proto.read_text(), re.S | re.M)
                for rpc in re.findall(r"^\s*rpc (\w+)\(", match[1], re.M)}
    assert len(declared) >= 16
    assert {tuple(name.split(".")) for name, _ in API_METHODS} == declared


async def _call(channel: grpc.aio.Channel, method, metadata) -> None:
    """Call any API method with an empty request; for streams, read the first message."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    request_type = message_factory.GetMessageClass(method.input_type)
    response_type = message_factory.GetMessageClass(method.output_type)
    if method.server_streaming:
        call = channel.unary_stream(path, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString)(
            request_type(), metadata=metadata, timeout=5
        )
        try:
            await call.read()
        finally:
            call.cancel()
    else:
        await channel.unary_unary(path, request_serializer=request_type.SerializeToString, response_deserializer=response_type.FromString)(
            request_type(), metadata=metadata, timeout=5
        )


async def test_overall_health_is_serving(server):
    async with grpc.aio.insecure_channel(server.target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == SERVING


@pytest.mark.parametrize("service", API_SERVICES)
async def test_each_api_service_reports_serving(server, service):
    async with grpc.aio.insecure_channel(server.target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert reply.status == SERVING


async def test_health_of_unknown_service_is_not_found(server):
    async with grpc.aio.insecure_channel(server.target) as channel:
        with pytest.raises(RpcError) as caught:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert caught.value.code() == Code.NOT_FOUND


async def _reflect(channel: grpc.aio.Channel, request: reflection_pb2.ServerReflectionRequest) -> reflection_pb2.ServerReflectionResponse:
    call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([request]), timeout=5)
    try:
        return await call.read()
    finally:
        call.cancel()


async def test_reflection_lists_api_health_and_reflection(server):
    async with grpc.aio.insecure_channel(server.target) as channel:
        reply = await _reflect(channel, reflection_pb2.ServerReflectionRequest(list_services=""))
    names = {service.name for service in reply.list_services_response.service}
    assert set(API_SERVICES) <= names
    assert "grpc.health.v1.Health" in names
    assert "grpc.reflection.v1alpha.ServerReflection" in names


async def test_reflection_describes_the_watch_stream(server):
    """What grpcurl needs: the file defining a service, with the streaming method in it."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        reply = await _reflect(channel, reflection_pb2.ServerReflectionRequest(file_containing_symbol="drift_monitoring.v1.DriftService"))
    files = [descriptor_pb2.FileDescriptorProto.FromString(raw) for raw in reply.file_descriptor_response.file_descriptor_proto]
    drift_file = next(f for f in files if f.name.endswith("drift.proto"))
    methods = {m.name: m for s in drift_file.service if s.name == "DriftService" for m in s.method}
    assert methods["WatchDrifts"].server_streaming
    assert not methods["CreateDrift"].server_streaming


async def test_a_call_with_the_secret_is_accepted(server, issuer):
    """The positive control for the refusals below: same process, right secret, it works."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        user = await direct_api(channel, MANAGER, issuer.url).register()
    assert user.id


FORGED = {
    "no secret": lambda claims: gateway_metadata(claims)[1:],
    "wrong secret": lambda claims: gateway_metadata(claims, secret="not-the-secret-" + "x" * 16),
    "secret of other case": lambda claims: gateway_metadata(claims, secret=SECRET.upper()),
    "empty secret": lambda claims: gateway_metadata(claims, secret=""),
}


@pytest.mark.parametrize("forgery", FORGED)
@pytest.mark.parametrize(("rpc", "method"), API_METHODS, ids=[name for name, _ in API_METHODS])
async def test_every_api_rpc_refuses_calls_without_the_secret(server, issuer, rpc, method, forgery):
    # Admin's claims, as someone reaching the backend around Envoy would forge them.
    metadata = FORGED[forgery](ADMIN.claims(issuer.url))
    async with grpc.aio.insecure_channel(server.target) as channel:
        with pytest.raises(RpcError) as caught:
            await _call(channel, method, metadata)
    assert caught.value.code() == Code.UNAUTHENTICATED, f"{rpc}: {caught.value.code()} {caught.value.details()}"


@pytest.mark.parametrize("forgery", ["no secret", "wrong secret"])
async def test_health_and_reflection_stay_open_without_the_secret(server, issuer, forgery):
    metadata = FORGED[forgery](None)
    async with grpc.aio.insecure_channel(server.target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), metadata=metadata, timeout=5)
        assert reply.status == SERVING
        call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), metadata=metadata, timeout=5
        )
        listed = await call.read()
        call.cancel()
    assert {s.name for s in listed.list_services_response.service} >= set(API_SERVICES)
