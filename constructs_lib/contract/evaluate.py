"""Would AWS allow this request? AWS's policy evaluation logic for requests within one account.

Follows "Policy evaluation logic" of the IAM User Guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html) and
the KMS key-policy rules (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html):

1. an explicit ``Deny`` in any applicable document wins;
2. within one account, an ``Allow`` in the caller's identity policies or in the resource's policy
   (naming the caller, its service, or ``*``) suffices; a resource policy naming the account
   (``arn:aws:iam::<account>:root``) only delegates, so the identity policy must allow too;
3. across accounts, both the caller's identity policy and the resource policy must allow (an AWS
   service principal has no identity policy: the resource policy alone decides, so its conditions on
   ``aws:SourceAccount``/``aws:SourceArn`` are what keeps another account's alarm out);
4. a KMS key is used only if its key policy allows: directly, or by naming the account root,
   which delegates to the caller's identity policy;
5. an anonymous (unsigned) request has no identity policy and no account: only a resource policy
   statement for everyone (``"*"``) lets it in.

Action and resource matching is moto's ``IAMPolicyStatement`` (actions compared case-insensitively,
as IAM does), with its wildcard match done by the standard library's ``fnmatch``: moto's own turns
the pattern into a regular expression unescaped, so a ``$`` (as in API Gateway's ``$connect``
route ARNs) or a ``.`` would be read as regex syntax. Condition operators are evaluated here against
the request's context. An operator this module does not know makes the evaluation fail, never
silently pass.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from .policies import Policies, Statement, resource_owner
from .templates import PARTITION


class EvaluationError(ValueError):
    """A policy uses an element or condition operator the evaluator does not model."""


@dataclass(frozen=True)
class Principal:
    """Who calls: an IAM role (``arn``) or an AWS service (``service``), in ``account``; or, with
    ``anonymous``, anyone sending an unsigned request (no account, no identity)."""

    account: str
    arn: str | None = None
    service: str | None = None
    #: Identity statements the templates cannot hold (a role of another account, or of an AWS-published
    #: application); None: read the role's policies from the templates.
    assumed_identity: tuple[dict[str, Any], ...] | None = None
    anonymous: bool = False

    def __post_init__(self) -> None:
        if self.anonymous and (self.arn or self.service or self.account or self.assumed_identity):
            raise ValueError("an anonymous principal has no account, ARN, service or identity policy")

    @property
    def name(self) -> str:
        return "anonymous" if self.anonymous else self.service or self.arn or "?"


@dataclass(frozen=True)
class Request:
    principal: Principal
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    #: the statements that allowed it, by document kind ("identity", "resource", "kms")
    allowed_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    denied_by: tuple[str, ...] = ()


def decide(policies: Policies, request: Request) -> Decision:
    """The decision AWS would make on ``request`` given the templates' documents."""
    principal = request.principal
    owner = resource_owner(request.resource)
    resource_account = _account_of(request.resource, principal.account)
    context = _context(request)
    if principal.assumed_identity is not None:
        identity = [Statement(f"assumed:{principal.name}#{i}", body) for i, body in enumerate(principal.assumed_identity)]
    elif principal.arn is not None:
        identity = policies.identity.get(principal.arn, [])
    else:
        identity = []
    resource = policies.resource.get(owner, [])
    is_key = owner in policies.key_arns

    denied = tuple(s.id for s in identity if s.effect == "Deny" and _applies(s, request, context, None))
    denied += tuple(s.id for s in resource if s.effect == "Deny" and _applies(s, request, context, principal))
    if denied:
        return Decision(False, f"explicitly denied by {', '.join(denied)}", denied_by=denied)
    by_identity = tuple(s.id for s in identity if s.effect == "Allow" and _applies(s, request, context, None))
    direct, delegated = [], []
    for statement in resource:
        if statement.effect == "Allow" and _applies(statement, request, context, principal):
            (delegated if _names_account_only(statement, principal) else direct).append(statement.id)
    kind = "kms" if is_key else "resource"
    if principal.anonymous:
        if direct:
            return Decision(True, f"the {kind} policy allows everyone, unsigned requests included", {kind: tuple(direct)})
        return Decision(False, "an unsigned request is allowed only by a resource policy statement for everyone")
    if principal.service is None and principal.account != resource_account:
        if by_identity and (direct or delegated):
            return Decision(True, "cross-account: identity and resource policy allow",
                            {"identity": by_identity, kind: tuple(direct + delegated)})
        return Decision(False, "cross-account: needs both the caller's identity policy and the resource policy "
                        f"(identity: {bool(by_identity)}, resource: {bool(direct or delegated)})")
    if direct:
        return Decision(True, f"the {kind} policy allows {principal.name}",
                        {kind: tuple(direct), **({"identity": by_identity} if by_identity and not is_key else {})})
    if delegated and by_identity:
        return Decision(True, f"the {kind} policy delegates to IAM and the identity policy allows",
                        {kind: tuple(delegated), "identity": by_identity})
    if by_identity and not is_key:
        return Decision(True, "the identity policy allows", {"identity": by_identity})
    if is_key:
        return Decision(False, "no key policy statement allows it (directly, or by delegating to an identity "
                        "policy that allows it)")
    return Decision(False, "no statement allows it (implicit deny)")


def document_allows(statements: Sequence[Statement], request: Request, *, resource_policy: bool) -> bool:
    """One document on its own: some Allow applies to ``request`` and no Deny does (no delegation,
    no account logic: for checking what a single key, topic or role policy says)."""
    context = _context(request)
    who = request.principal if resource_policy else None
    applying = [s for s in statements if _applies(s, request, context, who)]
    return any(s.effect == "Allow" for s in applying) and not any(s.effect == "Deny" for s in applying)


# ---- one statement ----------------------------------------------------------------------------
def _applies(statement: Statement, request: Request, context: Mapping[str, str],
             principal: Principal | None) -> bool:
    """Does ``statement`` (an identity statement when ``principal`` is None) match the request?"""
    body = statement.body
    for unsupported in ("NotPrincipal", "NotResource"):
        if unsupported in body:
            raise EvaluationError(f"{statement.id}: {unsupported} is not modelled")
    if principal is not None and not _principal_matches(body.get("Principal"), principal):
        return False
    matcher = {"Effect": "Allow"}
    for element in ("Action", "NotAction"):
        if element in body:
            values = body[element] if isinstance(body[element], list) else [body[element]]
            matcher[element] = [value.lower() for value in values]
    if "Resource" in body:
        matcher["Resource"] = body["Resource"]
    if _Statement(matcher).is_action_permitted(request.action.lower(), request.resource) \
            != PermissionResult.PERMITTED:
        return False
    return conditions_hold(statement.id, body.get("Condition", {}), context)


def _principal_matches(element: Any, principal: Principal) -> bool:
    if element is None:
        raise EvaluationError("a resource policy statement without Principal")
    if element == "*":
        return True
    for kind, values in element.items():
        for value in values if isinstance(values, list) else [values]:
            if kind == "AWS" and value == "*":
                return True  # {"AWS": "*"} is "*": everyone, services included
            if principal.anonymous:
                continue  # nothing but "*" names an unsigned caller
            if kind == "AWS" and principal.service is None and (
                    value == principal.arn or value in (principal.account, _root(principal.account))):
                return True
            if kind == "Service" and value == principal.service:
                return True
    return False


def _names_account_only(statement: Statement, principal: Principal) -> bool:
    """True when the statement matched the caller only through its account (root): a delegation."""
    element = statement.body.get("Principal")
    if element == "*" or principal.service is not None:
        return False
    values = element.get("AWS", [])
    values = values if isinstance(values, list) else [values]
    return "*" not in values and principal.arn not in values


def _root(account: str) -> str:
    return f"arn:{PARTITION}:iam::{account}:root"


def _account_of(arn: str, default: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else default


def _context(request: Request) -> dict[str, str]:
    """The request context: keys are case-insensitive, so they are kept lower-cased."""
    context = {"aws:securetransport": "true"}
    if not request.principal.anonymous:
        context["aws:principalaccount"] = request.principal.account
    if request.principal.arn:
        context["aws:principalarn"] = request.principal.arn
    if request.principal.service:
        context["aws:principalservicename"] = request.principal.service
    context.update({key.lower(): value for key, value in request.context.items()})
    return context


# ---- conditions --------------------------------------------------------------------------------
def conditions_hold(where: str, conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    """All condition blocks hold (AND across operators and keys, OR across a key's values).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    """
    for operator, keys in conditions.items():
        if operator.startswith(("ForAnyValue:", "ForAllValues:")):
            raise EvaluationError(f"{where}: set operator {operator} is not modelled")
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        compare = None if base == "Null" else _operator(where, base)
        for key, expected in keys.items():
            values = [str(value) for value in (expected if isinstance(expected, list) else [expected])]
            actual = context.get(key.lower())
            if base == "Null":
                if (actual is None) != (values[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists or base in _NEGATED:
                    continue
                return False
            if not compare(values, actual):  # type: ignore[misc]
                return False
    return True


class _Statement(IAMPolicyStatement):
    """moto's statement matching with IAM's wildcards (``*``, ``?``) and nothing else special."""

    @staticmethod
    def _match(pattern: str, string: str) -> Any:
        return True if _like(pattern, string) else None


def _like(pattern: str, value: str) -> bool:
    """IAM's ``*`` and ``?`` wildcards; ``[`` is literal in IAM, so it is escaped for fnmatch."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six ``:``-separated components is matched separately."""
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) and all(_like(p, v) for p, v in zip(patterns, values))


def _operator(where: str, name: str) -> Any:
    if name not in _OPERATORS:
        raise EvaluationError(f"{where}: condition operator {name} is not modelled")
    return _OPERATORS[name]


_OPERATORS = {
    "StringEquals": lambda expected, actual: actual in expected,
    "StringNotEquals": lambda expected, actual: actual not in expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() in [e.lower() for e in expected],
    "StringLike": lambda expected, actual: any(_like(e, actual) for e in expected),
    "StringNotLike": lambda expected, actual: not any(_like(e, actual) for e in expected),
    "ArnEquals": lambda expected, actual: actual in expected,
    "ArnLike": lambda expected, actual: any(_arn_like(e, actual) for e in expected),
    "ArnNotEquals": lambda expected, actual: actual not in expected,
    "ArnNotLike": lambda expected, actual: not any(_arn_like(e, actual) for e in expected),
    "Bool": lambda expected, actual: actual.lower() in [e.lower() for e in expected],
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
