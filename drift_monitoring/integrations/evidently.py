"""Evidently results: a new-API `Snapshot` (what `Report.run` returns, with ValueDrift and DriftedColumnsCount
metrics, as DataDriftPreset makes them, and their tests), or a legacy (`evidently.legacy`) Report with
DataDriftTable / ColumnDriftMetric, or one of those metrics' results.

Reads the result's own dict form (`Snapshot.dict()`, `Report.as_dict()`), so Evidently is never imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drift_monitoring.integrations._rows import flag, number
from drift_monitoring.integrations.verdict import Verdict

ACCEPTS = "an Evidently Snapshot (ValueDrift / DriftedColumnsCount) or legacy Report (DataDriftTable / ColumnDriftMetric)"



def verdict(result: Any) -> Verdict:
    if hasattr(result, "as_dict"):  # legacy Report
        return _legacy([metric["result"] for metric in result.as_dict()["metrics"]])
    if hasattr(result, "dict") and type(result).__name__ == "Snapshot":
        return _snapshot(result.dict())
    if hasattr(result, "drift_by_columns") or hasattr(result, "drift_score"):  # a legacy metric's result object
        return _legacy([result.dict() if hasattr(result, "dict") else vars(result)])
    raise TypeError(f"cannot record a {type(result).__module__}.{type(result).__qualname__}: the Evidently adapter takes {ACCEPTS}")


# Evidently's tests whose drift score is a p-value (drift when below the threshold), by id and by display
# name; the others (wasserstein, psi, jensenshannon, kl_div, hellinger, ed, ...) are distances (drift when at
# or above it). Display names with "p_value" in them ("K-S p_value", "Z-test p_value") are p-values too.
P_VALUE_TESTS = frozenset({
    "anderson", "chisquare", "cramer_von_mises", "es", "fisher_exact", "g_test", "ks", "mannw", "t_test", "z", "empirical_mmd",
    "Anderson-Darling", "Cramer-von Mises", "Epps-Singleton", "Fisher's Exact test", "Mann-Whitney U-rank test",
})


def _is_p_value(method: str) -> bool:
    return method in P_VALUE_TESTS or "p_value" in method


def _snapshot(snapshot: Mapping[str, Any]) -> Verdict:
    # A ValueDrift test (include_tests=True) that FAILed is a drifted column; without tests, the metric's own rule.
    failed = {test["metric_config"]["metric_id"]: str(getattr(test["status"], "value", test["status"])) == "FAIL" for test in snapshot.get("tests", [])
              if test.get("metric_config", {}).get("params", {}).get("type", "").endswith("ValueDrift")}
    rows, parameters, dataset = [], {"detector": "evidently"}, None
    for metric in snapshot["metrics"]:
        config, kind = metric["config"], metric["config"]["type"].rsplit(":", 1)[-1]
        if kind == "ValueDrift":
            method, threshold, value = config.get("method") or "", number(config.get("threshold")), number(metric["value"])
            by_rule = value is not None and threshold is not None and (value < threshold if _is_p_value(method) else value >= threshold)
            p_value = _is_p_value(method)
            rows.append({"feature": config["column"], "test": method, "statistic": None if p_value else value,
                         "p_value": value if p_value else None, "threshold": threshold,
                         "detected": failed.get(metric["id"], by_rule)})
        elif kind == "DriftedColumnsCount":
            share, drift_share = number(metric["value"]["share"]), number(config.get("drift_share"))
            parameters |= {"drifted_features": int(metric["value"]["count"]), "share_drifted": share, "drift_share": drift_share}
            dataset = share is not None and drift_share is not None and share >= drift_share
    if not rows and dataset is None:
        raise TypeError(f"the Evidently Snapshot has no ValueDrift or DriftedColumnsCount metric; the adapter takes {ACCEPTS}")
    if rows:
        parameters["tests"] = sorted({row["test"] for row in rows})
        parameters["features"] = len(rows)
    return Verdict(detected=bool(dataset) if dataset is not None else any(row["detected"] for row in rows), parameters=parameters, features=rows)


def _legacy(results: list[Mapping[str, Any]]) -> Verdict:
    rows: dict[str, dict[str, Any]] = {}
    parameters: dict[str, Any] = {"detector": "evidently.legacy"}
    dataset = None
    for result in results:
        if "drift_by_columns" in result:  # DataDriftTable
            for column in result["drift_by_columns"].values():
                rows[column["column_name"]] = _column(column)
            parameters |= {"drifted_features": result.get("number_of_drifted_columns"), "share_drifted": number(result.get("share_of_drifted_columns"))}
            dataset = flag(result.get("dataset_drift")) or bool(dataset)
        elif "drift_score" in result:  # ColumnDriftMetric
            rows[result["column_name"]] = _column(result)
        elif "dataset_drift" in result:  # DatasetDriftMetric
            parameters |= {"drifted_features": result.get("number_of_drifted_columns"), "share_drifted": number(result.get("share_of_drifted_columns"))}
            dataset = flag(result["dataset_drift"]) or bool(dataset)
    if not rows and dataset is None:
        raise TypeError(f"the Evidently Report has no drift metric; the adapter takes {ACCEPTS}")
    features = list(rows.values())
    if features:
        parameters["tests"] = sorted({row["test"] for row in features})
        parameters["features"] = len(features)
    return Verdict(detected=dataset if dataset is not None else any(row["detected"] for row in features),
                   parameters={k: v for k, v in parameters.items() if v is not None}, features=features)


def _column(column: Mapping[str, Any]) -> dict[str, Any]:
    method = column.get("stattest_name") or ""
    score = number(column.get("drift_score"))
    threshold = number(column.get("stattest_threshold", column.get("threshold")))
    p_value = _is_p_value(method)
    return {"feature": column["column_name"], "test": method, "statistic": None if p_value else score,
            "p_value": score if p_value else None, "threshold": threshold, "detected": flag(column.get("drift_detected"))}
