"""Edge-only fixtures (the shared stack lives in tests/conftest.py)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="session")
def http(ca_pem: Path) -> Iterator[httpx.Client]:
    """HTTP/1.1 over TLS, as browsers and curl speak to the edge."""
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_pem)), http1=True, http2=False, timeout=10) as client:
        yield client
