"""Serve the built page (web/dist) to Envoy, which puts it on the API's origin.

    python web/serve.py --listen 127.0.0.1:8960 --issuer http://127.0.0.1:8950 [--dist web/dist]

Any path that is not a file gets index.html (the page routes itself: deep links work), except under
/assets/, where a missing file is a 404. /config.json tells the page which OpenID issuer to sign in with.
Hashed assets are cached for a year; index.html and config.json never.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_server(listen: str, dist: Path, config: dict[str, str]) -> ThreadingHTTPServer:
    host, port = listen.rsplit(":", 1)
    dist = dist.resolve()
    config_body = json.dumps(config).encode()
    issuer_origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(config["issuer"]))
    security = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Scripts only from here; calls only to here and the issuer (token, discovery).
        "Content-Security-Policy": f"default-src 'self'; connect-src 'self' {issuer_origin}; img-src 'self' data: blob:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - Envoy logs every request
            pass

        def _send(self, status: int, body: bytes, content_type: str, cache: str, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", cache)
            for key, value in security.items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:  # noqa: N802
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
            if path == "/config.json":
                return self._send(200, config_body, "application/json", "no-store", head)
            target = (dist / path.lstrip("/")).resolve()
            if target.is_file() and target.is_relative_to(dist) and path != "/index.html":
                immutable = path.startswith("/assets/")
                content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                return self._send(200, target.read_bytes(), content_type, "public, max-age=31536000, immutable" if immutable else "no-cache", head)
            if path.startswith("/assets/"):
                return self._send(404, b"not found\n", "text/plain", "no-store", head)
            index = dist / "index.html"
            if not index.is_file():
                return self._send(503, b"the page is not built: cd web && npm ci && npm run build\n", "text/plain", "no-store", head)
            self._send(200, index.read_bytes(), "text/html; charset=utf-8", "no-cache", head)

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    server.daemon_threads = True
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:8960")
    parser.add_argument("--dist", type=Path, default=HERE / "dist")
    parser.add_argument("--issuer", required=True, help="the OpenID issuer the page signs in with")
    parser.add_argument("--client-id", default="drift-monitoring-web")
    parser.add_argument("--scope", default="openid profile email eduperson_entitlement offline_access")
    args = parser.parse_args()
    server = make_server(args.listen, args.dist, {"issuer": args.issuer, "clientId": args.client_id, "scope": args.scope})
    print(f"web: serving {args.dist} on http://{args.listen}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
