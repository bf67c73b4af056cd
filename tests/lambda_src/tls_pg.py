"""A TLS-terminating proxy in front of the test PostgreSQL, as RDS Proxy stands in front of Aurora.

The embedded server of :mod:`tests.lambda_src.pg` listens on a Unix socket, where libpq never uses
TLS (and its wheel is built without SSL). This proxy listens on 127.0.0.1, answers PostgreSQL's
``SSLRequest``, completes the TLS handshake with a certificate for ``localhost`` only, signed by a
CA made for the test, and relays the decrypted stream to the real server. A client that starts
without TLS is refused, as RDS Proxy does with TLS required. So ``sslmode=verify-full`` really
verifies the chain and the host name, against a real PostgreSQL behind the proxy.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import ssl
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


@dataclass(frozen=True)
class TlsProxy:
    port: int
    ca_file: str  #: PEM of the CA that signed the proxy's certificate
    other_ca_file: str  #: PEM of an unrelated CA: verification must fail with it
    backend_dsn: str  #: the server behind the proxy (superuser, no TLS)
    connections: list[str]  #: one entry per client: "tls" or "refused"

    def dsn(self, host: str = "localhost", **params: str) -> str:
        """``backend_dsn`` rewritten to go through the proxy at ``host``."""
        parts = urlsplit(self.backend_dsn)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items() if key != "host"}
        query.update(params)
        user = parts.username or "postgres"
        password = f":{parts.password}" if parts.password else ""
        return urlunsplit(("postgresql", f"{user}{password}@{host}:{self.port}", parts.path or "/postgres",
                           "&".join(f"{k}={v}" for k, v in query.items()), ""))


def _key():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _certificate(subject: str, key, issuer_key, issuer: str, *, ca: bool, dns: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
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


def _pem(path: Path, item) -> str:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives import serialization

    if hasattr(item, "private_bytes"):
        data = item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    else:
        data = item.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(data)
    return str(path)


async def _open_backend(dsn: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(dsn)
    host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[-1]
    port = parts.port or 5432
    if host.startswith("/"):
        return await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
    return await asyncio.open_connection(host, port)


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


def _serve(backend_dsn: str, context: ssl.SSLContext, log: list[str], ready: threading.Event,
           box: dict[str, object]) -> None:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length, code = struct.unpack("!II", await reader.readexactly(8))
                if code == GSSENC_REQUEST and length == 8:
                    writer.write(b"N")
                    continue
                if code == SSL_REQUEST and length == 8:
                    writer.write(b"S")
                    await writer.drain()
                    await writer.start_tls(context)
                    break
                log.append("refused")  # a plaintext startup: TLS is required
                writer.close()
                return
            log.append("tls")
            backend_reader, backend_writer = await _open_backend(backend_dsn)
            await asyncio.gather(_relay(reader, backend_writer), _relay(backend_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        box["port"] = server.sockets[0].getsockname()[1]
        box["stop"] = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        ready.set()
        await box["stop"].wait()  # type: ignore[attr-defined]
        server.close()

    asyncio.run(main())


def write_ca(path: Path, name: str) -> str:
    """Write a new self-signed CA certificate named ``name`` to ``path`` (PEM); return the path."""
    key = _key()
    return _pem(path, _certificate(name, key, key, name, ca=True))


@contextmanager
def tls_proxy(backend_dsn: str) -> Iterator[TlsProxy]:
    """Run the proxy in front of ``backend_dsn`` for the duration of the block."""
    root = Path(tempfile.mkdtemp(prefix="pg-tls-"))
    ca_key, leaf_key = _key(), _key()
    ca_file = _pem(root / "ca.pem", _certificate("lambda_src test CA", ca_key, ca_key, "lambda_src test CA", ca=True))
    other_file = write_ca(root / "other.pem", "unrelated CA")
    leaf = _certificate("localhost", leaf_key, ca_key, "lambda_src test CA", ca=False, dns=("localhost",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(_pem(root / "proxy.crt", leaf), _pem(root / "proxy.key", leaf_key))
    log: list[str] = []
    ready, box = threading.Event(), {}  # type: ignore[var-annotated]
    thread = threading.Thread(target=_serve, args=(backend_dsn, context, log, ready, box), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the TLS proxy did not start")
    try:
        yield TlsProxy(int(box["port"]), ca_file, other_file, backend_dsn, log)  # type: ignore[call-overload]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)
        shutil.rmtree(root, ignore_errors=True)
