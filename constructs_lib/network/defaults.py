"""Every default of :class:`ServiceNetwork`, in one place."""
from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs

MAX_AZS = 2
NAT_GATEWAYS = 0
CIDR = "10.0.0.0/16"
SUBNET_CIDR_MASK = 22
FLOW_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: No customer-managed key for the flow logs: CloudWatch Logs encrypts them with its own keys.
LOG_ENCRYPTION_KEY = None
#: The context provider the CDK asks for a region's availability zones (``cdk.context.json`` keys start with it).
AVAILABILITY_ZONE_PROVIDER = "availability-zones"
#: The key under which the CDK CLI passes a failed context lookup (its error message) to the app.
CONTEXT_PROVIDER_ERROR = "$providerError"
#: The zone letters of the example value the missing-zones error suggests for cdk.context.json.
EXAMPLE_ZONE_LETTERS = ("a", "b", "c")
#: Strip the VPC's default security group of its rules (CDK's custom resource Custom::VpcRestrictDefaultSG).
#: Stated here so the app's feature flag @aws-cdk/aws-ec2:restrictDefaultSecurityGroup, absent from a
#: minimal cdk.json, decides nothing: nothing should ever use that group.
RESTRICT_DEFAULT_SECURITY_GROUP = True
#: Retention of the log group given to CDK's function that empties the VPC's default security group.
PROVIDER_LOG_RETENTION = logs.RetentionDays.ONE_MONTH
#: Where the CDK puts that function's provider (at stack level, shared by the stack's VPCs).
RESTRICT_DEFAULT_SG_PROVIDER_ID = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
#: Interface endpoints for the AWS APIs the handler package calls from inside the VPC:
#: Secrets Manager (deploy-time migrations read the admin secret; secret rotation) and SQS
#: (the API publishes events). Lambda itself delivers logs and traces outside the VPC.
INTERFACE_ENDPOINTS: tuple[tuple[str, ec2.InterfaceVpcEndpointAwsService], ...] = (
    ("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
    ("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS),
)
