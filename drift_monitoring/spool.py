"""A durable local queue of finished runs the server has not acknowledged yet.

One JSON file per run, written to a temporary name, fsynced and renamed into place, so a crash leaves
either the whole record or nothing. A sender claims a record by renaming it to `<run>.json.claimed-<token>`;
rename is atomic, so two processes never send the same record. The token is random, one per claim session,
and the session holds an flock on `.claim-<token>.lock` while it lasts: a claim is taken back exactly when
nobody holds its token's lock, which the kernel releases when the owner dies. Process ids are never
trusted, since the OS reuses them. (A claim in the earlier `claimed-<pid>` form has no lock, so it is
taken back at once; at worst a run is sent twice, which the server turns into a replay.) Any file may be
claimed, sent or taken back by another process between a listing and the next step: every step tolerates
a file that has gone. The server makes replays harmless anyway: every record carries its request_id.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from drift_monitoring.files import fsync_directory

_CLAIMED = re.compile(r"^(?P<name>[0-9a-f]{32})\.json\.claimed-(?P<token>[0-9a-f]+)$")
_LOCK = re.compile(r"^\.claim-(?P<token>[0-9a-f]+)\.lock$")


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
            # 0600 from the first byte (the results may be private); O_EXCL: never someone else's file.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), "w") as out:
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
            fsync_directory(self.directory)
        return final

    def pending(self) -> int:
        """Runs not delivered yet, including those a sender is sending right now."""
        try:
            names = os.listdir(self.directory)  # one listing: two would miss a record released in between
        except FileNotFoundError:
            return 0
        return sum(1 for name in names if (name.endswith(".json") and not name.startswith(".")) or _CLAIMED.match(name))

    @contextmanager
    def claim(self) -> Iterator[Iterator[tuple[Path, dict[str, Any]]]]:
        """Records this process now owns. Delete each by calling done(path) once delivered; what is not
        done is released for the next attempt when the block ends."""
        with self.session() as session:

            def records() -> Iterator[tuple[Path, dict[str, Any]]]:
                for path in self._candidates():
                    mine = session.take(path)
                    if mine is None:
                        continue  # another process took it first
                    try:
                        yield mine, json.loads(mine.read_text())
                    except ValueError:
                        mine.rename(mine.with_name(mine.name + ".corrupt"))  # kept for a human, never resent blindly

            yield records()

    @contextmanager
    def session(self) -> Iterator[ClaimSession]:
        """A claim session: its claims are this process's until the block ends (then the ones still there
        are released) or the process dies (then the next sender takes them back)."""
        session = ClaimSession(self.directory)
        try:
            yield session
        finally:
            session.close()

    def _candidates(self) -> list[Path]:
        if not self.directory.exists():
            return []
        self._take_back_dead_claims()
        found = []
        for path in self.directory.glob("*.json"):
            try:
                found.append((path.stat().st_mtime, path))
            except FileNotFoundError:
                continue  # claimed by another process since the listing
        return [path for _, path in sorted(found)]

    def _take_back_dead_claims(self) -> None:
        claims: dict[str, list[Path]] = {}
        for path in self.directory.glob("*.json.claimed-*"):
            if match := _CLAIMED.match(path.name):
                claims.setdefault(match["token"], []).append(path)
        for lock in self.directory.glob(".claim-*.lock"):
            if match := _LOCK.match(lock.name):
                claims.setdefault(match["token"], [])  # a lock left without claims is cleared too
        for token, paths in claims.items():
            with _if_dead(self.directory / f".claim-{token}.lock") as dead:
                if not dead:
                    continue
                for path in paths:
                    with contextlib.suppress(FileNotFoundError):  # another process took it back first
                        path.rename(path.with_name(path.name.split(".claimed-")[0]))


class ClaimSession:
    """One sender's claims, under a random token whose lock file it holds (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.token = uuid.uuid4().hex[:16]
        self._lock = directory / f".claim-{self.token}.lock"
        self._claimed: list[Path] = []
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Locked before it appears under its name, so nobody can see it unlocked and take it for a dead one's.
        fresh = directory / f".claim-{self.token}.lock.new"
        self._descriptor = os.open(fresh, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        os.replace(fresh, self._lock)

    def take(self, path: Path) -> Path | None:
        """Claim one record: the path it now has, or None when another process has it (or sent it)."""
        mine = path.with_name(f"{path.name}.claimed-{self.token}")
        try:
            path.rename(mine)
        except FileNotFoundError:
            return None
        self._claimed.append(mine)
        return mine

    def close(self) -> None:
        for path in self._claimed:  # what was neither done nor moved on goes back for the next attempt
            with contextlib.suppress(FileNotFoundError):
                path.rename(path.with_name(path.name.split(".claimed-")[0]))
        self._claimed.clear()
        self._lock.unlink(missing_ok=True)
        os.close(self._descriptor)


@contextmanager
def _if_dead(lock: Path) -> Iterator[bool]:
    """True when nobody holds `lock` (or it is gone): its claims are free to take back, and the lock file
    is removed once the block is done with them. False while its owner lives."""
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
        lock.unlink(missing_ok=True)
    finally:
        os.close(descriptor)


def make_durable(path: Path) -> None:
    """fsync a spooled record and its directory, so it survives a crash of the machine too."""
    try:
        with path.open("rb") as record:
            os.fsync(record.fileno())
    except FileNotFoundError:
        return  # already delivered and removed
    fsync_directory(path.parent)


def done(path: Path) -> None:
    path.unlink(missing_ok=True)
