"""One PostgreSQL connection per container, reused across warm invocations.

* The driver (psycopg) is imported only when the first connection opens.
* With IAM auth the token is minted only for a new connection and cached near its 15 minutes.
* The connect timeout is the configured one, but never more than the invocation has left (minus a
  margin), so an unreachable database gives the client a 503 with ``Retry-After``, not a Lambda timeout.
* TCP keepalives notice a peer that vanished silently within seconds (:data:`KEEPALIVES`).
* TLS to the proxy is required (``sslmode=verify-full``): chain and host name are verified against
  the operating system's CA bundle, found by :mod:`lambda_src.db.tls` (not libpq's ``system``,
  which in the psycopg wheel points at a path Lambda does not have).
* An auto-paused Aurora cluster (``min_capacity=0``) resumes when a connection arrives, in about
  15–30 s. ``DB_ON_PAUSE`` (set by the constructs only then) says what to do meanwhile: ``wait``
  (workers, schedules) connects within all the invocation's remaining time, whatever
  ``DB_CONNECT_TIMEOUT`` says; ``unavailable`` (HTTP) keeps the configured timeout, never past API
  Gateway's 30 s integration limit, and answers 503 with a ``Retry-After`` long enough for the resume.
* :func:`transaction` runs work in a transaction within a deadline (the invocation's remaining
  time less a margin): a database that stops answering, or a statement running long, is a 503 with
  ``Retry-After`` before Lambda's timeout, without pinning the RDS Proxy connection or adding a
  round trip (:mod:`lambda_src.db.deadline`); a connection found broken on its first statement is
  replaced once and the work retried.
"""
from __future__ import annotations

import time

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start

from .. import config
from .. import invocation as _invocation
from .errors import DatabaseUnavailable
from ..log import logger
from .iam_token import TokenCache

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from typing import Any, TypeVar

    import psycopg

    T = TypeVar("T")
#: Time kept back from the invocation's remaining time to answer: a connect and a transaction's
#: deadline both end this long before the invocation would.
RESPONSE_MARGIN_SECONDS = 1.0
#: Below this, no connection attempt is made (psycopg would stretch a shorter timeout to 2 s).
MIN_CONNECT_TIMEOUT_SECONDS = 2
RETRY_AFTER_SECONDS = 5
#: ``DB_ON_PAUSE=unavailable``: connect no longer than this (API Gateway's integration limit is 30 s)…
API_CONNECT_LIMIT_SECONDS = 28
#: …and ask the client to come back once a resume (15–30 s) is likely over.
RESUME_RETRY_AFTER_SECONDS = 20
#: TCP keepalives (libpq's own parameters): a peer that vanished without a word (a proxy node gone,
#: a dropped route) is given up after 10 s of silence plus 3 unanswered probes 5 s apart, instead of
#: the kernel's 2 h + 9 × 75 s. They do not help with a peer whose kernel still answers while its
#: process is stuck (a frozen database): :func:`transaction`'s deadline covers that.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}

tokens = TokenCache()
_connection: psycopg.Connection | None = None
connections_opened = 0


def on_pause() -> str | None:
    """``DB_ON_PAUSE``: ``wait``, ``unavailable``, or None when the database never pauses."""
    return config.load().db_on_pause


def retry_after() -> int:
    """Seconds a client should wait before retrying: long enough for a resume when the database may pause."""
    return RESUME_RETRY_AFTER_SECONDS if on_pause() else RETRY_AFTER_SECONDS


def connect_timeout(remaining_ms: int | None, configured: float, pause: str | None = None) -> int:
    """Whole seconds for libpq's connect_timeout: the configured value, capped by the time left.

    ``pause="wait"``: all the time left (the configured value when no time is known);
    ``pause="unavailable"``: never more than :data:`API_CONNECT_LIMIT_SECONDS`.
    """
    budget = configured
    if pause == "wait" and remaining_ms is not None:
        budget = remaining_ms / 1000
    elif pause == "unavailable":
        budget = min(budget, API_CONNECT_LIMIT_SECONDS)
    if remaining_ms is not None:
        budget = min(budget, remaining_ms / 1000 - RESPONSE_MARGIN_SECONDS)
    if budget < MIN_CONNECT_TIMEOUT_SECONDS:
        raise DatabaseUnavailable("Not enough time left to connect to the database", retry_after=retry_after())
    return int(budget)


def _open(remaining_ms: int | None) -> psycopg.Connection:
    global connections_opened
    import psycopg

    settings = config.load()
    timeout = connect_timeout(remaining_ms, settings.connect_timeout_seconds, on_pause())
    try:
        if settings.database_url:
            connection = psycopg.connect(settings.database_url, connect_timeout=timeout, autocommit=True, **KEEPALIVES)
        else:
            if not settings.db_host:
                raise DatabaseUnavailable("The database is not configured (DB_HOST or DATABASE_URL)")
            from . import attempts, tls
            from ..aws import Credentials

            password = tokens.get(host=settings.db_host, port=settings.db_port, user=settings.db_user,
                                  region=settings.region, credentials=Credentials.from_environment())
            params = {"host": settings.db_host, "port": settings.db_port, "dbname": settings.db_name,
                      "user": settings.db_user, "password": password, "sslmode": "verify-full",
                      "sslrootcert": tls.root_cert(settings.ssl_root_cert), "autocommit": True,
                      "application_name": "lambda_src", **KEEPALIVES}

            def attempt(address: str | None, seconds: int) -> psycopg.Connection:
                extra = {"hostaddr": address} if address else {}
                return psycopg.connect(**params, **extra, connect_timeout=seconds)

            connection = attempts.connect_within(attempt, attempts.resolve(settings.db_host, settings.db_port),
                                                 timeout, retry_on=(psycopg.OperationalError,))
    except (psycopg.OperationalError, OSError) as error:  # OSError: the endpoint's name did not resolve
        logger.warning("database connect failed", extra={"error": str(error).splitlines()[0] if str(error) else "",
                                                         "timeoutSeconds": timeout, "onPause": on_pause()})
        raise DatabaseUnavailable(retry_after=retry_after()) from None
    # Never prepare statements on the server: psycopg would after a query's 5th run, and a session
    # holding a prepared statement is pinned by RDS Proxy ("Avoiding pinning an RDS Proxy").
    connection.prepare_threshold = None
    connections_opened += 1
    return connection


def get(remaining_ms: int | None = None) -> psycopg.Connection:
    """This container's connection, opened on first use or after it closed."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = _open(remaining_ms)
    return _connection


def reset() -> None:
    """Close and forget the connection and cached tokens (SnapStart restore, tests)."""
    global _connection
    if _connection is not None:
        try:
            _connection.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail; it is dropped anyway
            pass
    _connection = None
    tokens.clear()


class Transaction:
    """The handle work functions get: ``execute`` runs a statement inside the transaction."""

    def __init__(self, connection: psycopg.Connection) -> None:
        self.connection = connection
        self.statements = 0

    def execute(self, query: Any, params: Any = None) -> psycopg.Cursor[Any]:
        cursor = self.connection.execute(query, params)
        self.statements += 1
        return cursor

    def one(self, query: Any, params: Any = None) -> Any:
        return self.execute(query, params).fetchone()

    def all(self, query: Any, params: Any = None) -> list[Any]:
        return self.execute(query, params).fetchall()


def transaction(work: Callable[[Transaction], T], *, remaining_ms: int | None = None) -> T:
    """Run ``work`` in a transaction (committed on return, rolled back on error), within a deadline.

    The deadline is ``remaining_ms`` (the invocation's time left, when the caller passes it) less
    :data:`RESPONSE_MARGIN_SECONDS`, else ``DB_TRANSACTION_TIMEOUT``. It covers everything: a
    connect, BEGIN, every statement, COMMIT. Past it the connection's socket is shut down
    (:mod:`lambda_src.db.deadline` says why on the client, and how that avoids RDS Proxy pinning),
    the connection is dropped and :class:`DatabaseUnavailable` is raised (the HTTP app answers 503, ``Retry-After``): a
    database that hangs costs the request a 503, never the function's timeout. Should the deadline
    strike just after COMMIT returned, the result stands and only the connection is dropped.

    If the reused connection turns out to be broken before any statement succeeded (the database
    restarted, the proxy closed an idle client, ``pg_terminate_backend``), it is replaced once and
    ``work`` runs again, in what is left of the same deadline; nothing had been done, so nothing is
    done twice.
    """
    import psycopg

    from .deadline import watchdog

    started = time.monotonic()
    if remaining_ms is None and _invocation.current.get() is not None:
        remaining_ms = globals()["remaining_ms"](_invocation.current.get())
    if remaining_ms is None:
        deadline = started + config.load().transaction_timeout_seconds
    else:
        deadline = started + remaining_ms / 1000 - RESPONSE_MARGIN_SECONDS
    if deadline <= started:
        raise DatabaseUnavailable("Not enough time left for the database", retry_after=RETRY_AFTER_SECONDS)
    for attempt in (1, 2):
        left_ms = None if remaining_ms is None else remaining_ms - int((time.monotonic() - started) * 1000)
        connection = get(left_ms)
        tx = Transaction(connection)
        watchdog.arm(connection.pgconn.socket, deadline)
        try:
            with connection.transaction():
                result = work(tx)
        except Exception as error:
            if watchdog.disarm():
                logger.warning("the database did not answer in time: connection dropped",
                               extra={"budgetMs": round((deadline - started) * 1000), "statements": tx.statements})
                reset()
                raise DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
            if not isinstance(error, psycopg.OperationalError):
                raise
            if attempt == 1 and tx.statements == 0 and (connection.closed or connection.broken):
                logger.info("replacing a broken database connection")
                reset()
                continue
            if connection.closed or connection.broken:
                reset()
                raise DatabaseUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
            raise
        if watchdog.disarm():  # struck after COMMIT returned: the work is done, the connection is not
            reset()
        return result
    raise AssertionError("unreachable")


def remaining_ms(context: Any) -> int | None:
    """Milliseconds the invocation has left, when running under Lambda (or the local runtime)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return int(getter()) if callable(getter) else None


def invocation(context: Any) -> AbstractContextManager[None]:
    """Within the block, every :func:`transaction` without ``remaining_ms`` is bounded by the time
    ``context`` (the Lambda context) has left at its start. The runtime's apps wrap each invocation in
    it (:mod:`lambda_src.invocation`), so code deep inside a route or an action gets the invocation's
    deadline too."""
    return _invocation.handling(context)


def runner(context: Any) -> Callable[[Callable[[Transaction], T]], T]:
    """:func:`transaction` for the invocation of ``context``: each transaction run through it gets
    the time left at its start. For code that takes a transaction runner
    (such as the example's outbox publisher); ``None``: ``DB_TRANSACTION_TIMEOUT``."""
    return lambda work: transaction(work, remaining_ms=remaining_ms(context))


def _after_restore() -> None:
    reset()


def register_snapstart_hooks() -> bool:
    """With SnapStart, drop the connection and tokens after each restore; True when registered.

    ``snapshot_restore_py`` (provided by the Lambda Python 3.12+ runtime) is imported only when
    this init will be snapshotted: elsewhere it would add its import (and ``typing``'s, about 3 ms)
    to every cold start for nothing.
    """
    if not config.load().snap_start:
        return False
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_after_restore(_after_restore)
    return True


register_snapstart_hooks()

__all__ = ["Transaction", "connect_timeout", "get", "remaining_ms", "reset", "runner", "tokens", "transaction"]
