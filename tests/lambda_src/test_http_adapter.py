"""The HTTP adapter and router, without a database: event shapes, routing, errors."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lambda_src.errors import Conflict
from lambda_src.web.messages import Request, Response
from lambda_src.web.router import HttpApp
from tests.lambda_src.conftest import FakeContext, load_event
from tests.lambda_src.events import body_of, v1, v2

JSON = {"content-type": "application/json"}


@pytest.fixture
def app() -> HttpApp:
    """A small app echoing what the route function saw."""
    app = HttpApp(max_body_bytes=1024, strip_prefixes=("/api",))

    def echo(request: Request) -> dict[str, Any]:
        return {"method": request.method, "path": request.path, "params": request.path_params,
                "query": request.query, "cookies": request.cookies}

    app.route("GET", "/users/{id}")(echo)
    app.route("GET", "/users")(echo)
    app.route("POST", "/users")(lambda request: Response(201, request.json(), cookies=["sid=1; HttpOnly"]))
    app.route("GET", "/binary")(lambda request: Response(200, b"\x00\x01\xff", {"content-type": "image/png"}))
    app.route("GET", "/boom")(lambda request: 1 / 0)
    app.route("GET", "/conflict")(lambda request: (_ for _ in ()).throw(Conflict("taken")))
    return app


class TestEventShapes:
    def test_http_api_v2_event(self, app: HttpApp) -> None:
        # GIVEN a real-shaped HTTP API event WHEN handled THEN routing uses the raw path
        response = app(load_event("http_api_v2_get.json"), FakeContext())
        assert response["statusCode"] == 200
        seen = body_of(response)
        assert seen["params"] == {"id": "1"}
        assert seen["query"] == {"tag": ["a", "b"], "q": ["x"]}  # from rawQueryString, not the comma-joined map
        assert seen["cookies"] == {"session": "abc123", "theme": "dark"}

    def test_rest_api_v1_event(self, app: HttpApp) -> None:
        response = app(load_event("rest_api_v1_get.json"), FakeContext())
        assert response["statusCode"] == 200 and "cookies" not in response
        seen = body_of(response)
        assert seen["path"] == "/users/1" and seen["query"] == {"tag": ["a", "b"], "q": ["x"]}
        assert seen["cookies"] == {"session": "abc123", "theme": "dark"}

    def test_function_url_event_with_base64_body(self, app: HttpApp) -> None:
        response = app(load_event("function_url_post_base64.json"), FakeContext())
        assert response["statusCode"] == 201
        assert body_of(response) == {"email": "grace@example.com", "name": "Grace"}
        assert response["cookies"] == ["sid=1; HttpOnly"]

    def test_v1_response_cookies_go_in_multi_value_headers(self, app: HttpApp) -> None:
        response = app(v1("POST", "/users", {"a": 1}, headers={"Content-Type": "application/json"}), FakeContext())
        assert response["multiValueHeaders"] == {"set-cookie": ["sid=1; HttpOnly"]}

    def test_named_stage_prefix_is_stripped(self, app: HttpApp) -> None:
        response = app(v2("GET", "/users/7", stage="prod"), FakeContext())
        assert body_of(response)["path"] == "/users/7"

    def test_custom_domain_base_path_is_stripped(self, app: HttpApp) -> None:
        assert body_of(app(v2("GET", "/api/users/7"), FakeContext()))["path"] == "/users/7"

    def test_event_path_parameters_are_ignored(self, app: HttpApp) -> None:
        event = v2("GET", "/users/7")
        event["pathParameters"] = {"id": "999"}
        assert body_of(app(event, FakeContext()))["params"] == {"id": "7"}

    def test_binary_response_is_base64(self, app: HttpApp) -> None:
        response = app(v2("GET", "/binary"), FakeContext())
        assert response["isBase64Encoded"] is True and base64.b64decode(response["body"]) == b"\x00\x01\xff"


class TestContentType:
    """A request body must be declared ``application/json``: a browser sends a cross-site request
    without a CORS preflight only with no Content-Type (fetch with an ArrayBuffer or untyped Blob
    body) or text/plain, form or multipart; none of them may reach a route as JSON."""

    @pytest.fixture
    def calls(self) -> list[str]:
        return []

    @pytest.fixture
    def recording_app(self, calls: list[str]) -> HttpApp:
        app = HttpApp()
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            app.route(method, "/things")(lambda request: calls.append(request.method) or Response(204))  # body unread
        app.route("POST", "/echo")(lambda request: request.json())
        return app

    @pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
    @pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain;charset=UTF-8",
                                              "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                              "application/json; charset=iso-8859-1", "application/jsonx", ""])
    def test_a_body_not_declared_json_is_415_before_the_route_runs(self, recording_app: HttpApp, calls: list[str],
                                                                   method: str, content_type: str | None) -> None:
        # GIVEN a JSON body sent as a cross-site simple request would (no Content-Type, or a form/text type)
        event = v2(method, "/things", raw_body='{"delete": "everything"}',
                   headers={} if content_type is None else {"content-type": content_type})
        # WHEN it reaches a route (one that does not even read the body)
        response = recording_app(event, FakeContext())
        # THEN it is a 415 with the JSON error shape, and the route did not run
        assert response["statusCode"] == 415 and response["headers"]["content-type"] == "application/json"
        assert body_of(response)["error"]["code"] == "unsupported_media_type"
        assert calls == []

    def test_rest_api_v1_without_content_type_is_415(self, recording_app: HttpApp) -> None:
        event = v1("POST", "/echo", {"a": 1})
        event["headers"].pop("Content-Type", None)
        event["multiValueHeaders"].pop("Content-Type", None)
        assert recording_app(event, FakeContext())["statusCode"] == 415

    @pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                              "Application/JSON;charset=UTF-8", 'application/json; charset="utf-8"'])
    def test_json_with_an_optional_utf8_charset_is_read(self, recording_app: HttpApp, content_type: str) -> None:
        event = v2("POST", "/echo", raw_body='{"a": 1}', headers={"content-type": content_type})
        response = recording_app(event, FakeContext())
        assert response["statusCode"] == 200 and body_of(response) == {"a": 1}

    def test_a_request_without_a_body_needs_no_content_type(self, recording_app: HttpApp, calls: list[str]) -> None:
        assert recording_app(v2("POST", "/things"), FakeContext())["statusCode"] == 204 and calls == ["POST"]
        assert recording_app(v2("DELETE", "/things"), FakeContext())["statusCode"] == 204
        assert recording_app(v2("POST", "/echo", raw_body=""), FakeContext())["statusCode"] == 400  # JSON expected

    def test_an_app_may_accept_other_body_types(self, calls: list[str]) -> None:
        # GIVEN an app that takes PNG uploads besides JSON
        app = HttpApp(body_content_types=("application/json", "image/png"))
        app.route("POST", "/upload")(lambda request: Response(201, {"bytes": len(request.body)}))
        app.route("POST", "/echo")(lambda request: request.json())
        png = v2("POST", "/upload", raw_body="iVBORw0KGgo=", headers={"content-type": "image/png"})
        png["isBase64Encoded"] = True
        # THEN PNG reaches the upload route, but is not JSON for a route reading JSON, and a missing type is still 415
        assert app(png, FakeContext())["statusCode"] == 201
        assert app({**png, "rawPath": "/echo"}, FakeContext())["statusCode"] == 415
        assert app(v2("POST", "/upload", raw_body="x"), FakeContext())["statusCode"] == 415


class TestErrors:
    def test_unknown_path_404(self, app: HttpApp) -> None:
        response = app(v2("GET", "/nope"), FakeContext(request_id="r-1"))
        assert response["statusCode"] == 404
        assert body_of(response) == {"error": {"code": "not_found", "message": "No route for '/nope'", "requestId": "r-1"}}

    def test_wrong_method_405_with_allow(self, app: HttpApp) -> None:
        response = app(v2("DELETE", "/users"), FakeContext())
        assert response["statusCode"] == 405 and response["headers"]["allow"] == "GET, POST"

    def test_declared_non_json_415(self, app: HttpApp) -> None:
        response = app(v2("POST", "/users", raw_body="a=b", headers={"content-type": "text/plain"}), FakeContext())
        assert response["statusCode"] == 415 and body_of(response)["error"]["code"] == "unsupported_media_type"

    def test_body_over_limit_413(self, app: HttpApp) -> None:
        assert app(v2("POST", "/users", raw_body="x" * 2000), FakeContext())["statusCode"] == 413
        assert app(v2("POST", "/users", raw_body="x" * 2000, base64_body=True), FakeContext())["statusCode"] == 413

    def test_malformed_json_400(self, app: HttpApp) -> None:
        assert app(v2("POST", "/users", raw_body="{bad", headers=JSON), FakeContext())["statusCode"] == 400

    def test_invalid_base64_400(self, app: HttpApp) -> None:
        event = v2("POST", "/users", raw_body="x")
        event["body"], event["isBase64Encoded"] = "***not base64***", True
        response = app(event, FakeContext())
        assert response["statusCode"] == 400 and "base64" in body_of(response)["error"]["message"]

    def test_http_error_keeps_its_status(self, app: HttpApp) -> None:
        assert app(v2("GET", "/conflict"), FakeContext())["statusCode"] == 409

    def test_unexpected_exception_500_reveals_nothing_and_is_logged(self, app: HttpApp,
                                                                    package_log: pytest.LogCaptureFixture) -> None:
        response = app(v2("GET", "/boom"), FakeContext(request_id="r-9"))
        assert response["statusCode"] == 500
        assert body_of(response) == {"error": {"code": "internal_error", "message": "Internal server error", "requestId": "r-9"}}
        assert "ZeroDivision" not in response["body"]
        assert [(r.requestId, r.exc_info[0]) for r in package_log.records] == [("r-9", ZeroDivisionError)]

    def test_every_error_has_one_json_shape(self, app: HttpApp) -> None:
        for event in (v2("GET", "/nope"), v2("PUT", "/users"), v2("POST", "/users", raw_body="{")):
            body = body_of(app(event, FakeContext()))
            assert set(body) == {"error"} and {"code", "message", "requestId"} <= set(body["error"])
            assert json.dumps(body)
