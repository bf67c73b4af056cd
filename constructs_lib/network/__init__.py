"""The service VPC construct and its defaults."""
from . import defaults
from .construct import ServiceNetwork

__all__ = ["ServiceNetwork", "defaults"]
