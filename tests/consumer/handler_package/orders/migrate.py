"""The orders migrations at deploy time: ``orders.migrate.handler`` (``python -m lambda_src.migrate`` locally)."""
from pathlib import Path

from lambda_src.migrate import handler_for

handler = handler_for(Path(__file__).resolve().parent / "migrations")
