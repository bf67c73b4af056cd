"""The fast JSON codec accepts, rejects and writes exactly what the json module does."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambda_src.json_codec import decode as _decode, encode

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=12)


def outcome(function, text):  # type: ignore[no-untyped-def]
    try:
        return "ok", function(text)
    except Exception as error:  # noqa: BLE001 - compared, not swallowed
        return "error", type(error)


@pytest.mark.parametrize("text", ['{"a":1}', ' {"a":1}', '{"a":1} ', "{}x", "", " ", "5", "NaN", '"s"', "[1,",
                                  "\ufeff{}", '{"a":1}\n\n', "nul", "[" * 5000 + "]" * 5000])
def test_edge_cases_match_json_loads(text: str) -> None:
    ours, theirs = outcome(_decode, text), outcome(json.loads, text)
    if ours[0] == "ok" and isinstance(ours[1], float) and math.isnan(ours[1]):
        assert math.isnan(theirs[1])
    else:
        assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, padding=st.sampled_from(["", " ", "\n", "\t ", "x", "}", " 1"]))
def test_any_document_matches_json_loads(value: object, padding: str) -> None:
    for text in (json.dumps(value) + padding, padding + json.dumps(value)):
        assert outcome(_decode, text) == outcome(json.loads, text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_matches_json_loads(text: str) -> None:
    ours, theirs = outcome(_decode, text), outcome(json.loads, text)
    if ours[0] == "ok" and isinstance(ours[1], float) and math.isnan(ours[1]):
        return
    assert ours == theirs


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_encode_writes_what_json_dumps_writes(value: object) -> None:
    assert encode(value) == json.dumps(value, separators=(",", ":"), default=str)


def test_encode_falls_back_to_str_for_other_types() -> None:
    import datetime as dt
    import decimal

    value = {"when": dt.date(2026, 11, 22), "amount": decimal.Decimal("1.50"), "nested": [{"é": "ü"}]}
    assert encode(value) == json.dumps(value, separators=(",", ":"), default=str)


def test_decode_bytes_like_json_loads() -> None:
    assert _decode(b'{"a": [1]}') == {"a": [1]}
    assert _decode('{"a": 1}'.encode("utf-16")) == {"a": 1}
