"""The example service's deploy contract: every runtime flow AWS authorizes, as data.

Each entry names the caller, the actions and the resource, the documents that must allow it and
the AWS page that says so. ``make synth`` and ``tests/contract`` decide every entry against the
synthesized templates (:mod:`constructs_lib.contract`); denials are requests AWS must refuse.
``service_flows(realtime)`` is the list for one variant of the app.
"""
from __future__ import annotations

from constructs_lib.contract import At, ExternalRole, Flow, Fmt, OtherAccount, Role, Service, Templates

DOCS = {
    "api": "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html",
    "ws": "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integrations.html",
    "logs": "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html",
    "xray": "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
    "iam_db": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html",
    "proxy_iam": "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-setup.html",
    "secret": "https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html",
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
    "trigger": "https://docs.aws.amazon.com/lambda/latest/dg/lambda-api-permissions-ref.html",
    "flowlogs": "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
    "assume": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-service.html",
    "default_sg": "https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html",
    "kms_root": "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam",
    "cross": "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html",
}

STATEFUL, STATELESS = "Stateful", "Stateless"
APP_USER, ADMIN_USER = "app_user", "postgres"
PROXY = At(STATEFUL, "Database/Proxy", "AWS::RDS::DBProxy")
CLUSTER = At(STATEFUL, "Database/Cluster", "AWS::RDS::DBCluster")
SECRET = At(STATEFUL, "Database/Cluster/Secret", "AWS::SecretsManager::Secret")
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

#: The example's functions: construct id -> label in the chart.
FUNCTIONS = {"ApiFunction": "API function", "WorkerFunction": "worker", "ScheduleFunction": "schedule function",
             "MigrateFunction": "migration function"}
REALTIME_FUNCTIONS = {"WebSocketFunction": "WebSocket function"}


def function(name: str) -> At:
    return At(STATELESS, f"{name}/Function", "AWS::Lambda::Function")


def role_of(name: str) -> Role:
    """The execution role the function really runs with (its ``Role`` property)."""
    return Role(function(name).prop("Role"))


def dbuser(resource_id: Fmt | At | object, user: str) -> Fmt:
    return Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:{0.last}/" + user, (resource_id,))  # type: ignore[arg-type]


def proxy_user(user: str) -> Fmt:
    return dbuser(PROXY.attr("DBProxyArn"), user)


def cluster_user(user: str) -> Fmt:
    return dbuser(CLUSTER.attr("DBClusterResourceId"), user)


def log_stream(name: str) -> Fmt:
    group = At(STATELESS, f"{name}/LogGroup", "AWS::Logs::LogGroup")
    return Fmt("arn:{partition}:logs:{region}:{account}:log-group:{0}:log-stream:2026/11/30/[$LATEST]0f1e2d3c", (group,))


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


def service_flows(realtime: bool = False) -> list[Flow]:
    """Every flow of the example service (``realtime``: with ``-c realtime=true``)."""
    functions = {**FUNCTIONS, **(REALTIME_FUNCTIONS if realtime else {})}
    flows: list[Flow] = [flow for name, label in functions.items() for flow in _function_flows(name, label)]
    connecting = ["ApiFunction", "WorkerFunction", "ScheduleFunction"] + (["WebSocketFunction"] if realtime else [])
    flows += [
        # ---- HTTP API ---------------------------------------------------------------------------
        Flow("HTTP API → API function", Service("apigateway.amazonaws.com", Fmt(
            "arn:{partition}:execute-api:{region}:{account}:{0}/$default/$default", (HTTP_API,))),
            ("lambda:InvokeFunction",), function("ApiFunction").attr("Arn"), ("resource",), DOCS["api"],
            label=("HTTP API", "API function")),
        Flow("another API → API function", Service("apigateway.amazonaws.com", Fmt(
            "arn:{partition}:execute-api:{region}:{account}:otherapi/$default/$default")),
            ("lambda:InvokeFunction",), function("ApiFunction").attr("Arn"), (), DOCS["api"], allowed=False,
            label=("another API", "API function")),
        # ---- database ---------------------------------------------------------------------------
        *[Flow(f"{functions[name]} → proxy as {APP_USER}", role_of(name), ("rds-db:connect",), proxy_user(APP_USER),
               ("identity",), DOCS["iam_db"], label=(functions[name], "RDS Proxy")) for name in connecting],
        Flow("Proxy → cluster as app_user", Role(PROXY.prop("RoleArn")), ("rds-db:connect",), cluster_user(APP_USER),
             ("identity",), DOCS["proxy_iam"], label=("RDS Proxy", "Aurora cluster")),
        Flow("RDS → proxy role", Service("rds.amazonaws.com"), ("sts:AssumeRole",), PROXY.prop("RoleArn"),
             ("resource",), DOCS["assume"], label=("RDS", "RDS Proxy")),
        Flow("API function → proxy as the admin user", role_of("ApiFunction"), ("rds-db:connect",),
             proxy_user(ADMIN_USER), (), DOCS["iam_db"], allowed=False, label=("API function", "admin user")),
        Flow("API function → another proxy", role_of("ApiFunction"), ("rds-db:connect",),
             Fmt("arn:{partition}:rds-db:{region}:{account}:dbuser:prx-0another0proxy/" + APP_USER), (),
             DOCS["iam_db"], allowed=False, label=("API function", "another proxy")),
        Flow("API function → cluster directly", role_of("ApiFunction"), ("rds-db:connect",), cluster_user(APP_USER),
             (), DOCS["iam_db"], allowed=False, label=("API function", "Aurora cluster")),
        Flow("Proxy → cluster as the admin user", Role(PROXY.prop("RoleArn")), ("rds-db:connect",),
             cluster_user(ADMIN_USER), (), DOCS["proxy_iam"], allowed=False, label=("RDS Proxy", "admin user")),
        # ---- admin secret -------------------------------------------------------------------------
        Flow("migration function → admin secret", role_of("MigrateFunction"),
             ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"), SECRET, ("identity",), DOCS["secret"],
             label=("migration function", "admin secret")),
        Flow("API function → admin secret", role_of("ApiFunction"), ("secretsmanager:GetSecretValue",), SECRET, (),
             DOCS["secret"], allowed=False, label=("API function", "admin secret")),
        Flow("rotation function → admin secret", ExternalRole(
            "SecretsManagerRDSPostgreSQLRotationSingleUserRole",
            ({"Effect": "Allow", "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                                            "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
              "Resource": "*"},),
            "the AWS-published SecretsManagerRDSPostgreSQLRotationSingleUser application's role"),
            ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
             "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DescribeSecret"), SECRET, ("identity",),
            DOCS["rotation"], label=("rotation function", "admin secret")),
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
    ]
    if realtime:
        flows += [
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


def stages_of(templates: Templates) -> dict[str, Templates]:
    """The example's stages found in an assembly (``Users-<stage>-Stateful``/``-Stateless``), each alone."""
    found: dict[str, Templates] = {}
    for name in sorted(templates.templates):
        if name.endswith("-Stateless"):
            prefix = name.removesuffix("-Stateless")
            if f"{prefix}-Stateful" in templates.templates:
                found[prefix] = templates.subset([name, f"{prefix}-Stateful"])
    return found


def is_realtime(templates: Templates) -> bool:
    """Whether the stage was synthesized with ``-c realtime=true`` (it has a WebSocket API)."""
    return any(r.type == "AWS::ApiGatewayV2::Api" and r.properties.get("ProtocolType") == "WEBSOCKET"
               for r in templates.resources())
