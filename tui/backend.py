"""The dashboard's connection: the client package's `Client` (same settings and credentials as
DriftMonitor), plus the connection state everybody on screen wants to see. Every method blocks: the UI
calls them from thread workers only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass

import grpc

from drift_monitoring.auth import token_source
from drift_monitoring.client import Client
from drift_monitoring.errors import RETRYABLE, AuthenticationError, NotRegisteredError, UnavailableError, from_rpc_error
from drift_monitoring.settings import Settings
from drift_monitoring.v1 import alert_pb2, drift_pb2, experiment_pb2

from tui import format as fmt

LIST_TIMEOUT = 60.0  # seconds for one listing: a big experiment on a slow database is slow, not broken
SUMMARY_RUNS = 100  # runs looked at per experiment for the list's "last run" and drift share
PAGE_SIZE = 100
RECENT_FIRINGS = 50  # the alerts screen shows one page of the newest firings

CONNECTED, CONNECTING, RECONNECTING, OFFLINE = "connected", "connecting", "reconnecting", "offline"


@dataclass(frozen=True)
class Summary:
    runs: int  # counted up to SUMMARY_RUNS
    more: bool  # there are more runs than counted
    last_run: str
    drift_share: float | None  # among the counted (most recent) runs

    @property
    def runs_text(self) -> str:
        return f"{self.runs}+" if self.more else str(self.runs)

    @property
    def share_text(self) -> str:
        return "-" if self.drift_share is None else f"{self.drift_share:.0%}"


@dataclass(frozen=True)
class Page:
    drifts: list[drift_pb2.Drift]
    next_token: str


class Backend:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tokens = token_source(settings)
        self.client = Client(settings, tokens=self.tokens)
        self.state = CONNECTING
        self._listeners: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    # -- connection state -----------------------------------------------------------------------------

    def on_state(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def set_state(self, state: str) -> None:
        with self._lock:
            changed, self.state = state != self.state, state
        if changed:
            for listener in self._listeners:
                listener(state)

    def _tracked(self, call: Callable[[], object]) -> object:
        try:
            result = call()
        except UnavailableError:
            self.set_state(OFFLINE)
            raise
        self.set_state(CONNECTED)
        return result

    def _list(self, method: Callable[..., Any], request: Any) -> Any:
        """A listing with its own, longer deadline (the client's calls give each attempt 5 s), retried
        once when the server is briefly away."""
        for attempt in (1, 2):
            try:
                return self._tracked(lambda: method(request, metadata=self.metadata(), timeout=LIST_TIMEOUT))
            except grpc.RpcError as exc:
                if attempt == 2 or exc.code() not in RETRYABLE or exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    error = from_rpc_error(exc)
                    if isinstance(error, UnavailableError):
                        self.set_state(OFFLINE)
                    raise error from exc
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def metadata(self) -> tuple[tuple[str, str], ...]:
        token = self.tokens.access_token()
        return (("authorization", f"Bearer {token}"),) if token else ()

    # -- calls ----------------------------------------------------------------------------------------

    def whoami(self) -> str:
        """Who the credentials belong to, for the status bar."""
        if not (self.settings.token or self.settings.mytoken):
            probe = experiment_pb2.ListExperimentsRequest(page_size=1)
            self._tracked(lambda: self.client.call(self.client.experiments.ListExperiments, probe))
            return "anonymous"
        try:
            user = self._tracked(self.client.me)
        except NotRegisteredError:
            return "not registered (run: drift-monitor register)"
        except AuthenticationError:
            return "token refused"
        return user.name or user.email or user.subject  # type: ignore[attr-defined]

    def experiments(self, search: str = "") -> list[experiment_pb2.Experiment]:
        """Experiments whose name contains the search text (the server filters by prefix; we refine)."""
        request = experiment_pb2.ListExperimentsRequest(page_size=200, order_by="name")
        found: list[experiment_pb2.Experiment] = []
        while True:
            page = self._list(self.client.experiments.ListExperiments, request)
            found.extend(e for e in page.experiments if search.lower() in e.name.lower())  # type: ignore[attr-defined]
            if not page.next_page_token or len(found) >= 1000:  # type: ignore[attr-defined]
                return found
            request.page_token = page.next_page_token  # type: ignore[attr-defined]

    def summary(self, experiment_id: str) -> Summary:
        request = drift_pb2.ListDriftsRequest(experiment_id=experiment_id, page_size=SUMMARY_RUNS)
        page = self._list(self.client.drifts.ListDrifts, request)
        drifts = list(page.drifts)  # type: ignore[attr-defined]
        last = max((fmt.when(d) for d in drifts), default=None)
        finished = [d for d in drifts if d.status in fmt.FINISHED]
        share = sum(fmt.detected(d) for d in finished) / len(finished) if finished else None
        return Summary(len(drifts), bool(page.next_page_token), fmt.stamp(last)[:16], share)  # to the minute  # type: ignore[attr-defined]

    def create_experiment(self, name: str, description: str, public: bool) -> experiment_pb2.Experiment:
        return self._tracked(lambda: self.client.new_experiment(name, description, public=public))  # type: ignore[return-value]

    def drifts(self, experiment_id: str, filter: str = "", order_by: str = "", page_token: str = "", page_size: int = PAGE_SIZE) -> Page:  # noqa: A002
        request = drift_pb2.ListDriftsRequest(
            experiment_id=experiment_id, filter=filter, order_by=order_by, page_token=page_token, page_size=page_size
        )
        page = self._list(self.client.drifts.ListDrifts, request)
        return Page(list(page.drifts), page.next_page_token)  # type: ignore[attr-defined]

    def alert_rules(self, experiment_id: str) -> list[alert_pb2.AlertRule]:
        """An experiment's alert rules (at most 100, so one page); needs EDIT: PermissionDeniedError below."""
        request = alert_pb2.ListAlertRulesRequest(experiment_id=experiment_id, page_size=100)
        return list(self._list(self.client.alerts.ListAlertRules, request).rules)  # type: ignore[attr-defined]

    def alert_firings(self, experiment_id: str, page_size: int = RECENT_FIRINGS) -> list[alert_pb2.AlertFiring]:
        """The newest firings (and resolutions) of the experiment's rules, with their delivery; needs EDIT."""
        request = alert_pb2.ListAlertFiringsRequest(experiment_id=experiment_id, page_size=page_size)
        return list(self._list(self.client.alerts.ListAlertFirings, request).firings)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.client.close()
