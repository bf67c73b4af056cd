"""The example's migrations: ``lambda_src.example.migrate.handler`` at deploy time, and
``python -m lambda_src.example.migrate`` locally (``DATABASE_URL``)."""
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
