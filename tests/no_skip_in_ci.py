"""Under CI (the CI environment variable set, as .ci/run and GitHub Actions do), a skipped test fails.

CI installs every tool the tests use (.ci/tools), so a skip there can only mean a tool or a setting went
missing, and a skip would hide it: every skip (skip/skipif marks, pytest.skip and importorskip in a test or
a fixture) is turned into a failure that keeps the skip's reason. Expected failures (xfail) stay as they
are. Loaded by tests/conftest.py for every suite.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ARG001
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where nothing may be: {reason}\n(CI installs every tool the tests need: .ci/tools)"
