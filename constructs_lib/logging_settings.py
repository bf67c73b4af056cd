"""Log settings shared by the constructs: retention values CloudFormation accepts, log groups
encrypted with a customer-managed key, log groups for the functions CDK itself adds (custom
resource providers), and stage access-log settings for API Gateway v2."""
from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sam as sam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from .errors import InvalidPropError

#: The day counts CloudFormation accepts for AWS::Logs::LogGroup RetentionInDays.
RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS, 120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS, 180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS, 1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS, 2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


def retention(value: logs.RetentionDays | int, *, construct: str, prop: str) -> logs.RetentionDays:
    """``value`` as RetentionDays; a day count CloudFormation would reject fails here, naming ``prop``."""
    if isinstance(value, logs.RetentionDays):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in RETENTION_BY_DAYS:
        return RETENTION_BY_DAYS[value]
    raise InvalidPropError(construct, prop, value,
                           f"a RetentionDays or one of {', '.join(map(str, RETENTION_BY_DAYS))} days")


#: What CloudWatch Logs does with a log group's key (AWS: "Encrypt log data in CloudWatch Logs using
#: AWS KMS"), spelled out: the guide's wildcards also cover actions that carry no encryption context
#: (kms:Describe*), which the statement's condition could never allow anyway.
LOGS_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext")


def log_group(scope: Construct, construct_id: str, *, retention: logs.RetentionDays, removal_policy: RemovalPolicy,
              encryption_key: kms.IKey | None = None, log_group_name: str | None = None) -> logs.LogGroup:
    """A log group, encrypted with ``encryption_key`` when one is given (whose policy then lets
    CloudWatch Logs use it, see :func:`allow_log_encryption`); else CloudWatch Logs' own encryption."""
    if encryption_key is not None:
        allow_log_encryption(encryption_key)
    return logs.LogGroup(scope, construct_id, retention=retention, removal_policy=removal_policy,
                         encryption_key=encryption_key, log_group_name=log_group_name)


def allow_log_encryption(key: kms.IKey) -> bool:
    """Let CloudWatch Logs of the key's region encrypt and decrypt with ``key``, for log groups of
    the key's account and region only (the ``kms:EncryptionContext:aws:logs:arn`` condition; an
    encryption context value is a string to KMS, hence StringLike).

    The condition names log groups by pattern, not by ARN: a log group's ARN in its key's policy
    would make the key depend on the log group that depends on the key. Adding the statement again
    changes nothing (CDK renders identical statements once). Returns False for an imported key,
    whose policy cannot be changed here and must already allow this.
    """
    stack = Stack.of(key)
    log_groups = stack.format_arn(service="logs", resource="log-group", resource_name="*",
                                  arn_format=ArnFormat.COLON_RESOURCE_NAME)
    result = key.add_to_resource_policy(iam.PolicyStatement(
        sid="CloudWatchLogsOfThisAccount",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=list(LOGS_KEY_ACTIONS),
        resources=["*"],
        conditions={"StringLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
    ))
    return result.statement_added


def provider_log_group(provider: IConstruct | None, *, retention: logs.RetentionDays,
                       encryption_key: kms.IKey | None = None) -> logs.LogGroup | None:
    """Give the function of a CDK custom resource provider (a ``CustomResourceProvider`` such as the
    triggers' or the VPC default security group's) an explicit log group with ``retention``.

    Those providers take no logging props, and left alone Lambda creates ``/aws/lambda/<name>``
    on first use, kept forever. Their ``Handler`` is pointed at a log group made here instead
    (``LoggingConfig.LogGroup``: the group exists before the function, so nothing races to create
    it); their role's AWSLambdaBasicExecutionRole already lets them write to it. A provider is one
    per stack and shared: the first caller's settings win, later calls return the same group.
    Returns None when ``provider`` is None (the CDK did not add it).
    """
    if provider is None:
        return None
    existing = provider.node.try_find_child("LogGroup")
    if isinstance(existing, logs.LogGroup):
        return existing
    handler = provider.node.find_child("Handler")
    if not isinstance(handler, CfnResource) or handler.cfn_resource_type != "AWS::Lambda::Function":
        raise TypeError(f"{provider.node.path} is not a custom resource provider with a Lambda Handler")
    group = log_group(provider, "LogGroup", retention=retention, removal_policy=RemovalPolicy.DESTROY,  # type: ignore[arg-type]
                      encryption_key=encryption_key)
    handler.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
    return group


def rotation_log_group(rotation: secretsmanager.SecretRotation, *, retention: logs.RetentionDays,
                       encryption_key: kms.IKey | None = None) -> logs.LogGroup:
    """The log group of a Secrets Manager rotation function, made ahead with ``retention``.

    The function comes from a serverless application (AWS's rotation template) that sets no log
    group, so Lambda would create ``/aws/lambda/<function name>`` on the first rotation and keep it
    forever. That name is the one physical name here: Lambda picks the group by it. The
    application waits for the group, so it exists before the function can run.
    """
    application = rotation.node.default_child
    if not isinstance(application, sam.CfnApplication):
        raise TypeError(f"{rotation.node.path} has no serverless application to wait for its log group")
    function_name = application.parameters["functionName"]  # type: ignore[index]
    group = log_group(rotation, "LogGroup", retention=retention, removal_policy=RemovalPolicy.DESTROY,
                      encryption_key=encryption_key, log_group_name=f"/aws/lambda/{function_name}")
    application.node.add_dependency(group)
    return group


@jsii.implements(apigwv2.IAccessLogSettings)
class AccessLogSettings:
    """Access log settings for an HTTP or WebSocket stage (a jsii interface, so a class in Python)."""

    def __init__(self, destination: apigwv2.IAccessLogDestination, log_format: apigw.AccessLogFormat) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format
