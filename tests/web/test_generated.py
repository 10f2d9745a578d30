"""The generated TypeScript is what the generator makes from protos/ now, and there is one copy of it:
clients/ts/src/gen (`cd clients/ts && npm run gen`), which the Node client uses and the web view imports
as @gen/... (web/vite.config.ts, web/tsconfig.json)."""

from __future__ import annotations

import filecmp
import re
import subprocess
from pathlib import Path

import pytest

from stack import ROOT

PACKAGE = ROOT / "clients" / "ts"
GEN_SCRIPT = PACKAGE / "scripts" / "gen.mjs"


def files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*") if p.is_file()}


@pytest.mark.timeout(120)
def test_generated_typescript_is_fresh(tmp_path):
    assert (PACKAGE / "node_modules" / ".bin" / "buf").exists(), "clients/ts has no node_modules: run `make test` (npm ci)"
    fresh, gen = tmp_path / "gen", PACKAGE / "src" / "gen"
    subprocess.run(["node", str(GEN_SCRIPT), "--out", str(fresh)], check=True, capture_output=True)
    want, have = files(fresh), files(gen)
    stale = sorted(name for name in want | have if name not in want or name not in have or not filecmp.cmp(fresh / name, gen / name, shallow=False))
    assert not stale, f"clients/ts/src/gen is stale; run `make proto`. Differs: {stale}"
    assert "drift_monitoring/v1/drift_pb.ts" in want


def test_the_web_view_has_no_copy_of_its_own():
    """A merge that brings back web/src/gen (or an import of it) would make two copies drift apart."""
    assert not (ROOT / "web" / "src" / "gen").exists(), "web/src/gen is back: delete it; the page imports @gen/... from clients/ts/src/gen"
    relative_import = re.compile(r"""from ["']\.{1,2}/[^"']*\bgen/""")
    relative = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "web").glob("*/**/*.ts*")
        if "node_modules" not in path.parts and relative_import.search(path.read_text())
    )
    assert not relative, f"import generated code as @gen/..., not by a relative path: {relative}"
