"""A detector's report recorded in one line, end to end through Envoy to the database and back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drift_monitoring import DriftMonitor, flush
from drift_monitoring.detect import concept_drift, detect
from drift_monitoring.integrations import Verdict


def test_monitor_data_records_the_report(client, experiment, settings):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"age": rng.normal(40, 10, 3000), "plan": rng.choice(["a", "b"], 3000)})
    current = pd.DataFrame({"age": rng.normal(44, 10, 3000), "plan": rng.choice(["a", "b"], 3000)})
    current.loc[:9, "age"] = np.nan
    report = detect(reference, current)
    errors = concept_drift(rng.exponential(1, 1000), rng.exponential(1.5, 1000))
    with DriftMonitor(experiment.name, "model_1", **settings) as monitor:
        monitor.data(report, {"window": "2026-12-01"})
        errors.record(monitor, "concept")
    assert flush()
    [drift] = client.list_drifts(experiment.id)
    data = drift.data_drift
    assert data.detected and data.parameters["window"] == "2026-12-01" and data.parameters["correction"] == "bonferroni"
    assert data.parameters["reference_size"] == 3000 and data.parameters["current_size"] == 3000
    assert data.parameters["missing"]["age"]["current"] == 10 and data.parameters["share_drifted"] == pytest.approx(0.5)
    age, plan = data.features
    assert (age.feature, age.test, age.detected) == ("age", "ks", True)
    assert age.statistic == pytest.approx(report.feature("age")["statistic"]) and age.threshold == pytest.approx(0.025)
    assert plan.test == "chi2" and plan.HasField("p_value") and not plan.detected
    assert drift.concept_drift.detected and drift.concept_drift.features[0].feature == "error"


def test_report_record_and_distances_without_p_values(client, experiment, settings):
    rng = np.random.default_rng(2)
    report = detect(rng.normal(size=(500, 2)), rng.normal(size=(500, 2)), columns=["a", "b"], numeric="psi")
    with DriftMonitor(experiment.name, "model_1", **settings) as monitor:
        report.record(monitor)
    assert flush()
    [drift] = client.list_drifts(experiment.id)
    assert [f.feature for f in drift.data_drift.features] == ["a", "b"]
    assert not drift.data_drift.features[0].HasField("p_value") and drift.data_drift.parameters["bins"] == 10


def test_something_else_is_a_type_error_naming_what_is_accepted(experiment, settings):
    with DriftMonitor(experiment.name, "model_1", **settings) as monitor:
        with pytest.raises(TypeError, match="cannot record a builtins.str: monitor.data and monitor.concept take a bool .* drift_monitoring.detect report"):
            monitor.data("yes")
        with pytest.raises(TypeError, match="unexpected keyword arguments \\['chunk'\\]"):
            monitor.data(True, chunk=1)
        with pytest.raises(ValueError, match="kind must be 'data' or 'concept'"):
            Verdict(True).record(monitor, "result")
        monitor.data(np.bool_(True), {"p": 0.01})  # numpy verdicts still work as before
