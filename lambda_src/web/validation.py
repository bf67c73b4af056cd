"""Small declarative validation for JSON bodies, with field-level messages (422)."""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from ..errors import UnprocessableEntity, excerpt

#: ``local@domain``: a local part of 1-64 characters without ``@`` or whitespace, then a domain.
EMAIL_PATTERN = r"[^@\s]{1,64}@[^@\s]{1,253}"
#: The domain in ASCII (after IDNA) as a host name: letter-digit-hyphen labels of 1-63 characters,
#: none starting or ending with a hyphen, and a top-level label of letters or an A-label (``xn--``).
HOST_NAME_PATTERN = r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
#: Unknown fields named in a 422 at most (a body may hold thousands).
MAX_UNKNOWN_FIELDS = 20
_email_match: Any = None  # compiled on first use, keeping re off the cold-start path
_host_match: Any = None


class Field:
    """A string field: required or not, with length bounds and an optional email format."""

    __slots__ = ("required", "min_length", "max_length", "email")

    def __init__(self, *, required: bool = True, min_length: int = 1, max_length: int = 200, email: bool = False) -> None:
        self.required = required
        self.min_length = min_length
        self.max_length = max_length
        self.email = email


class Param:
    """A path or query parameter as the API document describes it: a string, or an integer with bounds.

    Query parameters are parsed by the route (``request.query_value``); this declares what it accepts.
    """

    __slots__ = ("description", "integer", "minimum", "maximum", "default", "required")

    def __init__(self, description: str = "", *, integer: bool = False, minimum: int | None = None,
                 maximum: int | None = None, default: int | str | None = None, required: bool = False) -> None:
        self.description = description
        self.integer = integer
        self.minimum = minimum
        self.maximum = maximum
        self.default = default
        self.required = required


def normalize_email(value: str) -> str | None:
    """The address as stored (local part lower-cased, domain in lower-case ASCII), or None if invalid.

    Refused: any control, format or separator character (Unicode categories C* and Z*): the bidi
    embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), the direction marks
    (U+200E/F), zero-width characters (U+200B-U+200D, U+2060, U+FEFF) and the soft hyphen would let
    one address read as another. An internationalized domain becomes its IDNA A-labels (Python's
    IDNA 2003 codec: ``bücher.example`` → ``xn--bcher-kva.example``); one that does not encode, an
    A-label that does not decode, or a domain that is not a host name is invalid.
    """
    global _email_match, _host_match
    if _email_match is None:
        import re

        _email_match, _host_match = re.compile(EMAIL_PATTERN).fullmatch, re.compile(HOST_NAME_PATTERN).fullmatch
    if not value.isascii():
        import unicodedata

        if any(unicodedata.category(char)[0] in "CZ" for char in value):
            return None
    if _email_match(value) is None:
        return None
    local, _, domain = value.partition("@")
    try:
        if not domain.isascii():
            domain = domain.lower().encode("idna").decode("ascii")
        elif "xn--" in domain.lower():
            domain.encode("ascii").decode("idna")  # an A-label must be valid punycode
    except UnicodeError:
        return None
    domain = domain.lower()
    if _host_match(domain) is None:
        return None
    email = f"{local.lower()}@{domain}"
    return email if len(email) <= 254 else None


def _field_name(key: str) -> str:
    """A client's key as a 422 names it: as sent when short printable ASCII, else a short escaped excerpt."""
    return key if len(key) <= 64 and key.isascii() and key.isprintable() else excerpt(key)


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
    unknown = [key for key in body if key not in fields]
    problems = [{"field": _field_name(key), "message": "unknown field"} for key in unknown[:MAX_UNKNOWN_FIELDS]]
    if len(unknown) > MAX_UNKNOWN_FIELDS:
        problems.append({"field": "$", "message": f"{len(unknown) - MAX_UNKNOWN_FIELDS} more unknown fields"})
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
        elif spec.email:
            email = normalize_email(value)
            if email is None:
                problems.append({"field": name, "message": "must be an email address"})
            else:
                cleaned[name] = email
        else:
            cleaned[name] = value
    if partial and not body:
        problems.append({"field": "$", "message": "at least one field is required"})
    if problems:
        raise UnprocessableEntity(details=problems)
    return cleaned
