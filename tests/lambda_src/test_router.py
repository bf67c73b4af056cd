"""The router and the HTTP app's one place for errors: matching, the order of checks, and what each error answers."""
from __future__ import annotations

from typing import Any

import pytest

from lambda_src.db.errors import DatabaseUnavailable
from lambda_src.errors import HTTPError, NotFound, ServiceUnavailable
from lambda_src.web.messages import Request, Response
from lambda_src.web.router import Endpoint, HttpApp, Router
from lambda_src.web.validation import Field
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v1, v2


def route(name: str) -> Any:
    return lambda request: name


class TestRouter:
    @pytest.fixture
    def router(self) -> Router:
        router = Router()
        router.add("get", "/users", route("list"))
        router.add("POST", "/users", route("create"))
        router.add("GET", "/users/{id}", route("one"))
        router.add("delete", "/users/{id}", route("delete"))
        router.add("GET", "/users/{id}/orders/{order_id}", route("order"))
        router.add("GET", "/v1.0/{name}", route("dotted"))
        router.add("GET", "/users/me", route("me"))
        return router

    @pytest.mark.parametrize(("method", "path", "name", "params"), [
        ("GET", "/users", "list", {}), ("POST", "/users", "create", {}), ("GET", "/users/42", "one", {"id": "42"}),
        ("DELETE", "/users/42", "delete", {"id": "42"}),
        ("GET", "/users/4/orders/x-9", "order", {"id": "4", "order_id": "x-9"}),
        ("GET", "/users/me", "me", {}),  # a static path wins over a template it also matches
        ("GET", "/v1.0/a", "dotted", {"name": "a"}),
    ])
    def test_a_path_finds_its_route_and_parameters(self, router: Router, method: str, path: str, name: str,
                                                   params: dict[str, str]) -> None:
        found, found_params = router.match(method, path)
        assert found(None) == name and found_params == params

    @pytest.mark.parametrize("path", ["/users/", "/users/4/2", "/users/4/orders", "/users/4/orders/5/x", "/v1x0/a",
                                      "/nope", "/Users"])
    def test_a_path_no_route_matches_whole_is_404(self, router: Router, path: str) -> None:
        with pytest.raises(NotFound, match="No route for "):
            router.match("GET", path)
        assert router.template(path) is None

    def test_a_known_path_with_another_method_is_405_allowing_the_registered_ones_sorted(self, router: Router) -> None:
        with pytest.raises(HTTPError) as static:
            router.match("PUT", "/users")
        assert static.value.status == 405 and static.value.headers == {"allow": "GET, POST"}
        with pytest.raises(HTTPError) as templated:
            router.match("POST", "/users/1")
        assert templated.value.headers == {"allow": "DELETE, GET"}

    def test_braces_around_no_parameter_name_are_literal(self) -> None:
        router = Router()
        router.add("GET", "/a/{id}/{not-a-name}", route("literal"))
        router.add("GET", "/b/{id}{draft", route("open brace"))
        assert router.match("GET", "/a/1/{not-a-name}")[1] == {"id": "1"}
        assert router.match("GET", "/b/7{draft")[1] == {"id": "7"}
        with pytest.raises(NotFound):
            router.match("GET", "/a/1/x")

    def test_template_names_the_registered_path(self, router: Router) -> None:
        assert router.template("/users/42") == "/users/{id}"
        assert router.template("/users") == "/users" and router.template("/users/me") == "/users/me"

    def test_routes_lists_static_paths_first_each_in_registration_order(self, router: Router) -> None:
        assert [(path, method, function(None)) for path, method, function in router.routes()] == [
            ("/users", "GET", "list"), ("/users", "POST", "create"), ("/users/me", "GET", "me"),
            ("/users/{id}", "GET", "one"), ("/users/{id}", "DELETE", "delete"),
            ("/users/{id}/orders/{order_id}", "GET", "order"), ("/v1.0/{name}", "GET", "dotted")]


class TestRegistration:
    def test_the_decorator_gives_back_the_function_and_records_the_spec(self) -> None:
        app = HttpApp()

        def show(request: Request) -> str:
            """Show one."""
            return "shown"

        spec = {"name": Field()}
        assert app.route("PUT", "/things/{id}", callers=("iam", "jwt"), body=spec, partial=True, errors=(NotFound,),
                         status=202, response={"type": "object"}, summary="Put one")(show) is show
        (path, method, endpoint), = app.router.routes()
        assert (path, method, endpoint.function) == ("/things/{id}", "PUT", show)
        assert (endpoint.public, endpoint.callers, endpoint.body, endpoint.partial) == (False, ("iam", "jwt"), spec, True)
        assert (endpoint.params, endpoint.query, endpoint.errors) == ({}, {}, (NotFound,))
        assert (endpoint.status, endpoint.response, endpoint.summary) == (202, {"type": "object"}, "Put one")

    def test_the_defaults_of_a_route(self) -> None:
        app = HttpApp()
        app.route("GET", "/x")(route("x"))
        (_, _, endpoint), = app.router.routes()
        assert (endpoint.public, endpoint.callers, endpoint.body, endpoint.partial) == (False, None, None, False)
        assert (endpoint.params, endpoint.query, endpoint.errors, endpoint.status) == ({}, {}, (), 200)
        assert (endpoint.response, endpoint.summary) == (None, None)
        made = Endpoint(route("y"), public=True, callers=None)
        assert (made.partial, made.status, made.errors, made.body) == (False, 200, (), None)

    def test_the_app_strips_the_trailing_slash_of_a_prefix_and_ignores_the_root(self) -> None:
        app = HttpApp(strip_prefixes=("/api/", "/v2", "/", ""))
        assert app.strip_prefixes == ("/api", "/v2")

    def test_partial_needs_a_body_spec(self) -> None:
        with pytest.raises(ValueError, match="partial=True applies to a body spec"):
            HttpApp().route("PATCH", "/x", partial=True)

    def test_callers_must_be_known_kinds(self) -> None:
        with pytest.raises(ValueError, match="callers must be some of"):
            HttpApp().route("GET", "/x", callers=("iam", "cognito"))
        HttpApp().route("GET", "/x", callers=("iam", "jwt", "lambda"))  # every kind: fine

    def test_forbidden_names_every_kind_served(self) -> None:
        app = HttpApp()
        app.route("GET", "/x", callers=("iam", "lambda"))(route("x"))
        response = app(v2("GET", "/x", caller="jwt"), FakeContext())
        assert response["statusCode"] == 403
        assert body_of(response)["error"]["message"] == "This route serves iam or lambda callers, not jwt"


class TestRequests:
    @pytest.fixture
    def app(self) -> HttpApp:
        app = HttpApp(body_content_types=("application/json", " Image/PNG "))
        app.route("GET", "/echo")(lambda request: {"body": request.body if isinstance(request.body, str) else "bytes"})
        app.route("DELETE", "/echo")(lambda request: {"body": request.body})
        app.route("POST", "/people", body={"name": Field(), "email": Field(email=True)})(
            lambda request: Response(201, request.fields))
        app.route("PATCH", "/people/{id}", body={"name": Field(), "email": Field(email=True)}, partial=True)(
            lambda request: request.fields)
        app.route("POST", "/upload")(lambda request: {"bytes": len(request.body)})
        app.route("GET", "/list")(lambda request: [1, 2])
        app.route("GET", "/nothing")(lambda request: None)
        return app

    def test_a_body_on_a_method_without_one_is_not_checked_for_its_type(self, app: HttpApp) -> None:
        assert body_of(app(v2("GET", "/echo", raw_body="x"), FakeContext())) == {"body": "x"}
        assert body_of(app(v2("DELETE", "/echo", raw_body="y"), FakeContext())) == {"body": "y"}

    def test_declared_body_types_are_compared_trimmed_and_case_blind(self, app: HttpApp) -> None:
        upload = v2("POST", "/upload", raw_body="iVBORw0KGgo=", headers={"content-type": "image/png"}, base64_body=False)
        upload["isBase64Encoded"] = True
        assert app(upload, FakeContext())["statusCode"] == 200
        assert app(v2("POST", "/upload", raw_body="x", headers={"content-type": "image/gif"}),
                   FakeContext())["statusCode"] == 415

    def test_a_body_spec_is_validated_before_the_route_and_its_fields_given_to_it(self, app: HttpApp) -> None:
        created = app(v2("POST", "/people", {"name": " Ada ", "email": "ada@example.com"}), FakeContext())
        assert created["statusCode"] == 201 and body_of(created) == {"name": "Ada", "email": "ada@example.com"}
        refused = app(v2("POST", "/people", {"name": "Ada"}), FakeContext())
        assert refused["statusCode"] == 422
        assert body_of(refused)["error"]["details"] == [{"field": "email", "message": "is required"}]

    def test_a_partial_spec_takes_any_one_field(self, app: HttpApp) -> None:
        response = app(v2("PATCH", "/people/1", {"name": "Grace"}), FakeContext())
        assert response["statusCode"] == 200 and body_of(response) == {"name": "Grace"}

    def test_what_a_route_returns_is_a_200_unless_it_is_a_response(self, app: HttpApp) -> None:
        listed = app(v2("GET", "/list"), FakeContext())
        assert listed["statusCode"] == 200 and body_of(listed) == [1, 2]
        nothing = app(v2("GET", "/nothing"), FakeContext())
        assert nothing["statusCode"] == 200 and nothing["body"] == ""

    def test_the_default_body_limit_is_one_mebibyte(self) -> None:
        app = HttpApp()
        app.route("POST", "/big")(lambda request: {"length": len(request.body)})
        json_type = {"content-type": "application/json"}
        exact = app(v2("POST", "/big", raw_body="x" * 1_048_576, headers=json_type), FakeContext())
        assert exact["statusCode"] == 200 and body_of(exact) == {"length": 1_048_576}
        assert app(v2("POST", "/big", raw_body="x" * 1_048_577, headers=json_type), FakeContext())["statusCode"] == 413


class TestErrors:
    @pytest.fixture
    def app(self) -> HttpApp:
        app = HttpApp()

        def unavailable(request: Request) -> None:
            raise DatabaseUnavailable("no connection", retry_after=7)

        def http_error(request: Request) -> None:
            raise HTTPError("something broke")

        def service_unavailable(request: Request) -> None:
            raise ServiceUnavailable()

        def boom(request: Request) -> None:
            raise KeyError("secret-detail")

        for path, function in (("/db", unavailable), ("/http", http_error), ("/503", service_unavailable),
                               ("/boom", boom)):
            app.route("GET", path, public=True)(function)
        return app

    def test_an_unavailable_database_is_a_503_with_its_retry_after(self, app: HttpApp,
                                                                   package_log: pytest.LogCaptureFixture) -> None:
        response = app(v2("GET", "/db"), FakeContext(request_id="r-db"))
        assert response["statusCode"] == 503 and response["headers"]["retry-after"] == "7"
        assert body_of(response)["error"] == {"code": "service_unavailable", "requestId": "r-db",
                                              "message": "The database is unavailable; retry shortly"}
        logged = [r for r in package_log.records if r.getMessage().startswith("request failed")]
        assert [(r.requestId, r.status) for r in logged] == [("r-db", 503)]

    @pytest.mark.parametrize(("path", "status"), [("/http", 500), ("/503", 503)])
    def test_server_errors_are_logged_client_errors_are_not(self, app: HttpApp, package_log: pytest.LogCaptureFixture,
                                                            path: str, status: int) -> None:
        assert app(v2("GET", path), FakeContext(request_id="r-5"))["statusCode"] == status
        assert app(v2("GET", "/nope"), FakeContext(request_id="r-4"))["statusCode"] == 404
        logged = [(r.requestId, r.status) for r in package_log.records if r.getMessage().startswith("request failed")]
        assert logged == [("r-5", status)]

    def test_an_unexpected_error_is_a_500_logged_with_the_request(self, app: HttpApp,
                                                                  package_log: pytest.LogCaptureFixture) -> None:
        response = app(v2("GET", "/boom"), FakeContext(request_id="r-x"))
        assert response["statusCode"] == 500 and "secret-detail" not in response["body"]
        assert body_of(response)["error"]["requestId"] == "r-x"
        (record,) = [r for r in package_log.records if r.getMessage() == "unhandled error"]
        assert (record.requestId, record.path, record.exc_info[0]) == ("r-x", "/boom", KeyError)

    @pytest.mark.parametrize("event", [None, "text", {"requestContext": []}])
    def test_an_event_that_cannot_be_read_is_a_400_with_the_contexts_request_id(self, app: HttpApp,
                                                                                event: Any) -> None:
        response = app(event, FakeContext(request_id="r-bad"))
        assert response["statusCode"] == 400 and body_of(response)["error"]["requestId"] == "r-bad"
        assert "multiValueHeaders" not in response

    def test_errors_answer_in_the_events_payload_version(self, app: HttpApp) -> None:
        rest = app(v1("GET", "/nope"), FakeContext())
        assert rest["statusCode"] == 404 and rest["headers"] == {"content-type": "application/json"}
        assert body_of(rest)["error"]["code"] == "not_found"


class TestInvocation:
    """Each request is handled as the invocation of its Lambda context, and only while it is handled."""

    def test_a_route_runs_as_its_invocation_which_ends_with_the_response(self) -> None:
        from lambda_src import invocation

        # GIVEN a route that notes which invocation it runs in
        app = HttpApp()
        seen: list[Any] = []

        @app.route("GET", "/now", public=True)
        def now(request: Request) -> dict[str, Any]:
            seen.append(invocation.current.get())
            return {}

        context = FakeContext(remaining_ms=1_234)
        # WHEN a request is handled THEN the route saw its own context (what its transactions are bounded by)
        assert app(v2("GET", "/now"), context)["statusCode"] == 200
        assert seen == [context]
        # AND once answered, no invocation is current; also after a route that failed
        assert invocation.current.get() is None
        assert app(v2("GET", "/missing"), context)["statusCode"] == 404
        assert invocation.current.get() is None
