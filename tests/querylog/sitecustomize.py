"""Loaded at start-up by the servers a test session starts with this directory on PYTHONPATH: when
DM_QUERY_LOG names a file, every query command the server sends (a PyMongo command listener) is appended
to it as one extended-JSON line, for tests/integration/test_query_plans.py to plan against the indexes."""

from __future__ import annotations

import os

LOG = os.environ.get("DM_QUERY_LOG", "")
# What each checked command's filter and sort are called in it.
CHECKED = ("find", "findAndModify", "update", "delete", "count", "aggregate", "distinct")

if LOG:
    import threading
    from typing import Any

    from bson import json_util
    from pymongo import monitoring

    class _QueryLog(monitoring.CommandListener):
        def __init__(self) -> None:
            self._lock = threading.Lock()
            self._file = open(LOG, "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life

        def started(self, event: monitoring.CommandStartedEvent) -> None:
            if event.command_name not in CHECKED:
                return
            body: dict[str, Any] = {k: v for k, v in event.command.items() if k not in ("lsid", "$db", "$clusterTime", "txnNumber")}
            line = json_util.dumps({"collection": body.get(event.command_name), "command": event.command_name, "body": body})
            with self._lock:
                self._file.write(line + "\n")
                self._file.flush()

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            pass

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            pass

    monitoring.register(_QueryLog())
