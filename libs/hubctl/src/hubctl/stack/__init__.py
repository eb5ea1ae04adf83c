"""The local stack without Docker: Postgres, Kafka (KRaft) and Redis under ``<root>/.stack``.

``stack_up`` installs what is missing (apt for Postgres/Redis, Maven Central for the Kafka jars),
starts the three in parallel and waits until each answers; ``stack_down`` stops exactly what it
started. Failures raise :class:`StackError` with one line naming the cause and the log to read.
"""

from hubctl.stack.cli import add_stack_parser, handle_stack
from hubctl.stack.common import StackError, StackPaths, find_repo_root
from hubctl.stack.core import stack_down, stack_status, stack_up

__all__ = [
    "StackError",
    "StackPaths",
    "add_stack_parser",
    "find_repo_root",
    "handle_stack",
    "stack_down",
    "stack_status",
    "stack_up",
]
