"""The stateful half of the example service: network, database and proxy."""
from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from constructs_lib import ServerlessDatabase, ServiceNetwork, WorkQueue

#: The worker's timeout; the work queue's visibility timeout is sized from it.
WORKER_TIMEOUT = Duration.seconds(30)


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
    :param min_capacity: / :param max_capacity: Aurora ACU range. Default: 0.5–4.

    Attributes: ``log_key``, ``secret_key``, ``network``, ``database``, ``events_queue``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, nat_gateways: int = 0,
                 min_capacity: float | None = None, max_capacity: float | None = None, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, termination_protection=True,
                         description=f"cdk-serverless-postgres example service ({stage}): data", **kwargs)
        self.log_key = kms.Key(self, "LogKey", enable_key_rotation=True,
                               description=f"Encrypts the log groups of the users service ({stage})")
        self.secret_key = kms.Key(self, "SecretKey", enable_key_rotation=True,
                                  description=f"Encrypts the database admin secret of the users service ({stage})")
        self.network = ServiceNetwork(self, "Network", nat_gateways=nat_gateways, log_encryption_key=self.log_key)
        self.database = ServerlessDatabase(self, "Database", vpc=self.network.vpc,
                                           vpc_subnets=self.network.data_subnets,
                                           min_capacity=min_capacity, max_capacity=max_capacity,
                                           secret_encryption_key=self.secret_key, log_encryption_key=self.log_key,
                                           https_egress=self.network.https_egress)
        self.events_queue = WorkQueue(self, "UserEvents", consumer_timeout=WORKER_TIMEOUT)
