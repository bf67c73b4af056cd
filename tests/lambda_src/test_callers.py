"""Who is calling, read from real-shaped events, and the router's rule: a caller unless public."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from lambda_src.web.caller import caller_of
from lambda_src.web.messages import Request
from lambda_src.web.router import HttpApp
from tests.lambda_src.conftest import FakeContext, load_event
from tests.lambda_src.events import body_of, v1, v2

ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/UsersClient/users-client"


class TestCallerOf:
    def test_http_api_iam(self) -> None:
        caller = caller_of(load_event("http_api_v2_get.json"))
        assert (caller.kind, caller.id, caller.account) == ("iam", ROLE_ARN, "123456789012")

    def test_http_api_jwt(self) -> None:
        caller = caller_of(load_event("http_api_v2_get_jwt.json"))
        assert (caller.kind, caller.id) == ("jwt", "7d3f2a1b-0c9e-4d8f-a6b5-4c3d2e1f0a9b")
        assert caller.claims["token_use"] == "access" and caller.account is None

    def test_http_api_lambda_authorizer(self) -> None:
        caller = caller_of(v2("GET", "/x", caller="lambda"))
        assert (caller.kind, caller.id, caller.claims["tenant"]) == ("lambda", "user-42", "acme")

    def test_function_url_iam(self) -> None:
        assert caller_of(load_event("function_url_post_base64.json")).kind == "iam"

    def test_rest_api_iam_cognito_and_lambda(self) -> None:
        assert caller_of(v1("GET", "/x")).id == ROLE_ARN
        cognito = v1("GET", "/x", caller=None)
        cognito["requestContext"]["authorizer"] = {"claims": {"sub": "abc", "email": "a@example.com"}}
        assert (caller_of(cognito).kind, caller_of(cognito).id) == ("jwt", "abc")
        custom = v1("GET", "/x", caller=None)
        custom["requestContext"]["authorizer"] = {"principalId": "user-1", "integrationLatency": 3}
        assert (caller_of(custom).kind, caller_of(custom).id) == ("lambda", "user-1")

    def test_websocket_connect_with_iam(self) -> None:
        event = {"requestContext": {"eventType": "CONNECT", "connectionId": "c=", "identity": {
            "sourceIp": "203.0.113.10", "userArn": ROLE_ARN, "accountId": "123456789012"}}}
        assert caller_of(event).id == ROLE_ARN

    @pytest.mark.parametrize("event", [
        v2("GET", "/x", caller=None), v1("GET", "/x", caller=None), {}, [], None,
        {"requestContext": {"authorizer": {"iam": {"userArn": ""}}}},
        {"requestContext": {"authorizer": {"iam": {"userArn": 7}}}},
        {"requestContext": {"authorizer": {"jwt": {"claims": "sub=x"}}}},
        {"requestContext": {"authorizer": "iam"}},
        {"requestContext": {"identity": {"userArn": None, "sourceIp": "1.2.3.4"}}},
    ], ids=["v2-none", "v1-none", "empty", "list", "null", "empty-arn", "int-arn", "claims-not-object",
            "authorizer-not-object", "v1-null-arn"])
    def test_no_or_malformed_authorization_is_no_caller(self, event: Any) -> None:
        assert caller_of(event) is None


@pytest.fixture
def app() -> HttpApp:
    app = HttpApp()
    app.route("GET", "/open", public=True)(lambda request: {"caller": None if request.caller is None else request.caller.kind})
    app.route("GET", "/any")(lambda request: {"caller": request.caller.kind})
    app.route("POST", "/services", callers=("iam",))(lambda request: {"ok": True})
    return app


class TestRouterNeedsACaller:
    def test_a_route_needs_an_authenticated_caller_unless_public(self, app: HttpApp) -> None:
        # GIVEN a route registered without saying who may call it  WHEN no caller comes  THEN 401
        response = app(v2("GET", "/any", caller=None), FakeContext())
        assert response["statusCode"] == 401 and body_of(response)["error"]["code"] == "unauthorized"
        # AND any authenticated kind is served; a public route serves everyone
        for kind in ("iam", "jwt", "lambda"):
            assert body_of(app(v2("GET", "/any", caller=kind), FakeContext())) == {"caller": kind}
        assert body_of(app(v2("GET", "/open", caller=None), FakeContext())) == {"caller": None}

    def test_callers_narrow_the_kinds_and_the_check_comes_before_the_body(self, app: HttpApp) -> None:
        # GIVEN a JWT caller posting a body with no Content-Type to an IAM-only route
        event = v2("POST", "/services", raw_body="{}", caller="jwt")
        # THEN 403 (who, before what): the body is not looked at
        response = app(event, FakeContext())
        assert response["statusCode"] == 403 and "iam" in body_of(response)["error"]["message"]
        assert app(v2("POST", "/services", {}, caller=None), FakeContext())["statusCode"] == 401
        assert app(v2("POST", "/services", {}), FakeContext())["statusCode"] == 200

    def test_a_public_function_url_event_is_no_caller(self, app: HttpApp) -> None:
        event = copy.deepcopy(load_event("function_url_post_base64.json"))
        event["requestContext"]["accountId"] = "anonymous"  # auth type NONE
        del event["requestContext"]["authorizer"]
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/any"
        event["requestContext"]["http"]["method"] = "GET"
        assert app(event, FakeContext())["statusCode"] == 401

    @pytest.mark.parametrize(("options", "fragment"), [({"public": True, "callers": ("iam",)}, "not both"),
                                                       ({"callers": ()}, "some of"), ({"callers": ("cognito",)}, "some of")])
    def test_route_options_are_checked(self, options: dict[str, Any], fragment: str) -> None:
        with pytest.raises(ValueError, match=fragment):
            HttpApp().route("GET", "/x", **options)

    def test_request_caller_is_read_once(self) -> None:
        event = v2("GET", "/x")
        request = Request("GET", "/x", {}, "", "", "", None, event, None)
        first = request.caller
        event["requestContext"]["authorizer"] = {}
        assert request.caller is first and first.kind == "iam"
