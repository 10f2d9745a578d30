"""Local alert receivers for the sandbox: a webhook receiver and a mail catcher in one process.

    python -m sandbox.receivers --webhook-port 8970 --smtp-port 8025 --log .run/notifications.jsonl \
        [--tls-cert .run/certs/server.pem --tls-key .run/certs/server-key.pem]

`make run` (scripts/stack.sh) starts it and points the server's alert settings at it, so a new user sees
notifications arrive. Every webhook request and every mail is one JSON line in --log (with `channel`
"webhook" or "email"), and a one-line summary on standard output. Nothing is verified: the signature
headers are only recorded (docs/alerts.md shows a receiver that checks them).

The server only sends mail over STARTTLS, so give --tls-cert/--tls-key (the dev certificate): the catcher
then offers STARTTLS, without requiring it or any login. Only on 127.0.0.1; for the sandbox, never production.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import http.server
import json
import signal
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Log:
    """Appends one JSON line per notification, from any thread, and prints its summary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any], summary: str) -> None:
        with self.lock:
            with self.path.open("a") as out:
                out.write(json.dumps(record, default=str) + "\n")
            print(summary, flush=True)


def _describe(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("data"), dict):
        data = body["data"]
        return f"{body.get('type', '?')} {data.get('rule_name', '?')!r} on {data.get('experiment_name', '?')}: {data.get('summary', '')}"
    if isinstance(body, dict) and "text" in body:  # a Slack-style message
        return f"slack {body['text']}"
    return "(not a notification)"


def webhook_server(port: int, log: Log) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {name.lower(): value for name, value in self.headers.items()}
            # raw: the exact bytes the signature covers (body is them parsed, for reading)
            record = {"channel": "webhook", "time": time.time(), "path": self.path, "headers": headers, "body": body,
                      "raw": raw.decode("utf-8", "replace")}
            log.write(record, f"webhook {self.path} {headers.get('webhook-id', '-')} {_describe(body)}")
            self._answer(200, b"ok")

        def do_GET(self) -> None:  # noqa: N802 - a liveness answer
            self._answer(200, b"drift monitoring sandbox webhook receiver: POST notifications here\n")

        def _answer(self, status: int, text: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def mail_catcher(port: int, log: Log, tls: ssl.SSLContext | None) -> Any:
    """An aiosmtpd controller (its own thread); STARTTLS offered when tls is given, never required; no AUTH."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415 - only when a mail catcher is wanted

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            part = message.get_body(preferencelist=("plain",))
            record = {"channel": "email", "time": time.time(), "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                      "subject": str(message["subject"] or ""), "message_id": str(message["message-id"] or ""),
                      "tls": session.ssl is not None, "body": part.get_content() if part is not None else ""}
            log.write(record, f"email to {', '.join(record['to'])}: {record['subject']}")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=False, auth_required=False)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook-port", type=int, required=True, help="HTTP port on 127.0.0.1 for webhooks")
    parser.add_argument("--smtp-port", type=int, default=0, help="SMTP port on 127.0.0.1 for mail (0: no mail catcher)")
    parser.add_argument("--log", type=Path, required=True, help="where every notification is appended as a JSON line")
    parser.add_argument("--tls-cert", help="certificate (PEM) the mail catcher offers STARTTLS with")
    parser.add_argument("--tls-key", help="its key")
    args = parser.parse_args(argv)
    log = Log(args.log)
    server = webhook_server(args.webhook_port, log)
    threading.Thread(target=server.serve_forever, name="webhook", daemon=True).start()
    controller = None
    mail = "no mail catcher"
    if args.smtp_port:
        tls = None
        if args.tls_cert:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args.tls_cert, args.tls_key)
        controller = mail_catcher(args.smtp_port, log, tls)
        mail = f"mail smtp://127.0.0.1:{args.smtp_port} ({'STARTTLS offered' if tls else 'no STARTTLS: the server will not send'})"
    print(f"receivers ready: webhooks http://127.0.0.1:{args.webhook_port}/, {mail}; log {args.log}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    if controller is not None:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
