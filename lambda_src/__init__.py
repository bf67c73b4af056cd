"""The handler runtime of cdk-serverless-postgres: a library for Lambda functions on PostgreSQL.

It knows nothing of any one application; the example service in ``lambda_src/example/`` uses it
as any other package would (bundled as the package ``example``, the runtime installed from its
``requirements.txt``). What it offers:

* :mod:`lambda_src.web`: the HTTP app (``HttpApp``), router, request/response, validation, callers
* :mod:`lambda_src.errors`: HTTP errors keyed to status
* :mod:`lambda_src.db`: the connection (IAM tokens, TLS, deadlines), ``DatabaseUnavailable``
* :mod:`lambda_src.batch`: ``BatchProcessor`` for SQS (partial failures, FIFO, idempotency)
* :mod:`lambda_src.schedule`: scheduled jobs run once per scheduled time
* :mod:`lambda_src.migrate`: the migrations runner (``handler``, or ``handler_for(directory)``)
* :mod:`lambda_src.websocket` / :mod:`lambda_src.realtime`: the WebSocket app, channels and broadcast
* :mod:`lambda_src.log`: JSON logs with redaction; :mod:`lambda_src.config`: the environment

Importing the package is cheap: the database driver is imported only when a connection opens,
and boto3 never on the request path.
"""
