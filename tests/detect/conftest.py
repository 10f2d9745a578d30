"""The detect tests record on the real stack with the client tests' fixtures."""

from tests.client.conftest import client, experiment, settings  # noqa: F401
