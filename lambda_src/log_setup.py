"""Structured JSON logs through the standard library, with secrets redacted (loaded on first log).

On Lambda (JSON log format) the runtime's handler already writes each record as JSON, including
``extra`` fields; elsewhere :func:`configure` installs an equivalent JSON formatter. Either way the
:class:`RedactingFilter` on the logger scrubs secrets first: on the runtime's own logger
(``lambda_src``), and on each app's logger set up by :func:`get_logger` (e.g. ``get_logger("orders")``).
"""
from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any  # this module loads only when something is logged

from .json_codec import encode

#: The runtime's own logger; an app logs under its own name (:func:`get_logger`).
LOGGER_NAME = "lambda_src"
_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|signature|credential|api[-_]?key", re.I)
_SECRET_WORD = r"(?:passw(?:or)?d|pwd|secret|token|signature|credential|api[-_]?key|authorization|cookie)"
#: Each pattern keeps ``keep`` (and ``after``) and replaces the secret between them.
_SECRET_VALUES = (
    # key=value and key: value wherever they appear: query strings and presigned IAM tokens
    # (X-Amz-Signature=, X-Amz-Security-Token=, X-Amz-Credential=, also %3D-encoded inside another
    # URL), libpq DSNs (password=x, password='x y'), SigV4 Authorization headers (Credential=,
    # Signature=), headers and dict reprs ({'password': 'x'}, 'authorization': 'Bearer x').
    re.compile(r"""(?P<keep>[\w-]*%s[\w-]*['"]?\s*(?:=|%%3D|:)\s*)"""
               r"""(?:'[^'\n]*'|"[^"\n]*"|(?:Bearer|Basic|Digest)\s+[^\s'",;]+|[^&\s'",;]+)""" % _SECRET_WORD, re.I),
    # user:password@ in a URL (to the last @ before a space: a password may contain @)
    re.compile(r"(?P<keep>://[^:/@\s]+:)[^\s]+(?P<after>@)"),
)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
REDACTED = "[REDACTED]"


def _replace(match: re.Match[str]) -> str:
    return match.group("keep") + REDACTED + (match.groupdict().get("after") or "")


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys and values replaced.

    Strings are scrubbed; numbers, booleans and None pass; anything else (an exception, an object
    JSON would write with ``str``) is scrubbed as its ``str``.
    """
    if isinstance(value, str):
        for pattern in _SECRET_VALUES:
            value = pattern.sub(_replace, value)
        return value
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {key: REDACTED if isinstance(key, str) and _SECRET_KEYS.search(key) else redact(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    return redact(_text(value))


def _text(value: Any) -> str:
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break logging
        return f"<unprintable {type(value).__name__}>"


class RedactedError(Exception):
    """Stands in for a logged exception: same type name and module, message redacted, no chain."""


_stand_ins: dict[type, type[RedactedError]] = {}


def _stand_in(error: BaseException) -> RedactedError:
    """A stand-in for ``error``: of a subclass of its type where that type allows (so ``except
    ValueError`` still catches it), of the same name and module, with the message redacted."""
    kind = type(error)
    message = redact(_text(error))
    cls = _stand_ins.get(kind)
    if cls is None:
        names = {"__module__": kind.__module__, "__qualname__": kind.__qualname__}
        try:
            cls = type(kind.__name__, (RedactedError, kind), names)
            cls(message)
        except TypeError:  # a type that can't be subclassed or built from a message alone
            cls = type(kind.__name__, (RedactedError,), names)
        _stand_ins[kind] = cls
    try:
        stand_in = cls(message)
    except Exception:  # noqa: BLE001 - building the stand-in must never fail the caller
        stand_in = RedactedError(message)
    stand_in.__suppress_context__ = True
    return stand_in


def stand_in(error: BaseException) -> RedactedError:
    """What :func:`lambda_src.log.redacted_errors` raises instead of ``error``."""
    return _stand_in(error)


def _redact_exception(record: logging.LogRecord) -> None:
    """Scrub the record's exception: every formatter then shows the redacted text.

    ``logging.Formatter`` (ours, and CloudWatch's text format) prints ``exc_text`` once it is set:
    it becomes the full traceback, chained causes included, redacted. The Lambda runtime's JSON
    formatter reads the exception itself (``str(exc_info[1])``): it gets a stand-in whose message
    is redacted. The traceback object stays (frames show code, not values).
    """
    kind, error, traceback = record.exc_info  # type: ignore[misc]
    if record.exc_text is None:
        try:
            record.exc_text = _PLAIN.formatException(record.exc_info)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001
            record.exc_text = f"{kind.__name__ if kind else 'Exception'}: <traceback unavailable>"
    record.exc_text = redact(record.exc_text)
    if error is not None and not isinstance(error, RedactedError):
        record.exc_info = (kind, _stand_in(error), traceback)


_PLAIN = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Scrubs the message, its arguments, every ``extra`` field, and the exception and stack of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(str(record.msg))
        if record.exc_info:
            _redact_exception(record)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                record.__dict__[key] = REDACTED if _SECRET_KEYS.search(key) else redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_text or record.exc_info:  # exc_text: the redacted traceback the filter left
            entry["stackTrace"] = record.exc_text or self.formatException(record.exc_info)
        return encode(entry)


def configure(name: str = LOGGER_NAME) -> logging.Logger:
    """Set up the logger ``name`` and return it: the redacting filter, the level from ``LOG_LEVEL``
    (INFO when unset or not a level), and outside Lambda a JSON handler on stderr (records then stop
    there, so nothing is written twice). On Lambda with the JSON log format the runtime's handler
    writes the records. Calling it again changes nothing but the level.

    :param name: the logger's name. Default: :data:`LOGGER_NAME`, the runtime's own.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a logger name is a non-empty string (the root logger is not configured), got {name!r}")
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    from .config import load

    level = load().log_level
    logger.setLevel(level if isinstance(logging.getLevelName(level), int) else logging.INFO)  # a typo must not crash init
    if load().lambda_log_format is None and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """The logger of an app built on the runtime (``get_logger("orders")``), set up as the runtime's
    own: JSON lines, secrets redacted, ``LOG_LEVEL``. The runtime's records stay under ``lambda_src``.

    A logger's filters see only the records logged on it, not its children's: log through this
    logger, or call ``get_logger`` for each name you log under (``get_logger("orders.billing")``).
    """
    return configure(name)


configure()
#: The package logger: a logger's filters do not apply to its children's records, so there is one.
logger = logging.getLogger(LOGGER_NAME)
