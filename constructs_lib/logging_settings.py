"""Log settings shared by the constructs: retention values CloudFormation accepts, and stage
access-log settings for API Gateway v2."""
from __future__ import annotations

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_logs as logs

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
