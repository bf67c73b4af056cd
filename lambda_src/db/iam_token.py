"""RDS IAM authentication tokens, presigned locally and cached until shortly before they expire."""
from __future__ import annotations

import time

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

if TYPE_CHECKING:
    from ..aws import Credentials

#: Tokens are valid for 15 minutes; one is reused until this many seconds before that.
TOKEN_LIFETIME_SECONDS = 900
REFRESH_MARGIN_SECONDS = 60


def generate(*, host: str, port: int, user: str, region: str, credentials: Credentials, now: datetime) -> str:
    """The token ``boto3.client("rds").generate_db_auth_token`` would return, byte for byte."""
    from ..aws import presign_query  # hashlib/hmac load only when a token is minted

    endpoint = f"{host}:{port}"
    query = presign_query(host=endpoint, method="GET", path="/", params=[("Action", "connect"), ("DBUser", user)],
                          service="rds-db", region=region, credentials=credentials, now=now,
                          expires=TOKEN_LIFETIME_SECONDS)
    return f"{endpoint}/?{query}"


class TokenCache:
    """One token per (host, port, user, access key), regenerated only near expiry.

    ``clock`` returns epoch seconds; tests freeze it. ``generations`` counts tokens minted.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.generations = 0
        self._tokens: dict[tuple[str, int, str, str], tuple[str, float]] = {}

    def get(self, *, host: str, port: int, user: str, region: str, credentials: Credentials) -> str:
        key = (host, port, user, credentials.access_key)
        now = self.clock()
        cached = self._tokens.get(key)
        if cached and now < cached[1]:
            return cached[0]
        from datetime import datetime, timezone

        token = generate(host=host, port=port, user=user, region=region, credentials=credentials,
                         now=datetime.fromtimestamp(now, tz=timezone.utc))
        self.generations += 1
        self._tokens[key] = (token, now + TOKEN_LIFETIME_SECONDS - REFRESH_MARGIN_SECONDS)
        return token

    def clear(self) -> None:
        self._tokens.clear()
