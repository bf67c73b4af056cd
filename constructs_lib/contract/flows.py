"""Runtime flows, declared as data, and decided against synthesized templates.

A :class:`Flow` says who calls (:class:`Role`, :class:`Service`, :class:`OtherAccount`,
:class:`ExternalRole`, :class:`Anonymous`), which actions on which resource, which documents must allow it (identity
policy, resource policy, KMS key policy), the AWS page that states the requirement, and whether it
must be allowed or must be proven denied. Resources are named by construct path (:class:`At`), so a
flow whose caller or resource is missing from the templates fails instead of passing vacuously.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .evaluate import Decision, Principal, Request, decide
from .policies import Policies
from .templates import PARTITION, Templates, TemplateError

#: The account a flow from "another account" comes from.
OTHER_ACCOUNT = "999999999999"
DOCUMENTS = ("identity", "resource", "kms")


class Value(Protocol):
    def resolve(self, templates: Templates) -> str: ...


@dataclass(frozen=True)
class At:
    """The one resource of ``type`` at construct path ``<stack>/<path>``; its ``Ref`` as a value."""

    stack: str
    path: str
    type: str

    def find(self, templates: Templates) -> Any:
        return templates.find(self.stack, self.path, self.type)

    def resolve(self, templates: Templates) -> str:
        return templates.attribute(self.find(templates), None)

    def attr(self, attribute: str) -> Attr:
        return Attr(self, attribute)

    def prop(self, path: str) -> Prop:
        return Prop(self, path)


@dataclass(frozen=True)
class Attr:
    """``Fn::GetAtt`` of a resource."""

    at: At
    attribute: str

    def resolve(self, templates: Templates) -> str:
        return templates.attribute(self.at.find(templates), self.attribute)


@dataclass(frozen=True)
class Prop:
    """A property of a resource, resolved (``Role`` of a function, ``Target.RoleArn`` of a schedule)."""

    at: At
    path: str

    def resolve(self, templates: Templates) -> str:
        resource = self.at.find(templates)
        value: Any = resource.properties
        for part in self.path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise TemplateError(f"{resource.path} has no property {self.path}")
            value = value[part]
        return str(templates.resolve(resource.stack, value))


@dataclass(frozen=True)
class Fmt:
    """A string built from values: ``{partition}``, ``{region}``, ``{account}`` (of ``stack``) and
    ``{0}``, ``{1}``… for ``args``; ``{0.last}`` is the last ``:``-separated segment of an ARN."""

    text: str
    args: tuple[Value, ...] = ()
    stack: str | None = None

    def resolve(self, templates: Templates) -> str:
        stack = templates.stack_named(self.stack) if self.stack else next(iter(templates.templates))
        values = [_Segments(arg.resolve(templates)) for arg in self.args]
        return self.text.format(*values, partition=PARTITION, region=templates.region(stack),
                                account=templates.account(stack))


class _Segments(str):
    @property
    def last(self) -> str:
        return self.split(":")[-1]


# ---- callers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    """An IAM role of the templates, given by the value holding its ARN (a function's ``Role``)."""

    arn: Value

    def principal(self, templates: Templates) -> Principal:
        arn = self.arn.resolve(templates)
        if not any(templates.attribute(resource, "Arn") == arn for resource in templates.resources()
                   if resource.type == "AWS::IAM::Role"):
            raise TemplateError(f"role {arn} is not in the templates")
        return Principal(account=arn.split(":")[4], arn=arn)

    def context(self, templates: Templates) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Service:
    """An AWS service principal acting for one of our resources (``source_arn``) in our account."""

    service: str
    source_arn: Value | None = None
    source_account: str | None = None  #: default: the templates' account

    def principal(self, templates: Templates) -> Principal:
        """``service`` may name ``{region}`` (``logs.{region}.amazonaws.com``): the templates' region."""
        first = next(iter(templates.templates))
        return Principal(account=self.source_account or _account(templates),
                         service=self.service.format(region=templates.region(first)))

    def context(self, templates: Templates) -> dict[str, str]:
        context = {"aws:SourceAccount": self.source_account or _account(templates)}
        if self.source_arn is not None:
            context["aws:SourceArn"] = self.source_arn.resolve(templates)
        return context


@dataclass(frozen=True)
class OtherAccount:
    """A role in another account whose own identity policy allows everything."""

    def principal(self, templates: Templates) -> Principal:
        return Principal(account=OTHER_ACCOUNT, arn=f"arn:{PARTITION}:iam::{OTHER_ACCOUNT}:role/Other",
                         assumed_identity=({"Effect": "Allow", "Action": "*", "Resource": "*"},))

    def context(self, templates: Templates) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class ExternalRole:
    """A role in our account whose identity policy lives outside the templates (an AWS-published
    application, an administrator): its statements are given here, with where they come from."""

    name: str
    statements: tuple[Mapping[str, Any], ...]
    source: str

    def principal(self, templates: Templates) -> Principal:
        account = _account(templates)
        return Principal(account=account, arn=f"arn:{PARTITION}:iam::{account}:role/{self.name}",
                         assumed_identity=tuple(dict(s) for s in self.statements))

    def context(self, templates: Templates) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Anonymous:
    """Anyone on the internet sending an unsigned request: no account, no identity policy. Only a
    resource policy statement for everyone lets it in (an API route without authorization is one)."""

    def principal(self, templates: Templates) -> Principal:
        return Principal(account="", anonymous=True)

    def context(self, templates: Templates) -> dict[str, str]:
        return {}


Caller = Role | Service | OtherAccount | ExternalRole | Anonymous


def _account(templates: Templates) -> str:
    return templates.account(next(iter(templates.templates)))


# ---- flows ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flow:
    """One runtime interaction and what AWS must find to allow it (or, with ``allowed=False``, a
    request AWS must refuse).

    :param documents: the documents that must allow it: ``identity``, ``resource`` and, for a
        resource encrypted with a customer-managed key, ``kms`` (with ``key_actions``).
    :param context: extra request-context keys (``aws:SecureTransport``: ``"false"``…); a value may
        be a :class:`Value` resolved from the templates (a log group's ARN as KMS encryption context).
    """

    name: str
    caller: Caller
    actions: tuple[str, ...]
    resource: Value
    documents: tuple[str, ...]
    doc: str
    key_actions: tuple[str, ...] = ()
    context: tuple[tuple[str, str | Value], ...] = ()
    allowed: bool = True
    label: tuple[str, str] = ("", "")  #: (caller, resource) as the chart names them

    def __post_init__(self) -> None:
        unknown = set(self.documents) - set(DOCUMENTS)
        if unknown or (self.allowed and not self.documents):
            raise ValueError(f"flow {self.name!r}: documents must be some of {DOCUMENTS}, got {self.documents}")
        if self.key_actions and "kms" not in self.documents:
            raise ValueError(f"flow {self.name!r}: key_actions go with 'kms' in documents")


@dataclass
class Outcome:
    flow: Flow
    decisions: list[tuple[Request, Decision]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rests_on(self) -> set[str]:
        """The statements the outcome depends on: those that allowed it, or explicitly denied it."""
        found: set[str] = set()
        for _, decision in self.decisions:
            for ids in decision.allowed_by.values():
                found.update(ids)
            found.update(decision.denied_by)
        return found


def requests(flow: Flow, templates: Templates, policies: Policies) -> list[tuple[str, Request]]:
    """The requests AWS sees for ``flow``: one per action, plus one per key action on the resource's
    customer-managed key. Raises :class:`TemplateError` when the caller or resource is not there."""
    principal = flow.caller.principal(templates)
    context = {**flow.caller.context(templates),
               **{key: value if isinstance(value, str) else value.resolve(templates) for key, value in flow.context}}
    resource = flow.resource.resolve(templates)
    found = [(kind, Request(principal, action, resource, context))
             for kind, action in [("action", action) for action in flow.actions]]
    key = policies.keys.get(resource)
    if resource in policies.key_arns:  # the flow is to the key itself: "kms" is its key policy
        if flow.allowed and ("kms" not in flow.documents or flow.key_actions):
            raise TemplateError(f"flow {flow.name!r}: {resource} is a key: declare 'kms' (its key policy), no key_actions")
    elif flow.allowed and (key is None) == ("kms" in flow.documents):
        raise TemplateError(f"flow {flow.name!r}: {resource} is " + (
            f"encrypted with {key}: declare 'kms' and key_actions" if key else "not encrypted with a customer key"))
    if key is not None:
        found += [("kms", Request(principal, action, key, context)) for action in flow.key_actions]
    return found


def check(flow: Flow, templates: Templates, policies: Policies) -> Outcome:
    """Decide every request of ``flow``; the outcome lists what differs from the declaration."""
    outcome = Outcome(flow)
    for kind, request in requests(flow, templates, policies):
        decision = decide(policies, request)
        outcome.decisions.append((request, decision))
        if flow.allowed and not decision.allowed:
            outcome.problems.append(f"{request.action} on {request.resource}: denied ({decision.reason})")
        elif flow.allowed:
            to_key = request.resource in policies.key_arns
            expected = {"kms"} if kind == "kms" else set(flow.documents) - ({"kms"} if not to_key else set())
            missing = expected - set(decision.allowed_by)
            if missing:
                outcome.problems.append(f"{request.action}: allowed, but not by {sorted(missing)} as declared "
                                        f"(by {sorted(decision.allowed_by)})")
        elif decision.allowed:
            outcome.problems.append(f"{request.action} on {request.resource}: allowed ({decision.reason}), "
                                    "must be denied")
    return outcome


def check_all(flows: Iterable[Flow], templates: Templates, policies: Policies | None = None) -> list[Outcome]:
    policies = policies or Policies(templates)
    return [check(flow, templates, policies) for flow in flows]


def summary(outcomes: Sequence[Outcome]) -> str:
    """``deploy contract: N flows allowed, M denials proven`` (and what failed, if anything did)."""
    allowed = sum(1 for o in outcomes if o.ok and o.flow.allowed)
    denied = sum(1 for o in outcomes if o.ok and not o.flow.allowed)
    failed = [o for o in outcomes if not o.ok]
    line = f"deploy contract: {allowed} flows allowed, {denied} denials proven"
    if failed:
        line += f", {len(failed)} FAILED\n" + "\n".join(
            f"  {o.flow.name}: {'; '.join(o.problems)}" for o in failed)
    return line


def mermaid(outcomes: Sequence[Outcome], title: str) -> str:
    """A Mermaid flowchart of every caller → resource pair: solid arrows for allowed flows, dotted red
    ``✗`` arrows for proven denials, ``⚠`` on any flow that does not hold. Flows between the same two
    nodes share one arrow, labelled with their actions."""
    nodes: dict[str, str] = {}
    edges: dict[tuple[str, str, bool], list[str]] = {}
    for outcome in outcomes:
        flow = outcome.flow
        caller, target = flow.label if flow.label[0] else (flow.name.split(" → ")[0], flow.name.split(" → ")[-1])
        for label in (caller, target):
            nodes.setdefault(label, f"n{len(nodes)}")
        verbs = edges.setdefault((caller, target, flow.allowed), [])
        for action in flow.actions:
            verb = action.split(":")[-1] + (" without TLS" if ("aws:SecureTransport", "false") in flow.context  # type: ignore[operator]
                                            else "") + ("" if outcome.ok else " ⚠")
            if verb not in verbs:
                verbs.append(verb)
    lines = [f"%% {title}", "flowchart LR"]
    lines += [f'  {ident}["{label}"]' for label, ident in nodes.items()]
    denied = []
    for index, ((caller, target, allowed), verbs) in enumerate(edges.items()):
        text = ", ".join(verbs[:3]) + (f" +{len(verbs) - 3}" if len(verbs) > 3 else "")
        arrow = f"-->|{text}|" if allowed else f"-.->|✗ {text}|"
        lines.append(f"  {nodes[caller]} {arrow} {nodes[target]}")
        if not allowed:
            denied.append(index)
    if denied:
        lines.append(f"  linkStyle {','.join(map(str, denied))} stroke:#c00,stroke-dasharray:4")
    return "\n".join(lines)


def markdown(sections: Mapping[str, Sequence[Outcome]]) -> str:
    """``flows.md``: per app, the chart and the table of flows with their decisions."""
    out = ["# Deploy contract", "",
           "Every runtime flow of the synthesized templates, decided by AWS's policy evaluation logic. "
           "Solid arrows: allowed. Dotted red arrows: denials proven.", ""]
    for title, outcomes in sections.items():
        out += [f"## {title}", "", "```mermaid", mermaid(outcomes, title), "```", "",
                "| flow | caller | actions | documents | result |", "|---|---|---|---|---|"]
        for outcome in outcomes:
            flow = outcome.flow
            result = ("allowed" if flow.allowed else "denied") if outcome.ok else "FAILS: " + "; ".join(outcome.problems)
            docs = ", ".join(flow.documents) or "none may allow"
            out.append(f"| [{flow.name}]({flow.doc}) | {outcome.decisions[0][0].principal.name if outcome.decisions else '?'} "
                       f"| {', '.join(flow.actions + flow.key_actions)} | {docs} | {result} |")
        out.append("")
    return "\n".join(out)
