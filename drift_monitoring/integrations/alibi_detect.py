"""alibi-detect: the dict a drift detector's `predict()` returns, {"data": {"is_drift", "p_val", "threshold",
"distance", ...}, "meta": {"name", ...}}.

Feature-wise detectors (KSDrift, ChiSquareDrift, CVMDrift, FETDrift, TabularDrift) give one p-value and
distance per feature: with drift_type="batch", is_drift is one flag and threshold is already corrected
(Bonferroni or FDR, as the detector was built), so a feature drifted when its p-value is below it; with
drift_type="feature", is_drift is one flag per feature. Multivariate detectors (MMDDrift, LSDDDrift, ...)
give one p-value and distance: recorded as the verdict's parameters, with no features.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drift_monitoring.integrations._rows import flag, names, number
from drift_monitoring.integrations.verdict import Verdict

ACCEPTS = "an alibi-detect predict() dict ({'data': {'is_drift', 'p_val', 'threshold', ...}, 'meta': {...}})"
# The tests alibi-detect's feature-wise detectors run, by detector name.
TESTS = {"KSDrift": "ks", "ChiSquareDrift": "chi2", "CVMDrift": "cvm", "FETDrift": "fet", "TabularDrift": "ks/chi2"}



def _values(value: Any) -> list[Any] | None:
    """A per-feature array as a list; None for a scalar."""
    if value is None:
        return None
    listed = value.tolist() if hasattr(value, "tolist") else value
    return listed if isinstance(listed, list) else None


def verdict(prediction: Mapping[str, Any], *, feature_names: Any = None, test: str | None = None) -> Verdict:
    data, meta = prediction["data"], prediction.get("meta") or {}
    detector = meta.get("name", "alibi-detect")
    parameters: dict[str, Any] = {"detector": f"alibi_detect.{detector}"}
    threshold = number(data.get("threshold"))
    p_values, distances, flags = _values(data.get("p_val")), _values(data.get("distance")), _values(data.get("is_drift"))
    if p_values is None and distances is None:  # multivariate: one test of the whole sample
        parameters |= {key: number(data.get(key)) for key in ("p_val", "threshold", "distance", "distance_threshold") if number(data.get(key)) is not None}
        return Verdict(detected=flag(data["is_drift"]), parameters=parameters)
    count = len(p_values if p_values is not None else distances)
    labels = names(feature_names, count, "alibi-detect")
    name = test or TESTS.get(detector, detector)
    rows = []
    for i, feature in enumerate(labels):
        p_value = number(p_values[i]) if p_values is not None else None
        detected = flag(flags[i]) if flags is not None else (p_value is not None and threshold is not None and p_value < threshold)
        rows.append({"feature": feature, "test": name, "statistic": number(distances[i]) if distances is not None else None,
                     "p_value": p_value, "threshold": threshold, "detected": detected})
    drifted = sum(row["detected"] for row in rows)
    parameters |= {"drift_type": "feature" if flags is not None else "batch", "threshold": threshold, "tests": [name],
                   "features": count, "drifted_features": drifted, "share_drifted": drifted / count if count else 0.0}
    detected = any(flags) if flags is not None else flag(data["is_drift"])
    return Verdict(detected=bool(detected), parameters={k: v for k, v in parameters.items() if v is not None}, features=rows)
