"""The committed stubs are exactly what `make proto` produces, and the check notices a difference."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_is_up_to_date():
    result = subprocess.run([sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_fails_on_stale_code(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copytree(ROOT / "drift_monitoring" / "v1", tmp_path / "drift_monitoring" / "v1")
    with (tmp_path / "drift_monitoring" / "v1" / "drift_pb2.py").open("a") as generated:
        generated.write("# edited by hand\n")
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    gen_protos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_protos)
    monkeypatch.setattr(gen_protos, "ROOT", tmp_path)
    monkeypatch.setattr(gen_protos, "PROTO_ROOT", tmp_path / "protos")
    assert gen_protos.check() == 1
