"""Runs the handler package's migrations during `cdk deploy`, before the API serves traffic."""
from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack, triggers
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..logging_settings import provider_log_group
from . import defaults
from .construct import ServerlessDatabase

#: A trigger waits at most 15 minutes for its function (the Lambda maximum).
MAX_TRIGGER_TIMEOUT_SECONDS = 15 * 60


class DatabaseMigrations(Construct):
    """A CloudFormation trigger that invokes the migration function once per deployment change.

    The trigger runs after the database and proxy exist and before the resources in
    ``execute_before`` (typically the HTTP API stage). It runs again whenever the function's code
    or configuration changes, i.e. when new migrations ship; with nothing new the migrations
    themselves are a no-op. A migration that raises fails the trigger, and with it the deployment;
    the error message shows in the CloudFormation events.

    :param database: the :class:`ServerlessDatabase`. Required.
    :param function: the function running ``lambda_src.migrate.handler``, placed in the VPC. Required.
    :param execute_before: constructs that must wait for the migrations. Default: none.
    :param log_encryption_key: a customer-managed KMS key for the log group of CDK's trigger
        provider (the function that invokes the migrations), kept one month. Default: the migration
        function's ``log_encryption_key``.

    Attributes: ``trigger``, ``function``, ``provider_log_group`` (the trigger provider's log group;
    one per stack, so the first DatabaseMigrations of a stack sets it).
    """

    def __init__(self, scope: Construct, construct_id: str, *, database: ServerlessDatabase,
                 function: ServerlessFunction, execute_before: Sequence[IConstruct] = (),
                 log_encryption_key: kms.IKey | None = None) -> None:
        super().__init__(scope, construct_id)
        if function.timeout_seconds > MAX_TRIGGER_TIMEOUT_SECONDS:
            raise InvalidPropError("DatabaseMigrations", "function.timeout", function.timeout_seconds,
                                   f"at most {MAX_TRIGGER_TIMEOUT_SECONDS} seconds")
        database.grant_admin(function)
        self.function = function
        self.trigger = triggers.Trigger(
            self, "Trigger",
            handler=function.function,
            execute_after=[database.cluster, database.proxy],
            execute_before=list(execute_before),
            execute_on_handler_change=True,
            timeout=function.timeout,
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE,
        )
        self.provider_log_group = provider_log_group(
            Stack.of(self).node.try_find_child(defaults.TRIGGER_PROVIDER_ID),
            retention=defaults.TRIGGER_PROVIDER_LOG_RETENTION,
            encryption_key=log_encryption_key or function.log_encryption_key)
