"""The example service written directly with aws-cdk-lib L2 constructs: the anchor for synth time.

Same resources as ``stacks/`` (keys for the logs and the admin secret, VPC with endpoints, Aurora
Serverless v2 with Enhanced Monitoring and Database Insights, RDS Proxy, a work queue and DLQ, four
functions with encrypted log groups, log groups for the rotation and CDK's provider functions, an
HTTP API with access logs, the queue's event source, a schedule with its queues, alarms on a topic
with a dashboard, a migration trigger and the CA bundle layer of its function), with the same
properties (descriptions, environment, X-Ray, retention...) and the same cdk-nag acknowledgements
(the app must pass the same checks), without our constructs. ``tests/test_benchmarks.py`` checks that
both apps synthesize the same resource types with the same property names.
"""
from __future__ import annotations

import functools
import json
import shutil
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_rds as rds
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import triggers
import jsii

from constructs_lib.compliance import acknowledge  # a helper over Validations, not a construct

#: The example service's migrations, shipped in a layer as DatabaseMigrations ships them.
MIGRATIONS = Path(__file__).resolve().parent.parent / "lambda_src" / "example" / "migrations"

#: What CloudWatch Logs needs of a log group's key (as constructs_lib writes it).
_LOGS_KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                     "kms:GenerateDataKeyWithoutPlaintext"]


def _acknowledge(scope, reason: str, *rules: str) -> None:  # type: ignore[no-untyped-def]
    acknowledge(scope, rules, reason)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    def __init__(self, group: logs.ILogGroup) -> None:
        self._group = group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._group)

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps({"requestId": "$context.requestId", "status": "$context.status"}))


@functools.cache
def migrations_layer_dir() -> str:
    """A layer directory holding the example's migrations at ``/opt/cdk-serverless-postgres/migrations``, made
    once per process (the benchmark synthesizes the anchor again and again: a copy each time would leave a
    directory per synth and time work our constructs' cached layer does not do)."""
    layer = Path(tempfile.mkdtemp(prefix="raw-migrations-"))
    shutil.copytree(MIGRATIONS, layer / "cdk-serverless-postgres" / "migrations")
    return str(layer)


def build_raw(app: cdk.App, code_dir: str, env: cdk.Environment, ca_bundle_dir: str) -> None:
    """Add both stacks to ``app``; ``code_dir`` is the prebuilt handler bundle, ``ca_bundle_dir`` the
    prebuilt layer directory putting the RDS CA bundle at ``/opt/cdk-serverless-postgres/rds-ca-bundle.pem``."""
    data = cdk.Stack(app, "Raw-Stateful", env=env, termination_protection=True,
                     description="cdk-serverless-postgres example service (dev): data")
    log_key = kms.Key(data, "LogKey", enable_key_rotation=True, description="Encrypts the log groups of users (dev)")
    log_key.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchLogsOfThisAccount", principals=[iam.ServicePrincipal(f"logs.{data.region}.amazonaws.com")],
        actions=_LOGS_KEY_ACTIONS, resources=["*"], conditions={"StringLike": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{data.region}:{data.account}:log-group:*"}}))
    secret_key = kms.Key(data, "SecretKey", enable_key_rotation=True, description="Encrypts the admin secret (dev)")

    def log_group(scope: cdk.Stack, name: str, retention: logs.RetentionDays, **props) -> logs.LogGroup:  # type: ignore[no-untyped-def]
        return logs.LogGroup(scope, name, retention=retention, removal_policy=cdk.RemovalPolicy.DESTROY,
                             encryption_key=log_key, **props)

    def provider_logs(scope: cdk.Stack, provider_id: str) -> None:
        # CDK's provider functions take no log settings: point their Handler at a log group with retention
        provider = scope.node.find_child(provider_id)
        group = logs.LogGroup(provider, "LogGroup", retention=logs.RetentionDays.ONE_MONTH,
                              removal_policy=cdk.RemovalPolicy.DESTROY, encryption_key=log_key)
        provider.node.find_child("Handler").add_property_override("LoggingConfig.LogGroup", group.log_group_name)

    flow_logs = log_group(data, "FlowLogs", logs.RetentionDays.ONE_MONTH)
    vpc = ec2.Vpc(data, "Vpc", ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/16"), max_azs=2, nat_gateways=0,
                  subnet_configuration=[
                      ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22),
                      ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)],
                  flow_logs={"All": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                                                       traffic_type=ec2.FlowLogTrafficType.ALL)})
    provider_logs(data, "Custom::VpcRestrictDefaultSGCustomResourceProvider")
    app_subnets = ec2.SubnetSelection(subnet_group_name="App")
    data_subnets = ec2.SubnetSelection(subnet_group_name="Data")
    endpoint_sg = ec2.SecurityGroup(data, "EndpointSg", vpc=vpc, allow_all_outbound=False,
                                    description="Interface endpoints: HTTPS from the VPC")
    endpoint_sg.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443), "HTTPS from inside the VPC")
    for name, service in (("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
                          ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS)):
        vpc.add_interface_endpoint(name, service=service, subnets=app_subnets, private_dns_enabled=True,
                                   open=False, security_groups=[endpoint_sg])
    cluster_sg = ec2.SecurityGroup(data, "ClusterSg", vpc=vpc, allow_all_outbound=False, description="cluster; no egress")
    proxy_sg = ec2.SecurityGroup(data, "ProxySg", vpc=vpc, allow_all_outbound=False, description="proxy; to the cluster")
    proxy_sg.add_egress_rule(ec2.Peer.security_group_id(cluster_sg.security_group_id), ec2.Port.tcp(5432),
                             "the proxy to the cluster")
    rotation_sg = ec2.SecurityGroup(data, "RotationSg", vpc=vpc, allow_all_outbound=False, description="rotation")
    rotation_sg.add_egress_rule(ec2.Peer.security_group_id(endpoint_sg.security_group_id), ec2.Port.tcp(443),
                                "HTTPS to Secrets Manager")
    cluster = rds.DatabaseCluster(
        data, "Cluster", engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_9),
        vpc=vpc, vpc_subnets=data_subnets, security_groups=[cluster_sg],
        writer=rds.ClusterInstance.serverless_v2("Writer", auto_minor_version_upgrade=True,
                                                 enable_performance_insights=True,
                                                 performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT),
        serverless_v2_min_capacity=0.5, serverless_v2_max_capacity=4, default_database_name="app",
        storage_encrypted=True, iam_authentication=True, cloudwatch_logs_exports=["postgresql"],
        credentials=rds.Credentials.from_generated_secret("postgres", encryption_key=secret_key),
        deletion_protection=True, monitoring_interval=Duration.seconds(60), enable_performance_insights=True,
        database_insights_mode=rds.DatabaseInsightsMode.STANDARD,
        performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT,
        backup=rds.BackupProps(retention=Duration.days(7)), removal_policy=cdk.RemovalPolicy.SNAPSHOT, port=5432)
    secret = cluster.secret
    rotation = cluster.add_rotation_single_user(automatically_after=Duration.days(30), vpc_subnets=data_subnets,
                                                security_group=rotation_sg)
    rotation_app = rotation.node.default_child
    rotation_logs = log_group(rotation, "LogGroup", logs.RetentionDays.ONE_MONTH,
                              log_group_name=f"/aws/lambda/{rotation_app.parameters['functionName']}")
    rotation_app.node.add_dependency(rotation_logs)
    proxy_role = iam.Role(data, "ProxyRole", assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
                          description="RDS Proxy: logs in to the Aurora cluster with IAM")
    proxy_role.add_to_principal_policy(iam.PolicyStatement(actions=["rds-db:connect"], resources=[
        f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{cluster.cluster_resource_identifier}/app_user"]))
    proxy = rds.DatabaseProxy(data, "Proxy", proxy_target=rds.ProxyTarget.from_cluster(cluster), vpc=vpc, role=proxy_role,
                              security_groups=[proxy_sg],
                              vpc_subnets=data_subnets, default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
                              iam_auth=True, require_tls=True, max_connections_percent=90,
                              idle_client_timeout=Duration.minutes(30), borrow_timeout=Duration.seconds(5))
    _acknowledge(cluster, "The cluster is reachable only from the proxy and migration security groups.",
                 "AwsSolutions-RDS11")
    _acknowledge(cluster.node.find_child("MonitoringRole"), "RDS's Enhanced Monitoring role needs AWS's policy.",
                 "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]")

    dlq = sqs.Queue(data, "EventsDlq", retention_period=Duration.days(14), enforce_ssl=True,
                    encryption=sqs.QueueEncryption.SQS_MANAGED, removal_policy=cdk.RemovalPolicy.RETAIN)
    events = sqs.Queue(data, "Events", visibility_timeout=Duration.seconds(180), enforce_ssl=True,
                       encryption=sqs.QueueEncryption.SQS_MANAGED,
                       dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5))
    _acknowledge(dlq, "This queue is itself the dead-letter queue of its work queue.",
                 "AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy")

    api_stack = cdk.Stack(app, "Raw-Stateless", env=env, description="cdk-serverless-postgres example service (dev): API")
    code = lambda_.Code.from_asset(code_dir)
    db_environment = {"DB_HOST": proxy.endpoint, "DB_PORT": "5432", "DB_NAME": "app", "DB_USER": "app_user"}

    def function(name: str, handler: str, timeout: Duration, description: str, environment: dict[str, str],
                 reserved: int | None) -> lambda_.Function:
        # the same resources ServerlessFunction makes: own role, log group, tracing policy, egress-limited SG
        security_group = ec2.SecurityGroup(api_stack, f"{name}Sg", vpc=vpc, allow_all_outbound=False,
                                           description=f"Raw-Stateless/{name}: HTTPS out; other egress by grants")
        security_group.add_egress_rule(ec2.Peer.security_group_id(endpoint_sg.security_group_id), ec2.Port.tcp(443),
                                       "HTTPS to AWS APIs")
        group = log_group(api_stack, f"{name}Logs", logs.RetentionDays.TWO_WEEKS)
        role = iam.Role(api_stack, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                        description=f"Execution role of Raw-Stateless/{name}")
        fn = lambda_.Function(api_stack, name, code=code, handler=handler, runtime=lambda_.Runtime.PYTHON_3_13,
                              architecture=lambda_.Architecture.ARM_64, timeout=timeout, memory_size=512, role=role,
                              environment=environment, reserved_concurrent_executions=reserved, log_group=group,
                              logging_format=lambda_.LoggingFormat.JSON,
                              application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
                              system_log_level_v2=lambda_.SystemLogLevel.WARN, vpc=vpc, vpc_subnets=app_subnets,
                              security_groups=[security_group], description=description)
        group.grant_write(role)
        # X-Ray with its '*' grant in a policy of its own, so the cdk-nag acknowledgement covers only it
        fn.node.default_child.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        tracing = iam.Policy(api_stack, f"{name}Tracing", roles=[role], statements=[iam.PolicyStatement(
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])])
        _acknowledge(fn, "Python 3.13 is the runtime the bundle is built for.",
                     "Serverless-LambdaLatestVersion", "AwsSolutions-L1")
        _acknowledge(tracing, "X-Ray supports no resource-level permissions.", "AwsSolutions-IAM5[Resource::*]")
        return fn

    def connect(fn: lambda_.Function) -> None:
        proxy.grant_connect(fn, "app_user")
        fn.connections.allow_to(proxy, ec2.Port.tcp(5432), f"Raw-Stateless/{fn.node.id} to the proxy")

    api_function = function("ApiFunction", "example.http.handler", Duration.seconds(10), "Users API",
                            {"STAGE": "dev", **db_environment, "QUEUE_URL": events.queue_url}, 20)
    connect(api_function)
    api = apigwv2.HttpApi(api_stack, "Api", create_default_stage=False, description="HTTP API of Raw-Stateless/HttpApi",
                          default_authorizer=authorizers.HttpIamAuthorizer(),
                          default_integration=integrations.HttpLambdaIntegration(
                              "Integration", api_function, payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0))
    stage = apigwv2.HttpStage(api_stack, "Stage", http_api=api, stage_name="$default", auto_deploy=True,
                              throttle=apigwv2.ThrottleSettings(rate_limit=100, burst_limit=200),
                              access_log_settings=_AccessLogs(log_group(api_stack, "AccessLogs",
                                                                        logs.RetentionDays.TWO_WEEKS)))
    events.grant(api_function, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")

    worker = function("WorkerFunction", "example.worker.handler", Duration.seconds(30), "Consumes user events",
                      db_environment, None)
    worker.add_event_source(event_sources.SqsEventSource(events, batch_size=10, max_concurrency=5,
                                                         report_batch_item_failures=True))
    _acknowledge(worker, "SQS event source mappings take no on-failure destination; failed messages reach the "
                 "queue's dead-letter queue.", "Serverless-LambdaEventSourceMappingDestination", "Serverless-LambdaDLQ")
    connect(worker)

    nightly = function("ScheduleFunction", "example.schedule.handler", Duration.minutes(2), "Daily maintenance",
                       {**db_environment, "QUEUE_URL": events.queue_url}, 1)
    connect(nightly)
    events.grant(nightly, "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
    queue_props = {"retention_period": Duration.days(14), "enforce_ssl": True,
                   "encryption": sqs.QueueEncryption.SQS_MANAGED, "removal_policy": cdk.RemovalPolicy.RETAIN}
    delivery_dlq = sqs.Queue(api_stack, "DeliveryDlq", **queue_props)
    failures = sqs.Queue(api_stack, "Failures", **queue_props)
    scheduler_role = iam.Role(api_stack, "SchedulerRole", assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
                              description="EventBridge Scheduler invoking Raw-Stateless/ScheduleFunction")
    scheduler.Schedule(api_stack, "Nightly",
                       schedule=scheduler.ScheduleExpression.expression("cron(0 3 * * ? *)", cdk.TimeZone.of("UTC")),
                       target=targets.LambdaInvoke(nightly, dead_letter_queue=delivery_dlq, role=scheduler_role,
                                                   retry_attempts=3, max_event_age=Duration.hours(1),
                                                   input=scheduler.ScheduleTargetInput.from_object(
                                                       {"scheduledTime": scheduler.ContextAttribute.scheduled_time})),
                       time_window=scheduler.TimeWindow.flexible(Duration.minutes(15)),
                       description="Runs Raw-Stateless/ScheduleFunction on cron(0 3 * * ? *)")
    nightly.configure_async_invoke(on_failure=destinations.SqsDestination(failures), retry_attempts=2,
                                   max_event_age=Duration.hours(1))
    for queue in (delivery_dlq, failures):
        _acknowledge(queue, "This queue is a dead-letter destination itself.",
                     "AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy")
    _acknowledge(nightly, "Failed runs go to the on-failure destination.", "Serverless-LambdaDLQ")
    nightly_id = api_stack.resolve(api_stack.get_logical_id(nightly.node.default_child))
    _acknowledge(scheduler_role, "lambda:InvokeFunction on this function's versions and aliases.",
                 f"AwsSolutions-IAM5[Resource::<{nightly_id}.Arn>:*]")

    migrate = function("MigrateFunction", "lambda_src.migrate.handler", Duration.minutes(5),
                       "Applies database migrations during deployment",
                       {"DB_ADMIN_SECRET_ARN": secret.secret_arn, "DB_ADMIN_HOST": cluster.cluster_endpoint.hostname,
                        "DB_ADMIN_SSL_ROOT_CERT": "/opt/cdk-serverless-postgres/rds-ca-bundle.pem",
                        "DB_PORT": "5432", "DB_NAME": "app", "DB_USER": "app_user",
                        "DB_MIGRATIONS_DIR": "/opt/cdk-serverless-postgres/migrations",
                        "DB_MIGRATION_USERS": json.dumps({"app_user": None})}, 1)
    migrate.add_layers(lambda_.LayerVersion(
        api_stack, "MigrationsCaBundle", code=lambda_.Code.from_asset(ca_bundle_dir),
        description="CA certificates verifying the database cluster's TLS certificate (migrations)"))
    migrate.add_layers(lambda_.LayerVersion(
        api_stack, "MigrationFiles", code=lambda_.Code.from_asset(migrations_layer_dir()),
        description="The app's database migrations"))
    # read in the function's own policy (Secret.grant_read would name the role in the stateful key's policy)
    migrate.add_to_role_policy(iam.PolicyStatement(
        actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=[secret.secret_arn]))
    migrate.add_to_role_policy(iam.PolicyStatement(
        actions=["kms:Decrypt"], resources=[secret_key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{api_stack.region}.amazonaws.com"}}))
    migrate.connections.allow_to(cluster, ec2.Port.tcp(5432), "Raw-Stateless/MigrateFunction (migrations)")
    triggers.Trigger(api_stack, "Migrations", handler=migrate, execute_after=[cluster, proxy], execute_before=[stage],
                     execute_on_handler_change=True, timeout=Duration.minutes(5),
                     invocation_type=triggers.InvocationType.REQUEST_RESPONSE)
    provider_logs(api_stack, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider")

    key = kms.Key(api_stack, "TopicKey", enable_key_rotation=True, description="Encrypts the alarm topic of users-dev")
    alarms_here = {"StringEquals": {"aws:SourceAccount": "123456789012"},
                   "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"}}
    key.add_to_resource_policy(iam.PolicyStatement(principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                                                   actions=["kms:Decrypt", "kms:GenerateDataKey*"], resources=["*"],
                                                   conditions=alarms_here))
    topic = sns.Topic(api_stack, "Alarms", master_key=key, enforce_ssl=True, display_name="users-dev alarms")
    topic.add_to_resource_policy(iam.PolicyStatement(principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                                                     actions=["sns:Publish"], resources=[topic.topic_arn],
                                                     conditions=alarms_here))
    dashboard = cloudwatch.Dashboard(api_stack, "Dashboard", default_interval=Duration.hours(3))
    dashboard.add_widgets(cloudwatch.TextWidget(markdown="# users-dev", width=24, height=1))
    period = Duration.minutes(1)
    metrics: list[tuple[str, cloudwatch.IMetric, float]] = []
    for fn, label, timeout_ms in ((api_function, "Api", 10_000), (worker, "Worker", 30_000),
                                  (nightly, "Schedule", 120_000), (migrate, "Migrate", 300_000)):
        metrics += [(f"{label}Errors", fn.metric_errors(period=period, statistic="Sum"), 1),
                    (f"{label}Throttles", fn.metric_throttles(period=period, statistic="Sum"), 1),
                    (f"{label}Duration", fn.metric_duration(period=period, statistic="p99"), 0.8 * timeout_ms)]
    metrics += [("ApiConcurrency", api_function.metric("ConcurrentExecutions", period=period, statistic="Maximum"), 16),
                ("Http5xx", api.metric_server_error(period=period, statistic="Sum"), 1),
                ("HttpLatency", api.metric_latency(period=period, statistic="p99"), 2000),
                ("Dlq", dlq.metric_approximate_number_of_messages_visible(period=period, statistic="Maximum"), 0),
                ("OldestMessage", events.metric_approximate_age_of_oldest_message(period=period, statistic="Maximum"),
                 300),
                ("DeliveryDlq", delivery_dlq.metric_approximate_number_of_messages_visible(period=period,
                                                                                           statistic="Maximum"), 0),
                ("Failures", failures.metric_approximate_number_of_messages_visible(period=period,
                                                                                    statistic="Maximum"), 0),
                ("ScheduleConcurrency", nightly.metric("ConcurrentExecutions", period=period, statistic="Maximum"), 1),
                ("MigrateConcurrency", migrate.metric("ConcurrentExecutions", period=period, statistic="Maximum"), 1),
                ("ProxyConnections", cloudwatch.Metric(namespace="AWS/RDS", metric_name="ClientConnections",
                                                       dimensions_map={"ProxyName": proxy.db_proxy_name},
                                                       period=period, statistic="Maximum"), 592)]
    alarms = []
    action = cw_actions.SnsAction(topic)
    for alarm_id, metric, threshold in metrics:
        alarm = cloudwatch.Alarm(api_stack, f"{alarm_id}Alarm", metric=metric, threshold=threshold, evaluation_periods=5,
                                 datapoints_to_alarm=3, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                                 comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                                 alarm_description=f"{alarm_id}: check the logs first")
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        alarms.append(alarm)
    dashboard.add_widgets(*(cloudwatch.GraphWidget(title=alarm_id, left=[metric], width=6, height=5)
                            for alarm_id, metric, _threshold in metrics))
    dashboard.add_widgets(cloudwatch.AlarmStatusWidget(alarms=alarms, width=24, title="Alarms"))
    for fn in (api_function, migrate):
        _acknowledge(fn, "Invoked synchronously: failures return to the caller.", "Serverless-LambdaDLQ")
    cdk.CfnOutput(api_stack, "ApiUrl", value=stage.url, description="Base URL of the HTTP API")
