"""server.userinfo against real HTTP: discovery, trust, caching until expiry, shared look-ups, timeouts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from server.userinfo import UserInfo


class FakeIssuer:
    """Discovery and a UserInfo endpoint that count requests, answer slowly or lie when told to."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.delay = 0.0
        self.subject = "alice"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": outer.url, "userinfo_endpoint": f"{outer.url}/userinfo"}
                elif self.path == "/userinfo" and self.headers.get("authorization", "").startswith("Bearer good"):
                    time.sleep(outer.delay)
                    body = {"sub": outer.subject, "eduperson_entitlement": ["urn:example:group:a"]}
                else:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # clients that time out
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def userinfo_calls(self) -> int:
        return self.requests.count("/userinfo")


@pytest.fixture
def fake() -> Iterator[FakeIssuer]:
    issuer = FakeIssuer()
    yield issuer
    issuer.server.shutdown()
    issuer.server.server_close()


async def test_entitlements_come_from_the_discovered_endpoint_and_are_cached(fake):
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        expires = time.time() + 600
        for _ in range(3):
            claims = await userinfo.claims(fake.url, "Bearer good-1", expires, "alice")
            assert claims["eduperson_entitlement"] == ["urn:example:group:a"]
        assert fake.requests == ["/.well-known/openid-configuration", "/userinfo"]
        await userinfo.claims(fake.url, "Bearer good-2", expires, "alice")  # another token: asked again, not discovered again
        assert fake.requests[2:] == ["/userinfo"]
    finally:
        await userinfo.close()


async def test_the_cache_ends_when_the_token_expires(fake):
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        await userinfo.claims(fake.url, "Bearer good-short", time.time() + 0.3, "alice")
        await asyncio.sleep(0.5)
        await userinfo.claims(fake.url, "Bearer good-short", time.time() + 600, "alice")
        assert fake.userinfo_calls() == 2
    finally:
        await userinfo.close()


async def test_untrusted_issuers_are_never_contacted(fake):
    userinfo = UserInfo(frozenset({"https://trusted.example.org"}))
    try:
        assert await userinfo.claims(fake.url, "Bearer good-1", time.time() + 600, "alice") == {}
        assert fake.requests == []
    finally:
        await userinfo.close()


async def test_an_answer_about_another_subject_is_ignored(fake):
    fake.subject = "mallory"
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        assert await userinfo.claims(fake.url, "Bearer good-1", time.time() + 600, "alice") == {}
    finally:
        await userinfo.close()


async def test_refused_tokens_give_no_entitlements(fake):
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        assert await userinfo.claims(fake.url, "Bearer bad", time.time() + 600, "alice") == {}
        assert await userinfo.claims(fake.url, "Basic YTpi", time.time() + 600, "alice") == {}
    finally:
        await userinfo.close()


async def test_concurrent_calls_with_one_token_share_one_request(fake):
    fake.delay = 0.3
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        answers = await asyncio.gather(*(userinfo.claims(fake.url, "Bearer good-1", time.time() + 600, "alice") for _ in range(20)))
        assert all(answer["sub"] == "alice" for answer in answers)
        assert fake.userinfo_calls() == 1
    finally:
        await userinfo.close()


async def test_a_slow_issuer_times_out_without_blocking_the_event_loop(fake):
    fake.delay = 3.0
    userinfo = UserInfo(frozenset({fake.url}), timeout=0.5)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        assert await userinfo.claims(fake.url, "Bearer good-slow", time.time() + 600, "alice") == {}
        elapsed = time.monotonic() - started
        assert elapsed < 2.0
        assert ticks >= elapsed / 0.05 * 0.5  # the loop kept running while we waited
    finally:
        task.cancel()
        await userinfo.close()


async def test_a_cancelled_lookup_does_not_strand_the_others(fake):
    fake.delay = 0.5
    userinfo = UserInfo(frozenset({fake.url}))
    try:
        first = asyncio.create_task(userinfo.claims(fake.url, "Bearer good-1", time.time() + 600, "alice"))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(userinfo.claims(fake.url, "Bearer good-1", time.time() + 600, "alice"))
        await asyncio.sleep(0.05)
        first.cancel()
        assert (await asyncio.wait_for(second, 5))["sub"] == "alice"
    finally:
        await userinfo.close()
