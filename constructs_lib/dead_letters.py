"""The one recipe for a queue that holds what could not be delivered or processed (a dead-letter queue).

Three constructs keep such queues: the work queue's dead letters (:class:`~.queue_worker.WorkQueue`), the
schedule's failed deliveries and runs (:class:`~.scheduled_task.ScheduledTask`) and the alarm email's
undeliverable notifications (:class:`~.monitoring.ServiceMonitoring`). Each is TLS-only, encrypted, kept
for a stated time, and is itself the end of the line: the cdk-nag findings asking it for a dead-letter
queue of its own (AwsSolutions-SQS3, Serverless-SQSRedrivePolicy) are acknowledged with the caller's reason.
"""
from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .acknowledge import acknowledge

#: What a dead-letter queue is never asked to have, since nothing comes after it.
_END_OF_THE_LINE = ("AwsSolutions-SQS3", "Serverless-SQSRedrivePolicy")


def dead_letter_queue(scope: Construct, construct_id: str, *, retention: Duration, why_last: str,
                      encryption_key: kms.IKey | None = None, fifo: bool = False,
                      removal_policy: RemovalPolicy | None = None) -> sqs.Queue:
    """A dead-letter queue in ``scope``: TLS only, kept ``retention``, encrypted with ``encryption_key`` (a
    customer-managed key) or else SQS-managed keys; FIFO when the queue it serves is. ``why_last`` is the
    reason it has no dead-letter queue of its own (the acknowledgement cdk-nag shows). ``removal_policy``:
    Default: CDK's (the queue goes with the stack)."""
    encryption = ({"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": encryption_key}
                  if encryption_key is not None else {"encryption": sqs.QueueEncryption.SQS_MANAGED})
    queue = sqs.Queue(scope, construct_id, retention_period=retention, enforce_ssl=True,
                      **({"removal_policy": removal_policy} if removal_policy is not None else {}),
                      **({"fifo": True} if fifo else {}), **encryption)
    acknowledge(queue, _END_OF_THE_LINE, why_last)
    return queue
