"""What Envoy adds to a call: GetExperiment straight to the server vs through Envoy (TLS + JWT check).

    make up && .venv/bin/python bench/edge_latency.py [--calls 500]

Prints p50/p99 per path and writes bench/results/edge_latency.json. Both paths run in the same process,
interleaved call by call, so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grpc
import jwt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from drift_monitoring.v1 import experiment_pb2, experiment_pb2_grpc  # noqa: E402
from sandbox import personas  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--server", default="127.0.0.1:50051")
    parser.add_argument("--envoy", default="localhost:8443")
    parser.add_argument("--ca", type=Path, default=ROOT / ".run" / "certs" / "ca.pem", help="CA of Envoy's certificate")
    parser.add_argument("--issuer-args", default="", help="extra arguments for `python -m sandbox.issuer` (--state DIR --issuer URL)")
    parser.add_argument("--secret", default="", help="the server's proxy secret (default: the sandbox one)")
    args = parser.parse_args()

    token = subprocess.run([sys.executable, "-m", "sandbox.issuer", *args.issuer_args.split(), "token", "manager"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    direct_channel = grpc.insecure_channel(args.server)
    edge_channel = grpc.secure_channel(args.envoy, grpc.ssl_channel_credentials(args.ca.read_bytes()))
    direct = experiment_pb2_grpc.ExperimentServiceStub(direct_channel)
    edge = experiment_pb2_grpc.ExperimentServiceStub(edge_channel)
    # Direct: exactly the headers Envoy would forward for this token (its verified payload, the secret).
    payload = jwt.decode(token, options={"verify_signature": False})
    direct_md = personas.gateway_metadata(args.secret or personas.proxy_secret(), payload) + (("authorization", f"Bearer {token}"),)
    edge_md = (("authorization", f"Bearer {token}"),)
    experiment_id = edge.ListExperiments(experiment_pb2.ListExperimentsRequest(page_size=1), metadata=edge_md).experiments[0].id
    request = experiment_pb2.GetExperimentRequest(experiment_id=experiment_id)

    timings: dict[str, list[float]] = {"direct": [], "envoy": []}
    for index in range(args.calls + 50):
        for name, stub, metadata in (("direct", direct, direct_md), ("envoy", edge, edge_md)):
            started = time.perf_counter()
            stub.GetExperiment(request, metadata=metadata, timeout=5)
            if index >= 50:  # warm-up: connections, TLS session, JWKS
                timings[name].append((time.perf_counter() - started) * 1000)

    result = {
        "benchmark": "edge_latency",
        "calls": args.calls,
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        **{name: {"p50_ms": round(statistics.median(v), 3), "p99_ms": round(percentile(v, 0.99), 3)} for name, v in timings.items()},
    }
    result["added_by_envoy"] = {k: round(result["envoy"][k] - result["direct"][k], 3) for k in ("p50_ms", "p99_ms")}
    out = ROOT / "bench" / "results" / "edge_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'path':<8}{'p50 ms':>10}{'p99 ms':>10}")
    for name in ("direct", "envoy"):
        print(f"{name:<8}{result[name]['p50_ms']:>10.3f}{result[name]['p99_ms']:>10.3f}")
    print(f"{'added':<8}{result['added_by_envoy']['p50_ms']:>10.3f}{result['added_by_envoy']['p99_ms']:>10.3f}")
    print(f"saved {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
