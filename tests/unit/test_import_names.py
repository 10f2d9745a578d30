"""The import line the original README printed, `from drift_monitoring import DriftMonitoring`, says what
to write instead; other missing names stay ordinary AttributeErrors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import drift_monitoring
from stack import ROOT

SEED_SNIPPET = """
from drift_monitoring import DriftMonitoring

with DriftMonitor(experiment_name, "model_1") as monitor:
    pass
"""


def test_the_seed_readme_import_names_the_class_to_use():
    run = subprocess.run([sys.executable, "-c", SEED_SNIPPET], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: drift_monitoring has no DriftMonitoring: the class is DriftMonitor")
    assert "`from drift_monitoring import DriftMonitor`" in last


def test_the_suggested_import_works():
    from drift_monitoring import DriftMonitor

    assert DriftMonitor is drift_monitoring.monitor.DriftMonitor


def test_other_missing_names_are_plain_attribute_errors():
    assert not hasattr(drift_monitoring, "NoSuchThing")
    with pytest.raises(ImportError, match="cannot import name 'NoSuchThing'"):
        from drift_monitoring import NoSuchThing  # noqa: F401
