from tests.client.conftest import client, settings  # noqa: F401
