"""The construct ↔ runtime contract: :mod:`lambda_src.environment` names every variable, the
constructs set them by those names, and the runtime reads them through ``Config`` alone.

The central test reads each synthesized function of every app variant (default, realtime, a
release stage with its canary and pre-traffic hook, the direct and express topologies) and compares
its environment with what ``Config`` reads, recorded through the mapping it is given:

* every variable our constructs set is named in the contract and read by the runtime (the contract's
  app-level variables aside): no dead variable, no misspelt one;
* every variable the runtime needs for the function's roles (found in the template: whom its role
  may log in as, send to, post to, report to) is set.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lambda_src import environment
from lambda_src.config import Config
from tests.cdk_helpers import PROJECT, SynthesizedService

#: Every app variant the example supports, by fixture (or topology) name.
VARIANTS = ("service", "realtime_service", "release_service", "direct", "express")
#: The packages whose handlers run on the runtime: its own entry points (migrations, the deploy hook) and the
#: example's (bundled as the package ``example``, the runtime installed beside it).
RUNTIME_PACKAGES = ("lambda_src.", "example.")
ALL_NAMES = environment.RUNTIME | environment.SET_BY_LAMBDA | environment.APP_LEVEL


class RecordingEnvironment(Mapping[str, str]):
    """A mapping that remembers every key read from it, present or not."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the environment was listed, not read by name: the contract cannot see what is used")

    def __len__(self) -> int:
        return len(self.values)


def config_reads(values: Mapping[str, str] | None = None) -> set[str]:
    """The names ``Config`` reads from an environment holding ``values``."""
    recording = RecordingEnvironment(values)
    Config(recording)
    return recording.read


@dataclass
class RuntimeFunction:
    """A synthesized function whose handler runs on the runtime: its environment and its roles."""

    variant: str
    logical_id: str
    handler: str
    environment: dict[str, Any]
    roles: set[str] = field(default_factory=set)
    #: The database users its role may log in as (the last part of each ``rds-db:connect`` resource).
    db_users: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return f"{self.variant}: {self.logical_id} ({self.handler})"


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return action if isinstance(action, list) else [action]


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement.get("Resource", [])
    return resource if isinstance(resource, list) else [resource]


def _db_user(resource: Any) -> str | None:
    """``app_user`` of ``arn:…:dbuser:<id>/app_user``, literal or the last part of an ``Fn::Join``."""
    if isinstance(resource, dict) and "Fn::Join" in resource:
        resource = resource["Fn::Join"][1][-1]
    return resource.rsplit("/", 1)[-1] if isinstance(resource, str) and "/" in resource else None


def _migration_functions(resources: dict[str, Any]) -> set[str]:
    """The functions a CloudFormation trigger invokes (``DatabaseMigrations``), by logical id."""
    found = set()
    for resource in resources.values():
        if resource["Type"] != "Custom::Trigger":
            continue
        target = resource["Properties"]["HandlerArn"]["Ref"]
        if resources[target]["Type"] == "AWS::Lambda::Version":
            target = resources[target]["Properties"]["FunctionName"]["Ref"]
        found.add(target)
    return found


def runtime_functions(variant: str, template: dict[str, Any]) -> list[RuntimeFunction]:
    """Every function of ``template`` whose handler is in the runtime's package, with its roles."""
    resources = template["Resources"]
    migrations = _migration_functions(resources)
    functions = []
    for logical_id, resource in resources.items():
        props = resource["Properties"]
        if resource["Type"] != "AWS::Lambda::Function" or not str(props.get("Handler", "")).startswith(RUNTIME_PACKAGES):
            continue
        function = RuntimeFunction(variant, logical_id, props["Handler"], props.get("Environment", {}).get("Variables", {}))
        role = props["Role"]["Fn::GetAtt"][0]
        statements = [statement for policy in resources.values() if policy["Type"] == "AWS::IAM::Policy"
                      and {"Ref": role} in policy["Properties"]["Roles"]
                      for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                      if statement["Effect"] == "Allow"]
        actions = {action for statement in statements for action in _actions(statement)}
        function.db_users = {user for statement in statements if "rds-db:connect" in _actions(statement)
                             for user in map(_db_user, _resources(statement)) if user}
        if logical_id in migrations:
            if "rds-db:connect" in actions:
                function.roles.add("migrate_with_iam")
            if "secretsmanager:GetSecretValue" in actions:
                function.roles.add("migrate_with_secret")
        elif "rds-db:connect" in actions:
            function.roles.add("connect")
        if "sqs:SendMessage" in actions:
            function.roles.add("produce")
        if "execute-api:ManageConnections" in actions:
            function.roles.add("broadcast")
        if "codedeploy:PutLifecycleEventHookExecutionStatus" in actions:
            function.roles.add("deploy_hook")
        functions.append(function)
    return functions


@pytest.fixture(scope="module")
def functions(request: pytest.FixtureRequest, topology_service: Callable[[str], SynthesizedService]
              ) -> list[RuntimeFunction]:
    """The runtime's functions in every variant, from the session's synthesized apps."""
    found = []
    for variant in VARIANTS:
        service = topology_service(variant) if variant in ("direct", "express") else request.getfixturevalue(variant)
        for stages in service.all_stages:
            found.extend(runtime_functions(variant, service.template_json(stages.stateless)))
    return found


def string_values(variables: dict[str, Any]) -> dict[str, str]:
    """The environment with each deploy-time value (a reference) replaced by a placeholder string."""
    return {name: value if isinstance(value, str) else "resolved-at-deploy-time" for name, value in variables.items()}


# -- the synthesized functions against the runtime --------------------------------------------------

def test_every_variable_a_construct_sets_is_named_in_the_contract_and_read_by_the_runtime(
        functions: list[RuntimeFunction]) -> None:
    # GIVEN each runtime function of each variant WHEN Config reads its environment
    unread = []
    for function in functions:
        read = config_reads(string_values(function.environment))
        for name in function.environment:
            # THEN each variable is one of the contract's, and Config reads it (or the contract marks it app-level)
            if name not in ALL_NAMES or (name not in read and name not in environment.APP_LEVEL):
                unread.append(f"{function}: {name}")
    assert not unread, "set but never read by the runtime:\n" + "\n".join(unread)


def test_every_function_has_what_the_runtime_needs_for_its_roles(functions: list[RuntimeFunction]) -> None:
    missing = []
    for function in functions:
        for role in sorted(function.roles):
            missing += [f"{function}: {name} ({role})" for name in environment.REQUIRED_BY_ROLE[role]
                        if name not in function.environment]
    assert not missing, "needed by the runtime but not set:\n" + "\n".join(missing)


def test_the_database_user_is_the_one_the_role_may_log_in_as(functions: list[RuntimeFunction]) -> None:
    # GIVEN each function that logs in with IAM THEN the user it names is one its role may connect as
    for function in functions:
        if "connect" in function.roles:
            assert function.environment[environment.DB_USER] in function.db_users, str(function)
        if "migrate_with_iam" in function.roles:
            assert function.environment[environment.DB_ADMIN_USER] in function.db_users, str(function)


def test_every_variant_and_every_role_is_checked(functions: list[RuntimeFunction]) -> None:
    # the comparisons above are not vacuous: each variant has its functions, and each role is met
    assert {function.variant for function in functions} == set(VARIANTS)
    assert {role for function in functions for role in function.roles} == set(environment.REQUIRED_BY_ROLE)
    assert {(f.variant, f.logical_id.split("Function")[0]) for f in functions if "connect" in f.roles} >= {
        (variant, "Api") for variant in VARIANTS}
    assert any(environment.DB_ON_PAUSE in f.environment for f in functions)  # the auto-pausing topologies


# -- the contract module ----------------------------------------------------------------------------

def test_config_reads_every_runtime_variable_and_lambdas_own_but_the_credentials() -> None:
    # GIVEN an empty environment (every variable takes its default) WHEN Config reads it
    read = config_reads()
    # THEN it read exactly the contract's variables, the credentials aside (the signer reads those)
    assert read == environment.RUNTIME | (environment.SET_BY_LAMBDA - set(environment.CREDENTIALS))


def test_the_signer_reads_the_credentials_by_the_contracts_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from lambda_src.aws import Credentials

    recording = RecordingEnvironment({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                                      "AWS_SESSION_TOKEN": "token"})
    # the signer's module sees the recording as its os.environ (the process's own stays as it is)
    monkeypatch.setitem(Credentials.from_environment.__func__.__globals__, "os", SimpleNamespace(environ=recording))
    credentials = Credentials.from_environment()
    assert recording.read == set(environment.CREDENTIALS)
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIDEXAMPLE", "secret", "token")


def test_each_roles_requirements_are_runtime_variables() -> None:
    for role, names in environment.REQUIRED_BY_ROLE.items():
        assert set(names) <= environment.RUNTIME, role


def test_every_name_is_a_constant_of_its_own_value_and_documented() -> None:
    constants = {name: value for name, value in vars(environment).items() if re.fullmatch(r"[A-Z][A-Z0-9_]+", name)
                 and isinstance(value, str)}
    assert all(name == value for name, value in constants.items())
    assert set(constants) == ALL_NAMES
    assert set(re.findall(r"``([A-Z][A-Z0-9_]+)``", environment.__doc__ or "")) == ALL_NAMES
    assert not (environment.RUNTIME & environment.SET_BY_LAMBDA) and not (environment.APP_LEVEL & environment.RUNTIME)


def test_the_constructs_carry_the_runtimes_contract_file() -> None:
    link = PROJECT / "constructs_lib" / "runtime_environment.py"
    assert link.is_symlink() and link.resolve() == (PROJECT / "lambda_src" / "environment.py").resolve()


# -- no name written twice ------------------------------------------------------------------------

def _docstrings(tree: ast.AST) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def name_literals(path: Path) -> list[str]:
    """Where ``path`` writes a variable's name as a string (docstrings aside), or calls
    ``add_environment`` with a literal name."""
    tree = ast.parse(path.read_text())
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ALL_NAMES
                and id(node) not in docstrings):
            found.append(f"{path}:{node.lineno}: {node.value!r}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_environment"
                and node.args and isinstance(node.args[0], ast.Constant)):
            found.append(f"{path}:{node.lineno}: add_environment({node.args[0].value!r}, …)")
    return found


def test_the_constructs_and_the_example_stacks_set_variables_by_the_contracts_names() -> None:
    sources = [path for folder in ("constructs_lib", "stacks") for path in (PROJECT / folder).rglob("*.py")
               if not path.is_symlink()]
    assert len(sources) > 30
    assert [literal for path in sources for literal in name_literals(path)] == []


def test_a_literal_name_is_found(tmp_path: Path) -> None:
    # the scan above would see a construct that writes the name itself
    module = tmp_path / "construct.py"
    module.write_text('def wire(function, host):\n    """Sets ``DB_HOST``."""\n'
                      '    function.add_environment("DB_HOSTNAME", host)\n    return {"QUEUE_URL": 1}\n')
    assert sorted(line.split(": ", 1)[1] for line in name_literals(module)) == [
        "'QUEUE_URL'", "add_environment('DB_HOSTNAME', …)"]


def _reads_environment(node: ast.AST) -> bool:
    return ((isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"))
            or (isinstance(node, ast.Name) and node.id in ("environ", "getenv")))


def test_the_runtime_reads_the_environment_in_config_alone() -> None:
    # GIVEN every runtime module (the example service is an app on it, not the runtime)
    package = PROJECT / "lambda_src"
    offenders = []
    for path in package.rglob("*.py"):
        if "example" in path.relative_to(package).parts or path.name == "config.py":
            continue
        tree = ast.parse(path.read_text())
        allowed = {id(node) for function in ast.walk(tree)
                   if isinstance(function, ast.FunctionDef) and function.name == "from_environment"  # the credentials
                   for node in ast.walk(function)}
        offenders += [f"{path.relative_to(PROJECT)}:{node.lineno}" for node in ast.walk(tree)
                      if _reads_environment(node) and id(node) not in allowed]
    # THEN only Config reads it (and the signer, the credentials, by the contract's names)
    assert offenders == []
