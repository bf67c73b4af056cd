"""Structured JSON logs through the standard library, with secrets redacted (loaded on first log).

On Lambda (JSON log format) the runtime's handler already writes each record as JSON, including
``extra`` fields; elsewhere :func:`configure` installs an equivalent JSON formatter. Either way the
:class:`RedactingFilter` on the ``lambda_src`` logger scrubs secrets first.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any  # this module loads only when something is logged

LOGGER_NAME = "lambda_src"
_SECRET_KEYS = re.compile(r"pass(word)?|secret|token|authorization|cookie|signature|credential|api[-_]?key", re.I)
_SECRET_VALUES = (
    re.compile(r"(X-Amz-Signature=)[0-9a-f]+", re.I),
    re.compile(r"(X-Amz-Security-Token=)[^&\s\"']+", re.I),
    re.compile(r"(X-Amz-Credential=)[^&\s\"']+", re.I),
    re.compile(r"(password=)[^&\s\"']+", re.I),
    re.compile(r"(://[^:/\s]+:)[^@\s]+(@)"),
)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
REDACTED = "[REDACTED]"


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys and values replaced."""
    if isinstance(value, dict):
        return {key: REDACTED if isinstance(key, str) and _SECRET_KEYS.search(key) else redact(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        for pattern in _SECRET_VALUES:
            value = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.lastindex and m.lastindex > 1 else ""), value)
    return value


class RedactingFilter(logging.Filter):
    """Scrubs the message, its arguments and every ``extra`` field of a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        record.msg = redact(str(record.msg))
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
        if record.exc_info:
            entry["stackTrace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure() -> None:
    """Install the redacting filter; outside Lambda also a JSON handler on stderr."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    from .config import load

    level = load().log_level
    logger.setLevel(level if isinstance(logging.getLevelName(level), int) else logging.INFO)  # a typo must not crash init
    if "AWS_LAMBDA_LOG_FORMAT" not in os.environ and not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False


configure()
#: The package logger: a logger's filters do not apply to its children's records, so there is one.
logger = logging.getLogger(LOGGER_NAME)
