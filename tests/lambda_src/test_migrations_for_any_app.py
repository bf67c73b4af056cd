"""Migrations for any app, against a real PostgreSQL: a consumer package outside ``lambda_src`` gets its
database users (login, ``rds_iam``, exactly the declared privileges) and the runtime's own tables,
before and after its own migrations, re-runnably and one run at a time.

Statements run as the consumer's user by logging in as it (the test server trusts local logins):
what is tested is what PostgreSQL lets that user do, not a reading of the grants.
"""
from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from lambda_src import config
from lambda_src import migrate as runner
from lambda_src.example import migrate as example
from tests.lambda_src import pg

RUNTIME_TABLES = ("processed_messages", "job_runs", "ws_connections", "ws_subscriptions")

ORDERS_SQL = """
CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer    text NOT NULL,
    status      text NOT NULL DEFAULT 'new',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id  bigint NOT NULL,
    note      text NOT NULL
);
"""

#: What the consumer declares for its user (grant_connect(..., privileges=...)).
DECLARED = {"orders": ["SELECT", "INSERT", "UPDATE (status)"], "order_audit": ["INSERT"],
            "processed_messages": ["SELECT", "INSERT", "DELETE"]}

#: What the declaration allows, run in this order as the user.
ALLOWED = [
    "INSERT INTO orders (customer) VALUES ('ada')",  # bigserial: USAGE on its sequence comes with INSERT
    "SELECT id, customer, status FROM orders",
    "UPDATE orders SET status = 'paid' WHERE customer = 'ada'",
    "INSERT INTO order_audit (order_id, note) VALUES (1, 'paid')",
    "INSERT INTO processed_messages (message_id) VALUES ('m-1') ON CONFLICT DO NOTHING RETURNING 1",
    "DELETE FROM processed_messages WHERE message_id = 'm-1'",
]

#: What it does not: every other privilege, on declared tables and on the rest.
FORBIDDEN = [
    "UPDATE orders SET customer = 'eve'",
    "UPDATE orders SET created_at = now()",
    "DELETE FROM orders",
    "TRUNCATE orders",
    "SELECT * FROM order_audit",
    "DELETE FROM order_audit",
    "UPDATE processed_messages SET processed_at = now()",
    "SELECT * FROM job_runs",
    "INSERT INTO ws_connections (connection_id) VALUES ('c')",
    "SELECT * FROM schema_migrations",
    "SELECT * FROM runtime_schema_migrations",
    "CREATE TABLE orders_user_table (x int)",
]


@pytest.fixture
def orders_package(tmp_path: Path) -> Path:
    """A consumer's handler package, outside lambda_src: ``orders/`` with its own migrations."""
    package = tmp_path / "orders"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "0001_orders.sql").write_text(ORDERS_SQL)
    return package / "migrations"


@pytest.fixture
def user() -> str:
    """A fresh user name: roles belong to the whole server, which the session's databases share."""
    return f"orders_app_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rds_iam() -> Iterator[None]:
    """The ``rds_iam`` role as Aurora has it (a local PostgreSQL has none), for the test's duration."""
    with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
        created = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is None
        if created:
            conn.execute("CREATE ROLE rds_iam NOLOGIN")
    yield
    if created:
        with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
            conn.execute("DROP ROLE rds_iam")


def login_as(dsn: str, user: str) -> psycopg.Connection:
    """A session logged in as ``user`` (not SET ROLE: the login itself is part of what is tested)."""
    parts = urlsplit(dsn)
    netloc = f"{user}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return psycopg.connect(urlunsplit(parts._replace(netloc=netloc)), autocommit=True)


def state(dsn: str, user: str) -> dict[str, object]:
    """Everything the runner may change: records, the role, its memberships, every ACL of schema public."""
    with psycopg.connect(dsn) as conn:
        return {
            "app": conn.execute("SELECT version, applied_at FROM schema_migrations ORDER BY 1").fetchall(),
            "runtime": conn.execute("SELECT version, applied_at FROM runtime_schema_migrations ORDER BY 1").fetchall(),
            "role": conn.execute("SELECT oid, rolcanlogin FROM pg_roles WHERE rolname = %s", (user,)).fetchall(),
            "members": conn.execute("SELECT roleid::regrole::text FROM pg_auth_members m JOIN pg_roles r "
                                    "ON r.oid = m.member WHERE r.rolname = %s ORDER BY 1", (user,)).fetchall(),
            "acl": conn.execute("SELECT relname, coalesce(relacl::text[], '{}') FROM pg_class WHERE relnamespace = "
                                "'public'::regnamespace ORDER BY 1").fetchall(),
            "columns": conn.execute("SELECT attrelid::regclass::text, attname, attacl::text[] FROM pg_attribute "
                                    "WHERE attacl IS NOT NULL ORDER BY 1, 2").fetchall(),
            "database": conn.execute("SELECT datacl::text[] FROM pg_database WHERE datname = current_database()").fetchall(),
            "schema": conn.execute("SELECT nspacl::text[] FROM pg_namespace WHERE nspname = 'public'").fetchall(),
        }


def test_the_consumers_user_exists_with_rds_iam_before_its_migrations_run(
        orders_package: Path, user: str, rds_iam: None) -> None:
    # GIVEN a consumer migration that grants to its user, as an app's migrations may
    (orders_package / "0002_grant.sql").write_text(f"GRANT SELECT ON orders TO {user};")
    with pg.fresh_database("anyapp") as dsn:
        # WHEN the runner migrates with the user granted through grant_connect
        applied = runner.migrate(dsn, directory=orders_package, users={user: DECLARED})
        # THEN the user existed before the app's migrations (0002 would fail otherwise) and logs in with IAM
        assert applied == ["0001", "0002"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT rolcanlogin, pg_has_role(rolname, 'rds_iam', 'MEMBER') FROM pg_roles "
                                "WHERE rolname = %s", (user,)).fetchone() == (True, True)
        with login_as(dsn, user) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (user,)


def test_a_local_postgresql_has_no_rds_iam_and_the_user_still_logs_in(orders_package: Path, user: str) -> None:
    with pg.fresh_database("anyapp") as dsn:
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() is None
        runner.migrate(dsn, directory=orders_package, users={user: None})
        with login_as(dsn, user) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (user,)


def test_the_runtimes_own_tables_exist_for_an_app_that_never_creates_them(orders_package: Path) -> None:
    with pg.fresh_database("anyapp") as dsn:
        runner.migrate(dsn, directory=orders_package)
        with psycopg.connect(dsn) as conn:
            for table in RUNTIME_TABLES:
                assert conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() == (table,)
            # AND their versions are recorded apart from the app's, which start at 0001 too
            assert conn.execute("SELECT version FROM runtime_schema_migrations").fetchall() == [("0001",)]
            assert conn.execute("SELECT version FROM schema_migrations").fetchall() == [("0001",)]


def test_the_batch_processor_works_on_the_consumers_database_as_its_user(
        orders_package: Path, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a consumer's database migrated by the runner, the consumer's function connected as its user
    from lambda_src.batch import BatchProcessor
    from lambda_src.db import connection

    with pg.fresh_database("anyapp") as dsn:
        runner.migrate(dsn, directory=orders_package, users={user: DECLARED})
        parts = urlsplit(dsn)
        monkeypatch.setenv("DATABASE_URL", urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}")))
        config.reload()
        connection.reset()
        try:
            processor = BatchProcessor(lambda tx, message, message_id: tx.execute(
                "INSERT INTO orders (customer) VALUES (%s)", (message["customer"],)))
            # WHEN a message arrives twice THEN its work is done once
            assert processor.process_record({"body": '{"customer": "ada"}'}, "m-1") is True
            assert processor.process_record({"body": '{"customer": "ada"}'}, "m-1") is False
        finally:
            connection.reset()
            monkeypatch.undo()
            config.reload()
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM orders").fetchone() == (1,)


@pytest.fixture
def migrated_as_declared(orders_package: Path, user: str) -> Iterator[str]:
    with pg.fresh_database("anyapp") as dsn:
        runner.migrate(dsn, directory=orders_package, users={user: DECLARED})
        yield dsn


def test_the_user_can_do_what_is_declared(migrated_as_declared: str, user: str) -> None:
    with login_as(migrated_as_declared, user) as conn:
        for statement in ALLOWED:
            conn.execute(statement)


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_user_can_do_nothing_else(migrated_as_declared: str, user: str, statement: str) -> None:
    with login_as(migrated_as_declared, user) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)


def test_a_second_run_changes_nothing(orders_package: Path, user: str, rds_iam: None) -> None:
    with pg.fresh_database("anyapp") as dsn:
        runner.migrate(dsn, directory=orders_package, users={user: DECLARED})
        before = state(dsn, user)
        assert runner.migrate(dsn, directory=orders_package, users={user: DECLARED}) == []
        after = state(dsn, user)
        assert {k: sorted(map(str, v)) for k, v in after.items()} == {k: sorted(map(str, v)) for k, v in before.items()}


def test_concurrent_runs_create_the_user_and_apply_each_migration_once(orders_package: Path, user: str) -> None:
    with pg.fresh_database("anyapp") as dsn:
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(runner.migrate(dsn, directory=orders_package, users={user: DECLARED}))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
        threads = [threading.Thread(target=run) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert sorted(v for result in results for v in result) == ["0001"]
        with login_as(dsn, user) as conn:
            conn.execute("INSERT INTO orders (customer) VALUES ('ada')")


def test_a_privilege_no_longer_declared_is_revoked(orders_package: Path, user: str) -> None:
    with pg.fresh_database("anyapp") as dsn:
        runner.migrate(dsn, directory=orders_package, users={user: {"orders": ["SELECT", "DELETE"]}})
        with login_as(dsn, user) as conn:
            conn.execute("DELETE FROM orders")
        # WHEN the next deployment declares SELECT only THEN DELETE is gone
        runner.migrate(dsn, directory=orders_package, users={user: {"orders": ["SELECT"]}})
        with login_as(dsn, user) as conn:
            conn.execute("SELECT * FROM orders")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM orders")


def test_a_user_declared_without_privileges_keeps_what_the_migrations_grant(orders_package: Path, user: str) -> None:
    # GIVEN a migration granting the app's user (app.db_user) on its table, and no declared privileges
    (orders_package / "0002_grant.sql").write_text(
        "DO $$ BEGIN EXECUTE format('GRANT SELECT ON orders TO %I', current_setting('app.db_user')); END $$;")
    with pg.fresh_database("anyapp") as dsn:
        for _ in range(2):  # a second deployment must not take it away
            runner.migrate(dsn, directory=orders_package, app_user=user, users={user: None})
        with login_as(dsn, user) as conn:
            conn.execute("SELECT * FROM orders")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM processed_messages")


def test_privileges_on_a_table_no_migration_creates_fail_the_run_naming_it(orders_package: Path, user: str) -> None:
    with pg.fresh_database("anyapp") as dsn:
        with pytest.raises(RuntimeError, match=r"privileges on ordres, which no migration creates"):
            runner.migrate(dsn, directory=orders_package, users={user: {"ordres": ["SELECT"]}})


@pytest.mark.parametrize("declared", [
    {"orders_app": {"orders": ["SELECT; DROP TABLE orders"]}},
    {"orders_app": {"orders": ["ALL"]}},
    {"orders_app": {"orders": ["UPDATE (status); --"]}},
    {"orders_app": {"orders; DROP TABLE x": ["SELECT"]}},
    {"orders_app": {"schema_migrations": ["SELECT"]}},
    {"Orders-App": None},
    {"orders_app": {"orders": "SELECT"}},
    ["orders_app"],
])
def test_a_bad_declaration_fails_before_anything_changes(orders_package: Path, declared: object) -> None:
    with pg.fresh_database("anyapp") as dsn:
        with pytest.raises(ValueError):
            runner.migrate(dsn, directory=orders_package, users=json.dumps(declared))
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_the_deploy_time_handler_reads_the_directory_and_the_users_from_the_environment(
        orders_package: Path, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the environment DatabaseMigrations(migrations_dir=...) gives the runtime's handler
    with pg.fresh_database("anyapp") as dsn:
        monkeypatch.setenv("DATABASE_URL", dsn)
        monkeypatch.setenv("DB_MIGRATIONS_DIR", str(orders_package))
        monkeypatch.setenv("DB_MIGRATION_USERS", json.dumps({user: DECLARED}))
        # WHEN the trigger invokes it
        assert runner.handler({}, None) == {"applied": ["0001"]}
        # THEN the consumer's user may do what it was declared
        with login_as(dsn, user) as conn:
            conn.execute("INSERT INTO orders (customer) VALUES ('ada')")


def test_the_deploy_time_handler_without_a_directory_fails_saying_what_sets_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql:///never")
    monkeypatch.delenv("DB_MIGRATIONS_DIR", raising=False)
    with pytest.raises(RuntimeError, match=r"DB_MIGRATIONS_DIR is not set.*migrations_dir"):
        runner.handler({}, None)


def test_a_database_migrated_before_the_runtime_owned_its_tables_keeps_them_and_their_rows() -> None:
    # GIVEN the example's database as deployed before: the runtime's tables made by the example's
    # migrations, holding rows, and no record of runtime migrations
    with pg.fresh_database("anyapp") as dsn:
        example.migrate(dsn)
        with psycopg.connect(dsn) as conn:
            conn.execute("DROP TABLE runtime_schema_migrations")
            conn.execute("INSERT INTO processed_messages (message_id) VALUES ('m-old')")
        # WHEN the new runner migrates it
        assert example.migrate(dsn) == []
        # THEN the runtime's migration applied over the existing tables, which kept their rows
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT version FROM runtime_schema_migrations").fetchall() == [("0001",)]
            assert conn.execute("SELECT message_id FROM processed_messages").fetchall() == [("m-old",)]
