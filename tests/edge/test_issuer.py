"""The sandbox OpenID provider as a process: discovery, JWKS, password / authorization_code (PKCE) /
refresh_token grants, UserInfo, and the CLI's token, rotate and retire working on the shared state."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "drift-monitoring-web"
REDIRECT = "http://localhost:5173/callback"


class Provider:
    def __init__(self, state: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url, self.state = f"http://127.0.0.1:{port}", state
        self.log = state.parent / f"issuer-{port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sandbox.issuer", "--state", str(state), "--issuer", self.url, "serve", "--listen", f"127.0.0.1:{port}"],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/jwks", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "sandbox.issuer", "--state", str(self.state), "--issuer", self.url, *args],
                                cwd=ROOT, capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def verify(self, token: str, audience: str = "drift-monitoring") -> dict:
        """Check a token the way a relying party does: the key from the published JWKS, RS256 only."""
        keys = {key["kid"]: key for key in httpx.get(f"{self.url}/jwks").json()["keys"]}
        key = jwt.PyJWK(keys[jwt.get_unverified_header(token)["kid"]])
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=self.url)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    running = Provider(tmp_path_factory.mktemp("issuer") / "state")
    yield running
    running.process.terminate()
    running.process.wait(10)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(provider: Provider, persona: str, challenge: str, **extra: str) -> httpx.Response:
    query = {"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT, "scope": "openid profile offline_access",
             "state": "st4te", "nonce": "n0nce", "code_challenge": challenge, "code_challenge_method": "S256", **extra}
    return httpx.post(f"{provider.url}/authorize", data={**query, "persona": persona})


def code_from(reply: httpx.Response) -> str:
    assert reply.status_code == 302, reply.text
    location = httpx.URL(reply.headers["location"])
    assert str(location).startswith(REDIRECT) and location.params["state"] == "st4te"
    return location.params["code"]


def exchange(provider: Provider, code: str, verifier: str, **extra: str) -> httpx.Response:
    return httpx.post(f"{provider.url}/token", data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                                                     "client_id": CLIENT, "redirect_uri": REDIRECT, **extra})


def test_discovery_describes_the_provider(provider):
    config = httpx.get(f"{provider.url}/.well-known/openid-configuration").json()
    assert config["issuer"] == provider.url
    assert {config[k] for k in ("jwks_uri", "token_endpoint", "userinfo_endpoint", "authorization_endpoint")} == {
        f"{provider.url}/{path}" for path in ("jwks", "token", "userinfo", "authorize")
    }
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token", "password"} <= set(config["grant_types_supported"])


def test_password_grant_gives_a_verifiable_access_token(provider):
    reply = httpx.post(f"{provider.url}/token", data={"grant_type": "password", "username": "manager", "password": "manager"})
    assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store"
    body = reply.json()
    claims = provider.verify(body["access_token"])
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "name", "email", "eduperson_entitlement"} <= set(claims)
    assert claims["sub"] == "manager" and claims["eduperson_entitlement"] == ["urn:drift-monitoring:group:ml-team"]
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "RS256"


@pytest.mark.parametrize("form", [
    {"grant_type": "password", "username": "manager", "password": "wrong"},
    {"grant_type": "password", "username": "nobody", "password": "nobody"},
    {"grant_type": "client_credentials"},
])
def test_token_endpoint_refuses(provider, form):
    reply = httpx.post(f"{provider.url}/token", data=form)
    assert reply.status_code == 400 and reply.json()["error"] in ("invalid_grant", "unsupported_grant_type")


def test_authorize_page_lists_the_personas(provider):
    _, challenge = pkce()
    page = httpx.get(f"{provider.url}/authorize", params={"response_type": "code", "client_id": CLIENT, "redirect_uri": REDIRECT,
                                                          "code_challenge": challenge, "code_challenge_method": "S256"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in ("admin", "manager", "editor", "reader", "outsider"):
        assert f'value="{name}"' in page.text


def test_authorization_code_with_pkce(provider):
    verifier, challenge = pkce()
    code = code_from(authorize(provider, "editor", challenge))
    tokens = exchange(provider, code, verifier).json()
    assert provider.verify(tokens["access_token"])["sub"] == "editor"
    id_token = provider.verify(tokens["id_token"], audience=CLIENT)
    assert id_token["nonce"] == "n0nce" and id_token["sub"] == "editor"
    again = exchange(provider, code, verifier)  # a code works once
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_authorization_code_needs_the_right_verifier_and_redirect(provider):
    verifier, challenge = pkce()
    assert exchange(provider, code_from(authorize(provider, "reader", challenge)), "x" * 43).json()["error"] == "invalid_grant"
    assert exchange(provider, code_from(authorize(provider, "reader", challenge)), verifier,
                    redirect_uri="http://localhost:5173/other").json()["error"] == "invalid_grant"


@pytest.mark.parametrize("change", [
    {"code_challenge_method": "plain"},
    {"code_challenge": ""},
    {"redirect_uri": "https://evil.example.org/callback"},
    {"response_type": "token"},
])
def test_bad_authorization_requests_are_not_redirected(provider, change):
    _, challenge = pkce()
    reply = authorize(provider, "reader", challenge, **change)
    assert reply.status_code == 400 and "location" not in reply.headers


def test_refresh_tokens_rotate(provider):
    verifier, challenge = pkce()
    first = exchange(provider, code_from(authorize(provider, "manager", challenge)), verifier).json()
    refreshed = httpx.post(f"{provider.url}/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": CLIENT})
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert provider.verify(second["access_token"])["sub"] == "manager" and second["refresh_token"] != first["refresh_token"]
    reused = httpx.post(f"{provider.url}/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": CLIENT})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_userinfo(provider):
    token = provider.cli("token", "outsider", "--no-entitlements")
    assert "eduperson_entitlement" not in provider.verify(token)
    info = httpx.get(f"{provider.url}/userinfo", headers={"authorization": f"Bearer {token}"}).json()
    assert info["sub"] == "outsider" and info["eduperson_entitlement"] == ["urn:drift-monitoring:group:other-team"]
    for bad in ("", "Basic YTpi", "Bearer not.a.token", f"Bearer {provider.cli('token', 'outsider', '--expired')}"):
        reply = httpx.get(f"{provider.url}/userinfo", headers={"authorization": bad} if bad else {})
        assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Bearer"), bad


def test_cli_token_options(provider):
    now = time.time()
    expired = jwt.decode(provider.cli("token", "reader", "--expired"), options={"verify_signature": False})
    assert expired["exp"] < now - 30
    later = jwt.decode(provider.cli("token", "reader", "--not-before-offset", "600"), options={"verify_signature": False})
    assert later["nbf"] >= now + 590
    short = provider.verify(provider.cli("token", "reader", "--lifetime", "60"))
    assert short["exp"] - short["iat"] == 60
    other = provider.cli("token", "reader", "--audience", "someone-else")
    assert provider.verify(other, audience="someone-else")["aud"] == "someone-else"
    with pytest.raises(jwt.InvalidAudienceError):
        provider.verify(other)


def test_rotate_and_retire_reach_the_running_issuer(provider):
    before = {key["kid"] for key in httpx.get(f"{provider.url}/jwks").json()["keys"]}
    old_token = provider.cli("token", "admin")
    provider.cli("rotate")
    new_token = provider.cli("token", "admin")
    published = {key["kid"] for key in httpx.get(f"{provider.url}/jwks").json()["keys"]}
    new_kid = jwt.get_unverified_header(new_token)["kid"]
    assert new_kid not in before and published == before | {new_kid}
    assert provider.verify(old_token) and provider.verify(new_token)  # both keys published
    provider.cli("retire")
    assert {key["kid"] for key in httpx.get(f"{provider.url}/jwks").json()["keys"]} == {new_kid}
    assert httpx.get(f"{provider.url}/userinfo", headers={"authorization": f"Bearer {old_token}"}).status_code == 401
    assert httpx.get(f"{provider.url}/userinfo", headers={"authorization": f"Bearer {new_token}"}).status_code == 200
