"""The built-in detectors against SciPy called directly, on numpy, mapping, pandas and polars inputs.

Tolerances: statistics that are the same computation as SciPy's match to 1e-9 relative; the KS p-value for
more than 10,000 values a side uses the Kolmogorov distribution with Stephens' correction instead of
scipy.stats.kstwo, and matches ks_2samp's to 2% relative (documented in drift_monitoring.detect.stats).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import spatial, stats

from drift_monitoring.detect import DEFAULT_THRESHOLDS, concept_drift, detect
from drift_monitoring.detect import stats as dstats
from drift_monitoring.detect.correction import cutoff

RNG = np.random.default_rng(7)


def frames(rows: int = 2000):
    reference = pd.DataFrame({
        "age": RNG.normal(40, 10, rows),
        "income": RNG.lognormal(10, 1, rows),
        "city": RNG.choice(["paris", "lyon", "nice"], rows, p=[0.5, 0.3, 0.2]),
        "clicks": RNG.poisson(3, rows).astype(float),
    })
    current = pd.DataFrame({
        "age": RNG.normal(45, 10, rows),  # shifted
        "income": RNG.lognormal(10, 1, rows),
        "city": RNG.choice(["paris", "lyon", "nice", "lille"], rows, p=[0.3, 0.3, 0.2, 0.2]),  # shifted, new value
        "clicks": RNG.poisson(3, rows).astype(float),
    })
    return reference, current


@pytest.mark.parametrize("size", [500, 30_000])
def test_ks_matches_scipy(size):
    a, b = RNG.normal(size=size), RNG.normal(0.03, 1, size=size + 17)
    statistic, p_value = dstats.ks(a, b)
    expected = stats.ks_2samp(a, b)
    assert statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert p_value == pytest.approx(expected.pvalue, rel=0.02 if size > dstats.EXACT_KS else 1e-9)


def test_ks_with_ties_matches_scipy():
    a, b = np.round(RNG.normal(size=20_000), 1), np.round(RNG.normal(0.02, 1, size=25_000), 1)
    assert dstats.ks(a, b)[0] == pytest.approx(stats.ks_2samp(a, b).statistic, rel=1e-9)


def test_wasserstein_is_scipys_distance_over_the_reference_std():
    a, b = RNG.normal(size=5000), np.round(RNG.normal(0.5, 2, size=4000), 2)
    assert dstats.wasserstein(a, b)[0] == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9)


def test_chi2_matches_scipy_contingency_with_unseen_categories():
    a = RNG.choice(["x", "y", "z"], 3000)
    b = RNG.choice(["x", "y", "z", "w"], 2000)
    table = np.array([[np.sum(a == c) for c in "wxyz"], [np.sum(b == c) for c in "wxyz"]])
    expected = stats.chi2_contingency(table, correction=False)
    assert dstats.chi2(a, b) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-9)


def test_psi_and_jensenshannon_on_reference_deciles():
    a, b = RNG.normal(size=10_000), RNG.normal(0.2, 1, size=8000)
    edges = np.quantile(a, np.linspace(0, 1, 11))
    ref = np.histogram(a, np.r_[-np.inf, edges[1:-1], np.inf])[0] / len(a)
    cur = np.histogram(b, np.r_[-np.inf, edges[1:-1], np.inf])[0] / len(b)
    assert dstats.psi(a, b)[0] == pytest.approx(np.sum((cur - ref) * np.log(cur / ref)), rel=1e-9)
    assert dstats.jensenshannon(a, b)[0] == pytest.approx(spatial.distance.jensenshannon(ref, cur, base=2), rel=1e-9)


def test_psi_keeps_empty_bins_finite():
    a = np.array(["x"] * 100 + ["y"] * 100)
    b = np.array(["x"] * 200)
    r, c = np.array([0.5, 0.5]), np.array([1.0, 1e-4])
    assert dstats.psi(a, b)[0] == pytest.approx(np.sum((c - r) * np.log(c / r)))


def test_bonferroni_and_benjamini_hochberg_cutoffs():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205])
    alpha = np.full(8, 0.05)
    assert cutoff(p, alpha, "bonferroni") == pytest.approx(alpha / 8)
    # BH: p_(5) = 0.042 > 5·0.05/8 = 0.03125 … the largest passing rank is 2 (0.008 <= 0.0125).
    assert cutoff(p, alpha, "bh") == pytest.approx(alpha * 2 / 8)
    assert np.sum(p <= cutoff(p, alpha, "bh")) == 2
    assert cutoff(p, alpha, "none") == pytest.approx(alpha)


def test_a_pandas_frame_gives_one_result_per_feature_and_the_parameters():
    reference, current = frames()
    report = detect(reference, current)
    by_name = {row["feature"]: row for row in report.features}
    assert list(by_name) == ["age", "income", "city", "clicks"]
    assert by_name["age"]["test"] == "ks" and by_name["city"]["test"] == "chi2"
    assert by_name["age"]["detected"] and by_name["city"]["detected"] and report.detected
    assert by_name["age"]["statistic"] == pytest.approx(stats.ks_2samp(reference.age, current.age).statistic)
    assert all(row["threshold"] == pytest.approx(0.05 / 4) for row in report.features)  # Bonferroni over 4
    assert report.parameters["correction"] == "bonferroni" and report.parameters["reference_size"] == 2000
    assert report.parameters["current_size"] == 2000 and report.parameters["features"] == 4
    assert report.parameters["share_drifted"] == pytest.approx(report.parameters["drifted_features"] / 4)
    assert report.parameters["tests"] == ["chi2", "ks"] and report.parameters["thresholds"] == {"chi2": 0.05, "ks": 0.05}


def test_the_same_result_from_numpy_a_mapping_and_polars():
    reference, current = frames()
    numeric = ["age", "income", "clicks"]
    expected = detect(reference[numeric], current[numeric]).features
    assert detect(reference[numeric].to_numpy(), current[numeric].to_numpy(), columns=numeric).features == expected
    assert detect({c: reference[c].to_numpy() for c in numeric}, {c: current[c].to_numpy() for c in numeric}).features == expected
    polars_ref = pl.DataFrame({c: reference[c].to_numpy() for c in reference.columns})
    polars_cur = pl.DataFrame({c: current[c].to_numpy() for c in current.columns})
    assert detect(polars_ref, polars_cur).features == detect(reference, current).features


def test_type_override_and_tests_per_type_and_feature():
    reference, current = frames()
    report = detect(reference, current, types={"clicks": "categorical"}, numeric="wasserstein", categorical="psi", tests={"income": "ks"})
    tests = {row["feature"]: row["test"] for row in report.features}
    assert tests == {"age": "wasserstein", "income": "ks", "city": "psi", "clicks": "psi"}
    clicks = report.feature("clicks")
    assert clicks["p_value"] is None and clicks["threshold"] == DEFAULT_THRESHOLDS["psi"]
    assert report.feature("income")["threshold"] == pytest.approx(0.05)  # the only p-value test: nothing to correct
    with pytest.raises(ValueError, match="'ks' does not apply to the categorical column 'city'"):
        detect(reference, current, tests={"city": "ks"})


def test_missing_values_are_dropped_and_counted():
    reference, current = frames(1000)
    reference.loc[:99, "age"] = np.nan
    current.loc[:49, "city"] = None
    current["empty"] = np.nan
    reference["empty"] = 1.0
    report = detect(reference, current)
    assert report.parameters["missing"] == {"age": {"reference": 100, "current": 0}, "city": {"reference": 0, "current": 50}, "empty": {"reference": 0, "current": 1000}}
    assert report.parameters["missing_reference"] == 100 and report.parameters["missing_current"] == 1050
    assert report.parameters["skipped"] == ["empty"] and [r["feature"] for r in report.features] == ["age", "income", "city", "clicks"]
    assert report.feature("age")["statistic"] == pytest.approx(stats.ks_2samp(reference.age.dropna(), current.age).statistic)
    polars_missing = detect(pl.DataFrame({"a": [1.0, None, float("nan"), 2.0] * 50}), pl.DataFrame({"a": [1.0, 2.0, None, 3.0] * 50}))
    assert polars_missing.parameters["missing"] == {"a": {"reference": 100, "current": 50}}


def test_benjamini_hochberg_flags_at_least_what_bonferroni_does():
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(3000, 30))
    current = rng.normal(size=(3000, 30)) + np.linspace(0, 0.08, 30)
    strict, lenient = detect(reference, current), detect(reference, current, correction="bh")
    assert {r["feature"] for r in strict.features if r["detected"]} <= {r["feature"] for r in lenient.features if r["detected"]}
    assert lenient.parameters["drifted_features"] > strict.parameters["drifted_features"]
    for row in lenient.features:
        assert row["detected"] == (row["p_value"] <= row["threshold"])


def test_no_drift_on_the_same_distribution_and_drift_share():
    rng = np.random.default_rng(11)
    report = detect(rng.normal(size=(5000, 10)), rng.normal(size=(5000, 10)))
    assert not report.detected and report.parameters["drifted_features"] == 0
    shifted = rng.normal(size=(5000, 10))
    shifted[:, :3] += 1
    assert detect(rng.normal(size=(5000, 10)), shifted).detected
    assert not detect(rng.normal(size=(5000, 10)), shifted, drift_share=0.5).detected


def test_concept_drift_on_errors():
    rng = np.random.default_rng(5)
    report = concept_drift(np.abs(rng.normal(0, 1, 800)), np.abs(rng.normal(0, 1.6, 800)))
    [row] = report.features
    assert row["feature"] == "error" and row["test"] == "ks" and report.detected
    assert report.parameters["detector"] == "drift_monitoring.detect.concept_drift" and report.parameters["correction"] == "none"
    assert not concept_drift(rng.normal(size=500), rng.normal(size=500), test="psi", threshold=0.5).detected


def test_bad_input_is_named():
    reference, current = frames(100)
    with pytest.raises(TypeError, match="2-D numpy array, a mapping .* pandas or polars DataFrame; not builtins.list"):
        detect([[1, 2]], [[1, 2]])
    with pytest.raises(KeyError, match="missing from the current data: \\['age'\\]"):
        detect(reference, current.drop(columns="age"))
    with pytest.raises(ValueError, match="correction must be one of bonferroni, bh, none"):
        detect(reference, current, correction="holm")
    with pytest.raises(ValueError, match="thresholds for unknown tests \\['kl'\\]"):
        detect(reference, current, thresholds={"kl": 0.1})


def test_importing_the_client_or_detect_does_not_import_scipy_or_frames():
    code = (
        "import sys, drift_monitoring, drift_monitoring.integrations, drift_monitoring.detect;"
        "heavy = [m for m in ('scipy', 'pandas', 'polars', 'evidently', 'alibi_detect', 'nannyml', 'frouros') if m in sys.modules];"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
