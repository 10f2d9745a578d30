"""Dev TLS: a local CA and a localhost server certificate under .run/certs, made when missing or expiring.

    python scripts/certs.py [DIR]    # default .run/certs; prints the CA path

Production takes Let's Encrypt certificates from files instead (see envoy/render.py --profile prod).
"""

from __future__ import annotations

import ipaddress
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
RENEW_BEFORE = timedelta(days=7)


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write-then-rename: a running Envoy (watching the directory for moves) never reads half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(path)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)


def _valid(path: Path, key: Path, issuer: Path | None = None) -> bool:
    """The certificate and its key exist, it is not expiring within RENEW_BEFORE, and (for the server
    certificate) the current CA signed it: a CA made again invalidates what the old one signed."""
    if not path.exists() or not key.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        if issuer is not None:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(issuer.read_bytes()))
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)  # made by an older version: renew
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return cert.not_valid_after_utc - datetime.now(UTC) > RENEW_BEFORE


def _certificate(subject: str, issuer_name: x509.Name | None, public_key, signing_key, days: int, *, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Key identifiers: strict verifiers (Python 3.13's default context) require them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        builder = (
            builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False, False), critical=True)
        )
    return builder.sign(signing_key, hashes.SHA256())


def ensure(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key_pem = directory / "ca.pem", directory / "ca-key.pem"
    server_pem, server_key_pem = directory / "server.pem", directory / "server-key.pem"
    if not _valid(ca_pem, ca_key_pem):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        _write_key(ca_key_pem, ca_key)
        _write(ca_pem, _certificate("Drift Monitoring dev CA", None, ca_key.public_key(), ca_key, 3650, ca=True).public_bytes(serialization.Encoding.PEM))
    if not _valid(server_pem, server_key_pem, issuer=ca_pem):
        ca_key = serialization.load_pem_private_key(ca_key_pem.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate("localhost", ca_cert.subject, key.public_key(), ca_key, 90, ca=False)
        # Key first, certificate last: Envoy's SDS watch reloads when the pair is complete.
        _write_key(server_key_pem, key)
        _write(server_pem, cert.public_bytes(serialization.Encoding.PEM))
    return ca_pem


if __name__ == "__main__":
    print(ensure(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".run" / "certs"))
