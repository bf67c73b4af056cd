"""The work queue and queue worker constructs, and their defaults."""
from . import defaults
from .construct import QueueWorker, WorkQueue

__all__ = ["QueueWorker", "WorkQueue", "defaults"]
