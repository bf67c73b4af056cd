"""Versioned SQL migrations: applied in order, each in its own transaction, recorded in a table.

Safe to re-run (applied versions are skipped) and safe when two runs start at once (a session
advisory lock serialises them). The runner knows no application: each gives its migrations
directory. At deploy time a CloudFormation trigger invokes :data:`handler` (the directory in
``DB_MIGRATIONS_DIR``, which ``DatabaseMigrations(migrations_dir=...)`` ships and sets) or a
``handler = handler_for(directory)`` of the app's own; an exception fails the trigger and so the
deployment, with the message in the stack events. Locally: ``python -m lambda_src.migrate
DIRECTORY`` (``DATABASE_URL``).

One run, under the lock:

1. every database user the app connects as (:func:`parse_users`, ``DB_MIGRATION_USERS``, which
   ``DatabaseMigrations`` fills from the database's ``grant_connect`` calls) exists and can log in
   with IAM: ``LOGIN``, ``GRANT rds_iam`` (where the role exists: on Aurora, not on a local
   PostgreSQL), ``CONNECT`` on the database and ``USAGE`` on schema ``public``;
2. the runtime's own migrations (:data:`RUNTIME_MIGRATIONS`: the tables of the batch processor,
   the schedule helper and the WebSocket app), recorded in ``runtime_schema_migrations`` so their
   versions never collide with the app's;
3. the app's migrations, recorded in ``schema_migrations``;
4. each user declared with privileges gets exactly those on the tables of schema ``public``
   (everything else on them revoked); a user declared without privileges keeps what the app's
   migrations grant it.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from . import config
from .config import Config
from .json_codec import decode
from .log import logger, redacted_errors

from collections.abc import Mapping, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Arbitrary constant identifying the migration lock among advisory locks.
LOCK_KEY = 0x5EED_DB01
_VERSION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
#: The runtime's own migrations, shipped in the package, and the table recording them.
RUNTIME_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
RUNTIME_TABLE = "runtime_schema_migrations"
#: The table recording the app's migrations.
APP_TABLE = "schema_migrations"
#: A database user, table or column name: a lowercase PostgreSQL identifier.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: A privilege on a table: ``SELECT``/``INSERT``/``UPDATE``/``REFERENCES``, optionally on named
#: columns (``UPDATE (status, updated_at)``), or ``DELETE``/``TRUNCATE``/``TRIGGER``.
_PRIVILEGE = re.compile(r"^(?:(SELECT|INSERT|UPDATE|REFERENCES)(?: \(([a-z_][a-z0-9_]{0,62}(?:, [a-z_][a-z0-9_]{0,62})*)\))?"
                        r"|(DELETE|TRUNCATE|TRIGGER))$")

#: Declared privileges of one user: table → privileges, or None (its grants are the migrations' own).
Privileges = dict[str, tuple[str, ...]]


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


def parse_users(declared: str | Mapping[str, Mapping[str, Sequence[str]] | None] | None,
                ) -> dict[str, Privileges | None]:
    """The users to ensure, from ``DB_MIGRATION_USERS`` (JSON) or a mapping, checked before any SQL.

    ``{"orders_app": {"orders": ["SELECT", "INSERT", "UPDATE (status)"]}, "app_user": null}``:
    each user name maps to its privileges (table of schema ``public`` → privileges), or to null
    when the app's migrations grant its privileges. Empty or None: no user.
    """
    if declared is None or declared == "":
        return {}
    raw = decode(declared) if isinstance(declared, str) else declared
    if not isinstance(raw, Mapping):
        raise ValueError("DB_MIGRATION_USERS must be a JSON object: user → {table: [privilege, ...]} or null")
    users: dict[str, Privileges | None] = {}
    for user, tables in raw.items():
        if not isinstance(user, str) or not _IDENTIFIER.match(user):
            raise ValueError(f"database user {user!r} is not a lowercase PostgreSQL identifier")
        if tables is None:
            users[user] = None
            continue
        if not isinstance(tables, Mapping):
            raise ValueError(f"privileges of {user!r} must map tables to lists of privileges")
        privileges: Privileges = {}
        for table, granted in tables.items():
            if not isinstance(table, str) or not _IDENTIFIER.match(table) or table in (APP_TABLE, RUNTIME_TABLE):
                raise ValueError(f"privileges of {user!r}: table {table!r} is not a lowercase PostgreSQL identifier "
                                 f"of the app's (the migration records {APP_TABLE}, {RUNTIME_TABLE} are not)")
            if isinstance(granted, str) or not isinstance(granted, Sequence) or not granted:
                raise ValueError(f"privileges of {user!r} on {table!r} must be a non-empty list")
            for privilege in granted:
                if not isinstance(privilege, str) or not _PRIVILEGE.match(privilege):
                    raise ValueError(f"privileges of {user!r} on {table!r}: {privilege!r} is not one of SELECT, "
                                     "INSERT, UPDATE, REFERENCES (optionally on columns: 'UPDATE (a, b)'), DELETE, "
                                     "TRUNCATE, TRIGGER")
            privileges[table] = tuple(granted)
        users[user] = privileges
    return users


def migrate(dsn: str | None = None, *, directory: Path, app_user: str = "app_user",
            users: str | Mapping[str, Mapping[str, Sequence[str]] | None] | None = None,
            connect_kwargs: dict[str, Any] | None = None) -> list[str]:
    """Ensure the users, apply pending runtime then app migrations, grant the declared privileges
    (see the module docstring); return the app's versions applied by this run (empty: nothing to do).

    :param directory: the app's migrations, ``NNNN_description.sql``. Required.
    :param app_user: given to the app's migrations as ``current_setting('app.db_user')``. Default: ``app_user``.
    :param users: the users to ensure, as :func:`parse_users` reads them. Default: none.
    """
    import psycopg

    wanted = parse_users(users)  # a bad declaration fails before anything changes
    app_files = migration_files(directory)
    applied_now: list[str] = []
    with psycopg.connect(dsn or "", autocommit=True, **(connect_kwargs or {})) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            for user in wanted:
                _ensure_login(connection, user)
            runtime = _apply(connection, RUNTIME_TABLE, migration_files(RUNTIME_MIGRATIONS), app_user)
            if runtime:
                logger.info("runtime migrations applied", extra={"applied": runtime})
            applied_now = _apply(connection, APP_TABLE, app_files, app_user)
            declared = {user: privileges for user, privileges in wanted.items() if privileges is not None}
            if declared:
                with connection.transaction():
                    for user, privileges in declared.items():
                        _grant_exactly(connection, user, privileges)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return applied_now


def _apply(connection: Any, table: str, files: list[tuple[str, Path]], app_user: str) -> list[str]:
    """Apply the ``files`` not yet recorded in ``table``, each in its own transaction; their versions."""
    from psycopg import sql

    record = sql.Identifier(table)
    connection.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (version text PRIMARY KEY, name text NOT NULL, "
                               "applied_at timestamptz NOT NULL DEFAULT now())").format(record))
    done = {row[0] for row in connection.execute(sql.SQL("SELECT version FROM {}").format(record))}
    applied: list[str] = []
    for version, path in files:
        if version in done:
            continue
        with connection.transaction():
            connection.execute("SELECT set_config('app.db_user', %s, true)", (app_user,))
            connection.execute(path.read_text())
            connection.execute(sql.SQL("INSERT INTO {} (version, name) VALUES (%s, %s)").format(record),
                               (version, path.name))
        logger.info("migration applied", extra={"version": version, "file": path.name, "record": table})
        applied.append(version)
    return applied


def _ensure_login(connection: Any, user: str) -> None:
    """``user`` exists, may log in, is granted ``rds_iam`` (where that role exists), ``CONNECT`` on
    this database and ``USAGE`` on schema ``public``. Changes nothing that is already so."""
    import psycopg
    from psycopg import sql

    role = sql.Identifier(user)
    with connection.transaction():
        row = connection.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        if row is None:
            try:
                with connection.transaction():
                    connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(role))
                logger.info("database user created", extra={"user": user})
            except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
                pass  # roles belong to the cluster: a run on another database created it meanwhile
        elif not row[0]:
            connection.execute(sql.SQL("ALTER ROLE {} LOGIN").format(role))
        iam = connection.execute("SELECT pg_has_role(%s, 'rds_iam', 'MEMBER') FROM pg_roles WHERE rolname = 'rds_iam'",
                                 (user,)).fetchone()
        if iam is not None and not iam[0]:  # Aurora: IAM login; a local PostgreSQL has no rds_iam
            connection.execute(sql.SQL("GRANT rds_iam TO {}").format(role))
        connection.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
            sql.Identifier(connection.info.dbname), role))
        connection.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))


def _grant_exactly(connection: Any, user: str, privileges: Privileges) -> None:
    """``user`` holds exactly ``privileges`` on the tables of schema ``public``: every other table
    and sequence privilege revoked, each declared one granted (with ``INSERT``, ``USAGE`` on the
    sequences of the table's serial columns). A table no migration created is an error."""
    from psycopg import sql

    role = sql.Identifier(user)
    missing = [table for table in privileges
               if connection.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone() == (None,)]
    if missing:
        raise RuntimeError(f"database user {user} is declared privileges on {', '.join(missing)}, which no "
                           "migration creates (in schema public): create the table or fix grant_connect(privileges=)")
    connection.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role))
    connection.execute(sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {}").format(role))
    for table, granted in privileges.items():
        target = sql.Identifier("public", table)
        for privilege in granted:
            match = _PRIVILEGE.match(privilege)
            assert match is not None  # parse_users checked it
            action = sql.SQL(match.group(1) or match.group(3))
            if match.group(2):
                columns = sql.SQL(", ").join(sql.Identifier(c) for c in match.group(2).split(", "))
                action = sql.SQL("{} ({})").format(action, columns)
            connection.execute(sql.SQL("GRANT {} ON TABLE {} TO {}").format(action, target, role))
        if any(p.startswith("INSERT") for p in granted):
            for (sequence,) in connection.execute(
                    "SELECT s.oid::regclass::text FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
                    "WHERE d.refobjid = %s::regclass AND d.deptype = 'a' AND s.relkind = 'S'",
                    (f"public.{table}",)).fetchall():
                connection.execute(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(sequence), role))


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


def run(directory: Path | None = None) -> dict[str, Any]:
    """Migrate the database this function's environment names with the migrations in ``directory``
    (default: ``DB_MIGRATIONS_DIR``), ensuring the users of ``DB_MIGRATION_USERS``."""
    settings = config.read_now()  # deploy time: read now, whatever an earlier invocation cached
    if directory is None:
        if not settings.migrations_dir:
            raise RuntimeError("DB_MIGRATIONS_DIR is not set: no migrations to apply "
                               "(DatabaseMigrations(migrations_dir=...) sets it)")
        directory = Path(settings.migrations_dir)
    users = parse_users(settings.migration_users)
    dsn, kwargs = admin_connection_settings(settings)
    applied = migrate(dsn, directory=directory, app_user=settings.db_user, users=users, connect_kwargs=kwargs)
    logger.info("migrations finished", extra={"applied": applied})
    return {"applied": applied}


def handler_for(directory: Path | str) -> Callable[..., dict[str, Any]]:
    """The deploy-time entry point for the migrations in ``directory``: ``handler = handler_for(path)``.
    It raises (failing the deployment) when a migration fails."""
    path = Path(directory)

    def handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
        return run(path)
    return redacted_errors(handler)


def _handler(event: dict[str, Any] | None = None, context: Any = None) -> dict[str, Any]:
    return run()


#: The deploy-time entry point of ``DatabaseMigrations(migrations_dir=...)``: the migrations in
#: ``DB_MIGRATIONS_DIR``, the users in ``DB_MIGRATION_USERS``. It raises (failing the deployment)
#: when a migration fails.
handler = redacted_errors(_handler)


def main(argv: list[str] | None = None) -> int:
    """``python -m lambda_src.migrate DIRECTORY``: migrate the database in ``DATABASE_URL`` (and ensure
    the users of ``DB_MIGRATION_USERS``, when set)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lambda_src.migrate MIGRATIONS_DIRECTORY", file=sys.stderr)
        return 2
    settings = config.read_now()
    if not settings.database_url:
        print("DATABASE_URL is not set", file=sys.stderr)
        return 2
    applied = migrate(settings.database_url, directory=Path(args[0]), app_user=settings.db_user,
                      users=settings.migration_users)
    print(f"applied: {', '.join(applied) if applied else 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
