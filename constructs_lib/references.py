"""References from other stacks to what the constructs create are strong ones.

CDK's ``@aws-cdk/core:defaultCrossStackReferences`` chooses, per consuming stack, between strong
references (an export of the producing stack, ``Fn::ImportValue``) and weak ones (``Fn::GetStackOutput``).
CDK's warning recommends weak references to apps without the flag, but a weak reference inside an
intrinsic such as the ``Fn::Split`` of the ``rds-db:connect`` grant fails cfn-lint (E1022), and it
lets the stateful stack drop an output a consumer still reads. So the constructs ask for strong
references to the resources others reference; the flag still governs the app's own resources.
"""
from __future__ import annotations

from aws_cdk import CfnResource, CrossStackReferences, ReferenceStrength
from constructs import IConstruct


def strong_references(*resources: IConstruct | None) -> None:
    """Make references from other stacks to each of ``resources`` strong (``Fn::ImportValue``).

    Each is a CloudFormation resource or a construct whose default child is one; None is skipped.
    A reference within the same stack is unaffected.
    """
    for resource in resources:
        if resource is not None:
            CrossStackReferences.of(resource).produce(ReferenceStrength.STRONG)


def l1(construct: IConstruct, child_id: str) -> CfnResource:
    """The CloudFormation resource ``child_id`` of ``construct``, for L2s whose resource is no default
    child (an ``ec2.Subnet``'s is ``Subnet``)."""
    found = construct.node.find_child(child_id)
    assert isinstance(found, CfnResource), f"{child_id} of {construct.node.path} is no CloudFormation resource"
    return found
