"""Waking an auto-paused database: workers wait within their time, HTTP answers 503 with Retry-After.

A paused Aurora cluster holds a new connection while it resumes (15–30 s). The stand-in: a small
asyncio server in front of the test PostgreSQL that relays a connection only after a delay.
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from lambda_src import config
from lambda_src.example import http
from lambda_src.db import connection
from lambda_src.db.errors import DatabaseUnavailable
from tests.lambda_src.conftest import FakeContext

RESUME_SECONDS = 3.0


class Resuming:
    """Accepts TCP at once, but relays to PostgreSQL only ``delay`` seconds after each connection arrives."""

    def __init__(self, target_host: str, target_port: int, delay: float) -> None:
        self.target_host, self.target_port, self.delay = target_host, target_port, delay
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(5)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.delay)
        try:
            if self.target_host.startswith("/"):  # a socket directory, as the embedded server listens
                reader, writer = await asyncio.open_unix_connection(f"{self.target_host}/.s.PGSQL.{self.target_port}")
            else:
                reader, writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.close()
            return

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def resuming_database(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """DATABASE_URL pointing at the test database through a listener that answers after RESUME_SECONDS."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(db)
    resuming = Resuming(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432), RESUME_SECONDS)
    monkeypatch.setenv("DATABASE_URL", make_conninfo(db, host="127.0.0.1", port=str(resuming.port)))
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")  # shorter than the resume
    config.reload()
    connection.reset()
    yield
    connection.reset()
    resuming.close()


def test_a_waiting_function_connects_once_the_database_resumed(resuming_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a worker of an auto-paused database (DB_ON_PAUSE=wait), 10 s left, a 2 s connect timeout
    monkeypatch.setenv("DB_ON_PAUSE", "wait")
    config.reload()
    started = time.monotonic()
    # WHEN it runs a transaction while the database takes 3 s to resume
    result = connection.transaction(lambda tx: tx.one("SELECT 1")[0], remaining_ms=10_000)
    # THEN it waited for the resume instead of giving up after 2 s
    assert result == 1
    assert RESUME_SECONDS <= time.monotonic() - started < 10


def test_a_waiting_function_still_stops_before_its_own_timeout(resuming_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DB_ON_PAUSE", "wait")
    config.reload()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):  # the database layer's error (the HTTP app answers it with a 503)
        connection.transaction(lambda tx: tx.one("SELECT 1"), remaining_ms=3_000)
    assert time.monotonic() - started < 3 - connection.RESPONSE_MARGIN_SECONDS + 0.5


def test_http_answers_503_with_a_retry_after_long_enough_for_the_resume(resuming_database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN the API function of an auto-paused database (DB_ON_PAUSE=unavailable)
    monkeypatch.setenv("DB_ON_PAUSE", "unavailable")
    config.reload()
    started = time.monotonic()
    # WHEN a request arrives while it resumes
    response = http.handler({"version": "2.0", "rawPath": "/health", "requestContext": {"http": {"method": "GET"}}},
                            FakeContext(remaining_ms=10_000))
    # THEN 503 at once (the connect timeout), asking the client to come back after the resume
    assert response["statusCode"] == 503
    assert int(response["headers"]["retry-after"]) == connection.RESUME_RETRY_AFTER_SECONDS
    assert time.monotonic() - started < RESUME_SECONDS


def test_connect_timeouts_by_pause_behaviour() -> None:
    # wait: all the time left, not the configured value
    assert connection.connect_timeout(60_000, 3, "wait") == 59
    # unavailable: the configured value, never past API Gateway's 30 s integration limit
    assert connection.connect_timeout(60_000, 3, "unavailable") == 3
    assert connection.connect_timeout(60_000, 45, "unavailable") == connection.API_CONNECT_LIMIT_SECONDS < 30
    # a database that never pauses: unchanged
    assert connection.connect_timeout(60_000, 3, None) == 3
