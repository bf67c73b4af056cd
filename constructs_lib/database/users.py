"""The database users functions connect as, and the privileges declared for them: what the migration
runner (``lambda_src.migrate``) ensures before and after the app's migrations.

The declaration travels to the runner as ``DB_MIGRATION_USERS`` (JSON ``{user: {table: [privilege, ...]}
| null}``). The grammar checked here at synth is the runner's (``lambda_src.migrate.parse_users``), which
checks it again before any SQL; ``tests/constructs/test_database_users.py`` holds the two to the same
answers. The construct library does not depend on the runtime, so each carries its own copy.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from ..errors import InvalidPropError

#: A table or column name: a lowercase PostgreSQL identifier.
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: A privilege on a table: SELECT/INSERT/UPDATE/REFERENCES, optionally on named columns, or DELETE/TRUNCATE/TRIGGER.
PRIVILEGE = re.compile(r"^(?:(SELECT|INSERT|UPDATE|REFERENCES)(?: \(([a-z_][a-z0-9_]{0,62}(?:, [a-z_][a-z0-9_]{0,62})*)\))?"
                       r"|(DELETE|TRUNCATE|TRIGGER))$")
#: The runner's records of applied migrations: no app user is granted anything on them.
MIGRATION_RECORDS = ("schema_migrations", "runtime_schema_migrations")

#: Declared privileges of one user: table (schema ``public``) → privileges; None: its grants are the migrations'.
Privileges = dict[str, tuple[str, ...]]

_ALLOWED = ("a mapping of tables (lowercase identifiers in schema public, not " + ", ".join(MIGRATION_RECORDS)
            + ") to privileges: SELECT, INSERT, UPDATE or REFERENCES, optionally on columns ('UPDATE (status, "
            "updated_at)'), DELETE, TRUNCATE, TRIGGER; or None to leave the user's table privileges to the "
            "migrations")


def check_privileges(where: str, privileges: Mapping[str, Sequence[str]] | None) -> Privileges | None:
    """``privileges`` as the runner takes them, or InvalidPropError naming ``privileges``."""
    if privileges is None:
        return None
    if not isinstance(privileges, Mapping):
        raise InvalidPropError(where, "privileges", privileges, _ALLOWED)
    checked: Privileges = {}
    for table, granted in privileges.items():
        if not isinstance(table, str) or not IDENTIFIER.match(table) or table in MIGRATION_RECORDS:
            raise InvalidPropError(where, "privileges", table, _ALLOWED)
        if isinstance(granted, str) or not isinstance(granted, Sequence) or not granted:
            raise InvalidPropError(where, "privileges", {table: granted}, _ALLOWED + " (a non-empty list per table)")
        for privilege in granted:
            if not isinstance(privilege, str) or not PRIVILEGE.match(privilege):
                raise InvalidPropError(where, "privileges", privilege, _ALLOWED)
        checked[table] = tuple(granted)
    return checked


def declare(where: str, users: dict[str, Privileges | None], user: str, privileges: Privileges | None) -> None:
    """Record ``user`` (granted through ``grant_connect``) with its privileges, once: a user granted to
    several functions must be declared the same way each time it is declared (None declares nothing)."""
    known = users.get(user)
    if privileges is not None and known is not None and known != privileges:
        raise InvalidPropError(where, "privileges", privileges,
                               f"the privileges {user} was already declared with ({known}): a database user has one "
                               "set of privileges, whichever function it connects for; give the other function "
                               "a db_user of its own")
    users[user] = privileges if privileges is not None else known


def as_environment(users: Mapping[str, Privileges | None]) -> str:
    """``DB_MIGRATION_USERS``: compact JSON, sorted, so the same users give the same function configuration."""
    return json.dumps({user: None if privileges is None else {table: list(granted) for table, granted in privileges.items()}
                       for user, privileges in sorted(users.items())}, separators=(",", ":"), sort_keys=True)
