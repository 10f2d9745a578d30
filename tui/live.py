"""Following one experiment's WatchDrifts: reconnect by itself and resume from the last token, so after
a server restart nothing is missed and nothing arrives twice. Blocking; runs in a thread worker."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import grpc

from drift_monitoring.errors import RETRYABLE, from_rpc_error
from drift_monitoring.v1 import drift_pb2

from tui.backend import CONNECTED, RECONNECTING, Backend

MAX_DELAY = 5.0


class LiveFeed:
    """Calls on_event for every CREATED/UPDATED/DELETED event exactly once, on_ready after each
    (re)subscription is proven by a first message, on_error when it gives up (not found, refused)."""

    def __init__(
        self,
        backend: Backend,
        experiment_id: str,
        on_event: Callable[[drift_pb2.WatchDriftsResponse], None],
        on_ready: Callable[[bool], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self.backend, self.experiment_id = backend, experiment_id
        self.on_event, self.on_ready, self.on_error = on_event, on_ready, on_error
        self.resume_token = ""
        self.reconnects = 0
        self._stopped = threading.Event()
        self._call: grpc.Call | None = None

    def stop(self) -> None:
        self._stopped.set()
        if self._call is not None:
            self._call.cancel()

    def run(self) -> None:
        delay = 0.25
        while not self._stopped.is_set():
            request = drift_pb2.WatchDriftsRequest(experiment_id=self.experiment_id, resume_token=self.resume_token)
            try:
                self._call = call = self.backend.client.drifts.WatchDrifts(request, metadata=self.backend.metadata())
                first = True
                for event in call:
                    if first:
                        first, delay = False, 0.25
                        self.backend.set_state(CONNECTED)
                        # First subscription: the caller re-reads what it shows, to cover changes made
                        # between its first listing and this stream (the server starts a fresh watch "now").
                        self.on_ready(not self.resume_token)
                    self.resume_token = event.resume_token
                    if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                        self.on_event(event)
                return  # the server ended the stream cleanly: only when stopping
            except grpc.RpcError as exc:
                if self._stopped.is_set() or exc.code() == grpc.StatusCode.CANCELLED:
                    return
                # UNAUTHENTICATED is worth a retry only when a MyToken can fetch a fresh access token.
                renewable = exc.code() == grpc.StatusCode.UNAUTHENTICATED and bool(self.backend.settings.mytoken)
                if exc.code() not in RETRYABLE and not renewable:
                    self.on_error(from_rpc_error(exc))
                    return
            except Exception as exc:  # noqa: BLE001 - token refresh failures and the like: retry, never crash the UI
                if self._stopped.is_set():
                    return
                self.on_error(exc)
            self.reconnects += 1
            self.backend.set_state(RECONNECTING)
            self._stopped.wait(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, MAX_DELAY)
