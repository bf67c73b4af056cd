"""Input validation through the HTTP handler: emails without invisible or direction characters, with a
normalized domain; error messages echo input only bounded and escaped."""
from __future__ import annotations

import json
from typing import Any

import pytest

from lambda_src.example import http
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v2

#: Characters that change how an address reads without being seen: bidi embeddings, overrides and
#: isolates, the direction marks, zero-width space/joiners, the word joiner and the BOM.
INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
             "\u200e", "\u200f", "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00ad"]


def call(method: str, path: str, body: Any = None, **options: Any) -> tuple[int, Any]:
    response = http.handler(v2(method, path, body, **options), FakeContext())
    return response["statusCode"], body_of(response)


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
@pytest.mark.parametrize("where", ["local", "domain", "end"])
def test_emails_with_invisible_or_direction_characters_are_422(db: str, char: str, where: str) -> None:
    # GIVEN an address with the character in its local part, its domain, or last (before any trim)
    email = {"local": f"ad{char}a@example.com", "domain": f"ada@exam{char}ple.com", "end": f"ada@example.com{char}"}[where]
    # WHEN a user is created with it
    status, body = call("POST", "/users", {"email": email, "name": "Ada"})
    # THEN it is refused on the email field (not stored as a look-alike of ada@example.com)
    assert status == 422, body
    assert body["error"]["details"] == [{"field": "email", "message": "must be an email address"}]


@pytest.mark.parametrize(("given", "stored"), [
    ("Ada@EXAMPLE.Com", "ada@example.com"),
    ("ada@Bücher.example", "ada@xn--bcher-kva.example"),
    ("ada@ＢÜＣＨＥＲ．example", "ada@xn--bcher-kva.example"),  # full-width letters and dot: IDNA maps them
    ("ada@xn--bcher-kva.example", "ada@xn--bcher-kva.example"),
    ("δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"),
])
def test_email_domain_is_stored_lowercase_in_ascii(db: str, given: str, stored: str) -> None:
    status, body = call("POST", "/users", {"email": given, "name": "Ada"})
    assert status == 201 and body["email"] == stored, body


def test_the_same_domain_in_unicode_and_in_ascii_is_one_address(db: str) -> None:
    # GIVEN a user whose address has an internationalized domain
    assert call("POST", "/users", {"email": "ada@bücher.example", "name": "Ada"})[0] == 201
    # WHEN the same address is given with the domain's ASCII form THEN it is a duplicate
    assert call("POST", "/users", {"email": "ADA@XN--BCHER-KVA.EXAMPLE", "name": "Ada"})[0] == 409


@pytest.mark.parametrize("email", ["ada@-example.com", "ada@example-.com", "ada@exa_mple.com", "ada@exa..mple.com",
                                   "ada@xn--zz.com", "ada@" + "x" * 64 + ".com", "ada@example.c0m1",
                                   "ada@exa mple.com", "a@b@example.com"])
def test_domains_that_are_not_host_names_are_422(db: str, email: str) -> None:
    status, body = call("POST", "/users", {"email": email, "name": "Ada"})
    assert status == 422 and body["error"]["details"][0]["field"] == "email", body


LONG = "x" * 5000
#: (method, path, body, event options, what the client sent that must not come back whole or raw)
ECHOING = {
    "long id": ("GET", "/users/" + LONG, None, {}, LONG),
    "long path": ("GET", "/nope/" + LONG, None, {}, LONG),
    "escape in id": ("GET", "/users/\x1b[2J\u202eevil", None, {}, "\x1b"),
    "bidi in path": ("GET", "/no\u202eroute\x00", None, {}, "\u202e"),
    "long content-type": ("POST", "/users", None, {"raw_body": "{}", "headers": {"content-type": "text/" + LONG}}, LONG),
    "long unknown field": ("POST", "/users", {"email": "a@b.co", "name": "A", LONG: 1}, {}, LONG),
    "bidi unknown field": ("POST", "/users", {"email": "a@b.co", "name": "A", "\u202eadmin": 1}, {}, "\u202e"),
}


@pytest.mark.parametrize("case", ECHOING)
def test_error_messages_echo_input_bounded_and_escaped(db: str, case: str) -> None:
    method, path, body, options, sent = ECHOING[case]
    # WHEN a request carrying the text fails
    status, error = call(method, path, body, **options)
    # THEN the error echoes at most a short, escaped excerpt of it
    assert 400 <= status < 500
    text = json.dumps(error["error"], ensure_ascii=False)
    assert sent not in text and len(text) < 400, text
    assert error["error"]["message"].isprintable()
    for detail in error["error"].get("details", []):
        assert len(detail["field"]) <= 80 and detail["field"].isprintable()


def test_many_unknown_fields_are_reported_up_to_a_bound(db: str) -> None:
    status, body = call("POST", "/users", {"email": "a@b.co", "name": "A", **{f"k{n}": n for n in range(500)}})
    assert status == 422 and len(body["error"]["details"]) <= 21


@pytest.mark.parametrize("channel", ["users\n", "Users", "us ers", "users\u202e", ""])
def test_websocket_channels_are_matched_whole(db: str, channel: str) -> None:
    import psycopg

    from lambda_src.example import websocket

    # GIVEN a connected client (an IAM caller: $connect refuses one without a caller)
    context = {"eventType": "CONNECT", "connectionId": "c1=", "routeKey": "$connect",
               "identity": {"userArn": "arn:aws:iam::123456789012:role/Client"}}
    assert websocket.handler({"requestContext": context}, FakeContext()) == {"statusCode": 200}
    # WHEN it subscribes to a channel name with a trailing newline (re's "$" matches before one) or other junk
    frame = json.dumps({"action": "subscribe", "channel": channel})
    websocket.handler({"requestContext": {**context, "eventType": "MESSAGE", "routeKey": "$default"}, "body": frame},
                      FakeContext())
    # THEN no subscription is stored
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT channel FROM ws_subscriptions").fetchall() == []


@pytest.mark.parametrize("kind", [["user.created"], {"a": 1}, "x" * 5000])
def test_a_worker_message_of_an_unknown_type_is_malformed_and_logged_bounded(db: str, kind: Any,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    from lambda_src.example import worker

    # GIVEN an SQS record whose type is a list, an object or a long string
    batch = {"Records": [{"messageId": "m1", "body": json.dumps({"type": kind}), "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q"}]}
    # WHEN processed THEN it fails alone, as malformed (no retry helps), with a bounded message
    assert worker.handler(batch, FakeContext()) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    malformed = [r for r in caplog.records if r.getMessage() == "malformed message"]
    assert malformed and len(malformed[-1].error) < 120
