"""The package logger and apps' loggers, loaded on first use.

``logging`` (and the JSON formatter and redaction in :mod:`lambda_src.log_setup`) cost several
milliseconds to import; a request that logs nothing should not pay them on a cold start. On
Lambda the runtime has usually imported logging already, and this costs nothing either way.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _LazyLogger:
    """Forwards every attribute to a real logger (the runtime's, or an app's by name), importing
    logging and setting the logger up on first use."""

    def __init__(self, name: str | None = None) -> None:
        self.__dict__["_logger_name"] = name

    def __getattr__(self, name: str) -> Any:
        from . import log_setup

        own = self.__dict__["_logger_name"]
        real = log_setup.logger if own is None else log_setup.get_logger(own)
        value = getattr(real, name)
        if callable(value):  # the logger lives as long as the process: keep its bound methods
            self.__dict__[name] = value
        return value


logger: Any = _LazyLogger()


def get_logger(name: str) -> Any:
    """Your app's logger (``logger = get_logger("orders")``), set up like the runtime's: JSON lines,
    secrets redacted (see :func:`lambda_src.log_setup.get_logger`). Nothing is imported until it logs."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a logger name is a non-empty string, got {name!r}")
    return _LazyLogger(name)


def redacted_errors(handler: Any) -> Any:
    """Wrap a Lambda handler so an exception escaping it reaches the runtime redacted.

    The Lambda runtime logs an escaping exception itself (its message and traceback), outside this
    package's logging filter. The wrapper raises in its place a stand-in of the same type name whose
    message is redacted and whose chain is cut, so a password or a signature inside the original
    never reaches the log; the scheduler, SQS or CloudFormation still see the invocation fail.
    Logging is imported only when an exception escapes.
    """
    def wrapped(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except Exception as error:  # noqa: BLE001 - re-raised, redacted
            from .log_setup import stand_in

            raise stand_in(error) from None
    wrapped.__wrapped__ = handler  # type: ignore[attr-defined]
    wrapped.__name__, wrapped.__doc__ = handler.__name__, handler.__doc__
    return wrapped


def __getattr__(name: str) -> Any:  # JsonFormatter, RedactingFilter, redact, REDACTED, configure…
    if name.startswith("__"):  # the import system probes __path__ & co.: not a reason to load logging
        raise AttributeError(name)
    from . import log_setup

    return getattr(log_setup, name)
