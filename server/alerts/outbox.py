"""Delivering the outbox (alert_notifications) at least once, under each notification's stable id.

Every process runs a sender. Attempt N of a notification is sent only by the process whose insert of the
claim "<id>#<N>" into alert_claims succeeded (a unique _id: FerretDB v1's conditional updates are a read
and a write, so two processes could both "win" one). The winner sends and records the outcome; a retry is
attempt N+1 at a backoff time (Retry-After when the receiver gives one). A claim whose owner died (SIGKILL)
before recording is taken over once it is older than STALE: one process wins "<id>#<N>!" and moves the
notification on to attempt N+1, so the receiver may see the same delivery id twice, never a different one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError, PyMongoError

from server import metrics
from server.alerts import channels, rules
from server.alerts.evaluator import FRESH_RULE
from server.db import Database, is_duplicate, now
from server.models import AlertClaim, AlertNotification, AlertRule, conform
from server.settings import Settings

log = logging.getLogger(__name__)

BATCH = 64
SENDERS = 8
POLL_SECONDS = 1.0
MAX_BACKOFF = 300.0
CLAIM_RETENTION = timedelta(days=2)


def backoff(attempt: int, retry_after: float | None) -> float:
    base = min(MAX_BACKOFF, 2.0 ** max(0, attempt - 1))
    wait = base * random.uniform(0.8, 1.2)
    return min(MAX_BACKOFF * 4, max(wait, retry_after or 0.0))


class Outbox:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._pool = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="alert-send")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[str] = set()
        self._stale = timedelta(seconds=3 * settings.alert_timeout_seconds + 5)

    def wake(self, docs: list[dict[str, Any]] | None = None) -> None:
        """New notifications (from this process's evaluator, on the loop): sent at once, without a query."""
        if docs:
            self._start_attempts(docs)
        self._wake.set()

    def _start_attempts(self, docs: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        for doc in docs:
            if doc["_id"] not in self._in_flight:
                self._in_flight.add(doc["_id"])
                future = loop.run_in_executor(self._pool, self.attempt, doc)
                future.add_done_callback(lambda _f, key=doc["_id"]: self._in_flight.discard(key))

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="alert-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _loop(self) -> None:
        passes = 0
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                self._start_attempts(await self._db.run(self._due))
                passes += 1
                if passes % 600 == 0:
                    await self._db.run(lambda: AlertClaim._get_collection().delete_many({"time": {"$lt": now() - CLAIM_RETENTION}}))
            except Exception:  # noqa: BLE001 - retried on the next pass
                log.exception("alert outbox pass failed; retrying")

    def _due(self) -> list[dict[str, Any]]:
        return list(AlertNotification._get_collection().find({"status": "PENDING", "next_attempt_time": {"$lte": now()}}).limit(BATCH))

    # -- blocking, in the sender pool -----------------------------------------------------------------

    def _claim(self, claim_id: str, experiment: Any) -> bool:
        doc = {"_id": claim_id, "experiment": experiment, "owner": self.owner, "time": now()}
        conform(AlertClaim, doc)
        try:
            AlertClaim._get_collection().insert_one(doc)
            return True
        except DuplicateKeyError:
            return False
        except PyMongoError as exc:
            if is_duplicate(exc):
                return False
            raise

    def attempt(self, doc: dict[str, Any]) -> str:
        """Claim and make the notification's next attempt; returns what happened (for tests and logs)."""
        try:
            return self._attempt(doc)
        except Exception:  # noqa: BLE001 - the notification stays PENDING; a later pass retries
            log.exception("delivering %s failed", doc["_id"])
            return "error"

    def _attempt(self, doc: dict[str, Any]) -> str:
        notifications = AlertNotification._get_collection()
        attempt = doc.get("attempt", 0)
        claim_id = f"{doc['_id']}#{attempt}"
        if not self._claim(claim_id, doc["experiment"]):
            claim = AlertClaim._get_collection().find_one({"_id": claim_id})
            if claim is not None and claim["time"] < now() - self._stale and self._claim(claim_id + "!", doc["experiment"]):
                # Its sender died before recording the outcome: move on to the next attempt (same id).
                notifications.update_one({"_id": doc["_id"]}, {"$set": {"attempt": attempt + 1}})
                return "taken over"
            return "claimed elsewhere"
        fresh_rule = doc.pop(FRESH_RULE, None)
        if fresh_rule is not None and attempt == 0:
            # Inserted by this process's evaluator a moment ago, and attempt 0 is ours: nobody else can have
            # sent or settled it, so neither it nor its rule needs reading again.
            current, rule = doc, fresh_rule
        else:
            current = notifications.find_one({"_id": doc["_id"]})
            if current is None or current["status"] != "PENDING" or current.get("attempt", 0) != attempt:
                return "settled"
            rule = AlertRule._get_collection().find_one({"_id": current["rule"]})
        moment = now()
        if rule is None:
            outcome = channels.Outcome(False, False, 0, "the rule was deleted")
        else:
            outcome = channels.send(rule["channel"], rules.current_secrets(rule, moment), current["_id"], current["payload"], self._settings)
        return self._record(current, attempt, moment, outcome)

    def _record(self, doc: dict[str, Any], attempt: int, moment: datetime, outcome: channels.Outcome) -> str:
        finished = now()
        attempts = [*doc.get("attempts", []), {"time": moment, "status_code": outcome.status_code, "detail": outcome.detail[:300]}][-20:]
        changes: dict[str, Any] = {"attempts": attempts, "attempt": attempt + 1}
        if outcome.delivered:
            result = "delivered"
            changes.update(status="DELIVERED", deliver_time=finished)
            metrics.alert_delivery_latency((finished - doc["create_time"]).total_seconds())
        else:
            wait = backoff(attempt + 1, outcome.retry_after)
            next_time = finished + timedelta(seconds=wait)
            if outcome.retryable and next_time <= doc["give_up_time"]:
                result = "retry"
                changes["next_attempt_time"] = next_time
            else:
                result = "failed"
                changes["status"] = "FAILED"
        conform(AlertNotification, changes, partial=True)
        # Only the claim's winner writes this attempt's outcome, so the $set needs no condition.
        AlertNotification._get_collection().update_one({"_id": doc["_id"]}, {"$set": changes})
        metrics.alert_delivery(result)
        if result != "delivered":
            log.info("alert %s attempt %d: %s (%s %s)", doc["_id"], attempt, result, outcome.status_code, outcome.detail[:100])
        return result

    async def send_now(self, channel: dict[str, Any], secrets: list[str], message_id: str, payload: dict[str, Any]) -> channels.Outcome:
        """TestAlertRule's sample: sent at once from the sender pool, never queued or retried."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, channels.send, channel, secrets, message_id, payload, self._settings)
