"""Health, reflection, the gateway secret, and graceful shutdown of a real server process."""

import signal
import threading
import time

import grpc
import pytest
from bson import ObjectId
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from drift_monitoring.v1 import experiment_pb2, experiment_pb2_grpc
from sandbox import personas
from tests.integration.helpers import Watcher, direct_api


def test_health_serving(server):
    assert server.health() == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_api(server):
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc.insecure_channel(server.target))
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    names = {service.name for service in next(responses).list_services_response.service}
    assert {"drift_monitoring.v1.ExperimentService", "drift_monitoring.v1.DriftService", "drift_monitoring.v1.UserService"} <= names


@pytest.mark.parametrize("metadata", [(), (("x-dm-proxy-secret", "wrong-secret-wrong-secret"),)], ids=["no secret", "wrong secret"])
def test_calls_that_bypass_the_gateway_are_refused(server, scenario, people, metadata):
    forged = metadata + personas.gateway_metadata("x", people["admin"].claims)[1:]  # admin's claims, no real secret
    with grpc.insecure_channel(server.target) as direct, pytest.raises(grpc.RpcError) as caught:
        experiment_pb2_grpc.ExperimentServiceStub(direct).GetExperiment(
            experiment_pb2.GetExperimentRequest(experiment_id=scenario.public.id), metadata=forged, timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_sigterm_drains_in_flight_calls_and_ends_streams(start_server, people, db):
    process = start_server(DRIFT_MONITOR_GRACE_SECONDS="5")
    experiment_id = people["manager"].create_experiment().id
    results: dict[str, str] = {}
    stop = threading.Event()

    with grpc.insecure_channel(process.target) as channel:
        api = direct_api(channel, people["manager"].claims)
        watcher = Watcher(api, experiment_id)
        watcher.ready()

        def record(worker: int) -> None:
            for index in range(1000):
                if stop.is_set():
                    return
                request_id = f"w{worker}-{index}"
                try:
                    api.create_drift(experiment_id, request_id=request_id)
                    results[request_id] = "OK"
                except grpc.RpcError as error:
                    results[request_id] = error.code().name
                    return

        workers = [threading.Thread(target=record, args=(n,)) for n in range(8)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)
        started = time.monotonic()
        process.process.send_signal(signal.SIGTERM)
        code = process.process.wait(timeout=20)
        stop.set()
        for worker in workers:
            worker.join(10)
        with pytest.raises(grpc.RpcError) as ended:
            while True:
                watcher.next()

    assert code == 0, process.log.read_text()[-2000:]
    assert time.monotonic() - started < 10
    assert ended.value.code() == grpc.StatusCode.UNAVAILABLE, ended.value
    # Calls caught by the shutdown fail with a retryable transport status, never INTERNAL or UNKNOWN.
    failures = {rid: outcome for rid, outcome in results.items() if outcome != "OK"}
    assert set(failures.values()) <= {"UNAVAILABLE", "CANCELLED"}, failures
    succeeded = [rid for rid, outcome in results.items() if outcome == "OK"]
    assert succeeded, "no call finished before the shutdown"
    stored = {d["request_id"] for d in db.drifts.find({"experiment": ObjectId(experiment_id)}, {"request_id": 1})}
    assert set(succeeded) <= stored  # every acknowledged write is durable
    assert stored <= set(results)  # and nothing was stored that no client sent
    # A client retrying its failed calls on the next server lands each exactly once.
    for request_id in failures:
        people["manager"].create_drift(experiment_id, request_id=request_id)
    final = [d["request_id"] for d in db.drifts.find({"experiment": ObjectId(experiment_id)}, {"request_id": 1})]
    assert sorted(final) == sorted(results)
