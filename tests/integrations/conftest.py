"""The adapters run against the real drift libraries, in .run/drift-libs-venv (see docs/detect.md for why
not in .venv); the stack fixtures are the client tests'."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stack import ROOT
from tests.client.conftest import client, experiment, settings  # noqa: F401

LIBS_VENV = ROOT / ".run" / "drift-libs-venv"


@pytest.fixture(scope="session")
def libs_python() -> Path:
    """The drift libraries' Python; made (or remade after requirements-drift-libs.txt changed) when stale.
    `make test` makes it first (`make drift-libs`), so this is normally a hash check."""
    subprocess.run([str(ROOT / "scripts" / "drift_libs_venv.sh")], check=True, timeout=1500)
    return LIBS_VENV / "bin" / "python"
