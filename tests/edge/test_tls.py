"""Certificates: the dev CA script's renewal rules, and a renewed certificate reaching a running Envoy.

The reload test is what production relies on: envoy/install-certs.sh (the certbot deploy hook) publishes a
new pair, and Envoy serves it to new connections without a restart.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from scripts import certs

ROOT = Path(__file__).resolve().parents[2]
ENVOY = str(Path(sys.executable).parent / "envoy")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_dev_certificates_are_made_once(tmp_path):
    ca_path = certs.ensure(tmp_path)
    assert ca_path == tmp_path / "ca.pem"
    ca, server = load(ca_path), load(tmp_path / "server.pem")
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"localhost"}
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert ExtendedKeyUsageOID.SERVER_AUTH in server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    for key in ("ca-key.pem", "server-key.pem"):
        assert stat.S_IMODE((tmp_path / key).stat().st_mode) == 0o600
    before = {name: (tmp_path / name).read_bytes() for name in ("ca.pem", "server.pem", "server-key.pem")}
    certs.ensure(tmp_path)
    assert before == {name: (tmp_path / name).read_bytes() for name in before}


def test_a_server_certificate_expiring_within_a_week_is_renewed(tmp_path):
    certs.ensure(tmp_path)
    ca_key = serialization.load_pem_private_key((tmp_path / "ca-key.pem").read_bytes(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    expiring = (
        x509.CertificateBuilder().subject_name(load(tmp_path / "server.pem").subject).issuer_name(load(tmp_path / "ca.pem").subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=80)).not_valid_after(now + timedelta(days=3))
        .sign(ca_key, hashes.SHA256())
    )
    (tmp_path / "server.pem").write_bytes(expiring.public_bytes(serialization.Encoding.PEM))
    ca_before = (tmp_path / "ca.pem").read_bytes()
    certs.ensure(tmp_path)
    renewed = load(tmp_path / "server.pem")
    assert renewed.not_valid_after_utc - now > timedelta(days=30)
    assert (tmp_path / "ca.pem").read_bytes() == ca_before  # the CA users trust stays


def test_a_missing_ca_makes_everything_again(tmp_path):
    certs.ensure(tmp_path)
    (tmp_path / "ca.pem").unlink()
    certs.ensure(tmp_path)
    load(tmp_path / "server.pem").verify_directly_issued_by(load(tmp_path / "ca.pem"))


def serial_served(port: int, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def publish(source: Path, certificates: Path, tls_dir: Path) -> int:
    """Copy a dev pair to a certbot-like live directory and run the deploy hook; returns the serial."""
    source.mkdir(exist_ok=True)
    (source / "fullchain.pem").write_bytes((certificates / "server.pem").read_bytes())
    (source / "privkey.pem").write_bytes((certificates / "server-key.pem").read_bytes())
    subprocess.run([str(ROOT / "envoy" / "install-certs.sh"), str(source), str(tls_dir)], check=True, capture_output=True)
    return load(certificates / "server.pem").serial_number


def test_renewed_certificates_load_without_a_restart(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    certs.ensure(first)
    certs.ensure(second)
    tls_dir, live = tmp_path / "tls", tmp_path / "live"
    first_serial = publish(live, first, tls_dir)

    # A local JWKS file and no reachable backend: this Envoy needs nothing else to start serving TLS.
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key())), "kid": "k1", "alg": "RS256", "use": "sig"}]}))
    issuers = [{"name": "local", "url": "https://issuer.example.org", "jwks_file": str(jwks)}]
    port, admin = free_port(), free_port()
    out = tmp_path / "envoy"
    subprocess.run(
        [sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", "test", "--out", str(out), "--listen-port", str(port),
         "--admin-port", str(admin), "--backend", f"127.0.0.1:{free_port()}", "--proxy-secret", "s" * 32,
         "--issuers", json.dumps(issuers), "--cert-dir", str(tls_dir), "--cert-file", "current/fullchain.pem", "--key-file", "current/privkey.pem"],
        check=True, cwd=ROOT, capture_output=True,
    )
    log = out / "envoy.log"
    with log.open("wb") as sink:
        envoy = subprocess.Popen([ENVOY, "-c", str(out / "envoy.yaml"), "--use-dynamic-base-id", "--log-level", "warn"], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=1).text.strip() == "LIVE":
                    break
            except httpx.HTTPError:
                pass
            assert envoy.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        assert serial_served(port, first / "ca.pem") == first_serial

        second_serial = publish(live, second, tls_dir)
        deadline = time.monotonic() + 20
        while True:
            try:
                if serial_served(port, second / "ca.pem") == second_serial:
                    break
            except ssl.SSLError:  # still the first certificate, which the second CA does not trust
                pass
            assert time.monotonic() < deadline, "the renewed certificate was never served"
            time.sleep(0.2)
        assert envoy.poll() is None  # the same process: no restart
        releases = sorted(os.listdir(tls_dir / "releases"))
        assert len(releases) == 2 and os.readlink(tls_dir / "current") == f"releases/{releases[-1]}"
    finally:
        envoy.terminate()
        envoy.wait(10)


def test_install_certs_refuses_an_incomplete_source(tmp_path):
    (tmp_path / "live").mkdir()
    (tmp_path / "live" / "fullchain.pem").write_text("x")
    result = subprocess.run([str(ROOT / "envoy" / "install-certs.sh"), str(tmp_path / "live"), str(tmp_path / "tls")], capture_output=True, text=True)
    assert result.returncode != 0 and "privkey.pem" in result.stderr
    assert not (tmp_path / "tls" / "current").exists()


@pytest.mark.parametrize("profile", ["dev", "test"])
def test_render_watches_the_certificate_directory(tmp_path, profile):
    subprocess.run([sys.executable, str(ROOT / "envoy" / "render.py"), "--profile", profile, "--out", str(tmp_path), "--cert-dir", str(tmp_path / "c")],
                   check=True, cwd=ROOT, capture_output=True)
    secret = json.loads((tmp_path / "sds-server-certificate.yaml").read_text())["resources"][0]["tls_certificate"]
    assert secret["watched_directory"]["path"] == str(tmp_path / "c")
    assert secret["certificate_chain"]["filename"] == str(tmp_path / "c" / "server.pem")
