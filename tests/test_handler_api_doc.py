"""docs/handler-api.md runs as written: its Python blocks, in order, against a real PostgreSQL, and what it
says of Powertools holds for the installed Powertools."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cdk_helpers import PROJECT
from tests.lambda_src import pg

PAGE = PROJECT / "docs" / "handler-api.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def page_files(text: str) -> list[tuple[str, str]]:
    """``(path, content)`` of each block marked ``<!-- file: path -->``."""
    return re.findall(r"<!-- file: (\S+) -->\s*```\w*\n(.*?)```", text, re.S)


@pytest.fixture
def fresh_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty directory as the working directory, and the runtime pointed at a new database by
    ``DATABASE_URL`` as a fresh container would be (no IAM endpoint, no WebSocket API)."""
    from lambda_src import config
    from lambda_src.db import connection

    with pg.fresh_database("doc") as dsn:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", dsn)
        for name in ("DB_HOST", "WEBSOCKET_CALLBACK_URL", "QUEUE_URL"):
            monkeypatch.delenv(name, raising=False)
        config.reload()
        connection.reset()
        try:
            yield dsn
        finally:
            connection.reset()
            monkeypatch.undo()
            config.reload()


def test_every_python_block_of_the_page_runs(fresh_container: str) -> None:
    # GIVEN the page's files (its migrations) in an empty directory
    text = PAGE.read_text()
    for path, body in page_files(text):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(body)
    blocks = python_blocks(text)
    assert len(blocks) >= 9
    # WHEN each Python block runs, in order, in one namespace THEN none fails (their asserts hold)
    namespace: dict = {"__name__": "handler_api_doc"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{PAGE.name}, python block {number}", "exec"), namespace)  # noqa: S102
    # AND the work the examples did is in the database
    import psycopg

    with psycopg.connect(fresh_container) as conn:
        assert conn.execute("SELECT item, status FROM orders").fetchall() == [("large teapot", "shipped")]
        assert conn.execute("SELECT count(*) FROM order_messages").fetchone() == (1,)


def test_the_page_covers_each_part_of_the_api() -> None:
    headings = re.findall(r"^## (.+)$", PAGE.read_text(), re.M)
    for part in ("Migrations", "Routes and parameters", "Request and Response", "Errors", "`transaction`",
                 "The batch processor (SQS)", "The schedule helper", "The WebSocket app", "Logging",
                 "Compared with Powertools for AWS Lambda"):
        assert part in headings


def test_the_powertools_names_the_comparison_uses_exist() -> None:
    # GIVEN the comparison table WHEN each Powertools name it cites is looked up THEN the installed release has it
    from aws_lambda_powertools import event_handler
    from aws_lambda_powertools.utilities import batch
    from aws_lambda_powertools.utilities.batch import exceptions

    section = PAGE.read_text().split("## Compared with Powertools", 1)[1]
    for name in ("APIGatewayHttpResolver", "APIGatewayRestResolver", "LambdaFunctionUrlResolver"):
        assert name in section and hasattr(event_handler, name)
    for name in ("BatchProcessor", "process_partial_response", "SqsFifoPartialProcessor"):
        assert name in section and hasattr(batch, name)
    assert "BatchProcessingError" in section and hasattr(exceptions, "BatchProcessingError")


def test_powertools_answers_a_wrong_method_as_the_comparison_says() -> None:
    # GIVEN a Powertools resolver with a GET route WHEN a DELETE reaches its path
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    app = APIGatewayHttpResolver()
    app.get("/orders/<order_id>")(lambda order_id: {"id": order_id})
    event = json.loads((PROJECT / "tests" / "events" / "http_api_v2_get.json").read_text())
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/orders/7"
    event["requestContext"]["http"]["method"] = "DELETE"
    response = app.resolve(event, None)
    # THEN it is the 404 and body the table shows, where ours answers 405 with Allow
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"statusCode": 404, "message": "Not found"}
    assert "| wrong method | 404 `{\"statusCode\": 404, \"message\": \"Not found\"}` | 405 with `Allow` |" in PAGE.read_text()
