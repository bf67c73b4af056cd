"""The stateless half of the example service: functions, the HTTP API and deploy-time migrations."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from constructs_lib import DatabaseMigrations, LambdaHttpApi, PythonBundle, ServerlessFunction
from constructs_lib.acknowledge import acknowledge

from .stateful_stack import StatefulStack

#: The handler package deployed with the service.
HANDLER_PACKAGE = Path(__file__).resolve().parent.parent / "lambda_src"


class StatelessStack(Stack):
    """Functions, the HTTP API and the migration trigger. Holds no data: safe to destroy.

    :param stage: the deployment stage (``dev``, ``prod``…).
    :param data: the stateful stack whose network and database the functions use.
    :param bundle_cache_dir: where the Docker-free bundle is cached. Default: ``.bundle-cache``
        in the project directory.

    Attributes: ``bundle``, ``api_function``, ``http_api``, ``migrate_function``, ``migrations``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, data: StatefulStack,
                 bundle_cache_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"cdk-serverless-postgres example service ({stage}): API", **kwargs)
        network, database = data.network, data.database
        in_vpc = {"vpc": network.vpc, "vpc_subnets": network.app_subnets}
        self.bundle = PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=bundle_cache_dir)

        self.api_function = ServerlessFunction(
            self, "ApiFunction", code=self.bundle, handler="lambda_src.http.handler",
            timeout=Duration.seconds(10), reserved_concurrent_executions=20,
            environment={"STAGE": stage}, description="Users API", **in_vpc)
        database.grant_connect(self.api_function)
        self.http_api = LambdaHttpApi(self, "HttpApi", function=self.api_function)

        self.migrate_function = ServerlessFunction(
            self, "MigrateFunction", code=self.bundle, handler="lambda_src.migrate.handler",
            timeout=Duration.minutes(5), reserved_concurrent_executions=1,
            description="Applies database migrations during deployment", **in_vpc)
        self.migrations = DatabaseMigrations(self, "Migrations", database=database, function=self.migrate_function,
                                             execute_before=[self.http_api.stage])

        CfnOutput(self, "ApiUrl", value=self.http_api.url, description="Base URL of the HTTP API")
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        acknowledge(self.http_api.api, "AwsSolutions-APIG4",
                    "The example users API is public on purpose so it can be tried with curl; LambdaHttpApi's "
                    "authorization prop (IAM, JWT or LAMBDA) secures a real service.")
        for function in (self.api_function, self.migrate_function):
            acknowledge(function.function, "Serverless-LambdaDLQ",
                        "Invoked synchronously (HTTP API, CloudFormation trigger): failures return to the caller, "
                        "so an asynchronous dead-letter queue would never receive anything.")
