#!/usr/bin/env python3
"""The example service's CDK app. The only place that reads context (stages, account).

    cdk synth                                          # the stages in cdk.json ("dev:eu-west-1")
    cdk synth -c stages=dev:eu-west-1,prod:us-east-1   # several stages/regions, no code change
    cdk synth -c stages=prod:us-east-1 -c domains=prod:users.example.com -c hosted_zone=Z0123456789ABCDEFGHIJ:example.com
    cdk deploy -c account=111122223333 --all
    cdk synth -c topology=direct                       # no RDS Proxy; the cluster auto-pauses
    cdk synth -c topology=express -c express_endpoint=<host> -c express_cluster_resource_id=cluster-…
"""
from __future__ import annotations

import aws_cdk as cdk

from constructs_lib.compliance import add_checks
from stacks import build_service
from stacks.stages import parse_domains, parse_hosted_zone, parse_stages

app = cdk.App()
account = str(app.node.get_context("account"))
alarm_email = app.node.try_get_context("alarm_email")  # -c alarm_email=ops@example.com
realtime = str(app.node.try_get_context("realtime")).lower() == "true"  # -c realtime=true: WebSocket API + NAT
domains = parse_domains(app.node.try_get_context("domains"))  # -c domains=prod:users.example.com: the API's domain
hosted_zone = parse_hosted_zone(app.node.try_get_context("hosted_zone"))  # -c hosted_zone=<zone id>:<zone name>
topology = str(app.node.try_get_context("topology") or "proxy")  # -c topology=proxy|direct|express
express_endpoint = app.node.try_get_context("express_endpoint")
express_cluster_resource_id = app.node.try_get_context("express_cluster_resource_id")
for stage in parse_stages(app.node.get_context("stages")):
    build_service(app, stage=stage.name, env=cdk.Environment(account=account, region=stage.region),
                  alarm_email=alarm_email, realtime=realtime, domain_name=domains.get(stage.name),
                  hosted_zone=hosted_zone, topology=topology, express_endpoint=express_endpoint,
                  express_cluster_resource_id=express_cluster_resource_id)

add_checks(app)
app.synth()
