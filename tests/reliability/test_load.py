"""Load: 32 jobs recording runs through Envoy for a bounded time while watchers stream.

Afterwards every run is in the database exactly once with its final status, every watcher saw every
event of the log in order, and no call failed (strict monitors raise on anything, INTERNAL included).
FerretDB answers in milliseconds to tens of milliseconds per query on this kind of machine, so the
duration, not a run count, bounds the test; LOAD_SECONDS stretches it for a longer soak.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

from tests.reliability.workload import Ledger, Writer, audit, start_watchers

CLIENTS = 32
WATCHERS = 4
SECONDS = float(os.environ.get("LOAD_SECONDS", "15"))


def test_32_clients_with_watchers_lose_nothing(stack):
    setup = stack.client("manager")
    setup.register()
    name = f"load-{uuid.uuid4().hex[:8]}"
    experiment = setup.new_experiment(name, "load test")
    setup.close()
    settings = stack.settings("manager", timeout=30)
    watchers = start_watchers(WATCHERS, stack.settings("manager"), experiment.id)
    ledger, stop = Ledger(), threading.Event()
    writers = [Writer(i, settings, name, ledger, stop) for i in range(CLIENTS)]
    started = time.monotonic()
    for writer in writers:
        writer.start()
    time.sleep(SECONDS)
    stop.set()
    for writer in writers:
        writer.join(60)
    elapsed = time.monotonic() - started
    result = audit(stack.db(), experiment.id, ledger, watchers)
    print(f"\nload: {CLIENTS} clients, {WATCHERS} watchers, {elapsed:.1f} s, {result.runs_expected / elapsed:.1f} runs/s; {result.row()}")
    assert not any(w.is_alive() for w in writers), "a writer is stuck"
    assert ledger.errors == [], ledger.errors[:5]
    assert result.runs_expected >= CLIENTS, "the load never got going"
    assert (result.duplicates, result.missing, result.wrong_status) == ([], [], [])
    assert result.runs_found == result.runs_expected
    assert [w.error for w in watchers] == [""] * WATCHERS
    assert result.watchers_matching == WATCHERS, result.row()
    # Each run is created, gets its concept result, its data result (unless failing), and its end.
    assert result.events_in_log >= 3 * result.runs_expected
