"""The scheduled task construct, its defaults and schedule-expression validation."""
from . import defaults, expressions
from .construct import ScheduledTask

__all__ = ["ScheduledTask", "defaults", "expressions"]
