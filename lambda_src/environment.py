"""The environment contract between the constructs and the handler runtime: every variable's name,
meaning and default, in one place.

The runtime reads these through :class:`lambda_src.config.Config` only. The construct library
carries this very file as ``constructs_lib.runtime_environment`` (a symlink in the repository, a
copy in its wheel) and sets the variables by these names, so a name cannot drift between the side
that writes it and the side that reads it. Standard library only, and nothing at import time: the
runtime imports it in every cold start.

Set by the constructs (or by you, where no construct does):

==============================  ============================================================  ==============
variable                        meaning                                                       default
==============================  ============================================================  ==============
``DATABASE_URL``                password DSN; overrides IAM auth (local development, tests)    unset
``DB_HOST``/``DB_PORT``         endpoint (the RDS Proxy, or the cluster without one)          -, 5432
``DB_NAME``/``DB_USER``         database, and the IAM-authenticated application user          app, app_user
``DB_ON_PAUSE``                 while an auto-paused database resumes: ``wait`` (all the      unset: never
                                time left) or ``unavailable`` (HTTP: 503 + Retry-After)       pauses
``DB_CONNECT_TIMEOUT``          seconds, further capped by the invocation's time left         3
``DB_TRANSACTION_TIMEOUT``      seconds for a transaction whose caller gives no time          5
                                left (with it: that time less a margin for the response)
``DB_SSL_ROOT_CERT``            CA bundle verifying the database's certificate                OS bundle
``MAX_BODY_BYTES``              larger request bodies get a 413                               1 MiB
``QUEUE_URL``                   where events are published; unset: not published              unset
``BASE_PATHS``                  comma-separated custom-domain base paths to strip             none
``LOG_LEVEL``                   level of the ``lambda_src`` logger                            INFO
``WEBSOCKET_CALLBACK_URL``      the WebSocket stage's Management API; unset: no broadcast     unset
``DB_ADMIN_SECRET_ARN``         migrations: admin secret (Secrets Manager)                    -
``DB_ADMIN_HOST``               migrations: cluster endpoint                                  secret's host
``DB_ADMIN_SSL_ROOT_CERT``      migrations: RDS CA bundle; required to connect                -
``DB_ADMIN_IAM``                migrations: the admin logs in with an IAM token (express)     false
``DB_ADMIN_USER``               migrations: that admin user (express)                         -
``DB_MIGRATIONS_DIR``           migrations: the app's migrations (``migrate.handler``)        -
``DB_MIGRATION_USERS``          migrations: JSON, each user to ensure → its privileges        none
``DEPLOY_TARGET_VERSION_ARN``   pre-traffic hook: the version to test                         required
``SMOKE_METHOD``                pre-traffic hook: HTTP method of the smoke request            GET
``SMOKE_PATH``                  pre-traffic hook: path of the smoke request (a public route)  /health
``SMOKE_EXPECT_STATUS``         pre-traffic hook: the status that passes                      200
==============================  ============================================================  ==============

Set by Lambda (or the operating system), read by the runtime:

==================================  ========================================================  ===========
variable                            meaning                                                   default
==================================  ========================================================  ===========
``AWS_REGION``                      signing region (IAM tokens, SQS, the Management API)      ``AWS_DEFAULT_REGION``,
                                                                                              us-east-1
``AWS_LAMBDA_INITIALIZATION_TYPE``  ``snap-start`` registers the SnapStart hook               -
``AWS_LAMBDA_LOG_FORMAT``           set: Lambda formats the logs; unset: a JSON handler       unset
``AWS_ACCESS_KEY_ID``               the execution role's credentials: the signer reads them   required
``AWS_SECRET_ACCESS_KEY``           at each signature (secrets, kept out of Config)           to sign
``AWS_SESSION_TOKEN``                                                                         unset
``SSL_CERT_FILE``                   OpenSSL's CA bundle, tried before the OS bundles          unset
==================================  ========================================================  ===========

Set by the example service for itself, read by no runtime code: ``STAGE`` (the deployment stage).
"""
from __future__ import annotations

# -- set by the constructs, read by Config -------------------------------------------------------
DATABASE_URL = "DATABASE_URL"
DB_HOST = "DB_HOST"
DB_PORT = "DB_PORT"
DB_NAME = "DB_NAME"
DB_USER = "DB_USER"
DB_ON_PAUSE = "DB_ON_PAUSE"
DB_CONNECT_TIMEOUT = "DB_CONNECT_TIMEOUT"
DB_TRANSACTION_TIMEOUT = "DB_TRANSACTION_TIMEOUT"
DB_SSL_ROOT_CERT = "DB_SSL_ROOT_CERT"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
QUEUE_URL = "QUEUE_URL"
BASE_PATHS = "BASE_PATHS"
LOG_LEVEL = "LOG_LEVEL"
WEBSOCKET_CALLBACK_URL = "WEBSOCKET_CALLBACK_URL"
DB_ADMIN_SECRET_ARN = "DB_ADMIN_SECRET_ARN"
DB_ADMIN_HOST = "DB_ADMIN_HOST"
DB_ADMIN_SSL_ROOT_CERT = "DB_ADMIN_SSL_ROOT_CERT"
DB_ADMIN_IAM = "DB_ADMIN_IAM"
DB_ADMIN_USER = "DB_ADMIN_USER"
DB_MIGRATIONS_DIR = "DB_MIGRATIONS_DIR"
DB_MIGRATION_USERS = "DB_MIGRATION_USERS"
DEPLOY_TARGET_VERSION_ARN = "DEPLOY_TARGET_VERSION_ARN"
SMOKE_METHOD = "SMOKE_METHOD"
SMOKE_PATH = "SMOKE_PATH"
SMOKE_EXPECT_STATUS = "SMOKE_EXPECT_STATUS"

# -- set by Lambda or the operating system -------------------------------------------------------
AWS_REGION = "AWS_REGION"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"
AWS_LAMBDA_INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
AWS_LAMBDA_LOG_FORMAT = "AWS_LAMBDA_LOG_FORMAT"
AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"
SSL_CERT_FILE = "SSL_CERT_FILE"

# -- set by the example service for itself -------------------------------------------------------
STAGE = "STAGE"

#: What a deployment may set for the runtime to read (by the constructs, or by the app itself).
RUNTIME = frozenset({
    DATABASE_URL, DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_ON_PAUSE, DB_CONNECT_TIMEOUT, DB_TRANSACTION_TIMEOUT,
    DB_SSL_ROOT_CERT, MAX_BODY_BYTES, QUEUE_URL, BASE_PATHS, LOG_LEVEL, WEBSOCKET_CALLBACK_URL,
    DB_ADMIN_SECRET_ARN, DB_ADMIN_HOST, DB_ADMIN_SSL_ROOT_CERT, DB_ADMIN_IAM, DB_ADMIN_USER,
    DB_MIGRATIONS_DIR, DB_MIGRATION_USERS, DEPLOY_TARGET_VERSION_ARN, SMOKE_METHOD, SMOKE_PATH, SMOKE_EXPECT_STATUS,
})
#: Lambda's own variables (reserved: a function cannot set them) and the operating system's.
SET_BY_LAMBDA = frozenset({
    AWS_REGION, AWS_DEFAULT_REGION, AWS_LAMBDA_INITIALIZATION_TYPE, AWS_LAMBDA_LOG_FORMAT,
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, SSL_CERT_FILE,
})
#: The execution role's credentials: read by the signer at each signature, never held in Config.
CREDENTIALS = (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
#: Set by an app for its own code; the runtime reads none of them.
APP_LEVEL = frozenset({STAGE})

#: What the runtime needs set for each role a function plays; the construct granting the role sets it.
#: ``connect``: ``grant_connect`` (IAM login as the application user); ``migrate_with_secret`` /
#: ``migrate_with_iam``: ``grant_admin`` (``DatabaseMigrations``) with the admin secret, or as the
#: IAM-authenticated master user of an express cluster; ``produce``: ``grant_send_to`` (a queue);
#: ``broadcast``: ``grant_manage_connections`` (a WebSocket stage); ``deploy_hook``: a
#: ``ServerlessFunction``'s ``pre_traffic_hook``.
REQUIRED_BY_ROLE: dict[str, tuple[str, ...]] = {
    "connect": (DB_HOST, DB_PORT, DB_NAME, DB_USER),
    "migrate_with_secret": (DB_ADMIN_SECRET_ARN, DB_ADMIN_HOST, DB_ADMIN_SSL_ROOT_CERT, DB_PORT, DB_NAME, DB_USER),
    "migrate_with_iam": (DB_ADMIN_IAM, DB_ADMIN_USER, DB_ADMIN_HOST, DB_ADMIN_SSL_ROOT_CERT, DB_PORT, DB_NAME, DB_USER),
    "produce": (QUEUE_URL,),
    "broadcast": (WEBSOCKET_CALLBACK_URL,),
    "deploy_hook": (DEPLOY_TARGET_VERSION_ARN,),
}
