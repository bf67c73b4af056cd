"""Builds the whole example service for one stage into an app."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codedeploy as codedeploy

from constructs_lib import PythonBundle

from .stages import IMMEDIATE_DEPLOY_STAGES, HostedZone
from .stateful_stack import StatefulStack
from .stateless_stack import BUNDLE_CACHE_DIR, HANDLER_PACKAGE, StatelessStack


@dataclass(frozen=True)
class ServiceStacks:
    """The stacks of one stage of the service."""

    stateful: StatefulStack
    stateless: StatelessStack


def build_service(app: cdk.App, *, stage: str, env: cdk.Environment, alarm_email: str | None = None,
                  realtime: bool = False, bundle_cache_dir: Path | None = None, domain_name: str | None = None,
                  hosted_zone: HostedZone | None = None, topology: str = "proxy", express_endpoint: str | None = None,
                  express_cluster_resource_id: str | None = None) -> ServiceStacks:
    """Add one stage of the service to ``app``. Everything comes in as parameters; nothing reads
    the environment here. Every stage but those in ``IMMEDIATE_DEPLOY_STAGES`` deploys the API
    function as a canary: 10 % of the traffic for 5 minutes, after a smoke request. With ``domain_name``
    (and the ``hosted_zone`` holding it) the HTTP API answers on that domain too. ``topology``: see
    :class:`StatefulStack` (express functions are outside any VPC, so realtime needs no NAT there)."""
    nat_gateways = 1 if realtime and topology != "express" else 0
    # the handler bundle builds (after a code change: compiles) while the stateful stack is constructed
    bundle = PythonBundle(source_dir=HANDLER_PACKAGE, cache_dir=bundle_cache_dir or BUNDLE_CACHE_DIR).start()
    stateful = StatefulStack(app, f"Users-{stage}-Stateful", stage=stage, env=env, nat_gateways=nat_gateways,
                             topology=topology, express_endpoint=express_endpoint,
                             express_cluster_resource_id=express_cluster_resource_id)
    stateless = StatelessStack(app, f"Users-{stage}-Stateless", stage=stage, env=env, data=stateful,
                               alarm_email=alarm_email, realtime=realtime, bundle_cache_dir=bundle_cache_dir,
                               api_deployment=None if stage in IMMEDIATE_DEPLOY_STAGES
                               else codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
                               domain_name=domain_name, hosted_zone=hosted_zone, bundle=bundle)
    return ServiceStacks(stateful=stateful, stateless=stateless)
