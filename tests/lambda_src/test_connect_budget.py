"""One connect budget for an endpoint with several addresses (RDS Proxy resolves to one per subnet)."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from lambda_src import config
from lambda_src.example import http
from lambda_src.db import attempts, connection
from devtools.rds_proxy import Attempt, LocalRdsProxy
from tests.lambda_src.conftest import FakeContext

SILENT_ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


@pytest.fixture
def silent_endpoint() -> Iterator[tuple[int, list[socket.socket]]]:
    """Listeners on three loopback addresses, one port, that accept TCP and never answer: black holes."""
    for _ in range(20):
        first = socket.socket()
        first.bind((SILENT_ADDRESSES[0], 0))
        port = first.getsockname()[1]
        listeners = [first]
        try:
            for address in SILENT_ADDRESSES[1:]:
                listener = socket.socket()
                listeners.append(listener)
                listener.bind((address, port))
        except OSError:
            for listener in listeners:
                listener.close()
            continue
        for listener in listeners:
            listener.listen(8)
        yield port, listeners
        for listener in listeners:
            listener.close()
        return
    pytest.skip("no port free on all loopback addresses")


def iam_settings(monkeypatch: pytest.MonkeyPatch, host: str, port: int) -> None:
    """The function's settings from ``db``, with the proxy endpoint at ``host:port``."""
    monkeypatch.setenv("DB_HOST", host)
    monkeypatch.setenv("DB_PORT", str(port))


def accepted(listener: socket.socket) -> bool:
    listener.settimeout(0.2)
    try:
        listener.accept()[0].close()
        return True
    except OSError:
        return False


def test_three_unreachable_addresses_share_one_budget(db: str, silent_endpoint, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a proxy name resolving to three addresses that all swallow connections, and 6 s to connect
    port, listeners = silent_endpoint
    iam_settings(monkeypatch, "proxy.example.internal", port)
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "6")
    monkeypatch.setattr(attempts, "resolve", lambda host, port: list(SILENT_ADDRESSES))
    config.reload()
    connection.reset()
    # WHEN a request needs the database
    started = time.monotonic()
    response = http.handler({"version": "2.0", "rawPath": "/health", "requestContext": {"http": {"method": "GET"}}},
                            FakeContext(remaining_ms=20_000))
    elapsed = time.monotonic() - started
    # THEN 503 within the one budget (each address alone would have had 6 s: 18 s), every address tried
    assert response["statusCode"] == 503 and response["headers"]["retry-after"]
    assert elapsed < 6 + 1.5, elapsed
    assert [accepted(listener) for listener in listeners] == [True, True, True]


def test_remaining_time_caps_the_budget_across_addresses(db: str, silent_endpoint, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    port, _ = silent_endpoint
    iam_settings(monkeypatch, "proxy.example.internal", port)
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "10")
    monkeypatch.setattr(attempts, "resolve", lambda host, port: list(SILENT_ADDRESSES))
    config.reload()
    connection.reset()
    started = time.monotonic()
    response = http.handler({"version": "2.0", "rawPath": "/health", "requestContext": {"http": {"method": "GET"}}},
                            FakeContext(remaining_ms=4_000))
    assert response["statusCode"] == 503
    assert time.monotonic() - started < 4 - connection.RESPONSE_MARGIN_SECONDS + 0.5


def test_an_address_refusing_at_once_leaves_its_time_to_the_next(db: str, rds_proxy: LocalRdsProxy,
                                                                 monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the proxy's name resolving first to a dead address, then to the proxy
    monkeypatch.setattr(attempts, "resolve", lambda host, port: ["127.0.0.9", "127.0.0.1"])
    before = len(rds_proxy.attempts)
    # WHEN a request needs the database THEN it connects through the second, TLS verified by name
    response = http.handler({"version": "2.0", "rawPath": "/health", "requestContext": {"http": {"method": "GET"}}},
                            FakeContext())
    assert response["statusCode"] == 200
    assert connection.get().info.hostaddr == "127.0.0.1" and connection.get().pgconn.ssl_in_use
    assert rds_proxy.attempts[before:] == [Attempt("login", "app_user")]


class TestShares:
    """How the budget is split, with a fake clock and attempts that always time out."""

    def run(self, addresses: list[str], budget: float) -> list[tuple[str | None, int]]:
        now = [0.0]
        calls: list[tuple[str | None, int]] = []

        def connect(address: str | None, timeout: int) -> None:
            calls.append((address, timeout))
            now[0] += timeout
            raise TimeoutError

        with pytest.raises(TimeoutError):
            attempts.connect_within(connect, addresses, budget, retry_on=(TimeoutError,), clock=lambda: now[0])
        return calls

    def test_even_shares_never_under_two_seconds(self) -> None:
        assert self.run(["a", "b", "c"], 6) == [("a", 2), ("b", 2), ("c", 2)]
        assert self.run(["a", "b"], 10) == [("a", 5), ("b", 5)]
        assert self.run(["a", "b", "c"], 3) == [("a", 2)]  # a second attempt would overrun

    def test_socket_directory_gets_one_attempt_with_the_whole_budget(self) -> None:
        assert self.run([], 3) == [(None, 3)]

    def test_resolve_keeps_order_and_drops_repeats(self) -> None:
        assert attempts.resolve("/tmp/socket-dir", 5432) == []
        assert attempts.resolve("127.0.0.1", 5432) == ["127.0.0.1"]
