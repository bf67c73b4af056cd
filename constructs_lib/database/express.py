"""An Aurora PostgreSQL cluster in express configuration (no VPC), imported, with the same grants and budget."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..errors import InvalidPropError
from ..function import ServerlessFunction
from .. import runtime_environment as var
from . import budget, defaults, users
from .ca_bundle import trust_rds_ca
from .construct import (_BudgetValidation, _Connected, budget_consumers, check_capacity, check_grant,
                        validate_db_user)

#: A cluster's resource id, as ``DescribeDBClusters`` gives it (``DbClusterResourceId``).
_CLUSTER_RESOURCE_ID = re.compile(r"^cluster-[A-Za-z0-9]{1,64}$")
#: An Aurora endpoint host name.
_ENDPOINT = re.compile(r"^[a-z0-9][a-z0-9.-]{0,252}$")


class ExpressDatabase(Construct):
    """An existing Aurora PostgreSQL Serverless v2 cluster in express configuration, for functions outside any VPC.

    Express configuration (RDS API ``CreateDBCluster`` with ``EnableVPCNetworking=false`` and
    ``EnableInternetAccessGateway=true``) puts the cluster behind an internet access gateway and
    requires IAM database authentication. CloudFormation's ``AWS::RDS::DBCluster`` has no such
    properties, so this construct *imports* a cluster created with the RDS API or console, by its
    endpoint and resource id, rather than creating one through a custom resource: an import adds
    no Lambda-backed resource with ``rds:*`` rights to every stack, and keeps the cluster (which
    holds data) out of CloudFormation's replace/delete decisions.

    Isolation: the endpoint is reachable from the internet. What protects it is IAM (a token signed
    by a role allowed ``rds-db:connect`` on the exact user) and TLS (functions verify the certificate
    against the Amazon RDS CAs, ``sslmode=verify-full``); no security group narrows who may knock.

    :param endpoint: the cluster's writer endpoint host name. Required.
    :param cluster_resource_id: the cluster's resource id (``cluster-…``), which IAM policies name. Required.
    :param port: Default: 5432.
    :param database_name: Default: ``app``.
    :param app_db_user: the application's database user (created by migrations). Default: ``app_user``.
    :param admin_user: the master user; in express configuration it logs in with IAM too. Default: ``postgres``.
    :param min_capacity: / :param max_capacity: the ACU range the cluster was created with, for the
        connection budget and the resume check (0 = auto-pause). Default: 0 and 4.
    :param accept_unbounded_concurrency: Default: False (synth fails instead).

    Attributes: ``topology`` (``"express"``), ``endpoint``, ``cluster_resource_id``, ``port``,
    ``database_name``, ``app_db_user``, ``admin_user``, ``proxy`` (None), ``db_users`` (as
    :class:`ServerlessDatabase`'s), ``consumers``,
    ``connection_budget``.
    """

    topology = "express"
    proxy = None

    def __init__(self, scope: Construct, construct_id: str, *, endpoint: str, cluster_resource_id: str,
                 port: int | None = None, database_name: str | None = None, app_db_user: str | None = None,
                 admin_user: str | None = None, min_capacity: float | None = None, max_capacity: float | None = None,
                 accept_unbounded_concurrency: bool = False) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        if not _ENDPOINT.fullmatch(endpoint):
            raise InvalidPropError("ExpressDatabase", "endpoint", endpoint, "the cluster's endpoint host name")
        if not _CLUSTER_RESOURCE_ID.fullmatch(cluster_resource_id):
            raise InvalidPropError("ExpressDatabase", "cluster_resource_id", cluster_resource_id,
                                   "cluster-… (DbClusterResourceId of DescribeDBClusters)")
        self.endpoint = endpoint
        self.cluster_resource_id = cluster_resource_id
        self.port = port if port is not None else defaults.PORT
        self.database_name = database_name or defaults.DATABASE_NAME
        self.app_db_user = validate_db_user("app_db_user", app_db_user or defaults.APP_USER)
        self.admin_user = admin_user or defaults.ADMIN_USER
        self.min_capacity = min_capacity if min_capacity is not None else defaults.EXPRESS_MIN_CAPACITY_ACU
        self.max_capacity = max_capacity if max_capacity is not None else defaults.MAX_CAPACITY_ACU
        check_capacity("ExpressDatabase", self.min_capacity, self.max_capacity)
        self.accept_unbounded_concurrency = accept_unbounded_concurrency
        self._connected: list[_Connected] = []
        self.db_users: dict[str, users.Privileges | None] = {}
        # 3. wire -----------------------------------------------------------------------
        self.node.add_validation(_BudgetValidation(self))  # type: ignore[arg-type]

    def cluster_user_arn(self, user: str) -> str:
        """``arn:…:rds-db:<region>:<account>:dbuser:<cluster resource id>/<user>``."""
        return Stack.of(self).format_arn(service="rds-db", resource="dbuser", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                         resource_name=f"{self.cluster_resource_id}/{user}")

    @property
    def migration_dependencies(self) -> list[IConstruct]:
        """Nothing in the app: the cluster exists before the stack."""
        return []

    def grant_connect(self, function: ServerlessFunction, *, db_user: str | None = None,
                      max_concurrency: int | None = None, connections_per_container: int | None = None,
                      on_pause: str | None = None, privileges: Mapping[str, Sequence[str]] | None = None) -> None:
        """Let ``function`` (outside any VPC) log in to the cluster as ``db_user`` with IAM, and count it in the budget.

        Grants ``rds-db:connect`` on exactly ``dbuser:<cluster resource id>/<db_user>``, ships the RDS CA
        bundle (``DB_SSL_ROOT_CERT``) and sets ``DB_HOST``, ``DB_PORT``, ``DB_NAME``, ``DB_USER``, and
        ``DB_ON_PAUSE`` when ``min_capacity`` is 0. Props (``privileges`` too) as
        :meth:`ServerlessDatabase.grant_connect`.
        """
        user, declared, per_container, on_pause = check_grant(
            "ExpressDatabase.grant_connect", self.min_capacity, function,
            db_user=db_user if db_user is not None else self.app_db_user, privileges=privileges,
            connections_per_container=connections_per_container, on_pause=on_pause)
        self._outside_vpc("ExpressDatabase.grant_connect", function)
        if user == self.admin_user:  # with privileges, the runner would revoke the tables' owner's own rights
            raise InvalidPropError("ExpressDatabase.grant_connect", "db_user", user, f"a user other than the cluster's admin_user "
                                   f"({self.admin_user}), which runs the migrations: the functions log in as an "
                                   "application user the migrations create")
        users.declare("ExpressDatabase.grant_connect", self.db_users, user, declared)  # recorded once every check has passed
        function.role.add_to_principal_policy(iam.PolicyStatement(actions=["rds-db:connect"],
                                                                  resources=[self.cluster_user_arn(user)]))
        trust_rds_ca(function)
        function.add_environment(var.DB_HOST, self.endpoint)
        function.add_environment(var.DB_PORT, str(self.port))
        function.add_environment(var.DB_NAME, self.database_name)
        function.add_environment(var.DB_USER, user)
        if self.min_capacity == 0:
            function.add_environment(var.DB_ON_PAUSE, on_pause)
        self._connected.append(_Connected(function, max_concurrency, per_container))

    def grant_admin(self, function: ServerlessFunction, *, ssl_root_cert: str) -> None:
        """Let ``function`` (the migration runner) log in as the master user with IAM, verifying the cluster.

        In express configuration the master user authenticates with IAM too, so there is no secret:
        grants ``rds-db:connect`` on ``dbuser:<cluster resource id>/<admin_user>`` and sets
        ``DB_ADMIN_HOST``, ``DB_ADMIN_USER``, ``DB_ADMIN_IAM=true``, ``DB_ADMIN_SSL_ROOT_CERT``, ``DB_PORT``,
        ``DB_NAME`` and ``DB_USER``. Counts one connection in the budget.
        """
        if not PurePosixPath(ssl_root_cert).is_absolute():
            raise InvalidPropError("ExpressDatabase.grant_admin", "ssl_root_cert", ssl_root_cert,
                                   "an absolute path in the function's file system")
        self._outside_vpc("ExpressDatabase.grant_admin", function)
        function.role.add_to_principal_policy(iam.PolicyStatement(actions=["rds-db:connect"],
                                                                  resources=[self.cluster_user_arn(self.admin_user)]))
        function.add_environment(var.DB_ADMIN_HOST, self.endpoint)
        function.add_environment(var.DB_ADMIN_USER, self.admin_user)
        function.add_environment(var.DB_ADMIN_IAM, "true")
        function.add_environment(var.DB_ADMIN_SSL_ROOT_CERT, ssl_root_cert)
        function.add_environment(var.DB_PORT, str(self.port))
        function.add_environment(var.DB_NAME, self.database_name)
        function.add_environment(var.DB_USER, self.app_db_user)
        self._connected.append(_Connected(function, None, 1))

    @staticmethod
    def _outside_vpc(where: str, function: ServerlessFunction) -> None:
        if function.vpc is not None:
            raise InvalidPropError(where, "function", function.path,
                                   "a ServerlessFunction outside any VPC: the cluster is reached through its "
                                   "internet access gateway, which a VPC function without NAT cannot reach")

    @property
    def consumers(self) -> list[budget.Consumer]:
        """Every connected function's entry in the connection budget, its concurrency bound read now."""
        return budget_consumers(self._connected)

    def budget_errors(self) -> list[str]:
        """The connection budget check against the cluster's whole ``max_connections``."""
        return budget.check(self.consumers, min_capacity=self.min_capacity, max_capacity=self.max_capacity,
                            max_connections_percent=100, accept_unbounded=self.accept_unbounded_concurrency,
                            holder="the cluster's")

    @property
    def connection_budget(self) -> int:
        """The cluster's ``max_connections`` at its maximum capacity."""
        return budget.max_connections(self.min_capacity, self.max_capacity)
