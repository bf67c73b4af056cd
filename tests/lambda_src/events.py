"""Builders of HTTP events in the shapes API Gateway and Function URLs send.

By default an event carries the caller an IAM-authorized API names (the example's API is one);
``caller`` picks another: ``"jwt"`` (a JWT authorizer's verified claims), ``"lambda"`` (a Lambda
authorizer's context) or None (no authorization: an API made public).
"""
from __future__ import annotations

import base64
import copy
import json
from typing import Any

from tests.lambda_src.conftest import load_event


#: A Lambda authorizer's simple-response context, as payload 2.0 carries it.
LAMBDA_AUTHORIZER = {"lambda": {"principalId": "user-42", "tenant": "acme"}}


def v2(method: str, path: str, body: Any = None, *, query: str = "", headers: dict[str, str] | None = None,
       raw_body: str | None = None, base64_body: bool = False, stage: str = "$default",
       cookies: list[str] | None = None, caller: str | None = "iam") -> dict[str, Any]:
    """An HTTP API payload 2.0 event (as the ``$default`` route sends it), from ``caller``."""
    event = copy.deepcopy(load_event("http_api_v2_post.json"))
    if caller is None:
        del event["requestContext"]["authorizer"]
    elif caller == "jwt":
        event["requestContext"]["authorizer"] = load_event("http_api_v2_get_jwt.json")["requestContext"]["authorizer"]
    elif caller == "lambda":
        event["requestContext"]["authorizer"] = copy.deepcopy(LAMBDA_AUTHORIZER)
    event["rawPath"] = path if stage == "$default" else f"/{stage}{path}"
    event["rawQueryString"] = query
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = event["rawPath"]
    event["requestContext"]["stage"] = stage
    event["headers"] = {"host": "abcdef1234.execute-api.eu-west-1.amazonaws.com", **(headers or {})}
    if body is not None and raw_body is None:
        raw_body = json.dumps(body)
        event["headers"].setdefault("content-type", "application/json")
    if raw_body is None:
        event.pop("body", None)
    elif base64_body:
        event["body"] = base64.b64encode(raw_body.encode()).decode()
    else:
        event["body"] = raw_body
    event["isBase64Encoded"] = base64_body
    if cookies:
        event["cookies"] = cookies
    return event


def v1(method: str, path: str, body: Any = None, *, query: dict[str, list[str]] | None = None,
       headers: dict[str, str] | None = None, caller: str | None = "iam") -> dict[str, Any]:
    """A REST API payload 1.0 proxy event, from an IAM caller (``caller="iam"``) or none (None)."""
    event = copy.deepcopy(load_event("rest_api_v1_get.json"))
    if caller is None:
        identity = event["requestContext"]["identity"]
        event["requestContext"]["identity"] = {"sourceIp": identity["sourceIp"], "userAgent": identity["userAgent"],
                                               **{key: None for key in identity if key not in ("sourceIp", "userAgent")}}
    event["httpMethod"] = method
    event["path"] = path
    event["multiValueQueryStringParameters"] = query
    event["queryStringParameters"] = {k: v[-1] for k, v in query.items() if v} if query else None
    event["headers"] = {"Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com", **(headers or {})}
    if body is not None and not any(key.lower() == "content-type" for key in event["headers"]):
        event["headers"]["Content-Type"] = "application/json"
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    event["body"] = json.dumps(body) if body is not None else None
    return event


def body_of(response: dict[str, Any]) -> Any:
    text = response["body"]
    if response.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return json.loads(text) if text else None
