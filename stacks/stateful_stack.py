"""The stateful half of the example service: network, database and proxy."""
from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib import ExpressDatabase, ServerlessDatabase, ServiceNetwork, WorkQueue
from constructs_lib.database import defaults as database_defaults

#: The worker's timeout; the work queue's visibility timeout is sized from it.
WORKER_TIMEOUT = Duration.seconds(30)
#: The worker's timeout when the database may be paused: long enough to wait for a resume.
RESUMING_WORKER_TIMEOUT = Duration.seconds(60)
#: The example's database topologies (README, "Choosing a topology").
TOPOLOGIES = ("proxy", "direct", "express")


class StatefulStack(Stack):
    """VPC, Aurora PostgreSQL Serverless v2, RDS Proxy and the user-events queue. Termination protection is on.

    Nothing in this stack references the stateless stack, so the API can be destroyed and
    recreated without touching data.

    Encryption choices: one customer-managed key, ``log_key``, encrypts every log group of the
    service (flow logs, function and access logs of both stacks, the rotation and CDK provider
    functions), so reading any of them takes a grant on the key. It lives here, with the data, so
    destroying the API stack never schedules it for deletion. A second one, ``secret_key``, encrypts
    the database admin secret. Keys are retained when the stack is deleted (the CDK default).

    :param stage: the deployment stage, used in the description.
    :param nat_gateways: NAT gateways for internet egress. Default: 0.
    :param min_capacity: / :param max_capacity: Aurora ACU range. Default: 0.5–4 with the proxy,
        0–4 (auto-pause) in ``direct`` and ``express``.
    :param topology: ``proxy`` (RDS Proxy, the default), ``direct`` (functions in the VPC reach the
        cluster, no proxy) or ``express`` (no VPC: an express cluster, imported; ``express_endpoint``
        and ``express_cluster_resource_id`` are then required).

    Attributes: ``log_key``, ``secret_key`` (None in ``express``: no secret), ``network`` (None in
    ``express``), ``database``, ``events_queue``, ``worker_timeout``, ``topology``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, nat_gateways: int = 0,
                 min_capacity: float | None = None, max_capacity: float | None = None, topology: str = "proxy",
                 express_endpoint: str | None = None, express_cluster_resource_id: str | None = None,
                 **kwargs: Any) -> None:
        if topology not in TOPOLOGIES:
            raise ValueError(f"topology: {topology!r}; allowed: {', '.join(TOPOLOGIES)}")
        if topology == "express" and not (express_endpoint and express_cluster_resource_id):
            raise ValueError("topology express imports an existing cluster: give express_endpoint and "
                             "express_cluster_resource_id (-c express_endpoint=… -c express_cluster_resource_id=cluster-…)")
        super().__init__(scope, construct_id, termination_protection=True,
                         description=f"cdk-serverless-postgres example service ({stage}): data", **kwargs)
        self.log_key = kms.Key(self, "LogKey", enable_key_rotation=True,
                               description=f"Encrypts the log groups of the users service ({stage})")
        self.topology = topology
        if topology != "proxy" and min_capacity is None:
            min_capacity = 0.0  # no proxy to keep warm: let the cluster pause when idle
        self.secret_key: kms.Key | None = None
        self.network: ServiceNetwork | None = None
        self.database: ServerlessDatabase | ExpressDatabase
        if topology == "express":
            assert express_endpoint and express_cluster_resource_id
            self.database = ExpressDatabase(self, "Database", endpoint=express_endpoint,
                                            cluster_resource_id=express_cluster_resource_id,
                                            min_capacity=min_capacity, max_capacity=max_capacity)
        else:
            self.secret_key = kms.Key(self, "SecretKey", enable_key_rotation=True,
                                      description=f"Encrypts the database admin secret of the users service ({stage})")
            self.network = ServiceNetwork(self, "Network", nat_gateways=nat_gateways, log_encryption_key=self.log_key)
            self.database = ServerlessDatabase(self, "Database", vpc=self.network.vpc, topology=topology,
                                               vpc_subnets=self.network.data_subnets,
                                               min_capacity=min_capacity, max_capacity=max_capacity,
                                               secret_encryption_key=self.secret_key, log_encryption_key=self.log_key,
                                               https_egress=self.network.https_egress)
        paused = self.database.min_capacity == 0
        self.worker_timeout = RESUMING_WORKER_TIMEOUT if paused else WORKER_TIMEOUT
        assert not paused or self.worker_timeout.to_seconds() >= database_defaults.RESUME_WAIT_MIN_TIMEOUT_SECONDS
        self.events_queue = WorkQueue(self, "UserEvents", consumer_timeout=self.worker_timeout)
