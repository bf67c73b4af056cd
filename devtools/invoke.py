"""``make invoke EVENT=http|sqs|schedule``: send a sample event to the handler and print the result.

The samples are the real-shaped events the tests use (``tests/events/``). The database is the
local one (``DATABASE_URL`` or the embedded server), migrated first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .runtime_api import PROJECT, InProcessWorker

SAMPLES: dict[str, tuple[str, str]] = {
    "http": ("lambda_src.example.http.handler", "http_api_v2_get.json"),
    "http-post": ("lambda_src.example.http.handler", "http_api_v2_post.json"),
    "sqs": ("lambda_src.example.worker.handler", "sqs_batch.json"),
    "schedule": ("lambda_src.example.schedule.handler", "scheduled_event.json"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", choices=sorted(SAMPLES), default="http")
    args = parser.parse_args(argv)
    from .database import local_database_url, migrate

    url, source = local_database_url()
    migrate(url)
    os.environ["DATABASE_URL"] = url
    handler, sample = SAMPLES[args.event]
    event: Any = json.loads((PROJECT / "tests" / "events" / sample).read_text())
    outcome = InProcessWorker(handler).invoke(event, timeout=30)
    print(f"# {handler} <- tests/events/{sample} (database: {source})", file=sys.stderr)
    print(json.dumps(outcome.result if outcome.error is None else {"error": outcome.error}, indent=2))
    return 0 if outcome.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
