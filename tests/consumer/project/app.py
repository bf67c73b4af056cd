"""An outside team's CDK app on cdk-serverless-postgres, in three layouts (``-c layout=...``):

- ``single``: one stack with the network, database, API, worker, monitoring;
- ``split``: a stateful stack (network, database, queue) and a stateless one (functions, API);
- ``api``: a function and its HTTP API only.

It imports only the installed library (a wheel), never this repository's sources.
"""
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration

from constructs_lib import (LambdaHttpApi, PythonBundle, QueueWorker, ServerlessDatabase, ServerlessFunction,
                            ServiceMonitoring, ServiceNetwork, WorkQueue)
from constructs_lib.compliance import acknowledge, add_checks

ENV = cdk.Environment(account="111122223333", region="eu-west-1")
app = cdk.App()
layout = app.node.try_get_context("layout") or "single"
code = PythonBundle(source_dir=Path(__file__).parent / "orders")
Path("constructs_lib_from.txt").write_text(__import__("constructs_lib").__file__)  # where it was imported from


def api(scope: cdk.Stack, **placement) -> ServerlessFunction:
    function = ServerlessFunction(scope, "OrdersApi", code=code, handler="orders.http.handler",
                                  reserved_concurrent_executions=10, **placement)
    acknowledge(function.function, "Serverless-LambdaDLQ", "Invoked synchronously by the HTTP API: a failure goes "
                "back to the caller, so an asynchronous dead-letter queue would never receive anything.")
    LambdaHttpApi(scope, "OrdersHttp", function=function)
    return function


if layout == "api":
    api(cdk.Stack(app, "OrdersApi", env=ENV))
else:
    data = cdk.Stack(app, "OrdersData" if layout == "split" else "Orders", env=ENV)
    service = cdk.Stack(app, "OrdersService", env=ENV) if layout == "split" else data
    network = ServiceNetwork(data, "Network")
    database = ServerlessDatabase(data, "Database", vpc=network.vpc, vpc_subnets=network.data_subnets,
                                  https_egress=network.https_egress)
    queue = WorkQueue(data, "OrderEvents", consumer_timeout=Duration.seconds(30))
    api_function = api(service, **network.function_placement)
    database.grant_connect(api_function)
    queue.grant_send_to(api_function)
    worker = ServerlessFunction(service, "OrdersWorker", code=code, handler="orders.worker.handler",
                                timeout=Duration.seconds(30), **network.function_placement)
    QueueWorker(service, "OrdersWorkerQueue", function=worker, queue=queue, max_concurrency=4)
    database.grant_connect(worker)
    monitoring = ServiceMonitoring(service, "Monitoring", service_name="orders")
    monitoring.monitor_function(api_function, "Api")

add_checks(app)
app.synth()
