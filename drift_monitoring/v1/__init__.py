"""Generated from protos/drift_monitoring/v1 by scripts/gen_protos.py. Do not edit."""
