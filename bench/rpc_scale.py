"""Every RPC's latency as one experiment grows (issue 19): p50/p99 through Envoy (TLS, token) at each size,
with 10 other experiments of their own drifts beside it, so nothing is fast only because it is alone.

    python -m bench.rpc_scale --sizes 1000 10000 --repeats 20 [--label after]

Writes bench/results/rpc_scale[-<label>].json. The single-document RPCs (get, update, create, delete)
should not grow with the size; the default order's pages and the watch's catch-up should stay under
300 ms (docs/embedded-database.md says why each does or does not).
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from bench.common import bench_stack, latency, save
from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2, experiment_pb2

OTHERS = 10
OTHER_DRIFTS = 500
BATCH = 250
CATCH_UP = 100  # events a resumed watch reads back


def _drift(rng: random.Random, index: int) -> drift_pb2.Drift:
    drift = drift_pb2.Drift(model=f"model-{index % 5}", status=(drift_pb2.DRIFT_STATUS_COMPLETED, drift_pb2.DRIFT_STATUS_RUNNING)[index % 2], tags=["bench"])
    drift.concept_drift.detected = rng.random() < 0.3
    drift.concept_drift.parameters.update({f"concept_param_{i}": rng.random() for i in range(20)})
    drift.data_drift.detected = rng.random() < 0.3
    drift.data_drift.parameters.update({f"data_param_{i}": rng.random() for i in range(20)})
    return drift


DEADLINE_S = 300  # a call slower than this is recorded as exceeding it, and not repeated


def _rpc(client: Client, method: Callable[..., Any], request: Any) -> Any:
    """One call with a long deadline: the client's own 5 s per attempt would cut off the slow pages we measure."""
    return method(request, metadata=client._metadata(), timeout=DEADLINE_S)


def _load(client: Client, experiment_id: str, rng: random.Random, start: int, count: int) -> list[str]:
    ids: list[str] = []
    while count > 0:
        n = min(BATCH, count)
        requests = [drift_pb2.CreateDriftRequest(drift=_drift(rng, start + i), request_id=uuid.uuid4().hex) for i in range(n)]
        response = _rpc(client, client.drifts.BatchCreateDrifts, drift_pb2.BatchCreateDriftsRequest(experiment_id=experiment_id, requests=requests))
        ids += [d.id for d in response.drifts]
        start, count = start + n, count - n
    return ids


def _timed(function: Callable[[], Any], repeats: int) -> dict[str, Any]:
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        try:
            function()
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
            return {**latency(timings), "exceeded_deadline_s": DEADLINE_S}
        timings.append((time.perf_counter() - began) * 1000)
    return latency(timings)


def _catch_up(client: Client, experiment_id: str, token: str) -> None:
    """A watch resumed CATCH_UP events back, until it has them all."""
    call = client.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id, resume_token=token), metadata=client._metadata(), timeout=120)
    seen = 0
    try:
        for event in call:
            if event.type != drift_pb2.DRIFT_EVENT_TYPE_HEARTBEAT:
                seen += 1
                if seen >= CATCH_UP:
                    return
    finally:
        call.cancel()


def _resume_point(client: Client, experiment_id: str, rng: random.Random) -> str:
    """A resume token CATCH_UP events before the head: watch, write CATCH_UP drifts, keep the first token."""
    call = client.drifts.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), metadata=client._metadata(), timeout=120)
    first = ""
    try:
        stream = iter(call)
        next(stream)  # the stream is open once the first heartbeat or event arrives
        client.create_drift(experiment_id, _drift(rng, 0), uuid.uuid4().hex)
        for event in stream:
            if event.type == drift_pb2.DRIFT_EVENT_TYPE_CREATED:
                first = event.resume_token
                break
    except grpc.RpcError:
        pass
    finally:
        call.cancel()
    _load(client, experiment_id, rng, 0, CATCH_UP)
    return first


def measure(client: Client, experiment_id: str, ids: list[str], rng: random.Random, repeats: int) -> dict[str, Any]:
    d = client.drifts
    pick = lambda: rng.choice(ids)  # noqa: E731
    first = d.ListDrifts  # same stub for every list variant

    def page(**fields: Any) -> drift_pb2.ListDriftsResponse:
        return _rpc(client, first, drift_pb2.ListDriftsRequest(experiment_id=experiment_id, page_size=100, **fields))

    second_token = page().next_page_token
    token = ""
    for _ in range(9):
        token = page(page_token=token).next_page_token or token
    tenth_token = token

    def create_delete() -> None:
        made = client.create_drift(experiment_id, _drift(rng, 1), uuid.uuid4().hex)
        created.append(made.id)

    created: list[str] = []
    update = drift_pb2.Drift(status=drift_pb2.DRIFT_STATUS_COMPLETED)
    results = {
        "GetDrift": _timed(lambda: _rpc(client, d.GetDrift, drift_pb2.GetDriftRequest(experiment_id=experiment_id, drift_id=pick())), repeats),
        "UpdateDrift": _timed(lambda: _rpc(client, d.UpdateDrift, drift_pb2.UpdateDriftRequest(
            drift=drift_pb2.Drift(id=pick(), experiment_id=experiment_id, status=update.status), update_mask={"paths": ["status"]})), repeats),
        "CreateDrift": _timed(create_delete, repeats),
        "DeleteDrift": _timed(lambda: _rpc(client, d.DeleteDrift, drift_pb2.DeleteDriftRequest(experiment_id=experiment_id, drift_id=created.pop())), repeats),
        "ListDrifts first page (default order)": _timed(page, repeats),
        "ListDrifts 2nd page (default order)": _timed(lambda: page(page_token=second_token), repeats),
        "ListDrifts 10th page (default order)": _timed(lambda: page(page_token=tenth_token), repeats),
        "ListDrifts first page, filter status = COMPLETED": _timed(lambda: page(filter="status = COMPLETED"), max(3, repeats // 4)),
        "ListDrifts first page, order_by create_time desc": _timed(lambda: page(order_by="create_time desc"), max(3, repeats // 4)),
        "GetExperiment": _timed(lambda: _rpc(client, client.experiments.GetExperiment, experiment_pb2.GetExperimentRequest(experiment_id=experiment_id)), repeats),
        "ListExperiments": _timed(lambda: _rpc(client, client.experiments.ListExperiments, experiment_pb2.ListExperimentsRequest()), repeats),
    }
    resume = _resume_point(client, experiment_id, rng)
    results[f"WatchDrifts catch-up of {CATCH_UP} events"] = _timed(lambda: _catch_up(client, experiment_id, resume), max(3, repeats // 4))
    return results


def run(sizes: list[int], repeats: int) -> dict[str, Any]:
    rng = random.Random(19)
    steps = []
    with bench_stack() as stack, Client(**stack.settings(timeout=600)) as client:
        client.register()
        for i in range(OTHERS):
            other = client.new_experiment(f"bench-other-{i}-{uuid.uuid4().hex[:6]}").id
            _load(client, other, rng, 0, OTHER_DRIFTS)
        experiment_id = client.new_experiment(f"bench-rpc-{uuid.uuid4().hex[:6]}").id
        ids: list[str] = []
        for size in sizes:
            began = time.perf_counter()
            ids += _load(client, experiment_id, rng, len(ids), size - len(ids))
            load_s = round(time.perf_counter() - began, 1)
            rpcs = measure(client, experiment_id, ids, rng, repeats)
            steps.append({"drifts": size, "load_s": load_s, "rpcs": rpcs})
            for name, numbers in rpcs.items():
                slow = f"  (a call exceeded {numbers['exceeded_deadline_s']} s)" if "exceeded_deadline_s" in numbers else ""
                print(f"{size:>7} drifts  {name:<52} p50 {numbers['p50_ms']:>9} ms  p99 {numbers['p99_ms']:>9} ms{slow}", flush=True)
    return {"others": {"experiments": OTHERS, "drifts_each": OTHER_DRIFTS}, "repeats": repeats, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    out = save("rpc_scale" + (f"-{args.label}" if args.label else ""), run(args.sizes, args.repeats))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
