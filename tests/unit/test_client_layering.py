"""The Python client leans one way (docs/layout.md): each module imports only modules of lower layers, at
the top of the file or (for import cost) deferred, so no deferred import stands in for a cycle; and no module
reads another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

from stack import ROOT

PACKAGE = ROOT / "drift_monitoring"
# Lowest first. A sub-package counts as one module; its own modules may import each other.
LAYERS: list[set[str]] = [
    {"errors", "v1"},
    {"files", "settings"},
    {"auth"},
    {"client"},
    {"helpers", "migrate", "export", "spool", "heartbeat", "integrations"},
    {"sender"},
    {"offline"},
    {"detect", "monitor"},
    {"cli"},
    {"__init__", "__main__"},
]
LAYER = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def unit(module: str) -> str:
    """drift_monitoring.detect.stats -> detect; drift_monitoring -> __init__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "v1":
            continue  # generated stubs
        found[".".join(("drift_monitoring", *relative.with_suffix("").parts)).removesuffix(".__init__")] = path
    return found


def imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every drift_monitoring import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("drift_monitoring"):
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names if alias.name.startswith("drift_monitoring")]
    return found


def violations() -> list[str]:
    wrong = []
    for name, path in sorted(modules().items()):
        here = unit(name)
        assert here in LAYER, f"{name} is in no layer: add it to LAYERS (and to docs/layout.md)"
        for target, names, line in imports(path):
            there = unit(target) if target != "drift_monitoring" else "__init__"
            where = f"{path.relative_to(ROOT)}:{line}"
            if there != here and LAYER[there] >= LAYER[here]:
                wrong.append(f"{where}: {here} (layer {LAYER[here]}) imports {target} (layer {LAYER[there]}): upward or sideways")
            wrong += [f"{where}: takes private {target}.{n}" for n in names if n.startswith("_") and n != "__version__"]
    return wrong


def test_every_import_goes_down_a_layer():
    assert not violations(), "\n".join(violations())


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: an import of the monitor from the client is reported."""
    fake = tmp_path / "drift_monitoring"
    (fake / "v1").mkdir(parents=True)
    (fake / "client.py").write_text("from drift_monitoring.monitor import sync\n\ndef f():\n    from drift_monitoring.sender import _LIVE\n")
    (fake / "monitor.py").write_text("from drift_monitoring.client import Client\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PACKAGE"]), "PACKAGE", fake)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    found = violations()
    assert any("client (layer 3) imports drift_monitoring.monitor" in v for v in found), found
    assert any("takes private drift_monitoring.sender._LIVE" in v for v in found), found
    assert not any("monitor.py" in v for v in found), found
