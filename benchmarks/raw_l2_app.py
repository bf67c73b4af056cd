"""The example service written directly with aws-cdk-lib L2 constructs: the anchor for synth time.

Same resources as ``stacks/`` (VPC with endpoints, Aurora Serverless v2, RDS Proxy, a work queue
and DLQ, four functions with log groups, an HTTP API with access logs, the queue's event source, a
schedule with its queues, alarms on a topic with a dashboard, a migration trigger), without our
constructs.
"""
from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
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


def build_raw(app: cdk.App, code_dir: str, env: cdk.Environment) -> None:
    data = cdk.Stack(app, "Raw-Stateful", env=env, termination_protection=True)
    flow_logs = logs.LogGroup(data, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH)
    vpc = ec2.Vpc(data, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22),
        ec2.SubnetConfiguration(name="App", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)],
        flow_logs={"All": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs))})
    endpoint_sg = ec2.SecurityGroup(data, "EndpointSg", vpc=vpc, allow_all_outbound=False)
    endpoint_sg.add_ingress_rule(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443))
    for name, service in (("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
                          ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS)):
        vpc.add_interface_endpoint(name, service=service, subnets=ec2.SubnetSelection(subnet_group_name="App"),
                                   open=False, security_groups=[endpoint_sg])
    cluster = rds.DatabaseCluster(
        data, "Cluster", engine=rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_9),
        vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnet_group_name="Data"),
        writer=rds.ClusterInstance.serverless_v2("Writer"), serverless_v2_min_capacity=0.5, serverless_v2_max_capacity=4,
        storage_encrypted=True, iam_authentication=True, cloudwatch_logs_exports=["postgresql"],
        credentials=rds.Credentials.from_generated_secret("postgres"), deletion_protection=True,
        removal_policy=cdk.RemovalPolicy.SNAPSHOT)
    cluster.add_rotation_single_user(automatically_after=Duration.days(30))
    proxy = rds.DatabaseProxy(data, "Proxy", proxy_target=rds.ProxyTarget.from_cluster(cluster), vpc=vpc,
                              default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH, iam_auth=True, require_tls=True,
                              borrow_timeout=Duration.seconds(5))

    dlq = sqs.Queue(data, "EventsDlq", retention_period=Duration.days(14), enforce_ssl=True,
                    encryption=sqs.QueueEncryption.SQS_MANAGED)
    events = sqs.Queue(data, "Events", visibility_timeout=Duration.seconds(180), enforce_ssl=True,
                       encryption=sqs.QueueEncryption.SQS_MANAGED,
                       dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5))

    api_stack = cdk.Stack(app, "Raw-Stateless", env=env)
    code = lambda_.Code.from_asset(code_dir)

    def function(name: str, handler: str, timeout: Duration) -> lambda_.Function:
        # the same resources ServerlessFunction makes: own role, log group, tracing policy, egress-limited SG
        log_group = logs.LogGroup(api_stack, f"{name}Logs", retention=logs.RetentionDays.TWO_WEEKS,
                                  removal_policy=cdk.RemovalPolicy.DESTROY)
        role = iam.Role(api_stack, f"{name}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        security_group = ec2.SecurityGroup(api_stack, f"{name}Sg", vpc=vpc, allow_all_outbound=False)
        security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443))
        fn = lambda_.Function(api_stack, name, code=code, handler=handler, runtime=lambda_.Runtime.PYTHON_3_13,
                              architecture=lambda_.Architecture.ARM_64, timeout=timeout, memory_size=512, role=role,
                              reserved_concurrent_executions=20, log_group=log_group,
                              logging_format=lambda_.LoggingFormat.JSON,
                              application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
                              system_log_level_v2=lambda_.SystemLogLevel.WARN, vpc=vpc,
                              vpc_subnets=ec2.SubnetSelection(subnet_group_name="App"), security_groups=[security_group])
        iam.Policy(api_stack, f"{name}Tracing", roles=[role], statements=[iam.PolicyStatement(
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])])
        log_group.grant_write(role)
        return fn

    api_function = function("ApiFunction", "lambda_src.http.handler", Duration.seconds(10))
    proxy.grant_connect(api_function, "app_user")
    api_function.connections.allow_to(proxy, ec2.Port.tcp(5432))
    api_function.add_environment("DB_HOST", proxy.endpoint)
    api = apigwv2.HttpApi(api_stack, "Api", create_default_stage=False,
                          default_integration=integrations.HttpLambdaIntegration("Integration", api_function))
    stage = apigwv2.HttpStage(api_stack, "Stage", http_api=api, stage_name="$default", auto_deploy=True,
                              throttle=apigwv2.ThrottleSettings(rate_limit=100, burst_limit=200),
                              access_log_settings=_AccessLogs(logs.LogGroup(api_stack, "AccessLogs")))
    events.grant_send_messages(api_function)
    api_function.add_environment("QUEUE_URL", events.queue_url)

    worker = function("WorkerFunction", "lambda_src.worker.handler", Duration.seconds(30))
    worker.add_event_source(event_sources.SqsEventSource(events, batch_size=10, max_concurrency=5,
                                                         report_batch_item_failures=True))
    proxy.grant_connect(worker, "app_user")
    worker.connections.allow_to(proxy, ec2.Port.tcp(5432))

    nightly = function("ScheduleFunction", "lambda_src.schedule.handler", Duration.minutes(2))
    proxy.grant_connect(nightly, "app_user")
    nightly.connections.allow_to(proxy, ec2.Port.tcp(5432))
    delivery_dlq = sqs.Queue(api_stack, "DeliveryDlq", enforce_ssl=True, retention_period=Duration.days(14))
    failures = sqs.Queue(api_stack, "Failures", enforce_ssl=True, retention_period=Duration.days(14))
    scheduler.Schedule(api_stack, "Nightly", schedule=scheduler.ScheduleExpression.expression("cron(0 3 * * ? *)"),
                       target=targets.LambdaInvoke(nightly, dead_letter_queue=delivery_dlq, retry_attempts=3,
                                                   max_event_age=Duration.hours(1)))
    nightly.configure_async_invoke(on_failure=destinations.SqsDestination(failures), retry_attempts=2)

    migrate = function("MigrateFunction", "lambda_src.migrate.handler", Duration.minutes(5))
    cluster.secret.grant_read(migrate)
    migrate.connections.allow_to(cluster, ec2.Port.tcp(5432))
    triggers.Trigger(api_stack, "Migrations", handler=migrate, execute_after=[cluster, proxy], execute_before=[stage])

    key = kms.Key(api_stack, "TopicKey", enable_key_rotation=True)
    key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    topic = sns.Topic(api_stack, "Alarms", master_key=key, enforce_ssl=True)
    dashboard = cloudwatch.Dashboard(api_stack, "Dashboard")
    metrics: list[tuple[str, cloudwatch.IMetric, float]] = []
    for fn in (api_function, worker, nightly, migrate):
        name = fn.node.id
        metrics += [(f"{name}Errors", fn.metric_errors(), 1), (f"{name}Throttles", fn.metric_throttles(), 1),
                    (f"{name}Duration", fn.metric_duration(statistic="p99"), 8000)]
    metrics += [("ApiConcurrency", api_function.metric("ConcurrentExecutions", statistic="Maximum"), 16),
                ("Http5xx", api.metric_server_error(), 1), ("HttpLatency", api.metric_latency(statistic="p99"), 2000),
                ("Dlq", dlq.metric_approximate_number_of_messages_visible(), 0),
                ("OldestMessage", events.metric_approximate_age_of_oldest_message(), 300),
                ("DeliveryDlq", delivery_dlq.metric_approximate_number_of_messages_visible(), 0),
                ("Failures", failures.metric_approximate_number_of_messages_visible(), 0),
                ("WorkerConcurrency", worker.metric("ConcurrentExecutions", statistic="Maximum"), 4),
                ("ScheduleConcurrency", nightly.metric("ConcurrentExecutions", statistic="Maximum"), 1),
                ("ProxyConnections", cloudwatch.Metric(namespace="AWS/RDS", metric_name="ClientConnections",
                                                       dimensions_map={"ProxyName": proxy.db_proxy_name}), 592)]
    alarms = []
    dashboard.add_widgets(cloudwatch.TextWidget(markdown="# users-dev", width=24, height=1))
    action = cw_actions.SnsAction(topic)
    for alarm_id, metric, threshold in metrics:
        alarm = cloudwatch.Alarm(api_stack, f"{alarm_id}Alarm", metric=metric, threshold=threshold, evaluation_periods=5,
                                 datapoints_to_alarm=3, treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                                 alarm_description=f"{alarm_id}: check the logs first")
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        dashboard.add_widgets(cloudwatch.GraphWidget(title=alarm_id, left=[metric]))
        alarms.append(alarm)
    dashboard.add_widgets(cloudwatch.AlarmStatusWidget(alarms=alarms))
