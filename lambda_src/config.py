"""Configuration, read from the environment once per container."""
from __future__ import annotations

import os


class Config:
    """Everything the handlers read from the environment.

    ``database_url`` (password auth: local development and tests) overrides IAM auth, which uses
    ``db_host``/``db_port``/``db_name``/``db_user`` and the function's role credentials.
    """

    __slots__ = ("database_url", "db_host", "db_port", "db_name", "db_user", "region", "connect_timeout_seconds",
                 "max_body_bytes", "queue_url", "strip_prefixes")

    def __init__(self, env: os._Environ[str] | dict[str, str]) -> None:
        self.database_url: str | None = env.get("DATABASE_URL") or None
        self.db_host: str | None = env.get("DB_HOST") or None
        self.db_port = int(env.get("DB_PORT", "5432"))
        self.db_name = env.get("DB_NAME", "app")
        self.db_user = env.get("DB_USER", "app_user")
        self.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "us-east-1")
        self.connect_timeout_seconds = float(env.get("DB_CONNECT_TIMEOUT", "3"))
        self.max_body_bytes = int(env.get("MAX_BODY_BYTES", "1048576"))
        self.queue_url: str | None = env.get("QUEUE_URL") or None
        self.strip_prefixes = tuple(p.strip() for p in env.get("BASE_PATHS", "").split(",") if p.strip())


_loaded: Config | None = None


def load() -> Config:
    """The configuration of this container, read on first use (environment changes need :func:`reload`)."""
    global _loaded
    if _loaded is None:
        _loaded = Config(os.environ)
    return _loaded


def reload() -> Config:
    """Forget the cached configuration and read the environment again (tests, local server)."""
    global _loaded
    _loaded = None
    return load()
