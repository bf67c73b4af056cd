"""The stateless half of the example service: functions, the HTTP API and deploy-time migrations."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_codedeploy as codedeploy
from constructs import Construct

from constructs_lib import (DatabaseMigrations, LambdaHttpApi, LambdaWebSocketApi, PythonBundle, QueueWorker,
                            ScheduledTask, ServerlessFunction, ServiceMonitoring)
from constructs_lib.compliance import acknowledge
from constructs_lib.runtime_environment import SMOKE_PATH, STAGE

from .stages import HostedZone
from .stateful_stack import StatefulStack

PROJECT = Path(__file__).resolve().parent.parent
#: The handler package deployed with the service: the example, bundled on its own like any team's package
#: (``example.<module>.handler``), its requirements.txt installing the handler runtime from ``lambda_src/``.
HANDLER_PACKAGE = PROJECT / "lambda_src" / "example"
#: The example service's migrations, shipped by DatabaseMigrations and applied by the runtime's runner.
EXAMPLE_MIGRATIONS = HANDLER_PACKAGE / "migrations"
#: Where bundles are cached unless the caller says otherwise: the CDK app's directory, not the package's parent.
BUNDLE_CACHE_DIR = PROJECT / ".bundle-cache"


class StatelessStack(Stack):
    """Functions, the HTTP API, the queue worker, the schedule, alarms and the migration trigger.
    Holds no data: safe to destroy.

    Who may call: both APIs use IAM authorization (the constructs' default). Every request to the
    HTTP API, and every WebSocket handshake, is signed with SigV4 by a principal of this account
    whose IAM policy allows ``execute-api:Invoke`` on it: a service's role granted with
    ``http_api.grant_invoke`` (or ``websocket_api.grant_connect``), or an operator. An unsigned
    request is refused by API Gateway before any function runs. IAM rather than JWT because the
    users API is a back-office API of people's emails and bios, called by services and operators
    that already hold AWS credentials: it needs no identity provider (JWT needs an issuer: a Cognito
    user pool or an outside one, with its own sign-up, passwords and MFA to secure), it is decided by
    the same IAM policies the deploy contract proves, and the handler still refuses a request that
    arrives without an IAM caller. An app for end users would take JWT (``authorization="JWT"``)
    and give each token's ``sub`` its own record only.

    :param stage: the deployment stage (``dev``, ``prod``…).
    :param data: the stateful stack whose network, database and queue the functions use.
    :param alarm_email: subscribed to the alarm topic. Default: none.
    :param realtime: add the WebSocket API with its live ``users`` channel. Broadcasting from VPC
        functions needs internet egress, so the stateful stack must have a NAT gateway. Default: False.
    :param api_deployment: deploy the API function gradually with this CodeDeploy config, after a
        pre-traffic hook's ``GET /health`` on the new version; its errors, 5xx and p99 alarms roll
        it back. Default: none (the alias moves at once; ``build_service`` gives every stage but
        ``dev`` a 10 % canary for 5 minutes).
    :param domain_name: the HTTP API's custom domain (TLS 1.2, a DNS-validated certificate and the alias
        record in ``hosted_zone``). Default: none (the execute-api URL only).
    :param hosted_zone: the public zone holding ``domain_name``, by id and name. Default: none.
    :param bundle_cache_dir: where the Docker-free bundle and the migrations' CA bundle layer are
        cached. Default: :data:`BUNDLE_CACHE_DIR` (``.bundle-cache`` in the project directory).
    :param bundle: the handler package's bundle, when the caller made (and started) it already.
        Default: a :class:`PythonBundle` of :data:`HANDLER_PACKAGE` in ``bundle_cache_dir``.

    Attributes: ``bundle``, ``api_function``, ``deploy_hook`` (None without ``api_deployment``), ``http_api``, ``worker_function``, ``queue_worker``,
    ``schedule_function``, ``scheduled_task``, ``migrate_function``, ``migrations``, ``monitoring``,
    ``websocket_function`` and ``websocket_api`` (None unless ``realtime``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, data: StatefulStack,
                 alarm_email: str | None = None, realtime: bool = False, bundle_cache_dir: Path | None = None,
                 api_deployment: codedeploy.ILambdaDeploymentConfig | None = None, domain_name: str | None = None,
                 hosted_zone: HostedZone | None = None, bundle: PythonBundle | None = None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description=f"cdk-serverless-postgres example service ({stage}): API", **kwargs)
        network, database = data.network, data.database
        # App subnets; HTTPS only to the endpoints (anywhere with NAT). Express: no VPC at all.
        in_vpc = network.function_placement if network is not None else {}
        encrypted_logs = {"log_encryption_key": data.log_key}  # the service's log key (see StatefulStack)
        self.bundle = bundle or PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=bundle_cache_dir or BUNDLE_CACHE_DIR)

        # canary stages: a smoke request to each new version before any traffic, then 10 % of it first
        self.deploy_hook: ServerlessFunction | None = None
        if api_deployment is not None:
            self.deploy_hook = ServerlessFunction(
                self, "DeployHook", code=self.bundle, handler="lambda_src.deploy_hook.handler",
                timeout=Duration.minutes(1), reserved_concurrent_executions=1,
                environment={SMOKE_PATH: "/health"}, description="Pre-traffic smoke test of the API function",
                **encrypted_logs)
        self.api_function = ServerlessFunction(
            self, "ApiFunction", code=self.bundle, handler="example.http.handler",
            timeout=Duration.seconds(10), reserved_concurrent_executions=20,
            environment={STAGE: stage}, description="Users API", deployment=api_deployment,
            pre_traffic_hook=self.deploy_hook, **in_vpc, **encrypted_logs)
        database.grant_connect(self.api_function, on_pause="unavailable")  # a resume: 503 + Retry-After
        # IAM: signed requests from principals allowed execute-api:Invoke (see the class docstring)
        # the zone serves the stages that have a domain in it (-c hosted_zone is shared by every stage)
        zone = ({"hosted_zone_id": hosted_zone.id, "hosted_zone_name": hosted_zone.name}
                if hosted_zone is not None and domain_name is not None else {})
        self.http_api = LambdaHttpApi(self, "HttpApi", function=self.api_function, authorization="IAM",
                                      domain_name=domain_name, **zone, **encrypted_logs)
        data.events_queue.grant_send_to(self.api_function)

        # user.created events: the API writes them to the outbox and sends them; the worker records audit rows
        self.worker_function = ServerlessFunction(
            self, "WorkerFunction", code=self.bundle, handler="example.worker.handler",
            timeout=data.worker_timeout, description="Consumes user events", **in_vpc, **encrypted_logs)
        self.queue_worker = QueueWorker(self, "UserEventsWorker", function=self.worker_function,
                                        queue=data.events_queue, batch_size=10, max_concurrency=5)
        database.grant_connect(self.worker_function)  # bounded by the worker's max_concurrency, read at synth

        # the daily job: statistics, idempotency-record purge, and re-sending any unsent events
        self.schedule_function = ServerlessFunction(
            self, "ScheduleFunction", code=self.bundle, handler="example.schedule.handler",
            timeout=Duration.minutes(2), reserved_concurrent_executions=1, description="Daily maintenance", **in_vpc,
            **encrypted_logs)
        database.grant_connect(self.schedule_function)
        data.events_queue.grant_send_to(self.schedule_function)
        self.scheduled_task = ScheduledTask(self, "DailyMaintenance", function=self.schedule_function,
                                            schedule="cron(0 3 * * ? *)", flexible_window=Duration.minutes(15))

        # the live users channel: clients subscribe over WebSocket; the worker announces created users
        self.websocket_function: ServerlessFunction | None = None
        self.websocket_api: LambdaWebSocketApi | None = None
        if realtime:
            self.websocket_function = ServerlessFunction(
                self, "WebSocketFunction", code=self.bundle, handler="example.websocket.handler",
                timeout=Duration.seconds(10), reserved_concurrent_executions=10, description="WebSocket API", **in_vpc,
                **encrypted_logs)
            database.grant_connect(self.websocket_function, on_pause="unavailable")
            self.websocket_api = LambdaWebSocketApi(self, "WebSocketApi", function=self.websocket_function,
                                                    authorization="IAM", **encrypted_logs)
            for broadcaster in (self.api_function, self.worker_function):
                self.websocket_api.grant_manage_connections(broadcaster)
            CfnOutput(self, "WebSocketUrl", value=self.websocket_api.url, description="wss:// URL of the WebSocket API")

        self.migrate_function = ServerlessFunction(
            self, "MigrateFunction", code=self.bundle, handler="lambda_src.migrate.handler",
            timeout=Duration.minutes(5), reserved_concurrent_executions=1,
            description="Applies database migrations during deployment", **in_vpc, **encrypted_logs)
        self.migrations = DatabaseMigrations(self, "Migrations", database=database, function=self.migrate_function,
                                             migrations_dir=EXAMPLE_MIGRATIONS, execute_before=[self.http_api.stage],
                                             cache_dir=self.bundle.cache_dir)

        self.monitoring = ServiceMonitoring(self, "Monitoring", service_name=f"users-{stage}", alarm_email=alarm_email)
        for label, function in (("Api", self.api_function), ("Worker", self.worker_function),
                                ("Schedule", self.schedule_function), ("Migrate", self.migrate_function),
                                ("WebSocket", self.websocket_function)):
            if function is not None:
                self.monitoring.monitor_function(function, label)
        self.monitoring.monitor_http_api(self.http_api)
        self.monitoring.monitor_queue_worker(self.queue_worker, "UserEvents")
        self.monitoring.monitor_scheduled_task(self.scheduled_task, "DailyMaintenance")
        if database.proxy is not None:
            self.monitoring.monitor_proxy(database.proxy, database.connection_budget)
        self.monitoring.add_alarm_status_widget()

        CfnOutput(self, "ApiUrl", value=self.http_api.url, description="Base URL of the HTTP API")
        if self.http_api.domain is not None:
            CfnOutput(self, "ApiDomainUrl", value=self.http_api.domain.url,
                      description="Base URL of the HTTP API on its custom domain")
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        for function in (self.api_function, self.migrate_function):
            acknowledge(function.function, "Serverless-LambdaDLQ",
                        "Invoked synchronously (HTTP API, CloudFormation trigger): failures return to the caller, "
                        "so an asynchronous dead-letter queue would never receive anything.")
        if self.deploy_hook is not None:
            acknowledge(self.deploy_hook.function, "Serverless-LambdaDLQ",
                        "CodeDeploy invokes the hook and waits for its status report; with none, the deployment "
                        "fails and rolls back, so a dead-letter queue would hold an event nobody replays.")
        if self.websocket_api is not None and self.websocket_function is not None:
            acknowledge(self.websocket_function.function, "Serverless-LambdaDLQ",
                        "Invoked synchronously by the WebSocket API: a failure returns to API Gateway, so an "
                        "asynchronous dead-letter queue would never receive anything.")
