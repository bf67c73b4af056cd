"""The runtime's BatchProcessor with a consumer's own record handler and idempotency table
(nothing of the example's handler table or its processed_messages)."""
from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from lambda_src.batch import BatchProcessor, MalformedMessage
from lambda_src.db.connection import Transaction
from lambda_src.db.errors import DatabaseUnavailable
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

    def test_a_malformed_record_on_a_fifo_queue_fails_the_rest_too(self, orders_tables: str) -> None:
        processor = BatchProcessor(record_order, idempotency_table="orders_seen")
        result = processor(fifo(("m1", {"order": 1}), ("m2", {"order": "x"}), ("m3", {"order": 3})), FakeContext())
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


def test_by_default_message_ids_are_recorded_in_processed_messages(orders_tables: str) -> None:
    # GIVEN a processor with the default idempotency table (the example's migrations create it)
    processor = BatchProcessor(record_order)
    assert processor.idempotency_table == "processed_messages"
    # WHEN a message is processed THEN its id is recorded there
    assert processor(sqs(("d1", {"order": 5})), FakeContext()) == {"batchItemFailures": []}
    with psycopg.connect(orders_tables) as conn:
        assert conn.execute("SELECT message_id FROM processed_messages").fetchall() == [("d1",)]


@pytest.mark.parametrize("body", ["{not json", "", None])
def test_a_body_that_is_not_json_is_reported_malformed(orders_tables: str, body: str | None,
                                                       package_log: pytest.LogCaptureFixture) -> None:
    # GIVEN a record whose body is not JSON (or missing), between two good ones
    batch = sqs(("g1", {"order": 1}), ("bad", {}), ("g2", {"order": 2}))
    batch["Records"][1]["body"] = body
    # WHEN processed THEN only it fails, as malformed (the DLQ keeps it), and the handler never saw it
    processor = BatchProcessor(record_order, idempotency_table="orders_seen")
    assert processor(batch, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert [(r.getMessage(), r.messageId, r.error) for r in package_log.records if r.levelname == "WARNING"] == [
        ("malformed message", "bad", "body is not JSON")]
    assert orders_done(orders_tables) == [1, 2]


@pytest.mark.parametrize("event", [{"Records": None}, {"Records": {"messageId": "m1"}}, {}, [], None])
def test_an_event_without_a_records_list_fails_the_invocation(event: Any) -> None:
    # nothing is reported failed, so nothing could be lost: the whole invocation fails
    with pytest.raises(ValueError, match="not an SQS event: no Records list"):
        BatchProcessor(record_order)._process(event, FakeContext())


def test_with_too_little_time_left_no_record_is_started(orders_tables: str) -> None:
    # GIVEN an invocation with less than min_remaining_ms left
    processor = BatchProcessor(record_order, idempotency_table="orders_seen", min_remaining_ms=5_000)
    # WHEN a batch arrives THEN every record is left to redelivery, and none was started
    result = processor(sqs(("t1", {"order": 1}), ("t2", {"order": 2})), FakeContext(remaining_ms=4_999))
    assert result == {"batchItemFailures": [{"itemIdentifier": "t1"}, {"itemIdentifier": "t2"}]}
    assert orders_done(orders_tables) == []
    # AND with exactly min_remaining_ms left they run
    assert processor(sqs(("t1", {"order": 1})), FakeContext(remaining_ms=5_000)) == {"batchItemFailures": []}
    assert orders_done(orders_tables) == [1]


def test_a_record_without_a_message_id_is_skipped_not_reported(orders_tables: str) -> None:
    # GIVEN records SQS could not redrive one by one (no messageId), among good ones
    batch = sqs(("k1", {"order": 1}), ("k2", {"order": 2}))
    batch["Records"][1:1] = [{"body": '{"order": 9}'}, "not a record"]
    # WHEN processed THEN they are neither reported nor run; the others are
    assert BatchProcessor(record_order, idempotency_table="orders_seen")(batch, FakeContext()) == {
        "batchItemFailures": []}
    assert orders_done(orders_tables) == [1, 2]


def test_once_the_database_is_unavailable_the_rest_fail_without_being_tried(orders_tables: str) -> None:
    # GIVEN a handler that finds the database unavailable on the first record (a hung database, say)
    seen: list[str] = []

    def handler(tx: Transaction, message: Any, message_id: str) -> None:
        seen.append(message_id)
        if message_id == "u1":
            raise DatabaseUnavailable("did not answer in time")
        record_order(tx, message, message_id)

    # WHEN a standard (not FIFO) batch runs THEN the rest are reported failed at once, never started
    result = BatchProcessor(handler, idempotency_table="orders_seen")(
        sqs(("u1", {"order": 1}), ("u2", {"order": 2}), ("u3", {"order": 3})), FakeContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "u1"}, {"itemIdentifier": "u2"},
                                            {"itemIdentifier": "u3"}]}
    assert seen == ["u1"] and orders_done(orders_tables) == []
