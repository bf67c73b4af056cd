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
