"""Migrations against a real PostgreSQL: in order, recorded, re-runnable, concurrent-safe, and at deploy."""
from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from lambda_src import migrate as runner
from lambda_src.example import migrate
from tests.lambda_src import pg


def applied(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def test_applies_all_in_order_and_creates_the_app_user() -> None:
    with pg.fresh_database("mig") as dsn:
        assert migrate.migrate(dsn, app_user="svc_user") == ["0001", "0002", "0003", "0004"]
        assert applied(dsn) == ["0001", "0002", "0003", "0004"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'svc_user'").fetchone() == (True,)
            assert conn.execute("SELECT has_table_privilege('svc_user', 'users', 'INSERT')").fetchone() == (True,)
            assert conn.execute("SELECT has_table_privilege('svc_user', 'schema_migrations', 'SELECT')").fetchone() == (False,)


def test_second_run_is_a_no_op() -> None:
    with pg.fresh_database("mig") as dsn:
        migrate.migrate(dsn)
        assert migrate.migrate(dsn) == []
        assert applied(dsn) == ["0001", "0002", "0003", "0004"]


def test_concurrent_runs_apply_each_migration_once() -> None:
    with pg.fresh_database("mig") as dsn:
        results: list[list[str]] = []
        threads = [threading.Thread(target=lambda: results.append(migrate.migrate(dsn))) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(v for result in results for v in result) == ["0001", "0002", "0003", "0004"]
        assert applied(dsn) == ["0001", "0002", "0003", "0004"]


def test_failed_migration_rolls_back_and_raises(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE b (x int); SELECT no_such_function();")
    with pg.fresh_database("mig") as dsn:
        with pytest.raises(psycopg.errors.UndefinedFunction):
            migrate.migrate(dsn, directory=tmp_path)
        assert applied(dsn) == ["0001"]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT to_regclass('b')").fetchone() == (None,)


def test_misnamed_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "create.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNNN_description.sql"):
        runner.migration_files(tmp_path)


def test_deploy_time_handler_migrates_as_the_trigger_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the environment the DatabaseMigrations construct gives the function (local DSN override)
    with pg.fresh_database("mig") as dsn:
        monkeypatch.setenv("DATABASE_URL", dsn)
        monkeypatch.setenv("DB_USER", "app_user")
        # WHEN the trigger invokes it (twice: a deployment with nothing new)
        assert migrate.handler({}, None) == {"applied": ["0001", "0002", "0003", "0004"]}
        assert migrate.handler({}, None) == {"applied": []}


def test_cli_migrates_database_url(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pg.fresh_database("mig") as dsn:
        monkeypatch.setenv("DATABASE_URL", dsn)
        assert runner.main([str(migrate.MIGRATIONS)]) == 0
        assert "applied: 0001, 0002, 0003, 0004" in capsys.readouterr().out


def test_express_the_master_user_migrates_with_an_iam_token(rds_proxy, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    # GIVEN what DatabaseMigrations gives the function for an ExpressDatabase: DB_ADMIN_IAM, the master
    # user and the cluster endpoint (here the stand-in, which accepts only a valid IAM token), no secret
    from urllib.parse import urlsplit

    from tests.lambda_src.conftest import CREDENTIALS

    with pg.fresh_database("migiam") as dsn:
        for key, value in {**CREDENTIALS, "DATABASE_URL": "", "DB_ADMIN_IAM": "true", "DB_ADMIN_HOST": rds_proxy.host,
                           "DB_ADMIN_USER": urlsplit(dsn).username or "postgres", "DB_PORT": str(rds_proxy.port),
                           "DB_NAME": urlsplit(dsn).path.lstrip("/"), "DB_ADMIN_SSL_ROOT_CERT": rds_proxy.ca_file,
                           "DB_USER": "app_user"}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("DB_ADMIN_SECRET_ARN", raising=False)
        before = len(rds_proxy.attempts)
        # WHEN the trigger invokes it THEN the migrations apply, through an IAM login the stand-in checked
        assert migrate.handler({}, None) == {"applied": ["0001", "0002", "0003", "0004"]}
        assert [a.user for a in rds_proxy.attempts[before:]] == [urlsplit(dsn).username or "postgres"]
