"""Validation at synth of EventBridge Scheduler expressions: ``rate(...)``, ``cron(...)`` and ``at(...)``.

Cron has six fields: minutes hours day-of-month month day-of-week year, each with the wildcards
EventBridge documents for it, and exactly one of day-of-month and day-of-week must be ``?``:

=============  ===============  ================
field          values           wildcards
=============  ===============  ================
minutes        0-59             , - * /
hours          0-23             , - * /
day-of-month   1-31             , - * ? / L W
month          1-12, JAN-DEC    , - * /
day-of-week    1-7, SUN-SAT     , - * ? L #
year           1970-2199        , - * /
=============  ===============  ================

``L`` (last day of the month, ``LW`` its last weekday), ``nW`` (the weekday nearest day n) and
``d#n`` (the n-th day d of the month, alone in its field) and ``dL`` (the last day d) stand alone.
A rate is ``rate(1 unit)`` or ``rate(N units)`` for minute, hour and day.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT = re.compile(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    wildcards: str
    names: tuple[str, ...] = ()

    def value(self, text: str) -> int | None:
        """The number ``text`` stands for in this field, or None when it is not one."""
        if text in self.names:
            return self.low + self.names.index(text)
        if _NUMBER.fullmatch(text) and self.low <= int(text) <= self.high:
            return int(text)
        return None


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS = (
    _Field("minutes", 0, 59, ",-*/"),
    _Field("hours", 0, 23, ",-*/"),
    _Field("day-of-month", 1, 31, ",-*?/LW"),
    _Field("month", 1, 12, ",-*/", _MONTHS),
    _Field("day-of-week", 1, 7, ",-*?L#", _DAYS),
    _Field("year", 1970, 2199, ",-*/"),
)
ALLOWED = ("rate(1 minute|hour|day), rate(N minutes|hours|days), "
           "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)")


def problem(expression: str) -> str | None:
    """Why EventBridge Scheduler would reject ``expression``, or None when it is valid."""
    if expression.startswith("rate("):
        return _rate_problem(expression)
    if expression.startswith("cron(") and expression.endswith(")"):
        return _cron_problem(expression[5:-1])
    if expression.startswith("at("):
        return _at_problem(expression)
    return ALLOWED


def _rate_problem(expression: str) -> str | None:
    rate = _RATE.fullmatch(expression)
    if not rate:
        return "rate(<value> <minute|minutes|hour|hours|day|days>), one space between value and unit"
    value, unit = int(rate.group(1)), rate.group(2)
    if value < 1:
        return f"a rate value of at least 1, got {value}"
    singular = unit.rstrip("s")
    if (value == 1) != (unit == singular):
        return f"use '{singular}' for 1 and '{singular}s' otherwise"
    return None


def _at_problem(expression: str) -> str | None:
    at = _AT.fullmatch(expression)
    try:
        if at:
            datetime.fromisoformat(at.group(1))
            return None
    except ValueError:
        pass
    return "at(yyyy-mm-ddThh:mm:ss), a real date and time"


def _cron_problem(body: str) -> str | None:
    fields = body.split(" ")
    if len(fields) != len(_FIELDS) or "" in fields:
        return f"cron needs 6 fields separated by single spaces (minutes hours day-of-month month day-of-week year), " \
               f"got {len(body.split())}"
    for text, field in zip(fields, _FIELDS):
        if not _field_ok(text, field):
            return f"invalid {field.name} field {text!r}; allowed: {field.low}-{field.high}" + \
                   (f" or {field.names[0]}-{field.names[-1]}" if field.names else "") + \
                   f" with wildcards {' '.join(field.wildcards)}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _field_ok(text: str, field: _Field) -> bool:
    if text == "*" or (text == "?" and "?" in field.wildcards):
        return True
    if field.name == "day-of-month" and (text in ("L", "LW") or
                                         (text.endswith("W") and field.value(text[:-1]) is not None)):
        return True
    if field.name == "day-of-week":
        if text == "L" or (text.endswith("L") and field.value(text[:-1]) is not None):
            return True
        day, hash_, nth = text.partition("#")
        if hash_:
            return field.value(day) is not None and nth in ("1", "2", "3", "4", "5")
    return all(_item_ok(item, field) for item in text.split(","))


def _item_ok(item: str, field: _Field) -> bool:
    base, slash, step = item.partition("/")
    if slash:
        if "/" not in field.wildcards or not (_NUMBER.fullmatch(step) and 1 <= int(step) <= field.high):
            return False
        if base == "*":
            return True
    bounds = base.split("-")
    if len(bounds) > 2:
        return False
    return all(field.value(bound) is not None for bound in bounds)
