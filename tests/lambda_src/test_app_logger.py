"""An app built on the runtime logs under its own name, with the runtime's JSON format and redaction.

``lambda_src.log.get_logger("orders")`` gives the app a logger set up as the runtime's own: JSON
lines outside Lambda (our formatter), the redacting filter whatever formatter writes the record
(the Lambda runtime's own JSON formatter on Lambda), ``LOG_LEVEL``. The runtime keeps logging under
``lambda_src``.
"""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from awslambdaric.lambda_runtime_log_utils import JsonFormatter as LambdaRuntimeFormatter

from tests.cdk_helpers import PROJECT

PASSWORD = "hunter2-orders"
SCRIPT = f"""
from lambda_src.log import get_logger, logger
orders = get_logger("orders")
orders.warning("charge failed for postgresql://orders_app:{PASSWORD}@db.internal/app",
               extra={{"orderId": 7, "apiKey": "k-{PASSWORD}"}})
orders.debug("not at INFO")
logger.info("runtime line")
"""


def run_script(**env: str) -> list[dict]:
    """The JSON lines ``SCRIPT`` writes to stderr, run as a fresh process outside Lambda."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("AWS_LAMBDA_", "LOG_LEVEL"))}
    environment.update(PYTHONPATH=str(PROJECT), **env)
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60,
                            env=environment, cwd=PROJECT)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stderr.splitlines()]


def test_an_apps_logger_writes_redacted_json_under_its_own_name() -> None:
    # GIVEN an app that logs through get_logger("orders") outside Lambda, at the default level
    # WHEN it logs a line carrying a password, and the runtime logs one of its own
    orders, runtime = run_script()
    # THEN the app's record is a JSON line under its name, message and extra fields redacted
    assert orders["logger"] == "orders" and orders["level"] == "WARNING"
    assert PASSWORD not in json.dumps(orders)
    assert orders["message"] == "charge failed for postgresql://orders_app:[REDACTED]@db.internal/app"
    assert orders["orderId"] == 7 and orders["apiKey"] == "[REDACTED]"
    # AND the runtime's record stays under the runtime's logger; the debug line is below INFO
    assert (runtime["logger"], runtime["message"]) == ("lambda_src", "runtime line")


def test_log_level_applies_to_the_apps_logger() -> None:
    # GIVEN LOG_LEVEL=DEBUG WHEN the same app logs THEN its debug line is written too
    lines = run_script(LOG_LEVEL="DEBUG")
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("orders", "WARNING"), ("orders", "DEBUG"), ("lambda_src", "INFO")]


def test_on_lambda_the_runtimes_formatter_writes_the_apps_records_redacted() -> None:
    # GIVEN an app's logger as on Lambda, where the Lambda runtime's own JSON formatter writes records
    from lambda_src.log import get_logger

    name = "orders_on_lambda"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LambdaRuntimeFormatter())
    logging.getLogger(name).addHandler(handler)
    try:
        # WHEN the app logs an error whose message carries a token
        try:
            raise RuntimeError(f"token rejected: db:5432/?Action=connect&X-Amz-Signature={PASSWORD}")
        except RuntimeError:
            get_logger(name).exception("payment provider call failed")
    finally:
        logging.getLogger(name).removeHandler(handler)
    # THEN the line (message, exception and traceback) names the app's logger and holds no secret
    line = stream.getvalue()
    assert PASSWORD not in line and "[REDACTED]" in line, line
    record = json.loads(line)
    assert record["logger"] == name and record["message"] == "payment provider call failed"


@pytest.mark.parametrize("name", ["", None, 3])
def test_a_logger_needs_a_name(name: object) -> None:
    from lambda_src.log import get_logger

    # the root logger is not the app's: configuring it would change every library's logging
    with pytest.raises(ValueError, match="non-empty string"):
        get_logger(name)  # type: ignore[arg-type]
