"""The read side of a ``make dev`` connection, with the two limits a gateway puts on clients.

A socket timeout alone bounds each ``recv``, so a client sending one byte every few seconds is never
cut off. :class:`DeadlineReader` bounds the whole request instead: once its first byte arrives, the
request line, headers and body must all arrive within ``read_timeout``; between requests, a
keep-alive connection may stay silent for ``idle_timeout``.
"""
from __future__ import annotations

import io
import socket
import time


class RequestTimeout(TimeoutError):
    """Part of a request arrived, but not all of it within the read timeout: the gateway answers 408."""


class DeadlineReader(io.RawIOBase):
    """Reads ``sock`` for a buffered ``rfile``, each request within its own deadline.

    ``started()`` is true once a byte of the current request has arrived; the server calls
    :meth:`request_read` when the request is all in, so the next one gets its own deadline.
    """

    def __init__(self, sock: socket.socket, *, read_timeout: float, idle_timeout: float) -> None:
        super().__init__()
        self.sock = sock
        self.read_timeout, self.idle_timeout = read_timeout, idle_timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def started(self) -> bool:
        return self.deadline is not None

    def request_read(self) -> None:
        self.deadline = None

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.deadline is None:
            self.sock.settimeout(self.idle_timeout)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise RequestTimeout("the request did not arrive within the read timeout")
            self.sock.settimeout(remaining)
        try:
            received = self.sock.recv_into(buffer)
        except TimeoutError:
            if self.deadline is not None:
                raise RequestTimeout("the request did not arrive within the read timeout") from None
            raise  # idle: the connection is closed without an answer
        if received and self.deadline is None:
            self.deadline = time.monotonic() + self.read_timeout
        return received
