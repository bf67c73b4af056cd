"""The users API end to end through the HTTP handler, against a real PostgreSQL."""
from __future__ import annotations

import psycopg
import pytest

from lambda_src.example import http
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v1, v2


def call(event):  # type: ignore[no-untyped-def]
    response = http.handler(event, FakeContext())
    return response["statusCode"], body_of(response), response


def create(email: str = "ada@example.com", name: str = "Ada") -> dict:
    status, body, _ = call(v2("POST", "/users", {"email": email, "name": name}))
    assert status == 201, body
    return body


class TestCrud:
    def test_create_read_update_patch_delete(self, db: str) -> None:
        # GIVEN a created user
        user = create("Ada@Example.com", "Ada")
        assert user["email"] == "ada@example.com" and user["id"] == 1
        # WHEN read, replaced, patched and deleted THEN each step is visible
        assert call(v2("GET", "/users/1"))[1]["name"] == "Ada"
        status, body, _ = call(v2("PUT", "/users/1", {"email": "ada@lovelace.org", "name": "Ada L."}))
        assert status == 200 and body["email"] == "ada@lovelace.org"
        status, body, _ = call(v2("PATCH", "/users/1", {"name": "Countess"}))
        assert status == 200 and body == {**body, "email": "ada@lovelace.org", "name": "Countess"}
        assert call(v2("DELETE", "/users/1"))[0] == 204
        assert call(v2("GET", "/users/1"))[0] == 404

    def test_timestamps_are_fixed_width_utc_iso_8601(self, db: str) -> None:
        import re
        from datetime import datetime, timedelta, timezone

        # GIVEN a user created with the database session in another time zone
        from psycopg import sql

        def set_zone(zone: str | None) -> None:
            with psycopg.connect(db, autocommit=True) as conn:
                name = sql.Identifier(conn.info.dbname)
                conn.execute(sql.SQL("ALTER DATABASE {} SET timezone TO 'Asia/Kolkata'").format(name) if zone
                             else sql.SQL("ALTER DATABASE {} RESET timezone").format(name))

        set_zone("Asia/Kolkata")
        try:
            from lambda_src.db import connection

            connection.reset()
            user = create()
            # THEN both timestamps are UTC with microseconds, whatever the session's zone
            for key in ("createdAt", "updatedAt"):
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", user[key]), user[key]
                when = datetime.fromisoformat(user[key].replace("Z", "+00:00"))
                assert abs(datetime.now(timezone.utc) - when) < timedelta(minutes=5)
            assert call(v2("GET", f"/users/{user['id']}"))[1] == user
        finally:
            set_zone(None)

    def test_create_returns_location_and_writes_outbox_event(self, db: str) -> None:
        _, _, response = call(v2("POST", "/users", {"email": "a@b.co", "name": "A"}))
        assert response["headers"]["location"] == "/users/1"
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT event_type, payload->'user'->>'email' FROM outbox").fetchall() == [("user.created", "a@b.co")]

    def test_rest_api_v1_reads_the_same_data(self, db: str) -> None:
        create()
        status, body, _ = call(v1("GET", "/users/1"))
        assert status == 200 and body["name"] == "Ada"

    def test_health_checks_the_database(self, db: str) -> None:
        assert call(v2("GET", "/health"))[1] == {"status": "ok", "database": "ok"}


class TestPagination:
    def test_cursor_pagination_walks_every_user_once(self, db: str) -> None:
        for index in range(7):
            create(f"u{index}@example.com", f"User {index}")
        seen, cursor, pages = [], None, 0
        while True:
            query = "limit=3" + (f"&cursor={cursor}" if cursor else "")
            status, body, _ = call(v2("GET", "/users", query=query))
            assert status == 200
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["nextCursor"]
            if cursor is None:
                break
        assert seen == list(range(1, 8)) and pages == 3

    @pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=bm90LWEtbnVtYmVy"])
    def test_bad_paging_parameters_are_400(self, db: str, query: str) -> None:
        assert call(v2("GET", "/users", query=query))[0] == 400


class TestConstraintsAndValidation:
    def test_duplicate_email_is_409(self, db: str) -> None:
        create("dup@example.com")
        status, body, _ = call(v2("POST", "/users", {"email": "DUP@example.com", "name": "Other"}))
        assert status == 409 and body["error"]["code"] == "conflict"

    def test_update_to_taken_email_is_409_and_changes_nothing(self, db: str) -> None:
        create("a@example.com", "A")
        create("b@example.com", "B")
        assert call(v2("PUT", "/users/2", {"email": "a@example.com", "name": "B2"}))[0] == 409
        assert call(v2("GET", "/users/2"))[1]["name"] == "B"

    def test_validation_errors_are_422_with_field_messages(self, db: str) -> None:
        status, body, _ = call(v2("POST", "/users", {"email": "not-an-email", "extra": 1}))
        assert status == 422
        assert {(d["field"], d["message"]) for d in body["error"]["details"]} == {
            ("email", "must be an email address"), ("name", "is required"), ("extra", "unknown field")}

    def test_failed_transaction_rolls_back(self, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN event recording fails after the user row was inserted
        from lambda_src.example import events_out

        def broken_record(tx, event_type, payload):  # type: ignore[no-untyped-def]
            raise RuntimeError("outbox down")

        monkeypatch.setattr(events_out, "record", broken_record)
        status, _, _ = call(v2("POST", "/users", {"email": "x@example.com", "name": "X"}))
        # THEN the request fails and the user insert was rolled back with it
        assert status == 500
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0

    @pytest.mark.parametrize("path", ["/users/abc", "/users/-1", "/users/99999999999999999999"])
    def test_non_numeric_or_huge_ids_are_404(self, db: str, path: str) -> None:
        assert call(v2("GET", path))[0] == 404


class TestWhoGetsWhat:
    """Every /users route serves IAM callers only: none → 401, an end user's token → 403, and neither
    ever sees an email or a bio. /health is public."""

    ROUTES = [("GET", "/users", None), ("GET", "/users/1", None), ("POST", "/users", {"email": "eve@example.com", "name": "Eve"}),
              ("PUT", "/users/1", {"email": "eve@example.com", "name": "Eve"}), ("PATCH", "/users/1", {"bio": "pwned"}),
              ("DELETE", "/users/1", None)]

    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    def test_without_a_caller_every_users_route_is_401_and_touches_nothing(self, db: str, method: str, path: str,
                                                                            body: dict | None) -> None:
        # GIVEN a user with an email and a bio
        call(v2("POST", "/users", {"email": "ada@example.com", "name": "Ada", "bio": "Analyst"}))
        # WHEN a request arrives with no authenticated caller (an API made public, a misconfigured route)
        status, answer, response = call(v2(method, path, body, caller=None))
        # THEN 401 before the route runs: nothing read, nothing written, no email or bio in the answer
        assert status == 401 and answer["error"]["code"] == "unauthorized"
        assert "ada@example.com" not in response["body"] and "Analyst" not in response["body"]
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT email, name, bio FROM users").fetchall() == [("ada@example.com", "Ada", "Analyst")]

    @pytest.mark.parametrize("caller", ["jwt", "lambda"])
    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    def test_an_end_user_token_gets_403_and_no_one_elses_email(self, db: str, caller: str, method: str, path: str,
                                                               body: dict | None) -> None:
        # GIVEN a user, and a caller authenticated by a JWT (verified claims, a sub) or a Lambda authorizer
        call(v2("POST", "/users", {"email": "ada@example.com", "name": "Ada", "bio": "Analyst"}))
        # WHEN it calls a users route  THEN 403: a record says nothing of whose it is, so no token reads any
        status, answer, response = call(v2(method, path, body, caller=caller))
        assert status == 403 and answer["error"]["code"] == "forbidden"
        assert "ada@example.com" not in response["body"] and "Analyst" not in response["body"]
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT email, bio FROM users").fetchall() == [("ada@example.com", "Analyst")]

    def test_the_real_jwt_event_is_refused(self, db: str) -> None:
        from tests.lambda_src.conftest import load_event

        create()
        status, answer, _ = call(load_event("http_api_v2_get_jwt.json"))
        assert status == 403 and "iam" in answer["error"]["message"]

    def test_an_iam_caller_gets_the_full_record(self, db: str) -> None:
        # GIVEN the event an IAM-authorized API sends (requestContext.authorizer.iam)
        create()
        status, user, _ = call(v2("GET", "/users/1", caller="iam"))
        assert status == 200 and user["email"] == "ada@example.com"
        # AND a REST API's IAM caller (requestContext.identity.userArn) too; without one, 401
        assert call(v1("GET", "/users/1"))[1]["email"] == "ada@example.com"
        assert call(v1("GET", "/users/1", caller=None))[0] == 401

    def test_health_is_public(self, db: str) -> None:
        assert call(v2("GET", "/health", caller=None))[:2] == (200, {"status": "ok", "database": "ok"})
