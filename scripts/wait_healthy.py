"""Wait until a gRPC server reports SERVING on grpc.health.v1 (exit 1 after the timeout)."""

import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def main(target: str, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return 0
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    print(f"{target} did not report SERVING within {timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
