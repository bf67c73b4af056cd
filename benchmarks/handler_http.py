"""Warm HTTP overhead per request: ours beside aws-lambda-powertools APIGatewayHttpResolver.

Both serve the same users routes with the same validation and the same outbox event on POST; the
database call is stubbed out of the measurement only (the same stub for both). Also printed: a bare hand-written minimum.
Target: ours <= 0.25x Powertools.
"""
from __future__ import annotations

import json
import os

from _common import HEADER, ROW, PROJECT, interleaved_us, row, stub_transaction, v2_event  # noqa: F401

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "bench")
os.environ.pop("DATABASE_URL", None)


def ours():  # type: ignore[no-untyped-def]
    from lambda_src.example import http, users
    from lambda_src.db import connection

    connection.transaction = stub_transaction  # type: ignore[assignment]
    users.db.transaction = stub_transaction  # type: ignore[attr-defined]
    users._publish_quietly = lambda user: None  # type: ignore[attr-defined]
    return http.handler


def powertools():  # type: ignore[no-untyped-def]
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

    from lambda_src.example import events_out
    from lambda_src.web.validation import validate
    from lambda_src.example.users import FIELDS, _user
    from lambda_src.errors import HTTPError

    app = APIGatewayHttpResolver()

    @app.get("/users/<user_id>")
    def get_user(user_id: str):  # type: ignore[no-untyped-def]
        if not user_id.isdigit():
            raise NotFoundError("no user")
        return _user(stub_transaction(lambda tx: tx.one("SELECT", (int(user_id),))))

    @app.post("/users")
    def create_user():  # type: ignore[no-untyped-def]
        try:
            fields = validate(app.current_event.json_body, FIELDS)
        except HTTPError as error:
            raise BadRequestError(error.message) from None
        def work(tx):  # type: ignore[no-untyped-def]
            user = _user(tx.one("INSERT", (fields["email"], fields["name"])))
            events_out.record(tx, "user.created", {"user": user})  # the same outbox event as ours
            return user

        user = stub_transaction(work)
        return Response(201, "application/json", json.dumps(user), {"location": f"/users/{user['id']}"})

    return lambda event, context: app.resolve(event, context)


def bare():  # type: ignore[no-untyped-def]
    def handler(event, context):  # type: ignore[no-untyped-def]
        path = event["rawPath"]
        if event["requestContext"]["http"]["method"] == "GET":
            return {"statusCode": 200, "body": json.dumps({"id": int(path.rsplit("/", 1)[1]), "email": ROW[1]})}
        body = json.loads(event["body"])
        return {"statusCode": 201, "body": json.dumps({"id": 1, **body})}
    return handler


def main() -> None:
    get_event = v2_event("GET", "/users/1")
    post_event = v2_event("POST", "/users", {"email": "ada@example.com", "name": "Ada Lovelace",
                                              "bio": ("Mathematician and writer. " * 40)[:960]})
    assert 1000 <= len(post_event["body"]) <= 1100, len(post_event["body"])
    handlers = {"ours": ours(), "powertools": powertools(), "bare": bare()}
    for name, handler in handlers.items():
        assert handler(get_event, None)["statusCode"] == 200, name
        assert handler(post_event, None)["statusCode"] == 201, name
    gets = interleaved_us({name: (lambda h=h: h(get_event, None)) for name, h in handlers.items()})
    posts = interleaved_us({name: (lambda h=h: h(post_event, None)) for name, h in handlers.items()})
    results = {name: (gets[name], posts[name]) for name in handlers}
    print(HEADER)
    print(row("warm GET /users/{id} overhead", results["ours"][0], results["powertools"][0], "us", "<= 0.25x"))
    print(row("warm POST /users (1 KB body) overhead", results["ours"][1], results["powertools"][1], "us", "<= 0.25x"))
    print(f"{'bare hand-written minimum (GET / POST)':<46}{results['bare'][0]:>10.2f}{results['bare'][1]:>12.2f} us")


if __name__ == "__main__":
    main()
