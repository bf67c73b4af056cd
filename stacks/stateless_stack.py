"""The stateless half of the example service: functions and the HTTP API."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from constructs_lib import LambdaHttpApi, PythonBundle, ServerlessFunction

#: The handler package deployed with the service.
HANDLER_PACKAGE = Path(__file__).resolve().parent.parent / "lambda_src"


class StatelessStack(Stack):
    """Functions and the HTTP API. Safe to destroy and recreate: it holds no data.

    :param stage: the deployment stage (``dev``, ``prod``…), used in descriptions and outputs.
    :param bundle_cache_dir: where the Docker-free bundle is cached. Default: ``.bundle-cache``
        in the project directory.

    Attributes: ``bundle``, ``api_function``, ``http_api``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str,
                 bundle_cache_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"cdk-serverless-postgres example service ({stage}): API", **kwargs)
        self.bundle = PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=bundle_cache_dir)
        self.api_function = ServerlessFunction(
            self, "ApiFunction",
            code=self.bundle,
            handler="lambda_src.http.handler",
            timeout=Duration.seconds(10),
            reserved_concurrent_executions=20,
            environment={"STAGE": stage},
            description="Users API",
        )
        self.http_api = LambdaHttpApi(self, "HttpApi", function=self.api_function)
        CfnOutput(self, "ApiUrl", value=self.http_api.url, description="Base URL of the HTTP API")
