"""Coverage-guided fuzzing in CI: each atheris target runs a bounded number of inputs from its seeds.

FUZZ_RUNS raises the bound for a longer local session. A crash leaves its input in the test's tmp_path
(libFuzzer's artifact) and the output names it.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).parent / "fuzz"
RUNS = int(os.environ.get("FUZZ_RUNS", "2000"))


def _seeds(target: Path) -> list[str]:
    """The target's SEEDS (importing it runs no fuzzer: that waits for __main__)."""
    return importlib.import_module(f"tests.security.fuzz.{target.stem}").SEEDS


@pytest.mark.parametrize("target", sorted(p.name for p in FUZZ.glob("fuzz_*.py")))
def test_fuzz_target(tmp_path, target):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index, seed in enumerate(_seeds(FUZZ / target)):
        (corpus / f"seed-{index}").write_text(seed)
    result = subprocess.run(
        [sys.executable, str(FUZZ / target), str(corpus), f"-runs={RUNS}", "-seed=1", "-max_len=4096", "-timeout=20",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    assert f"Done {RUNS} runs" in tail or "DONE" in tail, tail
