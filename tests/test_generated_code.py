"""The committed generated code (Python, Go, OpenAPI) is exactly what `make proto` produces, and the check
notices any difference."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = Path("drift_monitoring") / "v1"
GO = Path("clients") / "go" / "driftmonitoringv1"
OPENAPI = Path("openapi")


@pytest.mark.timeout(600)  # on a new machine this first builds the Go protoc plugins (go install)
def test_generated_code_is_up_to_date():
    result = subprocess.run([sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, Path]:
    """scripts/gen_protos.py loaded as a module and pointed at a copy of protos/ and every generated directory."""
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    for directory in (GENERATED, GO, OPENAPI):
        shutil.copytree(ROOT / directory, tmp_path / directory, ignore=shutil.ignore_patterns("__pycache__"))
    spec = importlib.util.spec_from_file_location("gen_protos_under_test", ROOT / "scripts" / "gen_protos.py")
    assert spec and spec.loader
    gen_protos = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_protos)
    monkeypatch.setattr(gen_protos, "ROOT", tmp_path)
    monkeypatch.setattr(gen_protos, "PROTO_ROOT", tmp_path / "protos")
    return gen_protos, tmp_path / GENERATED


def test_check_passes_on_an_exact_copy(copy):
    """The control: the copy itself is fine, so a failure below comes from the edit alone."""
    gen_protos, _ = copy
    assert gen_protos.check() == 0


def test_check_fails_on_an_edited_file(copy, capsys):
    gen_protos, generated = copy
    with (generated / "drift_pb2.py").open("a") as stub:
        stub.write("# edited by hand\n")
    assert gen_protos.check() == 1
    assert "drift_monitoring/v1/drift_pb2.py" in capsys.readouterr().out


def test_check_fails_on_a_missing_file(copy, capsys):
    gen_protos, generated = copy
    (generated / "user_pb2.pyi").unlink()
    assert gen_protos.check() == 1
    assert "drift_monitoring/v1/user_pb2.pyi" in capsys.readouterr().out


def test_check_fails_when_a_proto_changed(copy, capsys):
    gen_protos, _ = copy
    proto = gen_protos.PROTO_ROOT / "drift_monitoring" / "v1" / "user.proto"
    edited = proto.read_text().replace("message GetCurrentUserRequest {}", "message GetCurrentUserRequest {\n  bool verbose = 1;\n}")
    assert "verbose" in edited
    proto.write_text(edited)
    assert gen_protos.check() == 1
    out = capsys.readouterr().out
    assert "drift_monitoring/v1/user_pb2.py" in out
    assert "clients/go/driftmonitoringv1/user.pb.go" in out
    assert "openapi/drift_monitoring.swagger.json" in out


def test_check_fails_on_an_edited_go_file(copy, capsys):
    gen_protos, generated = copy
    go_file = generated.parent.parent / GO / "drift_grpc.pb.go"
    go_file.write_text(go_file.read_text().replace("CreateDrift", "CreateDrifts", 1))
    assert gen_protos.check() == 1
    assert "clients/go/driftmonitoringv1/drift_grpc.pb.go" in capsys.readouterr().out


def test_check_fails_on_a_stale_openapi_document(copy, capsys):
    gen_protos, generated = copy
    (generated.parent.parent / OPENAPI / "drift_monitoring.swagger.json").unlink()
    assert gen_protos.check() == 1
    assert "openapi/drift_monitoring.swagger.json" in capsys.readouterr().out


def test_hand_written_go_files_are_not_generated_files(copy, capsys):
    """The check covers only what the generator writes; a doc.go beside the stubs is ours to keep."""
    gen_protos, generated = copy
    (generated.parent.parent / GO / "doc.go").write_text("package driftmonitoringv1\n")
    assert gen_protos.check() == 0
