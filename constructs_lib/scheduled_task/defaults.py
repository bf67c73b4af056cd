"""Every default of :class:`ScheduledTask`, in one place."""
from __future__ import annotations

from aws_cdk import Duration

TIME_ZONE = "UTC"
FLEXIBLE_WINDOW = Duration.minutes(0)
#: Scheduler → Lambda delivery retries, and how old an undelivered invocation may get.
RETRY_ATTEMPTS = 3
MAX_EVENT_AGE = Duration.hours(1)
#: Lambda's own retries of a failed asynchronous invocation, and the age limit there.
ASYNC_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE = Duration.hours(1)
DLQ_RETENTION = Duration.days(14)

# ---- limits ---------------------------------------------------------------------------
RETRY_ATTEMPTS_RANGE = (0, 185)
MAX_EVENT_AGE_RANGE_SECONDS = (60, 86_400)
ASYNC_RETRY_ATTEMPTS_RANGE = (0, 2)
ASYNC_MAX_EVENT_AGE_RANGE_SECONDS = (60, 21_600)
FLEXIBLE_WINDOW_MAX_MINUTES = 1440
