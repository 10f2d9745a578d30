"""An open WatchDrifts stream keeps only the access it still has (decision 5 holds for open streams too).

A stream ends with the status a new WatchDrifts would get, before it sends anything more:
- UNAUTHENTICATED once the caller's token has expired (its `exp`, which Envoy forwards in the verified
  payload): checked before every message, so nothing is sent after the expiry, and an idle stream ends
  at its next heartbeat (DRIFT_MONITOR_HEARTBEAT_SECONDS) at the latest.
- NOT_FOUND once the caller can no longer read the experiment (a grant removed or lowered, the experiment
  made private), exactly as for a deleted one. UpdateExperiment appends an EXPERIMENT_ACCESS event to the
  log after each change of `public` or `grants`, so every stream, on any process, re-checks before it
  sends any later event: within the log's tail interval of the change (DRIFT_MONITOR_EVENT_POLL_SECONDS)
  on other processes, at once on the writer's. A change that never reached the log (a server killed
  between the two writes, an edit made in the database) is caught by the periodic re-check, every
  DRIFT_MONITOR_WATCH_RECHECK_SECONDS, rounded up to the next heartbeat of an idle stream.
The caller is the one who opened the stream: entitlements and admin rights as its token said then.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bson import ObjectId

from server.errors import unauthenticated
from server.identity import Caller
from server.permissions import Level, require


class StreamAccess:
    def __init__(self, caller: Caller, experiment: ObjectId, recheck_seconds: float) -> None:
        self.caller = caller
        self.experiment = experiment
        self._recheck = recheck_seconds
        self._checked = time.monotonic()

    def check_token(self) -> None:
        if self.caller.expires and time.time() >= self.caller.expires:
            raise unauthenticated("the token has expired; sign in again and resume with the last resume_token")

    def recheck_due(self) -> bool:
        return time.monotonic() - self._checked >= self._recheck

    def check(self, experiment: Mapping[str, Any] | None) -> None:
        """NOT_FOUND when the caller may no longer read the experiment (or it is gone)."""
        self._checked = time.monotonic()
        require(experiment, self.caller, Level.READ)
