"""Configuration, read from the environment once per container."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Config:
    """Everything the handlers read from the environment.

    ``database_url`` (password auth: local development and tests) overrides IAM auth, which uses
    ``db_host``/``db_port``/``db_name``/``db_user`` and the function's role credentials.
    """

    database_url: str | None
    db_host: str | None
    db_port: int
    db_name: str
    db_user: str
    region: str
    connect_timeout_seconds: float
    max_body_bytes: int
    queue_url: str | None
    strip_prefixes: tuple[str, ...]


@cache
def load() -> Config:
    """The configuration of this container (cached: environment changes need :func:`reload`)."""
    env = os.environ
    return Config(
        database_url=env.get("DATABASE_URL") or None,
        db_host=env.get("DB_HOST") or None,
        db_port=int(env.get("DB_PORT", "5432")),
        db_name=env.get("DB_NAME", "app"),
        db_user=env.get("DB_USER", "app_user"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "us-east-1"),
        connect_timeout_seconds=float(env.get("DB_CONNECT_TIMEOUT", "3")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", "1048576")),
        queue_url=env.get("QUEUE_URL") or None,
        strip_prefixes=tuple(p for p in env.get("BASE_PATHS", "").split(",") if p.strip()),
    )


def reload() -> Config:
    """Forget the cached configuration and read the environment again (tests, local server)."""
    load.cache_clear()
    return load()
