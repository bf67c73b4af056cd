"""Aurora PostgreSQL Serverless v2 behind an RDS Proxy with IAM auth, and least-privilege grants."""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import jsii
from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from constructs import IConstruct, IValidation
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from ..acknowledge import acknowledge
from ..errors import InvalidPropError, report_error
from ..function import ServerlessFunction
from ..logging_settings import rotation_log_group
from ..network.egress import inline_peer
from ..node_values import check_durations, seconds
from ..references import strong_references
from .. import runtime_environment as var
from . import budget, defaults, users
from .ca_bundle import trust_rds_ca
from .secret_grants import grant_secret_read


class ServerlessDatabase(Construct):
    """Aurora PostgreSQL Serverless v2, IAM-authenticated, with or without an RDS Proxy in front of it.

    Two topologies share this construct (``topology``), because both create the same cluster, secret
    and rotation in the VPC and differ only in the path a function's connection takes:

    * ``"proxy"`` (default): functions connect to an RDS Proxy, which pools connections to the
      writer. Idle cost includes the proxy's 8-ACU minimum (about $88/month).
    * ``"direct"``: no proxy; functions in the VPC connect to the cluster's writer endpoint, with
      ``rds-db:connect`` on ``dbuser:<cluster resource id>/<user>``. Each concurrent execution holds
      one of the cluster's own ``max_connections`` (the budget is checked against all of it), and
      ``min_capacity=0`` (auto-pause after idling; about 15–30 s to resume) brings idle compute to zero.

    The third topology, Aurora's express configuration without a VPC, is :class:`ExpressDatabase`:
    CloudFormation cannot create such a cluster, so it imports one and has none of this construct's
    VPC, security group, secret or rotation props; it offers the same grants and budget.

    With the proxy, it uses end-to-end IAM authentication (``DefaultAuthScheme.IAM_AUTH``): clients present
    an IAM token, and the proxy connects to the cluster as the same database user with IAM too.
    The application user needs no password and no secret, only ``GRANT rds_iam`` (done by the
    handler package's migrations). The generated admin secret is for migrations and break-glass.

    :param vpc: the VPC. Required.
    :param topology: ``"proxy"`` or ``"direct"`` (see above). Default: ``"proxy"``.
    :param vpc_subnets: subnets for the cluster and proxy. Default: the ``Data`` subnet group.
    :param engine_version: Default: Aurora PostgreSQL 17.9.
    :param min_capacity: ACU, 0 (auto-pause) to 256 in half steps. Default: 0.5. With 0, a function
        that waits for the resume (``grant_connect(on_pause="wait")``, the default) must have a timeout
        of at least :data:`~.defaults.RESUME_WAIT_MIN_TIMEOUT_SECONDS`; an HTTP function passes
        ``on_pause="unavailable"`` and answers 503 with ``Retry-After`` while the database resumes.
    :param max_capacity: ACU, at least ``min_capacity`` and 1. Default: 4.
    :param database_name: Default: ``app``.
    :param app_db_user: the application's database user (created by migrations). Default: ``app_user``.
    :param backup_retention: Default: 7 days.
    :param secret_rotation: rotation period of the admin secret, or None for no rotation. Default: 30 days.
    :param secret_encryption_key: a customer-managed KMS key for the admin secret (readers granted
        with ``grant_admin`` and the rotation function may decrypt with it through Secrets Manager).
        Default: none (Secrets Manager's AWS-managed key).
    :param monitoring_interval: Enhanced Monitoring interval (1, 5, 10, 15, 30 or 60 s), or None for
        none. Default: 60 seconds.
    :param database_insights: Database Insights mode (Performance Insights): STANDARD (7 days, free) or
        ADVANCED (15 months, billed), or None for none. Default: STANDARD.
    :param log_encryption_key: a customer-managed KMS key for the rotation function's log group.
        Default: none (CloudWatch Logs' own encryption).
    :param rotation_log_retention: retention of the rotation function's log group. Default: one month.
    :param https_egress: where the rotation function's HTTPS (Secrets Manager) may go: the VPC
        endpoints' security group without NAT (``ServiceNetwork.https_egress``). Default: anywhere.
    :param removal_policy: Default: SNAPSHOT (a final snapshot is kept when the cluster is deleted).
    :param deletion_protection: Default: True.
    :param proxy_max_connections_percent: share of ``max_connections`` the proxy may use. Default: 90.
        (``"direct"``: functions may use all of ``max_connections``; the proxy props must stay unset.)
    :param proxy_idle_client_timeout: Default: 30 minutes.
    :param proxy_borrow_timeout: how long the proxy waits for a free connection; must stay below each
        connected function's timeout. Default: 5 seconds.
    :param accept_unbounded_concurrency: allow connected functions without a concurrency bound.
        Default: False (synth fails instead).

    The connection budget is checked when the app synthesizes, from each connected function as it
    is then (so the order of ``grant_connect`` and, say, its ``QueueWorker`` does not matter); a
    failure is a ``cdk synth`` error on this construct naming the props that fix it.

    Attributes: ``topology``, ``cluster``, ``proxy``, ``cluster_security_group`` (no egress), ``proxy_security_group``
    (egress to the cluster's port only), ``proxy_role`` (``proxy``, ``proxy_security_group`` and ``proxy_role``
    are None in ``"direct"``) (with ``rds-db:connect`` on the cluster for each
    user granted through :meth:`grant_connect`, and nothing else), ``proxy_users``, ``secret``,
    ``writer``, ``port``, ``database_name``, ``app_db_user``, ``db_users`` (each user granted through
    :meth:`grant_connect` → its declared privileges or None), ``consumers`` (the connection budget entries, as of now),
    ``rotation_log_group`` and ``secret_encryption_key`` (or None).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        topology: str = defaults.TOPOLOGY,
        vpc_subnets: ec2.SubnetSelection | None = None,
        engine_version: rds.AuroraPostgresEngineVersion | None = None,
        min_capacity: float | None = None,
        max_capacity: float | None = None,
        database_name: str | None = None,
        app_db_user: str | None = None,
        backup_retention: Duration | None = None,
        secret_rotation: Duration | None = defaults.SECRET_ROTATION,
        secret_encryption_key: kms.IKey | None = defaults.SECRET_ENCRYPTION_KEY,
        monitoring_interval: Duration | None = defaults.MONITORING_INTERVAL,
        database_insights: rds.DatabaseInsightsMode | None = defaults.DATABASE_INSIGHTS,
        log_encryption_key: kms.IKey | None = defaults.LOG_ENCRYPTION_KEY,
        rotation_log_retention: logs.RetentionDays | None = None,
        https_egress: ec2.IPeer | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.SNAPSHOT,
        deletion_protection: bool = True,
        proxy_max_connections_percent: int | None = None,
        proxy_idle_client_timeout: Duration | None = None,
        proxy_borrow_timeout: Duration | None = None,
        accept_unbounded_concurrency: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_durations("ServerlessDatabase", backup_retention=backup_retention, secret_rotation=secret_rotation,
                        monitoring_interval=monitoring_interval, proxy_idle_client_timeout=proxy_idle_client_timeout,
                        proxy_borrow_timeout=proxy_borrow_timeout)
        if topology not in defaults.TOPOLOGIES:
            raise InvalidPropError("ServerlessDatabase", "topology", topology,
                                   f"{' or '.join(defaults.TOPOLOGIES)} (Aurora's express configuration: ExpressDatabase)")
        self.topology = topology
        if topology == "direct":
            given = {"proxy_max_connections_percent": proxy_max_connections_percent,
                     "proxy_idle_client_timeout": proxy_idle_client_timeout, "proxy_borrow_timeout": proxy_borrow_timeout}
            for prop, value in given.items():
                if value is not None:
                    raise InvalidPropError("ServerlessDatabase", prop, value if not isinstance(value, Duration)
                                           else f"{seconds(value):g} seconds", 'unset with topology="direct" (no proxy)')
            proxy_max_connections_percent = 100
        engine_version = engine_version or defaults.ENGINE_VERSION
        self.min_capacity = min_capacity if min_capacity is not None else defaults.MIN_CAPACITY_ACU
        self.max_capacity = max_capacity if max_capacity is not None else defaults.MAX_CAPACITY_ACU
        self.database_name = database_name or defaults.DATABASE_NAME
        self.app_db_user = validate_db_user("app_db_user", app_db_user or defaults.APP_USER)
        self.max_connections_percent = (proxy_max_connections_percent if proxy_max_connections_percent is not None
                                        else defaults.PROXY_MAX_CONNECTIONS_PERCENT)
        self.borrow_timeout = proxy_borrow_timeout or defaults.PROXY_BORROW_TIMEOUT
        self.accept_unbounded_concurrency = accept_unbounded_concurrency
        check_capacity("ServerlessDatabase", self.min_capacity, self.max_capacity)
        major = engine_version.aurora_postgres_major_version
        if major not in defaults.SUPPORTED_MAJOR_VERSIONS:
            raise InvalidPropError("ServerlessDatabase", "engine_version", engine_version.aurora_postgres_full_version,
                                   f"a current version, majors {', '.join(defaults.SUPPORTED_MAJOR_VERSIONS)}")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,62}", self.database_name):
            raise InvalidPropError("ServerlessDatabase", "database_name", self.database_name,
                                   "a letter then up to 62 letters, digits or underscores")
        if not 1 <= self.max_connections_percent <= 100:
            raise InvalidPropError("ServerlessDatabase", "proxy_max_connections_percent",
                                   self.max_connections_percent, "1–100")
        self.borrow_timeout_seconds: float = seconds(self.borrow_timeout)
        if not 1 <= self.borrow_timeout_seconds <= 3600:
            raise InvalidPropError("ServerlessDatabase", "proxy_borrow_timeout",
                                   f"{self.borrow_timeout_seconds:g} seconds", "1–3600 seconds")
        if monitoring_interval is not None and seconds(monitoring_interval) not in defaults.MONITORING_INTERVALS_SECONDS:
            raise InvalidPropError("ServerlessDatabase", "monitoring_interval", f"{seconds(monitoring_interval):g} seconds",
                                   f"{', '.join(map(str, defaults.MONITORING_INTERVALS_SECONDS))} seconds, or None for none")

        # 2. build ----------------------------------------------------------------------
        subnets = vpc_subnets or ec2.SubnetSelection(subnet_group_name="Data")
        self.port = defaults.PORT
        # the writer states the cluster's Performance Insights settings too (CDK warns when it does not)
        insights = {"enable_performance_insights": True,
                    "performance_insight_retention": _INSIGHTS_RETENTION[database_insights.name]} if database_insights else {}
        # No default egress anywhere: the cluster initiates nothing, the proxy reaches only the
        # cluster, the rotation function only AWS APIs (https_egress) and the cluster.
        self.cluster_security_group = ec2.SecurityGroup(
            self, "ClusterSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"{self.node.path}: the Aurora cluster; no egress")
        self.proxy_security_group: ec2.SecurityGroup | None = None
        if topology == "proxy":
            self.proxy_security_group = ec2.SecurityGroup(
                self, "ProxySecurityGroup", vpc=vpc, allow_all_outbound=False,
                description=f"{self.node.path}: the RDS Proxy; egress to the cluster only")
            # inline (see network.egress): the group's own list then replaces EC2's allow-all default
            self.proxy_security_group.add_egress_rule(inline_peer(self.cluster_security_group),
                                                      ec2.Port.tcp(self.port), "the proxy to the cluster")
        self.cluster = rds.DatabaseCluster(
            self, "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=engine_version),
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.cluster_security_group],
            writer=rds.ClusterInstance.serverless_v2("Writer", auto_minor_version_upgrade=True, **insights),
            serverless_v2_min_capacity=self.min_capacity,
            serverless_v2_max_capacity=self.max_capacity,
            default_database_name=self.database_name,
            credentials=rds.Credentials.from_generated_secret(defaults.ADMIN_USER, encryption_key=secret_encryption_key),
            storage_encrypted=True,
            iam_authentication=True,
            cloudwatch_logs_exports=list(defaults.LOG_EXPORTS),
            backup=rds.BackupProps(retention=backup_retention or defaults.BACKUP_RETENTION),
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
            port=self.port,
            monitoring_interval=monitoring_interval,
            database_insights_mode=database_insights,
            **insights,
        )
        self.secret = self.cluster.secret
        self.secret_encryption_key = secret_encryption_key
        self.writer = self.cluster.node.find_child("Writer")
        self.rotation_log_group: logs.LogGroup | None = None
        if secret_rotation is not None:
            rotation_security_group = ec2.SecurityGroup(
                self, "RotationSecurityGroup", vpc=vpc, allow_all_outbound=False,
                description=f"{self.node.path}: the rotation function of the admin secret, HTTPS to AWS APIs and the cluster")
            rotation_security_group.add_egress_rule(inline_peer(https_egress or defaults.HTTPS_EGRESS),
                                                    ec2.Port.tcp(443), "HTTPS to Secrets Manager")
            rotation = self.cluster.add_rotation_single_user(automatically_after=secret_rotation, vpc_subnets=subnets,
                                                             security_group=rotation_security_group)
            self.rotation_log_group = rotation_log_group(
                rotation, retention=rotation_log_retention or defaults.ROTATION_LOG_RETENTION,
                encryption_key=log_encryption_key)
        self.proxy_role: iam.Role | None = None
        self.proxy: rds.DatabaseProxy | None = None
        if topology == "proxy":
            # End-to-end IAM: the proxy logs in to the cluster with this role, as each user a function
            # connects as; grant_connect gives it rds-db:connect on exactly those users of the cluster.
            self.proxy_role = iam.Role(self, "ProxyRole", assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
                                       description="RDS Proxy: logs in to the Aurora cluster with IAM")
            self.proxy = rds.DatabaseProxy(
                self, "Proxy",
                proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
                role=self.proxy_role,
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[self.proxy_security_group],
                default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
                iam_auth=True,
                require_tls=True,
                max_connections_percent=self.max_connections_percent,
                idle_client_timeout=proxy_idle_client_timeout or defaults.PROXY_IDLE_CLIENT_TIMEOUT,
                borrow_timeout=self.borrow_timeout,
            )
        self._connected: list[_Connected] = []
        self.db_users: dict[str, users.Privileges | None] = {}
        self.proxy_users: set[str] = set()

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.cluster, self.cluster.node.find_child("Secret"), self.secret,
                          *[c for c in (self.proxy, self.cluster_security_group, self.proxy_security_group) if c])
        self.node.add_validation(_BudgetValidation(self))
        reachable_from = "proxy" if topology == "proxy" else "connected functions'"
        acknowledge(self.cluster, "AwsSolutions-RDS11",
                    f"The cluster is reachable only from the {reachable_from} and migration security groups inside "
                    "isolated subnets; a non-default port would add no protection and break tooling defaults.")
        if monitoring_interval is not None:
            acknowledge(self.cluster.node.find_child("MonitoringRole"),
                        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
                        "The Enhanced Monitoring role RDS assumes needs AWS's AmazonRDSEnhancedMonitoringRole, which "
                        "only writes to the RDSOSMetrics log group; AWS keeps it current with the agent.")

    # ---- grants -------------------------------------------------------------------------
    def grant_connect(self, function: ServerlessFunction, *, db_user: str | None = None,
                      max_concurrency: int | None = None, connections_per_container: int | None = None,
                      on_pause: str | None = None, privileges: Mapping[str, Sequence[str]] | None = None) -> None:
        """Let ``function`` connect through the proxy as ``db_user`` with IAM, and count it in the budget.

        With ``topology="direct"`` it connects to the cluster's writer instead: ``rds-db:connect`` on
        ``dbuser:<cluster resource id>/<db_user>``, the cluster's port opened to the function's security
        group only, ``DB_HOST`` the writer endpoint, and ``DB_SSL_ROOT_CERT`` naming the Amazon RDS CA
        bundle shipped in a layer (Aurora's certificate chains to the RDS CAs, in no OS bundle).

        Grants ``rds-db:connect`` on exactly ``dbuser:<prx- id>/<db_user>``, lets the proxy's role log in
        to the cluster as ``db_user`` (``dbuser:<cluster resource id>/<db_user>``), opens the proxy's port to
        the function's security group only, and sets ``DB_HOST``, ``DB_PORT``, ``DB_NAME`` and
        ``DB_USER`` in its environment (no password: the token is minted from the function's role).

        :param db_user: Default: the database's ``app_db_user``.
        :param max_concurrency: the function's concurrency bound, for a bound this construct cannot
            see. Default: read when the app synthesizes: the function's reserved concurrency, else the
            sum of its SQS event sources' maximum concurrency (``QueueWorker(max_concurrency=…)``; every
            event source mapping of the function must have one, and they must be its only trigger), else
            its provisioned concurrency, else unbounded (a synth error unless
            ``accept_unbounded_concurrency``).
        :param connections_per_container: Default: 1.
        :param on_pause: what the function does while an auto-paused database (``min_capacity=0``)
            resumes: ``"wait"`` (workers, schedules: connect within the invocation's remaining time;
            its timeout must be at least :data:`~.defaults.RESUME_WAIT_MIN_TIMEOUT_SECONDS`) or
            ``"unavailable"`` (HTTP: a 503 with ``Retry-After`` before API Gateway's 30 s limit).
            Sets ``DB_ON_PAUSE`` only when ``min_capacity`` is 0. Default: ``"wait"``.
        :param privileges: what ``db_user`` may do, ensured by :class:`DatabaseMigrations` after the app's
            migrations: tables of schema ``public`` → privileges (``SELECT``, ``INSERT``, ``UPDATE``,
            ``REFERENCES``, optionally on columns as ``"UPDATE (status)"``, ``DELETE``, ``TRUNCATE``,
            ``TRIGGER``), e.g. ``{"orders": ["SELECT", "INSERT", "UPDATE (status)"]}``. The user then holds
            exactly these on the tables and sequences of ``public`` (``INSERT`` brings ``USAGE`` on the
            table's serial sequences; everything else is revoked at each deployment). Whatever the
            privileges, the migrations create the user before the app's migrations, with ``LOGIN``,
            ``rds_iam``, ``CONNECT`` and ``USAGE`` on schema ``public``. A user granted to several
            functions is declared once (or the same way each time). Default: None, the user's table
            privileges are left to the app's migrations (as the example's ``0004_least_privilege.sql`` does).
        """
        user, declared, per_container, on_pause = check_grant(
            "ServerlessDatabase.grant_connect", self.min_capacity, function,
            db_user=db_user if db_user is not None else self.app_db_user, privileges=privileges,
            connections_per_container=connections_per_container, on_pause=on_pause)
        if self.proxy is not None and self.borrow_timeout_seconds >= function.timeout_seconds:
            raise InvalidPropError(
                "ServerlessDatabase", "proxy_borrow_timeout", f"{self.borrow_timeout_seconds:g} seconds",
                f"less than the timeout of {function.path} ({function.timeout_seconds:g} seconds), "
                "so a request waiting for a connection fails before Lambda kills it: lower the ServerlessDatabase's "
                "proxy_borrow_timeout or raise that ServerlessFunction's timeout")
        if function.vpc is None:
            raise InvalidPropError("ServerlessDatabase.grant_connect", "function", function.path,
                                   "a ServerlessFunction in the database's VPC: create it with vpc= and vpc_subnets= "
                                   "(ServiceNetwork's **network.function_placement)")
        users.declare("ServerlessDatabase.grant_connect", self.db_users, user, declared)  # recorded once every check has passed
        # allow_to from the function's side keeps the ingress rule in the function's stack, so a
        # stateless stack can connect to a stateful one without a reference back.
        if self.proxy is not None:
            self.proxy.grant_connect(function.role, user)
            self._let_proxy_log_in_as(user)
            function.connections.allow_to(self.proxy, ec2.Port.tcp(self.port), f"{function.path} to the proxy")
            function.add_environment(var.DB_HOST, self.proxy_endpoint)
        else:
            function.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["rds-db:connect"], resources=[self.cluster_user_arn(user)]))
            function.connections.allow_to(self.cluster, ec2.Port.tcp(self.port), f"{function.path} to the cluster")
            function.add_environment(var.DB_HOST, self.cluster.cluster_endpoint.hostname)
            trust_rds_ca(function)
        if self.min_capacity == 0:
            function.add_environment(var.DB_ON_PAUSE, on_pause)
        function.add_environment(var.DB_PORT, str(self.port))
        function.add_environment(var.DB_NAME, self.database_name)
        function.add_environment(var.DB_USER, user)
        self._connected.append(_Connected(function, max_concurrency, per_container))

    def grant_admin(self, function: ServerlessFunction, *, ssl_root_cert: str) -> None:
        """Let ``function`` (the migration runner) connect to the cluster as the admin user, verifying it.

        Grants read on the admin secret, opens the cluster's port to the function's security group,
        and sets ``DB_ADMIN_SECRET_ARN``, ``DB_ADMIN_HOST``, ``DB_ADMIN_SSL_ROOT_CERT``, ``DB_PORT``,
        ``DB_NAME`` and ``DB_USER`` (the application user the migrations create). Counts one
        connection in the budget.

        :param ssl_root_cert: absolute path, in the function's file system, of a PEM bundle of the CAs
            that verify the cluster's certificate (the Amazon RDS CAs). Required: the admin connection
            is always verified. :class:`DatabaseMigrations` ships such a bundle in a layer and passes
            its path.
        """
        if not PurePosixPath(ssl_root_cert).is_absolute():
            raise InvalidPropError("ServerlessDatabase.grant_admin", "ssl_root_cert", ssl_root_cert,
                                   "an absolute path in the function's file system (/opt/... from a layer, "
                                   "/var/task/... from the code)")
        grant_secret_read(self.secret, self.secret_encryption_key, function.role)
        function.connections.allow_to(self.cluster, ec2.Port.tcp(self.port), f"{function.path} (migrations)")
        function.add_environment(var.DB_ADMIN_SECRET_ARN, self.secret.secret_arn)
        function.add_environment(var.DB_ADMIN_HOST, self.cluster.cluster_endpoint.hostname)
        function.add_environment(var.DB_ADMIN_SSL_ROOT_CERT, ssl_root_cert)
        function.add_environment(var.DB_PORT, str(self.port))
        function.add_environment(var.DB_NAME, self.database_name)
        function.add_environment(var.DB_USER, self.app_db_user)
        self._connected.append(_Connected(function, None, 1))

    def _let_proxy_log_in_as(self, user: str) -> None:
        """``rds-db:connect`` for the proxy's role on ``dbuser:<cluster resource id>/<user>``, once per user.

        With ``DefaultAuthScheme: IAM_AUTH`` the proxy authenticates to the cluster with IAM as the
        client's user (Amazon RDS User Guide, "Setting up IAM authentication for RDS Proxy"): without
        this statement every connection through the proxy fails at login.
        """
        if user in self.proxy_users or self.proxy_role is None:
            return
        self.proxy_users.add(user)
        self.proxy_role.add_to_principal_policy(iam.PolicyStatement(
            actions=["rds-db:connect"], resources=[self.cluster_user_arn(user)]))

    def cluster_user_arn(self, user: str) -> str:
        """``arn:…:rds-db:<region>:<account>:dbuser:<cluster resource id>/<user>``: logging in to the cluster."""
        return Stack.of(self).format_arn(
            service="rds-db", resource="dbuser", arn_format=ArnFormat.COLON_RESOURCE_NAME,
            resource_name=f"{self.cluster.cluster_resource_identifier}/{user}")

    @property
    def migration_dependencies(self) -> list[IConstruct]:
        """What the migrations must run after: the cluster, and the proxy when there is one."""
        return [self.cluster, *([self.proxy] if self.proxy is not None else [])]

    @functools.cached_property
    def proxy_endpoint(self) -> str:
        """The proxy's endpoint (a token), read from Node once for every function connected."""
        return self.proxy.endpoint

    @property
    def consumers(self) -> list[budget.Consumer]:
        """Every connected function's entry in the connection budget, its concurrency bound read now."""
        return budget_consumers(self._connected)

    def budget_errors(self) -> list[str]:
        """The connection budget check, with each function's bound as it is now: error messages, empty
        when every consumer fits."""
        return budget.check(self.consumers, min_capacity=self.min_capacity, max_capacity=self.max_capacity,
                            max_connections_percent=self.max_connections_percent,
                            accept_unbounded=self.accept_unbounded_concurrency,
                            holder="the proxy's" if self.proxy is not None else "the cluster's")

    @property
    def connection_budget(self) -> int:
        """Connections the proxy may open to the cluster (``"direct"``: the cluster's ``max_connections``)."""
        return budget.proxy_budget(self.min_capacity, self.max_capacity, self.max_connections_percent)


#: Performance Insights retention each Database Insights mode requires.
_INSIGHTS_RETENTION = {"STANDARD": rds.PerformanceInsightRetention.DEFAULT,
                       "ADVANCED": rds.PerformanceInsightRetention.MONTHS_15}


def validate_db_user(prop: str, name: str) -> str:
    """Return ``name`` when PostgreSQL (and RDS) accept it as a login role; raise otherwise."""
    if (not re.fullmatch(defaults.DB_USER_PATTERN, name) or name in defaults.RESERVED_DB_USERS
            or name.startswith(defaults.RESERVED_DB_USER_PREFIXES)):
        raise InvalidPropError("ServerlessDatabase", prop, name,
                               "a lowercase PostgreSQL identifier (letter or _, then letters, digits, _; at most 63), "
                               f"not reserved ({', '.join(defaults.RESERVED_DB_USERS)}) and not starting with "
                               f"{' or '.join(defaults.RESERVED_DB_USER_PREFIXES)}")
    return name


def check_grant(where: str, min_capacity: float, function: ServerlessFunction, *, db_user: str,
                privileges: Mapping[str, Sequence[str]] | None, connections_per_container: int | None,
                on_pause: str | None) -> tuple[str, users.Privileges | None, int, str]:
    """The checks both databases' ``grant_connect`` start with: the user, its declared privileges, the
    connections per container (or the default) and ``on_pause`` (or the default), each valid, in that order."""
    user = validate_db_user("db_user", db_user)
    declared = users.check_privileges(where, privileges)
    per_container = connections_per_container if connections_per_container is not None else defaults.CONNECTIONS_PER_CONTAINER
    if per_container < 1:
        raise InvalidPropError(where, "connections_per_container", per_container, ">= 1")
    return user, declared, per_container, check_resume(where, min_capacity, function, on_pause)


def check_resume(where: str, min_capacity: float, function: ServerlessFunction, on_pause: str | None) -> str:
    """``on_pause`` (or its default) when valid, and when a function waiting for a resume has the time to."""
    on_pause = on_pause if on_pause is not None else defaults.ON_PAUSE
    if on_pause not in defaults.ON_PAUSE_CHOICES:
        raise InvalidPropError(where, "on_pause", on_pause, " or ".join(defaults.ON_PAUSE_CHOICES))
    if min_capacity == 0 and on_pause == "wait" and function.timeout_seconds < defaults.RESUME_WAIT_MIN_TIMEOUT_SECONDS:
        raise InvalidPropError(
            where, "function.timeout", f"{function.timeout_seconds:g} seconds",
            f"at least {defaults.RESUME_WAIT_MIN_TIMEOUT_SECONDS} seconds for {function.path}, which waits for an "
            "auto-paused database (min_capacity=0) to resume (15–30 s): raise its timeout, or pass "
            'on_pause="unavailable" to answer 503 with Retry-After instead')
    return on_pause


def check_capacity(construct: str, min_capacity: float, max_capacity: float) -> None:
    """Serverless v2 capacity: each in range in half-ACU steps, and max at least min and 1 ACU."""
    low, high = defaults.CAPACITY_RANGE_ACU
    for prop, value in (("min_capacity", min_capacity), ("max_capacity", max_capacity)):
        if not (low <= value <= high and float(value * 2).is_integer()):
            raise InvalidPropError(construct, prop, value, f"{low:g}–{high:g} ACU in steps of 0.5")
    if max_capacity < max(min_capacity, 1):
        raise InvalidPropError(construct, "max_capacity", max_capacity,
                               f"at least min_capacity={min_capacity:g} ACU and at least 1 ACU")


def budget_consumers(connected: list[_Connected]) -> list[budget.Consumer]:
    """The connection budget's entries of ``connected`` functions, each bound read now (at synth)."""
    consumers = []
    for entry in connected:
        bound, source = _concurrency_bound(entry.function, entry.max_concurrency)
        consumers.append(budget.Consumer(entry.function.path, bound, entry.connections_per_container, source))
    return consumers


@dataclass(frozen=True)
class _Connected:
    """A function granted a connection, and what its grant said about its concurrency."""

    function: ServerlessFunction
    max_concurrency: int | None
    connections_per_container: int


def _concurrency_bound(function: ServerlessFunction, explicit: int | None) -> tuple[int | None, str]:
    """How many executions of ``function`` may run at once, and where that bound comes from."""
    if explicit is not None:
        return explicit, "grant_connect max_concurrency"
    if function.reserved_concurrent_executions is not None:
        return function.reserved_concurrent_executions, "reserved_concurrent_executions"
    sqs_bound = _event_source_bound(function)
    if sqs_bound is not None:
        return sqs_bound, "max_concurrency of its SQS event source"
    if function.provisioned_concurrent_executions is not None:
        return function.provisioned_concurrent_executions, "provisioned_concurrent_executions"
    return None, "unbounded"


def _event_source_bound(function: ServerlessFunction) -> int | None:
    """The sum of the maximum concurrency of the function's event source mappings (on the function and
    its alias, where ``add_event_source`` puts them), or None when it has none or one has no maximum
    (only SQS event sources have one)."""
    total, found = 0, False
    for target in (function.function, function.alias):
        if target is None:
            continue
        for child in target.node.children:
            if not isinstance(child, lambda_.EventSourceMapping):
                continue
            scaling = child.node.default_child.scaling_config  # type: ignore[union-attr]
            maximum = getattr(scaling, "maximum_concurrency", None)
            if not isinstance(maximum, int):
                return None
            total, found = total + maximum, True
    return total if found else None


@jsii.implements(IValidation)
class _BudgetValidation:
    """Runs the connection budget check when the app synthesizes, once every construct exists.

    Its errors are reported as error annotations of the database, which ``cdk synth`` prints and fails
    on; returned from here they would surface as a jsii exception with a Node stack trace.
    """

    def __init__(self, database: ServerlessDatabase) -> None:
        self._database = database

    def validate(self) -> list[str]:
        for message in self._database.budget_errors():
            report_error(self._database, "ConnectionBudget", message)
        return []
