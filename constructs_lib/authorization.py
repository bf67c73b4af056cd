"""Who may call an API: the rule both API constructs enforce before building anything."""
from __future__ import annotations

from .errors import InvalidPropError


def check_public(construct: str, authorization: str, allow_public: bool, *, alternatives: str, exposes: str,
                 verb: str) -> None:
    """``"NONE"`` only with ``allow_public=True``, and ``allow_public`` only with ``"NONE"``.

    :param alternatives: the other authorization types, as the message lists them (``"IAM or LAMBDA"``).
    :param exposes: what ``"NONE"`` opens, for the message (``"call every route"``).
    :param verb: what an authorized caller does (``"call"``, ``"connect"``).
    """
    if authorization == "NONE" and not allow_public:
        raise InvalidPropError(construct, "authorization", "NONE",
                               f"{alternatives}, or NONE together with allow_public=True "
                               f"(NONE lets anyone on the internet {exposes})")
    if allow_public and authorization != "NONE":
        raise InvalidPropError(construct, "allow_public", True, f"only with authorization='NONE' "
                               f"(authorization={authorization!r} already decides who may {verb})")
