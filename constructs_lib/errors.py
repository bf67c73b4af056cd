"""The one error type every construct raises for invalid props, at synth time."""
from __future__ import annotations

from typing import Any


class InvalidPropError(ValueError):
    """A construct prop has a value the construct cannot build.

    The message always names the construct, the prop, the value given and what is allowed,
    so a failing ``cdk synth`` tells the user exactly what to change.
    """

    def __init__(self, construct: str, prop: str, value: Any, allowed: str) -> None:
        self.construct = construct
        self.prop = prop
        self.value = value
        self.allowed = allowed
        super().__init__(f"{construct}: invalid {prop}={value!r}; allowed: {allowed}")
