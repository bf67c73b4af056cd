"""RDS IAM tokens (:mod:`lambda_src.db.iam_token`): byte for byte boto3's, minted with the credentials
Lambda puts in the environment, and cached per endpoint, user and access key until near expiry.
(Header signing is held to botocore in ``test_aws.py``.)"""
from __future__ import annotations

import datetime as dt

import pytest

from lambda_src.aws import Credentials
from lambda_src.db import iam_token
from tests.lambda_src.conftest import CREDENTIALS

REGION = CREDENTIALS["AWS_REGION"]


class TestCredentialsFromTheEnvironment:
    def test_a_lambda_roles_session_token_is_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.setenv(key, CREDENTIALS[key])
        credentials = Credentials.from_environment()
        assert (credentials.access_key, credentials.secret_key, credentials.token) == (
            CREDENTIALS["AWS_ACCESS_KEY_ID"], CREDENTIALS["AWS_SECRET_ACCESS_KEY"], CREDENTIALS["AWS_SESSION_TOKEN"])

    def test_an_empty_session_token_is_no_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLONGTERM")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "")
        assert Credentials.from_environment().token is None

    @pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    def test_a_missing_key_is_named(self, monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, CREDENTIALS[key])
        monkeypatch.delenv(missing)
        with pytest.raises(RuntimeError, match=f"AWS credentials are not in the environment \\({missing} missing\\)"):
            Credentials.from_environment()

    def test_the_repr_shows_neither_the_secret_nor_the_token(self) -> None:
        credentials = Credentials("AKIDEXAMPLE", "top-secret", "session-token")
        assert repr(credentials) == "Credentials(access_key=AKID…, token=yes)"
        assert repr(Credentials("AKIDEXAMPLE", "top-secret")) == "Credentials(access_key=AKID…, token=no)"


class TestPresignedToken:
    @pytest.mark.parametrize("token", [CREDENTIALS["AWS_SESSION_TOKEN"], None])
    def test_the_token_is_boto3s_with_and_without_a_session_token(self, token: str | None) -> None:
        import boto3

        client = boto3.client("rds", region_name=REGION, aws_access_key_id="AKIDEXAMPLE",
                              aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                              aws_session_token=token)
        # boto3 first; the token's own X-Amz-Date is the instant ours mints at
        theirs = client.generate_db_auth_token("prx.proxy-abc.eu-west-1.rds.amazonaws.com", 5432, "app_user")
        stamp = theirs.split("X-Amz-Date=")[1].split("&")[0]
        at = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
        ours = iam_token.generate(host="prx.proxy-abc.eu-west-1.rds.amazonaws.com", port=5432, user="app_user",
                                  region=REGION, credentials=Credentials("AKIDEXAMPLE",
                                                                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                                         token), now=at)
        assert ours == theirs
        assert ("X-Amz-Security-Token=" in ours) is (token is not None)


class TestTokenCache:
    """One token per endpoint, user and access key, reused until :data:`REFRESH_MARGIN_SECONDS` before expiry."""

    START = 1_795_348_800.0  # 2026-11-22T12:00:00Z

    @pytest.fixture
    def clock(self) -> list[float]:
        return [self.START]

    @pytest.fixture
    def cache(self, clock: list[float]) -> iam_token.TokenCache:
        return iam_token.TokenCache(clock=lambda: clock[0])

    def get(self, cache: iam_token.TokenCache, credentials: Credentials | None = None, **endpoint: object) -> str:
        where = {"host": "prx.example", "port": 5432, "user": "app_user", **endpoint}
        return cache.get(region=REGION, credentials=credentials or Credentials("AKIDONE", "secret-one"),
                         **where)  # type: ignore[arg-type]

    def test_the_cached_token_is_the_one_minted_at_that_time(self, cache: iam_token.TokenCache) -> None:
        token = self.get(cache)
        assert token == iam_token.generate(host="prx.example", port=5432, user="app_user", region=REGION,
                                           credentials=Credentials("AKIDONE", "secret-one"),
                                           now=dt.datetime.fromtimestamp(self.START, tz=dt.timezone.utc))
        assert self.get(cache) == token and cache.generations == 1

    def test_a_new_token_exactly_at_the_refresh_margin(self, cache: iam_token.TokenCache, clock: list[float]) -> None:
        first = self.get(cache)
        refresh_at = self.START + iam_token.TOKEN_LIFETIME_SECONDS - iam_token.REFRESH_MARGIN_SECONDS
        clock[0] = refresh_at - 1
        assert self.get(cache) == first and cache.generations == 1
        clock[0] = refresh_at
        renewed = self.get(cache)
        assert renewed != first and cache.generations == 2
        assert "X-Amz-Date=20261122T121400Z" in renewed  # minted now, 14 minutes after the first

    def test_rotated_credentials_mint_a_new_token(self, cache: iam_token.TokenCache) -> None:
        # GIVEN a token cached for the role's current credentials
        first = self.get(cache, Credentials("AKIDONE", "secret-one", "token-one"))
        # WHEN Lambda rotates them (a new access key) within the token's life
        rotated = self.get(cache, Credentials("AKIDTWO", "secret-two", "token-two"))
        # THEN the new token is signed with the new key
        assert rotated != first and "AKIDTWO%2F" in rotated and cache.generations == 2

    @pytest.mark.parametrize("endpoint", [{"host": "other.example"}, {"port": 6432}, {"user": "app_admin"}])
    def test_each_endpoint_and_user_has_its_own_token(self, cache: iam_token.TokenCache,
                                                     endpoint: dict[str, object]) -> None:
        first = self.get(cache)
        other = self.get(cache, **endpoint)
        assert other != first and cache.generations == 2
        assert self.get(cache) == first and cache.generations == 2

    def test_clear_forgets_every_token(self, cache: iam_token.TokenCache) -> None:
        self.get(cache)
        cache.clear()
        self.get(cache)
        assert cache.generations == 2
