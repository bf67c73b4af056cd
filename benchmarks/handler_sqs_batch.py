"""SQS batch of 100 records with 10% failures, work stubbed: ours beside Powertools BatchProcessor.

Both parse each body, dispatch on its type and run the same stubbed work; ours also wraps each
record in its (stubbed) transaction with the idempotency insert, and dispatches its after-commit
step (the WebSocket announcement, stubbed like the rest of the work). Target: ours <= 0.7x Powertools.
"""
from __future__ import annotations

import copy
import json

from _common import PROJECT, interleaved_us, stub_transaction

os_env = {"POWERTOOLS_SERVICE_NAME": "bench"}


def batch() -> dict:
    template = json.loads((PROJECT / "tests" / "events" / "sqs_batch.json").read_text())["Records"][0]
    records = []
    for index in range(100):
        record = copy.deepcopy(template)
        record["messageId"] = f"m-{index}"
        record["body"] = "not json" if index % 10 == 0 else json.dumps(
            {"type": "user.created", "user": {"id": index, "email": f"u{index}@example.com", "name": "U"}})
        records.append(record)
    return {"Records": records}


def ours():  # type: ignore[no-untyped-def]
    import lambda_src.log_setup  # noqa: F401 - Powertools configures logging at import too; same footing
    from lambda_src.example import worker
    from lambda_src.db import connection

    connection.transaction = stub_transaction  # type: ignore[assignment]
    worker.db.transaction = stub_transaction  # type: ignore[attr-defined]
    worker.AFTER_COMMIT = {kind: (lambda message: None) for kind in worker.AFTER_COMMIT}  # work: stubbed
    return lambda event: worker.handler(event, None)


def powertools():  # type: ignore[no-untyped-def]
    import os

    os.environ.update(os_env)
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from lambda_src.example import worker

    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record):  # type: ignore[no-untyped-def]
        message = json.loads(record.body)
        handler = worker.HANDLERS[message["type"]]
        stub_transaction(lambda tx: handler(tx, message, record.message_id))

    return lambda event: process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                                  context=None)


def main() -> None:
    import logging

    event = batch()
    ours_handler, pt_handler = ours(), powertools()
    logging.disable(logging.CRITICAL)  # both log each failure; measure the processing, not the log I/O
    assert len(ours_handler(event)["batchItemFailures"]) == 10
    assert len(pt_handler(event)["batchItemFailures"]) == 10
    timings = interleaved_us({"ours": lambda: ours_handler(event), "powertools": lambda: pt_handler(event)}, number=100)
    ours_us, pt_us = timings["ours"], timings["powertools"]
    print(f"{'measure':<52}{'ours':>9}{'anchor':>9}  ratio")
    print(f"{'SQS batch of 100, 10% failing, per batch (us)':<52}{ours_us:>9.0f}{pt_us:>9.0f}  {ours_us / pt_us:.2f}x"
          "  target <= 0.70x")


if __name__ == "__main__":
    main()
