"""What puts metrics and alarms on the dashboard: widgets only, no alarms and no metrics built here."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch

from . import defaults


def title(service_name: str) -> cloudwatch.IWidget:
    """The dashboard's heading."""
    return cloudwatch.TextWidget(markdown=f"# {service_name}", width=24, height=1)


def graphs(label: str, found: Mapping[str, cloudwatch.IMetric]) -> list[cloudwatch.IWidget]:
    """One graph per metric, titled ``<label>: <metric name>``."""
    return [cloudwatch.GraphWidget(title=f"{label}: {name}", left=[metric],
                                   width=defaults.GRAPH_WIDTH, height=defaults.GRAPH_HEIGHT)
            for name, metric in found.items()]


def alarm_status(alarms: Sequence[cloudwatch.IAlarm]) -> cloudwatch.IWidget:
    """One full-width widget with every alarm's state."""
    return cloudwatch.AlarmStatusWidget(alarms=list(alarms), width=24, title="Alarms")
