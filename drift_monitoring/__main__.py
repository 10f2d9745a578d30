"""`python -m drift_monitoring` runs the drift-monitor command line."""

import sys

from drift_monitoring.cli import main

sys.exit(main())
