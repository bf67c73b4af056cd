"""Values that live in the CDK's Node process, read once per object.

Every jsii property read or method call is a round trip to Node (about 0.3 ms here), and synth time
is mostly those round trips. Durations are immutable and a construct's path never changes, so each
is read once and remembered for as long as the object lives (weak references: nothing is kept alive).
"""
from __future__ import annotations

import weakref

from aws_cdk import Duration
from constructs import IConstruct

from .errors import InvalidPropError

_SECONDS: weakref.WeakKeyDictionary[Duration, float] = weakref.WeakKeyDictionary()
_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()

#: The separator of construct paths; constructs replaces it in ids with ``--``.
_PATH_SEP = "/"
#: What every Duration prop's error says it takes.
DURATION_EXPECTED = "a Duration (e.g. Duration.seconds(30))"


def check_durations(construct: str, **props: object) -> None:
    """Raise naming ``construct`` and the prop when a value given is neither None nor a ``Duration``.

    A plain number (``timeout=30``) would otherwise fail later, deep inside, with a ``TypeError``
    that names no prop. Every construct calls this first for each of its Duration props.
    """
    for prop, value in props.items():
        if value is not None and not isinstance(value, Duration):
            raise InvalidPropError(construct, prop, value, DURATION_EXPECTED)


def seconds(duration: Duration) -> float:
    """The duration in seconds, fractions kept (``500 millis`` is 0.5), asked of Node once per Duration object."""
    found = _SECONDS.get(duration)
    if found is None:
        found = _SECONDS[duration] = duration.to_seconds(integral=False)
    return found


def whole_units(duration: Duration, *, construct: str, prop: str, unit_seconds: int = 1, unit: str = "seconds") -> int:
    """The duration as a whole number of units (seconds by default); raise naming ``construct`` and
    ``prop`` when it is not one, instead of the error CDK would give later."""
    given = seconds(duration)
    units = given / unit_seconds
    if not units.is_integer():
        raise InvalidPropError(construct, prop, f"{given:g} seconds", f"whole {unit}")
    return int(units)


def path_of(construct: IConstruct) -> str:
    """``construct.node.path``, asked of Node once per construct."""
    found = _PATHS.get(construct)
    if found is None:
        found = _PATHS[construct] = construct.node.path
    return found


def own_path(construct: IConstruct, scope: IConstruct, construct_id: str) -> str:
    """The path of ``construct``, just created as ``construct_id`` under ``scope``, worked out the way
    the constructs library does (``/`` in an id becomes ``--``) from the scope's path, and remembered."""
    parent = path_of(scope)
    own = construct_id.replace(_PATH_SEP, "--")
    found = _PATHS[construct] = f"{parent}{_PATH_SEP}{own}" if parent else own
    return found
