"""Database access built for Lambda, against a real PostgreSQL: reuse, reconnect, timeouts, IAM tokens."""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from lambda_src import config
from lambda_src.db import connection, iam_token
from lambda_src.db.errors import DatabaseUnavailable
from lambda_src.aws import Credentials
from lambda_src.errors import HTTPError
from lambda_src.example import http
from devtools.rds_proxy import Attempt, LocalRdsProxy
from tests.cdk_helpers import PROJECT
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import body_of, v2

CREDENTIALS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEJr//token+/=")


class TestConnectionReuse:
    def test_one_connection_per_container_across_warm_invocations(self, db: str) -> None:
        before = connection.connections_opened
        for _ in range(5):
            assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.connections_opened - before == 1

    def test_killed_connection_is_replaced_and_the_request_continues(self, db: str) -> None:
        # GIVEN a warm container whose connection the server terminated between invocations
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        pid = connection.get().info.backend_pid
        with psycopg.connect(db, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        # WHEN the next request arrives THEN it succeeds on a new connection
        response = http.handler(v2("POST", "/users", {"email": "r@example.com", "name": "R"}), FakeContext())
        assert response["statusCode"] == 201
        assert connection.get().info.backend_pid != pid
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 1  # written once


class TestUnavailable:
    def test_unreachable_database_is_503_with_retry_after_within_the_connect_timeout(self, db: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        # GIVEN a server socket that accepts TCP connections but never speaks PostgreSQL
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", f"postgresql://app:app@127.0.0.1:{port}/app")
        monkeypatch.setenv("DB_CONNECT_TIMEOUT", "2")
        config.reload()
        connection.reset()
        started = time.monotonic()
        response = http.handler(v2("GET", "/users/1"), FakeContext(remaining_ms=10_000))
        elapsed = time.monotonic() - started
        silent.close()
        # THEN the client gets a 503 with Retry-After, well before the function would time out
        assert response["statusCode"] == 503 and response["headers"]["retry-after"] == "5"
        assert body_of(response)["error"]["code"] == "service_unavailable"
        assert elapsed < 2 + 1.5

    def test_connect_timeout_is_capped_by_remaining_time(self) -> None:
        assert connection.connect_timeout(remaining_ms=60_000, configured=3) == 3
        assert connection.connect_timeout(remaining_ms=3_500, configured=3) == 2
        assert connection.connect_timeout(remaining_ms=None, configured=3) == 3
        # the database layer says what happened in its own terms; it knows nothing of HTTP
        with pytest.raises(DatabaseUnavailable) as raised:
            connection.connect_timeout(remaining_ms=1_500, configured=3)
        assert not isinstance(raised.value, HTTPError) and raised.value.retry_after == 5

    def test_almost_timed_out_invocation_gets_503_without_trying(self, db: str) -> None:
        connection.reset()
        response = http.handler(v2("GET", "/users/1"), FakeContext(remaining_ms=1_200))
        assert response["statusCode"] == 503 and "retry-after" in response["headers"]


class TestIamToken:
    def test_token_is_byte_identical_to_boto3(self) -> None:
        import boto3

        now = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.timezone.utc)
        ours = iam_token.generate(host="prx.proxy-abc.eu-west-1.rds.amazonaws.com", port=5432, user="app_user",
                                  region="eu-west-1", credentials=CREDENTIALS, now=now)
        client = boto3.client("rds", region_name="eu-west-1", aws_access_key_id=CREDENTIALS.access_key,
                              aws_secret_access_key=CREDENTIALS.secret_key, aws_session_token=CREDENTIALS.token)
        with mock.patch("botocore.auth.get_current_datetime", return_value=now.replace(tzinfo=None)):
            theirs = client.generate_db_auth_token("prx.proxy-abc.eu-west-1.rds.amazonaws.com", 5432, "app_user")
        assert ours == theirs
        assert parse_qs(urlsplit("https://" + ours).query)["X-Amz-Expires"] == ["900"]

    def test_iam_connection_mints_one_token_per_connection_and_a_new_one_after_expiry(
            self, db: str, rds_proxy: LocalRdsProxy, monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN a container logging in through the proxy stand-in, the two sharing one frozen clock
        frozen = [1_795_348_800.0]
        monkeypatch.setattr(connection.tokens, "clock", lambda: frozen[0])
        monkeypatch.setattr(rds_proxy.login, "clock", lambda: frozen[0])
        generations = connection.tokens.generations
        logins = len(rds_proxy.attempts)
        # WHEN warm requests reuse the connection THEN no new token
        for _ in range(3):
            assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.tokens.generations - generations == 1
        assert connection.get().info.user == "app_user"
        # WHEN the connection is replaced within the token's life THEN the cached token serves it
        connection.get().close()
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.tokens.generations - generations == 1
        # WHEN the token is near expiry and a new connection opens THEN exactly one new token
        frozen[0] += iam_token.TOKEN_LIFETIME_SECONDS - iam_token.REFRESH_MARGIN_SECONDS + 1
        connection.get().close()
        assert http.handler(v2("GET", "/health"), FakeContext())["statusCode"] == 200
        assert connection.tokens.generations - generations == 2
        # AND the proxy let in each of the three connections
        assert rds_proxy.attempts[logins:] == [Attempt("login", "app_user")] * 3


def test_request_path_never_imports_boto3_or_eagerly_psycopg(db: str) -> None:
    # GIVEN a fresh interpreter WHEN the HTTP handler is imported and serves a GET and a POST
    script = (
        "import sys, json\n"
        "import lambda_src.example.http as h\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported at module import'\n"
        "from tests.lambda_src.events import v2\n"
        "from tests.lambda_src.conftest import FakeContext\n"
        "r1 = h.handler(v2('POST', '/users', {'email': 'imp@example.com', 'name': 'I'}), FakeContext())\n"
        "r2 = h.handler(v2('GET', '/users/1'), FakeContext())\n"
        "print(json.dumps([r1['statusCode'], r2['statusCode'], [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')]]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}  # as ``db`` set it: an IAM token through the stand-in
    env.pop("QUEUE_URL", None)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=PROJECT)
    assert completed.returncode == 0, completed.stderr
    # THEN boto3 and botocore were never imported
    assert completed.stdout.strip().splitlines()[-1] == '[201, 200, []]'


class TestNoPinning:
    """RDS Proxy pins a client to one database connection when the session holds a prepared statement
    ("Avoiding pinning an RDS Proxy"); psycopg prepares a query on the server after its 5th run."""

    def test_a_query_run_many_times_leaves_no_prepared_statement(self, db: str) -> None:
        # GIVEN the container's connection through the proxy stand-in
        # WHEN the same parameterised query runs ten times, as a warm container would
        for n in range(10):
            assert connection.transaction(lambda tx: tx.one("SELECT %s::int + 1", (n,)))[0] == n + 1
        # THEN the session holds no server-side prepared statement
        assert connection.transaction(lambda tx: tx.one("SELECT count(*) FROM pg_prepared_statements"))[0] == 0


class TestInvocationDeadlineInRoutes:
    """A route that runs a transaction without passing its remaining time got DB_TRANSACTION_TIMEOUT (5 s),
    whatever the invocation had left: the HTTP app now bounds it by the invocation, as the batch and
    WebSocket apps do."""

    @staticmethod
    def app():  # type: ignore[no-untyped-def]
        from lambda_src.web.router import HttpApp

        app = HttpApp()

        @app.route("GET", "/slow", public=True)
        def slow(request):  # type: ignore[no-untyped-def]
            return {"slept": connection.transaction(lambda tx: tx.one("SELECT pg_sleep(4)::text")[0])}

        return app

    def test_a_route_without_remaining_ms_ends_before_the_invocation_does(self, db: str) -> None:
        # GIVEN an invocation with 2 s left and a route whose query takes 4 s, giving no remaining time
        connection.reset()
        started = time.monotonic()
        # WHEN it runs
        response = self.app()(v2("GET", "/slow"), FakeContext(remaining_ms=2_000))
        # THEN it answers 503 with Retry-After before the invocation's 2 s are up (not after the 4 s query)
        elapsed = time.monotonic() - started
        assert response["statusCode"] == 503 and "retry-after" in response["headers"], response
        assert elapsed < 2.0, elapsed

    def test_no_invocation_is_left_set_after_the_request(self, db: str) -> None:
        # GIVEN a request handled (WHEN the app has answered)
        from lambda_src import invocation

        self.app()(v2("GET", "/nothing"), FakeContext(remaining_ms=2_000))
        # THEN its invocation is no longer current: later transactions get the configured timeout again
        assert invocation.current.get() is None
