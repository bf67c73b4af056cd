#!/usr/bin/env python3
"""The example service's CDK app. The only place that reads context (stage, account, region)."""
from __future__ import annotations

import aws_cdk as cdk

from stacks import add_compliance_checks, build_service

app = cdk.App()
stage: str = app.node.get_context("stage")
env = cdk.Environment(account=str(app.node.get_context("account")), region=app.node.get_context("region"))

build_service(app, stage=stage, env=env)

add_compliance_checks(app)
app.synth()
