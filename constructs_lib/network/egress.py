"""Egress rules that CloudFormation applies as written.

EC2 gives every new security group an allow-all egress rule. CloudFormation removes it only when
the group's own ``SecurityGroupEgress`` lists rules; separate ``AWS::EC2::SecurityGroupEgress``
resources just add to it. CDK writes a rule to another security group (``add_egress_rule(group)``,
``connections.allow_to``) as such a separate resource, and then leaves the group's own list empty
(it drops its "disallow all" placeholder): a group meant to reach one other group reaches anywhere.
Rules built with :func:`inline_peer` stay in the group's own list, so the default rule goes.
"""
from __future__ import annotations

from aws_cdk import aws_ec2 as ec2


def inline_peer(peer: ec2.IPeer) -> ec2.IPeer:
    """``peer``, as a peer whose egress rule CDK writes inline: a security group becomes
    ``Peer.security_group_id`` of its id; any other peer (a CIDR) is returned as it is."""
    group_id = getattr(peer, "security_group_id", None)
    return ec2.Peer.security_group_id(group_id) if group_id is not None else peer
