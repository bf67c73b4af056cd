"""The application's database role against a real PostgreSQL: it can do what the app does, and nothing else.

Statements run as ``app_user`` (``SET ROLE``, through the DSN's ``options``): the migrations'
grants are what is tested, not a reading of them.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest

from lambda_src import config
from lambda_src.example import http, schedule, websocket, worker
from lambda_src.db import connection
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v2

APP_USER = "app_user"

#: What app_user must never do. audit_log is append-only; no table loses rows or history it keeps.
FORBIDDEN = [
    "DELETE FROM audit_log",
    "UPDATE audit_log SET event_type = 'forged'",
    "TRUNCATE audit_log",
    "SELECT * FROM audit_log",
    "DELETE FROM outbox",
    "UPDATE outbox SET payload = '{}'",
    "UPDATE processed_messages SET processed_at = now()",
    "DELETE FROM job_runs",
    "UPDATE job_runs SET scheduled_time = now()",
    "DELETE FROM daily_stats",
    "UPDATE users SET created_at = now()",
    "TRUNCATE users",
    "UPDATE ws_connections SET connected_at = now()",
    "SELECT * FROM schema_migrations",
    "SELECT * FROM runtime_schema_migrations",
    "CREATE TABLE app_user_table (x int)",
]


def as_role(dsn: str, role: str = APP_USER) -> str:
    """``dsn`` whose sessions run as ``role`` (the test server's user is a superuser that may SET ROLE)."""
    return dsn + ("&" if "?" in dsn else "?") + f"options=-c%20role%3D{role}"


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_app_user_is_denied(db: str, statement: str) -> None:
    # GIVEN a session as app_user WHEN it runs a statement the app never needs
    with psycopg.connect(as_role(db)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (APP_USER,)
        # THEN PostgreSQL refuses it
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_a_table_a_later_migration_creates_grants_app_user_nothing_by_default(db: str) -> None:
    # GIVEN a table created by the migrating role after the migrations ran (as a new migration would)
    with psycopg.connect(db, autocommit=True) as admin:
        admin.execute("CREATE TABLE later_table (x int)")
    try:
        # THEN app_user has no privilege on it until that migration grants one
        with psycopg.connect(as_role(db)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM later_table")
    finally:
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute("DROP TABLE later_table")


class FakeSqs:
    """SendMessage over real HTTP on 127.0.0.1: answers a message id, keeps the bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.bodies.append(json.loads(request["MessageBody"]))
                reply = json.dumps({"MessageId": f"m-{len(fake.bodies)}"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.queue_url = f"http://127.0.0.1:{self.server.server_address[1]}/123456789012/events"


@pytest.fixture
def app_as_app_user(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSqs]:
    """The handlers connect as app_user, with a queue to publish the outbox to."""
    sqs = FakeSqs()
    monkeypatch.setenv("DATABASE_URL", as_role(db))
    monkeypatch.setenv("QUEUE_URL", sqs.queue_url)
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    config.reload()
    connection.reset()
    yield sqs
    sqs.server.shutdown()
    sqs.server.server_close()
    connection.reset()


def test_every_flow_of_the_app_works_as_app_user(app_as_app_user: FakeSqs, db: str) -> None:
    def call(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        path, _, query = path.partition("?")
        response = http.handler(v2(method, path, body, query=query), FakeContext())
        return response["statusCode"], body_of(response)

    # GIVEN the handlers connected as app_user
    # WHEN the API is used end to end THEN each call succeeds
    assert call("GET", "/health")[0] == 200
    assert call("POST", "/users", {"email": "ada@example.com", "name": "Ada"})[0] == 201  # + outbox, published
    assert call("POST", "/users", {"email": "ada@example.com", "name": "Again"})[0] == 409
    assert call("PUT", "/users/1", {"email": "ada@lovelace.org", "name": "Ada L."})[0] == 200
    assert call("PATCH", "/users/1", {"bio": "Analyst"})[0] == 200
    assert call("GET", "/users/1")[1]["bio"] == "Analyst"
    assert call("GET", "/users?limit=1")[0] == 200
    status, grace = call("POST", "/users", {"email": "grace@example.com", "name": "Grace"})
    assert status == 201 and call("DELETE", f"/users/{grace['id']}")[0] == 204
    assert len(app_as_app_user.bodies) == 2  # outbox rows read FOR UPDATE and marked published
    # AND the worker records its audit row and its message id, and skips a duplicate
    batch = {"Records": [{"messageId": "msg-1", "body": json.dumps(app_as_app_user.bodies[0]),
                          "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:events"}]}
    assert worker.handler(batch, FakeContext()) == {"batchItemFailures": []}
    assert worker.handler(batch, FakeContext()) == {"batchItemFailures": []}
    # AND the scheduled job claims its run, writes stats, purges and publishes
    result = schedule.handler({"scheduledTime": "2026-11-30T03:00:00Z"}, FakeContext())
    assert result["usersTotal"] == 1 and schedule.handler({"scheduledTime": "2026-11-30T03:00:00Z"}, FakeContext()) == {"skipped": True}
    # AND WebSocket bookkeeping works
    for event_type, body in (("CONNECT", None), ("MESSAGE", json.dumps({"action": "subscribe", "channel": "users"})),
                             ("MESSAGE", json.dumps({"action": "unsubscribe", "channel": "users"})), ("DISCONNECT", None)):
        event = {"requestContext": {"eventType": event_type, "connectionId": "c1=", "routeKey": "$default",
                                    "identity": {"userArn": "arn:aws:iam::123456789012:role/Client"}}, "body": body}
        assert websocket.handler(event, FakeContext()) == {"statusCode": 200}  # an IAM caller: $connect lets it in
    # THEN the database holds what each flow wrote, seen by the admin
    with psycopg.connect(db) as admin:
        assert admin.execute("SELECT count(*) FROM audit_log").fetchone() == (1,)
        assert admin.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone() == (0,)
        assert admin.execute("SELECT result->>'usersTotal' FROM job_runs").fetchone() == ("1",)
        assert admin.execute("SELECT count(*) FROM ws_connections").fetchone() == (0,)
