"""The page's view-logic unit tests (Vitest, web/tests/unit), run as part of `make test`."""

from __future__ import annotations

import subprocess

import pytest

from stack import ROOT

WEB = ROOT / "web"


@pytest.mark.timeout(180)
def test_vitest_unit_tests_pass():
    if not (WEB / "node_modules" / ".bin" / "vitest").exists():
        pytest.fail("web/node_modules is missing; `make web` runs npm ci", pytrace=False)
    run = subprocess.run(["node_modules/.bin/vitest", "run", "--reporter=dot"], cwd=WEB, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout


@pytest.mark.timeout(180)
def test_typescript_compiles():
    run = subprocess.run(["node_modules/.bin/tsc", "--noEmit", "-p", "."], cwd=WEB, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:]
