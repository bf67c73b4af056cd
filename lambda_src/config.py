"""Configuration, read from the environment once per container.

Every variable, with its meaning and default, is named in :mod:`lambda_src.environment`, the
contract the constructs write to; this is the only module of the runtime that reads them (the
execution role's credentials aside: :mod:`lambda_src.aws` reads those at each signature, so no
secret is held in a cached object).
"""
from __future__ import annotations

import os

from . import environment as var

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


class Config:
    """Everything the handlers read from the environment (see :mod:`lambda_src.environment`).

    ``database_url`` (password auth: local development and tests) overrides IAM auth, which uses
    ``db_host``/``db_port``/``db_name``/``db_user`` and the function's role credentials.
    """

    __slots__ = ("database_url", "db_host", "db_port", "db_name", "db_user", "db_on_pause", "region",
                 "connect_timeout_seconds", "transaction_timeout_seconds",
                 "max_body_bytes", "queue_url", "strip_prefixes", "ssl_root_cert", "ssl_cert_file", "log_level",
                 "lambda_log_format", "websocket_callback_url",
                 "db_admin_secret_arn", "db_admin_host", "db_admin_ssl_root_cert", "db_admin_iam", "db_admin_user",
                 "migrations_dir", "migration_users",
                 "deploy_target_version_arn", "smoke_method", "smoke_path", "smoke_expect_status",
                 "snap_start")

    def __init__(self, env: Mapping[str, str]) -> None:
        self.database_url: str | None = env.get(var.DATABASE_URL) or None
        self.db_host: str | None = env.get(var.DB_HOST) or None
        self.db_port = int(env.get(var.DB_PORT, "5432"))
        self.db_name = env.get(var.DB_NAME, "app")
        self.db_user = env.get(var.DB_USER, "app_user")
        #: ``wait``, ``unavailable``, or None when the database never pauses.
        self.db_on_pause: str | None = env.get(var.DB_ON_PAUSE) or None
        self.region = env.get(var.AWS_REGION) or env.get(var.AWS_DEFAULT_REGION, "us-east-1")
        self.connect_timeout_seconds = float(env.get(var.DB_CONNECT_TIMEOUT, "3"))
        #: The deadline of a transaction run without the invocation's remaining time.
        self.transaction_timeout_seconds = float(env.get(var.DB_TRANSACTION_TIMEOUT, "5"))
        self.max_body_bytes = int(env.get(var.MAX_BODY_BYTES, "1048576"))
        self.queue_url: str | None = env.get(var.QUEUE_URL) or None
        self.strip_prefixes = tuple(p.strip() for p in env.get(var.BASE_PATHS, "").split(",") if p.strip())
        #: CA bundle verifying the proxy's certificate; unset: found by :mod:`lambda_src.db.tls`.
        self.ssl_root_cert: str | None = env.get(var.DB_SSL_ROOT_CERT) or None
        #: OpenSSL's own bundle variable, which :mod:`lambda_src.db.tls` tries before the OS bundles.
        self.ssl_cert_file: str | None = env.get(var.SSL_CERT_FILE) or None
        self.log_level = (env.get(var.LOG_LEVEL) or "INFO").upper()
        #: Set by Lambda when it formats the logs itself (then no handler of our own is added).
        self.lambda_log_format: str | None = env.get(var.AWS_LAMBDA_LOG_FORMAT)
        #: The WebSocket stage's Management API; None: nothing to broadcast to.
        self.websocket_callback_url: str | None = env.get(var.WEBSOCKET_CALLBACK_URL) or None
        #: Set by Lambda: this init runs before a SnapStart snapshot.
        self.snap_start = env.get(var.AWS_LAMBDA_INITIALIZATION_TYPE) == "snap-start"
        # Deploy-time migrations only: the admin secret, the cluster endpoint and the CA bundle of
        # the RDS certificate authorities (Aurora's endpoints chain to them, not to a public root).
        self.db_admin_secret_arn: str | None = env.get(var.DB_ADMIN_SECRET_ARN) or None
        self.db_admin_host: str | None = env.get(var.DB_ADMIN_HOST) or None
        self.db_admin_ssl_root_cert: str | None = env.get(var.DB_ADMIN_SSL_ROOT_CERT) or None
        #: Express clusters: the master user logs in with an IAM token too (no secret).
        self.db_admin_iam = (env.get(var.DB_ADMIN_IAM) or "").lower() == "true"
        self.db_admin_user: str | None = env.get(var.DB_ADMIN_USER) or None
        #: The app's migrations directory, and the database users to ensure (JSON, see ``migrate.parse_users``).
        self.migrations_dir: str | None = env.get(var.DB_MIGRATIONS_DIR) or None
        self.migration_users: str | None = env.get(var.DB_MIGRATION_USERS) or None
        # The pre-traffic hook (lambda_src.deploy_hook) only: which version to test, and how.
        self.deploy_target_version_arn: str | None = env.get(var.DEPLOY_TARGET_VERSION_ARN) or None
        self.smoke_method = (env.get(var.SMOKE_METHOD) or "GET").upper()
        self.smoke_path = env.get(var.SMOKE_PATH) or "/health"
        self.smoke_expect_status = int(env.get(var.SMOKE_EXPECT_STATUS) or "200")


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


def read_now() -> Config:
    """The environment as it is now, without touching the cached configuration (deploy-time runs, CLIs)."""
    return Config(os.environ)
