"""The OpenAPI document built from the routes: complete, agreeing with what the handler does, valid
OpenAPI 3.0, served by ``make dev`` and written by ``make synth``."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from lambda_src.example import http, users
from lambda_src.errors import NotFound
from lambda_src.web.openapi import ERROR_SCHEMA, GATEWAY_ERROR_SCHEMA, body_schema, document
from lambda_src.web.router import HttpApp
from lambda_src.web.validation import Field
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v2

PROJECT = Path(__file__).resolve().parents[2]
#: A venv holding openapi-spec-validator, for machines whose .venv does not (see test_the_document_is_valid_openapi).


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return http.openapi()


def operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method.lower()]


def test_every_route_is_documented_once(doc: dict[str, Any]) -> None:
    registered = sorted((method, path) for path, method, _ in http.app.router.routes())
    documented = sorted((method.upper(), path) for path, methods in doc["paths"].items() for method in methods)
    assert documented == registered
    assert ("PATCH", "/users/{id}") in documented and len(documented) == 7
    ids = [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]
    assert len(set(ids)) == len(ids) and {"create_user", "put_users_id", "patch_users_id"} <= set(ids)


def test_parameters_come_from_the_path_and_the_route(doc: dict[str, Any]) -> None:
    for method in ("get", "put", "patch", "delete"):
        (parameter,) = doc["paths"]["/users/{id}"][method]["parameters"]
        assert parameter == {"name": "id", "in": "path", "required": True, "description": "the user's id",
                             "schema": {"type": "integer", "minimum": 1}}
    query = {p["name"]: p for p in operation(doc, "GET", "/users")["parameters"]}
    assert query["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": users.MAX_LIMIT,
                                        "default": users.DEFAULT_LIMIT}
    assert query["cursor"]["in"] == "query" and not query["cursor"]["required"]


def test_request_bodies_are_the_validation_spec(doc: dict[str, Any]) -> None:
    def schema(method: str) -> dict[str, Any]:
        return operation(doc, method, "/users" if method == "POST" else "/users/{id}")["requestBody"]["content"][
            "application/json"]["schema"]

    assert schema("POST") == schema("PUT") == body_schema(users.FIELDS)
    assert schema("POST")["required"] == ["email", "name"] and schema("POST")["additionalProperties"] is False
    assert schema("POST")["properties"]["email"] == {"type": "string", "minLength": 1, "maxLength": 254,
                                                     "format": "email"}
    assert schema("POST")["properties"]["bio"] == {"type": "string", "minLength": 0, "maxLength": 2000}
    assert "required" not in schema("PATCH") and schema("PATCH")["minProperties"] == 1
    assert "requestBody" not in operation(doc, "GET", "/users/{id}")


def test_responses_list_every_error_the_route_can_answer(doc: dict[str, Any]) -> None:
    statuses = {f"{method} {path}": sorted(op["responses"]) for path, methods in doc["paths"].items()
                for method, op in methods.items()}
    assert statuses["post /users"] == ["201", "400", "401", "403", "409", "413", "415", "422", "500", "503"]
    assert statuses["delete /users/{id}"] == ["204", "401", "403", "404", "500", "503"]
    assert statuses["get /health"] == ["200", "403", "500", "503"]  # 403: API Gateway's IAM authorization
    conflict = operation(doc, "POST", "/users")["responses"]["409"]
    assert "`conflict`" in conflict["description"]
    assert conflict["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert doc["components"]["schemas"]["Error"] == ERROR_SCHEMA


def test_who_may_call_is_the_security_of_each_operation(doc: dict[str, Any]) -> None:
    # GIVEN the example's API, IAM-authorized by API Gateway: every request is signed, /health's too
    assert http.API_AUTHORIZATION == "IAM"
    assert operation(doc, "GET", "/health")["security"] == [{"iam": []}]
    assert operation(doc, "DELETE", "/users/{id}")["security"] == [{"iam": []}]
    assert set(doc["components"]["securitySchemes"]) == {"iam"}
    assert doc["components"]["securitySchemes"]["iam"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    # AND the gateway's refusal is documented in its own shape, beside the handler's 403
    refused = operation(doc, "GET", "/health")["responses"]["403"]["content"]["application/json"]
    assert refused["schema"] == {"$ref": "#/components/schemas/GatewayError"}
    assert conforms({"message": "Forbidden"}, GATEWAY_ERROR_SCHEMA)
    assert not conforms({"error": {}}, GATEWAY_ERROR_SCHEMA)
    either = operation(doc, "GET", "/users/{id}")["responses"]["403"]["content"]["application/json"]["schema"]
    assert either == {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/GatewayError"}]}


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            refs.extend(value for key, value in node.items() if key == "$ref")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    assert refs
    for ref in refs:
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        assert isinstance(target, dict), ref


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """The subset of JSON schema the error shape uses: types, required, properties, additionalProperties."""
    kind = schema.get("type")
    if value is None:
        return bool(schema.get("nullable"))
    if kind == "object":
        return (isinstance(value, dict) and all(key in value for key in schema.get("required", ()))
                and (schema.get("additionalProperties", True) or set(value) <= set(schema.get("properties", {})))
                and all(conforms(value[k], s) for k, s in schema.get("properties", {}).items() if k in value))
    if kind == "array":
        return isinstance(value, list) and all(conforms(item, schema["items"]) for item in value)
    return isinstance(value, {"string": str, "integer": int}.get(kind, object))


class TestTheDocumentAgreesWithTheHandler:
    """What the document says about bodies and errors is what the handler does (no database needed:
    each request is refused before the route runs)."""

    def call(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        response = http.handler(v2(method, path, body), FakeContext())
        return response["statusCode"], body_of(response)

    def test_a_body_missing_the_required_fields_is_a_422_naming_exactly_them(self, doc: dict[str, Any]) -> None:
        for method, path in (("POST", "/users"), ("PUT", "/users/1")):
            status, body = self.call(method, path, {})
            required = body_schema(users.FIELDS)["required"]
            assert status == 422 and [d["field"] for d in body["error"]["details"]] == required
            assert conforms(body, ERROR_SCHEMA)
            documented = operation(doc, method, "/users" if method == "POST" else "/users/{id}")["responses"]
            assert str(status) in documented

    def test_no_other_field_is_accepted_and_patch_needs_one(self) -> None:
        status, body = self.call("POST", "/users", {"email": "ada@example.com", "name": "Ada", "role": "admin"})
        assert status == 422 and body["error"]["details"] == [{"field": "role", "message": "unknown field"}]
        status, body = self.call("PATCH", "/users/1", {})
        assert status == 422 and body["error"]["details"] == [{"field": "$", "message": "at least one field is required"}]
        status, body = self.call("POST", "/users", {"email": "x" * 255, "name": "Ada"})
        assert status == 422 and body["error"]["details"][0]["field"] == "email"

    def test_without_a_caller_a_users_route_answers_the_documented_401(self, doc: dict[str, Any]) -> None:
        response = http.handler(v2("GET", "/users/1", caller=None), FakeContext())
        assert response["statusCode"] == 401 and "401" in operation(doc, "GET", "/users/{id}")["responses"]
        assert conforms(body_of(response), ERROR_SCHEMA)


class TestTheRouterDescribesAnyApp:
    def test_a_route_declares_its_body_params_errors_and_callers(self) -> None:
        app = HttpApp()
        fields = {"title": Field(max_length=80)}

        @app.route("POST", "/notes/{slug}", callers=("jwt",), body=fields, errors=(NotFound,), status=201)
        def add_note(request: Any) -> dict[str, Any]:
            """Add a note."""
            return {"saved": request.fields}

        found = document(app, title="Notes", version="2")
        op = found["paths"]["/notes/{slug}"]["post"]
        assert op["summary"] == "Add a note." and op["security"] == [{"jwt": []}]
        assert op["parameters"][0]["schema"] == {"type": "string"}
        assert set(found["components"]["securitySchemes"]) == {"jwt"}
        assert {"201", "404", "403", "422"} <= set(op["responses"])
        # AND the router enforces that same spec: the route gets the cleaned fields
        event = v2("POST", "/notes/a", {"title": "  hi  "}, caller="jwt")
        assert body_of(app(event, FakeContext())) == {"saved": {"title": "hi"}}

    def test_without_a_gateway_each_route_decides_and_a_gateway_decides_first(self) -> None:
        app = HttpApp()
        app.route("GET", "/ping", public=True)(lambda request: {})
        app.route("GET", "/mine", callers=("jwt",))(lambda request: {})
        # WHEN nothing stands in front  THEN a public route needs no scheme and no gateway shape is declared
        alone = document(app, title="Ping", version="1")
        assert alone["paths"]["/ping"]["get"]["security"] == [] and "GatewayError" not in alone["components"]["schemas"]
        # WHEN a JWT authorizer stands in front  THEN every operation needs a token, and its 401 is documented
        behind = document(app, title="Ping", version="1", gateway="JWT")
        ping, mine = behind["paths"]["/ping"]["get"], behind["paths"]["/mine"]["get"]
        assert ping["security"] == mine["security"] == [{"jwt": []}]
        assert ping["responses"]["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/GatewayError"}
        assert list(mine["responses"]) == ["200", "401", "403", "500"]
        assert "oneOf" in mine["responses"]["401"]["content"]["application/json"]["schema"]
        with pytest.raises(ValueError, match="gateway must be one of NONE, IAM, JWT, LAMBDA, not 'AWS_IAM'"):
            document(app, title="Ping", version="1", gateway="AWS_IAM")

    def test_partial_needs_a_body_spec(self) -> None:
        with pytest.raises(ValueError, match="partial"):
            HttpApp().route("PATCH", "/x", partial=True)


def test_the_document_is_valid_openapi(doc: dict[str, Any], tmp_path: Path) -> None:
    """openapi-spec-validator (pinned in requirements-dev.txt) accepts the document."""
    check = ("from openapi_spec_validator import validate\nfrom openapi_spec_validator.readers import "
             "read_from_filename\nimport sys\nvalidate(read_from_filename(sys.argv[1])[0])\n")
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc))
    python = sys.executable
    completed = subprocess.run([python, "-c", check, str(path)], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    # AND the validator does reject a broken document (it is not a no-op)
    broken = {**doc, "paths": {"/users/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    path.write_text(json.dumps(broken))
    assert subprocess.run([python, "-c", check, str(path)], capture_output=True, text=True, timeout=120).returncode != 0


def test_make_dev_serves_the_document(doc: dict[str, Any]) -> None:
    import http.client

    from devtools.runtime_api import InProcessWorker
    from devtools.server import make_server

    server = make_server(InProcessWorker("tests.lambda_src.sample_handlers.caller"), port=0, timeout=10)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
        connection.request("GET", "/_local/openapi.json")
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("content-type") == "application/json"
        assert json.loads(response.read()) == doc
    finally:
        server.shutdown()


def test_make_synth_writes_the_document_beside_the_templates(doc: dict[str, Any], tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("synth_summary", PROJECT / "scripts" / "synth_summary.py")
    summary = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(summary)  # type: ignore[union-attr]
    line = summary.write_openapi(tmp_path)
    assert json.loads((tmp_path / "openapi.json").read_text()) == doc
    assert line.startswith("openapi: 7 operations on 3 paths")
