"""The runtime's BatchProcessor with a consumer's own record handler and idempotency table
(nothing of the example's handler table or its processed_messages)."""
from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from lambda_src.batch import BatchProcessor, MalformedMessage
from lambda_src.db.connection import Transaction
from tests.lambda_src.conftest import FakeContext


def sqs(*bodies: tuple[str, Any]) -> dict[str, Any]:
    return {"Records": [{"messageId": mid, "body": json.dumps(body),
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:orders"} for mid, body in bodies]}


@pytest.fixture
def orders_tables(db: str) -> str:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders_seen, orders_done")
        conn.execute("CREATE TABLE orders_seen (message_id text PRIMARY KEY)")
        conn.execute("CREATE TABLE orders_done (order_id int PRIMARY KEY)")
        conn.execute("GRANT SELECT, INSERT ON orders_seen, orders_done TO app_user")
    return db


def record_order(tx: Transaction, message: Any, message_id: str) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("order"), int):
        raise MalformedMessage("order must be an integer")
    tx.execute("INSERT INTO orders_done (order_id) VALUES (%s)", (message["order"],))


def test_the_consumers_table_records_idempotency(orders_tables: str) -> None:
    # GIVEN a processor over a consumer's handler and its own idempotency table
    after: list[int] = []

    def handler(tx: Transaction, message: Any, message_id: str):  # type: ignore[no-untyped-def]
        record_order(tx, message, message_id)
        return lambda: after.append(message["order"])

    processor = BatchProcessor(handler, idempotency_table="orders_seen")
    # WHEN a batch with a malformed record is delivered twice
    batch = sqs(("m1", {"order": 1}), ("m2", {"order": "x"}), ("m3", {"order": 3}))
    assert processor(batch, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    assert processor(batch, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    # THEN the work and its after-commit step ran once per good message, recorded in orders_seen
    with psycopg.connect(orders_tables) as conn:
        assert conn.execute("SELECT message_id FROM orders_seen ORDER BY 1").fetchall() == [("m1",), ("m3",)]
        assert conn.execute("SELECT order_id FROM orders_done ORDER BY 1").fetchall() == [(1,), (3,)]
    assert after == [1, 3]


def test_an_unavailable_database_fails_the_record_and_the_rest(orders_tables: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN a database that cannot be reached (a closed port)
    import socket

    from lambda_src import config
    from lambda_src.db import connection

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DB_HOST", "127.0.0.1")
    monkeypatch.setenv("DB_PORT", str(port))
    config.reload()
    connection.reset()
    processor = BatchProcessor(record_order, idempotency_table="orders_seen")
    # WHEN a batch arrives THEN every record is reported failed, for SQS to redeliver
    result = processor(sqs(("a", {"order": 1}), ("b", {"order": 2})), FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}


@pytest.mark.parametrize("name", ["orders seen", "x; DROP TABLE users", "Orders", ""])
def test_the_table_name_must_be_an_identifier(name: str) -> None:
    with pytest.raises(ValueError, match="idempotency_table"):
        BatchProcessor(record_order, idempotency_table=name)


def fifo(*bodies: tuple[str, Any]) -> dict[str, Any]:
    batch = sqs(*bodies)
    for record in batch["Records"]:
        record["eventSourceARN"] = "arn:aws:sqs:eu-west-1:111122223333:orders.fifo"
    return batch


def orders_done(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute("SELECT order_id FROM orders_done ORDER BY 1")]


class TestAFailureMidBatch:
    """A record whose transaction fails on the database (not a malformed body, not an unreachable
    database): here an order inserted twice, which the primary key refuses."""

    def test_on_a_fifo_queue_the_rest_of_the_batch_fails_unprocessed(self, orders_tables: str) -> None:
        # GIVEN a FIFO batch whose second record violates a constraint
        processor = BatchProcessor(record_order, idempotency_table="orders_seen")
        batch = fifo(("m1", {"order": 1}), ("m2", {"order": 1}), ("m3", {"order": 3}))
        # WHEN it is processed
        result = processor(batch, FakeContext())
        # THEN the failed record and every one after it are reported, and the ones after it did not run
        assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
        assert orders_done(orders_tables) == [1]

    def test_on_a_standard_queue_only_that_record_fails(self, orders_tables: str) -> None:
        processor = BatchProcessor(record_order, idempotency_table="orders_seen")
        result = processor(sqs(("m1", {"order": 1}), ("m2", {"order": 1}), ("m3", {"order": 3})), FakeContext())
        assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
        assert orders_done(orders_tables) == [1, 3]

    def test_its_message_id_is_not_recorded_so_a_redelivery_runs_it_again(self, orders_tables: str) -> None:
        # GIVEN a record that failed on the database
        calls: list[str] = []

        def flaky(tx: Transaction, message: Any, message_id: str) -> None:
            calls.append(message_id)
            if len(calls) == 1:
                tx.execute("SELECT 1 / 0")
            record_order(tx, message, message_id)

        processor = BatchProcessor(flaky, idempotency_table="orders_seen")
        assert processor(sqs(("m1", {"order": 1})), FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
        # WHEN SQS redelivers it THEN it runs again and commits
        assert processor(sqs(("m1", {"order": 1})), FakeContext()) == {"batchItemFailures": []}
        assert calls == ["m1", "m1"] and orders_done(orders_tables) == [1]


class TestAfterCommit:
    def test_runs_after_the_commit_on_the_first_delivery_only(self, orders_tables: str) -> None:
        # GIVEN a handler whose after-commit step reads what its transaction wrote, from another connection
        seen: list[list[int]] = []

        def handler(tx: Transaction, message: Any, message_id: str):  # type: ignore[no-untyped-def]
            record_order(tx, message, message_id)
            return lambda: seen.append(orders_done(orders_tables))

        processor = BatchProcessor(handler, idempotency_table="orders_seen")
        # WHEN one message is delivered, then delivered again
        assert processor.process_record({"body": '{"order": 7}'}, "m7") is True
        assert processor.process_record({"body": '{"order": 7}'}, "m7") is False
        # THEN the step ran once, and saw the committed work
        assert seen == [[7]]

    def test_a_failing_step_neither_fails_the_record_nor_stops_the_batch(
            self, orders_tables: str, package_log: pytest.LogCaptureFixture) -> None:
        # GIVEN a step that fails for the first message (a broadcast to a gone client, say)
        def handler(tx: Transaction, message: Any, message_id: str):  # type: ignore[no-untyped-def]
            record_order(tx, message, message_id)

            def step() -> None:
                if message["order"] == 1:
                    raise ConnectionError("client gone")
            return step

        processor = BatchProcessor(handler, idempotency_table="orders_seen")
        # WHEN a FIFO batch runs
        result = processor(fifo(("m1", {"order": 1}), ("m2", {"order": 2})), FakeContext())
        # THEN both records are reported done (their work committed; a redelivery would not redo the step)
        assert result == {"batchItemFailures": []} and orders_done(orders_tables) == [1, 2]
        # AND the failure is logged with the message id and the error
        failed = [r for r in package_log.records if r.getMessage() == "after-commit step failed"]
        assert [(r.messageId, r.exc_info[0]) for r in failed] == [("m1", ConnectionError)]

    def test_a_duplicate_is_logged_as_skipped_and_a_first_delivery_is_not(
            self, orders_tables: str, package_log: pytest.LogCaptureFixture) -> None:
        processor = BatchProcessor(record_order, idempotency_table="orders_seen")
        processor(sqs(("m1", {"order": 1})), FakeContext())
        first = [r.getMessage() for r in package_log.records]
        processor(sqs(("m1", {"order": 1})), FakeContext())
        assert "duplicate message skipped" not in first
        assert [r.messageId for r in package_log.records if r.getMessage() == "duplicate message skipped"] == ["m1"]
