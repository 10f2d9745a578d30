"""MyToken against a fake MyToken server that speaks the real protocol: discovery, exchange, rotation, errors."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from drift_monitoring import AuthenticationError, Client, DriftMonitor
from drift_monitoring.auth import MyTokenSource
from stack import free_port


class FakeMyToken:
    """Rotating mytokens: each exchange answers with a new mytoken and retires the one used."""

    def __init__(self, issuer, expires_in: int = 3600) -> None:
        self.valid = {"mt-0"}
        self.seen: list[str] = []
        self.expires_in = expires_in
        self.errors = {"mt-revoked": "invalid_token", "mt-no-at": "insufficient_capabilities", "mt-restricted": "usage_restricted"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                assert self.path == "/.well-known/mytoken-configuration"
                self._reply(200, {"issuer": fake.url, "access_token_endpoint": f"{fake.url}/api/v0/token/access"})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert body["grant_type"] == "mytoken"
                mytoken = body["mytoken"]
                fake.seen.append(mytoken)
                if mytoken in fake.errors:
                    self._reply(400, {"error": fake.errors[mytoken], "error_description": "refused"})
                elif mytoken not in fake.valid:
                    self._reply(400, {"error": "invalid_token", "error_description": "unknown or already rotated"})
                else:
                    rotated = f"mt-{len(fake.seen)}"
                    fake.valid = {rotated}
                    self._reply(200, {"access_token": issuer.token("manager"), "token_type": "Bearer",
                                      "expires_in": fake.expires_in, "token_update": {"mytoken": rotated}})

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def mytoken_server(issuer):
    fake = FakeMyToken(issuer)
    yield fake
    fake.close()


def test_rotated_mytoken_is_saved_and_used_next_run(mytoken_server, tmp_path):
    first = MyTokenSource("mt-0", mytoken_server.url, tmp_path)
    assert first.access_token().count(".") == 2
    assert first.access_token() == first.access_token()  # cached, no new exchange
    assert mytoken_server.seen == ["mt-0"]
    # A new run configured with the same (now rotated away) mytoken starts from the saved one.
    second = MyTokenSource("mt-0", mytoken_server.url, tmp_path)
    second.access_token()
    assert mytoken_server.seen == ["mt-0", "mt-1"]
    assert (tmp_path / "mytokens").exists() and all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "mytokens").iterdir())


def test_access_token_is_refreshed_before_it_expires(issuer, tmp_path):
    fake = FakeMyToken(issuer, expires_in=30)  # shorter than the refresh margin: every use exchanges
    try:
        source = MyTokenSource("mt-0", fake.url, tmp_path)
        source.access_token()
        source.access_token()
        assert fake.seen == ["mt-0", "mt-1"]
    finally:
        fake.close()


@pytest.mark.parametrize(
    ("mytoken", "message"),
    [("mt-revoked", "invalid_token"), ("mt-no-at", "insufficient_capabilities"), ("mt-restricted", "usage_restricted")],
)
def test_mytoken_errors_are_clear(mytoken_server, tmp_path, mytoken, message):
    with pytest.raises(AuthenticationError, match=message):
        MyTokenSource(mytoken, mytoken_server.url, tmp_path).access_token()


def test_a_job_authenticated_with_a_mytoken(mytoken_server, settings, client, experiment):
    configured = {**settings, "token": "", "mytoken": "mt-0", "mytoken_server": mytoken_server.url}
    with DriftMonitor(experiment.name, "mytoken-model", **configured) as monitor:
        monitor.data(False, {"p": 0.5})
    assert [d.model for d in client.list_drifts(experiment.id)] == ["mytoken-model"]


def test_token_and_mytoken_together_is_a_configuration_error(settings):
    with pytest.raises(Exception, match="not both"):
        Client(**{**settings, "mytoken": "x", "mytoken_server": "http://127.0.0.1:1"})
