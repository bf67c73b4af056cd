"""A database that stops answering costs a request a 503, never the function's timeout.

The database is really frozen: every process of the embedded PostgreSQL is stopped with SIGSTOP
(and always continued afterwards). Calls that would hang run in a helper thread, so a regression
fails the test after the invocation's time instead of hanging the suite.
"""
from __future__ import annotations

import socket

from lambda_src import http
from lambda_src.db import connection
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import v2


class TestKeepalives:
    def test_the_proxy_connection_probes_an_idle_peer(self, db: str) -> None:
        # GIVEN a function connected to the proxy (TCP, TLS, IAM token)
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        # WHEN its socket's options are read
        sock = socket.socket(fileno=connection.get().pgconn.socket)
        try:
            options = {name: sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, name))
                       for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT")}
            keepalive = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        finally:
            sock.detach()  # the descriptor stays libpq's
        # THEN keepalives are on (libpq's default) and a silent peer is given up after 10 + 3 × 5 s,
        # not the kernel's 2 h + 9 × 75 s
        assert keepalive == 1
        assert options == {"TCP_KEEPIDLE": 10, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3}
