"""The client against a scripted server (grpc_testing): each test answers the client's RPCs one by one.

No network: the tests decide every reply, so retries, error mapping, the spool and exactly-once replay are
checked call by call, including the cases a real server rarely produces (a lost reply, UNAVAILABLE forever).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import grpc
import grpc_testing
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from drift_monitoring import (
    AlreadyExistsError,
    AuthenticationError,
    Client,
    DriftMonitor,
    DriftMonitorError,
    InvalidArgumentError,
    NotFoundError,
    NotRegisteredError,
    PermissionDeniedError,
    UnavailableError,
    sync,
)
from drift_monitoring.offline import sender_for, spool_for
from drift_monitoring.v1 import drift_pb2, experiment_pb2, user_pb2

SERVICES = [
    experiment_pb2.DESCRIPTOR.services_by_name["ExperimentService"],
    drift_pb2.DESCRIPTOR.services_by_name["DriftService"],
    user_pb2.DESCRIPTOR.services_by_name["UserService"],
]
EXPERIMENT = experiment_pb2.Experiment(id="e1", name="credit")
COMPLETED, FAILED = drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_FAILED


@dataclass
class Call:
    method: str
    metadata: Any
    request: Any
    rpc: Any

    def ok(self, response: Any) -> None:
        self.rpc.terminate(response, (), grpc.StatusCode.OK, "")

    def fail(self, code: grpc.StatusCode, details: str = "", *detail_messages: Any) -> None:
        trailing: tuple[tuple[str, bytes], ...] = ()
        if detail_messages:
            packed = []
            for message in detail_messages:
                item = any_pb2.Any()
                item.Pack(message)
                packed.append(item)
            status = status_pb2.Status(code=code.value[0], message=details, details=packed)
            trailing = (("grpc-status-details-bin", status.SerializeToString()),)
        self.rpc.terminate(None, trailing, code, details)


class ScriptedServer:
    """The server side of a grpc_testing channel: every unary RPC the client makes is queued in order."""

    def __init__(self) -> None:
        self.channel = grpc_testing.channel(SERVICES, grpc_testing.strict_real_time())
        self._calls: queue.Queue[Call] = queue.Queue()
        for service in SERVICES:
            for method in service.methods:
                if not method.server_streaming:
                    threading.Thread(target=self._take, args=(method,), daemon=True).start()

    def _take(self, method: Any) -> None:
        while True:
            metadata, request, rpc = self.channel.take_unary_unary(method)
            self._calls.put(Call(method.name, metadata, request, rpc))

    def next(self, method: str, timeout: float = 10) -> Call:
        try:
            call = self._calls.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the client made no {method} call") from None
        assert call.method == method, f"expected {method}, the client called {call.method}"
        return call

    def idle(self, wait: float = 0.3) -> bool:
        """True when the client makes no further call within `wait` seconds."""
        try:
            extra = self._calls.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected call {extra.method}")


@pytest.fixture
def server() -> ScriptedServer:
    return ScriptedServer()


def background(function: Any, *args: Any) -> Future:
    """Run the client in a daemon thread (the test thread plays the server); a client stuck on a
    failed test must not keep the interpreter from exiting."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the test through the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def make_client(server: ScriptedServer, tmp_path, **settings: Any) -> Client:
    options = {"url": "drift.test:443", "token": "t0ken", "state_dir": tmp_path / "state", "timeout": 5, **settings}
    return Client(channel=server.channel, **options)


def result(future: Future, timeout: float = 10) -> Any:
    return future.result(timeout=timeout)


def fail_until_done(server: ScriptedServer, future: Future, method: str) -> list[Call]:
    """Answer every attempt with UNAVAILABLE until the client gives up; the attempts made."""
    calls = []
    while not future.done():
        try:
            call = server.next(method, timeout=0.2)
        except AssertionError:
            continue
        calls.append(call)
        call.fail(grpc.StatusCode.UNAVAILABLE, "connection refused")
    return calls


# -- retries and status mapping ---------------------------------------------------------------------------


def test_retryable_failures_are_retried_with_the_token_each_time(server, tmp_path):
    client = make_client(server, tmp_path)
    future = background(client.get_drift, "e1", "d1")
    for code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED):
        call = server.next("GetDrift")
        assert ("authorization", "Bearer t0ken") in call.metadata and call.request.drift_id == "d1"
        call.fail(code, "try again")
    server.next("GetDrift").ok(drift_pb2.Drift(id="d1", model="m"))
    assert result(future).model == "m"
    assert server.idle()


def test_retries_stop_within_the_timeout(server, tmp_path):
    client = make_client(server, tmp_path, timeout=0.6)
    started = time.monotonic()
    future = background(client.get_drift, "e1", "d1")
    attempts = len(fail_until_done(server, future, "GetDrift"))
    with pytest.raises(UnavailableError, match="connection refused"):
        result(future)
    assert attempts >= 2 and time.monotonic() - started < 2.5


def test_creating_an_experiment_is_not_retried(server, tmp_path):
    """A lost reply would turn the retry into ALREADY_EXISTS; the caller decides."""
    future = background(make_client(server, tmp_path).new_experiment, "credit")
    server.next("CreateExperiment").fail(grpc.StatusCode.UNAVAILABLE, "gone")
    with pytest.raises(UnavailableError):
        result(future)
    assert server.idle()


@pytest.mark.parametrize(
    ("code", "details", "kind"),
    [
        (grpc.StatusCode.UNAUTHENTICATED, (), AuthenticationError),
        (grpc.StatusCode.PERMISSION_DENIED, (), PermissionDeniedError),
        (grpc.StatusCode.NOT_FOUND, (), NotFoundError),
        (grpc.StatusCode.ALREADY_EXISTS, (), AlreadyExistsError),
        (grpc.StatusCode.FAILED_PRECONDITION, (error_details_pb2.ErrorInfo(reason="USER_NOT_REGISTERED", domain="drift-monitoring"),), NotRegisteredError),
        (grpc.StatusCode.FAILED_PRECONDITION, (), DriftMonitorError),
        (grpc.StatusCode.INTERNAL, (), DriftMonitorError),
    ],
)
def test_statuses_map_to_exceptions_and_are_not_retried(server, tmp_path, code, details, kind):
    future = background(make_client(server, tmp_path).get_drift, "e1", "d1")
    server.next("GetDrift").fail(code, "what went wrong", *details)
    with pytest.raises(kind, match="what went wrong") as raised:
        result(future)
    assert type(raised.value) is kind
    if kind is DriftMonitorError:  # codes without a class of their own are named in the message
        assert str(raised.value).startswith(code.name)
    assert server.idle()


def test_invalid_argument_names_the_field_to_fix(server, tmp_path):
    future = background(make_client(server, tmp_path).get_drift, "e1", "d1")
    violation = error_details_pb2.BadRequest.FieldViolation(field="drift.model", description="must be 1-256 characters")
    server.next("GetDrift").fail(grpc.StatusCode.INVALID_ARGUMENT, "drift.model: must be 1-256 characters", error_details_pb2.BadRequest(field_violations=[violation]))
    with pytest.raises(InvalidArgumentError) as raised:
        result(future)
    assert raised.value.field == "drift.model" and "1-256" in str(raised.value)
    assert code_pb2.INVALID_ARGUMENT == grpc.StatusCode.INVALID_ARGUMENT.value[0]


# -- DriftMonitor, call by call ---------------------------------------------------------------------------


def enter(server: ScriptedServer) -> drift_pb2.CreateDriftRequest:
    """Answer a monitor's entry: find the experiment, create the run. Returns the create request."""
    looked_up = server.next("LookupExperiment")
    assert looked_up.request.name == "credit"
    looked_up.ok(EXPERIMENT)
    create = server.next("CreateDrift")
    create.ok(drift_pb2.Drift(id="d1", experiment_id="e1", model=create.request.drift.model, status=drift_pb2.DRIFT_STATUS_RUNNING))
    return create.request


def until_final(server: ScriptedServer) -> tuple[list[Call], Call]:
    """Answer the background sender's UpdateDrifts until the run's final state arrives (how many
    intermediate updates it sends depends on how fast the job records: they coalesce)."""
    updates = []
    while True:
        update = server.next("UpdateDrift")
        update.ok(update.request.drift)
        if update.request.drift.status in (COMPLETED, FAILED):
            return updates, update
        updates.append(update)


def test_a_run_is_created_recorded_and_completed(server, tmp_path):
    client = make_client(server, tmp_path)

    def job() -> str:
        with DriftMonitor("credit", "xgb-v3", tags=["nightly"], client=client) as monitor:
            monitor.concept(True, {"kl": 0.3})
            monitor.data(False, {"p": 0.2})
        return monitor.request_id

    future = background(job)
    create = enter(server)
    assert create.experiment_id == "e1" and create.drift.model == "xgb-v3" and list(create.drift.tags) == ["nightly"] and len(create.request_id) == 32
    assert result(future) == create.request_id  # the job is done; the sender delivers the rest
    updates, final = until_final(server)
    for update in updates:  # results recorded during the run, sent live (possibly merged)
        assert set(update.request.update_mask.paths) <= {"concept_drift", "data_drift"} and update.request.drift.id == "d1"
    assert final.request.drift.id == "d1" and final.request.drift.status == COMPLETED and final.request.drift.HasField("end_time")
    assert set(final.request.update_mask.paths) == {"status", "end_time", "error_message", "concept_drift", "data_drift"}
    assert final.request.drift.concept_drift.parameters["kl"] == 0.3 and not final.request.drift.data_drift.detected
    assert sender_for(client).flush(5) and server.idle()
    assert spool_for(client.settings).pending() == 0  # the final state was spooled first, and removed once stored


def test_a_fast_job_does_not_wait_and_costs_two_calls(server, tmp_path):
    """After an experiment's first run, a job never waits for the server: its calls pile up while the
    create is in flight and go as one update."""
    client = make_client(server, tmp_path)
    first = background(lambda: DriftMonitor("credit", "m", client=client).__enter__())
    enter(server)
    result(first)
    second = DriftMonitor("credit", "m", client=client)

    def job() -> None:
        with second as monitor:
            monitor.concept(True, {"kl": 0.4})
            monitor.data(True, {"p": 0.01})

    future = background(job)
    create = server.next("CreateDrift")  # no experiment lookup: remembered
    assert create.request.request_id == second.request_id
    result(future, timeout=2)  # finished while its create is still unanswered
    create.ok(drift_pb2.Drift(id="d2", experiment_id="e1", status=drift_pb2.DRIFT_STATUS_RUNNING))
    final = server.next("UpdateDrift")
    assert final.request.drift.id == "d2" and final.request.drift.status == COMPLETED
    assert {"concept_drift", "data_drift", "status"} <= set(final.request.update_mask.paths)
    final.ok(final.request.drift)


def test_an_exception_in_the_block_marks_the_run_failed_and_propagates(server, tmp_path):
    client = make_client(server, tmp_path)

    def job() -> None:
        with DriftMonitor("credit", "xgb-v3", client=client):
            raise ValueError("the detector crashed")

    future = background(job)
    enter(server)
    with pytest.raises(ValueError, match="the detector crashed"):
        result(future)
    _, final = until_final(server)
    assert final.request.drift.status == FAILED and final.request.drift.error_message == "ValueError: the detector crashed"


def test_a_missing_experiment_is_a_clear_error_and_no_run_is_created(server, tmp_path):
    future = background(lambda: DriftMonitor("credit", "m", client=make_client(server, tmp_path)).__enter__())
    server.next("LookupExperiment").fail(grpc.StatusCode.NOT_FOUND, "experiment not found")
    with pytest.raises(NotFoundError, match="no experiment named 'credit'"):
        result(future)
    assert server.idle()


def test_an_answer_for_another_name_is_refused_and_no_run_is_created(server, tmp_path):
    """Whatever answers the lookup, a run is only ever created in the experiment of the name asked for."""
    future = background(lambda: DriftMonitor("credit*", "m", client=make_client(server, tmp_path)).__enter__())
    server.next("LookupExperiment").ok(EXPERIMENT)  # "credit", not "credit*"
    with pytest.raises(DriftMonitorError, match="answered with 'credit'"):
        result(future)
    assert server.idle()


def spool_an_offline_run(server: ScriptedServer, tmp_path) -> tuple[Client, str]:
    """A job whose server goes away after the experiment lookup: the run ends up in the spool."""
    client = make_client(server, tmp_path, timeout=0.5)

    def job() -> str:
        with DriftMonitor("credit", "xgb-v3", client=client) as monitor:
            monitor.data(True, {"drifted_features": 3})
        return monitor.request_id

    future = background(job)
    server.next("LookupExperiment").ok(EXPERIMENT)
    assert fail_until_done(server, future, "CreateDrift")  # every attempt within the timeout fails
    return client, result(future)


def test_when_the_server_is_unreachable_the_run_is_spooled_and_the_job_goes_on(server, tmp_path):
    client, request_id = spool_an_offline_run(server, tmp_path)
    assert server.idle()  # offline: recording and completing the run made no further calls
    [path] = spool_for(client.settings).directory.glob("*.json")
    record = json.loads(path.read_text())
    assert record["request_id"] == request_id and record["experiment"] == "credit"
    assert record["drift"]["status"] == "DRIFT_STATUS_COMPLETED" and record["drift"]["dataDrift"]["parameters"] == {"drifted_features": 3}


def test_strict_mode_raises_instead_of_spooling(server, tmp_path):
    client = make_client(server, tmp_path, timeout=0.3)
    future = background(lambda: DriftMonitor("credit", "m", client=client, strict=True).__enter__())
    server.next("LookupExperiment").ok(EXPERIMENT)
    assert fail_until_done(server, future, "CreateDrift")  # every attempt within the timeout fails
    with pytest.raises(UnavailableError):
        result(future)
    assert spool_for(client.settings).pending() == 0


def test_replay_sends_each_spooled_run_exactly_once(server, tmp_path):
    client, request_id = spool_an_offline_run(server, tmp_path)
    future = background(sync, client)
    server.next("LookupExperiment").ok(EXPERIMENT)
    # The reply is lost: the server stored the run, the client saw UNAVAILABLE and keeps the record.
    lost = server.next("CreateDrift")
    assert lost.request.request_id == request_id and lost.request.drift.status == COMPLETED
    lost.fail(grpc.StatusCode.UNAVAILABLE, "connection reset")
    retries = fail_until_done(server, future, "CreateDrift")
    assert retries and {call.request.request_id for call in retries} == {request_id}  # retried within the budget, same request_id
    assert result(future) == (0, 1)
    # Next sync: the same request_id again; the server answers with the run it already has.
    future = background(sync, client)
    server.next("LookupExperiment").ok(EXPERIMENT)
    again = server.next("CreateDrift")
    assert again.request.request_id == request_id
    again.ok(drift_pb2.Drift(id="d1", experiment_id="e1", status=COMPLETED))
    assert result(future) == (1, 0)
    assert background(sync, client).result(5) == (0, 0) and server.idle()


def test_replay_completes_a_run_created_before_the_server_went_away(server, tmp_path):
    """The server knows the run as RUNNING (created before the outage): sync sends the final state."""
    client, request_id = spool_an_offline_run(server, tmp_path)
    future = background(sync, client)
    server.next("LookupExperiment").ok(EXPERIMENT)
    server.next("CreateDrift").ok(drift_pb2.Drift(id="d7", experiment_id="e1", status=drift_pb2.DRIFT_STATUS_RUNNING))
    update = server.next("UpdateDrift")
    assert update.request.drift.id == "d7" and update.request.drift.status == COMPLETED and update.request.drift.data_drift.detected
    update.ok(update.request.drift)
    assert result(future) == (1, 0)


def test_a_refused_run_is_set_aside_not_retried_forever(server, tmp_path):
    client, _ = spool_an_offline_run(server, tmp_path)
    future = background(sync, client)
    server.next("LookupExperiment").ok(EXPERIMENT)
    server.next("CreateDrift").fail(grpc.StatusCode.INVALID_ARGUMENT, "drift.model: too long")
    assert result(future) == (0, 0)
    assert len(list(spool_for(client.settings).directory.glob("*.rejected"))) == 1
