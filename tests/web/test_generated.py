"""The generated TypeScript is what the generator makes from protos/ now: for web/src/gen (`cd web && npm run gen`)
and clients/ts/src/gen (`cd clients/ts && npm run gen`, the same script with the package's own template), a
fresh generation differs in no file."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

import pytest

from stack import ROOT

GEN_SCRIPT = ROOT / "web" / "scripts" / "gen.mjs"
PACKAGES = {"web": ROOT / "web", "clients/ts": ROOT / "clients" / "ts"}


def files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("package", PACKAGES)
def test_generated_typescript_is_fresh(tmp_path, package):
    directory = PACKAGES[package]
    assert (directory / "node_modules" / ".bin" / "buf").exists(), f"{package} has no node_modules: run `make test` (npm ci)"
    fresh, gen = tmp_path / "gen", directory / "src" / "gen"
    subprocess.run(["node", str(GEN_SCRIPT), "--package", str(directory), "--out", str(fresh)], check=True, capture_output=True)
    want, have = files(fresh), files(gen)
    stale = sorted(name for name in want | have if name not in want or name not in have or not filecmp.cmp(fresh / name, gen / name, shallow=False))
    assert not stale, f"{package}/src/gen is stale; run `cd {package} && npm run gen`. Differs: {stale}"
    assert "drift_monitoring/v1/drift_pb.ts" in want
