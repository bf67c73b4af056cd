"""Stacks of the example service. Stacks only compose constructs from ``constructs_lib``."""
from .service import ServiceStacks, build_service
from .stateful_stack import StatefulStack
from .stateless_stack import StatelessStack

__all__ = ["ServiceStacks", "StatefulStack", "StatelessStack", "build_service"]
