"""Outbound connections for notifications, refused when they would reach what a server should not
(SSRF): loopback, private, link-local, shared, multicast, reserved and cloud-metadata addresses, unless the
operator allow-lists the network (DRIFT_MONITOR_ALERT_ALLOW_NETWORKS).

The check is made on the addresses the name resolves to at connect time, and the connection goes to the
address that was checked (never resolved a second time), so DNS rebinding gains nothing."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Besides what ipaddress calls private/loopback/link-local/...: metadata endpoints some clouds put elsewhere.
METADATA = (ipaddress.ip_network("100.100.100.200/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class Refused(Exception):
    """The target resolves to an address this server may not connect to."""


def refused_address(address: str, allowed: Iterable[str]) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in ipaddress.ip_network(net) for net in allowed):
        return False
    return not ip.is_global or ip.is_multicast or any(ip in net for net in METADATA)


def resolve_checked(host: str, port: int, allowed: Iterable[str]) -> list[tuple[int, str]]:
    """(family, address) of every address `host` resolves to, or Refused when any of them is not allowed
    (a name mixing public and private answers is refused whole: which one a client uses is not ours to pick)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys((family, info[0]) for family, _, _, _, info in infos))
    allowed = tuple(allowed)
    for _, address in addresses:
        if refused_address(address, allowed):
            raise Refused(f"{host} resolves to {address}, which alert targets may not reach")
    return addresses


def connect(host: str, port: int, timeout: float, allowed: Iterable[str]) -> socket.socket:
    last: OSError | None = None
    for family, address in resolve_checked(host, port, allowed):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise last or OSError(f"cannot connect to {host}")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allowed: Iterable[str], ca_bundle: str = "") -> Answer:
    """Blocking: POST body to url through a checked connection; TLS verified against ca_bundle or the system."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sock = connect(host, port, timeout, allowed)
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=ca_bundle or None)
            sock = context.wrap_socket(sock, server_hostname=host)
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.sock = sock  # already connected (and checked): http.client only speaks HTTP over it
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        connection.request("POST", path, body=body, headers={"content-type": "application/json", "user-agent": "drift-monitoring-alerts", **headers})
        response = connection.getresponse()
        data = response.read(64 * 1024)
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        sock.close()
