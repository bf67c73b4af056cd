"""The database topologies: ``direct`` (no proxy, auto-pause allowed) and ExpressDatabase (no VPC)."""
from __future__ import annotations

import pytest
from aws_cdk import App, Duration
from aws_cdk.assertions import Template

from constructs_lib import DatabaseMigrations, ExpressDatabase, InvalidPropError, ServerlessFunction
from constructs_lib.database import budget, defaults
from tests.cdk_helpers import new_stack, synth_errors
from tests.constructs.test_database import INLINE, connected_function, resolve, world

FAKE_CLUSTER_ID = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
FAKES = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def connect_statements(template: Template, stack, function) -> list[dict]:  # type: ignore[no-untyped-def]
    role = stack.resolve(function.role.role_name)
    return [s for p in template.find_resources("AWS::IAM::Policy").values() if role in p["Properties"]["Roles"]
            for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "rds-db:connect"]


def variables(template: Template, stack, function) -> dict:  # type: ignore[no-untyped-def]
    resource = template.find_resources("AWS::Lambda::Function")[stack.get_logical_id(function.function.node.default_child)]
    return resource["Properties"]["Environment"]["Variables"]


class TestDirect:
    def test_no_proxy_and_rds_db_connect_on_the_clusters_user(self) -> None:
        # GIVEN the direct topology  WHEN a function is granted
        stack, network, database = world(topology="direct")
        function = connected_function(stack, network)
        database.grant_connect(function)
        template = Template.from_stack(stack)
        # THEN there is no proxy, no proxy role, and the function may log in to the cluster as app_user only
        template.resource_count_is("AWS::RDS::DBProxy", 0)
        assert database.proxy is None and database.proxy_role is None and database.proxy_security_group is None
        cluster_id = next(iter(template.find_resources("AWS::RDS::DBCluster")))
        statement, = connect_statements(template, stack, function)
        arn = resolve(statement["Resource"], {f"{cluster_id}.DBClusterResourceId": FAKE_CLUSTER_ID, **FAKES})
        assert arn == f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{FAKE_CLUSTER_ID}/app_user"

    def test_cluster_ingress_only_from_the_function_and_the_writer_endpoint_with_the_rds_cas(self) -> None:
        stack, network, database = world(topology="direct")
        function = connected_function(stack, network)
        database.grant_connect(function)
        template = Template.from_stack(stack)
        cluster_sg = stack.resolve(database.cluster_security_group.security_group_id)
        function_sg = stack.resolve(function.connections.security_groups[0].security_group_id)
        ingress = [r["Properties"] for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
                   if r["Properties"]["GroupId"] == cluster_sg]
        # the rotation function's rule, and the function's on 5432: nothing else reaches the cluster
        assert [i["SourceSecurityGroupId"]["Fn::GetAtt"][0] for i in ingress][0].startswith("DbRotationSecurityGroup")
        assert [(i["FromPort"], i["SourceSecurityGroupId"]) for i in ingress[1:]] == [(5432, function_sg)]
        env = variables(template, stack, function)
        cluster_id = next(iter(template.find_resources("AWS::RDS::DBCluster")))
        assert env["DB_HOST"] == {"Fn::GetAtt": [cluster_id, "Endpoint.Address"]}
        assert env["DB_SSL_ROOT_CERT"] == defaults.CA_BUNDLE_PATH
        assert "DB_ON_PAUSE" not in env  # min_capacity 0.5: nothing pauses
        layers = template.find_resources("AWS::Lambda::Function")[
            stack.get_logical_id(function.function.node.default_child)]["Properties"]["Layers"]
        assert len(layers) == 1

    def test_budget_is_the_whole_max_connections_at_the_maximum_acu(self) -> None:
        # GIVEN 800 connections: over the proxy's 90 % of 823, within the cluster's 823
        for topology, expected_errors in (("proxy", 1), ("direct", 0)):
            stack, network, database = world(topology=topology)
            database.grant_connect(connected_function(stack, network, reserved_concurrent_executions=800))
            assert len(database.budget_errors()) == expected_errors, topology
        assert database.connection_budget == budget.max_connections(0.5, 4) == 823

    def test_auto_pause_needs_waiting_functions_to_outlast_a_resume(self) -> None:
        stack, network, database = world(topology="direct", min_capacity=0)
        worker = connected_function(stack, network, "Worker", timeout=Duration.seconds(30))
        with pytest.raises(InvalidPropError) as error:
            database.grant_connect(worker)
        assert (error.value.prop, error.value.value) == ("function.timeout", "30 seconds")
        assert "on_pause=\"unavailable\"" in str(error.value)
        api = connected_function(stack, network, "Api", timeout=Duration.seconds(10))
        database.grant_connect(api, on_pause="unavailable")
        long_worker = connected_function(stack, network, "LongWorker", timeout=Duration.seconds(60))
        database.grant_connect(long_worker)
        template = Template.from_stack(stack)
        assert variables(template, stack, api)["DB_ON_PAUSE"] == "unavailable"
        assert variables(template, stack, long_worker)["DB_ON_PAUSE"] == "wait"
        template.has_resource_properties("AWS::RDS::DBCluster", {"ServerlessV2ScalingConfiguration": {"MinCapacity": 0}})

    @pytest.mark.parametrize("props, prop", [({"topology": "serverless"}, "topology"),
                                             ({"topology": "direct", "proxy_max_connections_percent": 50},
                                              "proxy_max_connections_percent"),
                                             ({"topology": "direct", "proxy_borrow_timeout": Duration.seconds(2)},
                                              "proxy_borrow_timeout")])
    def test_invalid_props(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as error:
            world(**props)
        assert error.value.prop == prop

    def test_migrations_run_after_the_cluster_and_reach_it(self) -> None:
        stack, network, database = world(topology="direct")
        migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5),
                                     reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        template = Template.from_stack(stack)
        env = variables(template, stack, migrate)
        assert {"DB_ADMIN_SECRET_ARN", "DB_ADMIN_HOST", "DB_USER"} <= set(env)
        trigger, = template.find_resources("Custom::Trigger").values()
        cluster_id = next(iter(template.find_resources("AWS::RDS::DBCluster")))
        assert cluster_id in trigger["DependsOn"]
        assert synth_errors(App.of(stack)) == []


def express(**props):  # type: ignore[no-untyped-def]
    stack = new_stack()
    props.setdefault("endpoint", "app.cluster-abc.eu-west-1.rds.amazonaws.com")
    props.setdefault("cluster_resource_id", FAKE_CLUSTER_ID)
    return stack, ExpressDatabase(stack, "Db", **props)


def outside_function(stack, name: str = "Api", **props) -> ServerlessFunction:  # type: ignore[no-untyped-def]
    props.setdefault("reserved_concurrent_executions", 10)
    return ServerlessFunction(stack, name, code=INLINE, handler="index.handler", **props)


class TestExpress:
    def test_functions_outside_any_vpc_connect_with_iam_and_the_rds_cas(self) -> None:
        stack, database = express()
        api = outside_function(stack, "Api", timeout=Duration.seconds(10))
        database.grant_connect(api, on_pause="unavailable")
        template = Template.from_stack(stack)
        statement, = connect_statements(template, stack, api)
        assert resolve(statement["Resource"], FAKES) == f"arn:aws:rds-db:eu-west-1:123456789012:dbuser:{FAKE_CLUSTER_ID}/app_user"
        env = variables(template, stack, api)
        assert env["DB_HOST"] == "app.cluster-abc.eu-west-1.rds.amazonaws.com"
        assert (env["DB_SSL_ROOT_CERT"], env["DB_ON_PAUSE"]) == (defaults.CA_BUNDLE_PATH, "unavailable")
        assert "VpcConfig" not in template.find_resources("AWS::Lambda::Function")[
            stack.get_logical_id(api.function.node.default_child)]["Properties"]
        for resource in ("AWS::EC2::VPC", "AWS::RDS::DBCluster", "AWS::RDS::DBProxy", "AWS::SecretsManager::Secret"):
            template.resource_count_is(resource, 0)

    def test_a_vpc_function_is_refused(self) -> None:
        stack, network, _ = world()
        database = ExpressDatabase(stack, "Express", endpoint="a.b.rds.amazonaws.com", cluster_resource_id=FAKE_CLUSTER_ID)
        with pytest.raises(InvalidPropError) as error:
            database.grant_connect(connected_function(stack, network, timeout=Duration.seconds(60)))
        assert error.value.prop == "function"

    def test_budget_and_resume_checks_as_direct(self) -> None:
        stack, database = express()
        with pytest.raises(InvalidPropError):
            database.grant_connect(outside_function(stack, "Worker", timeout=Duration.seconds(30)))
        database.grant_connect(outside_function(stack, "Big", timeout=Duration.seconds(60),
                                                reserved_concurrent_executions=900))
        assert database.connection_budget == 823
        assert synth_errors(App.of(stack))[0].startswith("connection budget exceeded: 900 connections > budget 823")

    def test_migrations_log_in_as_the_master_user_with_iam_and_no_secret(self) -> None:
        stack, database = express()
        migrate = outside_function(stack, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        template = Template.from_stack(stack)
        env = variables(template, stack, migrate)
        assert env["DB_ADMIN_IAM"] == "true" and env["DB_ADMIN_USER"] == "postgres"
        assert env["DB_ADMIN_HOST"] == "app.cluster-abc.eu-west-1.rds.amazonaws.com"
        assert "DB_ADMIN_SECRET_ARN" not in env
        statement, = connect_statements(template, stack, migrate)
        assert resolve(statement["Resource"], FAKES).endswith(f"dbuser:{FAKE_CLUSTER_ID}/postgres")

    @pytest.mark.parametrize("props, prop", [({"cluster_resource_id": "db-ABC"}, "cluster_resource_id"),
                                             ({"endpoint": "https://x"}, "endpoint"),
                                             ({"min_capacity": 0.3}, "min_capacity")])
    def test_invalid_props(self, props, prop) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(InvalidPropError) as error:
            express(**props)
        assert error.value.prop == prop
