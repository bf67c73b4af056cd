"""Validation of EventBridge Scheduler ``rate(...)`` and ``cron(...)`` expressions at synth.

Cron has six fields: minutes hours day-of-month month day-of-week year, and exactly one of
day-of-month and day-of-week must be ``?``.
"""
from __future__ import annotations

import re

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
#: (name, low, high, names allowed, extra wildcards allowed)
_FIELDS = (
    ("minutes", 0, 59, "", ""),
    ("hours", 0, 23, "", ""),
    ("day-of-month", 1, 31, "", "?LW"),
    ("month", 1, 12, _MONTHS, ""),
    ("day-of-week", 1, 7, _DAYS, "?L#"),
    ("year", 1970, 2199, "", ""),
)


def problem(expression: str) -> str | None:
    """Why EventBridge would reject ``expression``, or None when it is valid."""
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            return "a rate must be at least 1"
        if (value == 1) != (not unit.endswith("s")):
            return f"use '{unit.rstrip('s')}' for 1 and '{unit.rstrip('s')}s' otherwise"
        return None
    if expression.startswith("rate("):
        return "rate(<value> <minute|minutes|hour|hours|day|days>)"
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return "rate(...) or cron(...)"
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
    for value, (name, low, high, names, extra) in zip(fields, _FIELDS):
        if not _field_ok(value, low, high, names, extra):
            return f"invalid {name} field {value!r}"
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _field_ok(value: str, low: int, high: int, names: str, extra: str) -> bool:
    if value == "*" or (value == "?" and "?" in extra):
        return True
    if "L" in extra and re.fullmatch(r"L|LW|\d{1,2}W|L-\d{1,2}|[1-7]L", value):
        return True
    if "#" in extra and re.fullmatch(r"[1-7]#[1-5]", value):
        return True
    name_list = names.split("|") if names else []
    for item in value.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            return False
        if base == "*" and slash:
            continue
        bounds = base.split("-")
        if not 1 <= len(bounds) <= 2:
            return False
        for bound in bounds:
            if bound in name_list:
                continue
            if not bound.isdigit() or not low <= int(bound) <= high:
                return False
    return True
