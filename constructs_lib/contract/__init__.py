"""The deploy contract: runtime flows decided from synthesized templates, as AWS would decide them.

Declare each flow (:class:`Flow`), load a cloud assembly (:meth:`Templates.from_assembly`), and
:func:`check_all` tells which flows AWS would allow or deny, and on which statements each rests.
"""
from .evaluate import Decision, EvaluationError, Principal, Request, decide, document_allows
from .flows import (OTHER_ACCOUNT, Anonymous, At, Attr, ExternalRole, Flow, Fmt, OtherAccount, Outcome, Prop, Role,
                    Service, check, check_all, markdown, mermaid, summary)
from .policies import Policies, Statement
from .templates import Templates, TemplateError

__all__ = ["Anonymous", "At", "Attr", "Decision", "EvaluationError", "ExternalRole", "Flow", "Fmt", "OTHER_ACCOUNT",
           "OtherAccount", "Outcome", "Policies", "Principal", "Prop", "Request", "Role", "Service", "Statement",
           "TemplateError", "Templates", "check", "check_all", "decide", "document_allows", "markdown", "mermaid", "summary"]
