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
  DRIFT_MONITOR_BACKEND / --backend             host:port of the gRPC server (default 127.0.0.1:50051)
The descriptor set for REST transcoding is built from protos/ into the output directory.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _issuer(raw: dict[str, Any]) -> dict[str, Any]:
    issuer = {"audiences": [], "jwks_file": "", "cache_duration": "600s", **raw}
    for key in ("name", "url"):
        if not issuer.get(key):
            raise RenderError(f"every issuer needs {key!r}: {raw}")
    if not issuer["jwks_file"]:
        uri = urllib.parse.urlsplit(issuer.get("jwks_uri", ""))
        if uri.scheme not in ("http", "https") or not uri.hostname:
            raise RenderError(f"issuer {issuer['name']} needs jwks_uri (http or https) or jwks_file")
        issuer["jwks_host"] = uri.hostname
        issuer["jwks_port"] = uri.port or (443 if uri.scheme == "https" else 80)
        issuer["jwks_tls"] = uri.scheme == "https"
        issuer["jwks_ip"] = uri.hostname.replace(".", "").isdigit()
    return issuer


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
    default_issuers = [] if prod else [{"name": "sandbox", "url": personas.ISSUER, "jwks_uri": f"{personas.ISSUER}/jwks", "cache_duration": "60s"}]
    issuers = json.loads(args.issuers or env.get("DRIFT_MONITOR_ISSUERS", "") or "null") or default_issuers
    if not issuers:
        raise RenderError("set DRIFT_MONITOR_ISSUERS to the issuers whose tokens are accepted")
    backend = args.backend or env.get("DRIFT_MONITOR_BACKEND", "127.0.0.1:50051")
    origins = args.cors_origins or env.get("DRIFT_MONITOR_CORS_ORIGINS", "")
    certs = Path(args.cert_dir or (f"/letsencrypt/live/{domain}" if prod else ROOT / ".run" / "certs")).resolve()
    return {
        "profile": args.profile,
        "domain": domain,
        "listen_address": "0.0.0.0" if prod else "127.0.0.1",
        "listen_port": args.listen_port,
        "admin_port": args.admin_port,
        "backend_host": backend.rsplit(":", 1)[0],
        "backend_port": int(backend.rsplit(":", 1)[1]),
        "proxy_secret": secret,
        "issuers": [_issuer(i) for i in issuers],
        "cors_origins": [o.strip() for o in origins.split(",") if o.strip()]
        or ([f"https://{domain}"] if prod else [f"https://localhost:{args.listen_port}", "http://localhost:5173"]),
        "rate_limit": {"max_tokens": args.rate_limit, "tokens_per_fill": args.rate_limit, "fill_interval": "1s"},
        "stream_idle_timeout": args.stream_idle_timeout,
        "health_interval": "5s",
        "certificate": certs / ("fullchain.pem" if prod else "server.pem"),
        "private_key": certs / ("privkey.pem" if prod else "server-key.pem"),
        "sds_dir": certs,
        "system_ca": SYSTEM_CA,
    }


def render(values: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    descriptor = out / "drift_monitoring.binpb"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_protos.py"), "--descriptor-set", str(descriptor), "--check"],
                   check=True, capture_output=True)
    sds = out / "sds-server-certificate.yaml"
    sds.write_text(json.dumps({"resources": [{
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        "name": "server_certificate",
        "tls_certificate": {"certificate_chain": {"filename": str(values["certificate"])}, "private_key": {"filename": str(values["private_key"])}},
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
    parser.add_argument("--listen-port", type=int, default=8443)
    parser.add_argument("--admin-port", type=int, default=9901)
    parser.add_argument("--backend", default="")
    parser.add_argument("--proxy-secret", default="")
    parser.add_argument("--issuers", default="", help="JSON list (see above)")
    parser.add_argument("--domain", default="")
    parser.add_argument("--cors-origins", default="")
    parser.add_argument("--cert-dir", default="")
    parser.add_argument("--rate-limit", type=int, default=1000, help="requests per second (token bucket)")
    parser.add_argument("--stream-idle-timeout", default="3600s")
    args = parser.parse_args()
    try:
        print(render(settings(args), args.out))
    except RenderError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
