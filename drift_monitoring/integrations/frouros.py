"""Frouros: a batch detector's `compare()` result, `StatisticalResult(statistic, p_value)` or
`DistanceResult(distance)` (or the (result, callbacks) tuple compare returns), alone or as a mapping of
feature name to result. Frouros leaves the decision to the user, so a threshold is required: drift when
p_value < threshold (statistical tests) or distance >= threshold (distances)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drift_monitoring.integrations._rows import number
from drift_monitoring.integrations.verdict import Verdict

ACCEPTS = "a Frouros StatisticalResult / DistanceResult (or a mapping of feature name to one), with threshold="


def _frouros(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "frouros"


def _unwrap(value: Any) -> Any:
    # compare() returns (result, callbacks_log): take the result.
    if isinstance(value, tuple) and len(value) == 2 and _frouros(value[0]) and isinstance(value[1], Mapping):
        return value[0]
    return value



def verdict(result: Any, *, threshold: float | None = None, feature: str = "x0", test: str | None = None) -> Verdict:
    if threshold is None:
        raise TypeError("a Frouros result needs threshold=: Frouros computes the statistic, the threshold is yours "
                        "(p-value level for a StatisticalResult, distance for a DistanceResult)")
    results = {str(name): _unwrap(item) for name, item in result.items()} if isinstance(result, Mapping) else {feature: _unwrap(result)}
    rows = []
    for name, item in results.items():
        if hasattr(item, "p_value"):
            p_value = number(item.p_value)
            rows.append({"feature": name, "test": test or "statistical", "statistic": number(item.statistic), "p_value": p_value,
                         "threshold": threshold, "detected": p_value is not None and p_value < threshold})
        elif hasattr(item, "distance"):
            distance = number(item.distance)
            rows.append({"feature": name, "test": test or "distance", "statistic": distance, "p_value": None,
                         "threshold": threshold, "detected": distance is not None and distance >= threshold})
        else:
            raise TypeError(f"cannot record a {type(item).__module__}.{type(item).__qualname__}: the Frouros adapter takes {ACCEPTS}")
    drifted = sum(row["detected"] for row in rows)
    parameters = {"detector": "frouros", "threshold": threshold, "tests": sorted({row["test"] for row in rows}),
                  "features": len(rows), "drifted_features": drifted, "share_drifted": drifted / len(rows)}
    return Verdict(detected=drifted > 0, parameters=parameters, features=rows)
