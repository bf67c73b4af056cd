"""Tiny handlers for local-runtime tests: state that survives warm invocations, and a slow one."""
from __future__ import annotations

import os
import time
from typing import Any

COUNTER = {"calls": 0}


def count(event: Any, context: Any) -> dict[str, Any]:
    COUNTER["calls"] += 1
    return {"statusCode": 200, "body": f'{{"calls": {COUNTER["calls"]}, "pid": {os.getpid()}}}'}


def slow(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("sleep", 5)) if isinstance(event, dict) else 5)
    return {"statusCode": 200, "body": "{}"}


def fail(event: Any, context: Any) -> dict[str, Any]:
    raise RuntimeError("handler exploded")


def caller(event: Any, context: Any) -> dict[str, Any]:
    """Echoes who the gateway said the caller is."""
    import json

    return {"statusCode": 200, "body": json.dumps(event.get("requestContext", {}).get("authorizer"))}


def timed(event: Any, context: Any) -> dict[str, Any]:
    """Sleeps ``event["sleep"]`` seconds; says which process ran it, and when."""
    started = time.time()
    time.sleep(float(event.get("sleep", 0.5)))
    return {"statusCode": 200, "body": f'{{"pid": {os.getpid()}, "started": {started}, "ended": {time.time()}}}'}
