"""One spool shared by several real processes: claims race, owners die, pids come back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from drift_monitoring.spool import Spool, done
from stack import ROOT

# A sender that delivers to a local file instead of a server, so claims race at file-system speed: it
# appends each record's request_id to the sink, then removes the record, until the spool is empty.
SENDER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from drift_monitoring.spool import Spool, done

    spool, sink = Spool(Path(sys.argv[1])), os.open(sys.argv[2], os.O_WRONLY | os.O_APPEND)
    while spool.pending():
        with spool.claim() as records:
            sent = 0
            for path, record in records:
                os.write(sink, (record["request_id"] + "\\n").encode())
                done(path)
                sent += 1
        if not sent:
            time.sleep(0.01)  # what is left is claimed by the others
""")

# Claims COUNT records, prints their names, and keeps them until killed.
HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from drift_monitoring.spool import Spool

    with Spool(Path(sys.argv[1])).claim() as records:
        for _ in range(int(sys.argv[2])):
            path, _record = next(records)
            print(path.name.split(".json")[0], flush=True)
        sys.stdin.read()
""")


def fill(spool: Spool, count: int) -> dict[str, str]:
    """Spool `count` records; their request_ids by the name of their file (without .json)."""
    spooled = {}
    for _ in range(count):
        request_id = uuid.uuid4().hex
        spooled[spool.add({"experiment": "e", "request_id": request_id, "drift": {}}, durable=False).stem] = request_id
    return spooled


def names(records) -> set[str]:
    return {path.name.split(".json")[0] for path, _record in records}


def test_processes_draining_one_spool_deliver_every_record_exactly_once(tmp_path):
    spool = Spool(tmp_path / "spool")
    ids = set(fill(spool, 1000).values())
    sink = tmp_path / "sink"
    sink.touch()
    senders = [
        subprocess.Popen([sys.executable, "-c", SENDER, str(spool.directory), str(sink)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outcomes = [(sender.wait(timeout=120), sender.stderr.read()) for sender in senders]
    assert all(code == 0 for code, _ in outcomes), [err[-1500:] for _, err in outcomes]
    delivered = sink.read_text().split()
    assert len(delivered) == len(ids) and set(delivered) == ids  # each one, once
    assert spool.pending() == 0 and not list(spool.directory.glob(".claim-*"))  # no claim or lock left


def test_a_claim_stays_while_its_owner_lives_and_comes_back_when_it_dies(tmp_path):
    spool = Spool(tmp_path / "spool")
    fill(spool, 6)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(spool.directory), "2"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        held = {holder.stdout.readline().strip() for _ in range(2)}
        with spool.claim() as records:  # another process: the live owner's claims are not taken
            assert len(others := names(records)) == 4 and not held & others
        holder.send_signal(signal.SIGKILL)  # dies holding its claims: no chance to release them
        holder.wait(10)
        with spool.claim() as records:
            assert names(records) == held | others
    finally:
        holder.kill()
        holder.wait(10)


def test_a_claim_is_never_trusted_for_its_pid(tmp_path):
    """Claims used to carry the claimer's pid; once that process died and the OS gave the pid to another
    one, the claim looked alive forever. A claim is alive only while its token's lock is held."""
    spool = Spool(tmp_path / "spool")
    [legacy, orphan] = sorted(fill(spool, 2))
    live_pid = os.getpid()  # the pid of a live process that never claimed anything
    (spool.directory / f"{legacy}.json").rename(spool.directory / f"{legacy}.json.claimed-{live_pid}")
    (spool.directory / f"{orphan}.json").rename(spool.directory / f"{orphan}.json.claimed-{uuid.uuid4().hex[:16]}")
    with spool.claim() as records:
        assert names(records) == {legacy, orphan}


def test_records_gone_between_listing_and_claiming_are_skipped(tmp_path):
    spool = Spool(tmp_path / "spool")
    fill(spool, 3)
    with spool.claim() as records:
        first, _ = next(records)
        for path in spool.directory.glob("*.json"):
            path.unlink()  # sent by someone else meanwhile
        assert list(records) == []
        done(first)
    assert spool.pending() == 0


def test_an_abandoned_lock_without_claims_is_cleared(tmp_path: Path):
    spool = Spool(tmp_path / "spool")
    fill(spool, 1)
    (spool.directory / ".claim-0123456789abcdef.lock").touch()  # its owner died after releasing its claims
    with spool.claim() as records:
        assert len(list(records)) == 1
    assert not list(spool.directory.glob(".claim-*"))


# Claims the one record and releases it again, over and over, for SECONDS.
FLIPPER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from drift_monitoring.spool import Spool

    spool, deadline = Spool(Path(sys.argv[1])), time.monotonic() + float(sys.argv[2])
    [record] = spool.directory.glob("*.json")
    print("ready", flush=True)
    while time.monotonic() < deadline:
        with spool.session() as session:
            session.take(record)
""")


def test_pending_counts_a_record_being_claimed_and_released_exactly_once(tmp_path):
    spool = Spool(tmp_path / "spool")
    fill(spool, 1)
    flipper = subprocess.Popen([sys.executable, "-c", FLIPPER, str(spool.directory), "3"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert flipper.stdout.readline().strip() == "ready"
        counts = set()
        while flipper.poll() is None:
            counts.add(spool.pending())
        assert flipper.returncode == 0 and counts == {1}, counts
    finally:
        flipper.kill()
        flipper.wait(10)
