"""A custom domain for an API Gateway v2 API: TLS 1.2, the API mapping, a DNS-validated certificate
or an existing one, and the Route 53 alias. Nothing is looked up: synth stays offline."""
from __future__ import annotations

import re

from aws_cdk import Stack, Token
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from ..errors import InvalidPropError
from . import defaults


def check_domain_props(construct: str, scope: Construct, *, domain_name: str | None, certificate_arn: str | None,
                       hosted_zone_id: str | None, hosted_zone_name: str | None, base_path: str | None) -> None:
    """Raise :class:`InvalidPropError` (naming ``construct`` and the prop) for a domain that cannot be built.

    Checked: every domain prop needs ``domain_name``; a certificate ARN or a hosted zone (id and name
    both: no lookup); the domain inside the zone; a well-formed certificate ARN in the stack's region
    (a regional endpoint takes a certificate of its own region); a one-segment mapping key.
    """
    given = {"certificate_arn": certificate_arn, "hosted_zone_id": hosted_zone_id,
             "hosted_zone_name": hosted_zone_name, "base_path": base_path}
    if domain_name is None:
        for prop, value in given.items():
            if value is not None:
                raise InvalidPropError(construct, prop, value, "only with domain_name")
        return
    domain = domain_name.lower().rstrip(".")
    if not Token.is_unresolved(domain_name) and not re.fullmatch(defaults.DOMAIN_NAME_PATTERN, domain):
        raise InvalidPropError(construct, "domain_name", domain_name,
                               "a host name of two or more labels, e.g. api.example.com")
    if (hosted_zone_id is None) != (hosted_zone_name is None):
        prop = "hosted_zone_name" if hosted_zone_name is None else "hosted_zone_id"
        raise InvalidPropError(construct, prop, None, "hosted_zone_id and hosted_zone_name together "
                               "(the zone is not looked up, so synth needs both)")
    if certificate_arn is None and hosted_zone_id is None:
        raise InvalidPropError(construct, "certificate_arn", None, "an ACM certificate ARN, or hosted_zone_id and "
                               "hosted_zone_name for a DNS-validated certificate created here")
    if hosted_zone_id is not None and not re.fullmatch(defaults.HOSTED_ZONE_ID_PATTERN, hosted_zone_id):
        raise InvalidPropError(construct, "hosted_zone_id", hosted_zone_id, "a Route 53 hosted zone id, e.g. Z0123456789ABC")
    if hosted_zone_name is not None:
        zone = hosted_zone_name.lower().rstrip(".")
        if not re.fullmatch(defaults.DOMAIN_NAME_PATTERN, zone):
            raise InvalidPropError(construct, "hosted_zone_name", hosted_zone_name, "a zone name, e.g. example.com")
        if not Token.is_unresolved(domain_name) and domain != zone and not domain.endswith(f".{zone}"):
            raise InvalidPropError(construct, "domain_name", domain_name,
                                   f"a name in the hosted zone {zone} ({zone} or *.{zone})")
    if certificate_arn is not None and not Token.is_unresolved(certificate_arn):
        match = re.fullmatch(defaults.CERTIFICATE_ARN_PATTERN, certificate_arn)
        if match is None:
            raise InvalidPropError(construct, "certificate_arn", certificate_arn,
                                   "an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>")
        region = Stack.of(scope).region
        if not Token.is_unresolved(region) and match["region"] != region:
            raise InvalidPropError(construct, "certificate_arn", certificate_arn,
                                   f"a certificate in {region}, the stack's region: a regional endpoint uses a "
                                   f"certificate of its own region (us-east-1 is only for edge-optimized ones)")
    if base_path is not None and not re.fullmatch(defaults.BASE_PATH_PATTERN, base_path):
        raise InvalidPropError(construct, "base_path", base_path,
                               "one path segment without slashes (letters, digits and $-_.+!*'(),), e.g. v1")


class ApiDomain(Construct):
    """``https://<domain_name>/<base_path>`` for one stage of an API Gateway v2 API (HTTP or WebSocket).

    A regional custom domain with TLS 1.2 as the minimum, the API mapping of ``stage`` (under
    ``base_path`` when given), and, with a hosted zone, a DNS-validated certificate (when no
    ``certificate_arn`` is given: CloudFormation writes the validation record in the zone) and the
    Route 53 alias ``A`` record. The zone is given by id and name, so synth looks nothing up.
    :class:`LambdaHttpApi` and :class:`LambdaWebSocketApi` build one from their ``domain_name`` props.

    :param api: / :param stage: what the domain serves. Required.
    :param domain_name: e.g. ``api.example.com``. Required.
    :param certificate_arn: an ACM certificate for ``domain_name`` in the stack's region. Default: a
        new DNS-validated certificate (then the hosted zone is required).
    :param hosted_zone_id: / :param hosted_zone_name: the Route 53 public zone holding ``domain_name``.
        Default: none (then ``certificate_arn`` is required and DNS is yours to point at
        ``regional_domain_name``).
    :param base_path: the API mapping key: the API is served under ``/<base_path>``. Default: none (the root).

    Attributes: ``domain`` (the ``apigwv2.DomainName``), ``certificate``, ``mapping``, ``record`` (or
    None without a zone), ``base_path``, ``url``, ``regional_domain_name`` (the alias target).
    """

    def __init__(self, scope: Construct, construct_id: str, *, api: apigwv2.IApi, stage: apigwv2.IStage,
                 domain_name: str, certificate_arn: str | None = None, hosted_zone_id: str | None = None,
                 hosted_zone_name: str | None = None, base_path: str | None = defaults.BASE_PATH) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_domain_props("ApiDomain", self, domain_name=domain_name, certificate_arn=certificate_arn,
                           hosted_zone_id=hosted_zone_id, hosted_zone_name=hosted_zone_name, base_path=base_path)

        # 2. build ----------------------------------------------------------------------
        self.base_path = base_path
        zone = None
        if hosted_zone_id is not None and hosted_zone_name is not None:
            zone = route53.PublicHostedZone.from_public_hosted_zone_attributes(
                self, "Zone", hosted_zone_id=hosted_zone_id, zone_name=hosted_zone_name.rstrip("."))
        if certificate_arn is not None:
            self.certificate: acm.ICertificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
        else:
            self.certificate = acm.Certificate(self, "Certificate", domain_name=domain_name,
                                               validation=acm.CertificateValidation.from_dns(zone))
        self.domain = apigwv2.DomainName(self, "DomainName", domain_name=domain_name, certificate=self.certificate,
                                         endpoint_type=defaults.ENDPOINT_TYPE, security_policy=defaults.SECURITY_POLICY)
        self.mapping = apigwv2.ApiMapping(self, "Mapping", api=api, domain_name=self.domain, stage=stage,
                                          api_mapping_key=base_path)
        self.record: route53.ARecord | None = None
        if zone is not None:
            self.record = route53.ARecord(self, "AliasRecord", zone=zone, record_name=domain_name,
                                          target=route53.RecordTarget.from_alias(targets.ApiGatewayv2DomainProperties(
                                              self.domain.regional_domain_name, self.domain.regional_hosted_zone_id)))

        # 3. wire -----------------------------------------------------------------------
        # a stage named by a literal ($default) is no reference: without this the mapping may come first
        self.mapping.node.add_dependency(stage)
        self.url = f"https://{domain_name}/" + (f"{base_path}/" if base_path else "")

    @property
    def regional_domain_name(self) -> str:
        """The API Gateway name a DNS record for the domain points at (the alias target)."""
        return self.domain.regional_domain_name
