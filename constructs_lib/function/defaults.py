"""Every default of :class:`ServerlessFunction`, in one place."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

from .. import runtime_environment

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
MEMORY_SIZE_MB = 512
TIMEOUT = Duration.seconds(10)
LOG_RETENTION = logs.RetentionDays.TWO_WEEKS
#: No customer-managed key: CloudWatch Logs encrypts log data with its own keys. A CMK (the
#: ``log_encryption_key`` prop) adds control over who can read the logs, and a key to pay for.
LOG_ENCRYPTION_KEY = None
APPLICATION_LOG_LEVEL = lambda_.ApplicationLogLevel.INFO
SYSTEM_LOG_LEVEL = lambda_.SystemLogLevel.WARN
TRACING = lambda_.Tracing.ACTIVE
ALIAS_NAME = "live"
#: No gradual deployment: the alias moves to a new version at once.
DEPLOYMENT = None
#: The environment variable giving a pre-traffic hook the ARN of the version being deployed.
HOOK_TARGET_ENV = runtime_environment.DEPLOY_TARGET_VERSION_ARN
FUNCTION_URL_AUTH_TYPE = lambda_.FunctionUrlAuthType.AWS_IAM
#: HTTPS egress of a function in a VPC when nothing narrower is given (AWS APIs through NAT).
HTTPS_EGRESS = ec2.Peer.any_ipv4()

# Service limits and allowed values (validated at synth).
MEMORY_SIZE_RANGE_MB = (128, 10240)
TIMEOUT_RANGE_SECONDS = (1, 900)
#: Runtimes Lambda SnapStart supports (Python 3.12+, Java 11+, .NET 8+).
SNAP_START_RUNTIMES = ("python3.12", "python3.13", "java11", "java17", "java21", "dotnet8")
