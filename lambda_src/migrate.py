"""Versioned SQL migrations: applied in order, each in its own transaction, recorded in a table.

Safe to re-run (applied versions are skipped) and safe when two runs start at once (a session
advisory lock serialises them). The runner knows no application: each gives its migrations
directory, at deploy time through ``handler = handler_for(directory)`` in its own module, which a
CloudFormation trigger invokes (an exception fails the trigger and so the deployment, with the
message in the stack events), and locally with ``python -m lambda_src.migrate DIRECTORY``
(``DATABASE_URL``).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from .config import Config
from .json_codec import decode
from .log import logger, redacted_errors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Arbitrary constant identifying the migration lock among advisory locks.
LOCK_KEY = 0x5EED_DB01
_VERSION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migration_files(directory: Path) -> list[tuple[str, Path]]:
    """``(version, path)`` of every migration, in order; misnamed files are an error."""
    files = []
    for path in sorted(directory.glob("*.sql")):
        match = _VERSION.match(path.name)
        if not match:
            raise ValueError(f"migration file {path.name!r} must be named NNNN_description.sql")
        files.append((match.group(1), path))
    versions = [version for version, _ in files]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return files


def migrate(dsn: str | None = None, *, directory: Path, app_user: str = "app_user",
            connect_kwargs: dict[str, Any] | None = None) -> list[str]:
    """Apply pending migrations; return the versions applied by this run (empty: nothing to do)."""
    import psycopg

    applied_now: list[str] = []
    with psycopg.connect(dsn or "", autocommit=True, **(connect_kwargs or {})) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "version text PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            done = {row[0] for row in connection.execute("SELECT version FROM schema_migrations")}
            for version, path in migration_files(directory):
                if version in done:
                    continue
                with connection.transaction():
                    connection.execute("SELECT set_config('app.db_user', %s, true)", (app_user,))
                    connection.execute(path.read_text())
                    connection.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                                       (version, path.name))
                logger.info("migration applied", extra={"version": version, "file": path.name})
                applied_now.append(version)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


def admin_connection_settings(settings: Config, fetch_secret: Callable[[str], str] | None = None,
                              ) -> tuple[str | None, dict[str, Any]]:
    """``(dsn, connect kwargs)`` of the admin connection.

    Local: ``DATABASE_URL``, as given. Deployed: the admin secret (Secrets Manager) and the cluster
    endpoint (``DB_ADMIN_HOST``), always over verified TLS (``sslmode=verify-full``). Aurora's
    certificate chains to the RDS certificate authorities, which no operating-system bundle holds:
    ``DB_ADMIN_SSL_ROOT_CERT`` names a PEM bundle of them shipped with the function
    (``DatabaseMigrations`` puts it in a layer). Without it, or when the file is missing, this
    raises before the secret is read: the admin password never goes to an unverified server.
    """
    if settings.database_url:
        return settings.database_url, {}
    if not settings.db_admin_secret_arn and not settings.db_admin_iam:
        raise RuntimeError("neither DATABASE_URL nor DB_ADMIN_SECRET_ARN (nor DB_ADMIN_IAM) is set: nothing to migrate")
    root_cert = settings.db_admin_ssl_root_cert
    if not root_cert:
        raise RuntimeError("DB_ADMIN_SSL_ROOT_CERT is not set: the cluster's TLS certificate cannot be verified, "
                           "so the migrations do not connect (DatabaseMigrations sets it to the RDS CA bundle it ships)")
    if not os.path.isfile(root_cert):
        raise RuntimeError(f"DB_ADMIN_SSL_ROOT_CERT={root_cert} does not exist: the cluster's TLS certificate cannot "
                           "be verified, so the migrations do not connect (is the CA bundle layer attached?)")
    tls = {"connect_timeout": 10, "application_name": "lambda_src.migrate", "sslmode": "verify-full",
           "sslrootcert": root_cert}
    if settings.db_admin_iam:  # an express cluster: the master user logs in with an IAM token, no secret
        from .db.iam_token import TokenCache
        from .aws import Credentials

        if not settings.db_admin_host or not settings.db_admin_user:
            raise RuntimeError("DB_ADMIN_IAM is set without DB_ADMIN_HOST and DB_ADMIN_USER: nothing to log in to")
        token = TokenCache().get(host=settings.db_admin_host, port=settings.db_port, user=settings.db_admin_user,
                                 region=settings.region, credentials=Credentials.from_environment())
        return None, {"host": settings.db_admin_host, "port": settings.db_port, "dbname": settings.db_name,
                      "user": settings.db_admin_user, "password": token, **tls}
    arn = settings.db_admin_secret_arn
    secret = decode(fetch_secret(arn) if fetch_secret else _fetch_secret(arn, settings.region))
    host = settings.db_admin_host or secret.get("host")
    if not host:
        raise RuntimeError("DB_ADMIN_HOST is not set and the admin secret has no host")
    return None, {"host": host, "port": settings.db_port, "dbname": settings.db_name, "user": secret["username"],
                  "password": secret["password"], **tls}


def _fetch_secret(arn: str, region: str) -> str:
    import boto3  # only here: deploy-time, never on the request path

    return boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=arn)["SecretString"]


def run(directory: Path) -> dict[str, Any]:
    """Migrate the database this function's environment names with the migrations in ``directory``."""
    settings = Config(os.environ)  # deploy time: read now, whatever an earlier invocation cached
    dsn, kwargs = admin_connection_settings(settings)
    applied = migrate(dsn, directory=directory, app_user=settings.db_user, connect_kwargs=kwargs)
    logger.info("migrations finished", extra={"applied": applied})
    return {"applied": applied}


def handler_for(directory: Path | str) -> Callable[..., dict[str, Any]]:
    """The deploy-time entry point for the migrations in ``directory``: ``handler = handler_for(path)``.
    It raises (failing the deployment) when a migration fails."""
    path = Path(directory)

    def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
        return run(path)
    return redacted_errors(handler)


def main(argv: list[str] | None = None) -> int:
    """``python -m lambda_src.migrate DIRECTORY``: migrate the database in ``DATABASE_URL``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lambda_src.migrate MIGRATIONS_DIRECTORY", file=sys.stderr)
        return 2
    if not os.environ.get("DATABASE_URL"):
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    applied = migrate(os.environ["DATABASE_URL"], directory=Path(args[0]),
                      app_user=os.environ.get("DB_USER", "app_user"))
    print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
