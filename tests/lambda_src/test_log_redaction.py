"""Secrets inside exceptions never reach a log line: messages, tracebacks, chained causes, both formatters.

Each test emits through the package logger (its :class:`RedactingFilter` is what runs in Lambda)
into a handler with the formatter a deployment uses: ours outside Lambda, and the Lambda runtime's
own JSON formatter (``awslambdaric``), which reads the exception object, not the formatted text.
"""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from awslambdaric.lambda_runtime_log_utils import JsonFormatter as LambdaRuntimeFormatter

from lambda_src import log_setup
from lambda_src.log import logger
from lambda_src.web.router import HttpApp
from tests.lambda_src.conftest import FakeContext
from tests.lambda_src.events import v2

SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
PASSWORD = "hunter2"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr%2F%2Fsession%2Btoken%2F%3D"
#: (secret, the text around it in an exception message)
SECRETS = [
    ("hunter2pw", "connection to postgresql://app_user:hunter2pw@db.internal:5432/app failed"),
    ("s3cr3t-dsn", "invalid dsn: host=h user=u password=s3cr3t-dsn dbname=app"),
    ("quoted secret", "invalid dsn: host=h password='quoted secret' dbname=app"),
    ("hunter3", "bad settings {'user': 'app', 'password': 'hunter3'}"),
    (SIGNATURE, f"token rejected: db:5432/?Action=connect&X-Amz-Signature={SIGNATURE}&X-Amz-Date=20260101T000000Z"),
    (SESSION_TOKEN, f"token rejected: db:5432/?Action=connect&X-Amz-Security-Token={SESSION_TOKEN}&X-Amz-Expires=900"),
    ("AKIDEXAMPLE", "403 for AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sqs/aws4_request, "
                    f"SignedHeaders=host;x-amz-date, Signature={SIGNATURE}"),
    ("Bearer-abc.def", "401 with {'authorization': 'Bearer Bearer-abc.def'}"),
]
FORMATTERS = {"ours": log_setup.JsonFormatter, "lambda runtime": LambdaRuntimeFormatter}


@pytest.fixture(params=sorted(FORMATTERS))
def emitted(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the package logger writes, through the given formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(FORMATTERS[request.param]())
    package_logger = logging.getLogger(log_setup.LOGGER_NAME)
    package_logger.addHandler(handler)
    try:
        yield stream
    finally:
        package_logger.removeHandler(handler)


def fail(message: str) -> None:
    raise RuntimeError(message)


@pytest.mark.parametrize(("secret", "message"), SECRETS, ids=[m.split(" ")[0] + "-" + s[:8] for s, m in SECRETS])
def test_logger_exception_redacts_the_exception_message(emitted: io.StringIO, secret: str, message: str) -> None:
    # GIVEN an exception whose message carries a secret
    try:
        fail(message)
    except RuntimeError:
        # WHEN it is logged with its traceback
        logger.exception("request failed")
    line = emitted.getvalue()
    # THEN the secret is not in the line, but the error still is: its type, where it was raised
    assert secret not in line, line
    assert log_setup.REDACTED in line and "RuntimeError" in line and "fail" in line
    json.loads(line)


def test_chained_causes_and_exc_info_on_a_warning_are_redacted(emitted: io.StringIO) -> None:
    # GIVEN an error raised from one carrying a password, logged as a warning with exc_info (as users.py does)
    try:
        try:
            fail("password=hunter2 rejected")
        except RuntimeError as error:
            raise ValueError(f"retry failed after X-Amz-Signature={SIGNATURE}") from error
    except ValueError:
        logger.warning("publishing deferred", exc_info=True)
    line = emitted.getvalue()
    # THEN neither the cause's password nor the signature is there
    assert "hunter2" not in line and SIGNATURE not in line, line
    assert "ValueError" in line


def test_an_exception_passed_as_an_extra_field_is_redacted(emitted: io.StringIO) -> None:
    logger.warning("failed", extra={"error": RuntimeError("postgresql://u:hunter2@h/db")})
    assert "hunter2" not in emitted.getvalue()


def test_the_adapter_logs_an_unhandled_error_without_its_secrets(emitted: io.StringIO) -> None:
    # GIVEN a route that fails with the DSN and an IAM token in its exception (not in its source
    # line: the Lambda runtime prints the frames' code as it is)
    app = HttpApp()
    dsn = f"postgresql://app_user:{PASSWORD}@proxy:5432/app"

    @app.route("GET", "/boom")
    def boom(request: object) -> None:
        raise ConnectionError(f"{dsn}?X-Amz-Signature={SIGNATURE}&X-Amz-Security-Token={SESSION_TOKEN}")

    # WHEN a request reaches it
    response = app(v2("GET", "/boom"), FakeContext(request_id="r-redact"))
    # THEN the client gets a bare 500, and the log line names the error without a secret
    assert response["statusCode"] == 500
    line = emitted.getvalue()
    for secret in (PASSWORD, SIGNATURE, SESSION_TOKEN):
        assert secret not in line, line
    assert "ConnectionError" in line and "/boom" in line


class TestEscapingExceptions:
    """The Lambda runtime logs an exception that escapes a handler itself, outside our filter."""

    SECRET = "postgresql://app:s3cret-pw@db.example/app"
    SIGNATURE = "X-Amz-Signature=" + "ab" * 32

    def test_an_exception_escaping_a_wrapped_handler_reaches_the_runtime_redacted(self) -> None:
        from lambda_src.log import redacted_errors

        @redacted_errors
        def handler(event, context):  # type: ignore[no-untyped-def]
            try:
                raise ValueError(f"inner {self.SECRET}")
            except ValueError as inner:
                raise RuntimeError(f"connect to {self.SECRET} failed; {self.SIGNATURE}") from inner

        # WHEN it raises THEN what the runtime gets has the type's name, a redacted message and no chain
        with pytest.raises(Exception) as raised:
            handler({}, None)
        assert type(raised.value).__name__ == "RuntimeError"
        assert "s3cret-pw" not in str(raised.value) and "ab" * 32 not in str(raised.value)
        assert raised.value.__cause__ is None and raised.value.__suppress_context__

    @pytest.mark.parametrize("module", ["lambda_src.example.schedule", "lambda_src.example.worker",
                                        "lambda_src.example.websocket", "lambda_src.example.migrate"])
    def test_every_handler_that_lets_exceptions_escape_is_wrapped(self, module: str) -> None:
        import importlib

        handler = importlib.import_module(module).handler
        assert hasattr(handler, "__wrapped__"), f"{module}.handler would hand the runtime unredacted exceptions"
