"""The WebSocket API construct and its defaults."""
from . import defaults
from .construct import LambdaWebSocketApi

__all__ = ["LambdaWebSocketApi", "defaults"]
