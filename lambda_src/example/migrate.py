"""The example's migrations locally: ``python -m example.migrate`` from the bundle, or
``python -m lambda_src.example.migrate`` in this checkout (``DATABASE_URL``). At deploy time the stack
runs the runtime's ``lambda_src.migrate.handler`` with these migrations (``DB_MIGRATIONS_DIR``); this
module's ``handler`` does the same with the migrations beside it."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from lambda_src import migrate as runner

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

handler = runner.handler_for(MIGRATIONS)


def migrate(dsn: str | None = None, **kwargs: Any) -> list[str]:
    """:func:`lambda_src.migrate.migrate` with the example's migrations (``directory`` overrides them)."""
    kwargs.setdefault("directory", MIGRATIONS)
    return runner.migrate(dsn, **kwargs)


if __name__ == "__main__":
    os.environ.setdefault("DB_USER", "app_user")
    sys.exit(runner.main([str(MIGRATIONS)]))
