"""The monitoring construct: metrics, alarms and a dashboard."""
from . import defaults, metrics
from .construct import ServiceMonitoring

__all__ = ["ServiceMonitoring", "defaults", "metrics"]
