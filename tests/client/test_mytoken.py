"""MyToken against a fake MyToken server that speaks the real protocol: discovery, exchange, rotation, errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from drift_monitoring import AuthenticationError, Client, DriftMonitor
from drift_monitoring.auth import MyTokenSource
from stack import ROOT, free_port


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # many client processes connect at once


class FakeMyToken:
    """Rotating mytokens: each exchange answers with a new mytoken and revokes the one used (atomically,
    so two clients racing with one mytoken cannot both succeed)."""

    def __init__(self, issuer, expires_in: int = 3600) -> None:
        self.lock = threading.Lock()
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
                with fake.lock:
                    fake.seen.append(mytoken)
                    accepted = mytoken in fake.valid and mytoken not in fake.errors
                    if accepted:
                        rotated = f"mt-{len(fake.seen)}"
                        fake.valid = {rotated}
                if mytoken in fake.errors:
                    self._reply(400, {"error": fake.errors[mytoken], "error_description": "refused"})
                elif not accepted:
                    self._reply(400, {"error": "invalid_token", "error_description": "unknown or already rotated"})
                else:
                    self._reply(200, {"access_token": fake.access_token(), "token_type": "Bearer",
                                      "expires_in": fake.expires_in, "token_update": {"mytoken": rotated}})

        self.access_token = lambda: issuer.token("manager")
        self.server = _Server(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def mytoken_server(issuer):
    fake = FakeMyToken(issuer)
    yield fake
    fake.close()


def test_rotated_mytoken_and_access_token_are_saved_for_the_next_run(mytoken_server, tmp_path):
    first = MyTokenSource("mt-0", mytoken_server.url, tmp_path)
    assert first.access_token().count(".") == 2
    assert first.access_token() == first.access_token()  # cached, no new exchange
    assert mytoken_server.seen == ["mt-0"]
    store = tmp_path / "mytokens" / hashlib.sha256(b"mt-0").hexdigest()[:24]
    assert sorted(p.name for p in store.parent.iterdir()) == [store.name, f"{store.name}.lock"]  # no temporary left
    state = json.loads(store.read_text())
    assert state["mytoken"] == "mt-1" and state["access_token"] == first.access_token()
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "mytokens").iterdir())
    # A new run configured with the same (now rotated away) mytoken takes up the saved access token...
    assert MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token() == first.access_token()
    assert mytoken_server.seen == ["mt-0"]
    # ...and, once that is about to expire, exchanges the saved mytoken, not the configured one.
    store.write_text(json.dumps({**state, "expires_at": time.time() + 5}))
    MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token()
    assert mytoken_server.seen == ["mt-0", "mt-1"]


def test_a_bare_mytoken_file_is_read_and_an_empty_or_torn_one_ignored(mytoken_server, tmp_path, caplog):
    store = tmp_path / "mytokens" / hashlib.sha256(b"mt-0").hexdigest()[:24]
    store.parent.mkdir()
    mytoken_server.valid = {"mt-5"}
    store.write_text("mt-5\n")  # the format before access tokens were shared
    MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token()
    assert mytoken_server.seen == ["mt-5"] and json.loads(store.read_text())["mytoken"] == "mt-1"
    for content in ("", '{"mytoken": "mt-'):
        store.write_text(content)
        with pytest.raises(AuthenticationError, match="invalid_token"):  # the configured mt-0 was rotated away
            MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token()
        assert str(store) in caplog.text
    mytoken_server.valid = {"mt-0"}  # where the configured mytoken still works, the exchange repairs the file
    MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token()
    assert json.loads(store.read_text())["mytoken"] == f"mt-{len(mytoken_server.seen)}"


def test_a_state_file_is_private_from_its_creation(mytoken_server, tmp_path, monkeypatch):
    """Written through a temporary file created 0600 even under a permissive umask (never chmod after)."""
    created: list[int] = []
    real_open = os.open

    def spying_open(path, flags, mode=0o777, **kwargs):
        if str(path).endswith(".tmp"):
            created.append(mode)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spying_open)
    previous = os.umask(0)
    try:
        MyTokenSource("mt-0", mytoken_server.url, tmp_path).access_token()
    finally:
        os.umask(previous)
    assert created == [0o600]
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "mytokens").iterdir())


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


def rotate_in_processes(commands: list[list[str]], fake: FakeMyToken, state: Path, rounds: int) -> list[str]:
    """Start every command at once as a MyToken client process sharing one state directory; their errors."""
    env = {**os.environ, "DRIFT_MONITOR_MYTOKEN": "mt-0", "MYTOKEN_SERVER": fake.url, "DRIFT_MONITOR_STATE_DIR": str(state)}
    env["DRIFT_MONITOR_TEST_MYTOKEN_ROUNDS"] = str(rounds)  # the Go test binary's client mode
    processes = [subprocess.Popen([*command, str(rounds)], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True) for command in commands]
    errors = []
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            errors.append(f"{process.args[0]} exited {process.returncode}: {stderr.strip()[-500:]}")
    return errors


PYTHON_CLIENT = [sys.executable, "-m", "tests.client.mytoken_rotate"]


def test_processes_sharing_a_rotating_mytoken_never_revoke_each_others(issuer, tmp_path):
    fake = FakeMyToken(issuer, expires_in=30)  # inside the refresh margin: every call exchanges, and rotates
    try:
        errors = rotate_in_processes([PYTHON_CLIENT] * 4, fake, tmp_path, rounds=6)
        assert not errors, errors
        assert len(fake.seen) == 4 * 6 and len(set(fake.seen)) == len(fake.seen)  # no mytoken used twice
        store = tmp_path / "mytokens" / hashlib.sha256(b"mt-0").hexdigest()[:24]
        assert {json.loads(store.read_text())["mytoken"]} == fake.valid
    finally:
        fake.close()


def test_processes_take_up_an_access_token_another_one_got(mytoken_server, tmp_path):
    errors = rotate_in_processes([PYTHON_CLIENT] * 4, mytoken_server, tmp_path, rounds=3)
    assert not errors, errors
    assert mytoken_server.seen == ["mt-0"]  # one exchange; the other processes read its access token


def test_sources_in_one_process_share_a_rotating_mytoken_too(issuer, tmp_path):
    """A job and its dashboard in one interpreter hold separate sources: the file lock serializes them as
    well (flock locks belong to each open file, not to the process, unlike fcntl's record locks)."""
    fake = FakeMyToken(issuer, expires_in=30)  # every call exchanges, and rotates
    errors: list[Exception] = []

    def use(source: MyTokenSource) -> None:
        try:
            for _ in range(5):
                source.access_token()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=use, args=(MyTokenSource("mt-0", fake.url, tmp_path),)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
        assert fake.seen == [f"mt-{i}" for i in range(20)]  # each exchange used the mytoken the one before returned
    finally:
        fake.close()


def test_an_unusable_state_directory_does_not_stop_the_job(mytoken_server, tmp_path, caplog):
    """The state directory is a file here (read-only homes and foreign directories fail the same way):
    the exchange works, rotations stay in this process, and the log says why."""
    state = tmp_path / "state"
    state.write_text("not a directory")
    source = MyTokenSource("mt-0", mytoken_server.url, state)
    assert source.access_token() == source.access_token()
    assert mytoken_server.seen == ["mt-0"]
    assert "not shared with other processes" in caplog.text and "cannot save the rotated mytoken" in caplog.text
