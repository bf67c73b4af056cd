"""Every threshold of :class:`ServiceMonitoring`, in one place."""
from __future__ import annotations

from aws_cdk import Duration

PERIOD = Duration.minutes(1)
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3
#: p99 duration alarm at this share of the function timeout.
DURATION_SHARE_OF_TIMEOUT = 0.8
#: Concurrency alarm at this share of the reserved concurrency.
CONCURRENCY_SHARE = 0.8
#: HTTP API: any 5xx in a minute for 3 of 5 minutes; p99 latency in milliseconds.
API_5XX_THRESHOLD = 1
API_P99_LATENCY_MS = 2000
#: Oldest message age in the work queue (seconds) before it is a backlog.
QUEUE_AGE_SECONDS = 300
#: Proxy client connections alarm at this share of the connection budget.
PROXY_CONNECTION_SHARE = 0.8
