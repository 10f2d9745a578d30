"""Run inside .run/drift-libs-venv (the real drift libraries): each check builds a library's real result,
converts it with drift_monitoring.integrations and compares every field with the library's own numbers.
`python check_adapters.py NAME` runs one check; exit status 0 when it holds. Also the built-in detectors'
numbers against Evidently's and alibi-detect's on the same data (tolerances in docs/detect.md)."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
RNG = np.random.default_rng(3)
N = 2000
REF = pd.DataFrame({"age": RNG.normal(40, 10, N), "income": RNG.lognormal(10, 1, N), "city": RNG.choice(["a", "b", "c"], N, p=[0.5, 0.3, 0.2])})
CUR = pd.DataFrame({"age": RNG.normal(44, 10, N), "income": RNG.lognormal(10, 1, N), "city": RNG.choice(["a", "b", "c"], N, p=[0.4, 0.3, 0.3])})


def close(a, b, rel=1e-9):
    assert a is not None and b is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-12), (a, b)


def check_lazy():
    from drift_monitoring.integrations import to_verdict

    to_verdict({"data": {"is_drift": 0, "p_val": np.array([0.5]), "threshold": 0.05, "distance": np.array([0.1])}, "meta": {"name": "KSDrift"}})
    heavy = [m for m in ("evidently", "alibi_detect", "nannyml", "frouros", "scipy", "pandas") if m in sys.modules]
    assert heavy == ["pandas"], heavy  # pandas is this script's own


def check_evidently():
    from evidently import Report
    from evidently.metrics import DriftedColumnsCount, ValueDrift
    from evidently.presets import DataDriftPreset

    from drift_monitoring.integrations import to_verdict

    snapshot = Report([DriftedColumnsCount(), ValueDrift(column="age", method="ks"), ValueDrift(column="income", method="wasserstein")], include_tests=True).run(CUR, REF)
    raw = {m["config"].get("column"): m for m in snapshot.dict()["metrics"]}
    verdict = to_verdict(snapshot)
    age, income = verdict.feature("age"), verdict.feature("income")
    close(age["p_value"], raw["age"]["value"])
    assert age["test"] == "ks" and age["detected"] and age["threshold"] == 0.05 and age["statistic"] is None
    close(income["statistic"], raw["income"]["value"])
    assert income["p_value"] is None and not income["detected"] and income["test"] == "wasserstein", income
    counted = raw[None]["value"]  # DriftedColumnsCount, over every column with Evidently's default tests
    assert verdict.parameters["drifted_features"] == counted["count"] and verdict.parameters["share_drifted"] == counted["share"]
    assert verdict.detected == (counted["share"] >= 0.5) and verdict.parameters["drift_share"] == 0.5
    preset = to_verdict(Report([DataDriftPreset()]).run(CUR, REF))
    assert {row["feature"] for row in preset.features} == {"age", "income", "city"}, preset.features
    assert preset.feature("age")["detected"] and not preset.feature("income")["detected"]

    from evidently.legacy.metrics import ColumnDriftMetric, DataDriftTable
    from evidently.legacy.report import Report as LegacyReport

    legacy = LegacyReport(metrics=[DataDriftTable()])
    legacy.run(reference_data=REF, current_data=CUR)
    table = legacy.as_dict()["metrics"][0]["result"]
    verdict = to_verdict(legacy)
    assert verdict.detected == table["dataset_drift"] and verdict.parameters["share_drifted"] == table["share_of_drifted_columns"]
    for name, column in table["drift_by_columns"].items():
        row = verdict.feature(name)
        assert (row["test"], row["threshold"], row["detected"]) == (column["stattest_name"], column["stattest_threshold"], column["drift_detected"])
        close(row["p_value"] if "p_value" in column["stattest_name"] else row["statistic"], column["drift_score"])
    column = LegacyReport(metrics=[ColumnDriftMetric(column_name="income", stattest="psi")])
    column.run(reference_data=REF, current_data=CUR)
    result = column.as_dict()["metrics"][0]["result"]
    [row] = to_verdict(column).features
    close(row["statistic"], result["drift_score"])
    assert row["feature"] == "income" and row["test"] == "PSI" and row["detected"] == result["drift_detected"]
    # A metric's result object, as legacy code holds it.
    assert to_verdict(legacy._inner_suite.context.metrics[0].get_result()).features == verdict.features
    # Built-in detectors vs Evidently on the same data: the same KS p-value and normed Wasserstein distance.
    from drift_monitoring.detect import detect

    close(detect(REF[["age"]], CUR[["age"]], correction="none").feature("age")["p_value"], raw["age"]["value"], rel=1e-6)
    close(detect(REF[["income"]], CUR[["income"]], numeric="wasserstein").feature("income")["statistic"], raw["income"]["value"], rel=1e-6)


def check_alibi():
    from alibi_detect.cd import ChiSquareDrift, KSDrift, MMDDrift  # noqa: F401

    from drift_monitoring.detect import detect
    from drift_monitoring.integrations import to_verdict

    numeric = ["age", "income"]
    detector = KSDrift(REF[numeric].to_numpy(), p_val=0.05)
    batch = detector.predict(CUR[numeric].to_numpy())
    verdict = to_verdict(batch, feature_names=numeric)
    assert verdict.detected == bool(batch["data"]["is_drift"]) and verdict.parameters["drift_type"] == "batch"
    for i, name in enumerate(numeric):
        row = verdict.feature(name)
        close(row["p_value"], float(batch["data"]["p_val"][i]))
        close(row["statistic"], float(batch["data"]["distance"][i]))
        assert row["threshold"] == batch["data"]["threshold"] and row["detected"] == (batch["data"]["p_val"][i] < batch["data"]["threshold"])
    assert verdict.feature("age")["detected"] and not verdict.feature("income")["detected"]
    feature = to_verdict(detector.predict(CUR[numeric].to_numpy(), drift_type="feature"), feature_names=numeric)
    assert [r["detected"] for r in feature.features] == [True, False] and feature.parameters["drift_type"] == "feature"
    try:
        to_verdict(batch, feature_names=["only-one"])
        raise AssertionError("a wrong number of feature names was accepted")
    except ValueError as error:
        assert "feature_names has 1 names but the alibi-detect result has 2 features" in str(error)
    # Built-in KS vs alibi-detect's: the same D (alibi-detect returns float32: 1e-6 relative); alibi-detect asks
    # scipy for the asymptotic p-value where ours is exact up to 10,000 a side: within 0.01 absolute.
    ours = detect(REF[numeric], CUR[numeric], correction="none")
    for i, name in enumerate(numeric):
        close(ours.feature(name)["statistic"], float(batch["data"]["distance"][i]), rel=1e-6)
        assert abs(ours.feature(name)["p_value"] - float(batch["data"]["p_val"][i])) < 0.01
    # chi-squared on integer-coded categories: alibi-detect's ChiSquareDrift and ours are one test.
    codes = {"a": 0, "b": 1, "c": 2}
    chi = ChiSquareDrift(REF[["city"]].replace(codes).to_numpy(), p_val=0.05).predict(CUR[["city"]].replace(codes).to_numpy())
    close(detect(REF[["city"]], CUR[["city"]]).feature("city")["p_value"], float(chi["data"]["p_val"][0]), rel=1e-5)
    chi_verdict = to_verdict(chi, feature_names=["city"])
    assert chi_verdict.feature("city")["test"] == "chi2" and chi_verdict.detected


def check_nannyml():
    import nannyml

    from drift_monitoring.integrations import to_verdict
    from drift_monitoring.integrations.nannyml import verdicts

    calculator = nannyml.UnivariateDriftCalculator(column_names=["age", "city"], continuous_methods=["kolmogorov_smirnov", "jensen_shannon"],
                                                   categorical_methods=["chi2"], chunk_number=4)
    calculator.fit(REF)
    result = calculator.calculate(CUR)
    frame = result.filter(period="analysis").to_df()
    latest = to_verdict(result)
    assert latest.parameters["chunk"] == str(frame[("chunk", "chunk", "key")].iloc[-1]) and latest.parameters["chunk_index"] == 3
    assert [(r["feature"], r["test"]) for r in latest.features] == [("age", "kolmogorov_smirnov"), ("age", "jensen_shannon"), ("city", "chi2")]
    for row in latest.features:
        close(row["statistic"], float(frame[(row["feature"], row["test"], "value")].iloc[-1]))
        assert row["detected"] == bool(frame[(row["feature"], row["test"], "alert")].iloc[-1])
    assert latest.feature("age")["detected"] and latest.detected
    close(latest.feature("age")["threshold"], float(frame[("age", "kolmogorov_smirnov", "upper_threshold")].iloc[-1]))
    runs = verdicts(result)
    assert len(runs) == 4 and runs[-1][1] == latest and to_verdict(result, chunk=0) == runs[0][1] and to_verdict(result, chunk=runs[1][0]) == runs[1][1]


def check_frouros():
    from frouros.detectors.data_drift import EMD, KSTest

    from drift_monitoring.integrations import to_verdict

    ks, emd = KSTest(), EMD()
    ks.fit(X=REF["age"].to_numpy())
    emd.fit(X=REF["income"].to_numpy())
    ks_result, _ = ks.compare(X=CUR["age"].to_numpy())
    emd_result, _ = emd.compare(X=CUR["income"].to_numpy())
    [row] = to_verdict(ks_result, threshold=0.05, feature="age", test="ks").features
    close(row["statistic"], ks_result.statistic)
    close(row["p_value"], ks_result.p_value)
    assert row["detected"] and row["test"] == "ks"
    verdict = to_verdict({"age": ks.compare(X=CUR["age"].to_numpy()), "income": emd_result}, threshold=0.05)
    assert verdict.feature("age")["test"] == "statistical" and verdict.feature("income")["test"] == "distance"
    close(verdict.feature("income")["statistic"], emd_result.distance)
    assert verdict.feature("income")["detected"] == (emd_result.distance >= 0.05) and verdict.detected
    try:
        to_verdict(ks_result)
        raise AssertionError("a Frouros result without a threshold was accepted")
    except TypeError as error:
        assert "needs threshold=" in str(error)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        globals()[f"check_{name}"]()
        print(f"{name}: ok")
