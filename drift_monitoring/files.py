"""Files several processes of one user share (the MyToken state, the spool): an exclusive lock beside a
file, and writes that are atomic, private from the first byte, and durable.

Locks are flock(2) locks on a `<file>.lock` file: the kernel releases them when the holder exits or
dies, so a crashed process never leaves a stale lock behind, and Go's syscall.Flock takes the same lock.
POSIX only, like the rest of the client's state handling.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from drift_monitoring.errors import UnavailableError


@contextlib.contextmanager
def locked(path: Path, *, wait: float) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created 0600 if missing) for the block. Waits up to `wait`
    seconds for another process to release it, then raises UnavailableError naming the file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline, pause = time.monotonic() + wait, 0.002
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UnavailableError(f"another process has held {path} for over {wait:g} s") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield  # closing the descriptor below releases the lock
    finally:
        os.close(descriptor)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically: readers see the old content or the new, never a part. The
    temporary file is created 0600 (O_EXCL, so never someone else's file), fsynced, renamed into place,
    and the directory fsynced, so the new content survives a crash of the machine too."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
