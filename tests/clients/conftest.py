"""Other languages against the real stack: the environment the Go client and curl see."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def edge_env(envoy, ca_pem: Path, issuer) -> dict[str, str]:
    """The settings a Go (or any) client reads, pointing at the test Envoy with the manager's token."""
    return {
        "DRIFT_MONITOR_URL": f"localhost:{envoy.port}",
        "DRIFT_MONITOR_CA_BUNDLE": str(ca_pem),
        "DRIFT_MONITOR_TOKEN": issuer.token("manager"),
    }
