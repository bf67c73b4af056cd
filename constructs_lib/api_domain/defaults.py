"""Every default of :class:`ApiDomain`, in one place."""
from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigwv2

#: Clients must speak TLS 1.2 or later (API Gateway's ``TLS_1_0`` policy also accepts 1.0 and 1.1).
SECURITY_POLICY = apigwv2.SecurityPolicy.TLS_1_2
#: A regional endpoint: the certificate lives in the stack's region, the alias points at the regional name.
ENDPOINT_TYPE = apigwv2.EndpointType.REGIONAL
#: No mapping key: the API answers at the root of the domain.
BASE_PATH = None

# What API Gateway and Route 53 accept (validated at synth).
#: A host name: letter-digit-hyphen labels of 1-63 characters, at least two, a letter top-level label.
DOMAIN_NAME_PATTERN = r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]"
HOSTED_ZONE_ID_PATTERN = r"Z[A-Z0-9]{1,31}"
CERTIFICATE_ARN_PATTERN = r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):certificate/[A-Za-z0-9-]+"
#: One API mapping key segment: "letters, numbers and one of $-_.+!*'()," (API Gateway's rule).
BASE_PATH_PATTERN = r"[A-Za-z0-9$\-_.+!*'(),]{1,128}"
