"""Whether a rule's condition holds now, per group of runs: {group key: Verdict}. Blocking (database).

A verdict is computed from the stored runs alone (never from the event that woke the evaluator), so any
server process evaluating at any time reaches the same answer, and a missed event costs nothing but time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING

from server.listing import conjoin
from server.models import Drift

RESULTS = {"CONCEPT": ("concept_drift",), "DATA": ("data_drift",), "RESULT": ("result",), "ANY": ("concept_drift", "data_drift", "result")}
LATEST = 200  # finished runs read for a "latest run" condition (grouped by model, each group's newest counts)
MAX_WINDOW_RUNS = 10_000
MAX_RUN_IDS = 20  # run ids a notification lists


@dataclass
class Verdict:
    active: bool
    summary: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)


def drifted(run: Mapping[str, Any], kind: str) -> bool:
    return any((run.get(name) or {}).get("detected") for name in RESULTS[kind])


def features_detected(run: Mapping[str, Any], kind: str, names: list[str]) -> list[str]:
    wanted = set(names)
    return sorted({f["feature"] for name in RESULTS[kind] for f in (run.get(name) or {}).get("features") or () if f.get("detected") and f["feature"] in wanted})


def _key(rule: Mapping[str, Any], run: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    labels = {name: str((run or {}).get(name, "")) for name in rule.get("group_by") or ()}
    return "|".join(f"{k}={v}" for k, v in sorted(labels.items())) or "*", labels


def _grouped(rule: Mapping[str, Any], runs: list[Mapping[str, Any]]) -> dict[str, tuple[dict[str, str], list[Mapping[str, Any]]]]:
    groups: dict[str, tuple[dict[str, str], list[Mapping[str, Any]]]] = {}
    for run in runs:
        key, labels = _key(rule, run)
        groups.setdefault(key, (labels, []))[1].append(run)
    return groups


class Reads:
    """The run queries of one pass over an experiment's rules, each made once: rules that share a filter
    (the common case: many rules on all runs) share their reads, so 100 rules cost a few queries, not 100."""

    def __init__(self) -> None:
        self._cache: dict[Any, Any] = {}

    def get(self, key: Any, read: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]


def evaluate(rule: Mapping[str, Any], user_filter: dict[str, Any], moment: datetime, reads: Reads | None = None) -> dict[str, Verdict]:
    condition = rule["condition"]
    kind_ = condition["type"]
    base = {"experiment": rule["experiment"]}
    runs = Drift._get_collection()
    reads = reads or Reads()
    text = rule.get("filter") or ""
    if kind_ == "no_run":
        since = moment - timedelta(milliseconds=condition["period_ms"])
        recent = reads.get(("no_run", text, since), lambda: runs.find_one(conjoin(base, {"start_time": {"$gte": since}}, user_filter), {"_id": 1}))
        active = recent is None and rule["create_time"] <= since
        period = condition["period_ms"] / 1000
        return {"*": Verdict(active, f"no run started in the last {period:g} s" if active else "a run started")}
    if kind_ == "drift_rate":
        since = moment - timedelta(milliseconds=condition["window_ms"])
        window = reads.get(("window", text, since), lambda: list(
            runs.find(conjoin(base, {"status": "COMPLETED", "end_time": {"$gte": since}}, user_filter)).limit(MAX_WINDOW_RUNS)))
        out = {}
        for key, (labels, group) in _grouped(rule, window).items():
            hits = [run for run in group if drifted(run, condition["kind"])]
            rate = len(hits) / len(group)
            active = len(group) >= condition["min_runs"] and rate >= condition["threshold"]
            summary = f"drift rate {rate:.2f} over the last {condition['window_ms'] / 1000:g} s ({len(hits)} of {len(group)} runs)"
            out[key] = Verdict(active, summary, labels, [str(run["_id"]) for run in hits[:MAX_RUN_IDS]])
        return out
    statuses = ["COMPLETED"] if kind_ in ("drift_detected", "feature_detected", "k_of_n") else ["COMPLETED", "FAILED", "LOST"]
    # The same limit for every rule of a shape (one read serves them all); more per group with group_by.
    limit = max(LATEST, condition.get("n", 0)) * (4 if rule.get("group_by") else 1)
    latest = reads.get(("latest", text, tuple(statuses), limit), lambda: list(
        runs.find(conjoin(base, {"status": {"$in": statuses}}, user_filter)).sort([("update_time", DESCENDING), ("_id", DESCENDING)]).limit(limit)))
    out = {}
    for key, (labels, group) in _grouped(rule, latest).items():
        newest = group[0]
        run_id = str(newest["_id"])
        where = f"run {run_id} (model {newest.get('model', '')})"
        if kind_ == "drift_detected":
            active = drifted(newest, condition["kind"])
            out[key] = Verdict(active, f"drift detected in {where}" if active else f"no drift in {where}", labels, [run_id])
        elif kind_ == "feature_detected":
            found = features_detected(newest, condition["kind"], condition["features"])
            out[key] = Verdict(bool(found), f"drift on {', '.join(found)} in {where}" if found else f"no drift on the features in {where}", labels, [run_id])
        elif kind_ == "k_of_n":
            last = group[: condition["n"]]
            hits = [run for run in last if drifted(run, condition["kind"])]
            active = len(hits) >= condition["k"]
            out[key] = Verdict(active, f"{len(hits)} of the last {len(last)} runs drifted (threshold {condition['k']} of {condition['n']})",
                               labels, [str(run["_id"]) for run in hits[:MAX_RUN_IDS]])
        elif kind_ == "run_failed":
            active = newest["status"] == "FAILED"
            message = (newest.get("error_message") or "")[:300]
            out[key] = Verdict(active, f"{where} FAILED{': ' + message if message else ''}" if active else f"{where} finished {newest['status']}", labels, [run_id])
        elif kind_ == "run_lost":
            active = newest["status"] == "LOST"
            out[key] = Verdict(active, f"{where} was LOST: {newest.get('status_reason', '')}" if active else f"{where} finished {newest['status']}", labels, [run_id])
    return out
