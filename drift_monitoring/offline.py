"""What a process does about an unreachable server: the spool (one per server), the breaker that lets
every process of the user skip the wait once one found the server unreachable, the sync that sends what was
spooled, and the background Sender of each Client, which ties them together.

Layering (docs/layout.md): settings -> auth -> client -> spool, sender -> offline -> monitor -> cli; the
Client knows nothing of senders: a Sender stops when its Client closes through Client.on_close.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from pathlib import Path

from google.protobuf import json_format

from drift_monitoring.client import Client
from drift_monitoring.errors import InvalidArgumentError, NotFoundError, UnavailableError
from drift_monitoring.sender import Sender, deliver_final
from drift_monitoring.settings import Settings
from drift_monitoring.spool import Spool, done
from drift_monitoring.v1 import drift_pb2

log = logging.getLogger("drift_monitoring")
# After a run found the server unreachable, the next runs within this many seconds go straight to the
# spool instead of each waiting out settings.timeout: a job loop must not slow down while the server is away.
BREAKER_SECONDS = 30.0
_SENDERS: weakref.WeakKeyDictionary[Client, Sender] = weakref.WeakKeyDictionary()
_SENDERS_LOCK = threading.Lock()


def spool_for(settings: Settings) -> Spool:
    return Spool(settings.state_dir / "spool" / re.sub(r"[^A-Za-z0-9_.-]", "_", settings.target))


def sender_for(client: Client) -> Sender:
    """The background sender of DriftMonitor's runs on this client (started on first use, stopped, after
    a bounded wait for runs still being sent, when the client closes)."""
    with _SENDERS_LOCK:
        sender = _SENDERS.get(client)
        if sender is None:
            sender = _SENDERS[client] = Sender(client, SpoolBreaker(client.settings), lambda c: sync(c, quiet=True))
            client.on_close(lambda: sender.stop(client.settings.timeout))
        return sender


class SpoolBreaker:
    """The breaker as a file next to the spool, so every process of the user sees it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def trip(self) -> None:
        marker = breaker_path(self.settings)
        try:
            marker.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the spool's directory: private
            marker.touch(mode=0o600)
        except OSError as error:  # only an optimisation; the job runs on, and _spool reports a spool it cannot use
            log.warning("drift monitor: cannot write to %s (%s)", marker.parent, error)

    def tripped(self) -> bool:
        return recently_unreachable(self.settings)


def breaker_path(settings: Settings) -> Path:
    return spool_for(settings).directory / ".unreachable"


def recently_unreachable(settings: Settings) -> bool:
    try:
        return time.time() - breaker_path(settings).stat().st_mtime < BREAKER_SECONDS
    except FileNotFoundError:
        return False


def sync(client: Client, *, budget: float | None = None, quiet: bool = False) -> tuple[int, int]:
    """Send spooled runs. Returns (sent, left). Stops at the first unreachable server."""
    spool = spool_for(client.settings)
    sent, experiments = 0, {}
    deadline = time.monotonic() + (budget if budget is not None else client.settings.timeout * 10)
    with spool.claim() as records:
        for path, record in records:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                name = record["experiment"]
                experiments[name] = experiments.get(name) or client.find_experiment(name).id
                drift = json_format.ParseDict(record["drift"], drift_pb2.Drift(), ignore_unknown_fields=True)
                deliver_final(client, experiments[name], record["request_id"], drift, budget=remaining)
            except UnavailableError:
                break
            except (NotFoundError, InvalidArgumentError) as exc:  # will never succeed: keep it for a human
                log.error("drift monitor: spooled run %s refused (%s); kept as %s.rejected", path.name, exc, path.name)
                path.rename(path.with_name(path.name.split(".claimed-")[0] + ".rejected"))
                continue
            done(path)
            sent += 1
    if sent:
        breaker_path(client.settings).unlink(missing_ok=True)  # the server is back
    left = spool.pending()
    if sent and not quiet:
        log.info("drift monitor: sent %d spooled run(s), %d left", sent, left)
    return sent, left
