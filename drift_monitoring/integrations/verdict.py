"""`Verdict`: what a drift detector concluded, in the shape of a DriftResult but free of protobuf, so that
detectors and adapters stay plain Python (and importable where the client's dependencies are not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Verdict:
    """The dataset verdict, the detector's parameters, and one {feature, test, statistic, p_value,
    threshold, detected} dict per feature; `monitor.data(verdict)` records exactly this."""

    detected: bool
    parameters: dict[str, Any] = field(default_factory=dict)
    features: list[dict[str, Any]] = field(default_factory=list)

    def record(self, monitor: Any, kind: str = "data") -> None:
        """Record on a DriftMonitor: kind "data" (monitor.data) or "concept" (monitor.concept)."""
        if kind not in ("data", "concept"):
            raise ValueError(f"kind must be 'data' or 'concept', not {kind!r}")
        getattr(monitor, kind)(self)

    def feature(self, name: str) -> dict[str, Any]:
        """The result row of one feature (KeyError if it has none)."""
        for row in self.features:
            if row["feature"] == name:
                return row
        raise KeyError(name)
