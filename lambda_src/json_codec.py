"""JSON in and out through the standard library's C scanner and encoder, built once.

``json.dumps``/``JSONEncoder.encode`` build a new C encoder on every call, and ``json.loads`` goes
through two Python-level layers and two whitespace regex matches before reaching the C scanner.
On a warm request those layers cost about as much as the work itself, so this module keeps one
encoder and one scanner for the container. Output and acceptance are exactly the standard
library's (compact separators, ``default=str`` for values JSON has no type for).
"""
from __future__ import annotations

import json
from json import encoder as _encoder

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any

_slow_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
_full_decode = json.JSONDecoder().decode
_scan_once = json.scanner.make_scanner(json.JSONDecoder())

if _encoder.c_make_encoder is not None:
    # markers=None skips the circular-reference check: a cycle raises RecursionError instead of
    # ValueError, and no response or event this package builds can contain one.
    _c_encode = _encoder.c_make_encoder(None, str, _encoder.encode_basestring_ascii, None, ":", ",",
                                        False, False, True)

    def encode(value: Any) -> str:
        """``json.dumps(value, separators=(",", ":"), default=str)``."""
        return "".join(_c_encode(value, 0))
else:  # pragma: no cover - an interpreter without the _json accelerator
    encode = _slow_encode


def decode(text: str | bytes) -> Any:
    """``json.loads(text)``; a text that is one bare JSON value goes straight to the C scanner.

    Surrounding whitespace, trailing data, bytes and errors take the full decoder, which accepts or
    rejects exactly what ``json.loads`` does (and raises the same exceptions).
    """
    if isinstance(text, str):
        try:
            value, end = _scan_once(text, 0)
        except StopIteration:
            return _full_decode(text)
        if end == len(text):
            return value
        return _full_decode(text)
    return json.loads(text)
