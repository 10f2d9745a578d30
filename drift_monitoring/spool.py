"""A durable local queue of finished runs the server has not acknowledged yet.

One JSON file per run, written to a temporary name, fsynced and renamed into place, so a crash leaves
either the whole record or nothing. A sender claims a record by renaming it to a name carrying its pid;
rename is atomic, so two processes never send the same record, and a claim whose process has died is
taken back. The server makes replays harmless anyway: every record carries its drift's request_id.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_CLAIMED = re.compile(r"^(?P<name>[0-9a-f]{32})\.json\.claimed-(?P<pid>\d+)$")


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, record: dict[str, Any], *, durable: bool = True) -> Path:
        """Write a record atomically: a crash of this process leaves all of it or nothing. durable=False
        skips the fsync (milliseconds on a busy disk) for records about to be sent anyway; call
        make_durable() when one has to stay (the sender does, off the job's thread)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = uuid.uuid4().hex
        tmp = self.directory / f".{name}.tmp"
        final = self.directory / f"{name}.json"
        try:
            with tmp.open("w") as out:
                json.dump(record, out)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            tmp.replace(final)
        except BaseException:
            with contextlib.suppress(OSError):  # a full disk leaves no half-written file behind
                tmp.unlink(missing_ok=True)
            raise
        if durable:
            _fsync_directory(self.directory)
        return final

    def pending(self) -> int:
        """Runs not delivered yet, including those a sender is sending right now."""
        if not self.directory.exists():
            return 0
        return len(list(self.directory.glob("*.json"))) + len(list(self.directory.glob("*.json.claimed-*")))

    @contextmanager
    def claim(self) -> Iterator[Iterator[tuple[Path, dict[str, Any]]]]:
        """Records this process now owns. Delete each by calling done(path) once delivered; what is not
        done is released for the next attempt when the block ends."""
        claimed: list[Path] = []

        def records() -> Iterator[tuple[Path, dict[str, Any]]]:
            for path in self._candidates():
                mine = path.with_name(f"{path.name.split('.json')[0]}.json.claimed-{os.getpid()}")
                try:
                    path.rename(mine)
                except FileNotFoundError:
                    continue  # another process took it first
                claimed.append(mine)
                try:
                    yield mine, json.loads(mine.read_text())
                except ValueError:
                    mine.rename(mine.with_name(mine.name + ".corrupt"))  # kept for a human, never resent blindly
                    claimed.remove(mine)

        try:
            yield records()
        finally:
            for path in claimed:
                if path.exists():
                    path.rename(path.with_name(path.name.split(".claimed-")[0]))

    def _candidates(self) -> list[Path]:
        if not self.directory.exists():
            return []
        for stale in self.directory.glob("*.json.claimed-*"):
            match = _CLAIMED.match(stale.name)
            if match and not _alive(int(match["pid"])):
                try:
                    stale.rename(self.directory / f"{match['name']}.json")
                except FileNotFoundError:
                    pass
        return sorted(self.directory.glob("*.json"), key=lambda p: p.stat().st_mtime)


def make_durable(path: Path) -> None:
    """fsync a spooled record and its directory, so it survives a crash of the machine too."""
    try:
        with path.open("rb") as record:
            os.fsync(record.fileno())
    except FileNotFoundError:
        return  # already delivered and removed
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def done(path: Path) -> None:
    path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
