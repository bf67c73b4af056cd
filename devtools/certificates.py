"""A throwaway certificate authority and a server certificate for ``localhost`` (local TLS endpoints).

The local stand-in for RDS Proxy (:mod:`devtools.rds_proxy`) presents the server
certificate; functions verify it with ``sslmode=verify-full`` against the CA's PEM, exactly as
they verify the real proxy against the Amazon roots. Keys are P-256, valid for two days.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServerCertificate:
    ca_file: str  #: PEM of the CA that signed the certificate (what clients trust)
    cert_file: str  #: PEM of the server certificate
    key_file: str  #: PEM of its private key (unencrypted)


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject: str, key: Any, issuer_key: Any, issuer: str, *, ca: bool, dns: tuple[str, ...] = ()) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, item: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    if hasattr(item, "private_bytes"):
        data = item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    else:
        data = item.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(data)
    return str(path)


def authority(directory: Path, name: str) -> str:
    """A self-signed CA (its key is discarded) written to ``directory``; its PEM's path."""
    key = _key()
    return _pem(directory / f"{name.replace(' ', '-')}.pem", _certificate(name, key, key, name, ca=True))


def issue(directory: Path, dns: tuple[str, ...] = ("localhost",), ca_name: str = "lambda_src local CA",
          ) -> ServerCertificate:
    """A new CA and a server certificate for ``dns`` signed by it, written to ``directory``."""
    ca_key, leaf_key = _key(), _key()
    ca_file = _pem(directory / "ca.pem", _certificate(ca_name, ca_key, ca_key, ca_name, ca=True))
    leaf = _certificate(dns[0], leaf_key, ca_key, ca_name, ca=False, dns=dns)
    return ServerCertificate(ca_file, _pem(directory / "server.crt", leaf), _pem(directory / "server.key", leaf_key))
