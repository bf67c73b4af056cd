"""SQS worker and scheduled job against a real PostgreSQL: partial failures, duplicates, idempotency."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import psycopg
import pytest

from lambda_src.example import schedule, worker
from tests.lambda_src.conftest import FakeContext, load_event


def record(message_id: str, body: object, arn: str = "arn:aws:sqs:eu-west-1:123456789012:users-events") -> dict:
    template = copy.deepcopy(load_event("sqs_batch.json")["Records"][0])
    template.update(messageId=message_id, eventSourceARN=arn,
                    body=body if isinstance(body, str) else json.dumps(body))
    return template


def created(user_id: int) -> dict:
    return {"type": "user.created", "user": {"id": user_id, "email": f"u{user_id}@example.com", "name": "U"}}


def audit_rows(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT user_id, message_id FROM audit_log ORDER BY id").fetchall()


class TestWorker:
    def test_real_shaped_batch_reports_only_the_malformed_record(self, db: str) -> None:
        result = worker.handler(load_event("sqs_batch.json"), FakeContext())
        assert result == {"batchItemFailures": [{"itemIdentifier": "2e1424d4-f796-459a-8184-9c92662be6da"}]}
        assert audit_rows(db) == [(1, "059f36b4-87a3-44ab-83d2-661975830a7d")]

    def test_partial_failure_lists_exactly_the_failed_ids(self, db: str) -> None:
        batch = {"Records": [record("m1", created(1)), record("m2", {"type": "unknown"}), record("m3", created(3)),
                             record("m4", {"type": "user.created", "user": {}}), record("m5", "[1, 2")]}
        result = worker.handler(batch, FakeContext())
        assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["m2", "m4", "m5"]
        assert audit_rows(db) == [(1, "m1"), (3, "m3")]

    def test_records_not_started_in_time_are_left_to_redelivery(self, db: str) -> None:
        # GIVEN an invocation whose time runs out after the second record
        class Clock(FakeContext):
            left = [5_000, 4_000, worker.MIN_REMAINING_MS - 1, 600, 500]

            def get_remaining_time_in_millis(self) -> int:
                return self.left.pop(0) if self.left else 0

        batch = {"Records": [record(f"t{i}", created(i)) for i in range(1, 6)]}
        # WHEN the batch runs THEN the unstarted records are failed, the done ones are not
        result = worker.handler(batch, Clock())
        assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == ["t3", "t4", "t5"]
        assert audit_rows(db) == [(1, "t1"), (2, "t2")]
        # AND their redelivery does them exactly once
        assert worker.handler(batch, FakeContext()) == {"batchItemFailures": []}
        assert audit_rows(db) == [(1, "t1"), (2, "t2"), (3, "t3"), (4, "t4"), (5, "t5")]

    def test_duplicate_delivery_does_the_work_once(self, db: str) -> None:
        batch = {"Records": [record("dup-1", created(7))]}
        assert worker.handler(batch, FakeContext()) == {"batchItemFailures": []}
        assert worker.handler(batch, FakeContext()) == {"batchItemFailures": []}
        assert worker.handler({"Records": [record("dup-1", created(7)), record("dup-1", created(7))]},
                              FakeContext()) == {"batchItemFailures": []}
        assert audit_rows(db) == [(7, "dup-1")]

    def test_work_that_does_not_commit_is_reported_failed_and_leaves_nothing(self, db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        # GIVEN work that fails after writing (a constraint, a bug, the database going away)
        def failing(tx, message, message_id):  # type: ignore[no-untyped-def]
            tx.execute("INSERT INTO audit_log (event_type, user_id, message_id) VALUES ('x', 1, %s)", (message_id,))
            raise RuntimeError("boom after writing")

        monkeypatch.setitem(worker.HANDLERS, "user.created", failing)
        result = worker.handler({"Records": [record("f1", created(1))]}, FakeContext())
        # THEN it is reported failed, and neither its work nor its idempotency record committed
        assert result == {"batchItemFailures": [{"itemIdentifier": "f1"}]}
        assert audit_rows(db) == []
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM processed_messages").fetchone()[0] == 0

    def test_fifo_records_after_a_failure_are_failed_too(self, db: str) -> None:
        fifo = "arn:aws:sqs:eu-west-1:123456789012:users-events.fifo"
        batch = {"Records": [record("q1", created(1), fifo), record("q2", "bad", fifo), record("q3", created(3), fifo)]}
        assert [f["itemIdentifier"] for f in worker.handler(batch, FakeContext())["batchItemFailures"]] == ["q2", "q3"]
        assert audit_rows(db) == [(1, "q1")]

    @pytest.mark.parametrize("event", [{}, {"Records": "x"}, None, []])
    def test_non_sqs_event_fails_the_invocation(self, event) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ValueError, match="not an SQS event"):
            worker.handler(event, FakeContext())


class TestSchedule:
    def test_job_runs_once_per_scheduled_time(self, db: str) -> None:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("INSERT INTO users (email, name, created_at) VALUES ('a@x.io', 'A', '2026-11-22T01:00:00Z'), "
                         "('b@x.io', 'B', '2026-11-21T01:00:00Z')")
        event = load_event("scheduled_event.json")
        first = schedule.handler(event, FakeContext())
        assert first["usersTotal"] == 2 and first["usersCreated"] == 1 and first["day"] == "2026-11-22"
        assert schedule.handler(event, FakeContext()) == {"skipped": True}
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM job_runs").fetchone()[0] == 1
            assert conn.execute("SELECT users_total FROM daily_stats").fetchall() == [(2,)]

    def test_another_scheduled_time_runs_again(self, db: str) -> None:
        schedule.run_job(datetime(2026, 11, 22, 3, tzinfo=timezone.utc))
        assert "skipped" not in schedule.run_job(datetime(2026, 11, 23, 3, tzinfo=timezone.utc))

    def test_old_idempotency_records_are_purged(self, db: str) -> None:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute("INSERT INTO processed_messages VALUES ('old', '2026-10-01T00:00:00Z'), ('new', now())")
        assert schedule.handler({"scheduledTime": "2026-11-22T03:00:00Z"}, FakeContext())["purged"] == 1

    @pytest.mark.parametrize("event", [{}, {"time": 5}, None])
    def test_event_without_a_time_fails(self, event) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(ValueError):
            schedule.handler(event, FakeContext())
