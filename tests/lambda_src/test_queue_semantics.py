"""Queue semantics with a real queue API (moto's in-process SQS) and a real PostgreSQL.

The test plays the event source mapping: receive a batch, call the worker handler, delete what it
did not report as failed, and let SQS redeliver and redrive the rest. Every message must end up
processed exactly once (checked in PostgreSQL) or in the dead-letter queue: none lost, none twice.
"""
from __future__ import annotations

import json

import psycopg
import pytest

from lambda_src.example import worker
from tests.lambda_src.conftest import CREDENTIALS, FakeContext

MAX_RECEIVE_COUNT = 3


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import boto3
    from moto import mock_aws

    with mock_aws():
        # moto puts placeholder credentials in the environment: the function's own (which also sign
        # its IAM tokens to the database) go back in; moto takes any
        for key, value in {**CREDENTIALS, "AWS_DEFAULT_REGION": "eu-west-1"}.items():
            monkeypatch.setenv(key, value)
        client = boto3.client("sqs", region_name="eu-west-1")
        dlq_url = client.create_queue(QueueName="events-dlq")["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = client.create_queue(QueueName="events", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)})})["QueueUrl"]
        yield client, queue_url, dlq_url


def as_event(messages: list[dict], queue_arn: str) -> dict:
    """The SQS event the event source mapping would build from received messages."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "eu-west-1"} for m in messages]}


def drain(client, queue_url: str, *, skip_one_delete: bool) -> int:  # type: ignore[no-untyped-def]
    queue_arn = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rounds, skipped = 0, not skip_one_delete
    while rounds < 50:
        received = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                          AttributeNames=["All"]).get("Messages", [])
        if not received:
            break
        rounds += 1
        failed = {f["itemIdentifier"] for f in worker.handler(as_event(received, queue_arn), FakeContext())["batchItemFailures"]}
        for message in received:
            if message["MessageId"] in failed:
                continue  # left in the queue: SQS redelivers it, and redrives it after maxReceiveCount receives
            if not skipped:
                skipped = True  # a lost delete: SQS delivers this succeeded message again
                continue
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return rounds


def test_every_message_is_processed_exactly_once_or_dead_lettered(db: str, sqs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client, queue_url, dlq_url = sqs
    # GIVEN 30 messages: most good, some failing once (transient), some failing always (malformed)
    flaky_seen: set[int] = set()
    real_work = worker.HANDLERS["user.created"]

    def flaky_work(tx, message, message_id):  # type: ignore[no-untyped-def]
        user_id = message["user"]["id"]
        if user_id % 7 == 0 and user_id not in flaky_seen:
            flaky_seen.add(user_id)
            raise ConnectionError("transient failure")
        real_work(tx, message, message_id)

    monkeypatch.setitem(worker.HANDLERS, "user.created", flaky_work)
    sent: dict[str, str] = {}
    for index in range(1, 31):
        body = "{broken" if index % 10 == 0 else json.dumps({"type": "user.created", "user": {"id": index}})
        sent[client.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]] = body
    # WHEN the queue is drained the way the event source mapping drains it (with one lost delete)
    rounds = drain(client, queue_url, skip_one_delete=True)
    # THEN the queue is empty, and every message is either processed exactly once or dead-lettered
    assert rounds < 50
    dead = []
    while batch := client.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", []):
        dead += [m["MessageId"] for m in batch]
        for m in batch:
            client.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
    with psycopg.connect(db) as conn:
        processed = [row[0] for row in conn.execute("SELECT message_id FROM audit_log")]
    assert len(processed) == len(set(processed)), "no message was processed twice"
    assert set(processed) | set(dead) == set(sent), "no message was lost"
    assert not set(processed) & set(dead)
    assert set(dead) == {mid for mid, body in sent.items() if body == "{broken"}
    assert flaky_seen == {7, 14, 21, 28}  # each transient failure happened once and then succeeded
