"""The HTTP API construct and its defaults."""
from . import defaults
from .construct import LambdaHttpApi

__all__ = ["LambdaHttpApi", "defaults"]
