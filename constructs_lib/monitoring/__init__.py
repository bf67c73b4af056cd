"""The monitoring construct: metrics (:mod:`.metrics`), alarms (:mod:`.alarms`), dashboard (:mod:`.dashboard`)."""
from . import alarms, dashboard, defaults, metrics
from .construct import ServiceMonitoring

__all__ = ["ServiceMonitoring", "alarms", "dashboard", "defaults", "metrics"]
