"""Generate everything derived from protos/, with one command:

  drift_monitoring/v1/              Python stubs with .pyi (grpcio-tools, mypy-protobuf)
  clients/go/driftmonitoringv1/     Go messages and gRPC stubs (protoc-gen-go, protoc-gen-go-grpc)
  openapi/                          the REST/JSON API as OpenAPI 2 (protoc-gen-openapiv2 of grpc-gateway)

Usage: python scripts/gen_protos.py [--check] [--descriptor-set FILE] [--install-plugins]

The protoc is grpcio-tools' for every target. The Go plugins are `go install`ed at the versions pinned in
GO_PLUGINS into a cache outside the work tree (so fresh clones on the same machine skip the build); Go
itself must be on PATH.

--descriptor-set writes a FileDescriptorSet with imports and source info (for `buf lint`, and for
Envoy's gRPC-JSON transcoder). --check regenerates into a temporary directory and exits 1 listing the
files that differ, so a test (and CI) fails when someone edits a .proto without regenerating. Versions
of grpcio-tools and mypy-protobuf are pinned in requirements-dev.txt and the Go plugins here, which
makes the output reproducible.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE_DIR = Path("drift_monitoring") / "v1"
INIT_TEXT = '"""Generated from protos/drift_monitoring/v1 by scripts/gen_protos.py. Do not edit."""\n'
GO_MODULE = "example.org/drift-monitoring/go"  # clients/go/go.mod
GO_PACKAGE = "driftmonitoringv1"
GO_DIR = Path("clients") / "go" / GO_PACKAGE
OPENAPI_DIR = Path("openapi")
# What each target directory holds that this script writes; anything else there is hand-written and left alone.
GENERATED = {PACKAGE_DIR: "*", GO_DIR: "*.pb.go", OPENAPI_DIR: "*.swagger.json"}
GO_PLUGINS = {
    "protoc-gen-go": "google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12",
    "protoc-gen-go-grpc": "google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2",
    "protoc-gen-openapiv2": "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@v2.33.0",
}
PLUGIN_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "drift-monitoring" / "protoc-plugins"


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


def go_plugin(name: str) -> Path:
    """The plugin binary at its pinned version, built with `go install` on first use."""
    package = GO_PLUGINS[name]
    binary = PLUGIN_CACHE / package.rsplit("@", 1)[1] / name
    if binary.exists():
        return binary
    if not shutil.which("go"):
        sys.exit(f"gen_protos: Go is needed to build {name} ({package}); install Go and run again")
    binary.parent.mkdir(parents=True, exist_ok=True)
    # Install into a private directory, then rename: a concurrent run never sees half a binary.
    with tempfile.TemporaryDirectory(dir=binary.parent) as gobin:
        subprocess.run(["go", "install", package], check=True, env={**os.environ, "GOBIN": gobin, "GOFLAGS": "-mod=mod"})
        os.replace(Path(gobin) / name, binary)
    return binary


def generate_python(out: Path) -> None:
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


def go_packages() -> list[str]:
    return [f"M{f}={GO_MODULE}/{GO_PACKAGE};{GO_PACKAGE}" for f in proto_files()]


def generate_go(out: Path) -> None:
    # The protos carry no go_package option (it is Go's business, not the contract's): M options map
    # each file to our package, and module= strips the module path so files land in clients/go/.
    module_root = out / GO_DIR.parent
    (out / GO_DIR).mkdir(parents=True, exist_ok=True)
    options = ",".join([f"module={GO_MODULE}", *go_packages()])
    protoc(
        [
            f"--plugin=protoc-gen-go={go_plugin('protoc-gen-go')}",
            f"--plugin=protoc-gen-go-grpc={go_plugin('protoc-gen-go-grpc')}",
            f"--go_out={options}:{module_root}",
            f"--go-grpc_out={options}:{module_root}",
            *proto_files(),
        ]
    )


def generate_openapi(out: Path) -> None:
    # One document for the three services. Field names as Envoy's transcoder prints them
    # (preserve_proto_field_names), enums as names, errors as google.rpc.Status.
    (out / OPENAPI_DIR).mkdir(parents=True, exist_ok=True)
    options = ",".join(
        ["allow_merge=true", "merge_file_name=drift_monitoring", "json_names_for_fields=false", "openapi_naming_strategy=simple", *go_packages()]
    )
    protoc(
        [
            f"--plugin=protoc-gen-openapiv2={go_plugin('protoc-gen-openapiv2')}",
            f"--openapiv2_out={options}:{out / OPENAPI_DIR}",
            *proto_files(),
        ]
    )
    describe_streams_as_envoy_sends_them(out / OPENAPI_DIR / "drift_monitoring.swagger.json")


def describe_streams_as_envoy_sends_them(path: Path) -> None:
    """protoc-gen-openapiv2 describes a server stream as grpc-gateway sends it ({"result": ...} objects);
    Envoy's transcoder sends one JSON array that grows element by element. Say what clients really get;
    name the API rather than the first proto file, and say how to authenticate."""
    document = json.loads(path.read_text())
    document["info"] = {"title": "Drift Monitoring API", "version": "v1", "description": "REST/JSON transcoded by Envoy from the gRPC API in protos/."}
    document["schemes"] = ["https"]
    # An OpenID Connect access token as a bearer token; without one, calls are anonymous (public reads only).
    document["securityDefinitions"] = {"bearer": {"type": "apiKey", "in": "header", "name": "authorization", "description": "Bearer ACCESS_TOKEN"}}
    document["security"] = [{}, {"bearer": []}]
    for methods in document["paths"].values():
        for operation in methods.values():
            ok = operation["responses"]["200"]
            title = ok["schema"].get("title", "")
            if title.startswith("Stream result of "):
                item = ok["schema"]["properties"]["result"]
                ok["description"] = "A JSON array sent element by element as events happen (the stream stays open)."
                ok["schema"] = {"type": "array", "items": item}
    path.write_text(json.dumps(document, indent=2) + "\n")


def generate(out: Path) -> None:
    """Write every generated target under out/ (the repository root, or a scratch directory)."""
    generate_python(out)
    generate_go(out)
    generate_openapi(out)


def descriptor_set(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # google.rpc status and details too: Envoy needs them to turn error details into JSON bodies.
    extra = ["google/rpc/status.proto", "google/rpc/error_details.proto"]
    protoc([f"--descriptor_set_out={path}", "--include_imports", "--include_source_info", *proto_files(), *extra])


def generated_files(base: Path) -> set[str]:
    return {
        str(p.relative_to(base))
        for directory, pattern in GENERATED.items()
        if (base / directory).is_dir()
        for p in (base / directory).glob(pattern)
        if p.is_file()
    }


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
    parser.add_argument("--install-plugins", action="store_true", help="only build the pinned Go plugins (once) and exit")
    args = parser.parse_args()
    if args.install_plugins:
        for name in GO_PLUGINS:
            print(go_plugin(name))
        return 0
    if args.descriptor_set:
        descriptor_set(args.descriptor_set)
    if args.check:
        return check()
    for name in generated_files(ROOT):
        if name != str(PACKAGE_DIR / "__init__.py"):
            (ROOT / name).unlink()  # a proto file that went away takes its generated files along
    generate(ROOT)
    print(f"Generated {len(generated_files(ROOT))} files in", ", ".join(map(str, GENERATED)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
