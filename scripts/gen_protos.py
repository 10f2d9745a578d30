"""Generate everything derived from protos/: Python stubs (with .pyi) in drift_monitoring/v1.

Usage: python scripts/gen_protos.py [--check] [--descriptor-set FILE]

--descriptor-set writes a FileDescriptorSet with imports and source info (for `buf lint`, and for
Envoy's gRPC-JSON transcoder). --check regenerates into a temporary directory and exits 1 listing the files that differ, so a test
(and CI) fails when someone edits a .proto without regenerating. Versions of grpcio-tools and
mypy-protobuf are pinned in requirements-dev.txt, which makes the output reproducible.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("drift_monitoring") / "v1"
INIT_TEXT = '"""Generated from protos/drift_monitoring/v1 by scripts/gen_protos.py. Do not edit."""\n'


def _include_dirs() -> list[str]:
    # Well-known types ship with grpcio-tools; google/api/*.proto with googleapis-common-protos.
    grpc_tools_protos = importlib.resources.files("grpc_tools") / "_proto"
    import google.api  # noqa: PLC0415 - located at run time, only for its path

    googleapis = Path(google.api.__path__[0]).parent.parent
    return [str(PROTO_ROOT), str(grpc_tools_protos), str(googleapis)]


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / PACKAGE_DIR).glob("*.proto"))


def protoc(args: list[str]) -> None:
    from grpc_tools import protoc as grpc_protoc  # noqa: PLC0415

    includes = [f"-I{d}" for d in _include_dirs()]
    code = grpc_protoc.main(["grpc_tools.protoc", *includes, *args])
    if code != 0:
        sys.exit(f"protoc failed with exit code {code}")


def generate(out: Path) -> None:
    """Write the Python package for drift_monitoring.v1 under out/."""
    plugin = Path(sys.executable).parent / "protoc-gen-mypy_grpc"
    (out / PACKAGE_DIR).mkdir(parents=True, exist_ok=True)
    protoc(
        [
            f"--plugin=protoc-gen-mypy_grpc={plugin}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_grpc_out={out}",
            *proto_files(),
        ]
    )
    (out / PACKAGE_DIR / "__init__.py").write_text(INIT_TEXT)


def descriptor_set(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # google.rpc status and details too: Envoy needs them to turn error details into JSON bodies.
    extra = ["google/rpc/status.proto", "google/rpc/error_details.proto"]
    protoc([f"--descriptor_set_out={path}", "--include_imports", "--include_source_info", *proto_files(), *extra])


def generated_files(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in (base / PACKAGE_DIR).iterdir() if p.is_file()}


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        want, have = generated_files(fresh), generated_files(ROOT)
        stale = sorted(
            name
            for name in want | have
            if name not in want or name not in have or not filecmp.cmp(fresh / name, ROOT / name, shallow=False)
        )
    if stale:
        print("Generated code is stale; run `make proto`. Differs:", *stale, sep="\n  ")
        return 1
    print("Generated code is up to date.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if committed code differs from a fresh run")
    parser.add_argument("--descriptor-set", type=Path, help="also write a FileDescriptorSet to this file")
    args = parser.parse_args()
    if args.descriptor_set:
        descriptor_set(args.descriptor_set)
    if args.check:
        return check()
    target = ROOT / PACKAGE_DIR
    for stale in target.glob("*_pb2*.py*"):
        stale.unlink()
    generate(ROOT)
    print(f"Generated {len(generated_files(ROOT))} files in {PACKAGE_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
