"""Built-in drift detectors: per-feature tests of a current sample against a reference, and a dataset verdict.

    from drift_monitoring.detect import detect

    report = detect(reference_df, current_df)    # numpy, a mapping of arrays, pandas or polars
    monitor.data(report)                         # or report.record(monitor)

Needs numpy and SciPy (`pip install 'drift-monitor[detect]'`); pandas and polars only if you pass their frames.
The tests, their defaults and the binning are described in drift_monitoring.detect.stats and docs/detect.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from drift_monitoring.detect import columns as _columns
from drift_monitoring.detect.correction import CORRECTIONS, cutoff
from drift_monitoring.detect.stats import CATEGORICAL_TESTS, DEFAULT_THRESHOLDS, NUMERIC_TESTS, P_VALUE_TESTS, run
from drift_monitoring.integrations.verdict import Verdict

__all__ = ["CORRECTIONS", "DEFAULT_THRESHOLDS", "DriftReport", "concept_drift", "detect"]
# Per-feature counts of missing values are kept in the parameters for at most this many features (the
# parameters of a drift are limited to 64 KiB); the totals are always there.
MISSING_DETAIL = 200


class DriftReport(Verdict):
    """A Verdict made by `detect`: record it with `monitor.data(report)` or `report.record(monitor)`."""


def detect(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    types: Mapping[str, str] | None = None,
    numeric: str = "ks",
    categorical: str = "chi2",
    tests: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    correction: str = "bonferroni",
    bins: int = 10,
    drift_share: float | None = None,
) -> DriftReport:
    """Test every feature of `current` against `reference`.

    columns: the feature names (required names for numpy arrays, a subset for frames). types: override the
    inferred type of some columns ("numeric" or "categorical"). numeric / categorical: the test for each
    type; tests: a test for some features by name. thresholds: per test, overriding DEFAULT_THRESHOLDS.
    correction: "bonferroni" (default), "bh" (Benjamini–Hochberg) or "none", over the p-value tests.
    drift_share: the dataset drifts when at least this share of features drifts; None (default): when any
    feature drifts after correction.
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, not {correction!r}")
    if bins < 2:
        raise ValueError(f"bins must be at least 2, not {bins}")
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    unknown = sorted(set(thresholds or {}) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise ValueError(f"thresholds for unknown tests {unknown}; tests are {sorted(DEFAULT_THRESHOLDS)}")
    names = _columns.names(reference, columns)
    current_names = set(_columns.names(current, None if _columns._kind(current) != "numpy" else names))
    absent = [name for name in names if name not in current_names]
    if absent:
        raise KeyError(f"columns of the reference missing from the current data: {absent}")
    rows: list[dict[str, Any]] = []
    missing: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    ref_rows, cur_rows = _columns.rows(reference), _columns.rows(current)
    for position, name in enumerate(names):
        ref, inferred = _columns.column(reference, position, name)
        cur, cur_type = _columns.column(current, position, name)
        wanted = (types or {}).get(name, inferred)
        ref, cur = _columns.as_type(ref, inferred, wanted), _columns.as_type(cur, cur_type, wanted)
        if ref_rows - len(ref) or cur_rows - len(cur):
            missing[name] = {"reference": ref_rows - len(ref), "current": cur_rows - len(cur)}
        if not len(ref) or not len(cur):
            skipped.append(name)  # nothing to compare: all missing on one side
            continue
        test = (tests or {}).get(name, numeric if wanted == _columns.NUMERIC else categorical)
        allowed = NUMERIC_TESTS if wanted == _columns.NUMERIC else CATEGORICAL_TESTS
        if test not in allowed:
            raise ValueError(f"test {test!r} does not apply to the {wanted} column {name!r}; use one of {', '.join(allowed)}")
        statistic, p_value = run(test, ref, cur, bins)
        rows.append({"feature": name, "test": test, "statistic": statistic, "p_value": p_value, "threshold": limits[test]})
    _decide(rows, correction)
    drifted = sum(row["detected"] for row in rows)
    share = drifted / len(rows) if rows else 0.0
    used = sorted({row["test"] for row in rows})
    parameters: dict[str, Any] = {
        "detector": "drift_monitoring.detect",
        "tests": used,
        "thresholds": {test: limits[test] for test in used},
        "correction": correction,
        "reference_size": ref_rows,
        "current_size": cur_rows,
        "features": len(rows),
        "drifted_features": drifted,
        "share_drifted": share,
        "missing_reference": sum(entry["reference"] for entry in missing.values()),
        "missing_current": sum(entry["current"] for entry in missing.values()),
    }
    if any(test in ("psi", "jensenshannon") for test in used):
        parameters["bins"] = bins
    if drift_share is not None:
        parameters["drift_share"] = drift_share
    if missing:
        parameters["missing"] = dict(list(missing.items())[:MISSING_DETAIL])
    if skipped:
        parameters["skipped"] = skipped[:MISSING_DETAIL]
    detected = share >= drift_share if drift_share is not None else drifted > 0
    return DriftReport(detected=bool(detected and rows), parameters=parameters, features=rows)


def _decide(rows: list[dict[str, Any]], correction: str) -> None:
    """Sets each row's detected (and, for p-value tests, its corrected threshold)."""
    tested = [row for row in rows if row["test"] in P_VALUE_TESTS]
    if tested:
        limits = cutoff(np.array([row["p_value"] for row in tested]), np.array([row["threshold"] for row in tested]), correction)
        for row, limit in zip(tested, limits):
            row["threshold"] = float(limit)
    for row in rows:
        if row["test"] in P_VALUE_TESTS:
            row["detected"] = row["p_value"] <= row["threshold"]
        else:
            row["detected"] = row["statistic"] >= row["threshold"]


def concept_drift(
    reference: Any,
    current: Any,
    *,
    name: str = "error",
    test: str = "ks",
    threshold: float | None = None,
    bins: int = 10,
) -> DriftReport:
    """Concept drift, the common case: has the distribution of a model's errors (or scores, or losses) moved
    between a reference window and the current one? Record it with `monitor.concept(report)`."""
    if test not in NUMERIC_TESTS:
        raise ValueError(f"test must be one of {', '.join(NUMERIC_TESTS)}, not {test!r}")
    report = detect(
        {name: np.asarray(reference, dtype=np.float64)},
        {name: np.asarray(current, dtype=np.float64)},
        numeric=test,
        thresholds=None if threshold is None else {test: threshold},
        correction="none",
        bins=bins,
    )
    report.parameters["detector"] = "drift_monitoring.detect.concept_drift"
    return report
