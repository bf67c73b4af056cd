"""Who is calling: the identity API Gateway or a Function URL verified, as the event states it.

The service authorizes a request before the function runs and then describes the caller in the
event's ``requestContext``, which a client cannot write. :func:`caller_of` reads every shape:

===========  ===============================================  ============================================
kind         HTTP API / Function URL (payload 2.0)            REST API (1.0) / WebSocket API
===========  ===============================================  ============================================
``iam``      ``authorizer.iam`` (SigV4: ``userArn``)          ``identity.userArn`` (SigV4)
``jwt``      ``authorizer.jwt.claims`` (verified token)       ``authorizer.claims`` (Cognito authorizer)
``lambda``   ``authorizer.lambda`` (its context)              ``authorizer.principalId``
===========  ===============================================  ============================================

No such block (authorization ``NONE``, a public Function URL, a hand-made event) means no caller:
``None``. A block of the wrong shape counts as absent, never as a caller.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any

#: Every kind of caller, as :attr:`Caller.kind` names it.
KINDS = ("iam", "jwt", "lambda")


class Caller:
    """An authenticated caller.

    :ivar kind: ``"iam"`` (a SigV4-signed AWS principal), ``"jwt"`` (a token the API's JWT or
        Cognito authorizer verified) or ``"lambda"`` (a Lambda authorizer's decision).
    :ivar id: the principal's ARN (iam), the token's ``sub`` (jwt), the authorizer's ``principalId``
        (lambda); None when the source gives none.
    :ivar account: the AWS account of an IAM principal, else None.
    :ivar claims: the token's claims (jwt) or the authorizer's context (lambda); empty for iam.
    """

    __slots__ = ("kind", "id", "account", "claims")

    def __init__(self, kind: str, id: str | None, account: str | None = None,  # noqa: A002 - the principal's id
                 claims: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.id = id
        self.account = account
        self.claims = claims or {}

    def __repr__(self) -> str:
        return f"Caller(kind={self.kind!r}, id={self.id!r})"


def caller_of(event: Any) -> Caller | None:
    """The caller the service verified for ``event``, or None."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return None
    authorizer = context.get("authorizer")
    if isinstance(authorizer, dict):
        iam = authorizer.get("iam")
        if isinstance(iam, dict) and _text(iam.get("userArn")):
            return Caller("iam", iam["userArn"], _text(iam.get("accountId")))
        jwt = authorizer.get("jwt")
        if isinstance(jwt, dict) and isinstance(jwt.get("claims"), dict):
            return Caller("jwt", _text(jwt["claims"].get("sub")), claims=jwt["claims"])
        if isinstance(authorizer.get("lambda"), dict):
            found = authorizer["lambda"]
            return Caller("lambda", _text(found.get("principalId")), claims=found)
        if isinstance(authorizer.get("claims"), dict):  # REST API: Cognito user pool authorizer
            return Caller("jwt", _text(authorizer["claims"].get("sub")), claims=authorizer["claims"])
        if _text(authorizer.get("principalId")):  # REST or WebSocket API: Lambda authorizer
            return Caller("lambda", authorizer["principalId"], claims=authorizer)
    identity = context.get("identity")
    if isinstance(identity, dict) and _text(identity.get("userArn")):  # REST or WebSocket API: IAM
        return Caller("iam", identity["userArn"], _text(identity.get("accountId")))
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
