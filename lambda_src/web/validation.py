"""Small declarative validation for JSON bodies, with field-level messages (422)."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from ..errors import UnprocessableEntity

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$"
_email_match: Any = None  # compiled on first use, keeping re off the cold-start path


class Field:
    """A string field: required or not, with length bounds and an optional email format."""

    __slots__ = ("required", "min_length", "max_length", "email")

    def __init__(self, *, required: bool = True, min_length: int = 1, max_length: int = 200, email: bool = False) -> None:
        self.required = required
        self.min_length = min_length
        self.max_length = max_length
        self.email = email


def _is_email(value: str) -> bool:
    global _email_match
    if _email_match is None:
        import re

        _email_match = re.compile(EMAIL_PATTERN).match
    return _email_match(value) is not None


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """``text`` as a non-negative integer when it is 1 to ``max_digits`` ASCII digits, else None.

    ``str.isdigit`` and ``int`` accept other scripts' digits (``int("١") == 1``), and ``isdigit`` even
    some ``int`` rejects (``"²"``): ids and numeric parameters take ASCII digits only.
    """
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def storable(text: str) -> bool:
    """Whether PostgreSQL can store ``text``: no NUL (``text`` columns refuse it) and no unpaired
    surrogate (not UTF-8 encodable). JSON's ``"\\u0000"`` and ``"\\ud800"`` decode to both."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate(body: Any, fields: dict[str, Field], *, partial: bool = False) -> dict[str, str]:
    """Return the known fields of ``body`` cleaned, or raise 422 listing every problem.

    With ``partial`` (PATCH) no field is required, but at least one must be given.
    """
    if not isinstance(body, dict):
        raise UnprocessableEntity("The body must be a JSON object", details=[{"field": "$", "message": "expected an object"}])
    problems = [{"field": key, "message": "unknown field"} for key in body if key not in fields]
    cleaned: dict[str, str] = {}
    for name, spec in fields.items():
        if name not in body:
            if spec.required and not partial:
                problems.append({"field": name, "message": "is required"})
            continue
        value = body[name]
        if not isinstance(value, str):
            problems.append({"field": name, "message": "must be a string"})
            continue
        if not storable(value):
            problems.append({"field": name, "message": "must not contain NUL or unpaired surrogate characters"})
            continue
        value = value.strip()
        if not spec.min_length <= len(value) <= spec.max_length:
            problems.append({"field": name, "message": f"must be {spec.min_length}–{spec.max_length} characters"})
        elif spec.email and not _is_email(value):
            problems.append({"field": name, "message": "must be an email address"})
        else:
            cleaned[name] = value.lower() if spec.email else value
    if partial and not body:
        problems.append({"field": "$", "message": "at least one field is required"})
    if problems:
        raise UnprocessableEntity(details=problems)
    return cleaned
