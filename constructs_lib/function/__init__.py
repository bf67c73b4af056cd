"""The Python Lambda function construct and its defaults."""
from . import defaults
from .construct import ServerlessFunction

__all__ = ["ServerlessFunction", "defaults"]
