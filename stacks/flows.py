"""The deploy contract: every runtime flow AWS authorizes, as data, in one table.

Each entry names the caller, the actions and the resource, the documents that must allow it and
the AWS page that says so. ``make synth`` and ``tests/contract`` decide every entry against the
synthesized templates (:mod:`constructs_lib.contract`); denials are requests AWS must refuse.

- :func:`service_flows` (``realtime``, ``canary``, ``topology``): the example service, in each variant:
  with the proxy, functions log in to the proxy and the proxy to the cluster; ``direct`` and
  ``express`` functions log in to the cluster's own users, and no proxy flow exists;
- :func:`alone_flows` (one of :data:`CONSTRUCTS_ALONE`): each construct used alone, in the smallest
  app :func:`build_alone` makes with it.
"""
from __future__ import annotations

from typing import Any

from constructs_lib.contract import Anonymous, At, ExternalRole, Flow, Fmt, OtherAccount, Role, Service, Templates
from constructs_lib.contract.flows import Value

DOCS = {
    "api": "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html",
    "ws": "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html",
    "logs": "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html",
    "xray": "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    "iam_db": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html",
    "proxy_iam": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-setup.html",
    "secret": "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html",
    "secret_kms": "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html",
    "logs_kms": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    "monitoring": "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Monitoring.OS.Enabling.html",
    "secret_deny": "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html",
    "rotation": "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html",
    "esm": "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html",
    "sqs_send": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-examples-of-iam-policies.html",
    "scheduler": "https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role",
    "scheduler_dlq": "https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html",
    "destination": "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
    "alarm": "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html",
    "sns_kms": "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
    "sqs_tls": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html#enforce-encryption-data-in-transit",
    "sns_tls": "https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html#enforce-encryption-data-in-transit",
    "manage": "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html",
    "api_iam": "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html",
    "trigger": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html",
    "flowlogs": "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
    "assume": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-service.html",
    "default_sg": "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
    "kms_root": "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam",
    "cross": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html",
    "codedeploy_role": "https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-service-role.html",
    "hook": "https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-lambda",
    "hook_status": "https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html",
}

STATEFUL, STATELESS = "Stateful", "Stateless"
APP_USER, ADMIN_USER = "app_user", "postgres"
PROXY = At(STATEFUL, "Database/Proxy", "AWS::RDS::DBProxy")
CLUSTER = At(STATEFUL, "Database/Cluster", "AWS::RDS::DBCluster")
SECRET = At(STATEFUL, "Database/Cluster/Secret", "AWS::SecretsManager::Secret")
SECRET_KEY = At(STATEFUL, "SecretKey", "AWS::KMS::Key")
LOG_KEY = At(STATEFUL, "LogKey", "AWS::KMS::Key")
VIA_SECRETS_MANAGER = (("kms:ViaService", Fmt("secretsmanager.{region}.amazonaws.com")),)
MONITORING_ROLE = At(STATEFUL, "Database/Cluster/Writer", "AWS::RDS::DBInstance").prop("MonitoringRoleArn")
#: Every log group of the example (stack, construct path), each encrypted with the log key.
LOG_GROUPS = ((STATEFUL, "Network/FlowLogs"), (STATEFUL, "Custom::VpcRestrictDefaultSGCustomResourceProvider/LogGroup"),
              (STATEFUL, "Database/Cluster/RotationSingleUser/LogGroup"), (STATELESS, "HttpApi/AccessLogs"),
              (STATELESS, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/LogGroup"))
REALTIME_LOG_GROUPS = ((STATELESS, "WebSocketApi/AccessLogs"),)
EVENTS_QUEUE = At(STATEFUL, "UserEvents/Queue", "AWS::SQS::Queue")
EVENTS_DLQ = At(STATEFUL, "UserEvents/DeadLetterQueue", "AWS::SQS::Queue")
SCHEDULE_DLQ = At(STATELESS, "DailyMaintenance/DeliveryDeadLetterQueue", "AWS::SQS::Queue")
FAILURE_QUEUE = At(STATELESS, "DailyMaintenance/FailureQueue", "AWS::SQS::Queue")
#: An operator of the account (its identity policy allows everything): what resource policies still refuse it.
OPERATOR = ExternalRole("Operator", ({"Effect": "Allow", "Action": "*", "Resource": "*"},), "an operator of the account")
TOPIC = At(STATELESS, "Monitoring/AlarmTopic", "AWS::SNS::Topic")
TOPIC_KEY = At(STATELESS, "Monitoring/TopicKey", "AWS::KMS::Key")
SCHEDULE = At(STATELESS, "DailyMaintenance/Schedule", "AWS::Scheduler::Schedule")
FLOW_LOG = At(STATEFUL, "Network/Vpc/All/FlowLog", "AWS::EC2::FlowLog")
TRIGGER_PROVIDER = At(STATELESS, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/Handler",
                      "AWS::Lambda::Function")
DEFAULT_SG_PROVIDER = At(STATEFUL, "Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler", "AWS::Lambda::Function")
WEBSOCKET_API = At(STATELESS, "WebSocketApi/Api", "AWS::ApiGatewayV2::Api")
HTTP_API = At(STATELESS, "HttpApi/Api", "AWS::ApiGatewayV2::Api")
WEBSOCKET_CONNECT = Fmt("arn:{partition}:execute-api:{region}:{account}:{0}/live/$connect", (WEBSOCKET_API,))


#: Canary stages (every stage but dev): CodeDeploy shifts the API function's alias, after the hook's smoke request.
API_ALIAS = At(STATELESS, "ApiFunction/Alias", "AWS::Lambda::Alias")
API_VERSION = At(STATELESS, "ApiFunction/Function/CurrentVersion", "AWS::Lambda::Version")
DEPLOYMENT_GROUP = At(STATELESS, "ApiFunction/Deployment", "AWS::CodeDeploy::DeploymentGroup")
DEPLOYMENT_APPLICATION = At(STATELESS, "ApiFunction/Deployment/Application", "AWS::CodeDeploy::Application")
DEPLOYMENT_ROLE = Role(DEPLOYMENT_GROUP.prop("ServiceRoleArn"))
CANARY_FUNCTIONS = {"DeployHook": "pre-traffic hook"}


def deployment_group_arn(group: str = "{1}", application: str = "{0}") -> Fmt:
    """The ARN of a CodeDeploy deployment group (by default the API function's)."""
    return Fmt("arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:" + application + "/" + group,
               (DEPLOYMENT_APPLICATION, DEPLOYMENT_GROUP))


def api_route(method: str, path: str) -> Fmt:
    """What a caller of the example's HTTP API asks execute-api:Invoke on: ``$default`` stage, method, path."""
    return Fmt("arn:{partition}:execute-api:{region}:{account}:{0}/$default/" + method + path, (HTTP_API,))

#: The example's functions: construct id -> label in the chart.
FUNCTIONS = {"ApiFunction": "API function", "WorkerFunction": "worker", "ScheduleFunction": "schedule function",
             "MigrateFunction": "migration function"}
REALTIME_FUNCTIONS = {"WebSocketFunction": "WebSocket function"}


def function(name: str) -> At:
    return At(STATELESS, f"{name}/Function", "AWS::Lambda::Function")


def role_of(name: str) -> Role:
    """The execution role the function really runs with (its ``Role`` property)."""
    return Role(function(name).prop("Role"))


def dbuser(resource_id: Value, user: str) -> Fmt:
    return Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:{0.last}/" + user, (resource_id,))


def proxy_user(user: str) -> Fmt:
    return dbuser(PROXY.attr("DBProxyArn"), user)


def cluster_user(user: str) -> Fmt:
    return dbuser(CLUSTER.attr("DBClusterResourceId"), user)


def log_stream(name: str) -> Fmt:
    group = At(STATELESS, f"{name}/LogGroup", "AWS::Logs::LogGroup")
    return Fmt("arn:{partition}:logs:{region}:{account}:log-group:{0}:log-stream:2026/11/30/[$LATEST]0f1e2d3c", (group,))


def log_key_flow(stack: str, path: str) -> Flow:
    """CloudWatch Logs uses the key that encrypts the group at ``<stack>/<path>``, for that group."""
    group = At(stack, path, "AWS::Logs::LogGroup")
    return Flow(f"CloudWatch Logs → log key for {path}", Service("logs.{region}.amazonaws.com"),
                ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"), group.prop("KmsKeyId"), ("kms",),
                DOCS["logs_kms"], context=(("kms:EncryptionContext:aws:logs:arn", Fmt(
                    "arn:{partition}:logs:{region}:{account}:log-group:{0}", (group,), stack)),),
                label=("CloudWatch Logs", "log key"))


def alarm(label: str) -> Fmt:
    return Fmt("{0}", (At(STATELESS, f"Monitoring/{label}", "AWS::CloudWatch::Alarm").attr("Arn"),))


def _function_flows(name: str, label: str) -> list[Flow]:
    return [
        Flow(f"Lambda → {label} role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",),
             function(name).prop("Role"), ("resource",), DOCS["assume"], label=("Lambda", f"{label} role")),
        Flow(f"{label} → its log group", role_of(name), ("logs:CreateLogStream", "logs:PutLogEvents"),
             log_stream(name), ("identity",), DOCS["logs"], label=(label, f"{label} logs")),
        Flow(f"{label} → X-Ray", role_of(name), ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
             Fmt("*"), ("identity",), DOCS["xray"], label=(label, "X-Ray")),
        Flow(f"another account → invoke {label}", OtherAccount(), ("lambda:InvokeFunction",),
             function(name).attr("Arn"), (), DOCS["cross"], allowed=False, label=("another account", label)),
    ]


#: The cluster resource id the tests give an express stage (``-c express_cluster_resource_id``).
EXPRESS_CLUSTER_ID = "cluster-EXPRESS0TEST0RESOURCE0ID0"


def express_user(cluster_id: str, user: str) -> Fmt:
    return Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:" + cluster_id + "/" + user, (), STATELESS)


def _login_flows(functions: dict[str, str], connecting: list[str], topology: str, cluster_id: str) -> list[Flow]:
    """The flows logging in to the database, in each topology."""
    if topology == "proxy":
        return [
            *[Flow(f"{functions[name]} → proxy as {APP_USER}", role_of(name), ("rds-db:connect",), proxy_user(APP_USER),
                   ("identity",), DOCS["iam_db"], label=(functions[name], "RDS Proxy")) for name in connecting],
            Flow("Proxy → cluster as app_user", Role(PROXY.prop("RoleArn")), ("rds-db:connect",),
                 cluster_user(APP_USER), ("identity",), DOCS["proxy_iam"], label=("RDS Proxy", "Aurora cluster")),
            Flow("RDS → proxy role", Service("rds.amazonaws.com"), ("sts:AssumeRole",), PROXY.prop("RoleArn"),
                 ("resource",), DOCS["assume"], label=("RDS", "RDS Proxy")),
            Flow("API function → proxy as the admin user", role_of("ApiFunction"), ("rds-db:connect",),
                 proxy_user(ADMIN_USER), (), DOCS["iam_db"], allowed=False, label=("API function", "admin user")),
            Flow("API function → another proxy", role_of("ApiFunction"), ("rds-db:connect",),
                 Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:prx-0another0proxy/" + APP_USER), (),
                 DOCS["iam_db"], allowed=False, label=("API function", "another proxy")),
            Flow("API function → cluster directly", role_of("ApiFunction"), ("rds-db:connect",),
                 cluster_user(APP_USER), (), DOCS["iam_db"], allowed=False, label=("API function", "Aurora cluster")),
            Flow("Proxy → cluster as the admin user", Role(PROXY.prop("RoleArn")), ("rds-db:connect",),
                 cluster_user(ADMIN_USER), (), DOCS["proxy_iam"], allowed=False, label=("RDS Proxy", "admin user")),
        ]
    user = cluster_user if topology == "direct" else (lambda name: express_user(cluster_id, name))
    flows = [
        *[Flow(f"{functions[name]} → cluster as {APP_USER}", role_of(name), ("rds-db:connect",), user(APP_USER),
               ("identity",), DOCS["iam_db"], label=(functions[name], "Aurora cluster")) for name in connecting],
        Flow("API function → cluster as the admin user", role_of("ApiFunction"), ("rds-db:connect",),
             user(ADMIN_USER), (), DOCS["iam_db"], allowed=False, label=("API function", "admin user")),
        Flow("API function → another cluster", role_of("ApiFunction"), ("rds-db:connect",),
             Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:cluster-ANOTHER0CLUSTER/" + APP_USER), (),
             DOCS["iam_db"], allowed=False, label=("API function", "another cluster")),
    ]
    if topology == "express":  # the master user logs in with IAM too: only the migrations may
        flows += [
            Flow("migration function → cluster as the admin user", role_of("MigrateFunction"), ("rds-db:connect",),
                 user(ADMIN_USER), ("identity",), DOCS["iam_db"], label=("migration function", "admin user")),
            Flow("worker → cluster as the admin user", role_of("WorkerFunction"), ("rds-db:connect",),
                 user(ADMIN_USER), (), DOCS["iam_db"], allowed=False, label=("worker", "admin user")),
        ]
    return flows


#: Flows of resources an express stage does not have (matched in the flow's name).
EXPRESS_ABSENT = ("admin secret", "secret key", "default-SG", "flow logs", "Enhanced Monitoring", "RDSOSMetrics",
                  "Network/", "Custom::VpcRestrictDefaultSG", "RotationSingleUser")


def service_flows(realtime: bool = False, canary: bool = False, topology: str = "proxy",
                  express_cluster_id: str = EXPRESS_CLUSTER_ID) -> list[Flow]:
    """Every flow of the example service (``realtime``: with ``-c realtime=true``; ``canary``: a stage
    whose API function deploys gradually, every stage but dev; ``topology``: with ``-c topology=…``;
    ``express_cluster_id``: its ``-c express_cluster_resource_id``)."""
    functions = {**FUNCTIONS, **(REALTIME_FUNCTIONS if realtime else {}), **(CANARY_FUNCTIONS if canary else {})}
    #: What the HTTP API invokes: the alias CodeDeploy shifts, or the function itself.
    api_target = API_ALIAS if canary else function("ApiFunction").attr("Arn")
    flows: list[Flow] = [flow for name, label in functions.items() for flow in _function_flows(name, label)]
    connecting = ["ApiFunction", "WorkerFunction", "ScheduleFunction"] + (["WebSocketFunction"] if realtime else [])
    flows += [
        # ---- HTTP API ---------------------------------------------------------------------------
        Flow("HTTP API → API function", Service("apigateway.amazonaws.com", Fmt(
            "arn:{partition}:execute-api:{region}:{account}:{0}/$default/$default", (HTTP_API,))),
            ("lambda:InvokeFunction",), api_target, ("resource",), DOCS["api"],
            label=("HTTP API", "API function")),
        Flow("another API → API function", Service("apigateway.amazonaws.com", Fmt(
            "arn:{partition}:execute-api:{region}:{account}:otherapi/$default/$default")),
            ("lambda:InvokeFunction",), api_target, (), DOCS["api"], allowed=False,
            label=("another API", "API function")),
        # IAM authorization: a signed caller whose identity policy allows execute-api:Invoke, and no one else
        Flow("operator → HTTP API", OPERATOR, ("execute-api:Invoke",), api_route("DELETE", "/users/1"), ("identity",),
             DOCS["api_iam"], label=("operator", "HTTP API")),
        Flow("anyone, unsigned → HTTP API", Anonymous(), ("execute-api:Invoke",), api_route("GET", "/users/1"), (),
             DOCS["api_iam"], allowed=False, label=("anyone, unsigned", "HTTP API")),
        Flow("a role without execute-api:Invoke → HTTP API", role_of("WorkerFunction"), ("execute-api:Invoke",),
             api_route("GET", "/users/1"), (), DOCS["api_iam"], allowed=False, label=("worker", "HTTP API")),
        Flow("another account → HTTP API", OtherAccount(), ("execute-api:Invoke",), api_route("GET", "/users/1"), (),
             DOCS["api_iam"], allowed=False, label=("another account", "HTTP API")),
        *_login_flows(functions, connecting, topology, express_cluster_id),
        # ---- admin secret -------------------------------------------------------------------------
        Flow("migration function → admin secret", role_of("MigrateFunction"),
             ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"), SECRET, ("identity", "kms"),
             DOCS["secret"], key_actions=("kms:Decrypt",), context=VIA_SECRETS_MANAGER,
             label=("migration function", "admin secret")),
        Flow("migration function → secret key, not through Secrets Manager", role_of("MigrateFunction"),
             ("kms:Decrypt",), SECRET_KEY.attr("Arn"), (), DOCS["secret_kms"], allowed=False,
             label=("migration function", "secret key")),
        Flow("API function → admin secret", role_of("ApiFunction"), ("secretsmanager:GetSecretValue",), SECRET, (),
             DOCS["secret"], allowed=False, label=("API function", "admin secret")),
        Flow("rotation function → admin secret", ExternalRole(
            "SecretsManagerRDSPostgreSQLRotationSingleUserRole",
            ({"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                            "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
              "Resource": "*"},
             {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}),
            "the AWS-published SecretsManagerRDSPostgreSQLRotationSingleUser application's role (with kmsKeyArn)"),
            ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
             "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DescribeSecret"), SECRET, ("identity", "kms"),
            DOCS["rotation"], key_actions=("kms:Decrypt", "kms:GenerateDataKey"), context=VIA_SECRETS_MANAGER,
            label=("rotation function", "admin secret")),
        Flow("operator → delete the admin secret", OPERATOR, ("secretsmanager:DeleteSecret",), SECRET, (),
             DOCS["secret_deny"], allowed=False, label=("operator", "admin secret")),
        # ---- queues -------------------------------------------------------------------------------
        Flow("worker event source mapping → events queue", role_of("WorkerFunction"),
             ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
             EVENTS_QUEUE.attr("Arn"), ("identity",), DOCS["esm"], label=("worker", "events queue")),
        Flow("API function → events queue (send)", role_of("ApiFunction"), ("sqs:SendMessage",),
             EVENTS_QUEUE.attr("Arn"), ("identity",), DOCS["sqs_send"], label=("API function", "events queue")),
        Flow("schedule function → events queue (send)", role_of("ScheduleFunction"), ("sqs:SendMessage",),
             EVENTS_QUEUE.attr("Arn"), ("identity",), DOCS["sqs_send"], label=("schedule function", "events queue")),
        Flow("API function → events queue (receive)", role_of("ApiFunction"), ("sqs:ReceiveMessage",),
             EVENTS_QUEUE.attr("Arn"), (), DOCS["esm"], allowed=False, label=("API function", "events queue")),
        Flow("events queue without TLS", role_of("ApiFunction"), ("sqs:SendMessage",), EVENTS_QUEUE.attr("Arn"), (),
             DOCS["sqs_send"], context=(("aws:SecureTransport", "false"),), allowed=False,
             label=("API function", "events queue")),
        Flow("another account → events queue", OtherAccount(), ("sqs:SendMessage",), EVENTS_QUEUE.attr("Arn"), (),
             DOCS["cross"], allowed=False, label=("another account", "events queue")),
        *[flow for label, queue in (("events DLQ", EVENTS_DLQ), ("schedule DLQ", SCHEDULE_DLQ),
                                    ("failure queue", FAILURE_QUEUE))
          for flow in (
              Flow(f"operator → {label} (read and redrive)", OPERATOR, ("sqs:ReceiveMessage", "sqs:DeleteMessage"),
                   queue.attr("Arn"), ("identity",), DOCS["sqs_send"], label=("operator", label)),
              Flow(f"operator → {label} without TLS", OPERATOR, ("sqs:ReceiveMessage",), queue.attr("Arn"), (),
                   DOCS["sqs_tls"], context=(("aws:SecureTransport", "false"),), allowed=False,
                   label=("operator", label)))],
        # ---- schedule -----------------------------------------------------------------------------
        Flow("Scheduler → scheduler role", Service("scheduler.amazonaws.com"), ("sts:AssumeRole",),
             SCHEDULE.prop("Target.RoleArn"), ("resource",), DOCS["assume"], label=("EventBridge Scheduler", "scheduler role")),
        Flow("scheduler → schedule function", Role(SCHEDULE.prop("Target.RoleArn")), ("lambda:InvokeFunction",),
             SCHEDULE.prop("Target.Arn"), ("identity",), DOCS["scheduler"], label=("scheduler role", "schedule function")),
        Flow("scheduler → its dead-letter queue", Role(SCHEDULE.prop("Target.RoleArn")), ("sqs:SendMessage",),
             SCHEDULE.prop("Target.DeadLetterConfig.Arn"), ("identity",), DOCS["scheduler_dlq"],
             label=("scheduler role", "schedule DLQ")),
        Flow("scheduler → API function", Role(SCHEDULE.prop("Target.RoleArn")), ("lambda:InvokeFunction",),
             function("ApiFunction").attr("Arn"), (), DOCS["scheduler"], allowed=False,
             label=("scheduler role", "API function")),
        Flow("schedule function async failure → failure queue", role_of("ScheduleFunction"), ("sqs:SendMessage",),
             At(STATELESS, "ScheduleFunction/Function/EventInvokeConfig", "AWS::Lambda::EventInvokeConfig").prop(
                 "DestinationConfig.OnFailure.Destination"), ("identity",), DOCS["destination"],
             label=("schedule function", "failure queue")),
        # ---- alarms --------------------------------------------------------------------------------
        Flow("CloudWatch alarm → alarm topic", Service("cloudwatch.amazonaws.com", alarm("ApiErrors")),
             ("sns:Publish",), TOPIC, ("resource", "kms"), DOCS["alarm"],
             key_actions=("kms:GenerateDataKey", "kms:Decrypt"), label=("CloudWatch alarms", "alarm topic")),
        Flow("alarm topic without TLS", Service("cloudwatch.amazonaws.com", alarm("ApiErrors")), ("sns:Publish",),
             TOPIC, (), DOCS["sns_tls"], context=(("aws:SecureTransport", "false"),), allowed=False,
             label=("CloudWatch alarms", "alarm topic")),
        Flow("another account's alarm → alarm topic", Service(
            "cloudwatch.amazonaws.com", Fmt("arn:{partition}:cloudwatch:{region}:999999999999:alarm:Other"),
            source_account="999999999999"), ("sns:Publish",), TOPIC, (), DOCS["alarm"], allowed=False,
            label=("another account", "alarm topic")),
        Flow("another account's alarm → topic key", Service(
            "cloudwatch.amazonaws.com", Fmt("arn:{partition}:cloudwatch:{region}:999999999999:alarm:Other"),
            source_account="999999999999"), ("kms:GenerateDataKey",), TOPIC_KEY.attr("Arn"), (), DOCS["sns_kms"],
            allowed=False, label=("another account", "topic key")),
        Flow("another account → alarm topic", OtherAccount(), ("sns:Publish",), TOPIC, (), DOCS["cross"],
             allowed=False, label=("another account", "alarm topic")),
        Flow("operator → manage the topic key", OPERATOR, ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"),
             TOPIC_KEY.attr("Arn"), ("identity", "kms"), DOCS["kms_root"], label=("operator", "topic key")),
        # ---- deploy time ---------------------------------------------------------------------------
        Flow("trigger provider → migration function", Role(TRIGGER_PROVIDER.prop("Role")), ("lambda:InvokeFunction",),
             At(STATELESS, "Migrations/Trigger", "Custom::Trigger").prop("HandlerArn"), ("identity",), DOCS["trigger"],
             label=("migration trigger", "migration function")),
        Flow("Lambda → trigger provider role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",),
             TRIGGER_PROVIDER.prop("Role"), ("resource",), DOCS["assume"], label=("Lambda", "migration trigger")),
        Flow("trigger provider → its log group", Role(TRIGGER_PROVIDER.prop("Role")), ("logs:PutLogEvents",),
             Fmt("arn:{partition}:logs:{region}:{account}:log-group:/aws/lambda/{0}:log-stream:s", (TRIGGER_PROVIDER,)),
             ("identity",), DOCS["logs"], label=("migration trigger", "provider logs")),
        Flow("default-SG provider → default security group", Role(DEFAULT_SG_PROVIDER.prop("Role")),
             ("ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"), Fmt(
                 "arn:{partition}:ec2:{region}:{account}:security-group/{0}",
                 (At(STATEFUL, "Network/Vpc", "AWS::EC2::VPC").attr("DefaultSecurityGroup"),), STATEFUL),
             ("identity",), DOCS["default_sg"], label=("default-SG provider", "default security group")),
        Flow("Lambda → default-SG provider role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",),
             DEFAULT_SG_PROVIDER.prop("Role"), ("resource",), DOCS["assume"], label=("Lambda", "default-SG provider")),
        # ---- network ---------------------------------------------------------------------------------
        Flow("VPC flow logs → their log group", Role(FLOW_LOG.prop("DeliverLogsPermissionArn")),
             ("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"), Fmt(
                 "arn:{partition}:logs:{region}:{account}:log-group:{0}:log-stream:eni-0abc-all", (
                     At(STATEFUL, "Network/FlowLogs", "AWS::Logs::LogGroup"),), STATEFUL),
             ("identity",), DOCS["flowlogs"], label=("VPC flow logs", "flow log group")),
        Flow("flow logs service → flow logs role", Service("vpc-flow-logs.amazonaws.com"), ("sts:AssumeRole",),
             FLOW_LOG.prop("DeliverLogsPermissionArn"), ("resource",), DOCS["flowlogs"],
             label=("VPC flow logs", "flow logs role")),
        # ---- Enhanced Monitoring ----------------------------------------------------------------------
        Flow("Enhanced Monitoring → its role", Service("monitoring.rds.amazonaws.com"), ("sts:AssumeRole",),
             MONITORING_ROLE, ("resource",), DOCS["monitoring"], label=("Enhanced Monitoring", "monitoring role")),
        Flow("Enhanced Monitoring → RDSOSMetrics", Role(MONITORING_ROLE), ("logs:CreateLogStream", "logs:PutLogEvents"),
             Fmt("arn:{partition}:logs:{region}:{account}:log-group:RDSOSMetrics:log-stream:db-ABC", (), STATEFUL),
             ("identity",), DOCS["monitoring"], label=("monitoring role", "RDSOSMetrics")),
        # ---- the log key: CloudWatch Logs encrypts each group with it ----------------------------------
        *[log_key_flow(stack, path) for stack, path in
          LOG_GROUPS + tuple((STATELESS, f"{name}/LogGroup") for name in functions)
          + (REALTIME_LOG_GROUPS if realtime else ())],
        Flow("CloudWatch Logs, another account's group → log key", Service("logs.{region}.amazonaws.com"),
             ("kms:GenerateDataKey",), LOG_KEY.attr("Arn"), (), DOCS["logs_kms"], context=(
                 ("kms:EncryptionContext:aws:logs:arn", "arn:aws:logs:eu-west-1:999999999999:log-group:theirs"),),
             allowed=False, label=("CloudWatch Logs", "log key")),
        Flow("operator → manage the log key", OPERATOR, ("kms:PutKeyPolicy",), LOG_KEY.attr("Arn"), ("identity", "kms"),
             DOCS["kms_root"], label=("operator", "log key")),
        Flow("API function → log key", role_of("ApiFunction"), ("kms:Decrypt",), LOG_KEY.attr("Arn"), (),
             DOCS["logs_kms"], allowed=False, label=("API function", "log key")),
    ]
    if canary:
        flows += canary_flows()
    if topology == "express":  # no VPC, no cluster of ours: no secret, rotation, network or Enhanced Monitoring
        flows = [flow for flow in flows if not any(part in flow.name for part in EXPRESS_ABSENT)]
    if realtime:
        flows += [
            Flow("operator → connect to the WebSocket API", OPERATOR, ("execute-api:Invoke",), WEBSOCKET_CONNECT,
                 ("identity",), DOCS["manage"], label=("operator", "WebSocket API")),
            Flow("anyone, unsigned → connect to the WebSocket API", Anonymous(), ("execute-api:Invoke",),
                 WEBSOCKET_CONNECT, (), DOCS["manage"], allowed=False, label=("anyone, unsigned", "WebSocket API")),
            Flow("broadcaster → connect to the WebSocket API", role_of("WorkerFunction"), ("execute-api:Invoke",),
                 WEBSOCKET_CONNECT, (), DOCS["manage"], allowed=False, label=("worker", "WebSocket API")),
            Flow("another account → connect to the WebSocket API", OtherAccount(), ("execute-api:Invoke",),
                 WEBSOCKET_CONNECT, (), DOCS["manage"], allowed=False, label=("another account", "WebSocket API")),
            *[Flow(f"WebSocket API {route} → WebSocket function", Service("apigateway.amazonaws.com", Fmt(
                "arn:{partition}:execute-api:{region}:{account}:{0}/live/" + route, (WEBSOCKET_API,))),
                ("lambda:InvokeFunction",), function("WebSocketFunction").attr("Arn"), ("resource",), DOCS["ws"],
                label=("WebSocket API", "WebSocket function")) for route in ("$connect", "$disconnect", "$default")],
            *[Flow(f"{functions[name]} → ManageConnections", role_of(name), ("execute-api:ManageConnections",), Fmt(
                "arn:{partition}:execute-api:{region}:{account}:{0}/live/POST/@connections/abc123=", (WEBSOCKET_API,)),
                ("identity",), DOCS["manage"], label=(functions[name], "WebSocket connections"))
              for name in ("WebSocketFunction", "WorkerFunction", "ApiFunction")],
            Flow("broadcaster → another API's connections", role_of("WorkerFunction"),
                 ("execute-api:ManageConnections",),
                 Fmt("arn:{partition}:execute-api:{region}:{account}:otherapi/live/POST/@connections/abc123="), (),
                 DOCS["manage"], allowed=False, label=("worker", "another API")),
            Flow("broadcaster → the HTTP API", role_of("WorkerFunction"), ("execute-api:ManageConnections",),
                 Fmt("arn:{partition}:execute-api:{region}:{account}:{0}/live/POST/@connections/abc123=", (HTTP_API,)),
                 (), DOCS["manage"], allowed=False, label=("worker", "HTTP API")),
        ]
    return flows


def canary_flows() -> list[Flow]:
    """CodeDeploy shifting the API function's alias, and the pre-traffic hook: it may invoke the new
    version only, and report to its own deployment only."""
    hook = role_of("DeployHook")
    return [
        Flow("CodeDeploy → deployment role", Service("codedeploy.amazonaws.com"), ("sts:AssumeRole",),
             DEPLOYMENT_GROUP.prop("ServiceRoleArn"), ("resource",), DOCS["codedeploy_role"],
             label=("CodeDeploy", "deployment role")),
        Flow("CodeDeploy → shift the live alias", DEPLOYMENT_ROLE, ("lambda:GetAlias", "lambda:UpdateAlias"),
             API_ALIAS, ("identity",), DOCS["codedeploy_role"], label=("deployment role", "API function")),
        Flow("CodeDeploy → read the rollback alarms", DEPLOYMENT_ROLE, ("cloudwatch:DescribeAlarms",),
             alarm("ApiErrors"), ("identity",), DOCS["codedeploy_role"], label=("deployment role", "rollback alarms")),
        Flow("CodeDeploy → pre-traffic hook", DEPLOYMENT_ROLE, ("lambda:InvokeFunction",),
             function("DeployHook").attr("Arn"), ("identity",), DOCS["hook"],
             label=("deployment role", "pre-traffic hook")),
        Flow("deployment role → API function", DEPLOYMENT_ROLE, ("lambda:InvokeFunction",),
             function("ApiFunction").attr("Arn"), (), DOCS["hook"], allowed=False,
             label=("deployment role", "API function")),
        Flow("pre-traffic hook → the new API version", hook, ("lambda:InvokeFunction",), API_VERSION,
             ("identity",), DOCS["hook"], label=("pre-traffic hook", "new API version")),
        Flow("pre-traffic hook → its deployment's status", hook, ("codedeploy:PutLifecycleEventHookExecutionStatus",),
             deployment_group_arn(), ("identity",), DOCS["hook_status"], label=("pre-traffic hook", "its deployment")),
        Flow("pre-traffic hook → another function", hook, ("lambda:InvokeFunction",),
             function("WorkerFunction").attr("Arn"), (), DOCS["hook"], allowed=False,
             label=("pre-traffic hook", "worker")),
        Flow("pre-traffic hook → the live alias", hook, ("lambda:InvokeFunction",), API_ALIAS, (), DOCS["hook"],
             allowed=False, label=("pre-traffic hook", "API function")),
        Flow("pre-traffic hook → the API function's $LATEST", hook, ("lambda:InvokeFunction",),
             function("ApiFunction").attr("Arn"), (), DOCS["hook"], allowed=False,
             label=("pre-traffic hook", "API function")),
        Flow("pre-traffic hook → another deployment group", hook, ("codedeploy:PutLifecycleEventHookExecutionStatus",),
             deployment_group_arn(group="OtherGroup"), (), DOCS["hook_status"], allowed=False,
             label=("pre-traffic hook", "another deployment")),
        Flow("pre-traffic hook → another application's deployment", hook,
             ("codedeploy:PutLifecycleEventHookExecutionStatus",),
             deployment_group_arn(group="OtherGroup", application="OtherApplication"), (), DOCS["hook_status"],
             allowed=False, label=("pre-traffic hook", "another deployment")),
        Flow("API function → its own deployment's status", role_of("ApiFunction"),
             ("codedeploy:PutLifecycleEventHookExecutionStatus",), deployment_group_arn(), (), DOCS["hook_status"],
             allowed=False, label=("API function", "its deployment")),
    ]


def stages_of(templates: Templates) -> dict[str, Templates]:
    """The example's stages found in an assembly (``Users-<stage>-Stateful``/``-Stateless``), each alone."""
    found: dict[str, Templates] = {}
    for name in sorted(templates.templates):
        if name.endswith("-Stateless"):
            prefix = name.removesuffix("-Stateless")
            if f"{prefix}-Stateful" in templates.templates:
                found[prefix] = templates.subset([name, f"{prefix}-Stateful"])
    return found


def is_canary(templates: Templates) -> bool:
    """Whether the stage deploys its API function gradually (it has a CodeDeploy deployment group)."""
    return any(r.type == "AWS::CodeDeploy::DeploymentGroup" for r in templates.resources())


def topology_of(templates: Templates) -> str:
    """The stage's database topology: ``proxy`` (an RDS Proxy), ``direct`` (a cluster, no proxy) or ``express``."""
    types = {r.type for r in templates.resources()}
    return "proxy" if "AWS::RDS::DBProxy" in types else "direct" if "AWS::RDS::DBCluster" in types else "express"


def express_cluster_id(templates: Templates) -> str:
    """The express cluster's resource id, as the stage's ``rds-db:connect`` grants name it."""
    import json
    import re

    found = re.search(r"dbuser:(cluster-[A-Za-z0-9]+)/", json.dumps([r.properties for r in templates.resources()]))
    return found.group(1) if found else EXPRESS_CLUSTER_ID


def is_realtime(templates: Templates) -> bool:
    """Whether the stage was synthesized with ``-c realtime=true`` (it has a WebSocket API)."""
    return any(r.type == "AWS::ApiGatewayV2::Api" and r.properties.get("ProtocolType") == "WEBSOCKET"
               for r in templates.resources())


# ---- each construct used alone ------------------------------------------------------------------
#: The stack every construct-alone app synthesizes into.
ALONE = "Alone"


def _alone_function(name: str) -> At:
    return At(ALONE, f"{name}/Function", "AWS::Lambda::Function")


def _alone_role(name: str) -> Role:
    return Role(_alone_function(name).prop("Role"))


def build_alone(scope: Any, construct: str) -> None:
    """Add to ``scope`` (a stack named :data:`ALONE`) the smallest app using ``construct`` alone."""
    from aws_cdk import Duration
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_lambda as lambda_

    from constructs_lib import (DatabaseMigrations, LambdaHttpApi, LambdaWebSocketApi, QueueWorker, ScheduledTask,
                                ServerlessDatabase, ServerlessFunction, ServiceMonitoring, ServiceNetwork, WorkQueue)

    code = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")

    def fn(name: str, **props: Any) -> ServerlessFunction:
        return ServerlessFunction(scope, name, code=code, handler="index.handler", **props)

    if construct == "ServerlessFunction":
        fn("Fn")
    elif construct == "LambdaHttpApi":
        LambdaHttpApi(scope, "Api", function=fn("Fn")).grant_invoke(fn("Reader"), method="GET", path="/users/*")
    elif construct == "WorkQueue":
        queue = WorkQueue(scope, "Events", encryption_key=kms.Key(scope, "QueueKey", enable_key_rotation=True))
        QueueWorker(scope, "EventsWorker", function=fn("Worker", timeout=Duration.seconds(30)), queue=queue)
        queue.grant_send_to(fn("Producer"))
    elif construct == "ScheduledTask":
        ScheduledTask(scope, "Nightly", function=fn("Job"), schedule="cron(0 3 * * ? *)")
    elif construct == "ServiceMonitoring":
        monitoring = ServiceMonitoring(scope, "Monitoring", service_name="alone")
        monitoring.monitor_function(fn("Fn"), "Fn")
    elif construct == "LambdaWebSocketApi":
        function = fn("Fn")
        api = LambdaWebSocketApi(scope, "Ws", function=function)
        api.grant_manage_connections(function)
        api.grant_connect(fn("Client"))
    elif construct == "GradualDeployment":
        from aws_cdk import aws_codedeploy as codedeploy

        function = fn("Fn", deployment=codedeploy.LambdaDeploymentConfig.LINEAR_10_PERCENT_EVERY_1_MINUTE,
                      pre_traffic_hook=fn("Hook"))
        fn("Other")
        monitoring = ServiceMonitoring(scope, "Monitoring", service_name="alone")
        monitoring.monitor_function(function, "Fn")
        monitoring.monitor_http_api(LambdaHttpApi(scope, "Api", function=function))
    elif construct == "ServiceNetwork":
        ServiceNetwork(scope, "Network")
    elif construct in ("ServerlessDatabase", "DatabaseMigrations"):
        network = ServiceNetwork(scope, "Network")
        in_vpc = network.function_placement
        database = ServerlessDatabase(scope, "Database", vpc=network.vpc, vpc_subnets=network.data_subnets,
                                      https_egress=network.https_egress)
        if construct == "ServerlessDatabase":
            database.grant_connect(fn("App", reserved_concurrent_executions=5, **in_vpc))
            database.grant_connect(fn("Reports", reserved_concurrent_executions=2, **in_vpc), db_user="reporting")
        else:
            DatabaseMigrations(scope, "Migrations", database=database,
                               function=fn("Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1,
                                           **in_vpc))
    else:
        raise ValueError(f"no construct-alone app for {construct!r}")


def _logs_and_tracing(name: str) -> list[Flow]:
    group = At(ALONE, f"{name}/LogGroup", "AWS::Logs::LogGroup")
    return [
        Flow(f"{name} → its log group", _alone_role(name), ("logs:CreateLogStream", "logs:PutLogEvents"),
             Fmt("arn:{partition}:logs:{region}:{account}:log-group:{0}:log-stream:s", (group,), ALONE),
             ("identity",), DOCS["logs"], label=(name, f"{name} logs")),
        Flow(f"{name} → X-Ray", _alone_role(name), ("xray:PutTraceSegments",), Fmt("*"), ("identity",), DOCS["xray"],
             label=(name, "X-Ray")),
        Flow(f"Lambda → {name} role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",),
             _alone_function(name).prop("Role"), ("resource",), DOCS["assume"], label=("Lambda", f"{name} role")),
    ]


def _operator_reads(label: str, queue: At, key_actions: tuple[str, ...] = ()) -> list[Flow]:
    """An operator reads a dead-letter queue over TLS, and is refused without TLS."""
    kms = ("kms",) if key_actions else ()
    return [
        Flow(f"operator → {label}", OPERATOR, ("sqs:ReceiveMessage",), queue.attr("Arn"), ("identity", *kms),
             DOCS["sqs_send"], key_actions=key_actions),
        Flow(f"operator → {label} without TLS", OPERATOR, ("sqs:ReceiveMessage",), queue.attr("Arn"), (),
             DOCS["sqs_tls"], context=(("aws:SecureTransport", "false"),), allowed=False),
    ]


def _network_flows() -> list[Flow]:
    flow_log = At(ALONE, "Network/Vpc/All/FlowLog", "AWS::EC2::FlowLog")
    provider = At(ALONE, "Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler", "AWS::Lambda::Function")
    return [
        Flow("flow logs → their log group", Role(flow_log.prop("DeliverLogsPermissionArn")), ("logs:PutLogEvents",),
             Fmt("arn:{partition}:logs:{region}:{account}:log-group:{0}:log-stream:eni-1-all",
                 (At(ALONE, "Network/FlowLogs", "AWS::Logs::LogGroup"),), ALONE), ("identity",), DOCS["flowlogs"]),
        Flow("flow logs service → flow logs role", Service("vpc-flow-logs.amazonaws.com"), ("sts:AssumeRole",),
             flow_log.prop("DeliverLogsPermissionArn"), ("resource",), DOCS["flowlogs"]),
        Flow("default-SG provider → default security group", Role(provider.prop("Role")),
             ("ec2:RevokeSecurityGroupIngress",), Fmt("arn:{partition}:ec2:{region}:{account}:security-group/{0}", (
                 At(ALONE, "Network/Vpc", "AWS::EC2::VPC").attr("DefaultSecurityGroup"),), ALONE),
             ("identity",), DOCS["default_sg"]),
        Flow("Lambda → default-SG provider role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",),
             provider.prop("Role"), ("resource",), DOCS["assume"]),
    ]


def _database_flows(proxy: At) -> list[Flow]:
    secret = At(ALONE, "Database/Cluster/Secret", "AWS::SecretsManager::Secret")
    return [
        *_network_flows(),
        Flow("RDS → proxy role", Service("rds.amazonaws.com"), ("sts:AssumeRole",), proxy.prop("RoleArn"),
             ("resource",), DOCS["assume"]),
        Flow("Enhanced Monitoring → its role", Service("monitoring.rds.amazonaws.com"), ("sts:AssumeRole",),
             At(ALONE, "Database/Cluster/Writer", "AWS::RDS::DBInstance").prop("MonitoringRoleArn"), ("resource",),
             DOCS["monitoring"]),
        Flow("operator → delete the admin secret", OPERATOR, ("secretsmanager:DeleteSecret",), secret, (),
             DOCS["secret_deny"], allowed=False),
    ]


def _alone_flows(construct: str) -> list[Flow]:
    alone_api = At(ALONE, "Api/Api", "AWS::ApiGatewayV2::Api")
    queue = At(ALONE, "Events/Queue", "AWS::SQS::Queue").attr("Arn")
    proxy = At(ALONE, "Database/Proxy", "AWS::RDS::DBProxy")
    cluster = At(ALONE, "Database/Cluster", "AWS::RDS::DBCluster")
    proxy_role = Role(proxy.prop("RoleArn"))
    alarm_arn = Fmt("{0}", (At(ALONE, "Monitoring/FnErrors", "AWS::CloudWatch::Alarm").attr("Arn"),))
    topic = At(ALONE, "Monitoring/AlarmTopic", "AWS::SNS::Topic")
    ws_api = At(ALONE, "Ws/Api", "AWS::ApiGatewayV2::Api")
    schedule = At(ALONE, "Nightly/Schedule", "AWS::Scheduler::Schedule")
    ws_connect = Fmt("arn:{partition}:execute-api:{region}:{account}:{0}/live/$connect", (ws_api,), ALONE)

    def alone_route(method: str, path: str) -> Fmt:
        return Fmt("arn:{partition}:execute-api:{region}:{account}:{0}/$default/" + method + path, (alone_api,), ALONE)

    tables: dict[str, list[Flow]] = {
        "ServerlessFunction": [
            *_logs_and_tracing("Fn"),
            Flow("another account → invoke Fn", OtherAccount(), ("lambda:InvokeFunction",),
                 _alone_function("Fn").attr("Arn"), (), DOCS["cross"], allowed=False),
        ],
        "LambdaHttpApi": [
            *_logs_and_tracing("Fn"),
            Flow("HTTP API → Fn", Service("apigateway.amazonaws.com", Fmt(
                "arn:{partition}:execute-api:{region}:{account}:{0}/$default/$default", (alone_api,), ALONE)),
                ("lambda:InvokeFunction",), _alone_function("Fn").attr("Arn"), ("resource",), DOCS["api"]),
            Flow("another API → Fn", Service("apigateway.amazonaws.com", Fmt(
                "arn:{partition}:execute-api:{region}:{account}:otherapi/$default/$default", (), ALONE)),
                ("lambda:InvokeFunction",), _alone_function("Fn").attr("Arn"), (), DOCS["api"], allowed=False),
            *_logs_and_tracing("Reader"),
            Flow("Reader → GET /users/1", _alone_role("Reader"), ("execute-api:Invoke",), alone_route("GET", "/users/1"),
                 ("identity",), DOCS["api_iam"]),
            Flow("Reader → DELETE /users/1", _alone_role("Reader"), ("execute-api:Invoke",),
                 alone_route("DELETE", "/users/1"), (), DOCS["api_iam"], allowed=False),
            Flow("anyone, unsigned → Api", Anonymous(), ("execute-api:Invoke",), alone_route("GET", "/users/1"), (),
                 DOCS["api_iam"], allowed=False),
            Flow("Fn → Api", _alone_role("Fn"), ("execute-api:Invoke",), alone_route("GET", "/users/1"), (),
                 DOCS["api_iam"], allowed=False),
        ],
        "WorkQueue": [
            *_logs_and_tracing("Worker"), *_logs_and_tracing("Producer"),
            *_operator_reads("dead-letter queue", At(ALONE, "Events/DeadLetterQueue", "AWS::SQS::Queue"), ("kms:Decrypt",)),
            Flow("event source mapping → encrypted queue", _alone_role("Worker"),
                 ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"),
                 queue, ("identity", "kms"), DOCS["esm"], key_actions=("kms:Decrypt",)),
            Flow("producer → encrypted queue", _alone_role("Producer"), ("sqs:SendMessage",), queue, ("identity", "kms"),
                 DOCS["sqs_send"], key_actions=("kms:GenerateDataKey", "kms:Decrypt")),
            Flow("producer → receive from the queue", _alone_role("Producer"), ("sqs:ReceiveMessage",), queue, (),
                 DOCS["esm"], allowed=False),
            Flow("worker → queue without TLS", _alone_role("Worker"), ("sqs:ReceiveMessage",), queue, (),
                 DOCS["sqs_tls"], context=(("aws:SecureTransport", "false"),), allowed=False),
        ],
        "ScheduledTask": [
            *_logs_and_tracing("Job"),
            *_operator_reads("delivery DLQ", At(ALONE, "Nightly/DeliveryDeadLetterQueue", "AWS::SQS::Queue")),
            *_operator_reads("failure queue", At(ALONE, "Nightly/FailureQueue", "AWS::SQS::Queue")),
            Flow("Scheduler → scheduler role", Service("scheduler.amazonaws.com"), ("sts:AssumeRole",),
                 schedule.prop("Target.RoleArn"), ("resource",), DOCS["assume"]),
            Flow("scheduler → Job", Role(schedule.prop("Target.RoleArn")), ("lambda:InvokeFunction",),
                 schedule.prop("Target.Arn"), ("identity",), DOCS["scheduler"]),
            Flow("scheduler → its DLQ", Role(schedule.prop("Target.RoleArn")), ("sqs:SendMessage",),
                 schedule.prop("Target.DeadLetterConfig.Arn"), ("identity",), DOCS["scheduler_dlq"]),
            Flow("Job async failure → failure queue", _alone_role("Job"), ("sqs:SendMessage",), At(
                ALONE, "Job/Function/EventInvokeConfig", "AWS::Lambda::EventInvokeConfig").prop(
                "DestinationConfig.OnFailure.Destination"), ("identity",), DOCS["destination"]),
        ],
        "ServiceMonitoring": [
            *_logs_and_tracing("Fn"),
            Flow("alarm → topic", Service("cloudwatch.amazonaws.com", alarm_arn), ("sns:Publish",), topic,
                 ("resource", "kms"), DOCS["alarm"], key_actions=("kms:GenerateDataKey", "kms:Decrypt")),
            Flow("alarm → topic without TLS", Service("cloudwatch.amazonaws.com", alarm_arn), ("sns:Publish",), topic,
                 (), DOCS["sns_tls"], context=(("aws:SecureTransport", "false"),), allowed=False),
            Flow("another account's alarm → topic", Service(
                "cloudwatch.amazonaws.com", Fmt("arn:{partition}:cloudwatch:{region}:999999999999:alarm:X", (), ALONE),
                source_account="999999999999"), ("sns:Publish",), topic, (), DOCS["alarm"], allowed=False),
            Flow("operator → manage the topic key", OPERATOR, ("kms:PutKeyPolicy",),
                 At(ALONE, "Monitoring/TopicKey", "AWS::KMS::Key").attr("Arn"), ("identity", "kms"), DOCS["kms_root"]),
        ],
        "LambdaWebSocketApi": [
            *_logs_and_tracing("Fn"),
            *[Flow(f"WebSocket API {route} → Fn", Service("apigateway.amazonaws.com", Fmt(
                "arn:{partition}:execute-api:{region}:{account}:{0}/live/" + route, (ws_api,), ALONE)),
                ("lambda:InvokeFunction",), _alone_function("Fn").attr("Arn"), ("resource",), DOCS["ws"])
              for route in ("$connect", "$disconnect", "$default")],
            *_logs_and_tracing("Client"),
            Flow("Client → connect to Ws", _alone_role("Client"), ("execute-api:Invoke",), ws_connect, ("identity",),
                 DOCS["manage"]),
            Flow("anyone, unsigned → connect to Ws", Anonymous(), ("execute-api:Invoke",), ws_connect, (),
                 DOCS["manage"], allowed=False),
            Flow("Fn → connect to Ws", _alone_role("Fn"), ("execute-api:Invoke",), ws_connect, (), DOCS["manage"],
                 allowed=False),
            Flow("Fn → ManageConnections", _alone_role("Fn"), ("execute-api:ManageConnections",), Fmt(
                "arn:{partition}:execute-api:{region}:{account}:{0}/live/POST/@connections/c1=", (ws_api,), ALONE),
                ("identity",), DOCS["manage"]),
            Flow("Fn → another API's connections", _alone_role("Fn"), ("execute-api:ManageConnections",), Fmt(
                "arn:{partition}:execute-api:{region}:{account}:otherapi/live/POST/@connections/c1=", (), ALONE), (),
                DOCS["manage"], allowed=False),
        ],
        "GradualDeployment": _gradual_deployment_flows(alone_api, alarm_arn, topic),
        "ServiceNetwork": _network_flows(),
        "ServerlessDatabase": [
            *_logs_and_tracing("App"), *_logs_and_tracing("Reports"),
            Flow("App → proxy as app_user", _alone_role("App"), ("rds-db:connect",),
                 dbuser(proxy.attr("DBProxyArn"), APP_USER), ("identity",), DOCS["iam_db"]),
            Flow("Reports → proxy as reporting", _alone_role("Reports"), ("rds-db:connect",),
                 dbuser(proxy.attr("DBProxyArn"), "reporting"), ("identity",), DOCS["iam_db"]),
            Flow("App → proxy as reporting", _alone_role("App"), ("rds-db:connect",),
                 dbuser(proxy.attr("DBProxyArn"), "reporting"), (), DOCS["iam_db"], allowed=False),
            *[Flow(f"proxy → cluster as {user}", proxy_role, ("rds-db:connect",),
                   dbuser(cluster.attr("DBClusterResourceId"), user), ("identity",), DOCS["proxy_iam"])
              for user in (APP_USER, "reporting")],
            *[Flow(f"proxy → cluster as {user}", proxy_role, ("rds-db:connect",),
                   dbuser(cluster.attr("DBClusterResourceId"), user), (), DOCS["proxy_iam"], allowed=False)
              for user in (ADMIN_USER, "nobody")],
            *_database_flows(proxy),
        ],
        "DatabaseMigrations": [
            *_logs_and_tracing("Migrate"),
            *_database_flows(proxy),
            Flow("Lambda → trigger provider role", Service("lambda.amazonaws.com"), ("sts:AssumeRole",), At(
                ALONE, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/Handler",
                "AWS::Lambda::Function").prop("Role"), ("resource",), DOCS["assume"]),
            Flow("Migrate → admin secret", _alone_role("Migrate"), ("secretsmanager:GetSecretValue",),
                 At(ALONE, "Database/Cluster/Secret", "AWS::SecretsManager::Secret"), ("identity",), DOCS["secret"]),
            Flow("trigger provider → Migrate", Role(At(
                ALONE, "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider/Handler",
                "AWS::Lambda::Function").prop("Role")), ("lambda:InvokeFunction",),
                At(ALONE, "Migrations/Trigger", "Custom::Trigger").prop("HandlerArn"), ("identity",), DOCS["trigger"]),
            Flow("proxy → cluster, with no function connected", proxy_role, ("rds-db:connect",),
                 dbuser(cluster.attr("DBClusterResourceId"), APP_USER), (), DOCS["proxy_iam"], allowed=False),
        ],
    }
    return tables[construct]


def _gradual_deployment_flows(api: At, alarm_arn: Fmt, topic: At) -> list[Flow]:
    """ServerlessFunction(deployment=…, pre_traffic_hook=…) behind an HTTP API, monitored."""
    group = At(ALONE, "Fn/Deployment", "AWS::CodeDeploy::DeploymentGroup")
    application = At(ALONE, "Fn/Deployment/Application", "AWS::CodeDeploy::Application")
    deployer, hook = Role(group.prop("ServiceRoleArn")), _alone_role("Hook")
    alias = At(ALONE, "Fn/Alias", "AWS::Lambda::Alias")
    version = At(ALONE, "Fn/Function/CurrentVersion", "AWS::Lambda::Version")

    def group_arn(name: str = "{1}") -> Fmt:
        return Fmt("arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:{0}/" + name, (application, group),
                   ALONE)

    return [
        *_logs_and_tracing("Fn"), *_logs_and_tracing("Hook"), *_logs_and_tracing("Other"),
        Flow("HTTP API → Fn's alias", Service("apigateway.amazonaws.com", Fmt(
            "arn:{partition}:execute-api:{region}:{account}:{0}/$default/$default", (api,), ALONE)),
            ("lambda:InvokeFunction",), alias, ("resource",), DOCS["api"]),
        Flow("CodeDeploy → deployment role", Service("codedeploy.amazonaws.com"), ("sts:AssumeRole",),
             group.prop("ServiceRoleArn"), ("resource",), DOCS["codedeploy_role"]),
        Flow("deployment role → shift Fn's alias", deployer, ("lambda:UpdateAlias",), alias, ("identity",),
             DOCS["codedeploy_role"]),
        Flow("deployment role → Hook", deployer, ("lambda:InvokeFunction",), _alone_function("Hook").attr("Arn"),
             ("identity",), DOCS["hook"]),
        Flow("deployment role → Other", deployer, ("lambda:InvokeFunction",), _alone_function("Other").attr("Arn"),
             (), DOCS["hook"], allowed=False),
        Flow("Hook → the new version", hook, ("lambda:InvokeFunction",), version, ("identity",), DOCS["hook"]),
        Flow("Hook → its deployment's status", hook, ("codedeploy:PutLifecycleEventHookExecutionStatus",),
             group_arn(), ("identity",), DOCS["hook_status"]),
        Flow("Hook → Other", hook, ("lambda:InvokeFunction",), _alone_function("Other").attr("Arn"), (),
             DOCS["hook"], allowed=False),
        Flow("Hook → Fn's alias", hook, ("lambda:InvokeFunction",), alias, (), DOCS["hook"], allowed=False),
        Flow("Hook → Fn's $LATEST", hook, ("lambda:InvokeFunction",), _alone_function("Fn").attr("Arn"), (),
             DOCS["hook"], allowed=False),
        Flow("Hook → another deployment group", hook, ("codedeploy:PutLifecycleEventHookExecutionStatus",),
             group_arn("Other"), (), DOCS["hook_status"], allowed=False),
        Flow("rollback alarm → topic", Service("cloudwatch.amazonaws.com", alarm_arn), ("sns:Publish",), topic,
             ("resource", "kms"), DOCS["alarm"], key_actions=("kms:GenerateDataKey", "kms:Decrypt")),
        Flow("rollback alarm → topic without TLS", Service("cloudwatch.amazonaws.com", alarm_arn), ("sns:Publish",),
             topic, (), DOCS["sns_tls"], context=(("aws:SecureTransport", "false"),), allowed=False),
        Flow("operator → manage the topic key", OPERATOR, ("kms:PutKeyPolicy",),
             At(ALONE, "Monitoring/TopicKey", "AWS::KMS::Key").attr("Arn"), ("identity", "kms"), DOCS["kms_root"]),
    ]


#: Every construct used alone: its name -> the flows of its smallest app (:func:`build_alone`).
CONSTRUCTS_ALONE: tuple[str, ...] = ("ServerlessFunction", "LambdaHttpApi", "WorkQueue", "ScheduledTask",
                                     "ServiceMonitoring", "LambdaWebSocketApi", "ServiceNetwork",
                                     "ServerlessDatabase", "DatabaseMigrations", "GradualDeployment")


def alone_flows(construct: str) -> list[Flow]:
    return _alone_flows(construct)


def stage_flows(templates: Templates) -> tuple[str, list[Flow]]:
    """The flows of one synthesized stage of the example, chosen by what its templates hold (a WebSocket
    API, a deployment group, the database topology), and the variant's label (``" (realtime)"``…)."""
    realtime, canary, topology = is_realtime(templates), is_canary(templates), topology_of(templates)
    label = (f"{' (realtime)' if realtime else ''}{' (canary)' if canary else ''}"
             f"{'' if topology == 'proxy' else f' ({topology})'}")
    return label, service_flows(realtime, canary, topology, express_cluster_id(templates))
