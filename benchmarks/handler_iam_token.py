"""IAM token cost: ours beside boto3's generate_db_auth_token, and generations on warm requests.

Targets: per token <= 0.5x boto3; a warm request that reuses its connection mints zero tokens
(measured against the embedded PostgreSQL, connecting through the IAM code path).
"""
from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from _common import interleaved_us, v2_event

HOST, PORT, USER, REGION = "prx.proxy-abc.eu-west-1.rds.amazonaws.com", 5432, "app_user", "eu-west-1"


def per_token() -> tuple[float, float]:
    import boto3

    from lambda_src.db import iam_token
    from lambda_src.aws import Credentials

    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token")
    client = boto3.client("rds", region_name=REGION, aws_access_key_id=credentials.access_key,
                          aws_secret_access_key=credentials.secret_key, aws_session_token=credentials.token)
    timings = interleaved_us({
        "ours": lambda: iam_token.generate(host=HOST, port=PORT, user=USER, region=REGION, credentials=credentials,
                                           now=datetime.now(timezone.utc)),
        "boto3": lambda: client.generate_db_auth_token(HOST, PORT, USER)}, number=1000)
    return timings["ours"], timings["boto3"]


def warm_request_generations(requests: int = 1000) -> int:
    from pathlib import Path

    from lambda_src import config
    from lambda_src.example import http
    from lambda_src.db import connection
    from devtools.database import embedded_server
    from lambda_src.example.migrate import migrate

    url = embedded_server(Path(tempfile.mkdtemp(prefix="bench-pg-"))).get_uri()
    migrate(url)
    parts = urlsplit(url)
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(DB_HOST=parse_qs(parts.query)["host"][0], DB_NAME=parts.path.lstrip("/") or "postgres",
                      DB_USER="app_user", AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                      AWS_SESSION_TOKEN="token")
    config.reload()
    connection.reset()
    event = v2_event("GET", "/health")
    assert http.handler(event, None)["statusCode"] == 200  # cold: opens the connection, mints one token
    before = connection.tokens.generations
    for _ in range(requests):
        http.handler(event, None)
    return connection.tokens.generations - before


def main() -> None:
    ours, theirs = per_token()
    print(f"{'measure':<52}{'ours':>9}{'boto3':>9}  ratio")
    print(f"{'IAM token, per token (us)':<52}{ours:>9.1f}{theirs:>9.1f}  {ours / theirs:.2f}x  target <= 0.50x")
    print(f"{'IAM tokens minted over 1,000 warm requests':<52}{warm_request_generations():>9d}{'':>9}  target 0")


if __name__ == "__main__":
    main()
