"""GET /orders/{id}: a handler as a team would write it, with no framework."""
from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order_id = (event.get("pathParameters") or {}).get("id", "")
    if not order_id.isascii() or not order_id.isdigit():
        return {"statusCode": 404, "body": json.dumps({"error": "not found"})}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"id": int(order_id), "status": "shipped"})}
