"""Adapters from drift libraries' result objects to a Verdict, so `monitor.data(result)` needs no glue.

    monitor.data(snapshot)                                  # Evidently: new-API Snapshot, or a legacy Report
    monitor.data(detector.predict(x), features=None, feature_names=names)   # alibi-detect predict() dict
    monitor.data(nannyml_result, chunk=-1)                  # NannyML univariate drift Result (latest chunk)
    monitor.data(frouros_result, threshold=0.05, feature="age")             # Frouros Statistical/DistanceResult
    monitor.data(report)                                    # drift_monitoring.detect

Each adapter imports nothing of its library (it reads the result object it is given), so an unused adapter
costs nothing; `to_verdict` picks one by the object's type.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from drift_monitoring.integrations.verdict import Verdict

__all__ = ["Verdict", "accepted", "to_verdict"]

def _library(value: Any) -> str:
    return type(value).__module__.split(".")[0]


def _alibi(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("data"), Mapping) and "is_drift" in value["data"]


def _frouros(value: Any) -> bool:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], Mapping):  # compare(): (result, callbacks log)
        value = value[0]
    if isinstance(value, Mapping) and value and not _alibi(value):  # {feature: result}
        return all(_frouros(item) for item in value.values())
    return _library(value) == "frouros"


# (does it take this object, the adapter module, what it takes): checked in order; the adapter module is
# imported on first use, and no adapter imports its library (each reads the object it is handed).
_ADAPTERS: list[tuple[Callable[[Any], bool], str, str]] = [
    (lambda value: _library(value) == "evidently", "evidently",
     "an Evidently Snapshot (ValueDrift / DriftedColumnsCount metrics, drift tests) or legacy Report / DataDriftTable / ColumnDriftMetric result"),
    (_alibi, "alibi_detect", "an alibi-detect predict() dict (feature_names=)"),
    (lambda value: _library(value) == "nannyml", "nannyml", "a NannyML univariate drift Result (chunk=)"),
    (_frouros, "frouros", "a Frouros StatisticalResult / DistanceResult or a mapping of feature to one (threshold=)"),
]


def accepted() -> str:
    return ", ".join(["a bool (with parameters and features)", "a drift_monitoring.detect report or a Verdict", *(what for _, _, what in _ADAPTERS)])


def to_verdict(result: Any, **options: Any) -> Verdict:
    """The Verdict of a detector's result object; options go to its adapter. TypeError for anything else."""
    if isinstance(result, Verdict):
        if options:
            raise TypeError(f"a Verdict takes no options, got {sorted(options)}")
        return result
    for accepts, module, _ in _ADAPTERS:
        if accepts(result):
            return importlib.import_module(f"drift_monitoring.integrations.{module}").verdict(result, **options)
    raise TypeError(f"cannot record a {type(result).__module__}.{type(result).__qualname__}: monitor.data and monitor.concept take {accepted()}")
