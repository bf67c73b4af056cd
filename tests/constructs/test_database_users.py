"""DatabaseMigrations for any app: the consumer's migrations directory, checked at synth and shipped to the
function; the users granted through grant_connect (with their privileges) handed to the runner; and the
runner, fed the synthesized environment, creating them in a real PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Duration
from aws_cdk.assertions import Template

from constructs_lib import DatabaseMigrations, InvalidPropError
from constructs_lib.database import defaults, users
from tests.cdk_helpers import layer_file
from tests.constructs.test_database import connected_function, world
from tests.constructs.test_topologies import express, outside_function, variables

ORDERS = {"orders": ["SELECT", "INSERT", "UPDATE (status)"], "processed_messages": ["SELECT", "INSERT"]}


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A consumer's package outside lambda_src, with its own migrations."""
    directory = tmp_path / "orders" / "migrations"
    directory.mkdir(parents=True)
    (directory / "0001_orders.sql").write_text("CREATE TABLE orders (id bigserial PRIMARY KEY, status text);")
    (directory / "0002_index.sql").write_text("CREATE INDEX orders_status ON orders (status);")
    (directory / "README.md").write_text("not a migration, not shipped")
    return directory


def serverless_world(**props):  # type: ignore[no-untyped-def]
    stack, network, database = world()
    migrate = connected_function(stack, network, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
    return stack, network, database, migrate


class TestUsersReachTheRunner:
    def test_every_user_granted_on_the_database_with_its_privileges_even_after_the_construct(self) -> None:
        # GIVEN functions granted as the app's user (no declaration) and as orders_app (declared)
        stack, network, database, migrate = serverless_world()
        database.grant_connect(connected_function(stack, network, "Api"))
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        # WHEN one is granted after DatabaseMigrations exists
        database.grant_connect(connected_function(stack, network, "Orders"), db_user="orders_app", privileges=ORDERS)
        # THEN the migration function's environment names both, as the runner reads it
        env = variables(Template.from_stack(stack), stack, migrate)
        assert json.loads(env["DB_MIGRATION_USERS"]) == {"app_user": None, "orders_app": ORDERS}

    def test_express_database_hands_its_users_over_the_same_way(self) -> None:
        stack, database = express()
        database.grant_connect(outside_function(stack, "Api"), db_user="orders_app", on_pause="unavailable",
                               privileges={"orders": ["SELECT"]})
        migrate = outside_function(stack, "Migrate", timeout=Duration.minutes(5), reserved_concurrent_executions=1)
        DatabaseMigrations(stack, "Migrations", database=database, function=migrate)
        env = variables(Template.from_stack(stack), stack, migrate)
        assert json.loads(env["DB_MIGRATION_USERS"]) == {"orders_app": {"orders": ["SELECT"]}}

    def test_one_user_granted_to_two_functions_is_declared_once(self) -> None:
        stack, network, database, _ = serverless_world()
        database.grant_connect(connected_function(stack, network, "Api"), db_user="orders_app", privileges=ORDERS)
        database.grant_connect(connected_function(stack, network, "Worker"), db_user="orders_app")  # declares nothing
        database.grant_connect(connected_function(stack, network, "Again"), db_user="orders_app", privileges=ORDERS)
        assert database.db_users == {"orders_app": users.check_privileges("x", ORDERS)}
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(connected_function(stack, network, "Other"), db_user="orders_app",
                                   privileges={"orders": ["SELECT"]})
        assert (raised.value.construct, raised.value.prop) == ("ServerlessDatabase.grant_connect", "privileges")
        assert "give the other function a db_user of its own" in raised.value.allowed

    @pytest.mark.parametrize("privileges, value", [
        ({"orders": ["ALL"]}, "ALL"),
        ({"orders": ["SELECT; DROP TABLE orders"]}, "SELECT; DROP TABLE orders"),
        ({"orders": ["update"]}, "update"),
        ({"orders": ["UPDATE (Status)"]}, "UPDATE (Status)"),
        ({"public.orders": ["SELECT"]}, "public.orders"),
        ({"schema_migrations": ["SELECT"]}, "schema_migrations"),
        ({"runtime_schema_migrations": ["SELECT"]}, "runtime_schema_migrations"),
        ({"orders": "SELECT"}, {"orders": "SELECT"}),
        ({"orders": []}, {"orders": []}),
        (["orders"], ["orders"]),
    ])
    def test_a_bad_privilege_fails_at_synth_naming_the_prop(self, privileges: object, value: object) -> None:
        stack, network, database, _ = serverless_world()
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(connected_function(stack, network, "Api"), privileges=privileges)  # type: ignore[arg-type]
        assert (raised.value.construct, raised.value.prop, raised.value.value) == (
            "ServerlessDatabase.grant_connect", "privileges", value)


class TestMigrationsDir:
    def test_the_consumers_migrations_are_shipped_and_named_to_the_runtimes_handler(
            self, migrations_dir: Path) -> None:
        stack, _, database, migrate = serverless_world()
        migrations = DatabaseMigrations(stack, "Migrations", database=database, function=migrate,
                                        migrations_dir=migrations_dir)
        assembly = App.of(stack).synth()
        template = assembly.get_stack_by_name(stack.stack_name).template
        function_id = stack.get_logical_id(migrate.function.node.default_child)
        env = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
        assert env["DB_MIGRATIONS_DIR"] == defaults.MIGRATIONS_PATH
        assert migrations.migrations == ["0001_orders.sql", "0002_index.sql"]
        for name in migrations.migrations:
            shipped = layer_file(Path(assembly.directory), template, function_id, f"{defaults.MIGRATIONS_PATH}/{name}")
            assert shipped.read_bytes() == (migrations_dir / name).read_bytes()
        with pytest.raises(AssertionError):
            layer_file(Path(assembly.directory), template, function_id, f"{defaults.MIGRATIONS_PATH}/README.md")

    def test_a_changed_migration_ships_a_new_layer(self, migrations_dir: Path) -> None:
        def layer_key() -> str:
            stack, _, database, migrate = serverless_world()
            DatabaseMigrations(stack, "Migrations", database=database, function=migrate, migrations_dir=migrations_dir)
            template = Template.from_stack(stack)
            layer = template.find_resources("AWS::Lambda::LayerVersion", {"Properties": {
                "Description": "The app's database migrations (DatabaseMigrations migrations_dir)"}})
            (resource,) = layer.values()
            return str(resource["Properties"]["Content"]["S3Key"])
        before = layer_key()
        (migrations_dir / "0003_more.sql").write_text("SELECT 1;")
        assert layer_key() != before

    def test_a_missing_directory_fails_at_synth_naming_the_prop(self, tmp_path: Path) -> None:
        stack, _, database, migrate = serverless_world()
        with pytest.raises(InvalidPropError) as raised:
            DatabaseMigrations(stack, "Migrations", database=database, function=migrate,
                               migrations_dir=tmp_path / "orders" / "migratons")
        assert (raised.value.construct, raised.value.prop) == ("DatabaseMigrations", "migrations_dir")
        assert raised.value.value.endswith("migratons")

    @pytest.mark.parametrize("value", [5, ["migrations"], b"migrations"])
    def test_a_value_that_is_not_a_path_fails_at_synth_naming_the_prop(self, value: object) -> None:
        # GIVEN a migrations_dir that is not a path (it raised TypeError from pathlib)
        stack, _, database, migrate = serverless_world()
        with pytest.raises(InvalidPropError) as raised:
            DatabaseMigrations(stack, "Migrations", database=database, function=migrate,
                               migrations_dir=value)  # type: ignore[arg-type]
        assert (raised.value.construct, raised.value.prop) == ("DatabaseMigrations", "migrations_dir")

    @pytest.mark.parametrize("name", ["create_orders.sql", "1_orders.sql", "0002_Orders.sql", "0002-orders.sql"])
    def test_a_misnamed_migration_fails_at_synth_naming_it(self, migrations_dir: Path, name: str) -> None:
        (migrations_dir / name).write_text("SELECT 1;")
        stack, _, database, migrate = serverless_world()
        with pytest.raises(InvalidPropError) as raised:
            DatabaseMigrations(stack, "Migrations", database=database, function=migrate, migrations_dir=migrations_dir)
        assert (raised.value.construct, raised.value.prop) == ("DatabaseMigrations", "migrations_dir")
        assert raised.value.value.endswith(name) and "NNNN_description.sql" in raised.value.allowed

    def test_two_files_of_one_version_fail_at_synth(self, migrations_dir: Path) -> None:
        (migrations_dir / "0002_other.sql").write_text("SELECT 1;")
        stack, _, database, migrate = serverless_world()
        with pytest.raises(InvalidPropError) as raised:
            DatabaseMigrations(stack, "Migrations", database=database, function=migrate, migrations_dir=migrations_dir)
        assert raised.value.prop == "migrations_dir" and "0002" in raised.value.allowed


class TestTheRunnerAgrees:
    """The construct's checks and the runner's are two copies (the library does not depend on the
    runtime): they must give the same answers."""

    NAMES = ["0001_orders.sql", "0001_a.sql", "9999_x_1.sql", "create.sql", "1_a.sql", "0001_A.sql", "0001-a.sql",
             "00001_a.sql", "0001_.sql", "0001_a b.sql"]
    PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "UPDATE (a)",
                  "UPDATE (a, b_2)", "SELECT (a)", "DELETE (a)", "ALL", "select", "UPDATE(a)", "UPDATE (a,b)",
                  "UPDATE (A)", "UPDATE ()", "SELECT; DROP TABLE t", "USAGE", "INSERT (a, b, c)"]

    def test_migration_file_names(self, tmp_path: Path) -> None:
        from lambda_src import migrate as runner

        for name in self.NAMES:
            directory = tmp_path / name.replace(" ", "_").replace(".", "_")
            directory.mkdir()
            (directory / name).write_text("SELECT 1;")
            construct_ok = runtime_ok = True
            try:
                from constructs_lib.database.migrations import check_migrations_dir
                check_migrations_dir(directory)
            except InvalidPropError:
                construct_ok = False
            try:
                runner.migration_files(directory)
            except ValueError:
                runtime_ok = False
            assert construct_ok == runtime_ok, name

    def test_privileges(self) -> None:
        from lambda_src import migrate as runner

        accepted = 0
        for privilege in self.PRIVILEGES:
            construct_ok = runtime_ok = True
            try:
                users.check_privileges("x", {"t": [privilege]})
            except InvalidPropError:
                construct_ok = False
            try:
                runner.parse_users({"u": {"t": [privilege]}})
            except ValueError:
                runtime_ok = False
            assert construct_ok == runtime_ok, privilege
            accepted += construct_ok
        assert accepted == 11  # both accept some and reject others: the comparison is not vacuous

    @pytest.mark.parametrize("granted", [[], (), "SELECT", None, {"SELECT": 1}])
    def test_a_table_without_a_list_of_privileges(self, granted: object) -> None:
        # GIVEN a table declared with no privileges, or not with a list (the runner took an empty list)
        from lambda_src import migrate as runner

        # THEN both sides refuse it (None is a user's "no declaration", never a table's)
        with pytest.raises(InvalidPropError):
            users.check_privileges("x", {"t": granted})  # type: ignore[dict-item]
        with pytest.raises(ValueError):
            runner.parse_users({"u": {"t": granted}})


def test_the_synthesized_users_are_created_by_the_runner_in_a_real_postgresql(migrations_dir: Path) -> None:
    # GIVEN the environment synth gives the migration function for a consumer's user
    import uuid

    import psycopg  # imported here: the construct tests also run where no driver is installed (.venv-floor)

    from lambda_src import migrate as runner
    from tests.lambda_src import pg

    user = f"orders_app_{uuid.uuid4().hex[:8]}"
    stack, network, database, migrate = serverless_world()
    database.grant_connect(connected_function(stack, network, "Orders"), db_user=user,
                           privileges={"orders": ["SELECT", "INSERT"]})
    DatabaseMigrations(stack, "Migrations", database=database, function=migrate, migrations_dir=migrations_dir)
    env = variables(Template.from_stack(stack), stack, migrate)
    with pg.fresh_database("synth") as dsn:
        # WHEN the runner migrates with it
        runner.migrate(dsn, directory=migrations_dir, users=env["DB_MIGRATION_USERS"])
        # THEN the user may insert and read orders, and nothing else
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT has_table_privilege(%s, 'orders', 'INSERT'), "
                                "has_table_privilege(%s, 'orders', 'UPDATE')", (user, user)).fetchone() == (True, False)


class TestAFailedGrantRecordsNothing:
    def test_a_grant_that_fails_a_check_declares_no_user(self) -> None:
        # GIVEN a grant_connect that fails a later check (connections_per_container)
        stack, network, database, _ = serverless_world()
        with pytest.raises(InvalidPropError):
            database.grant_connect(connected_function(stack, network, "Orders"), db_user="orders_app",
                                   privileges={"orders": ["SELECT"]}, connections_per_container=0)
        # THEN the user it named is not handed to the runner (it was recorded before the check)
        assert "orders_app" not in database.db_users

    def test_an_express_function_may_not_log_in_as_the_admin(self) -> None:
        # GIVEN an express cluster whose admin runs the migrations (and owns the tables)
        stack, database = express(admin_user="owner")
        # WHEN a function is granted as that admin THEN synth stops: with privileges the runner would
        # revoke the owner's rights, and without, the functions would run as the owner
        with pytest.raises(InvalidPropError) as raised:
            database.grant_connect(outside_function(stack, "Api", timeout=Duration.minutes(1)), db_user="owner",
                                   privileges={"orders": ["SELECT"]})
        assert (raised.value.construct, raised.value.prop) == ("ExpressDatabase.grant_connect", "db_user")
        assert "owner" not in database.db_users
