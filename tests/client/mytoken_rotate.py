"""A MyToken client process for the multi-process tests: `python -m tests.client.mytoken_rotate ROUNDS`
asks one MyTokenSource (DRIFT_MONITOR_MYTOKEN, MYTOKEN_SERVER, DRIFT_MONITOR_STATE_DIR) for an access token
ROUNDS times and exits non-zero at the first failure. The Go test binary has the same mode (TestMain)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from drift_monitoring.auth import MyTokenSource
from drift_monitoring.errors import DriftMonitorError


def main(rounds: int) -> int:
    source = MyTokenSource(os.environ["DRIFT_MONITOR_MYTOKEN"], os.environ["MYTOKEN_SERVER"], Path(os.environ["DRIFT_MONITOR_STATE_DIR"]))
    for round_ in range(rounds):
        try:
            source.access_token()
        except DriftMonitorError as exc:
            print(f"round {round_}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
