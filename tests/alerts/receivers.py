"""Real receivers for alert tests, each a process of its own (python -m tests.alerts.receivers ...):

  https PORT CERT KEY LOG DIR   an HTTPS webhook receiver; every request is a JSON line in LOG when it arrives.
                                Paths: /ok/..., /status/CODE/TIMES/... (CODE for the first TIMES requests of a
                                webhook-id, then 200), /retry-after/SECONDS/... (429 once per id), /hang/SECONDS/...
                                (the first request of an id waits SECONDS). A file DIR/down makes every answer 503.
  smtp PORT CERT KEY LOG USER PASSWORD   an aiosmtpd server that requires STARTTLS and AUTH; each message a JSON line.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import ssl
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any


def records(log: Path) -> list[dict[str, Any]]:
    """A receiver log's records, one JSON line each. A reader can catch a record half written (a large body
    takes several writes): the last line is taken only once its newline is there."""
    if not log.exists():
        return []
    text = log.read_text()
    return [json.loads(line) for line in text[: text.rfind("\n") + 1].splitlines() if line]


def https(port: int, cert: str, key: str, log: Path, control: Path) -> None:
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            msg_id = self.headers.get("webhook-id", "")
            parts = self.path.strip("/").split("/")
            with lock:
                seen[msg_id] += 1
                nth = seen[msg_id]
                status, extra = 200, {}
                if (control / "down").exists():
                    status = 503
                elif parts[0] == "status" and nth <= int(parts[2]):
                    status = int(parts[1])
                elif parts[0] == "retry-after" and nth == 1:
                    status, extra = 429, {"Retry-After": parts[1]}
                with log.open("a") as out:
                    out.write(json.dumps({"time": time.time(), "path": self.path, "nth": nth, "status": status, "body": body.decode(),
                                          "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")
            if parts[0] == "hang" and nth == 1:
                time.sleep(float(parts[1]))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


def smtp(port: int, cert: str, key: str, log: Path, user: str, password: str) -> None:
    from aiosmtpd.controller import Controller  # noqa: PLC0415
    from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: PLC0415

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            with log.open("a") as out:
                out.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace"),
                                      "tls": session.ssl is not None, "authenticated": bool(session.authenticated)}) + "\n")
            return "250 OK"

    def authenticate(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            auth_required=True, auth_require_tls=True, authenticator=authenticate)
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "https":
        https(int(args[0]), args[1], args[2], Path(args[3]), Path(args[4]))
    else:
        smtp(int(args[0]), args[1], args[2], Path(args[3]), args[4], args[5])
