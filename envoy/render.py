"""Render envoy/envoy.yaml.in for one profile (dev, test or prod) into a directory.

    python envoy/render.py --profile dev --out .run/envoy [--listen-port 8443 ...]

Settings come from flags, else the environment, else the profile's defaults:
  DRIFT_MONITOR_PROXY_SECRET / --proxy-secret   shared with the server (dev: sandbox/secrets/proxy_secret)
  DRIFT_MONITOR_ISSUERS / --issuers             JSON list of trusted issuers, each
        {"name": "egi", "url": "https://aai.egi.eu/auth/realms/egi",
         "jwks_uri": "https://aai.egi.eu/auth/realms/egi/protocol/openid-connect/certs",
         "audiences": [], "jwks_file": "", "cache_duration": "600s"}
        (dev/test default: the sandbox issuer at sandbox/personas.json's issuer)
  APP_DOMAIN_NAME / --domain                    public name; required in prod, and not localhost there
  DRIFT_MONITOR_CORS_ORIGINS / --cors-origins   comma-separated allowed browser origins
  DRIFT_MONITOR_BACKEND / --backend             host:port of the gRPC server (default 127.0.0.1:50051);
                                                an IP, or a DNS name (compose service) re-resolved by Envoy
  DRIFT_MONITOR_WEB / --web                     host:port of the web page's static server (web/serve.py);
                                                unset: no page, every path goes to the gRPC server
  DRIFT_MONITOR_EDGE_PORT / --listen-port       the TLS listener (default 8443)
  DRIFT_MONITOR_EDGE_ADMIN_PORT / --admin-port  Envoy's admin interface, always on 127.0.0.1 (default 9901)
  DRIFT_MONITOR_RATE_LIMIT / --rate-limit       requests per second over the whole listener (token bucket)
  DRIFT_MONITOR_RATE_BURST / --rate-burst       bucket size (default: one second's worth)
  DRIFT_MONITOR_EDGE_ADDRESS / --listen-address the TLS listener's address (prod 0.0.0.0, else 127.0.0.1;
                                                0.0.0.0 in a container, where the port is published)
  DRIFT_MONITOR_EDGE_STATS_PORT / --stats-port  a plain-HTTP listener on all addresses serving only
                                                /stats/prometheus (for Prometheus; off when 0)
Issuer keys: name (letters, digits, _), url (the exact `iss`), jwks_uri or jwks_file, optional audiences
(any one must be in `aud`), cache_duration (JWKS refresh period, refetched in the background) and jwks_ca
(CA bundle for an https jwks_uri; default the system bundle). The server needs the same issuer URLs in
DRIFT_MONITOR_TRUSTED_ISSUERS to fetch UserInfo from them.
The descriptor set for REST transcoding is built from protos/ into the output directory.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import jinja2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sandbox import personas  # noqa: E402

SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


class RenderError(ValueError):
    pass


ISSUER_KEYS = {"name", "url", "jwks_uri", "jwks_file", "audiences", "cache_duration", "jwks_ca"}
DURATION = re.compile(r"^\d+(\.\d+)?s$")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _issuer(raw: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, dict) or set(raw) - ISSUER_KEYS:
        raise RenderError(f"an issuer is an object with keys from {sorted(ISSUER_KEYS)}: {raw}")
    issuer = {"audiences": [], "jwks_file": "", "jwks_uri": "", "cache_duration": "600s", "jwks_ca": "", **raw}
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,40}", str(issuer.get("name", ""))):
        raise RenderError(f"issuer name must be letters, digits and _ (it names Envoy objects): {raw}")
    if urllib.parse.urlsplit(str(issuer.get("url", ""))).scheme not in ("http", "https"):
        raise RenderError(f"issuer {issuer['name']} needs url, exactly as its tokens' iss claim: {raw}")
    if not isinstance(issuer["audiences"], list) or not all(isinstance(a, str) and a for a in issuer["audiences"]):
        raise RenderError(f"issuer {issuer['name']}: audiences is a list of strings")
    if not DURATION.match(str(issuer["cache_duration"])):
        raise RenderError(f"issuer {issuer['name']}: cache_duration is seconds like '600s'")
    if issuer["jwks_file"]:
        if issuer["jwks_uri"]:
            raise RenderError(f"issuer {issuer['name']}: jwks_uri or jwks_file, not both")
        issuer["jwks_file"] = str(Path(issuer["jwks_file"]).resolve())
    else:
        uri = urllib.parse.urlsplit(issuer["jwks_uri"])
        if uri.scheme not in ("http", "https") or not uri.hostname:
            raise RenderError(f"issuer {issuer['name']} needs jwks_uri (http or https) or jwks_file")
        issuer["jwks_host"] = uri.hostname
        issuer["jwks_port"] = uri.port or (443 if uri.scheme == "https" else 80)
        issuer["jwks_tls"] = uri.scheme == "https"
        issuer["jwks_ip"] = _is_ip(uri.hostname)
    return issuer


def _backend(address: str, what: str = "backend") -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RenderError(f"{what} must be host:port, got {address!r}")
    return host.strip("[]"), int(port)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    env = os.environ
    prod = args.profile == "prod"
    domain = args.domain or env.get("APP_DOMAIN_NAME", "" if prod else "localhost")
    if prod and (not domain or domain in ("localhost", "127.0.0.1")):
        raise RenderError("prod needs APP_DOMAIN_NAME set to the server's public DNS name (localhost is refused)")
    secret = args.proxy_secret or env.get("DRIFT_MONITOR_PROXY_SECRET", "")
    if not secret and not prod:
        secret = (ROOT / "sandbox" / "secrets" / "proxy_secret").read_text().strip()
    if len(secret) < 16:
        raise RenderError("DRIFT_MONITOR_PROXY_SECRET must be at least 16 characters")
    default_issuers = [] if prod else [{
        "name": "sandbox", "url": personas.ISSUER, "jwks_uri": f"{personas.ISSUER}/jwks", "audiences": ["drift-monitoring"], "cache_duration": "60s",
    }]
    issuers = json.loads(args.issuers or env.get("DRIFT_MONITOR_ISSUERS", "") or "null") or default_issuers
    if not isinstance(issuers, list) or not issuers:
        raise RenderError("set DRIFT_MONITOR_ISSUERS to the issuers whose tokens are accepted (a JSON list)")
    issuers = [_issuer(i) for i in issuers]
    for key in ("name", "url"):
        values = [i[key] for i in issuers]
        if len(set(values)) != len(values):
            raise RenderError(f"two issuers share a {key}: {values}")
    backend_host, backend_port = _backend(args.backend or env.get("DRIFT_MONITOR_BACKEND", "127.0.0.1:50051"))
    web = args.web or env.get("DRIFT_MONITOR_WEB", "")
    web_host, web_port = _backend(web, "web") if web else ("", 0)
    listen_port = args.listen_port or int(env.get("DRIFT_MONITOR_EDGE_PORT", "") or 8443)
    admin_port = args.admin_port or int(env.get("DRIFT_MONITOR_EDGE_ADMIN_PORT", "") or 9901)
    rate = args.rate_limit or int(env.get("DRIFT_MONITOR_RATE_LIMIT", "") or 1000)
    burst = args.rate_burst or int(env.get("DRIFT_MONITOR_RATE_BURST", "") or rate)
    for name, value in (("stream idle timeout", args.stream_idle_timeout), ("request timeout", args.request_timeout)):
        if not DURATION.match(value):
            raise RenderError(f"{name} is seconds like '60s', got {value!r}")
    listen_address = args.listen_address or env.get("DRIFT_MONITOR_EDGE_ADDRESS", "") or ("0.0.0.0" if prod else "127.0.0.1")
    if not _is_ip(listen_address):
        raise RenderError(f"the listen address is an IP address, got {listen_address!r}")
    stats_port = args.stats_port or int(env.get("DRIFT_MONITOR_EDGE_STATS_PORT", "") or 0)
    origins = args.cors_origins or env.get("DRIFT_MONITOR_CORS_ORIGINS", "")
    # prod: envoy/install-certs.sh (a certbot deploy hook) publishes each renewal as cert_dir/current.
    certs = Path(args.cert_dir or env.get("DRIFT_MONITOR_TLS_DIR", "") or ("/etc/envoy/tls" if prod else ROOT / ".run" / "certs"))
    certs = certs if prod else certs.resolve()
    cert_file = args.cert_file or ("current/fullchain.pem" if prod else "server.pem")
    key_file = args.key_file or ("current/privkey.pem" if prod else "server-key.pem")
    return {
        "profile": args.profile,
        "domain": domain,
        "listen_address": listen_address,
        "stats_port": stats_port,
        "listen_port": listen_port,
        "admin_port": admin_port,
        "backend_host": backend_host,
        "backend_port": backend_port,
        "backend_ip": _is_ip(backend_host),
        "web": bool(web),
        "web_host": web_host,
        "web_port": web_port,
        "web_ip": _is_ip(web_host) if web else False,
        "max_backend_streams": args.max_backend_streams,
        "max_connections": args.max_connections,
        "proxy_secret": secret,
        "issuers": issuers,
        "cors_origins": [o.strip() for o in origins.split(",") if o.strip()]
        or ([f"https://{domain}"] if prod else [f"https://localhost:{listen_port}", "http://localhost:5173"]),
        "rate_limit": {"max_tokens": burst, "tokens_per_fill": rate, "fill_interval": "1s"},
        "stream_idle_timeout": args.stream_idle_timeout,
        "request_timeout": args.request_timeout,
        "health_interval": "5s",
        "certificate": certs / cert_file,
        "private_key": certs / key_file,
        "cert_dir": certs,
        "system_ca": SYSTEM_CA,
    }


def render(values: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    descriptor = out / "drift_monitoring.binpb"
    built = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--descriptor-set", str(descriptor)],
                           capture_output=True, text=True)
    if built.returncode != 0:
        raise RenderError(f"building the descriptor set failed:\n{built.stdout}{built.stderr}")
    sds = out / "sds-server-certificate.yaml"
    sds.write_text(json.dumps({"resources": [{
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        "name": "server_certificate",
        "tls_certificate": {
            "certificate_chain": {"filename": str(values["certificate"])},
            "private_key": {"filename": str(values["private_key"])},
            # A move into this directory (a renewed pair, or the `current` link swapped) reloads both files.
            "watched_directory": {"path": str(values["cert_dir"])},
        },
    }]}, indent=1))
    template = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "envoy"), undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    config = out / "envoy.yaml"
    config.write_text(template.get_template("envoy.yaml.in").render(**values, sds_path=sds, descriptor_set=descriptor))
    config.chmod(0o600)  # it holds the proxy secret
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("dev", "test", "prod"), default="dev")
    parser.add_argument("--out", type=Path, default=ROOT / ".run" / "envoy")
    parser.add_argument("--listen-port", type=int, default=0, help="default $DRIFT_MONITOR_EDGE_PORT or 8443")
    parser.add_argument("--admin-port", type=int, default=0, help="default $DRIFT_MONITOR_EDGE_ADMIN_PORT or 9901")
    parser.add_argument("--listen-address", default="", help="default $DRIFT_MONITOR_EDGE_ADDRESS, else 0.0.0.0 in prod and 127.0.0.1 otherwise")
    parser.add_argument("--stats-port", type=int, default=0, help="serve /stats/prometheus on this port (default $DRIFT_MONITOR_EDGE_STATS_PORT; 0: off)")
    parser.add_argument("--backend", default="")
    parser.add_argument("--web", default="", help="host:port of the page's static server (default $DRIFT_MONITOR_WEB; none)")
    parser.add_argument("--proxy-secret", default="")
    parser.add_argument("--issuers", default="", help="JSON list (see above)")
    parser.add_argument("--domain", default="")
    parser.add_argument("--cors-origins", default="")
    parser.add_argument("--cert-dir", default="", help="watched certificate directory (dev/test .run/certs, prod /etc/envoy/tls; env DRIFT_MONITOR_TLS_DIR)")
    parser.add_argument("--cert-file", default="", help="certificate chain, relative to --cert-dir (dev/test server.pem, prod current/fullchain.pem)")
    parser.add_argument("--key-file", default="", help="private key, relative to --cert-dir (dev/test server-key.pem, prod current/privkey.pem)")
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per second (default $DRIFT_MONITOR_RATE_LIMIT or 1000)")
    parser.add_argument("--rate-burst", type=int, default=0, help="token bucket size (default $DRIFT_MONITOR_RATE_BURST or the rate)")
    parser.add_argument("--stream-idle-timeout", default="3600s", help="a stream with no bytes either way for this long is closed")
    parser.add_argument("--request-timeout", default="60s", help="unary calls without a gRPC deadline (Watch has none)")
    parser.add_argument("--max-backend-streams", type=int, default=100_000, help="concurrent calls to the server (each Watch is one)")
    parser.add_argument("--max-connections", type=int, default=50_000, help="client connections Envoy accepts at once")
    args = parser.parse_args()
    try:
        print(render(settings(args), args.out))
    except RenderError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
