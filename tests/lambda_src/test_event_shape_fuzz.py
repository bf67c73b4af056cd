"""Structural fuzz of the HTTP adapter: real events with any field replaced by any JSON value.

The request fuzz in ``test_bad_input`` varies what a client controls; this one varies the event's
own shape (types and presence of every field API Gateway or a Function URL would set), which is
what a misconfigured integration or a hand-written test event produces. Neither may give a 5xx
or raise.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_src.example import http
from tests.lambda_src.conftest import FakeContext, load_event

SOURCES = ["http_api_v2_get.json", "http_api_v2_post.json", "rest_api_v1_get.json", "function_url_post_base64.json"]
#: Every code point, lone surrogates included (hypothesis leaves category Cs out unless asked).
UNICODE = st.characters(exclude_categories=())
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(UNICODE, max_size=12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(UNICODE, max_size=8), inner, max_size=3),
                           max_leaves=6)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, prefix + (index,))
    return found


def mutate(draw: st.DrawFn, event: dict[str, Any], path: tuple[Any, ...]) -> None:
    """Delete the value at ``path`` (when its parent is an object) or replace it with any JSON value."""
    parent: Any = event
    for key in path[:-1]:
        parent = parent[key]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(load_event(draw(st.sampled_from(SOURCES))))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(event)
        if not candidates:
            break
        mutate(draw, event, draw(st.sampled_from(candidates)))
    return event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=mutated_events())
def test_any_event_shape_gets_a_non_5xx_json_response(db: str, event: dict[str, Any]) -> None:
    response = http.handler(event, FakeContext())
    assert response["statusCode"] < 500, (event, response)
    if response["statusCode"] >= 400:
        assert set(json.loads(response["body"])) == {"error"}


@st.composite
def mutated_batches(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sqs_batch.json"))
    for _ in range(draw(st.integers(1, 3))):
        mutate(draw, event, draw(st.sampled_from([p for p in paths(event) if p[0] == "Records" and len(p) >= 2]
                                                 or [("Records",)])))
    return event


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=mutated_batches())
def test_any_record_shape_fails_at_most_itself(db: str, event: dict[str, Any]) -> None:
    from lambda_src.example import worker

    records = event["Records"]
    if not isinstance(records, list):
        return  # not a batch at all: the invocation fails (covered in test_worker_schedule)
    result = worker.handler(event, FakeContext())
    ids = [r["messageId"] for r in records if isinstance(r, dict) and isinstance(r.get("messageId"), str)]
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    # THEN only ids of the batch are reported, each once
    assert set(failed) <= set(ids) and len(failed) == len(set(failed))
    # AND a record left intact still succeeds, whatever happened to its neighbours (standard queue)
    intact = load_event("sqs_batch.json")["Records"][0]
    first = records[0] if records else None
    fifo = isinstance(first, dict) and str(first.get("eventSourceARN", "")).endswith(".fifo")
    if intact in records and ids.count(intact["messageId"]) == 1 and not fifo:
        assert intact["messageId"] not in failed
