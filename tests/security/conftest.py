"""The security suite runs on the integration suite's personas and scenario, through the session's Envoy.

Re-exported here (not copied) so `pytest tests/security` runs on its own and both suites mean the same
people and the same private/public experiments.
"""

from tests.integration.conftest import gateway, people, scenario, shared_scenario  # noqa: F401
