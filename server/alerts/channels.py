"""Sending one notification through a rule's channel (blocking; the outbox runs it in its own threads).

Every outcome says whether to try again: timeouts, connection errors, 408, 429 and 5xx are retried
(Retry-After honoured); other answers, a refused target and a missing secret are final."""

from __future__ import annotations

import email.utils
import json
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from server.alerts import net, signing
from server.settings import Settings

MAX_PAYLOAD = 64 * 1024  # bytes of a notification's JSON body (runs are capped to stay well below)
RETRYABLE = {408, 429}


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    retryable: bool
    status_code: int
    detail: str
    retry_after: float | None = None


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _http(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> Outcome:
    try:
        answer = net.post(url, body, headers, timeout=settings.alert_timeout_seconds, allowed=settings.alert_allow_networks,
                          ca_bundle=settings.alert_ca_bundle)
    except net.Refused as exc:
        return Outcome(False, False, 0, str(exc))
    except (OSError, ssl.SSLError) as exc:  # timeouts, refused connections, TLS failures, DNS
        return Outcome(False, True, 0, f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:  # noqa: BLE001 - a malformed answer is the receiver's fault: retry
        return Outcome(False, True, 0, f"{type(exc).__name__}: {exc}"[:500])
    detail = answer.body[:200].decode("utf-8", "replace")
    if 200 <= answer.status < 300:
        return Outcome(True, False, answer.status, detail)
    retryable = answer.status in RETRYABLE or answer.status >= 500
    return Outcome(False, retryable, answer.status, detail, _retry_after(answer.headers.get("retry-after")) if retryable else None)


def slack_text(payload: dict[str, Any]) -> str:
    data = payload["data"]
    icon = {"alert.firing": ":rotating_light:", "alert.repeat": ":rotating_light:", "alert.resolved": ":white_check_mark:"}.get(payload["type"], "")
    state = {"alert.firing": "FIRING", "alert.repeat": "still FIRING", "alert.resolved": "RESOLVED"}.get(payload["type"], "")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(data.get("labels", {}).items()))
    return f"{icon} *{data['rule_name']}* {state}{f' ({labels})' if labels else ''}: {data['summary']}"


def _email(to: list[str], payload: dict[str, Any], message_id: str, settings: Settings) -> Outcome:
    if not settings.smtp_host:
        return Outcome(False, False, 0, "email is not configured on this server (DRIFT_MONITOR_SMTP_HOST)")
    message = EmailMessage()
    message["From"] = settings.smtp_from or f"drift-monitor@{socket.getfqdn()}"
    message["To"] = ", ".join(to)
    message["Subject"] = slack_text(payload).split(" ", 1)[1].replace("*", "")[:200]
    message["Message-ID"] = f"<{message_id}@drift-monitoring>"  # stable: a retried mail is the same message
    message.set_content(json.dumps(payload, indent=2, sort_keys=True, default=str))
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.alert_timeout_seconds) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                return Outcome(False, False, 0, "the SMTP server does not offer STARTTLS; refusing to send in the clear")
            smtp.starttls(context=ssl.create_default_context(cafile=settings.alert_ca_bundle or None))
            smtp.ehlo()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
        return Outcome(True, False, 250, "accepted")
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, exc.smtp_code >= 400 and exc.smtp_code < 500, exc.smtp_code, str(exc.smtp_error)[:300])
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, True, 0, f"{type(exc).__name__}: {exc}"[:500])


def send(channel: dict[str, Any], secrets: list[str], message_id: str, payload: dict[str, Any], settings: Settings) -> Outcome:
    if channel["type"] == "webhook":
        if not secrets:
            return Outcome(False, False, 0, "the rule has no signing secret")
        body = body_of(payload)
        return _http(channel["url"], body, signing.headers(secrets, message_id, int(time.time()), body), settings)
    if channel["type"] == "slack":
        return _http(channel["url"], body_of({"text": slack_text(payload)}), {}, settings)
    return _email(channel["to"], payload, message_id, settings)
