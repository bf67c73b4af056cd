"""SQS queues that lose nothing, and Lambda workers that report partial batch failures."""
from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy, Token
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..acknowledge import acknowledge_each
from ..dead_letters import dead_letter_queue
from ..errors import InvalidPropError
from ..function import ServerlessFunction
from ..node_values import check_durations, path_of, seconds, whole_units
from ..references import strong_references
from ..runtime_environment import QUEUE_URL
from . import defaults

#: Lambda environment variable names, and the prefixes Lambda reserves.
_ENV_VAR = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED_ENV_PREFIXES = ("AWS_", "LAMBDA_")


class WorkQueue(Construct):
    """An encrypted, TLS-only SQS queue with an equally protected dead-letter queue.

    Kept apart from its consumer so it can live in a stateful stack (messages are data).

    :param fifo: a FIFO queue with content-based deduplication and message-group ordering (its DLQ
        is FIFO too; producers must send a ``MessageGroupId``). Default: False.
    :param encryption_key: a KMS key for both queues. Default: SSE-SQS (SQS-managed keys).
    :param max_receive_count: receives before a message moves to the DLQ (1–1000). Default: 5.
    :param consumer_timeout: the consuming function's timeout, to size the visibility timeout.
        Default: 30 seconds.
    :param max_batching_window: the consumer's batching window, for the same. Default: 0.
    :param visibility_timeout: Default: 6 × ``consumer_timeout`` + ``max_batching_window``; a given
        value must be at least that (and at most 12 hours).
    :param dead_letter_removal_policy: Default: RETAIN (the DLQ holds failed messages; the work queue is DESTROY).

    Attributes: ``queue``, ``dead_letter_queue``, ``max_receive_count``, ``visibility_timeout``, ``fifo``,
    ``encryption_key`` (or None for SSE-SQS), ``consumer_timeout`` and ``max_batching_window`` (what it is sized for).
    """

    def __init__(self, scope: Construct, construct_id: str, *, fifo: bool = False, encryption_key: kms.IKey | None = None,
                 max_receive_count: int | None = None, consumer_timeout: Duration | None = None,
                 max_batching_window: Duration | None = None, visibility_timeout: Duration | None = None,
                 dead_letter_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_durations("WorkQueue", consumer_timeout=consumer_timeout, max_batching_window=max_batching_window,
                        visibility_timeout=visibility_timeout)
        self.max_receive_count = max_receive_count if max_receive_count is not None else defaults.MAX_RECEIVE_COUNT
        low, high = defaults.MAX_RECEIVE_COUNT_RANGE
        if not low <= self.max_receive_count <= high:
            raise InvalidPropError("WorkQueue", "max_receive_count", self.max_receive_count, f"{low}–{high}")
        #: What the queue was sized for: its consumer's timeout and batching window.
        self.consumer_timeout: Duration = consumer_timeout or defaults.CONSUMER_TIMEOUT
        self.max_batching_window: Duration = max_batching_window or defaults.MAX_BATCHING_WINDOW
        self.visibility_timeout = visibility_timeout or Duration.seconds(
            minimum_visibility_seconds(self.consumer_timeout, self.max_batching_window))
        check_visibility("WorkQueue", self.visibility_timeout, self.consumer_timeout, self.max_batching_window,
                         timeout_of="consumer_timeout",
                         fix="raise visibility_timeout, or leave it unset for exactly that; consumer_timeout and "
                             "max_batching_window are the consuming function's timeout and batching window",
                         fix_above="lower visibility_timeout")
        self.fifo = fifo
        self.encryption_key = encryption_key

        # 2. build ----------------------------------------------------------------------
        encryption = {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": encryption_key} if encryption_key \
            else {"encryption": sqs.QueueEncryption.SQS_MANAGED}
        fifo_props = {"fifo": True} if fifo else {}
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", retention=defaults.DLQ_RETENTION, encryption_key=encryption_key, fifo=fifo,
            removal_policy=dead_letter_removal_policy,
            why_last="This queue is itself the dead-letter queue of its work queue; failed messages stop here "
                     "for 14 days, watched by the monitoring construct's dead-letter alarm, instead of moving again.")
        self.queue = sqs.Queue(
            self, "Queue", enforce_ssl=True, visibility_timeout=self.visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=self.max_receive_count),
            content_based_deduplication=True if fifo else None, **encryption, **fifo_props)

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.queue, self.dead_letter_queue)

    def grant_send_to(self, producer: ServerlessFunction, env_var: str = QUEUE_URL) -> None:
        """Let ``producer`` send to the queue (and encrypt with its key) and tell it the queue URL.

        :param env_var: the environment variable holding the queue URL. Default: ``QUEUE_URL``.
        """
        grant_send("WorkQueue.grant_send_to", self.queue, producer, env_var)


class QueueWorker(Construct):
    """A :class:`ServerlessFunction` consuming an SQS queue with partial batch responses.

    ReportBatchItemFailures is always on: one bad message never re-runs its whole batch.

    :param function: the worker. Required.
    :param queue: an existing queue to consume: a :class:`WorkQueue`, or any ``sqs.IQueue`` a team
        already has (``sqs.Queue(...)`` in the app, or imported with ``sqs.Queue.from_queue_arn`` /
        ``from_queue_attributes``). Default: a new :class:`WorkQueue` sized for ``function`` (then
        ``fifo``, ``max_receive_count``, ``encryption_key`` and ``visibility_timeout`` apply to it; with an
        existing queue they must be left unset, ``fifo`` may only repeat the queue's kind). What is checked
        of an existing queue is only what the app can see:

        * a :class:`WorkQueue`, or an ``sqs.Queue`` defined in the app: its visibility timeout against 6 ×
          the function's timeout + the batching window (an ``sqs.Queue`` without one has SQS's 30 s), and
          that it has a dead-letter queue (an ``sqs.Queue`` without ``dead_letter_queue`` fails synth: a
          message that always fails would be retried until its retention ends);
        * an imported queue: its kind (FIFO when its name ends in ``.fifo``) and nothing else. Its
          visibility timeout and redrive policy live outside the app, so size the timeout by the same rule
          yourself. Import it with ``from_queue_attributes(key_arn=…)`` when a customer-managed key encrypts
          it: the worker (and :meth:`grant_send_to`'s producers) are granted that key only when it is known.
    :param dead_letter_queue: an imported ``queue``'s dead-letter queue, for the monitoring's dead-letter
        alarm (its redrive policy is the queue's own, not set here). Only with an imported queue. Default:
        the queue's own (a :class:`WorkQueue`'s, an ``sqs.Queue``'s), or none for an imported queue (then
        :meth:`ServiceMonitoring.monitor_queue_worker` alarms on the oldest message's age only).
    :param batch_size: 1–10,000 (standard; above 10 needs a batching window of at least 1 s),
        1–10 (FIFO). Default: 10.
    :param max_batching_window: 0–300 s; not allowed on FIFO queues. Default: 0.
    :param max_concurrency: concurrent invocations the event source may start (2–1000), at most the
        function's reserved concurrency when it has one (throttled messages would burn receives and
        land in the DLQ); the bound the database connection budget uses. Default: the function's
        reserved concurrency when it has one of 2 or more, else none (the account's concurrency).
    :param fifo: create a FIFO queue (content-based deduplication, message-group ordering).
        Default: False, or the given queue's kind.
    :param max_receive_count: receives before a message moves to the DLQ (1–1000). Default: 5.
    :param encryption_key: a KMS key for both queues. Default: SSE-SQS.
    :param visibility_timeout: of the created queue. Default: 6 × the function timeout + the
        batching window; a shorter value fails synth.

    Attributes: ``work_queue`` (None for a queue that is not a :class:`WorkQueue`), ``queue``,
    ``dead_letter_queue`` (or None when not known), ``event_source``, ``function``, ``batch_size``,
    ``max_batching_window``, ``max_concurrency``, ``fifo``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, function: ServerlessFunction,
                 queue: WorkQueue | sqs.IQueue | None = None, dead_letter_queue: sqs.IQueue | None = None,
                 batch_size: int | None = None,
                 max_batching_window: Duration | None = None, max_concurrency: int | None = None,
                 fifo: bool | None = None, max_receive_count: int | None = None, encryption_key: kms.IKey | None = None,
                 visibility_timeout: Duration | None = None) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_durations("QueueWorker", max_batching_window=max_batching_window, visibility_timeout=visibility_timeout)
        if queue is not None:
            _only_without_queue({"fifo": None if fifo is None or fifo == queue.fifo else fifo,
                                 "max_receive_count": max_receive_count, "encryption_key": encryption_key,
                                 "visibility_timeout": visibility_timeout})
        own_dead_letter_queue = _dead_letter_queue_of(queue)
        if dead_letter_queue is not None and (queue is None or own_dead_letter_queue is not None):
            raise InvalidPropError("QueueWorker", "dead_letter_queue", path_of(dead_letter_queue),
                                   "only with an imported queue (a WorkQueue or an sqs.Queue of this app has its own)")
        fifo = queue.fifo if queue is not None else bool(fifo)
        batch_size = batch_size if batch_size is not None else defaults.BATCH_SIZE
        window = max_batching_window or defaults.MAX_BATCHING_WINDOW
        window_seconds = whole_units(window, construct="QueueWorker", prop="max_batching_window")
        if fifo and window_seconds > 0:
            raise InvalidPropError("QueueWorker", "max_batching_window", f"{window_seconds:g} seconds",
                                   "0 on a FIFO queue (SQS FIFO event sources have no batching window)")
        if not 0 <= window_seconds <= defaults.MAX_BATCHING_WINDOW_SECONDS:
            raise InvalidPropError("QueueWorker", "max_batching_window", f"{window_seconds:g} seconds",
                                   f"0–{defaults.MAX_BATCHING_WINDOW_SECONDS} seconds")
        limit = defaults.BATCH_SIZE_MAX_FIFO if fifo else defaults.BATCH_SIZE_MAX_STANDARD
        if not 1 <= batch_size <= limit:
            raise InvalidPropError("QueueWorker", "batch_size", batch_size,
                                   f"1–{limit} for a {'FIFO' if fifo else 'standard'} queue")
        if batch_size > defaults.BATCH_SIZE_WITHOUT_WINDOW and window_seconds < 1:
            raise InvalidPropError("QueueWorker", "batch_size", batch_size,
                                   f"at most {defaults.BATCH_SIZE_WITHOUT_WINDOW} unless max_batching_window >= 1 second")
        reserved = function.reserved_concurrent_executions
        if max_concurrency is None and reserved is not None and reserved >= defaults.MAX_CONCURRENCY_RANGE[0]:
            max_concurrency = min(reserved, defaults.MAX_CONCURRENCY_RANGE[1])
        if max_concurrency is not None:
            low, high = defaults.MAX_CONCURRENCY_RANGE
            if not low <= max_concurrency <= high:
                raise InvalidPropError("QueueWorker", "max_concurrency", max_concurrency, f"{low}–{high}")
            if reserved is not None and max_concurrency > reserved:
                raise InvalidPropError("QueueWorker", "max_concurrency", max_concurrency,
                                       f"at most the function's reserved_concurrent_executions={reserved} (above it, "
                                       "Lambda throttles the poller and throttled messages count toward max_receive_count)")
        timeout_of = f"the timeout of {function.path}"
        if isinstance(queue, sqs.Queue):
            _check_app_queue(queue, function, window, timeout_of)
        elif isinstance(queue, WorkQueue):
            minimum = minimum_visibility_seconds(function.timeout, window)
            check_visibility(
                "QueueWorker", queue.visibility_timeout, function.timeout, window, prop="queue.visibility_timeout",
                timeout_of=timeout_of,
                fix=f"create the WorkQueue {path_of(queue)} with consumer_timeout=Duration.seconds("
                    f"{function.timeout_seconds:g}) (it has {seconds(queue.consumer_timeout):g} s) and "
                    f"max_batching_window=Duration.seconds({window_seconds:g}), or with visibility_timeout of at "
                    f"least {minimum} seconds; or lower the function's timeout",
                fix_above=f"lower the visibility_timeout of the WorkQueue {path_of(queue)}")
        elif visibility_timeout is not None:
            check_visibility("QueueWorker", visibility_timeout, function.timeout, window, timeout_of=timeout_of,
                             fix="raise visibility_timeout, or leave it unset for exactly that; or lower the "
                                 "function's timeout or max_batching_window",
                             fix_above="lower visibility_timeout")

        # 2. build ----------------------------------------------------------------------
        if queue is None:
            queue = WorkQueue(self, "Queue", fifo=fifo, max_receive_count=max_receive_count,
                              encryption_key=encryption_key, consumer_timeout=function.timeout,
                              max_batching_window=window, visibility_timeout=visibility_timeout)
            own_dead_letter_queue = queue.dead_letter_queue
        self.work_queue: WorkQueue | None = queue if isinstance(queue, WorkQueue) else None
        self.queue: sqs.IQueue = queue.queue if isinstance(queue, WorkQueue) else queue
        self.dead_letter_queue: sqs.IQueue | None = own_dead_letter_queue or dead_letter_queue
        self.function = function
        self.fifo = fifo
        self.batch_size = batch_size
        self.max_batching_window = window
        self.max_concurrency = max_concurrency
        self.event_source = event_sources.SqsEventSource(
            self.queue, batch_size=batch_size, max_batching_window=window if window_seconds else None,
            report_batch_item_failures=True, max_concurrency=max_concurrency)

        # 3. wire -----------------------------------------------------------------------
        function.invoke_target.add_event_source(self.event_source)  # grants consume (and kms:Decrypt)
        acknowledge_each([  # one call when both are on the function (no alias)
            (function.invoke_target, "Serverless-LambdaEventSourceMappingDestination",
             "SQS event source mappings take no on-failure destination; a failing message returns to the queue "
             "and its redrive policy moves it to the dead-letter queue after max_receive_count receives."),
            (function.function, "Serverless-LambdaDLQ",
             "This function is the queue's worker, invoked synchronously by the SQS event source mapping: "
             "failed messages reach the queue's dead-letter queue through its redrive policy instead."),
        ])

    def grant_send_to(self, producer: ServerlessFunction, env_var: str = QUEUE_URL) -> None:
        """Let ``producer`` send to the queue (and encrypt with its key, when known) and tell it the queue
        URL through ``env_var``."""
        grant_send("QueueWorker.grant_send_to", self.queue, producer, env_var)


def grant_send(construct: str, queue: sqs.IQueue, producer: ServerlessFunction, env_var: str) -> None:
    """Let ``producer`` send to ``queue``, and use its key when it has a known customer-managed one; set
    ``env_var`` to the queue URL. ``construct`` names the method in the error on a bad ``env_var``."""
    if not _ENV_VAR.fullmatch(env_var) or env_var.startswith(_RESERVED_ENV_PREFIXES):
        raise InvalidPropError(construct, "env_var", env_var,
                               "a name of letters, digits and '_' starting with a letter, not AWS_/LAMBDA_ reserved")
    queue.grant(producer.role, *defaults.SEND_ACTIONS)
    if queue.encryption_master_key is not None:
        # what an SSE-KMS producer needs, without the kms:ReEncrypt*/GenerateDataKey* wildcards of grant_send_messages
        queue.encryption_master_key.grant(producer.role, *defaults.SEND_KMS_ACTIONS)
    producer.add_environment(env_var, queue.queue_url)


def _only_without_queue(props: dict[str, object]) -> None:
    for prop, value in props.items():
        if value is not None:
            raise InvalidPropError("QueueWorker", prop, value,
                                   "None when an existing queue is given (set it on that queue instead)")


def _dead_letter_queue_of(queue: WorkQueue | sqs.IQueue | None) -> sqs.IQueue | None:
    """The dead-letter queue the app can see on ``queue``: a WorkQueue's or an ``sqs.Queue``'s; None otherwise."""
    if isinstance(queue, WorkQueue):
        return queue.dead_letter_queue
    if isinstance(queue, sqs.Queue) and queue.dead_letter_queue is not None:
        return queue.dead_letter_queue.queue
    return None


def _check_app_queue(queue: sqs.Queue, function: ServerlessFunction, window: Duration, timeout_of: str) -> None:
    """What can be checked of an ``sqs.Queue`` defined in the app: a dead-letter queue, and its visibility
    timeout (read from the queue's template, SQS's 30 s when unset) when it is a number at synth."""
    if queue.dead_letter_queue is None:
        raise InvalidPropError("QueueWorker", "queue", path_of(queue),
                               "a queue with a dead_letter_queue (without one a message that always fails is "
                               "retried until its retention period ends): give the sqs.Queue dead_letter_queue="
                               "sqs.DeadLetterQueue(...), or leave queue unset for a WorkQueue")
    resource = queue.node.default_child
    given = getattr(resource, "visibility_timeout", None)
    if given is None:
        given = defaults.SQS_VISIBILITY_TIMEOUT_SECONDS
    if isinstance(given, (int, float)) and not Token.is_unresolved(given):
        minimum = minimum_visibility_seconds(function.timeout, window)
        check_visibility("QueueWorker", Duration.seconds(given), function.timeout, window,
                         prop="queue.visibility_timeout", timeout_of=timeout_of,
                         fix=f"create the sqs.Queue {path_of(queue)} with visibility_timeout=Duration.seconds("
                             f"{minimum}) or more; or lower the function's timeout",
                         fix_above=f"lower the visibility_timeout of the sqs.Queue {path_of(queue)}")


def minimum_visibility_seconds(consumer_timeout: Duration, max_batching_window: Duration) -> int:
    """6 × the consumer's timeout + its batching window, in seconds."""
    return int(defaults.VISIBILITY_TIMEOUT_FACTOR * seconds(consumer_timeout) + seconds(max_batching_window))


def check_visibility(construct: str, visibility: Duration, consumer_timeout: Duration, max_batching_window: Duration,
                     *, timeout_of: str, fix: str, fix_above: str, prop: str = "visibility_timeout") -> None:
    """Fail unless ``visibility`` is at least 6 × the consumer timeout + the batching window, and at most 12 h.

    :param timeout_of: what the consumer timeout is, in the message (``consumer_timeout``, a function's timeout).
    :param fix: / :param fix_above: the props to change when it is too short / too long, in the message.
    """
    given = seconds(visibility)
    minimum = minimum_visibility_seconds(consumer_timeout, max_batching_window)
    if given < minimum:
        raise InvalidPropError(construct, prop, f"{given:g} seconds",
                               f"at least {minimum} seconds = {defaults.VISIBILITY_TIMEOUT_FACTOR} × {timeout_of} "
                               f"({seconds(consumer_timeout):g} s) + max_batching_window "
                               f"({seconds(max_batching_window):g} s): {fix}")
    if given > defaults.VISIBILITY_TIMEOUT_MAX_SECONDS:
        raise InvalidPropError(construct, prop, f"{given:g} seconds",
                               f"at most {defaults.VISIBILITY_TIMEOUT_MAX_SECONDS} seconds (12 hours, the SQS limit): "
                               f"{fix_above}")
