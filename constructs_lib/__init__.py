"""cdk-serverless-postgres: CDK constructs for a PostgreSQL-backed serverless backend on AWS.

Import the constructs from here::

    from constructs_lib import ServerlessFunction, LambdaHttpApi, PythonBundle
"""
from .bundling import PythonBundle
from .errors import InvalidPropError
from .function import ServerlessFunction
from .http_api import LambdaHttpApi

__all__ = ["InvalidPropError", "LambdaHttpApi", "PythonBundle", "ServerlessFunction"]
