"""The issuer's HTTP endpoints: discovery, JWKS, token (persona password grant) and UserInfo."""

from __future__ import annotations

import json
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from sandbox import personas
from sandbox.issuer.keys import KeyStore, persona_claims


def make_server(listen: str, issuer: str, keys: KeyStore) -> ThreadingHTTPServer:
    host, port = listen.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            path = urllib.parse.urlsplit(self.path).path
            if path == "/.well-known/openid-configuration":
                self._json(200, {
                    "issuer": issuer,
                    "jwks_uri": f"{issuer}/jwks",
                    "token_endpoint": f"{issuer}/token",
                    "userinfo_endpoint": f"{issuer}/userinfo",
                    "grant_types_supported": ["password"],
                    "response_types_supported": ["token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                })
            elif path == "/jwks":
                self._json(200, keys.jwks())
            elif path == "/userinfo":
                self._userinfo()
            else:
                self._json(404, {"error": "not_found"})

        def _userinfo(self) -> None:
            auth = self.headers.get("Authorization", "")
            try:
                claims = keys.verify(auth.removeprefix("Bearer ").strip(), issuer)
                persona = personas.CONFIG["personas"][claims["sub"]]
            except (jwt.InvalidTokenError, KeyError):
                self._json(401, {"error": "invalid_token"})
                return
            self._json(200, {
                "sub": claims["sub"], "name": persona["name"], "email": persona["email"],
                "eduperson_entitlement": persona["entitlements"],
            })

        def do_POST(self) -> None:  # noqa: N802
            if urllib.parse.urlsplit(self.path).path != "/token":
                self._json(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            username = form.get("username", "")
            if form.get("grant_type") != "password":
                self._json(400, {"error": "unsupported_grant_type"})
            elif username not in personas.NAMES or form.get("password") != username:
                self._json(400, {"error": "invalid_grant", "error_description": "sandbox personas log in with their name as password"})
            else:
                self._json(200, {"access_token": keys.sign(persona_claims(username, issuer)), "token_type": "Bearer", "expires_in": 3600})

    return ThreadingHTTPServer((host, int(port)), Handler)
