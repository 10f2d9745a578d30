"""Drift Monitoring client: record the runs of drift-detection jobs on a Drift Monitoring server.

The generated API stubs live in `drift_monitoring.v1`.
"""

__version__ = "2.0.0.dev0"
