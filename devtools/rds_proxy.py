"""A local stand-in for RDS Proxy in front of a PostgreSQL that only listens on a Unix socket.

It listens on 127.0.0.1 and does what the functions meet at the real proxy's door:

* **TLS required.** It answers ``SSLRequest`` and completes the handshake with a certificate for
  ``localhost`` from a local CA (:mod:`devtools.certificates`), so ``sslmode=verify-full``
  really verifies chain and host name. A client starting without TLS gets an ``ErrorResponse``
  (SQLSTATE 28000), as from a proxy with ``require_tls``.
* **IAM login** (with a :class:`~devtools.iam_login.IamLoginCheck`). After the
  ``StartupMessage`` it asks for a cleartext password, reads the ``PasswordMessage`` and accepts
  only an authentication token botocore reproduces for this endpoint, the user the connection
  asks for and the known credentials; anything else gets SQLSTATE 28P01 with the reason.
* **Then it relays.** The client's ``StartupMessage`` goes to the real server, whose
  ``AuthenticationOk``, ``ParameterStatus``… reach the client, and bytes flow both ways. As RDS
  Proxy logs in to the database with its own secret, the stand-in logs in through the Unix
  socket, which the embedded server trusts; a backend asking it for a password is reported.

Without a login check it only terminates TLS: the tests use that for the cluster endpoint, where
the migration runner logs in with the admin password.
"""
from __future__ import annotations

import asyncio
import shutil
import ssl
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit, urlunsplit

from . import certificates, pg_wire
from .iam_login import IamLoginCheck, LoginRefused

#: SQLSTATE invalid_authorization_specification: what a proxy requiring TLS answers plaintext with.
TLS_REQUIRED = "28000"


@dataclass(frozen=True)
class Attempt:
    """One client connection: ``outcome`` is ``login`` (token accepted), ``tls`` (relayed without a
    login check), ``refused`` (with ``reason``) or ``cancel`` (a CancelRequest passed on)."""

    outcome: str
    user: str = ""
    reason: str = ""


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


class LocalRdsProxy:
    """The stand-in on 127.0.0.1 (``port`` is chosen by the system), in front of ``backend_dsn``.

    ``host`` is the name clients use, the one in the certificate and in their IAM tokens. Without
    ``certificate`` a new CA and certificate are issued in a temporary directory (``ca_file`` is
    what clients trust), removed on close. ``attempts`` records every client connection, in
    order. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, backend_dsn: str, *, login: IamLoginCheck | None = None, host: str = "localhost",
                 certificate: certificates.ServerCertificate | None = None) -> None:
        self.backend_dsn = backend_dsn
        #: Where a certificate issued here lives (removed on close); none when one was given.
        self._own_directory: Path | None = None
        if certificate is None:
            self._own_directory = Path(tempfile.mkdtemp(prefix="local-rds-proxy-"))
            certificate = certificates.issue(self._own_directory, dns=(host,))
        self.ca_file = certificate.ca_file
        self.login = login
        self.host = host
        self.attempts: list[Attempt] = []
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certificate.cert_file, certificate.key_file)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True,
                                        name="local-rds-proxy")
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local RDS Proxy stand-in did not start")

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def dsn(self, **params: str) -> str:
        """``backend_dsn`` (its user and database) rewritten to go through the stand-in."""
        parts = urlsplit(self.backend_dsn)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items() if key != "host"}
        query.update(params)
        user = parts.username or "postgres"
        password = f":{parts.password}" if parts.password else ""
        return urlunsplit(("postgresql", f"{user}{password}@{self.endpoint}", parts.path or "/postgres",
                           "&".join(f"{k}={v}" for k, v in query.items()), ""))

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        if self._own_directory is not None:
            shutil.rmtree(self._own_directory, ignore_errors=True)

    def __enter__(self) -> LocalRdsProxy:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    async def _main(self) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._session(reader, writer)
        except pg_wire.ProtocolViolation as violation:
            self.attempts.append(Attempt("refused", reason=str(violation)))
            writer.write(pg_wire.error_response("08P01", str(violation)))
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:  # the stand-in is stopping: its sessions end with it
            pass
        finally:
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        packet = await pg_wire.read_startup(reader)
        if packet.code == pg_wire.GSSENC_REQUEST:
            writer.write(b"N")  # no GSSAPI encryption: the client goes on with SSLRequest
            packet = await pg_wire.read_startup(reader)
        if packet.code == pg_wire.CANCEL_REQUEST:
            return await self._cancel(packet)
        if packet.code != pg_wire.SSL_REQUEST:
            self.attempts.append(Attempt("refused", reason="no TLS"))
            writer.write(pg_wire.error_response(TLS_REQUIRED, "this proxy requires TLS connections"))
            return await writer.drain()
        writer.write(b"S")
        await writer.drain()
        await writer.start_tls(self._context)
        packet = await pg_wire.read_startup(reader)
        if packet.code == pg_wire.CANCEL_REQUEST:
            return await self._cancel(packet)
        user = packet.parameters.get("user", "")
        if self.login is None:
            self.attempts.append(Attempt("tls", user))
        elif not await self._logged_in(reader, writer, user):
            return
        backend_reader, backend_writer = await _open_backend(self.backend_dsn)
        backend_writer.write(packet.raw)
        if self.login is not None:
            writer.write(await self._backend_login(backend_reader))
        await asyncio.gather(_relay(reader, backend_writer), _relay(backend_reader, writer))

    async def _logged_in(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str) -> bool:
        """Ask for the password and check it as an IAM token; on refusal tell the client why."""
        assert self.login is not None
        writer.write(pg_wire.authentication_request(pg_wire.AUTHENTICATION_CLEARTEXT_PASSWORD))
        await writer.drain()
        kind, body = await pg_wire.read_message(reader)
        if kind != b"p":
            raise pg_wire.ProtocolViolation(f"expected a password message, got {kind!r}")
        try:
            self.login.verify(pg_wire.password(body), user=user, host=self.host, port=self.port)
        except LoginRefused as refused:
            self.attempts.append(Attempt("refused", user, refused.message))
            writer.write(pg_wire.error_response(refused.sqlstate,
                                                f'IAM authentication failed for user "{user}": {refused.message}'))
            await writer.drain()
            return False
        self.attempts.append(Attempt("login", user))
        return True

    async def _backend_login(self, reader: asyncio.StreamReader) -> bytes:
        """The backend's answer to the startup, raw, up to its verdict: AuthenticationOk, or an error
        (no such role…), after any NegotiateProtocolVersion. The client has authenticated already."""
        answer = b""
        while True:
            kind, body = await pg_wire.read_message(reader)
            if kind == b"R" and body[:4] != struct.pack("!i", pg_wire.AUTHENTICATION_OK):
                return answer + pg_wire.error_response(
                    "28000", "the database behind the stand-in asked it for a password: it must trust the "
                             "stand-in's connections (as the embedded server does on its Unix socket)")
            answer += kind + struct.pack("!i", len(body) + 4) + body
            if kind != b"v":  # NegotiateProtocolVersion comes before the verdict
                return answer

    async def _cancel(self, packet: pg_wire.StartupPacket) -> None:
        """A CancelRequest names a backend by its key: pass it on, as the proxy does."""
        self.attempts.append(Attempt("cancel"))
        _, backend_writer = await _open_backend(self.backend_dsn)
        backend_writer.write(packet.raw)
        await backend_writer.drain()
        backend_writer.close()

