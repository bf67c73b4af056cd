"""The HTTP adapter's contract, field by field: what :func:`events.parse` reads from each event shape,
what :func:`events.render` gives back, and the body limits counted in bytes."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambda_src.errors import BadRequest, PayloadTooLarge
from lambda_src.web import events
from lambda_src.web.messages import Request, Response
from lambda_src.web.router import HttpApp
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v1, v2

LIMIT = 1024


def parse(event: dict[str, Any], *, strip_prefixes: tuple[str, ...] = (), context: Any = None) -> Request:
    return events.parse(event, FakeContext() if context is None else context, max_body_bytes=LIMIT,
                        strip_prefixes=strip_prefixes)


class TestEventShape:
    def test_rest_events_are_payload_1_and_the_rest_payload_2(self) -> None:
        assert events.is_v1(v1("GET", "/users")) is True
        assert events.is_v1(v2("GET", "/users")) is False
        # a 2.0 event carrying a stray httpMethod is still 2.0; the shape decides when there is no version
        assert events.is_v1({**v2("GET", "/users"), "httpMethod": "GET"}) is False
        without_version = v2("GET", "/users")
        del without_version["version"]
        assert events.is_v1(without_version) is False and parse(without_version).path == "/users"

    @pytest.mark.parametrize("event", [["not", "a", "dict"], {"requestContext": "x", "rawPath": "/"},
                                       {"version": "2.0", "requestContext": {"http": "GET"}, "rawPath": "/"},
                                       {**v2("GET", "/"), "rawPath": 5}, {**v2("GET", "/"), "rawQueryString": 5},
                                       {**v1("GET", "/"), "httpMethod": None}])
    def test_what_is_not_an_http_event_is_a_400(self, event: Any) -> None:
        with pytest.raises(BadRequest, match="The event is not an HTTP event"):
            parse(event)
        app = HttpApp()
        app.route("GET", "/", public=True)(lambda request: "home")
        response = app(event, FakeContext())
        assert response["statusCode"] == 400 and body_of(response)["error"]["code"] == "bad_request"

    def test_the_method_is_upper_cased(self) -> None:
        assert parse(v2("get", "/users")).method == "GET" and parse(v1("patch", "/users")).method == "PATCH"


class TestPayload2:
    def test_the_path_is_the_raw_path_then_the_http_path_then_the_root(self) -> None:
        event = v2("GET", "/users/7")
        event["requestContext"]["http"]["path"] = "/elsewhere"
        assert parse(event).path == "/users/7"
        del event["rawPath"]
        assert parse(event).path == "/elsewhere"
        del event["requestContext"]["http"]["path"]
        assert parse(event).path == "/"

    def test_headers_query_and_cookies_are_read_as_sent(self) -> None:
        event = v2("GET", "/users", query="a=1&a=2&b=", headers={"x-tag": "t"}, cookies=["sid=1", "theme=dark"])
        request = parse(event)
        assert request.headers["x-tag"] == "t"
        assert request.query == {"a": ["1", "2"], "b": [""]} and request.raw_query == "a=1&a=2&b="
        assert request.cookies == {"sid": "1", "theme": "dark"}

    def test_without_a_cookies_list_the_cookie_header_is_read(self) -> None:
        assert parse(v2("GET", "/", headers={"cookie": "sid=2; lang=en"})).cookies == {"sid": "2", "lang": "en"}

    def test_missing_or_malformed_parts_are_empty(self) -> None:
        event = v2("GET", "/users")
        del event["rawQueryString"]
        event["headers"] = "not a map"
        request = parse(event)
        assert request.headers == {} and request.query == {} and request.raw_query == "" and request.cookies == {}
        assert request.body == ""

    @pytest.mark.parametrize(("stage", "raw_path", "routed"), [
        ("prod", "/prod/users/7", "/users/7"),
        ("prod", "/prod", "/"),
        ("prod", "/users/7", "/users/7"),  # a custom domain's API mapping: the stage is not in the path
        ("prod", "/production/users", "/production/users"),
        ("prod", "/prod-x", "/prod-x"),
        ("$default", "/$default/users", "/$default/users"),  # the default stage never appears in the path
    ])
    def test_a_named_stage_is_stripped_only_as_a_whole_leading_segment(self, stage: str, raw_path: str,
                                                                     routed: str) -> None:
        event = v2("GET", "/")
        event["rawPath"], event["requestContext"]["stage"] = raw_path, stage
        assert parse(event).path == routed

    def test_the_request_id_is_the_contexts_else_the_events(self) -> None:
        event = v2("GET", "/")
        assert parse(event, context=FakeContext(request_id="ctx-1")).request_id == "ctx-1"
        assert parse(event, context=object()).request_id == event["requestContext"]["requestId"]
        del event["requestContext"]["requestId"]
        assert parse(event, context=object()).request_id is None


class TestPayload1:
    def test_headers_are_lower_cased_and_multi_value_headers_joined(self) -> None:
        event = v1("GET", "/users", headers={"X-Single": "one", "X-Dropped": None})  # type: ignore[dict-item]
        event["multiValueHeaders"] = {"X-Tag": ["a", "b"], "X-Empty": [], "X-Odd": "ab"}
        event["headers"]["X-Empty"] = "kept"
        event["headers"]["X-Odd"] = "kept too"
        headers = parse(event).headers
        assert headers["x-single"] == "one" and "x-dropped" not in headers
        assert headers["x-tag"] == "a,b"
        assert headers["x-empty"] == "kept" and headers["x-odd"] == "kept too"  # no values / not a list: ignored

    def test_headers_that_are_not_a_map_are_none(self) -> None:
        event = v1("GET", "/users")
        event["headers"], event["multiValueHeaders"] = None, None
        assert parse(event).headers == {}

    def test_the_path_defaults_to_the_root(self) -> None:
        assert parse({**v1("GET", "/"), "path": None}).path == "/"

    def test_cookies_come_from_the_cookie_header(self) -> None:
        assert parse(v1("GET", "/", headers={"Cookie": "sid=3; theme=light"})).cookies == {"sid": "3", "theme": "light"}
        assert parse(v1("GET", "/")).cookies == {}

    def test_the_query_is_rebuilt_from_the_decoded_parameters(self) -> None:
        # multi-value parameters win; a value API Gateway decoded is encoded again
        event = v1("GET", "/", query={"q": ["a b", "c&d"], "e": ["é"]})
        assert parse(event).query == {"q": ["a b", "c&d"], "e": ["é"]}
        # a value that is not a list is skipped
        event["multiValueQueryStringParameters"] = {"q": ["x"], "bad": "y"}
        assert parse(event).query == {"q": ["x"]}
        # single-value parameters when there are no multi-value ones (None values dropped)
        event["multiValueQueryStringParameters"] = {}
        event["queryStringParameters"] = {"one": "1", "none": None}
        assert parse(event).query == {"one": ["1"]}
        event["queryStringParameters"] = None
        assert parse(event).query == {} and parse(event).raw_query == ""
        event["queryStringParameters"] = "q=1"  # not a map: no parameters
        assert parse(event).query == {}

    def test_an_unpaired_surrogate_in_the_query_does_not_fail_the_request(self) -> None:
        assert parse(v1("GET", "/", query={"q": ["a\ud800"]})).query == {"q": ["a" + "\ufffd" * 3]}  # its 3 bytes
        single = v1("GET", "/")
        single["queryStringParameters"] = {"q": "b\udfff"}
        assert parse(single).query == {"q": ["b" + "\ufffd" * 3]}


class TestStripPrefixes:
    @pytest.mark.parametrize(("raw_path", "routed"), [("/api/users", "/users"), ("/api", "/"),
                                                      ("/apiary/users", "/apiary/users"), ("/v2/x", "/x")])
    def test_a_base_path_is_stripped_as_a_whole_leading_segment(self, raw_path: str, routed: str) -> None:
        assert parse(v2("GET", raw_path), strip_prefixes=("/api", "/v2")).path == routed

    def test_only_the_first_matching_base_path_is_stripped(self) -> None:
        assert parse(v2("GET", "/api/v2/users"), strip_prefixes=("/api", "/v2")).path == "/v2/users"


class TestBodyLimits:
    """The limit counts bytes as sent (UTF-8 for text, decoded for base64), and a body of exactly the limit passes."""

    @pytest.mark.parametrize("text", ["x" * LIMIT, "é" * (LIMIT // 2), "😀" * (LIMIT // 4),
                                      "\ud800" * (LIMIT // 3)])
    def test_a_text_body_of_at_most_the_limit_in_bytes_passes(self, text: str) -> None:
        assert parse(v2("POST", "/", raw_body=text)).body == text

    @pytest.mark.parametrize("text", ["x" * (LIMIT + 1), "é" * (LIMIT // 2 + 1), "😀" * (LIMIT // 4 + 1),
                                      "é" * (LIMIT // 2) + "x", "\ud800" * (LIMIT // 3 + 1)])
    def test_a_text_body_one_byte_over_is_413(self, text: str) -> None:
        with pytest.raises(PayloadTooLarge, match=f"Request body exceeds {LIMIT} bytes"):
            parse(v2("POST", "/", raw_body=text))

    def test_a_base64_body_is_limited_once_decoded(self) -> None:
        exact = bytes(range(256)) * (LIMIT // 256)
        event = v2("POST", "/")
        event["body"], event["isBase64Encoded"] = base64.b64encode(exact).decode(), True
        assert parse(event).body == exact
        event["body"] = base64.b64encode(exact + b"!").decode()
        with pytest.raises(PayloadTooLarge):
            parse(event)

    def test_a_huge_base64_body_is_refused_before_decoding(self) -> None:
        event = v2("POST", "/")
        event["body"], event["isBase64Encoded"] = "*" * (LIMIT * 4), True  # not even base64: never decoded
        with pytest.raises(PayloadTooLarge):
            parse(event)

    def test_only_a_length_that_cannot_decode_within_the_limit_is_refused_unread(self) -> None:
        # base64 of n bytes is 4 * ceil(n / 3) characters. With the 1,024-byte limit, 1,370 characters
        # might still fit (they are decoded: here, found invalid); 1,371 cannot (refused without decoding)
        event = v2("POST", "/")
        event["isBase64Encoded"] = True
        event["body"] = "*" * 1370
        with pytest.raises(BadRequest, match="not valid base64"):
            parse(event)
        event["body"] = "*" * 1371
        with pytest.raises(PayloadTooLarge):
            parse(event)

    def test_invalid_base64_and_a_non_text_body_are_400(self) -> None:
        event = v2("POST", "/")
        event["body"], event["isBase64Encoded"] = "***", True
        with pytest.raises(BadRequest, match="not valid base64"):
            parse(event)
        with pytest.raises(BadRequest, match="not text"):
            parse({**v2("POST", "/"), "body": ["x"]})


class TestRender:
    @pytest.mark.parametrize("v1_shape", [False, True])
    def test_json_text_and_empty_bodies_declare_their_type(self, v1_shape: bool) -> None:
        json_body = events.render(Response(200, {"a": [1, "é"]}), v1=v1_shape)
        assert json_body == {"statusCode": 200, "headers": {"content-type": "application/json"},
                             "body": json_body["body"], "isBase64Encoded": False}
        assert json.loads(json_body["body"]) == {"a": [1, "é"]}
        text = events.render(Response(201, "hello"), v1=v1_shape)
        assert text["headers"] == {"content-type": "text/plain; charset=utf-8"} and text["body"] == "hello"
        empty = events.render(Response(204), v1=v1_shape)
        assert empty == {"statusCode": 204, "headers": {}, "body": "", "isBase64Encoded": False}

    def test_a_content_type_the_route_gives_is_kept(self) -> None:
        rendered = events.render(Response(200, "<a/>", {"content-type": "application/xml"}), v1=False)
        assert rendered["headers"] == {"content-type": "application/xml"}

    @pytest.mark.parametrize("content_type", ["text/csv", "application/json", "application/xml",
                                              "application/javascript; charset=utf-8"])
    def test_bytes_of_a_text_type_are_sent_as_text(self, content_type: str) -> None:
        rendered = events.render(Response(200, "a,é".encode(), {"content-type": content_type}), v1=False)
        assert rendered["body"] == "a,é" and rendered["isBase64Encoded"] is False
        assert rendered["headers"] == {"content-type": content_type}

    def test_other_bytes_are_base64_and_octet_stream_by_default(self) -> None:
        rendered = events.render(Response(200, bytearray(b"\x00\xff")), v1=False)
        assert rendered == {"statusCode": 200, "headers": {"content-type": "application/octet-stream"},
                            "body": "AP8=", "isBase64Encoded": True}

    def test_cookies_go_where_each_payload_version_expects_them(self) -> None:
        response = Response(200, None, cookies=["a=1", "b=2"])
        assert events.render(response, v1=True)["multiValueHeaders"] == {"set-cookie": ["a=1", "b=2"]}
        assert "cookies" not in events.render(response, v1=True)
        assert events.render(response, v1=False)["cookies"] == ["a=1", "b=2"]
        assert "multiValueHeaders" not in events.render(response, v1=False)
        assert set(events.render(Response(200), v1=True)) == {"statusCode", "headers", "body", "isBase64Encoded"}

    def test_the_app_answers_each_payload_version_in_its_own_shape(self) -> None:
        app = HttpApp()
        app.route("GET", "/c", public=True)(lambda request: Response(200, {"ok": True}, cookies=["s=1"]))
        rest = app(v1("GET", "/c"), FakeContext())
        http = app(v2("GET", "/c"), FakeContext())
        assert rest["multiValueHeaders"] == {"set-cookie": ["s=1"]} and "cookies" not in rest
        assert http["cookies"] == ["s=1"] and "multiValueHeaders" not in http
        assert rest["headers"]["content-type"] == http["headers"]["content-type"] == "application/json"
