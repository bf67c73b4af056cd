"""Bad input: every malformed request gets a 4xx with the JSON error shape, never a 500."""
from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_src import log
from lambda_src.errors import Conflict, HTTPError
from lambda_src.example import http
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v1, v2

BIG = "x" * 1_048_577
JSON = {"content-type": "application/json"}

#: (description, event, expected status) — each a distinct way a client can get it wrong.
BAD_REQUESTS: list[tuple[str, dict[str, Any], int]] = [
    ("unknown path", v2("GET", "/nope"), 404),
    ("unknown nested path", v2("GET", "/users/1/orders"), 404),
    ("trailing slash", v2("GET", "/users/1/"), 404),
    ("non-numeric id", v2("GET", "/users/abc"), 404),
    ("negative id", v2("GET", "/users/-5"), 404),
    ("overflowing id", v2("GET", "/users/123456789012345678901234"), 404),
    ("wrong method on collection", v2("DELETE", "/users"), 405),
    ("wrong method on item", v2("POST", "/users/1"), 405),
    ("wrong method on health", v2("POST", "/health"), 405),
    ("text/plain body", v2("POST", "/users", raw_body='{"a":1}', headers={"content-type": "text/plain"}), 415),
    ("form body", v2("POST", "/users", raw_body="email=a", headers={"content-type": "application/x-www-form-urlencoded"}), 415),
    ("xml body", v2("POST", "/users", raw_body="<a/>", headers={"content-type": "application/xml"}), 415),
    ("body over the limit", v2("POST", "/users", raw_body=BIG), 413),
    ("base64 body over the limit", v2("POST", "/users", raw_body=BIG, base64_body=True), 413),
    ("malformed JSON", v2("POST", "/users", raw_body="{", headers=JSON), 400),
    ("JSON with trailing garbage", v2("POST", "/users", raw_body='{"a": 1} x', headers=JSON), 400),
    ("empty body", v2("POST", "/users", raw_body=""), 400),
    ("invalid base64", {**v2("POST", "/users", raw_body="x"), "body": "!!!", "isBase64Encoded": True}, 400),
    ("base64 of invalid UTF-8 JSON", {**v2("POST", "/users", raw_body="x", headers=JSON),
                                      "body": base64.b64encode(b"\xff\xfe").decode(), "isBase64Encoded": True}, 400),
    ("JSON array instead of object", v2("POST", "/users", [1, 2]), 422),
    ("JSON string instead of object", v2("POST", "/users", "ada"), 422),
    ("missing fields", v2("POST", "/users", {}), 422),
    ("missing name", v2("POST", "/users", {"email": "a@b.co"}), 422),
    ("invalid email", v2("POST", "/users", {"email": "nope", "name": "A"}), 422),
    ("email not a string", v2("POST", "/users", {"email": 5, "name": "A"}), 422),
    ("name too long", v2("POST", "/users", {"email": "a@b.co", "name": "n" * 201}), 422),
    ("blank name", v2("POST", "/users", {"email": "a@b.co", "name": "   "}), 422),
    ("unknown field", v2("POST", "/users", {"email": "a@b.co", "name": "A", "admin": True}), 422),
    ("empty PATCH", v2("PATCH", "/users/1", {}), 422),
    ("PUT missing a field", v2("PUT", "/users/1", {"name": "A"}), 422),
    ("limit zero", v2("GET", "/users", query="limit=0"), 400),
    ("limit too large", v2("GET", "/users", query="limit=1000"), 400),
    ("limit not a number", v2("GET", "/users", query="limit=ten"), 400),
    ("limit a superscript digit", v2("GET", "/users", query="limit=%C2%B2"), 400),
    ("limit in Arabic-Indic digits", v2("GET", "/users", query="limit=%D9%A2"), 400),
    ("id a superscript digit", v2("GET", "/users/\u00b2"), 404),
    ("id in Arabic-Indic digits", v2("GET", "/users/\u0661"), 404),
    ("NUL in a name", v2("POST", "/users", {"email": "a@b.co", "name": "A\u0000B"}), 422),
    ("NUL in an email", v2("POST", "/users", {"email": "a\u0000@b.co", "name": "A"}), 422),
    ("lone surrogate in a name", v2("POST", "/users", {"email": "a@b.co", "name": "A\ud800"}), 422),
    ("garbage cursor", v2("GET", "/users", query="cursor=***"), 400),
    ("cursor of a non-number", v2("GET", "/users", query="cursor=YWJj"), 400),
    ("REST v1 unknown path", v1("GET", "/nope"), 404),
    ("REST v1 malformed JSON", {**v1("POST", "/users", headers=JSON), "body": "{oops"}, 400),
    ("JSON body without Content-Type", v2("POST", "/users", raw_body='{"email": "a@b.co", "name": "A"}'), 415),
    ("JSON body as text/plain", v2("PUT", "/users/1", raw_body='{"name": "A"}', headers={"content-type": "text/plain"}), 415),
    ("REST v1 JSON body without Content-Type", {**v1("POST", "/users"), "body": '{"name": "A"}'}, 415),
    ("no authenticated caller", v2("GET", "/users", caller=None), 401),
    ("a JWT caller on a route serving IAM callers", v2("GET", "/users", caller="jwt"), 403),
    ("not an HTTP event", {"hello": "world"}, 400),
    ("requestContext without http", {"version": "2.0", "requestContext": {}, "rawPath": "/"}, 400),
    ("method not a string", {"version": "2.0", "requestContext": {"http": {"method": 5}}, "rawPath": "/"}, 400),
    ("body not a string", {**v2("POST", "/users", raw_body="x"), "body": {"a": 1}}, 400),
]


@pytest.mark.parametrize(("description", "event", "status"), BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS])
def test_bad_request_gets_a_4xx_with_the_json_error_shape(db: str, description: str, event: dict, status: int) -> None:
    response = http.handler(event, FakeContext())
    assert response["statusCode"] == status, description
    body = json.loads(response["body"])
    assert set(body) == {"error"} and isinstance(body["error"]["code"], str) and body["error"]["message"]


def test_the_bad_inputs_reach_every_client_error_the_runtime_defines(db: str) -> None:
    # GIVEN every 4xx error class of the runtime (a conflict needs a stored row: the users tests reach it)
    expected = {cls.code for cls in HTTPError.__subclasses__() if 400 <= cls.status < 500} - {Conflict.code}
    # WHEN each bad input is sent
    reached = {body_of(http.handler(event, FakeContext()))["error"]["code"] for _, event, _ in BAD_REQUESTS}
    # THEN each of those errors was answered to at least one of them, and nothing else was
    assert reached == expected


@pytest.mark.parametrize(("method", "field", "value"), [
    ("POST", "name", "Ada\x00Lovelace"), ("POST", "email", "ada\x00@example.com"), ("POST", "bio", "\x00"),
    ("POST", "name", "Ada\ud800"), ("POST", "email", "ada\udfff@example.com"), ("PATCH", "name", "\x00"),
    ("PATCH", "bio", "x\udc00y"), ("PUT", "name", "A\ud83d"),
])
def test_strings_postgres_cannot_store_get_a_422_naming_the_field(db: str, method: str, field: str, value: str) -> None:
    # GIVEN a user, and a body whose one bad field holds a NUL or a lone surrogate (valid JSON: "\u0000", "\ud800")
    assert http.handler(v2("POST", "/users", {"email": "ada@example.com", "name": "Ada"}), FakeContext())["statusCode"] == 201
    body = {"email": "grace@example.com", "name": "Grace", field: value}
    # WHEN it is sent
    response = http.handler(v2(method, "/users" if method == "POST" else "/users/1", body), FakeContext())
    # THEN a 422 names that field, and only that field
    assert response["statusCode"] == 422, response
    assert [problem["field"] for problem in body_of(response)["error"]["details"]] == [field]


@pytest.mark.parametrize("digits", ["\u0661", "\u06f1", "\u0967", "\uff11", "\U0001d7cf", "\u00b9", "0\u0661"])
def test_non_ascii_digits_never_address_a_user(db: str, digits: str) -> None:
    # GIVEN user 1 (and 11)
    for n in range(11):
        http.handler(v2("POST", "/users", {"email": f"u{n}@example.com", "name": "U"}), FakeContext())
    # WHEN its id is written in other digits (Arabic-Indic, Devanagari, full-width, math bold, superscript)
    for method, body in (("GET", None), ("PUT", {"email": "x@example.com", "name": "X"}), ("PATCH", {"name": "X"}),
                         ("DELETE", None)):
        response = http.handler(v2(method, f"/users/{digits}", body), FakeContext())
        # THEN it is not found: never a 5xx, never the user behind the digits' value
        assert response["statusCode"] == 404, (method, response)
    assert body_of(http.handler(v2("GET", "/users/1"), FakeContext()))["name"] == "U"


# ---- property-based fuzz of the HTTP adapter --------------------------------------------------
#: Every code point, lone surrogates included (hypothesis leaves category Cs out unless asked):
#: API Gateway's JSON event can carry "\ud800", and json.loads gives it to us as is.
UNICODE = st.characters(exclude_categories=())
_text = st.text(UNICODE, max_size=40)
_methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "TRACE", ""])
_paths = st.one_of(st.sampled_from(["/users", "/users/1", "/users/x", "/health", "/", "//", "/users/1/"]), _text.map(lambda t: "/" + t))
_headers = st.dictionaries(st.sampled_from(["content-type", "cookie", "x-a", "Content-Type", "accept"]),
                           st.one_of(_text, st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8"])),
                           max_size=3)
_bodies = st.one_of(st.none(), _text, st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
                    st.recursive(st.none() | st.booleans() | st.integers() | _text,
                                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                                 max_leaves=8).map(json.dumps))


@st.composite
def http_events(draw: st.DrawFn) -> dict[str, Any]:
    method, path, headers, body = draw(_methods), draw(_paths), draw(_headers), draw(_bodies)
    if draw(st.booleans()):
        event = v2(method or "GET", path, headers=headers, raw_body=body, query=draw(_text))
        event["requestContext"]["http"]["method"] = method
        event["isBase64Encoded"] = draw(st.booleans())
        if draw(st.booleans()):
            event["cookies"] = draw(st.lists(_text, max_size=3))
    else:
        event = v1(method or "GET", path, headers=headers,
                   query=draw(st.dictionaries(_text, st.lists(_text, max_size=2), max_size=2)))
        event["httpMethod"] = method
        event["body"] = body
    return event


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=http_events())
def test_fuzzed_events_never_cause_a_5xx_or_an_exception(db: str, event: dict[str, Any]) -> None:
    response = http.handler(event, FakeContext())
    assert response["statusCode"] < 500, (event, response)
    body = json.loads(response["body"]) if response["body"] else None
    if response["statusCode"] >= 400:  # input comes back only as a short, escaped excerpt
        message = body["error"]["message"]
        assert message.isprintable() and len(message) <= 200, message


#: Number-like text: digits and numerals of every script (categories Nd, No, Nl) mixed with any code point.
_numberish = st.text(st.one_of(st.characters(categories=("Nd", "No", "Nl")), UNICODE), min_size=1, max_size=4)


@pytest.fixture
def users_1_to_9(db: str) -> str:
    for n in range(1, 10):
        assert http.handler(v2("POST", "/users", {"email": f"u{n}@example.com", "name": f"U{n}"}), FakeContext())["statusCode"] == 201
    return db


def _is_ascii_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_numberish, method=st.sampled_from(["GET", "PATCH", "DELETE"]))
def test_fuzzed_ids_address_a_user_only_in_ascii_digits(users_1_to_9: str, raw: str, method: str) -> None:
    # GIVEN users 1–9 WHEN an id of any number-like text is used
    response = http.handler(v2(method, "/users/" + raw, {"bio": "b"} if method == "PATCH" else None), FakeContext())
    # THEN never a 5xx; and anything but ASCII digits is a 404, whatever number it spells
    assert response["statusCode"] < 500, (raw, response)
    if "/" not in raw and not _is_ascii_number(raw):
        assert response["statusCode"] == 404, (raw, response)
    if response["statusCode"] >= 400:
        assert set(body_of(response)) == {"error"}


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_numberish)
def test_fuzzed_limits_accept_ascii_digits_only(db: str, raw: str) -> None:
    response = http.handler(v2("GET", "/users", query="limit=" + quote(raw, errors="surrogatepass")), FakeContext())
    assert response["statusCode"] < 500, (raw, response)
    if not _is_ascii_number(raw):
        assert response["statusCode"] == 400, (raw, response)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.fixed_dictionaries({"email": st.one_of(st.emails(), _text), "name": _text}, optional={"bio": _text}))
def test_fuzzed_user_fields_are_stored_or_named_in_a_422(db: str, body: dict[str, str]) -> None:
    # GIVEN any text of full Unicode in each field WHEN a user is created and patched with it
    for method, path in (("POST", "/users"), ("PATCH", "/users/1")):
        response = http.handler(v2(method, path, body), FakeContext())
        # THEN it is stored (or a conflict / not found), or a 422 names the fields at fault
        assert response["statusCode"] in (200, 201, 404, 409, 422), (method, body, response)
        if response["statusCode"] == 422:
            assert {problem["field"] for problem in body_of(response)["error"]["details"]} <= set(body)


def test_logs_never_contain_secrets(caplog: pytest.LogCaptureFixture) -> None:
    token = "host:5432/?Action=connect&X-Amz-Credential=AKID%2F2026&X-Amz-Security-Token=SECRET&X-Amz-Signature=abc123"
    log.logger.warning("connect with %s", token, extra={"password": "hunter2", "dsn": "postgresql://u:hunter2@h/db",
                                                        "authorization": "Bearer xyz", "nested": {"api_key": "k"}})
    record = caplog.records[-1]
    rendered = log.JsonFormatter().format(record)
    for secret in ("hunter2", "SECRET", "abc123", "Bearer xyz", '"k"', "AKID"):
        assert secret not in rendered, secret
    assert log.REDACTED in rendered
