"""The alert evaluator of one server process: off the request path, it follows this process's event log
appends (a drift created, updated, deleted or LOST wakes it for that experiment's rules) and every
DRIFT_MONITOR_ALERT_EVAL_SECONDS re-evaluates all rules (time windows, pending, repeats, other processes'
writes). A burst of events is gathered for DEBOUNCE seconds, and an experiment's rules share their reads
(conditions.Reads), so 1,000 runs a minute cost a few queries per pass, not one per rule and run.

States (Prometheus/Alertmanager): INACTIVE -> PENDING (condition holds, for less than pending_duration)
-> FIRING (a FIRING notification) -> INACTIVE (a RESOLVED one); while FIRING, a REPEAT every
repeat_interval. One alert per rule and group (group_by), so many drifted runs are one notification.

Several processes evaluate the same rules: a notification's _id is derived from (rule, group, episode,
kind[, repeat]), and inserting it is the claim of that transition; whoever loses the insert only brings
its copy of the state up to date. Nothing else needs a lock, and a process killed after the insert but
before the state write leaves nothing lost (the next pass finds the notification and the state follows).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError, PyMongoError

from server import metrics
from server.alerts import conditions
from server.db import Database, is_duplicate, now
from server.events import CREATED, DELETED, UPDATED, LogEvent
from server.filtering import compile_filter
from server.models import AlertGroupState, AlertNotification, AlertRule, Experiment, conform
from server.settings import Settings

log = logging.getLogger(__name__)

DEBOUNCE = 0.05
TIMED = "timed"
CONCURRENT = 4  # passes at once: each holds a database thread, which requests need too
FULL = "full"
SAFETY_EVERY = 12  # every this many timed passes, all rules (a process killed before evaluating its own write)
FRESH_RULE = "__rule"  # on a notification just inserted here: its rule (never stored)
TYPES = {"FIRING": "alert.firing", "REPEAT": "alert.repeat", "RESOLVED": "alert.resolved"}


def delivery_id(rule: ObjectId, key: str, episode: int, kind: str) -> str:
    digest = hashlib.sha256(f"{rule}\0{key}\0{episode}\0{kind}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


def state_id(rule: ObjectId, key: str) -> str:
    return f"{rule}|{key}"


def user_filter(rule: dict[str, Any]) -> dict[str, Any]:
    from server.services.drifts import FILTER_FIELDS, FILTER_PREFIXES  # noqa: PLC0415 - services import alerts

    return compile_filter(rule.get("filter") or "", FILTER_FIELDS, FILTER_PREFIXES)


class Evaluator:
    def __init__(self, db: Database, settings: Settings, wake_outbox: Any = None) -> None:
        self._db = db
        self._settings = settings
        self._wake_outbox = wake_outbox or (lambda docs: None)
        self._dirty: set[ObjectId] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._passes: set[asyncio.Task[None]] = set()
        self._running: set[Any] = set()  # experiments (and FULL) with a pass under way
        self._slots = asyncio.Semaphore(CONCURRENT)
        self._timed_passes = 0
        self._experiment_names: dict[ObjectId, dict[str, Any]] = {}  # for payloads; a rename shows up after a restart
        self._made = threading.local()  # passes run on several database threads at once: each its own list

    def on_events(self, events: Iterable[LogEvent]) -> None:
        """On the loop, for every event this process appended: cheap, never a database call."""
        for event in events:
            if event.type in (CREATED, UPDATED, DELETED) and event.experiment is not None:
                self._dirty.add(event.experiment)
                self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="alert-evaluator")

    async def stop(self) -> None:
        tasks = [task for task in (self._task, *self._passes) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self) -> None:
        """Each dirty experiment is evaluated by a pass of its own as soon as it is dirty (at most
        CONCURRENT passes at once, one per experiment at a time), so a busy experiment or the full pass
        never holds back another experiment's notification."""
        loop = asyncio.get_running_loop()
        next_full = loop.time()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_full - loop.time()))
                await asyncio.sleep(DEBOUNCE)
            except TimeoutError:
                pass
            self._wake.clear()
            if loop.time() >= next_full:
                if FULL in self._running:  # the last full pass is still going: look again shortly
                    next_full = loop.time() + 0.1
                else:
                    self._timed_passes += 1
                    self._spawn(FULL, None if self._timed_passes % SAFETY_EVERY == 1 else TIMED)
                    next_full = loop.time() + self._settings.alert_eval_seconds
            for experiment in list(self._dirty):
                if experiment not in self._running:
                    self._dirty.discard(experiment)
                    self._spawn(experiment, {experiment})

    def _spawn(self, key: Any, experiments: set[ObjectId] | None) -> None:
        self._running.add(key)
        task = asyncio.create_task(self._pass(key, experiments), name=f"alert-pass-{key}")
        self._passes.add(task)
        task.add_done_callback(self._passes.discard)

    async def _pass(self, key: Any, experiments: set[ObjectId] | None) -> None:
        try:
            async with self._slots:
                made: list[dict[str, Any]] = []
                await self._db.run(self.evaluate, experiments, made)
            if made:
                self._wake_outbox(made)
        except Exception:  # noqa: BLE001 - a failed pass (database away) is retried
            log.exception("alert evaluation failed; retrying")
            if experiments:
                self._dirty |= experiments
        finally:
            self._running.discard(key)
            if self._dirty:
                self._wake.set()

    # -- blocking -------------------------------------------------------------------------------------

    def evaluate(self, experiments: set[ObjectId] | str | None, made_docs: list[dict[str, Any]] | None = None) -> int:
        """One pass over the enabled rules (of `experiments`, or all, or with TIMED those whose verdict
        may change with time alone: time-based conditions, and alerts pending or firing, for their pending
        time and repeats); returns how many notifications it made, also appended to made_docs (for the
        outbox to send at once)."""
        self._made.docs = made_docs if made_docs is not None else []
        if experiments == TIMED:
            experiments = {doc["experiment"] for doc in AlertRule._get_collection().find({"timed": True}, {"experiment": 1})} | {
                doc["experiment"] for doc in AlertGroupState._get_collection().find({"state": {"$in": ["PENDING", "FIRING"]}}, {"experiment": 1})}
            metrics.alerts_firing(AlertGroupState._get_collection().count_documents({"state": "FIRING"}))
            if not experiments:
                return 0
        query: dict[str, Any] = {"disabled": False}
        if experiments is not None:
            if not experiments:
                return 0
            query["experiment"] = {"$in": list(experiments)}
        made = 0
        by_experiment: dict[ObjectId, list[dict[str, Any]]] = {}
        for rule in AlertRule._get_collection().find(query):
            by_experiment.setdefault(rule["experiment"], []).append(rule)
        for experiment, found in by_experiment.items():
            # One read of the experiment's alert states and shared run reads for all its rules.
            states: dict[ObjectId, dict[str, dict[str, Any]]] = {}
            for doc in AlertGroupState._get_collection().find({"experiment": experiment}):
                states.setdefault(doc["rule"], {})[doc["_id"]] = doc
            reads = conditions.Reads()
            moment = now()
            for rule in found:
                try:
                    made += self.evaluate_rule(rule, moment, states.get(rule["_id"], {}), reads)
                except PyMongoError:
                    raise
                except Exception:  # noqa: BLE001 - one broken rule must not stop the others
                    log.exception("alert rule %s could not be evaluated", rule["_id"])
        if experiments is None:
            metrics.alerts_firing(AlertGroupState._get_collection().count_documents({"state": "FIRING"}))
        return made

    def evaluate_rule(self, rule: dict[str, Any], moment: datetime, states: dict[str, dict[str, Any]], reads: conditions.Reads) -> int:
        verdicts = conditions.evaluate(rule, user_filter(rule), moment, reads)
        made = 0
        for key in set(verdicts) | {doc_id.split("|", 1)[1] for doc_id in states}:
            verdict = verdicts.get(key) or conditions.Verdict(False, "no matching runs any more")
            made += self._step(rule, key, verdict, states.get(state_id(rule["_id"], key)), moment)
        return made

    def _step(self, rule: dict[str, Any], key: str, verdict: conditions.Verdict, state: dict[str, Any] | None, moment: datetime) -> int:
        current = dict(state) if state else {
            "_id": state_id(rule["_id"], key), "rule": rule["_id"], "experiment": rule["experiment"], "labels": verdict.labels,
            "state": "INACTIVE", "episode": 0, "active_since": None, "fire_time": None, "repeats": 0,
        }
        before = dict(current)
        made = 0
        if verdict.active:
            if current["state"] == "INACTIVE":
                current.update(state="PENDING", episode=current["episode"] + 1, active_since=moment, fire_time=None, repeats=0, labels=verdict.labels)
            if current["state"] == "PENDING" and moment - current["active_since"] >= timedelta(milliseconds=rule.get("pending_ms", 0)):
                current.update(state="FIRING", fire_time=moment)
                made += self._notify(rule, key, current, "FIRING", verdict, moment)
            elif current["state"] == "FIRING":
                due = int((moment - current["fire_time"]) / timedelta(milliseconds=rule["repeat_ms"]))
                if due > current.get("repeats", 0):
                    current["repeats"] = due
                    made += self._notify(rule, key, current, f"REPEAT-{due}", verdict, moment)
        elif current["state"] == "FIRING":
            made += self._notify(rule, key, current, "RESOLVED", verdict, moment)
            current.update(state="INACTIVE", active_since=None)
        elif current["state"] == "PENDING":
            current.update(state="INACTIVE", active_since=None)
        if current != before:
            current["update_time"] = moment
            conform(AlertGroupState, current)
            AlertGroupState._get_collection().replace_one({"_id": current["_id"]}, current, upsert=True)
        return made

    def _notify(self, rule: dict[str, Any], key: str, state: dict[str, Any], kind: str, verdict: conditions.Verdict, moment: datetime) -> int:
        """Insert the notification (the outbox entry); 0 when another process (or an earlier pass) did."""
        message_id = delivery_id(rule["_id"], key, state["episode"], kind)
        base_kind = kind.split("-", 1)[0]
        experiment = self._experiment_names.get(rule["experiment"])
        if experiment is None:
            experiment = self._experiment_names[rule["experiment"]] = Experiment._get_collection().find_one({"_id": rule["experiment"]}, {"name": 1}) or {}
            if len(self._experiment_names) > 10_000:
                self._experiment_names.clear()
        payload = {
            "type": TYPES[base_kind],
            "timestamp": moment.isoformat().replace("+00:00", "Z"),
            "data": {
                "delivery_id": message_id, "rule_id": str(rule["_id"]), "rule_name": rule["display_name"],
                "experiment_id": str(rule["experiment"]), "experiment_name": experiment.get("name", ""),
                "condition": rule["condition"]["type"], "labels": state.get("labels") or {}, "summary": verdict.summary[:1000],
                "runs": verdict.runs[: conditions.MAX_RUN_IDS], "episode": state["episode"],
                "active_since": state["active_since"].isoformat().replace("+00:00", "Z") if state.get("active_since") else None,
            },
        }
        doc = {
            "_id": message_id, "rule": rule["_id"], "experiment": rule["experiment"], "kind": base_kind, "labels": state.get("labels") or {},
            "summary": verdict.summary[:1000], "payload": payload, "status": "PENDING", "attempt": 0, "attempts": [],
            "next_attempt_time": moment, "give_up_time": moment + timedelta(seconds=self._settings.alert_give_up_seconds),
            "create_time": moment, "deliver_time": None,
        }
        conform(AlertNotification, doc)
        try:
            AlertNotification._get_collection().insert_one(doc)
        except DuplicateKeyError:
            return 0
        except PyMongoError as exc:
            if is_duplicate(exc):
                return 0
            raise
        metrics.alert_notified(base_kind)
        # Handed to this process's outbox as stored, with its rule: its first attempt needs no read.
        self._made.docs.append({**doc, FRESH_RULE: rule})
        return 1
