"""An outside team's handler package on the installed runtime, run under awslambdaric against PostgreSQL.

The package (``handler_package/orders/``: an HTTP API, an SQS worker, a daily job, migrations) lives
outside ``lambda_src`` and imports only the runtime. Its ``requirements.txt`` names the runtime from a
path (``lambda_src[postgres] @ file://…``), and :class:`~constructs_lib.PythonBundle` builds the asset
directory from it, installing the runtime like any other dependency, for this machine's architecture
and Python so it runs here. Each handler then runs in an ``awslambdaric`` process behind the local
Runtime API with that directory as its task root (nothing of this checkout is importable), and
connects as a deployed function does: TLS and an IAM token through the RDS Proxy stand-in, as the
database user the team's migrations created, run by the installed runtime's migrations runner.

Built once per module: the bundle (one pip run, psycopg's wheel from the package index or pip's
cache), the database, the stand-in, one worker process per handler.
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from devtools.iam_login import IamLoginCheck
from devtools.rds_proxy import Attempt, LocalRdsProxy
from devtools.runtime_api import RicWorker
from tests.consumer.runtime import copy_runtime, requirement
from tests.lambda_src import pg
from tests.lambda_src.conftest import CREDENTIALS
from tests.lambda_src.events import body_of, v2

pytestmark = pytest.mark.slow  # a cold bundle build: pip installs the runtime and psycopg (index or pip cache)

PACKAGE = Path(__file__).resolve().parent / "handler_package" / "orders"
#: The functions' database user (DB_USER), logging in with IAM.
APP_USER = "orders_app"
#: Who creates it, and what it may do: the migrations runner, from DB_MIGRATION_USERS (what grant_connect(
#: privileges=...) declares at synth); the package's migrations create only its tables. Every assertion
#: below holds for the user the runner created.
PRIVILEGES = {"orders": ["SELECT", "INSERT", "UPDATE (status)"], "order_messages": ["SELECT", "INSERT"],
              "order_job_runs": ["SELECT", "INSERT", "UPDATE (result)"]}
#: The environment the migrations runner gets besides DATABASE_URL.
RUNNER_ENV = {"DB_USER": APP_USER, "DB_MIGRATION_USERS": json.dumps({APP_USER: PRIVILEGES})}
SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The team's asset directory, built by PythonBundle from the package and its requirements.txt."""
    from aws_cdk import aws_lambda as lambda_

    from constructs_lib import PythonBundle

    work = tmp_path_factory.mktemp("orders-app")
    runtime = copy_runtime(work / "runtime")
    shutil.copytree(PACKAGE, work / "app" / "orders", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "app" / "orders" / "requirements.txt").write_text(requirement(runtime) + "\n")
    architecture = lambda_.Architecture.ARM_64 if platform.machine() in ("aarch64", "arm64") else lambda_.Architecture.X86_64
    built = PythonBundle(source_dir=work / "app" / "orders", architecture=architecture,
                         python_version=f"{sys.version_info.major}.{sys.version_info.minor}",
                         cache_dir=work / "cache", bytecode=False, log=lambda line: None).build()
    assert built.pip_ran
    return built.path


@pytest.fixture(scope="module")
def database(bundle: Path) -> Iterator[str]:
    """A new database migrated with the team's migrations by the installed runtime's runner."""
    with pg.fresh_database("orders") as dsn:
        migrate(bundle, dsn)
        yield dsn


def migrate(bundle: Path, dsn: str) -> None:
    """``python -m lambda_src.migrate orders/migrations`` from the asset directory, as the team runs it locally."""
    migrations = bundle / "orders" / "migrations"
    result = subprocess.run([sys.executable, "-m", "lambda_src.migrate", str(migrations)], cwd=bundle,
                            env={"PYTHONPATH": str(bundle), "DATABASE_URL": dsn, "PATH": "/usr/bin:/bin", **RUNNER_ENV},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    versions = sorted(path.name[:4] for path in migrations.glob("*.sql"))
    assert result.stdout.strip() == f"applied: {', '.join(versions)}", result.stdout


@pytest.fixture(scope="module")
def proxy(database: str) -> Iterator[LocalRdsProxy]:
    login = IamLoginCheck(access_key=CREDENTIALS["AWS_ACCESS_KEY_ID"], secret_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                          session_token=CREDENTIALS["AWS_SESSION_TOKEN"], region=CREDENTIALS["AWS_REGION"])
    with LocalRdsProxy(database, login=login) as stand_in:
        yield stand_in


class Functions:
    """The team's three functions, each an awslambdaric process on the asset directory."""

    def __init__(self, bundle: Path, env: dict[str, str], logs: Path) -> None:
        self.logs = logs
        self.workers = {name: RicWorker(f"orders.{name}.handler", env, task_root=bundle, output=logs)
                        for name in ("http", "worker", "schedule")}

    def invoke(self, name: str, event: dict) -> dict:
        outcome = self.workers[name].invoke(event, TIMEOUT)
        assert outcome.error is None, outcome.error
        return outcome.result

    def log_lines(self) -> list[dict]:
        """The JSON log lines the functions wrote so far (the Lambda runtime's JSON log format)."""
        lines = []
        for line in self.logs.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines


@pytest.fixture(scope="module")
def functions(bundle: Path, database: str, proxy: LocalRdsProxy,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    env = {**CREDENTIALS, "DATABASE_URL": "", "DB_HOST": proxy.host, "DB_PORT": str(proxy.port),
           "DB_NAME": urlsplit(database).path.lstrip("/"), "DB_USER": APP_USER, "DB_SSL_ROOT_CERT": proxy.ca_file,
           "AWS_LAMBDA_LOG_FORMAT": "JSON", "LOG_LEVEL": "INFO"}
    running = Functions(bundle, env, tmp_path_factory.mktemp("logs") / "functions.log")
    yield running
    for worker in running.workers.values():
        worker.close()


def sqs(*bodies: tuple[str, str]) -> dict:
    """An SQS event of ``(message id, body)`` records from a standard queue."""
    return {"Records": [{"messageId": message_id, "body": body, "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:order-events",
                         "attributes": {"ApproximateReceiveCount": "1"}} for message_id, body in bodies]}


def place_order(functions: Functions, item: str) -> int:
    response = functions.invoke("http", v2("POST", "/orders", {"item": item}))
    assert response["statusCode"] == 201, response
    return body_of(response)["id"]


def test_the_bundle_holds_the_installed_runtime_and_the_package(bundle: Path) -> None:
    # THEN pip installed the runtime from the requirements line, as a distribution of its own
    assert (bundle / "lambda_src" / "batch.py").is_file() and (bundle / "psycopg").is_dir()
    [metadata] = bundle.glob("lambda_src-*.dist-info/METADATA")
    assert "Name: lambda_src" in metadata.read_text()
    # AND nothing of the example service came with it; the package ships with its migrations
    assert not (bundle / "lambda_src" / "example").exists()
    assert sorted(p.name for p in (bundle / "orders" / "migrations").glob("*.sql")) == sorted(
        p.name for p in (PACKAGE / "migrations").glob("*.sql"))
    assert not (bundle / "orders" / "requirements.txt").exists()


def test_http_routes_run_on_the_installed_runtime_logging_in_with_iam(functions: Functions, bundle: Path,
                                                                      proxy: LocalRdsProxy) -> None:
    before = len(proxy.attempts)
    # GIVEN the team's API function WHEN a health check, an order and reads arrive
    health = functions.invoke("http", v2("GET", "/health", caller=None))
    order_id = place_order(functions, "teapot")
    found = functions.invoke("http", v2("GET", f"/orders/{order_id}"))
    missing = functions.invoke("http", v2("GET", "/orders/999999"))
    anonymous = functions.invoke("http", v2("GET", f"/orders/{order_id}", caller=None))
    invalid = functions.invoke("http", v2("POST", "/orders", {"item": "", "colour": "red"}))
    # THEN the runtime and its driver came from the asset directory, and the function is the app's user
    status = body_of(health)
    assert health["statusCode"] == 200, health
    assert Path(status["runtime"]).is_relative_to(bundle) and Path(status["driver"]).is_relative_to(bundle)
    assert status["databaseUser"] == APP_USER
    # AND it logged in once, with an IAM token the stand-in verified, over TLS (one connection, reused)
    assert proxy.attempts[before:] == [Attempt("login", APP_USER)]
    # AND the routes answer as the runtime's router does
    assert body_of(found) == {"id": order_id, "item": "teapot", "status": "new"}
    assert (missing["statusCode"], body_of(missing)["error"]["code"]) == (404, "not_found")
    assert (anonymous["statusCode"], body_of(anonymous)["error"]["code"]) == (401, "unauthorized")
    assert invalid["statusCode"] == 422
    assert {d["field"] for d in body_of(invalid)["error"]["details"]} == {"item", "colour"}


def test_the_apps_log_lines_are_json_under_its_own_logger_and_redacted(functions: Functions) -> None:
    # GIVEN a request signed with SigV4, whose headers the team's route logs
    authorization = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/execute-api/aws4_request, "
                     f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}")
    event = v2("POST", "/orders", {"item": "kettle"}, headers={"authorization": authorization})
    # WHEN it places an order
    assert functions.invoke("http", event)["statusCode"] == 201
    # THEN the Lambda runtime wrote the line as JSON (unbuffered, before it posted the response), under the app's logger, with the signature redacted
    signed = [entry for entry in functions.log_lines() if entry.get("logger") == "orders"
              and entry.get("message") == "order created" and "authorization" in entry.get("headers", {})]
    assert signed, functions.logs.read_text()[-3000:]
    assert signed[-1]["headers"]["authorization"] == "[REDACTED]" and isinstance(signed[-1]["orderId"], int)
    assert SIGNATURE not in functions.logs.read_text()


def test_the_queue_worker_reports_exactly_the_failed_records_once(functions: Functions, database: str) -> None:
    # GIVEN two orders and a batch: ship one, a body that is not JSON, an unknown order, ship the other
    first, second = place_order(functions, "cup"), place_order(functions, "saucer")
    batch = sqs(("m-1", json.dumps({"orderId": first})), ("m-2", "not json"),
                ("m-3", json.dumps({"orderId": 987654})), ("m-4", json.dumps({"orderId": second})))
    # WHEN the worker gets it, and then the same batch again (a redelivery)
    result = functions.invoke("worker", batch)
    again = functions.invoke("worker", batch)
    # THEN only the records whose work did not commit are reported, both times
    assert result == again == {"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]}
    # AND the work committed once, with its message ids in the team's idempotency table
    with psycopg.connect(database) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM orders WHERE id IN (%s, %s)", (first, second)).fetchall())
        seen = {row[0] for row in conn.execute("SELECT message_id FROM order_messages")}
    assert statuses == {first: "shipped", second: "shipped"}
    assert {"m-1", "m-4"} <= seen and not {"m-2", "m-3"} & seen


def test_the_daily_job_runs_once_per_scheduled_time(functions: Functions, database: str) -> None:
    # GIVEN a shipped order
    order_id = place_order(functions, "plate")
    functions.invoke("worker", sqs((f"ship-{order_id}", json.dumps({"orderId": order_id}))))
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
             "time": "2026-11-22T03:00:00Z", "detail": {}}
    # WHEN the schedule fires, and fires again for the same time (a retry)
    first = functions.invoke("schedule", event)
    retried = functions.invoke("schedule", event)
    # THEN the job ran once, its result recorded on its run
    with psycopg.connect(database) as conn:
        (shipped,) = conn.execute("SELECT count(*) FROM orders WHERE status = 'shipped'").fetchone()
        runs = conn.execute("SELECT job, result FROM order_job_runs").fetchall()
    assert first == {"shipped": shipped} and shipped >= 1
    assert retried == {"skipped": True}
    assert runs == [("shipped-count", {"shipped": shipped})]

