"""The example service's templates, loaded once per variant for the deploy-contract tests."""
from __future__ import annotations

import pytest

from constructs_lib.contract import Policies, Templates
from tests.cdk_helpers import SynthesizedService


@pytest.fixture(scope="session")
def templates(service: SynthesizedService) -> Templates:
    return Templates.from_assembly(service.outdir)


@pytest.fixture(scope="session")
def realtime_templates(realtime_service: SynthesizedService) -> Templates:
    return Templates.from_assembly(realtime_service.outdir)


@pytest.fixture(scope="session")
def policies(templates: Templates) -> Policies:
    return Policies(templates)


@pytest.fixture(scope="session")
def realtime_policies(realtime_templates: Templates) -> Policies:
    return Policies(realtime_templates)


@pytest.fixture(scope="session")
def release_templates(release_service: SynthesizedService) -> Templates:
    return Templates.from_assembly(release_service.outdir)


@pytest.fixture(scope="session")
def release_policies(release_templates: Templates) -> Policies:
    return Policies(release_templates)
