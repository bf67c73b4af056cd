"""The one error type every construct raises for invalid props, and how checks at synth report errors."""
from __future__ import annotations

from typing import Any

from constructs import IConstruct


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


def check_range(construct: str, prop: str, value: int, bounds: tuple[int, int], unit: str = "") -> None:
    """InvalidPropError naming ``prop`` unless ``bounds[0] <= value <= bounds[1]`` (``unit``: "seconds", "MB"…)."""
    low, high = bounds
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise InvalidPropError(construct, prop, f"{value}{suffix}", f"{low}–{high}{suffix}")


#: The metadata type of an error annotation (the cloud assembly's ``ArtifactMetadataEntryType.ERROR``),
#: which ``cdk synth`` prints and then fails on.
_ERROR = "aws:cdk:error"


def report_error(construct: IConstruct, rule: str, message: str) -> None:
    """Report ``message`` as a synth error of ``construct``, as ``cdk synth`` reports its own.

    For checks that can only run while the app synthesizes (a ``node.add_validation``): an error
    raised or returned there crosses jsii and reaches the user inside a Node stack trace. An error
    annotation instead makes ``cdk synth`` (and ``cdk deploy``) print ``ERROR <message>``, the
    construct's path and ``Rule <construct class>::<rule>``, and fail. This writes the entry
    ``Annotations.of(construct).add_error`` writes, without the stack trace CDK records with it
    (whose first frame, a jsii-internal file, the CLI would print). Each message is reported once,
    however many times the app synthesizes.
    """
    data = f"{message} ({type(construct).__name__}::{rule})"
    if not any(entry.type == _ERROR and entry.data == data for entry in construct.node.metadata):
        construct.node.add_metadata(_ERROR, data)
