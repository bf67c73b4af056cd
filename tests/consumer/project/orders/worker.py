"""Order events from the queue: reports failures item by item."""
from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        try:
            json.loads(record["body"])
        except ValueError:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
