"""Watch fan-out: many concurrent WatchDrifts streams through Envoy while runs are written at a steady
rate; delivery latency (receive time minus the drift's update_time, same clock), events missed, and the
server's RSS and CPU."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import grpc

from bench.common import latency, process_stats
from stack import Stack
from drift_monitoring import Client
from drift_monitoring.v1 import drift_pb2, drift_pb2_grpc

STREAMS_PER_CHANNEL = 100  # HTTP/2 connections are shared by this many streams, as a gRPC client would


async def _watcher(stub: drift_pb2_grpc.DriftServiceStub, metadata: Any, experiment_id: str, ready: asyncio.Event,
                   started: list[int], delays: list[float], counts: list[int], stop: asyncio.Event) -> None:
    call = stub.WatchDrifts(drift_pb2.WatchDriftsRequest(experiment_id=experiment_id), metadata=metadata)
    received = 0
    first = True
    try:
        async for event in call:
            if first:
                first = False
                started.append(1)
                if len(started) >= counts[0]:
                    ready.set()
            if event.type in (drift_pb2.DRIFT_EVENT_TYPE_CREATED, drift_pb2.DRIFT_EVENT_TYPE_UPDATED):
                delays.append(time.time() * 1000 - event.drift.update_time.ToMilliseconds())
                received += 1
            if stop.is_set():
                break
    except grpc.aio.AioRpcError:
        pass
    finally:
        call.cancel()
        counts.append(received)


async def _watch_all(stack: Stack, experiment_id: str, watchers: int, settle: asyncio.Event, stop: asyncio.Event,
                     delays: list[float], counts: list[int]) -> None:
    credentials = grpc.ssl_channel_credentials(stack.ca_pem.read_bytes())
    metadata = (("authorization", f"Bearer {stack.token('manager')}"),)
    channels = [grpc.aio.secure_channel(stack.target, credentials) for _ in range(max(1, watchers // STREAMS_PER_CHANNEL))]
    started: list[int] = []
    tasks = [asyncio.create_task(_watcher(drift_pb2_grpc.DriftServiceStub(channels[i % len(channels)]), metadata, experiment_id,
                                          settle, started, delays, counts, stop)) for i in range(watchers)]
    await stop.wait()
    await asyncio.sleep(2)  # the last events in flight
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()


def _writer(stack: Stack, experiment_id: str, rate: float, seconds: float) -> int:
    runs = 0
    with Client(**stack.settings()) as client:
        began = time.monotonic()
        while (elapsed := time.monotonic() - began) < seconds:
            drift = client.create_drift(experiment_id, drift_pb2.Drift(model="fanout"), uuid.uuid4().hex)
            drift.status = drift_pb2.DRIFT_STATUS_COMPLETED
            client.update_drift(drift, ["status"])
            runs += 1
            time.sleep(max(0.0, (runs / rate) - (time.monotonic() - began)))
    return runs


async def _run(stack: Stack, watchers: int, rate: float, seconds: float) -> dict[str, Any]:
    with Client(**stack.settings()) as client:
        client.register()
        experiment_id = client.new_experiment(f"bench-fanout-{uuid.uuid4().hex[:6]}").id
    delays: list[float] = []
    counts: list[int] = [watchers]  # counts[0]: how many must start before writing; then one count per watcher
    settle, stop = asyncio.Event(), asyncio.Event()
    pid = stack.server.process.pid
    watching = asyncio.create_task(_watch_all(stack, experiment_id, watchers, settle, stop, delays, counts))
    began = time.monotonic()
    await asyncio.wait_for(settle.wait(), timeout=600)  # every stream delivered its first heartbeat
    connect_s = time.monotonic() - began
    before = process_stats(pid)
    rss = [before["rss_mb"]]
    writing = asyncio.create_task(asyncio.to_thread(_writer, stack, experiment_id, rate, seconds))
    while not writing.done():
        await asyncio.sleep(1)
        rss.append(process_stats(pid)["rss_mb"])
    runs = await writing
    after = process_stats(pid)
    stop.set()
    await watching
    expected = 2 * runs
    per_watcher = counts[1:]
    return {
        "watchers": watchers, "runs_per_s": rate, "seconds": seconds, "runs": runs, "connect_s": round(connect_s, 1),
        "events_expected_per_watcher": expected,
        "watchers_with_every_event": sum(1 for c in per_watcher if c >= expected),
        "delivery": latency(delays),
        "server_rss_mb_max": max(rss), "server_cpu_percent": round(100 * (after["cpu_s"] - before["cpu_s"]) / seconds, 1),
    }


def run(stack: Stack, watchers: int, rate: float, seconds: float) -> dict[str, Any]:
    result = asyncio.run(_run(stack, watchers, rate, seconds))
    d = result["delivery"]
    print(f"watch {watchers} watchers, {rate} runs/s: delivery p50 {d['p50_ms']} p99 {d['p99_ms']} max {d['max_ms']} ms; "
          f"{result['watchers_with_every_event']}/{watchers} got all {result['events_expected_per_watcher']} events; "
          f"server RSS {result['server_rss_mb_max']} MB, CPU {result['server_cpu_percent']}%", flush=True)
    return result
