"""The stateful half of the example service: network, database and proxy."""
from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from constructs import Construct

from constructs_lib import ServerlessDatabase, ServiceNetwork, WorkQueue

#: The worker's timeout; the work queue's visibility timeout is sized from it.
WORKER_TIMEOUT = Duration.seconds(30)


class StatefulStack(Stack):
    """VPC, Aurora PostgreSQL Serverless v2, RDS Proxy and the user-events queue. Termination protection is on.

    Nothing in this stack references the stateless stack, so the API can be destroyed and
    recreated without touching data.

    :param stage: the deployment stage, used in the description.
    :param nat_gateways: NAT gateways for internet egress. Default: 0.
    :param min_capacity: / :param max_capacity: Aurora ACU range. Default: 0.5–4.

    Attributes: ``network``, ``database``, ``events_queue``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, nat_gateways: int = 0,
                 min_capacity: float | None = None, max_capacity: float | None = None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, termination_protection=True,
                         description=f"cdk-serverless-postgres example service ({stage}): data", **kwargs)
        self.network = ServiceNetwork(self, "Network", nat_gateways=nat_gateways)
        self.database = ServerlessDatabase(self, "Database", vpc=self.network.vpc,
                                           vpc_subnets=self.network.data_subnets,
                                           min_capacity=min_capacity, max_capacity=max_capacity)
        self.events_queue = WorkQueue(self, "UserEvents", consumer_timeout=WORKER_TIMEOUT)
