"""cdk-serverless-postgres: CDK constructs for a PostgreSQL-backed serverless backend on AWS.

Import the constructs from here::

    from constructs_lib import ServerlessFunction, LambdaHttpApi, PythonBundle
"""
from .api_domain import ApiDomain
from .bundling import PythonBundle
from .database import DatabaseMigrations, ExpressDatabase, ServerlessDatabase
from .errors import InvalidPropError
from .function import ServerlessFunction
from .http_api import LambdaHttpApi
from .monitoring import ServiceMonitoring
from .network import ServiceNetwork
from .queue_worker import QueueWorker, WorkQueue
from .scheduled_task import ScheduledTask
from .websocket_api import LambdaWebSocketApi

__all__ = [
    "ApiDomain",
    "DatabaseMigrations",
    "ExpressDatabase",
    "InvalidPropError",
    "LambdaHttpApi",
    "LambdaWebSocketApi",
    "PythonBundle",
    "QueueWorker",
    "ScheduledTask",
    "ServerlessDatabase",
    "ServerlessFunction",
    "ServiceMonitoring",
    "ServiceNetwork",
    "WorkQueue",
]
