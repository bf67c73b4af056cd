"""Fixtures for the handler package: a real, migrated PostgreSQL behind a local RDS Proxy stand-in
that checks IAM tokens, and a clean container state."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tests.lambda_src import pg

if TYPE_CHECKING:  # subprocesses import this module for FakeContext: botocore stays out of them
    from devtools.rds_proxy import LocalRdsProxy

if "DATABASE_URL" in os.environ and "TEST_DATABASE_URL" not in os.environ:
    os.environ["TEST_DATABASE_URL"] = os.environ["DATABASE_URL"]

EVENTS = Path(__file__).resolve().parent.parent / "events"
#: The function's AWS credentials in tests, as Lambda gives them (a session token, characters to escape).
#: The stand-in trusts exactly these.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
               "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEJr//session+token/=", "AWS_REGION": "eu-west-1"}
TABLES = ("users", "outbox", "processed_messages", "audit_log", "job_runs", "daily_stats", "ws_connections",
          "ws_subscriptions")


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


class FakeContext:
    """The parts of the Lambda context object the handlers read."""

    def __init__(self, remaining_ms: int = 10_000, request_id: str = "req-test-1") -> None:
        self.aws_request_id = request_id
        self.function_name = "test"
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database shared by the session (tables are emptied per test by ``db``)."""
    from lambda_src.example.migrate import migrate

    with pg.fresh_database("app") as dsn:
        migrate(dsn)
        yield dsn


@pytest.fixture(scope="session")
def rds_proxy(database_url: str) -> Iterator[LocalRdsProxy]:
    """The local stand-in for RDS Proxy in front of the test server: TLS required, and only IAM
    tokens signed with :data:`CREDENTIALS` for its endpoint and the connecting user log in."""
    from devtools.iam_login import IamLoginCheck
    from devtools.rds_proxy import LocalRdsProxy

    login = IamLoginCheck(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                          session_token=CREDENTIALS["AWS_SESSION_TOKEN"], region=CREDENTIALS["AWS_REGION"])
    with LocalRdsProxy(database_url, login=login) as proxy:
        yield proxy


@pytest.fixture
def function_env(database_url: str, rds_proxy: LocalRdsProxy) -> dict[str, str]:
    """The environment a deployed function has (CDK's DB_* and Lambda's credentials), with the stand-in
    as the proxy endpoint. ``DATABASE_URL`` is emptied so a worker cannot inherit one."""
    return {**CREDENTIALS, "DATABASE_URL": "", "DB_HOST": rds_proxy.host, "DB_PORT": str(rds_proxy.port),
            "DB_NAME": urlsplit(database_url).path.lstrip("/"), "DB_USER": "app_user",
            "DB_SSL_ROOT_CERT": rds_proxy.ca_file}


@pytest.fixture
def db(database_url: str, function_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the handler package at the test database as a deployed function reaches it (TLS and an
    IAM token through the stand-in), with empty tables and a fresh container. Yields the superuser
    DSN, for tests to set up and inspect data directly."""
    import psycopg

    from lambda_src import config
    from lambda_src.db import connection, tls

    for key, value in function_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("QUEUE_URL", raising=False)
    tls.forget()
    config.reload()
    connection.reset()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
    yield database_url
    connection.reset()
    config.reload()


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def package_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The runtime's log records, each once, whatever ran before: the ``lambda_src`` logger stops
    propagating once configured, so caplog listens on it directly, with propagation off meanwhile."""
    import logging

    package_logger = logging.getLogger("lambda_src")
    propagate = package_logger.propagate
    package_logger.addHandler(caplog.handler)
    package_logger.propagate = False
    try:
        yield caplog
    finally:
        package_logger.propagate = propagate
        package_logger.removeHandler(caplog.handler)
