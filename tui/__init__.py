"""Textual terminal dashboard for Drift Monitoring: live experiments and drifts, started by
`python -m tui` or `drift-monitor tui`. The connection and formatting modules import without Textual."""
