"""Under CI every way a test can skip is a failure (tests/no_skip_in_ci.py); elsewhere a skip stays a skip."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stack import ROOT

SKIPPING = textwrap.dedent("""
    import shutil
    import pytest

    @pytest.fixture
    def tool():
        pytest.skip("no frobnicator in a fixture")

    @pytest.mark.skipif(shutil.which("frobnicate") is None, reason="frobnicate is not installed")
    def test_marked(): pass

    def test_in_body(): pytest.skip("no frobnicator in the body")

    def test_in_fixture(tool): pass

    def test_import(): pytest.importorskip("frobnicator_that_is_not_there")

    @pytest.mark.xfail(reason="a known bug", strict=True)
    def test_expected_failure(): assert False

    def test_plain(): pass
""")


def run(args: list[str], ci: str | None, cwd: Path, path: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"} | extra
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def skipping(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    # Only the plugin under test: the installed ones would take seconds to load for nothing.
    return run(["-p", "tests.no_skip_in_ci", "test_skipping.py"], ci, tmp_path, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")


@pytest.mark.parametrize("ci", ["1", "true"])  # .ci/run's and GitHub Actions' value
def test_every_kind_of_skip_fails_under_ci_with_its_reason(tmp_path, ci):
    result = skipping(tmp_path, ci)
    assert result.returncode == 1, result.stdout
    summary = result.stdout.splitlines()[-1]
    assert "2 failed" in summary and "2 errors" in summary and "1 passed" in summary and "1 xfailed" in summary, summary
    for reason in ("frobnicate is not installed", "no frobnicator in the body", "no frobnicator in a fixture", "could not import 'frobnicator_that_is_not_there'"):
        assert f"skipped under CI, where nothing may be: {reason}" in result.stdout


@pytest.mark.parametrize("ci", [None, "0", "false"])
def test_outside_ci_a_skip_is_a_skip(tmp_path, ci):
    result = skipping(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert "4 skipped" in result.stdout.splitlines()[-1]


def test_the_tmux_smoke_test_fails_under_ci_without_tmux(tmp_path):
    """The skip that started this: with no tmux on PATH the suite's own conftest makes it a failure."""
    result = run([str(ROOT / "tests" / "tui" / "test_tmux.py")], "1", ROOT, path=str(tmp_path))
    assert result.returncode == 1, result.stdout[-2000:]
    assert "skipped under CI, where nothing may be: tmux is not installed" in result.stdout
    assert " passed" not in result.stdout.splitlines()[-1] and "skipped" not in result.stdout.splitlines()[-1]
