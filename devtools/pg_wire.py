"""The few PostgreSQL wire-protocol messages a login front end reads and writes (protocol 3.0).

Only what happens before a session exists: the untyped startup packets (``SSLRequest``,
``GSSENCRequest``, ``CancelRequest``, ``StartupMessage``), the cleartext password exchange and
``ErrorResponse``. See https://www.postgresql.org/docs/current/protocol-message-formats.html.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

SSL_REQUEST, GSSENC_REQUEST, CANCEL_REQUEST = 80877103, 80877104, 80877102
#: A startup packet is small; anything larger is not a client speaking PostgreSQL.
MAX_STARTUP_BYTES = 10_000
#: PasswordMessage bodies are bounded too (an IAM token is about 1.5 KB with a session token).
MAX_PASSWORD_BYTES = 16_384
AUTHENTICATION_OK, AUTHENTICATION_CLEARTEXT_PASSWORD = 0, 3


class ProtocolViolation(Exception):
    """The peer sent something a PostgreSQL client would not (SQLSTATE 08P01)."""


@dataclass(frozen=True)
class StartupPacket:
    """One untyped packet: ``code`` is the protocol version or a request code; ``raw`` the whole packet."""

    code: int
    raw: bytes

    @property
    def parameters(self) -> dict[str, str]:
        """The ``StartupMessage``'s parameters (``user``, ``database``, ``application_name``…)."""
        fields = self.raw[8:].split(b"\x00")
        if len(fields) < 2 or fields[-2:] != [b"", b""] or len(fields) % 2:
            raise ProtocolViolation("malformed startup message")
        pairs = fields[:-2]
        return {pairs[i].decode(): pairs[i + 1].decode() for i in range(0, len(pairs), 2)}


async def read_startup(reader: asyncio.StreamReader) -> StartupPacket:
    length, code = struct.unpack("!ii", await reader.readexactly(8))
    if not 8 <= length <= MAX_STARTUP_BYTES:
        raise ProtocolViolation(f"startup packet of {length} bytes")
    return StartupPacket(code, struct.pack("!ii", length, code) + await reader.readexactly(length - 8))


async def read_message(reader: asyncio.StreamReader, limit: int = MAX_PASSWORD_BYTES) -> tuple[bytes, bytes]:
    """One typed message: ``(type byte, body)``."""
    kind = await reader.readexactly(1)
    (length,) = struct.unpack("!i", await reader.readexactly(4))
    if not 4 <= length <= limit + 4:
        raise ProtocolViolation(f"message of {length} bytes")
    return kind, await reader.readexactly(length - 4)


def authentication_request(code: int) -> bytes:
    """``AuthenticationOk`` (0) or ``AuthenticationCleartextPassword`` (3)."""
    return b"R" + struct.pack("!ii", 8, code)


def password(body: bytes) -> str:
    """The password of a ``PasswordMessage`` body (a NUL-terminated string)."""
    if not body.endswith(b"\x00") or b"\x00" in body[:-1]:
        raise ProtocolViolation("malformed password message")
    return body[:-1].decode("utf-8", "replace")


def error_response(sqlstate: str, message: str, severity: str = "FATAL") -> bytes:
    """An ``ErrorResponse``: libpq shows ``message`` and psycopg exposes ``sqlstate``."""
    fields = b"".join(code + value.encode() + b"\x00" for code, value in
                      ((b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", message)))
    body = fields + b"\x00"
    return b"E" + struct.pack("!i", len(body) + 4) + body
