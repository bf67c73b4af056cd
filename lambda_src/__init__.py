"""The handler package deployed with cdk-serverless-postgres.

Entry points (Lambda handler strings):

* ``lambda_src.http.handler``: HTTP (API Gateway HTTP API payload 2.0, REST API payload 1.0, Function URLs)
* ``lambda_src.worker.handler``: SQS batches with partial-failure reporting
* ``lambda_src.schedule.handler``: EventBridge Scheduler / scheduled rules
* ``lambda_src.migrate.handler``: deploy-time migrations (also ``python -m lambda_src.migrate``)

Importing the package is cheap: the database driver is imported only when a connection opens,
and boto3 never on the request path.
"""
