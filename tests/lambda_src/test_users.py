"""The users API end to end through the HTTP handler, against a real PostgreSQL."""
from __future__ import annotations

import psycopg
import pytest

from lambda_src import http
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
        from lambda_src import events_out

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
