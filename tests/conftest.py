"""Shared fixtures: each app is synthesized once per test session."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

# jsii starts its Node process on the first aws_cdk import: a plain `pytest` gets the Node `make test` gives,
# the npm package node pinned in package.json (JSII_NODE for jsii, first on PATH for the CDK CLI and the rest).
_NODE_BIN = Path(__file__).resolve().parent.parent / "node_modules" / ".bin"
if (_NODE_BIN / "node").is_file():
    os.environ.setdefault("JSII_NODE", str(_NODE_BIN / "node"))
    if os.environ["PATH"].split(os.pathsep)[0] != str(_NODE_BIN):
        os.environ["PATH"] = os.pathsep.join([str(_NODE_BIN), os.environ["PATH"]])

import pytest  # noqa: E402

from stacks.flows import EXPRESS_CLUSTER_ID  # noqa: E402
from tests.cdk_helpers import SynthesizedService, synthesize_service  # noqa: E402
from tests.python313 import Python313  # noqa: E402
from tests.snapshot import NormalizedJSONExtension  # noqa: E402


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedService:
    """The example service exactly as `make synth` builds it (cdk.json context), synthesized once."""
    return synthesize_service(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def realtime_service(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedService:
    """The service with ``-c realtime=true`` (WebSocket API + NAT), synthesized once with cdk-nag on."""
    return synthesize_service(tmp_path_factory.mktemp("cdk.out-realtime"), with_checks=True, realtime="true")


#: A stage other than dev, on its own domain: the API function deploys as a canary, the HTTP API answers
#: on users.example.com (a DNS-validated certificate and the alias record in the zone given by id and name).
RELEASE_CONTEXT = {"stages": "prod:us-east-1", "domains": "prod:users.example.com",
                   "hosted_zone": "Z0123456789ABCDEFGHIJ:example.com"}


@pytest.fixture(scope="session")
def release_service(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedService:
    """The service in a release stage (:data:`RELEASE_CONTEXT`), synthesized once with cdk-nag on."""
    return synthesize_service(tmp_path_factory.mktemp("cdk.out-release"), with_checks=True, **RELEASE_CONTEXT)


#: What ``-c topology=express`` needs besides the topology: the imported cluster's endpoint and resource id.
EXPRESS_CONTEXT = {"express_endpoint": "users.cluster-abc123.eu-west-1.rds.amazonaws.com",
                   "express_cluster_resource_id": EXPRESS_CLUSTER_ID}


@pytest.fixture(scope="session")
def topology_service(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SynthesizedService]:
    """The service in a database topology other than the default (``direct``, ``express``), each
    synthesized once per session with cdk-nag on (an unacknowledged finding fails synth)."""
    synthesized: dict[str, SynthesizedService] = {}

    def service_in(topology: str) -> SynthesizedService:
        if topology not in synthesized:
            extra = EXPRESS_CONTEXT if topology == "express" else {}
            synthesized[topology] = synthesize_service(tmp_path_factory.mktemp(f"cdk.out-{topology}"),
                                                       with_checks=True, topology=topology, **extra)
        return synthesized[topology]
    return service_in


@pytest.fixture(scope="session")
def python313() -> Iterator[Python313]:
    """CPython 3.13, the Lambda runtime's version, in Pyodide: loaded once per session (about 2 s)."""
    python = Python313()
    yield python
    python.close()


@pytest.fixture
def snapshot_json(snapshot):  # type: ignore[no-untyped-def]
    """A syrupy snapshot that stores JSON with asset hashes and paths normalised."""
    return snapshot.use_extension(NormalizedJSONExtension)
