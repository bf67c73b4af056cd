"""Every threshold of :class:`ServiceMonitoring`, in one place."""
from __future__ import annotations

from aws_cdk import Duration

PERIOD = Duration.minutes(1)
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3
#: p99 duration alarm at this share of the function timeout.
DURATION_SHARE_OF_TIMEOUT = 0.8
#: A Lambda function's timeout when none is set (a ``lambda_.Function`` without ``timeout``).
LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3
#: Concurrency alarm at this share of the reserved concurrency.
CONCURRENCY_SHARE = 0.8
#: HTTP API: any 5xx in a minute for 3 of 5 minutes; p99 latency in milliseconds.
API_5XX_THRESHOLD = 1
API_P99_LATENCY_MS = 2000
#: Oldest message age in the work queue (seconds) before it is a backlog.
QUEUE_AGE_SECONDS = 300
#: Proxy client connections alarm at this share of the connection budget.
PROXY_CONNECTION_SHARE = 0.8
#: Dashboard: how far back it shows by default, and the size of each graph (4 per row).
DASHBOARD_INTERVAL = Duration.hours(3)
GRAPH_WIDTH = 6
GRAPH_HEIGHT = 5
#: What a dead-letter queue of its own (e.g. a scheduled task's) tells the reader to check first.
DEAD_LETTERS_CHECK_FIRST = ("messages in this dead-letter queue mean runs that failed for good. Read one and the "
                            "function's logs for its time, fix the cause, then re-run the job for that time.")
SCHEDULE_DELIVERY_CHECK_FIRST = (
    "the scheduler could not invoke the function, even after its retries. Read a message's ERROR_CODE and "
    "ERROR_MESSAGE attributes first (permissions, throttling, a deleted function), then re-run that time.")
SCHEDULE_FAILURES_CHECK_FIRST = (
    "runs failed after Lambda's asynchronous retries. Read a record's requestContext.condition and "
    "responsePayload, then the function's logs at its timestamp; fix the cause and re-run that time.")
#: How long notifications the email subscription could not deliver are kept.
SUBSCRIPTION_DLQ_RETENTION = Duration.days(14)
