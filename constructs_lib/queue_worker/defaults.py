"""Every default of :class:`WorkQueue` and :class:`QueueWorker`, with the SQS/Lambda limits checked."""
from __future__ import annotations

from aws_cdk import Duration

MAX_RECEIVE_COUNT = 5
DLQ_RETENTION = Duration.days(14)
BATCH_SIZE = 10
MAX_BATCHING_WINDOW = Duration.seconds(0)
#: AWS recommends a visibility timeout of at least 6 × the function timeout (plus the batching
#: window), so retries by Lambda's poller never let a message reappear while it is being worked on.
VISIBILITY_TIMEOUT_FACTOR = 6
#: What WorkQueue assumes of its consumer when no consumer timeout is given.
CONSUMER_TIMEOUT = Duration.seconds(30)

#: What a producer is granted: the actions of ``grant_send_messages``, and for a KMS-encrypted
#: queue exactly the two key actions SQS documents for producers (no ``*`` wildcards).
SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
SEND_KMS_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")

# ---- limits ---------------------------------------------------------------------------
MAX_RECEIVE_COUNT_RANGE = (1, 1000)
#: An SQS queue's visibility timeout when none is set.
SQS_VISIBILITY_TIMEOUT_SECONDS = 30
VISIBILITY_TIMEOUT_MAX_SECONDS = 43_200  # 12 hours
BATCH_SIZE_MAX_STANDARD = 10_000
BATCH_SIZE_MAX_FIFO = 10
#: Standard queues need a batching window of at least 1 s for batches above 10 records.
BATCH_SIZE_WITHOUT_WINDOW = 10
MAX_BATCHING_WINDOW_SECONDS = 300
MAX_CONCURRENCY_RANGE = (2, 1000)
