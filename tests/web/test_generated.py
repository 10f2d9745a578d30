"""web/src/gen is what `npm run gen` makes from protos/ now: a fresh generation differs in no file."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT

GEN = ROOT / "web" / "src" / "gen"


def files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}


@pytest.mark.timeout(120)
def test_generated_typescript_is_fresh(tmp_path):
    fresh = tmp_path / "gen"
    subprocess.run(["node", "scripts/gen.mjs", "--out", str(fresh)], cwd=ROOT / "web", check=True, capture_output=True)
    want, have = files(fresh), files(GEN)
    stale = sorted(name for name in want | have if name not in want or name not in have or not filecmp.cmp(fresh / name, GEN / name, shallow=False))
    assert not stale, f"web/src/gen is stale; run `cd web && npm run gen`. Differs: {stale}"
    assert "drift_monitoring/v1/drift_pb.ts" in want
