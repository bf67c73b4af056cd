"""ServerlessFunction: every default, every option, and the errors for invalid props."""
from __future__ import annotations

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from constructs_lib import InvalidPropError, PythonBundle, ServerlessFunction
from tests.cdk_helpers import PROJECT, new_stack
from tests.policy_eval import ACCOUNT, REGION, CfnValues, allows

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")


def build(**props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    function = ServerlessFunction(stack, "Fn", code=props.pop("code", INLINE), handler=props.pop("handler", "index.handler"),
                                  **props)
    return function, Template.from_stack(stack)


def policy_actions(template: Template) -> list[str]:
    actions: list[str] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions += action if isinstance(action, list) else [action]
    return actions


class TestDefaults:
    def test_python_313_on_arm64_with_memory_and_timeout(self) -> None:
        # GIVEN only code and handler WHEN synthesized
        _, template = build()
        # THEN the function runs Python 3.13 on arm64 with 512 MB and 10 s
        template.has_resource_properties("AWS::Lambda::Function", {
            "Runtime": "python3.13", "Architectures": ["arm64"], "MemorySize": 512, "Timeout": 10,
        })

    def test_explicit_log_group_with_14_day_retention_and_json_logs(self) -> None:
        _, template = build()
        template.resource_count_is("AWS::Logs::LogGroup", 1)
        template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 14})
        template.has_resource_properties("AWS::Lambda::Function", {"LoggingConfig": {
            "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN",
            "LogGroup": {"Ref": Match.string_like_regexp("FnLogGroup")},
        }})

    def test_no_log_retention_custom_resource_and_no_create_log_group(self) -> None:
        _, template = build()
        assert template.find_resources("Custom::LogRetention") == {}
        assert "logs:CreateLogGroup" not in policy_actions(template)
        # and no managed policy (AWSLambdaBasicExecutionRole grants CreateLogGroup on *)
        template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()})

    def test_role_writes_only_to_its_own_log_group(self) -> None:
        _, template = build()
        template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([{
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("FnLogGroup"), "Arn"]},
        }])}})

    def test_active_xray_tracing_with_its_grant_in_a_policy_of_its_own(self) -> None:
        function, template = build()
        template.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": {"Mode": "Active"}})
        xray = {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Effect": "Allow", "Resource": "*"}
        tracing_policy = [logical_id for logical_id, policy in template.find_resources("AWS::IAM::Policy").items()
                          if policy["Properties"]["PolicyDocument"]["Statement"] == [xray]]
        assert len(tracing_policy) == 1 and tracing_policy[0].startswith("FnTracingPolicy")
        assert function.tracing_policy is not None
        # the role's default policy has no '*' resource
        for logical_id, policy in template.find_resources("AWS::IAM::Policy").items():
            if logical_id.startswith("FnRoleDefaultPolicy"):
                assert all(st["Resource"] != "*" for st in policy["Properties"]["PolicyDocument"]["Statement"])

    def test_tracing_can_be_disabled(self) -> None:
        function, template = build(tracing=lambda_.Tracing.DISABLED)
        template.has_resource_properties("AWS::Lambda::Function", {"TracingConfig": Match.absent()})
        assert "xray:PutTraceSegments" not in policy_actions(template) and function.tracing_policy is None

    def test_no_version_alias_url_or_reserved_concurrency(self) -> None:
        function, template = build()
        for kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias", "AWS::Lambda::Url"):
            template.resource_count_is(kind, 0)
        template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": Match.absent()})
        assert function.alias is None and function.version is None and function.function_url is None
        assert function.invoke_target is function.function

    def test_no_physical_names(self) -> None:
        _, template = build()
        template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": Match.absent()})
        template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": Match.absent()})
        template.has_resource_properties("AWS::IAM::Role", {"RoleName": Match.absent()})

    def test_log_group_without_customer_managed_key(self) -> None:
        function, template = build()
        template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": Match.absent()})
        assert function.log_encryption_key is None

    def test_attributes_expose_created_resources(self) -> None:
        function, _ = build()
        assert isinstance(function.function, lambda_.Function)
        assert isinstance(function.log_group, logs.LogGroup)
        assert function.role is function.function.role
        assert function.timeout.to_seconds() == 10


def key_policy_and_values(template: Template) -> tuple[dict, CfnValues]:  # type: ignore[type-arg]
    values = CfnValues(template.to_json())
    (key,) = template.find_resources("AWS::KMS::Key").values()
    return values.resolve(key["Properties"]["KeyPolicy"]), values


class TestLogEncryptionKey:
    def build_with_key(self, functions: int = 1):  # type: ignore[no-untyped-def]
        stack = new_stack()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        built = [ServerlessFunction(stack, f"Fn{index}", code=INLINE, handler="index.handler", log_encryption_key=key)
                 for index in range(functions)]
        return key, built, Template.from_stack(stack)

    def test_log_group_is_encrypted_with_the_key(self) -> None:
        # GIVEN a customer-managed key WHEN a function is built with it
        key, (function,), template = self.build_with_key()
        # THEN its log group names the key and the attribute exposes it
        template.has_resource_properties("AWS::Logs::LogGroup", {
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("LogKey"), "Arn"]}})
        assert function.log_encryption_key is key

    def test_key_policy_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups_only(self) -> None:
        # GIVEN a function whose log group uses the key
        _, _, template = self.build_with_key()
        policy, values = key_policy_and_values(template)
        (group_id,) = template.find_resources("AWS::Logs::LogGroup")
        own_group = values.resolve({"Fn::GetAtt": [group_id, "Arn"]}).removesuffix(":*")
        logs_service = f"logs.{REGION}.amazonaws.com"
        # WHEN CloudWatch Logs asks for a data key for that log group THEN the key policy allows it
        for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"):
            assert allows(policy, action=action, service=logs_service,
                          context={"kms:EncryptionContext:aws:logs:arn": own_group}), action
        # and not for a log group of another account or region, nor without the encryption context
        other_account = own_group.replace(f":{ACCOUNT}:", ":999999999999:")
        other_region = own_group.replace(f":{REGION}:", ":us-east-1:")
        for arn in (other_account, other_region):
            assert not allows(policy, action="kms:Decrypt", service=logs_service,
                              context={"kms:EncryptionContext:aws:logs:arn": arn})
        assert not allows(policy, action="kms:Decrypt", service=logs_service)
        # and CloudWatch Logs cannot manage the key
        assert not allows(policy, action="kms:ScheduleKeyDeletion", service=logs_service,
                          context={"kms:EncryptionContext:aws:logs:arn": own_group})

    def test_one_statement_for_cloudwatch_logs_however_many_log_groups_use_the_key(self) -> None:
        _, _, template = self.build_with_key(functions=3)
        policy, _ = key_policy_and_values(template)
        logs_statements = [statement for statement in policy["Statement"]
                           if statement.get("Principal", {}).get("Service") == f"logs.{REGION}.amazonaws.com"]
        assert len(logs_statements) == 1

    def test_imported_key_is_used_as_is(self) -> None:
        # GIVEN a key from elsewhere (its policy is not ours to change) WHEN a function uses it
        stack = new_stack()
        arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
        ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler",
                           log_encryption_key=kms.Key.from_key_arn(stack, "Imported", arn))
        # THEN the log group names it and no key resource is made
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::Logs::LogGroup", {"KmsKeyId": arn})
        template.resource_count_is("AWS::KMS::Key", 0)


class TestOptions:
    def test_memory_timeout_environment_and_reserved_concurrency(self) -> None:
        _, template = build(memory_size=1024, timeout=Duration.seconds(20), environment={"APP_MODE": "1"},
                            reserved_concurrent_executions=5)
        template.has_resource_properties("AWS::Lambda::Function", {
            "MemorySize": 1024, "Timeout": 20, "Environment": {"Variables": {"APP_MODE": "1"}},
            "ReservedConcurrentExecutions": 5,
        })

    def test_retention_as_days_or_enum(self) -> None:
        _, by_days = build(log_retention=30)
        by_days.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
        _, by_enum = build(log_retention=logs.RetentionDays.ONE_YEAR)
        by_enum.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})

    def test_log_levels(self) -> None:
        _, template = build(application_log_level=lambda_.ApplicationLogLevel.DEBUG,
                            system_log_level=lambda_.SystemLogLevel.INFO)
        template.has_resource_properties("AWS::Lambda::Function", {"LoggingConfig": {
            "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO"}})

    def test_x86_64(self) -> None:
        _, template = build(architecture=lambda_.Architecture.X86_64)
        template.has_resource_properties("AWS::Lambda::Function", {"Architectures": ["x86_64"]})

    def test_provisioned_concurrency_publishes_version_and_alias(self) -> None:
        function, template = build(provisioned_concurrent_executions=3)
        template.resource_count_is("AWS::Lambda::Version", 1)
        template.has_resource_properties("AWS::Lambda::Alias", {
            "Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 3},
            "FunctionVersion": {"Fn::GetAtt": [Match.string_like_regexp("CurrentVersion"), "Version"]},
        })
        assert function.invoke_target is function.alias

    def test_publish_alias_without_provisioned_concurrency(self) -> None:
        _, template = build(publish_alias=True)
        template.has_resource_properties("AWS::Lambda::Alias", {
            "Name": "live", "ProvisionedConcurrencyConfig": Match.absent()})

    def test_snap_start_on_published_versions_with_alias(self) -> None:
        function, template = build(snap_start=True)
        template.has_resource_properties("AWS::Lambda::Function", {"SnapStart": {"ApplyOn": "PublishedVersions"}})
        template.resource_count_is("AWS::Lambda::Alias", 1)
        assert function.version is not None

    def test_function_url_defaults_to_iam_auth_on_alias(self) -> None:
        function, template = build(function_url=True, publish_alias=True)
        template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "AWS_IAM", "Qualifier": "live"})
        assert function.function_url is not None

    def test_public_function_url_needs_explicit_opt_in(self) -> None:
        _, template = build(function_url=True, function_url_auth_type=lambda_.FunctionUrlAuthType.NONE,
                            allow_public_function_url=True)
        template.has_resource_properties("AWS::Lambda::Url", {"AuthType": "NONE"})

    def test_vpc_placement_creates_security_group(self) -> None:
        stack = new_stack()
        vpc = ec2.Vpc(stack, "Vpc", nat_gateways=0, subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", vpc=vpc)
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::Lambda::Function", {"VpcConfig": Match.object_like({
            "SecurityGroupIds": Match.any_value(), "SubnetIds": Match.any_value()})})
        assert function.connections.security_groups

    def test_bundle_sets_architecture(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        package = tmp_path / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("def handler(event, context):\n    return {}\n")
        bundle = PythonBundle(source_dir=package, architecture=lambda_.Architecture.X86_64, bytecode=False,
                              cache_dir=tmp_path / "cache", log=lambda _line: None)
        _, template = build(code=bundle, handler="pkg.handler")
        template.has_resource_properties("AWS::Lambda::Function", {"Architectures": ["x86_64"]})


class TestInvalidProps:
    @pytest.mark.parametrize(("props", "prop", "fragment"), [
        ({"function_url": True, "function_url_auth_type": lambda_.FunctionUrlAuthType.NONE},
         "function_url_auth_type", "allow_public_function_url=True"),
        ({"snap_start": True, "runtime": lambda_.Runtime.PYTHON_3_11}, "snap_start", "python3.12, python3.13"),
        ({"snap_start": True, "provisioned_concurrent_executions": 2}, "snap_start", "not both"),
        ({"log_retention": 10}, "log_retention", "1, 3, 5, 7, 14, 30"),
        ({"memory_size": 64}, "memory_size", "128–10240 MB"),
        ({"timeout": Duration.minutes(16)}, "timeout", "1–900 seconds"),
        ({"timeout": Duration.millis(1500)}, "timeout", "whole seconds"),
        ({"reserved_concurrent_executions": -1}, "reserved_concurrent_executions", ">= 0"),
        ({"provisioned_concurrent_executions": 0}, "provisioned_concurrent_executions", ">= 1"),
        ({"provisioned_concurrent_executions": 5, "reserved_concurrent_executions": 2},
         "provisioned_concurrent_executions", "at most reserved_concurrent_executions=2"),
    ])
    def test_fails_at_synth_naming_prop_value_and_allowed(self, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        # GIVEN invalid props WHEN the construct is built THEN it raises naming prop, value and what is allowed
        with pytest.raises(InvalidPropError) as raised:
            build(**props)
        assert raised.value.prop == prop
        assert f"invalid {prop}=" in str(raised.value)
        assert fragment in str(raised.value)

    def test_bundle_python_version_mismatch(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        # a 3.13 bundle's wheels and bytecode on a 3.12 runtime: native modules fail, the .pyc are ignored
        package = tmp_path / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        bundle = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache", log=lambda _line: None)
        with pytest.raises(InvalidPropError, match="invalid runtime='python3.12'; allowed: python3.13, the Python the "
                                                   "code bundle was built for"):
            build(code=bundle, runtime=lambda_.Runtime.PYTHON_3_12)

    def test_bundle_architecture_mismatch(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        package = tmp_path / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        bundle = PythonBundle(source_dir=package, cache_dir=tmp_path / "cache", log=lambda _line: None)
        with pytest.raises(InvalidPropError, match="invalid architecture='x86_64'; allowed: arm64, the architecture the code bundle"):
            build(code=bundle, architecture=lambda_.Architecture.X86_64)


class TestHttpsEgress:
    """A function in a VPC sends HTTPS only where ``https_egress`` says (ServiceNetwork: its endpoints)."""

    def test_network_placement_sends_https_to_the_endpoints_only(self) -> None:
        from constructs_lib import ServiceNetwork

        stack = new_stack()
        network = ServiceNetwork(stack, "Net")
        function = ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", **network.function_placement)
        template = Template.from_stack(stack)
        own = function.connections.security_groups[0]
        group = template.find_resources("AWS::EC2::SecurityGroup")[stack.resolve(own.node.default_child.logical_id)]
        # THEN the group's own egress list (which replaces EC2's allow-all default) is HTTPS to the endpoints
        assert group["Properties"]["SecurityGroupEgress"] == [{
            "Description": "HTTPS to AWS APIs",
            "DestinationSecurityGroupId": stack.resolve(network.endpoint_security_group.security_group_id),
            "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}]
        assert not [r for r in template.find_resources("AWS::EC2::SecurityGroupEgress").values()
                    if r["Properties"]["GroupId"] == stack.resolve(own.security_group_id)]

    def test_a_network_with_nat_lets_https_go_anywhere(self) -> None:
        from constructs_lib import ServiceNetwork

        stack = new_stack()
        network = ServiceNetwork(stack, "Net", nat_gateways=1)
        assert stack.resolve(network.https_egress.unique_id) == "0.0.0.0/0"

    def test_https_egress_needs_a_vpc_and_no_own_security_groups(self) -> None:
        with pytest.raises(InvalidPropError) as raised:
            build(https_egress=ec2.Peer.any_ipv4())
        assert raised.value.prop == "vpc"
        stack = new_stack()
        vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
        own = ec2.SecurityGroup(stack, "Own", vpc=vpc)
        with pytest.raises(InvalidPropError) as raised:
            ServerlessFunction(stack, "Fn", code=INLINE, handler="index.handler", vpc=vpc, security_groups=[own],
                               https_egress=ec2.Peer.any_ipv4())
        assert raised.value.prop == "https_egress"


class TestHandlerAgainstTheBundle:
    """A handler typo (``orders.htpp.handler``) failed only at run time: synth checks it against the sources."""

    @pytest.fixture
    def bundle(self, tmp_path):  # type: ignore[no-untyped-def]
        package = tmp_path / "orders"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "http.py").write_text("from .app import app\n\ndef handler(event, context):\n    return {}\n")
        (package / "jobs.py").write_text("from .runner import handler_for\n\nhandler = handler_for('x')\n")
        return PythonBundle(source_dir=package, cache_dir=tmp_path / "cache")

    @pytest.mark.parametrize("handler", ["orders.http.handler", "orders.jobs.handler", "orders.http.app"])
    def test_a_handler_the_sources_define_is_accepted(self, bundle, handler: str) -> None:  # type: ignore[no-untyped-def]
        assert bundle.handler_problem(handler) is None

    @pytest.mark.parametrize(("handler", "says"), [
        ("orders.htpp.handler", "no module orders.htpp"),
        ("orders.http.handle", "defines no 'handle'"),
        ("lambda_src.http.handler", "no requirement installs a package 'lambda_src'"),
        ("handler", "the bundle's package is 'orders'"),
    ])
    def test_a_typo_fails_at_synth_naming_the_prop(self, bundle, handler: str, says: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            ServerlessFunction(new_stack(), "Fn", code=bundle, handler=handler)
        assert (raised.value.prop, raised.value.value) == ("handler", handler)
        assert says in raised.value.allowed


@pytest.fixture(scope="module")
def consumer_bundle(tmp_path_factory: pytest.TempPathFactory) -> PythonBundle:
    from tests.consumer.runtime import copy_runtime, requirement

    root = tmp_path_factory.mktemp("consumer")
    package = root / "orders"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "requirements.txt").write_text(requirement(copy_runtime(root / "runtime")).replace("[postgres]", "") + "\n")
    return PythonBundle(source_dir=package, cache_dir=root / "cache", npm_root=PROJECT, log=lambda _line: None)


class TestHandlerOfAnInstalledRequirement:
    """A consumer's migrations run the runtime's entry point, ``lambda_src.migrate.handler``: a handler
    outside the bundle's own package was refused though the requirements install it."""

    def test_an_entry_point_of_an_installed_requirement_is_accepted(self, consumer_bundle: PythonBundle) -> None:
        # GIVEN orders/requirements.txt installs the handler runtime WHEN a function runs its migrations entry
        function = ServerlessFunction(new_stack(), "Migrate", code=consumer_bundle, handler="lambda_src.migrate.handler")
        # THEN synth accepts it, and the module is in the bundle it ships
        assert function.function is not None
        assert (consumer_bundle.result().path / "lambda_src" / "migrate.py").is_file()

    @pytest.mark.parametrize(("handler", "says"), [
        ("lambda_src.migrat.handler", "no module lambda_src.migrat"),
        ("lambda_src.migrate.handle", "defines no 'handle'"),
    ])
    def test_a_typo_in_an_installed_entry_point_fails_at_synth(self, consumer_bundle: PythonBundle, handler: str,
                                                                says: str) -> None:
        with pytest.raises(InvalidPropError) as raised:
            ServerlessFunction(new_stack(), "Migrate", code=consumer_bundle, handler=handler)
        assert raised.value.prop == "handler" and says in raised.value.allowed
