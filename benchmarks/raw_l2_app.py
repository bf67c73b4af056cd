"""The example service written directly with aws-cdk-lib L2 constructs: the anchor for synth time.

Same resources as ``stacks/`` (VPC with endpoints, Aurora Serverless v2, RDS Proxy, two functions
with log groups, an HTTP API with access logs, a migration trigger), without our constructs.
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
from aws_cdk import aws_rds as rds
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
    for name, service in (("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
                          ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS)):
        vpc.add_interface_endpoint(name, service=service, subnets=ec2.SubnetSelection(subnet_group_name="App"))
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

    api_stack = cdk.Stack(app, "Raw-Stateless", env=env)
    code = lambda_.Code.from_asset(code_dir)

    def function(name: str, handler: str, timeout: Duration) -> lambda_.Function:
        log_group = logs.LogGroup(api_stack, f"{name}Logs", retention=logs.RetentionDays.TWO_WEEKS)
        return lambda_.Function(api_stack, name, code=code, handler=handler, runtime=lambda_.Runtime.PYTHON_3_13,
                                architecture=lambda_.Architecture.ARM_64, timeout=timeout, memory_size=512,
                                reserved_concurrent_executions=20, log_group=log_group, tracing=lambda_.Tracing.ACTIVE,
                                logging_format=lambda_.LoggingFormat.JSON, vpc=vpc,
                                vpc_subnets=ec2.SubnetSelection(subnet_group_name="App"))

    api_function = function("Api", "lambda_src.http.handler", Duration.seconds(10))
    proxy.grant_connect(api_function, "app_user")
    api_function.connections.allow_to(proxy, ec2.Port.tcp(5432))
    api_function.add_environment("DB_HOST", proxy.endpoint)
    api = apigwv2.HttpApi(api_stack, "Api", create_default_stage=False,
                          default_integration=integrations.HttpLambdaIntegration("Integration", api_function))
    stage = apigwv2.HttpStage(api_stack, "Stage", http_api=api, stage_name="$default", auto_deploy=True,
                              throttle=apigwv2.ThrottleSettings(rate_limit=100, burst_limit=200),
                              access_log_settings=_AccessLogs(logs.LogGroup(api_stack, "AccessLogs")))
    migrate = function("Migrate", "lambda_src.migrate.handler", Duration.minutes(5))
    cluster.secret.grant_read(migrate)
    migrate.connections.allow_to(cluster, ec2.Port.tcp(5432))
    triggers.Trigger(api_stack, "Migrations", handler=migrate, execute_after=[cluster, proxy], execute_before=[stage])
