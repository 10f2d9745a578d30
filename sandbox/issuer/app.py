"""The issuer's HTTP endpoints: discovery, JWKS, authorize, token and UserInfo.

Grants: `authorization_code` with PKCE S256 (the browser view: /authorize shows the personas to pick from),
`refresh_token` (rotated on every use) and, for scripts, `password` with a persona's name as both username
and password. Codes and refresh tokens live in memory: restarting the issuer signs everyone out.
"""

from __future__ import annotations

import base64
import hashlib
import html
import hmac
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from sandbox import personas
from sandbox.issuer.keys import KeyStore, persona_claims

ACCESS_TOKEN_LIFETIME = 3600
CODE_LIFETIME = 60
REFRESH_LIFETIME = 8 * 3600
SCOPES = ("openid", "profile", "email", "eduperson_entitlement", "offline_access")


@dataclass(frozen=True)
class Code:
    persona: str
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    nonce: str
    expires: float


@dataclass(frozen=True)
class Refresh:
    persona: str
    client_id: str
    scope: str
    expires: float


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Issuer:
    """The protocol, apart from HTTP: codes, refresh tokens and the tokens they turn into."""

    def __init__(
        self,
        url: str,
        keys: KeyStore,
        *,
        token_lifetime: int = ACCESS_TOKEN_LIFETIME,
        entitlements_in_token: bool = True,
        redirect_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.url, self.keys = url.rstrip("/"), keys
        self.token_lifetime = token_lifetime
        # False imitates EGI Check-in: entitlements only from UserInfo.
        self.entitlements_in_token = entitlements_in_token
        self.redirect_prefixes = redirect_prefixes
        self._lock = threading.Lock()
        self._codes: dict[str, Code] = {}
        self._refresh: dict[str, Refresh] = {}

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "password"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nbf", "name", "email", "eduperson_entitlement"],
        }

    def authorize(self, query: dict[str, str], persona: str) -> str:
        """The redirect URI carrying a fresh code for persona (the request is checked first)."""
        redirect_uri = self.check_authorize(query)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._codes[code] = Code(
                persona=persona, client_id=query["client_id"], redirect_uri=redirect_uri,
                challenge=query["code_challenge"], scope=query.get("scope", "openid"), nonce=query.get("nonce", ""),
                expires=time.time() + CODE_LIFETIME,
            )
        params = {"code": code, **({"state": query["state"]} if query.get("state") else {}), "iss": self.url}
        return redirect_uri + ("&" if "?" in redirect_uri else "?") + urllib.parse.urlencode(params)

    def check_authorize(self, query: dict[str, str]) -> str:
        redirect_uri = query.get("redirect_uri", "")
        target = urllib.parse.urlsplit(redirect_uri)
        if target.scheme not in ("http", "https") or not target.netloc or target.fragment:
            raise OAuthError("invalid_request", "redirect_uri must be an absolute http(s) URI without a fragment")
        loopback = target.hostname in ("localhost", "127.0.0.1", "::1")
        if not loopback and not redirect_uri.startswith(self.redirect_prefixes or ("\0",)):
            raise OAuthError("invalid_request", "redirect_uri must be on loopback or start with an allowed prefix (--allow-redirect)")
        if not query.get("client_id"):
            raise OAuthError("invalid_request", "client_id is required")
        if query.get("response_type") != "code":
            raise OAuthError("unsupported_response_type", "only response_type=code is supported")
        if query.get("code_challenge_method") != "S256" or not 43 <= len(query.get("code_challenge", "")) <= 128:
            raise OAuthError("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256")
        return redirect_uri

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        grant = form.get("grant_type", "")
        if grant == "password":
            persona = form.get("username", "")
            if persona not in personas.NAMES or not hmac.compare_digest(form.get("password", ""), persona):
                raise OAuthError("invalid_grant", "sandbox personas sign in with their name as username and password")
            return self._tokens(persona, form.get("client_id", "sandbox-cli"), form.get("scope", "openid"), nonce="")
        if grant == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)  # single use, even when the exchange fails
            if code is None or code.expires < time.time():
                raise OAuthError("invalid_grant", "unknown, used or expired code")
            if form.get("client_id") != code.client_id or form.get("redirect_uri") != code.redirect_uri:
                raise OAuthError("invalid_grant", "client_id and redirect_uri must match the authorization request")
            if not hmac.compare_digest(s256(form.get("code_verifier", "")), code.challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match code_challenge")
            return self._tokens(code.persona, code.client_id, code.scope, code.nonce)
        if grant == "refresh_token":
            with self._lock:
                refresh = self._refresh.pop(form.get("refresh_token", ""), None)  # rotated: each one works once
            if refresh is None or refresh.expires < time.time():
                raise OAuthError("invalid_grant", "unknown, used or expired refresh token")
            if form.get("client_id", refresh.client_id) != refresh.client_id:
                raise OAuthError("invalid_grant", "the refresh token belongs to another client")
            return self._tokens(refresh.persona, refresh.client_id, refresh.scope, nonce="")
        raise OAuthError("unsupported_grant_type", "grant_type must be authorization_code, refresh_token or password")

    def _tokens(self, persona: str, client_id: str, scope: str, nonce: str) -> dict[str, Any]:
        access = self.keys.sign(
            persona_claims(persona, self.url, lifetime=self.token_lifetime, client_id=client_id, scope=scope,
                           entitlements=self.entitlements_in_token),
            typ="at+jwt",
        )
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._refresh[refresh] = Refresh(persona, client_id, scope, time.time() + REFRESH_LIFETIME)
        reply: dict[str, Any] = {
            "access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime,
            "refresh_token": refresh, "scope": scope,
        }
        if "openid" in scope.split():
            claims = persona_claims(persona, self.url, lifetime=self.token_lifetime, audience=client_id)
            for key in ("jti", "scope"):
                claims.pop(key, None)
            if nonce:
                claims["nonce"] = nonce
            reply["id_token"] = self.keys.sign(claims)
        return reply

    def userinfo(self, authorization: str) -> dict[str, Any]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise OAuthError("invalid_token", "a bearer access token is required", 401)
        try:
            claims = self.keys.verify(token.strip(), self.url)
            persona = personas.CONFIG["personas"][claims["sub"]]
        except (jwt.InvalidTokenError, KeyError):
            raise OAuthError("invalid_token", "the access token is invalid or expired", 401) from None
        return {
            "sub": claims["sub"], "name": persona["name"], "email": persona["email"],
            "eduperson_entitlement": persona["entitlements"],
        }

    def _expire(self) -> None:
        now = time.time()
        for store in (self._codes, self._refresh):
            for key in [key for key, value in store.items() if value.expires < now]:
                del store[key]


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox sign-in</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}button{{display:block;width:100%;margin:.4rem 0;
padding:.6rem;text-align:left;font-size:1rem}}small{{color:#666}}</style></head>
<body><h1>Drift Monitoring sandbox</h1><p>Sign in to <b>{client}</b> as one of the sandbox personas.</p>
<form method="post" action="/authorize">{hidden}{buttons}</form>
<p><small>A development issuer: anyone can be anyone here.</small></p></body></html>
"""


def login_page(query: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">' for key, value in query.items() if key != "persona"
    )
    buttons = "".join(
        f'<button name="persona" value="{html.escape(name)}">{html.escape(persona["name"])} <small>({html.escape(name)}:'
        f' {html.escape(", ".join(persona["entitlements"]) or "no groups")})</small></button>'
        for name, persona in personas.CONFIG["personas"].items()
    )
    return LOGIN_PAGE.format(client=html.escape(query.get("client_id", "")), hidden=hidden, buttons=buttons)


def make_server(listen: str, issuer: Issuer) -> ThreadingHTTPServer:
    host, port = listen.rsplit(":", 1)
    keys = issuer.keys

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            pass

        def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            # Browsers on other origins (the web view) call discovery, token and UserInfo directly.
            self.send_header("Access-Control-Allow-Origin", "*")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(body).encode(), "application/json", headers)

        def _error(self, error: OAuthError) -> None:
            headers = {"WWW-Authenticate": f'Bearer error="{error.error}"'} if error.status == 401 else None
            self._json(error.status, {"error": error.error, "error_description": error.description}, headers)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length", "0") or 0)
            return dict(urllib.parse.parse_qsl(self.rfile.read(length).decode())) if length else {}

        def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight
            self._send(204, b"", "text/plain", {
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "authorization, content-type",
                "Access-Control-Max-Age": "86400",
            })

        def do_GET(self) -> None:  # noqa: N802
            url = urllib.parse.urlsplit(self.path)
            try:
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, issuer.discovery())
                elif url.path == "/jwks":
                    self._json(200, keys.jwks())
                elif url.path == "/userinfo":
                    self._json(200, issuer.userinfo(self.headers.get("Authorization", "")))
                elif url.path == "/authorize":
                    self._authorize(dict(urllib.parse.parse_qsl(url.query)))
                else:
                    self._json(404, {"error": "not_found"})
            except OAuthError as error:
                self._error(error)

        def do_POST(self) -> None:  # noqa: N802
            path = urllib.parse.urlsplit(self.path).path
            try:
                if path == "/token":
                    self._json(200, issuer.token(self._form()))
                elif path == "/userinfo":
                    self._json(200, issuer.userinfo(self.headers.get("Authorization", "")))
                elif path == "/authorize":
                    self._authorize(self._form())
                else:
                    self._json(404, {"error": "not_found"})
            except OAuthError as error:
                self._error(error)

        def _authorize(self, query: dict[str, str]) -> None:
            """Without a persona: the page to pick one. With one: back to the client with a code."""
            issuer.check_authorize(query)  # a bad request is shown here, never redirected to an unchecked URI
            persona = query.get("persona", "")
            if persona not in personas.NAMES:
                self._send(200, login_page(query).encode(), "text/html; charset=utf-8")
                return
            self._send(302, b"", "text/plain", {"Location": issuer.authorize(query, persona)})

    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    return server
