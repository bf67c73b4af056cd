"""A database that stops answering costs a request a 503, never the function's timeout.

The database is really frozen: every process of the embedded PostgreSQL is stopped with SIGSTOP
(and always continued afterwards). Calls that would hang run in a helper thread, so a regression
fails the test after the invocation's time instead of hanging the suite.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from lambda_src import config
from lambda_src.example import http, schedule, worker
from lambda_src.db import connection
from lambda_src.db.deadline import Watchdog, shut_down
from lambda_src.db.errors import DatabaseUnavailable
from lambda_src.web.router import HttpApp
from tests.lambda_src import pg
from tests.lambda_src.conftest import FakeContext, load_event
from tests.lambda_src.events import body_of, v2

T = TypeVar("T")


@contextmanager
def frozen_database() -> Iterator[None]:
    """Every process of the embedded server stopped (SIGSTOP) for the block, continued afterwards
    whatever happens. The postmaster goes first, so it starts no child while they are stopped."""
    import psutil

    if pg._server is None:
        pytest.skip("the tests run against TEST_DATABASE_URL: its server is not ours to stop")
    postmaster = psutil.Process(pg._server.get_pid())
    stopped: list[psutil.Process] = []
    try:
        postmaster.suspend()
        stopped.append(postmaster)
        for child in postmaster.children(recursive=True):
            try:
                child.suspend()
                stopped.append(child)
            except psutil.NoSuchProcess:
                pass
        yield
    finally:
        for process in reversed(stopped):
            try:
                process.resume()
            except psutil.NoSuchProcess:
                pass


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, or its exception, if it returns within ``seconds``; else the test fails
    (the call goes on in its thread until the database is continued)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True, name="call-within")
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds:g} s: Lambda would have killed the invocation")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class TickingContext(FakeContext):
    """A context whose remaining time runs down in real time, as Lambda's does."""

    def __init__(self, remaining_ms: int) -> None:
        super().__init__(remaining_ms)
        self._ends = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def batch(count: int) -> dict[str, Any]:
    """An SQS batch of ``count`` user.created messages, ``h1``…"""
    template = load_event("sqs_batch.json")["Records"][0]
    return {"Records": [{**template, "messageId": f"h{i}", "body": json.dumps(
        {"type": "user.created", "user": {"id": i, "email": f"h{i}@example.com", "name": "H"}})}
        for i in range(1, count + 1)]}


def slow_app() -> HttpApp:
    """An app with one route whose statement outlasts any small budget."""
    app = HttpApp()

    @app.route("GET", "/slow")
    def slow(request: Any) -> dict[str, Any]:
        connection.transaction(lambda tx: tx.one("SELECT pg_sleep(4)"),
                               remaining_ms=connection.remaining_ms(request.context))
        return {"slept": True}

    return app


class TestFrozenDatabase:
    def test_a_request_gets_503_before_the_timeout_and_the_next_one_recovers(self, db: str) -> None:
        # GIVEN a warm container (its connection open), then the database frozen
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        opened = connection.connections_opened
        with frozen_database():
            # WHEN a request arrives with 3 s left in the invocation
            started = time.monotonic()
            response = within(3.0, lambda: http.handler(v2("GET", "/health"), FakeContext(remaining_ms=3_000)))
            elapsed = time.monotonic() - started
        # THEN it is a 503 with Retry-After and the JSON error body, when the budget (3 s less the
        # response margin) ran out, before the invocation would have been killed
        assert response["statusCode"] == 503 and response["headers"]["retry-after"] == "5"
        assert body_of(response)["error"]["code"] == "service_unavailable"
        assert 3.0 - connection.RESPONSE_MARGIN_SECONDS - 0.1 < elapsed < 3.0 - connection.RESPONSE_MARGIN_SECONDS / 2
        # AND once the database runs again the next request succeeds on a new connection
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.connections_opened == opened + 1

    def test_a_new_connection_to_a_frozen_database_is_a_503_too(self, db: str) -> None:
        # GIVEN a cold container and a frozen database
        connection.reset()
        with frozen_database():
            # WHEN a request arrives THEN the connect attempt is cut by the budget: a 503
            response = within(4.0, lambda: http.handler(v2("GET", "/health"), FakeContext(remaining_ms=4_000)))
        assert response["statusCode"] == 503 and response["headers"]["retry-after"]
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200


class TestLongStatement:
    def test_a_statement_longer_than_the_budget_is_a_503(self, db: str) -> None:
        # GIVEN a warm container and a route whose statement takes 4 s
        app = slow_app()
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        # WHEN it runs with 2.5 s left
        started = time.monotonic()
        response = within(2.5, lambda: app(v2("GET", "/slow"), FakeContext(remaining_ms=2_500)))
        elapsed = time.monotonic() - started
        # THEN a 503 with Retry-After once the 1.5 s budget is spent, not a 200 after 4 s
        assert response["statusCode"] == 503 and response["headers"]["retry-after"] == "5"
        assert body_of(response)["error"]["code"] == "service_unavailable"
        assert elapsed < 2.5 - connection.RESPONSE_MARGIN_SECONDS / 2
        # AND the next request is served
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200

    def test_without_the_remaining_time_the_transaction_timeout_bounds_it(self, db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        # GIVEN a caller that does not pass the invocation's remaining time, and a 1 s bound
        monkeypatch.setenv("DB_TRANSACTION_TIMEOUT", "1")
        config.reload()
        # WHEN its statement takes 4 s THEN it is cut after 1 s
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            within(2.0, lambda: connection.transaction(lambda tx: tx.one("SELECT pg_sleep(4)")))
        assert time.monotonic() - started < 1.5

    def test_a_deadline_that_passed_after_its_transaction_ended_harms_nothing(self, db: str) -> None:
        # GIVEN a warm container, and a transaction that ended well within a 0.2 s budget
        assert connection.transaction(lambda tx: tx.one("SELECT 0")) == (0,)
        assert connection.transaction(lambda tx: tx.one("SELECT 1"), remaining_ms=1_200) == (1,)
        opened = connection.connections_opened
        # WHEN its deadline has passed
        time.sleep(0.4)
        # THEN the connection still serves the next transactions
        assert connection.transaction(lambda tx: tx.one("SELECT 2"), remaining_ms=10_000) == (2,)
        assert connection.transaction(lambda tx: tx.one("SELECT 3")) == (3,)
        assert connection.connections_opened == opened


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


class TestWorkerAndSchedule:
    def test_a_worker_on_a_hung_database_reports_its_batch_failed_before_its_timeout(self, db: str) -> None:
        # GIVEN a warm worker container, then the database frozen
        assert worker.handler(batch(1), FakeContext()) == {"batchItemFailures": []}
        with frozen_database():
            # WHEN a batch of three arrives with 4 s to run
            started = time.monotonic()
            result = within(4.0, lambda: worker.handler(batch(3), TickingContext(4_000)))
            elapsed = time.monotonic() - started
        # THEN the invocation returns in time and every record is reported failed, for redelivery
        assert [failure["itemIdentifier"] for failure in result["batchItemFailures"]] == ["h1", "h2", "h3"]
        assert elapsed < 4.0 - connection.RESPONSE_MARGIN_SECONDS / 2
        # AND the redelivered batch is processed once the database runs again
        assert worker.handler(batch(3), FakeContext()) == {"batchItemFailures": []}

    def test_an_unavailable_database_fails_the_rest_of_the_batch_at_once(self, db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        # GIVEN a cold worker container, a frozen database and a 2 s connect timeout
        monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
        config.reload()
        connection.reset()
        with frozen_database():
            # WHEN a batch of five arrives with 30 s to run
            started = time.monotonic()
            result = within(6.0, lambda: worker.handler(batch(5), TickingContext(30_000)))
            elapsed = time.monotonic() - started
        # THEN one connect attempt decides for the batch: all five are failed after about 2 s,
        # not after five attempts of 2 s each
        assert len(result["batchItemFailures"]) == 5
        assert elapsed < 2 * 2, elapsed

    def test_the_schedule_on_a_hung_database_fails_before_its_timeout(self, db: str) -> None:
        # GIVEN a warm container, then the database frozen
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        with frozen_database():
            # WHEN the daily job starts with 3 s to run THEN it raises (the scheduler retries it) in time
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable):
                within(3.0, lambda: schedule.handler(load_event("scheduled_event.json"), TickingContext(3_000)))
            assert time.monotonic() - started < 3.0 - connection.RESPONSE_MARGIN_SECONDS / 2
        # AND its retry runs the job
        assert "day" in schedule.handler(load_event("scheduled_event.json"), FakeContext())

    def test_a_runner_bound_to_an_invocation_gives_each_transaction_the_time_left(self, db: str) -> None:
        # GIVEN a warm container and a runner for an invocation with 2.5 s left (as publish_pending takes)
        assert connection.transaction(lambda tx: tx.one("SELECT 1")) == (1,)
        run = connection.runner(TickingContext(2_500))
        # WHEN a statement outlasts it THEN it is cut at that invocation's deadline
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            within(2.5, lambda: run(lambda tx: tx.one("SELECT pg_sleep(4)")))
        assert time.monotonic() - started < 2.0


class TestWatchdog:
    """The watchdog alone, on a connected socket pair standing in for libpq's connection."""

    @pytest.fixture
    def pair(self) -> Iterator[tuple[socket.socket, socket.socket]]:
        ours, peer = socket.socketpair()
        yield ours, peer
        ours.close()
        peer.close()

    def test_a_deadline_reached_shuts_the_socket_down(self, pair: tuple[socket.socket, socket.socket]) -> None:
        # GIVEN a blocked read on a socket armed with a 0.2 s deadline
        ours, _ = pair
        dog = Watchdog()
        started = time.monotonic()
        dog.arm(ours.fileno(), started + 0.2)
        ours.settimeout(5)
        # WHEN the peer never answers THEN the read ends at the deadline, with end of stream
        assert ours.recv(1) == b""
        assert 0.2 <= time.monotonic() - started < 1
        # AND disarming reports it
        assert dog.disarm() is True
        assert dog.disarm() is False

    def test_a_disarmed_deadline_never_strikes(self, pair: tuple[socket.socket, socket.socket]) -> None:
        ours, peer = pair
        dog = Watchdog()
        dog.arm(ours.fileno(), time.monotonic() + 0.1)
        assert dog.disarm() is False
        time.sleep(0.3)
        peer.sendall(b"x")
        assert ours.recv(1) == b"x"

    def test_an_earlier_deadline_after_a_later_one_strikes_on_time(self, pair: tuple[socket.socket, socket.socket]) -> None:
        # GIVEN a watchdog whose thread last waited for a deadline 30 s away
        ours, _ = pair
        dog = Watchdog()
        dog.arm(ours.fileno(), time.monotonic() + 30)
        time.sleep(0.05)
        assert dog.disarm() is False
        # WHEN the next transaction's deadline is 0.2 s away THEN it strikes then, not in 30 s
        started = time.monotonic()
        dog.arm(ours.fileno(), started + 0.2)
        ours.settimeout(5)
        assert ours.recv(1) == b""
        assert time.monotonic() - started < 1
        assert dog.disarm() is True

    def test_shutting_down_what_is_no_socket_is_harmless(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        with open(tmp_path / "file", "wb") as file:
            shut_down(file.fileno())
            file.write(b"still open")


class TestWebSocket:
    def test_a_websocket_action_on_a_hung_database_answers_within_the_invocations_time(self, db: str) -> None:
        from lambda_src.example.websocket import handler

        # GIVEN a warm container (its connection open), then the database frozen
        assert connection.transaction(lambda tx: tx.one("SELECT 1"))[0] == 1
        message = {"requestContext": {"connectionId": "c-hung", "eventType": "MESSAGE", "routeKey": "$default"},
                   "body": json.dumps({"action": "subscribe", "channel": "users"})}
        with frozen_database():
            # WHEN a subscribe arrives with 3 s left (less than the 5 s transaction timeout)
            # THEN it is answered within those 3 s: the invocation's time bounds the action's transaction
            assert within(3.0, lambda: handler(message, TickingContext(3_000)))["statusCode"] == 200
