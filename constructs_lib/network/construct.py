"""The VPC of a service: isolated subnets, VPC endpoints instead of a NAT gateway, flow logs."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import ContextProvider, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..errors import InvalidPropError, report_error
from ..logging_settings import log_group, provider_log_group
from ..references import l1, strong_references
from .egress import inline_peer
from . import defaults


class ServiceNetwork(Construct):
    """A VPC with a ``Data`` subnet group for the database and an ``App`` group for functions.

    Without a NAT gateway (the default) both groups are private isolated subnets, and functions
    reach AWS APIs through interface endpoints. With ``nat_gateways`` >= 1 the ``App`` group gets
    egress to the internet through NAT gateways in public subnets.

    :param max_azs: availability zones to span (2–6). Default: 2.
    :param nat_gateways: NAT gateways for internet egress from ``App`` subnets. Default: 0 (none).
    :param cidr: the VPC's IPv4 range. Default: ``10.0.0.0/16``.
    :param interface_endpoints: extra ``(id, service)`` interface endpoints beside the defaults
        (Secrets Manager and SQS). Default: none.
    :param flow_log_retention: Default: one month.
    :param log_encryption_key: a customer-managed KMS key for the flow log group and the provider's
        log group below (its policy gets the statement CloudWatch Logs needs). Default: none
        (CloudWatch Logs' own encryption).

    In a stack with an account and region, the CDK reads the region's availability zones from the
    context (``cdk.context.json``), which the CDK CLI fills with credentials for the account. When it
    could not (no credentials), synth fails with an error saying what to write into that file.

    The VPC's default security group is stripped of its rules (allow-all within the group and out),
    whatever the app's feature flags say: CDK adds a function to the stack that does it
    (one per stack, shared by its VPCs); its logs go to a log group kept one month
    (``defaults.PROVIDER_LOG_RETENTION``) instead of one Lambda would keep forever.

    Attributes: ``vpc``, ``app_subnets``, ``data_subnets``, ``endpoints`` (id → endpoint),
    ``endpoint_security_group``, ``https_egress`` (the endpoints' group without NAT, anywhere with NAT),
    ``function_placement`` (``vpc``, ``vpc_subnets`` and ``https_egress`` for a ``ServerlessFunction``), ``flow_log_group``, ``provider_log_group`` (the default security
    group provider's, or None when the CDK adds no such function).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_azs: int | None = None,
        nat_gateways: int | None = None,
        cidr: str | None = None,
        interface_endpoints: Sequence[tuple[str, ec2.InterfaceVpcEndpointAwsService]] = (),
        flow_log_retention: logs.RetentionDays | None = None,
        log_encryption_key: kms.IKey | None = defaults.LOG_ENCRYPTION_KEY,
    ) -> None:
        super().__init__(scope, construct_id)
        max_azs = max_azs if max_azs is not None else defaults.MAX_AZS
        nat_gateways = nat_gateways if nat_gateways is not None else defaults.NAT_GATEWAYS
        if not 2 <= max_azs <= 6:
            raise InvalidPropError("ServiceNetwork", "max_azs", max_azs, "2–6 (Aurora needs subnets in two AZs)")
        if not 0 <= nat_gateways <= max_azs:
            raise InvalidPropError("ServiceNetwork", "nat_gateways", nat_gateways, f"0–{max_azs} (at most one per AZ)")

        app_type = ec2.SubnetType.PRIVATE_WITH_EGRESS if nat_gateways else ec2.SubnetType.PRIVATE_ISOLATED
        subnets = [
            ec2.SubnetConfiguration(name="Data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                                    cidr_mask=defaults.SUBNET_CIDR_MASK),
            ec2.SubnetConfiguration(name="App", subnet_type=app_type, cidr_mask=defaults.SUBNET_CIDR_MASK),
        ]
        if nat_gateways:
            subnets.append(ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC,
                                                   cidr_mask=defaults.SUBNET_CIDR_MASK))
        self.flow_log_group = log_group(self, "FlowLogs", retention=flow_log_retention or defaults.FLOW_LOG_RETENTION,
                                        removal_policy=RemovalPolicy.DESTROY, encryption_key=log_encryption_key)
        self.vpc = ec2.Vpc(
            self, "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr or defaults.CIDR),
            max_azs=max_azs,
            nat_gateways=nat_gateways,
            subnet_configuration=subnets,
            # stated, not left to the app's @aws-cdk/aws-ec2:restrictDefaultSecurityGroup flag
            restrict_default_security_group=defaults.RESTRICT_DEFAULT_SECURITY_GROUP,
            flow_logs={"All": ec2.FlowLogOptions(
                destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                traffic_type=ec2.FlowLogTrafficType.ALL)},
        )
        self._check_zones_were_looked_up(max_azs)
        self.provider_log_group = provider_log_group(
            Stack.of(self).node.try_find_child(defaults.RESTRICT_DEFAULT_SG_PROVIDER_ID),
            retention=defaults.PROVIDER_LOG_RETENTION, encryption_key=log_encryption_key)
        self.app_subnets = ec2.SubnetSelection(subnet_group_name="App")
        self.data_subnets = ec2.SubnetSelection(subnet_group_name="Data")
        # One security group for all endpoints: HTTPS from inside the VPC's (literal) range only.
        self.endpoint_security_group = ec2.SecurityGroup(self, "EndpointSecurityGroup", vpc=self.vpc,
                                                         allow_all_outbound=False,
                                                         description="Interface endpoints: HTTPS from the VPC")
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr or defaults.CIDR), ec2.Port.tcp(443),
                                                      "HTTPS from inside the VPC")
        #: Where HTTPS from the service's functions may go: only the endpoints without NAT; anywhere
        #: with NAT, since some AWS APIs have no interface endpoint (the WebSocket management API,
        #: execute-api @connections, is public only).
        self.https_egress: ec2.IPeer = (ec2.Peer.any_ipv4() if nat_gateways
                                        else inline_peer(self.endpoint_security_group))
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {
            endpoint_id: self.vpc.add_interface_endpoint(endpoint_id, service=service, subnets=self.app_subnets,
                                                         private_dns_enabled=True, open=False,
                                                         security_groups=[self.endpoint_security_group])
            for endpoint_id, service in (*defaults.INTERFACE_ENDPOINTS, *interface_endpoints)
        }
        strong_references(self.vpc, self.endpoint_security_group, self.flow_log_group, *self.endpoints.values(),
                          *(l1(subnet, "Subnet") for subnet in (*self.vpc.public_subnets, *self.vpc.private_subnets,
                                                                *self.vpc.isolated_subnets)))

    def _check_zones_were_looked_up(self, max_azs: int) -> None:
        """Report, as a synth error naming ``cdk.context.json`` and what to put there, a failed lookup of
        the region's availability zones. The CDK's own error only says credentials are missing."""
        stack = Stack.of(self)
        account, region = stack.account, stack.region
        if Token.is_unresolved(account) or Token.is_unresolved(region):
            return  # environment-agnostic: the CDK uses Fn::GetAZs, no lookup
        key = ContextProvider.get_key(self, provider=defaults.AVAILABILITY_ZONE_PROVIDER).key
        found = self.node.try_get_context(key)
        if not (isinstance(found, dict) and defaults.CONTEXT_PROVIDER_ERROR in found):
            return  # looked up, or not yet asked for (the CLI looks it up and runs the app again)
        example = json.dumps({key: [f"{region}{letter}" for letter in defaults.EXAMPLE_ZONE_LETTERS]})
        report_error(self, "AvailabilityZones", (
            f"ServiceNetwork spans max_azs={max_azs} availability zones, which the CDK reads from the context value "
            f"\"{key}\", and the CDK CLI could not look it up ({found[defaults.CONTEXT_PROVIDER_ERROR]}). Run cdk "
            f"synth once with credentials for account {account} (the CLI records the value in cdk.context.json; "
            f"commit that file), or write it into cdk.context.json beside cdk.json yourself: {example}, with your "
            f"account's zone names (aws ec2 describe-availability-zones --region {region} --query "
            f"\"AvailabilityZones[].ZoneName\")."))

    @property
    def function_placement(self) -> dict[str, Any]:
        """Keyword arguments placing a :class:`ServerlessFunction` in the ``App`` subnets with HTTPS
        egress to :attr:`https_egress` only: ``ServerlessFunction(..., **network.function_placement)``."""
        return {"vpc": self.vpc, "vpc_subnets": self.app_subnets, "https_egress": self.https_egress}
