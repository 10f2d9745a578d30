"""`python -m tui [--experiment NAME]`: the dashboard, with the client's settings from the environment."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="drift-monitor tui",
        description="Live terminal dashboard. Settings as for the client: DRIFT_MONITOR_URL, DRIFT_MONITOR_TOKEN "
        "or DRIFT_MONITOR_MYTOKEN with MYTOKEN_SERVER, DRIFT_MONITOR_CA_BUNDLE.",
    )
    parser.add_argument("--experiment", default="", help="open this experiment at start")
    args = parser.parse_args(argv)

    from drift_monitoring.errors import DriftMonitorError
    from drift_monitoring.settings import Settings

    try:
        settings = Settings.from_env()
        from tui.app import DriftDashboard

        app = DriftDashboard(settings, experiment=args.experiment)
    except (DriftMonitorError, OSError) as exc:  # settings, or a CA bundle that cannot be read
        print(f"drift-monitor tui: {exc}", file=sys.stderr)
        return 2
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
