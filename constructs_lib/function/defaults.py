"""Every default of :class:`ServerlessFunction`, in one place."""
from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
MEMORY_SIZE_MB = 512
TIMEOUT = Duration.seconds(10)
LOG_RETENTION = logs.RetentionDays.TWO_WEEKS
APPLICATION_LOG_LEVEL = lambda_.ApplicationLogLevel.INFO
SYSTEM_LOG_LEVEL = lambda_.SystemLogLevel.WARN
TRACING = lambda_.Tracing.ACTIVE
ALIAS_NAME = "live"
FUNCTION_URL_AUTH_TYPE = lambda_.FunctionUrlAuthType.AWS_IAM

# Service limits and allowed values (validated at synth).
MEMORY_SIZE_RANGE_MB = (128, 10240)
TIMEOUT_RANGE_SECONDS = (1, 900)
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
#: Runtimes Lambda SnapStart supports (Python 3.12+, Java 11+, .NET 8+).
SNAP_START_RUNTIMES = ("python3.12", "python3.13", "java11", "java17", "java21", "dotnet8")
