"""Following one experiment's WatchDrifts: reconnect by itself and resume from the last token, so after
a server restart nothing is missed and nothing arrives twice. Blocking; runs in a thread worker.

How a stream can end, and what follows:
  UNAVAILABLE and the like        reconnect with backoff, resume from the last token
  OUT_OF_RANGE                    the token is older than the server's event log keeps: watch from now and
                                  have the view re-read its runs (on_gap)
  NOT_FOUND, PERMISSION_DENIED    the experiment is gone or no longer readable: stop, say why (on_ended)
  UNAUTHENTICATED                 once after a live stream (the token may just have expired: the next
                                  attempt gets a fresh one), else stop and say why
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import grpc

from drift_monitoring.errors import RETRYABLE, from_rpc_error
from drift_monitoring.v1 import drift_pb2

from tui.backend import CONNECTED, RECONNECTING, Backend

MAX_DELAY = 5.0


# Why live updates stopped, in words for the person watching.
ENDED = {
    grpc.StatusCode.NOT_FOUND: "the experiment was deleted, or you can no longer read it",
    grpc.StatusCode.PERMISSION_DENIED: "your access to this experiment was withdrawn",
    grpc.StatusCode.UNAUTHENTICATED: "your sign-in expired or was revoked: get a new token and start again",
}


class LiveFeed:
    """Calls on_event for every CREATED/UPDATED/DELETED event exactly once, on_ready after each
    (re)subscription is proven by a first message (True: a fresh watch, so re-read what is shown),
    on_gap when events were lost and the watch starts again from now, on_ended with the reason when the
    stream can never come back, on_error for anything else it gives up on."""

    def __init__(
        self,
        backend: Backend,
        experiment_id: str,
        on_event: Callable[[drift_pb2.WatchDriftsResponse], None],
        on_ready: Callable[[bool], None],
        on_error: Callable[[Exception], None],
        on_gap: Callable[[], None] | None = None,
        on_ended: Callable[[str], None] | None = None,
    ) -> None:
        self.backend, self.experiment_id = backend, experiment_id
        self.on_event, self.on_ready, self.on_error = on_event, on_ready, on_error
        self.on_gap, self.on_ended = on_gap, on_ended
        self.resume_token = ""
        self.reconnects = 0
        self.ended = ""  # why it stopped for good, once it has
        self._stopped = threading.Event()
        self._call: grpc.Call | None = None

    def stop(self) -> None:
        self._stopped.set()
        if self._call is not None:
            self._call.cancel()

    def run(self) -> None:
        delay = 0.25
        gap = False  # the last token was too old: the next live stream is a fresh start
        unauthenticated = False  # the last attempt was refused for its token
        while not self._stopped.is_set():
            request = drift_pb2.WatchDriftsRequest(experiment_id=self.experiment_id, resume_token=self.resume_token)
            try:
                self._call = call = self.backend.client.drifts.WatchDrifts(request, metadata=self.backend.metadata())
                first = True
                for event in call:
                    if first:
                        first, delay, unauthenticated = False, 0.25, False
                        self.backend.set_state(CONNECTED)
                        if gap and self.on_gap is not None:
                            gap = False
                            self.on_gap()
                        else:
                            # First subscription: the caller re-reads what it shows, to cover changes made
                            # between its first listing and this stream (the server starts a fresh watch "now").
                            self.on_ready(not self.resume_token)
                    self.resume_token = event.resume_token
                    if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                        self.on_event(event)
                return  # the server ended the stream cleanly: only when stopping
            except grpc.RpcError as exc:
                code = exc.code()
                if self._stopped.is_set() or code == grpc.StatusCode.CANCELLED:
                    return
                if code == grpc.StatusCode.OUT_OF_RANGE:
                    self.resume_token, gap, delay = "", True, 0.0  # from now on, at once
                elif code in ENDED and not (code == grpc.StatusCode.UNAUTHENTICATED and not unauthenticated and self.resume_token):
                    self._end(ENDED[code])
                    return
                elif code == grpc.StatusCode.UNAUTHENTICATED:
                    unauthenticated, delay = True, 0.0
                elif code not in RETRYABLE:
                    self.on_error(from_rpc_error(exc))
                    return
            except Exception as exc:  # noqa: BLE001 - token refresh failures and the like: retry, never crash the UI
                if self._stopped.is_set():
                    return
                self.on_error(exc)
            self.reconnects += 1
            self.backend.set_state(RECONNECTING)
            self._stopped.wait(delay * random.uniform(0.8, 1.2))
            delay = min(max(delay, 0.125) * 2, MAX_DELAY)

    def _end(self, reason: str) -> None:
        self.ended = reason
        if self.on_ended is not None:
            self.on_ended(reason)
