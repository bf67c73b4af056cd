"""A Python Lambda function with the settings a production team expects on day one."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..acknowledge import acknowledge
from ..bundling import PythonBundle
from ..errors import InvalidPropError, check_range
from ..logging_settings import log_group, retention
from ..network.egress import inline_peer
from ..references import strong_references
from ..node_values import check_durations, own_path, whole_units
from . import defaults


class ServerlessFunction(Construct):
    """A Python Lambda function: arm64, Python 3.13, JSON logs to an explicit log group, X-Ray.

    The execution role is created here with only what the function needs: write access to its
    own log group (no ``logs:CreateLogGroup``) and X-Ray. Callers add more with ``grant_*``.

    :param code: the handler code: a :class:`~constructs_lib.bundling.PythonBundle` (Docker-free
        bundle of a package and its requirements) or any ``lambda_.Code``. Required.
    :param handler: the handler as ``module.function``. Required.
    :param runtime: Default: Python 3.13. With a bundle, it must be the bundle's ``python_version``.
    :param architecture: Default: ARM_64, or the bundle's architecture when ``code`` is a bundle.
    :param memory_size: MB, 128–10240. Default: 512.
    :param timeout: 1 s–15 min. Default: 10 seconds.
    :param environment: environment variables. Default: none.
    :param reserved_concurrent_executions: caps concurrency (and so database connections).
        Default: unreserved.
    :param log_retention: days kept in the log group, a ``RetentionDays`` or one of the day counts
        CloudFormation accepts. Default: 14 days.
    :param log_removal_policy: what happens to the log group when the stack is deleted. Default: DESTROY.
    :param log_encryption_key: a customer-managed KMS key for the log group; its policy gets a
        statement letting CloudWatch Logs use it for this account's log groups (an imported key's
        policy must already allow that). Default: none (CloudWatch Logs' own encryption).
    :param application_log_level: Default: INFO.
    :param system_log_level: Default: WARN.
    :param tracing: X-Ray tracing mode. Default: ACTIVE.
    :param publish_alias: publish a version and point an alias (``live``) at it. Default: False,
        implied by ``provisioned_concurrent_executions``, ``snap_start`` and ``deployment``.
    :param deployment: shift the alias to each new version gradually with CodeDeploy: a Lambda
        deployment config, canary (``LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES``: 10 % of
        the traffic for 5 minutes, then all of it) or linear. A failed pre-traffic hook or a rollback
        alarm in ALARM during the shift puts the alias back on the old version and fails the stack
        update. :meth:`ServiceMonitoring.monitor_function` and ``monitor_http_api`` add their errors,
        5xx and p99 alarms as rollback alarms. Default: none (the alias moves at once).
    :param pre_traffic_hook: with ``deployment``: a function CodeDeploy runs before any traffic
        shifts. It finds the new version's ARN in ``DEPLOY_TARGET_VERSION_ARN``, may invoke that
        version only, and reports ``Succeeded`` or ``Failed`` to this deployment group only
        (``lambda_src.deploy_hook`` is such a hook: it sends one smoke request). Default: none.
    :param provisioned_concurrent_executions: provisioned concurrency on the alias. Default: none.
    :param snap_start: SnapStart on published versions (Python 3.12+). Not combinable with
        provisioned concurrency. Default: False.
    :param function_url: add a Function URL (on the alias when there is one). Default: False.
    :param function_url_auth_type: Default: AWS_IAM.
    :param allow_public_function_url: must be True to use auth type NONE, which lets anyone on the
        internet invoke the function (and run up its bill). Default: False.
    :param vpc: VPC to place the function in. Default: none.
    :param vpc_subnets: subnets in ``vpc``. Default: the VPC's private subnets.
    :param security_groups: Default: a new security group when ``vpc`` is given, allowing outbound
        HTTPS to ``https_egress`` only; ``grant_*`` methods of other constructs add the egress they
        need (e.g. the database port to the proxy).
    :param https_egress: where the new security group lets HTTPS (AWS APIs) go: the VPC endpoints'
        security group when the VPC has no NAT (``ServiceNetwork.https_egress`` gives the right one).
        Default: anywhere (``0.0.0.0/0``), since a VPC given here may reach AWS APIs through NAT.
    :param description: Default: none.

    Attributes: ``function``, ``role``, ``log_group``, ``log_encryption_key`` (or None), ``version`` (or None), ``alias`` (or None),
    ``deployment_group`` (the CodeDeploy ``LambdaDeploymentGroup``, or None),
    ``function_url`` (or None), ``invoke_target`` (the alias when there is one, else the function),
    ``timeout``, ``timeout_seconds``, ``path``, ``architecture``, ``vpc`` (or None), and
    ``reserved_concurrent_executions`` / ``provisioned_concurrent_executions`` as given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: PythonBundle | lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime | None = None,
        architecture: lambda_.Architecture | None = None,
        memory_size: int | None = None,
        timeout: Duration | None = None,
        environment: Mapping[str, str] | None = None,
        reserved_concurrent_executions: int | None = None,
        log_retention: logs.RetentionDays | int | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.DESTROY,
        log_encryption_key: kms.IKey | None = defaults.LOG_ENCRYPTION_KEY,
        application_log_level: lambda_.ApplicationLogLevel | None = None,
        system_log_level: lambda_.SystemLogLevel | None = None,
        tracing: lambda_.Tracing | None = None,
        publish_alias: bool = False,
        deployment: codedeploy.ILambdaDeploymentConfig | None = defaults.DEPLOYMENT,
        pre_traffic_hook: ServerlessFunction | lambda_.Function | None = None,
        provisioned_concurrent_executions: int | None = None,
        snap_start: bool = False,
        function_url: bool = False,
        function_url_auth_type: lambda_.FunctionUrlAuthType | None = None,
        allow_public_function_url: bool = False,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        https_egress: ec2.IPeer | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        #: This construct's path, worked out here (every jsii property read is a round trip to Node).
        self.path: str = own_path(self, scope, construct_id)
        # 1. validate -------------------------------------------------------------------
        check_durations("ServerlessFunction", timeout=timeout)
        runtime = runtime or defaults.RUNTIME
        if isinstance(code, PythonBundle):
            architecture = architecture or code.architecture
            if architecture is not code.architecture and architecture.name != code.architecture.name:
                raise InvalidPropError("ServerlessFunction", "architecture", architecture.name,
                                       f"{code.architecture.name}, the architecture the code bundle was built for")
            if runtime.name != f"python{code.python_version}":
                raise InvalidPropError("ServerlessFunction", "runtime", runtime.name,
                                       f"python{code.python_version}, the Python the code bundle was built for "
                                       "(its wheels and bytecode are that version's)")
            problem = code.handler_problem(handler)
            if problem is not None:
                raise InvalidPropError("ServerlessFunction", "handler", handler,
                                       f"package.module.function naming a function of the bundle: {problem}")
        architecture = architecture or defaults.ARCHITECTURE
        memory_size = memory_size if memory_size is not None else defaults.MEMORY_SIZE_MB
        timeout = timeout or defaults.TIMEOUT
        log_retention_days = retention(log_retention if log_retention is not None else defaults.LOG_RETENTION,
                                       construct="ServerlessFunction", prop="log_retention")
        url_auth = function_url_auth_type or defaults.FUNCTION_URL_AUTH_TYPE
        check_range("ServerlessFunction", "memory_size", memory_size, defaults.MEMORY_SIZE_RANGE_MB, "MB")
        timeout_seconds = whole_units(timeout, construct="ServerlessFunction", prop="timeout")
        check_range("ServerlessFunction", "timeout", timeout_seconds, defaults.TIMEOUT_RANGE_SECONDS, "seconds")
        if reserved_concurrent_executions is not None and reserved_concurrent_executions < 0:
            raise InvalidPropError("ServerlessFunction", "reserved_concurrent_executions",
                                   reserved_concurrent_executions, "an integer >= 0 (or None for unreserved)")
        if provisioned_concurrent_executions is not None and provisioned_concurrent_executions < 1:
            raise InvalidPropError("ServerlessFunction", "provisioned_concurrent_executions",
                                   provisioned_concurrent_executions, "an integer >= 1 (or None)")
        if (reserved_concurrent_executions is not None and provisioned_concurrent_executions is not None
                and provisioned_concurrent_executions > reserved_concurrent_executions):
            raise InvalidPropError("ServerlessFunction", "provisioned_concurrent_executions",
                                   provisioned_concurrent_executions,
                                   f"at most reserved_concurrent_executions={reserved_concurrent_executions}")
        if snap_start and runtime.name not in defaults.SNAP_START_RUNTIMES:
            raise InvalidPropError("ServerlessFunction", "snap_start", f"True with runtime {runtime.name}",
                                   f"runtimes {', '.join(defaults.SNAP_START_RUNTIMES)}")
        if snap_start and provisioned_concurrent_executions is not None:
            raise InvalidPropError("ServerlessFunction", "snap_start",
                                   f"True with provisioned_concurrent_executions={provisioned_concurrent_executions}",
                                   "SnapStart or provisioned concurrency, not both (Lambda rejects the combination)")
        if url_auth == lambda_.FunctionUrlAuthType.NONE and not allow_public_function_url:
            raise InvalidPropError("ServerlessFunction", "function_url_auth_type", "NONE",
                                   "AWS_IAM, or NONE together with allow_public_function_url=True "
                                   "(NONE lets anyone on the internet invoke the function)")
        if vpc is None and (vpc_subnets is not None or security_groups or https_egress is not None):
            raise InvalidPropError("ServerlessFunction", "vpc", None,
                                   "a VPC whenever vpc_subnets, security_groups or https_egress is given")
        if pre_traffic_hook is not None and deployment is None:
            raise InvalidPropError("ServerlessFunction", "pre_traffic_hook", pre_traffic_hook.node.path,
                                   "only with deployment (a hook runs before CodeDeploy shifts traffic)")
        if security_groups and https_egress is not None:
            raise InvalidPropError("ServerlessFunction", "https_egress", "given with security_groups",
                                   "https_egress only for the security group this construct creates; "
                                   "your own security_groups carry their own egress")

        # 2. build ----------------------------------------------------------------------
        self.timeout: Duration = timeout
        #: ``timeout`` in seconds, for checks in other constructs without a jsii round trip.
        self.timeout_seconds: float = timeout_seconds
        self.architecture: lambda_.Architecture = architecture
        #: The VPC the function is placed in, or None.
        self.vpc: ec2.IVpc | None = vpc
        self.reserved_concurrent_executions = reserved_concurrent_executions
        self.provisioned_concurrent_executions = provisioned_concurrent_executions
        own_security_group: ec2.SecurityGroup | None = None
        if vpc is not None and not security_groups:
            own_security_group = security_group = ec2.SecurityGroup(self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
                                               description=f"{self.path}: HTTPS out; other egress by grants")
            # inline, so the group's own egress list is never empty (see network.egress)
            security_group.add_egress_rule(inline_peer(https_egress or defaults.HTTPS_EGRESS), ec2.Port.tcp(443),
                                           "HTTPS to AWS APIs")
            security_groups = [security_group]
        #: The key encrypting the log group, or None for CloudWatch Logs' own encryption.
        self.log_encryption_key: kms.IKey | None = log_encryption_key
        self.log_group = log_group(self, "LogGroup", retention=log_retention_days, removal_policy=log_removal_policy,
                                   encryption_key=log_encryption_key)
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                             description=f"Execution role of {self.path}")
        self.function = lambda_.Function(
            self, "Function",
            code=code.code(scope) if isinstance(code, PythonBundle) else code,
            handler=handler,
            runtime=runtime,
            architecture=architecture,
            memory_size=memory_size,
            timeout=timeout,
            environment=dict(environment or {}),
            reserved_concurrent_executions=reserved_concurrent_executions,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=application_log_level or defaults.APPLICATION_LOG_LEVEL,
            system_log_level_v2=system_log_level or defaults.SYSTEM_LOG_LEVEL,
            # tracing is set below, so its '*' grant lives in its own policy (see _enable_tracing)
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=list(security_groups) if security_groups else None,
            description=description,
        )
        self.version: lambda_.Version | None = None
        self.alias: lambda_.Alias | None = None
        if publish_alias or provisioned_concurrent_executions is not None or snap_start or deployment is not None:
            self.version = self.function.current_version
            self.alias = lambda_.Alias(self, "Alias", alias_name=defaults.ALIAS_NAME, version=self.version,
                                       provisioned_concurrent_executions=provisioned_concurrent_executions)
        hook = pre_traffic_hook.function if isinstance(pre_traffic_hook, ServerlessFunction) else pre_traffic_hook
        self.deployment_group: codedeploy.LambdaDeploymentGroup | None = None
        if deployment is not None and self.alias is not None:
            self.deployment_group = codedeploy.LambdaDeploymentGroup(
                self, "Deployment", alias=self.alias, deployment_config=deployment, pre_hook=hook)
        self.function_url: lambda_.FunctionUrl | None = None
        if function_url:
            self.function_url = self.invoke_target.add_function_url(auth_type=url_auth)

        # 3. wire -----------------------------------------------------------------------
        strong_references(self.function, self.role, self.alias, self.log_group, own_security_group)
        self.log_group.grant_write(self.role)
        self.tracing_policy = self._enable_tracing(tracing or defaults.TRACING)
        if self.deployment_group is not None:
            self._wire_deployment(self.deployment_group, hook)
        if isinstance(code, PythonBundle) and runtime.name == f"python{code.python_version}":
            # holds for any code in such a bundle: its binary wheels are built for exactly this Python
            acknowledge(self.function, ("Serverless-LambdaLatestVersion", "AwsSolutions-L1"),
                        f"The code is a PythonBundle whose binary wheels are built for Python {code.python_version}, "
                        "the runtime set here; a newer runtime needs the bundle's python_version raised with it.")

    def _enable_tracing(self, mode: lambda_.Tracing) -> iam.Policy | None:
        """Set the X-Ray mode, with its grant in a policy of its own.

        X-Ray's actions support no resource-level permissions, so their grant must be on ``*``.
        Keeping it out of the role's default policy lets the cdk-nag acknowledgement cover exactly
        this grant and nothing a later ``grant_*`` adds.
        """
        if mode == lambda_.Tracing.DISABLED:
            return None
        cfn_function: lambda_.CfnFunction = self.function.node.default_child  # type: ignore[assignment]
        cfn_function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=_TRACING_MODES[mode.name])
        policy = iam.Policy(self, "TracingPolicy", roles=[self.role], statements=[iam.PolicyStatement(
            actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])])
        acknowledge(policy, "AwsSolutions-IAM5[Resource::*]",
                    "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions, "
                    "so this tracing-only policy must grant them on '*'.")
        return policy

    def _wire_deployment(self, group: codedeploy.LambdaDeploymentGroup, hook: lambda_.Function | None) -> None:
        """The hook learns the new version and may invoke it, and nothing else of this function.

        CDK's ``pre_hook`` already lets the hook report to this deployment group only
        (``codedeploy:PutLifecycleEventHookExecutionStatus`` on its ARN) and lets the CodeDeploy role invoke it.
        """
        assert self.version is not None
        acknowledge(group.role, "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSCodeDeployRoleForLambdaLimited]",
                    "AWS's policy for the CodeDeploy service role of Lambda deployments: it moves the alias, reads "
                    "the rollback alarms and invokes hooks; CDK attaches it to every Lambda deployment group.")
        if hook is None:
            return
        hook.add_environment(defaults.HOOK_TARGET_ENV, self.version.function_arn)
        iam.Grant.add_to_principal(grantee=hook, actions=["lambda:InvokeFunction"],
                                   resource_arns=[self.version.function_arn])
        stack = Stack.of(self)
        hook_id = stack.resolve(stack.get_logical_id(hook.node.default_child))
        acknowledge(group.role, f"AwsSolutions-IAM5[Resource::<{hook_id}.Arn>:*]",
                    "CDK's grant_invoke of the pre-traffic hook to the CodeDeploy role covers the hook function "
                    "and its qualifiers (:*); it is the one function this role may invoke.")

    @property
    def invoke_target(self) -> lambda_.IFunction:
        """What callers should invoke: the alias when there is one, else the function."""
        return self.alias or self.function

    @property
    def connections(self) -> ec2.Connections:
        """Security-group connections of the function (empty when it is not in a VPC)."""
        return self.function.connections

    def add_environment(self, key: str, value: str) -> None:
        """Add an environment variable to the function."""
        self.function.add_environment(key, value)


#: CloudFormation's names for the X-Ray tracing modes.
_TRACING_MODES = {lambda_.Tracing.ACTIVE.name: "Active", lambda_.Tracing.PASS_THROUGH.name: "PassThrough"}
