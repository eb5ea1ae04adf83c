"""The one shape of a service's composition root (``inject.py``; docs/adr/0027).

``Container(settings, *, overrides)`` parses configuration and nothing more: a bad setting fails
before anything opens. ``start()`` runs the service's ``_open(stack)``, which builds the object
graph in dependency order and pushes each resource's close onto ``stack`` right after opening
it. A failure halfway unwinds what had started; ``stop()`` unwinds all of it, in reverse. The
same root serves the app's lifespan, the CLI commands and the test fixtures (``async with``).
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import Protocol, Self, TypeVar


class Closable(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Closable)


def close_with(stack: contextlib.AsyncExitStack, client: C) -> C:
    """``client``, closed when ``stack`` unwinds: for what the root makes itself (an override
    passed in by the caller stays the caller's to close)."""
    stack.push_async_callback(client.aclose)
    return client


class CompositionRoot:
    _stack: contextlib.AsyncExitStack | None = None

    async def _open(self, stack: contextlib.AsyncExitStack) -> None:
        raise NotImplementedError

    @property
    def started(self) -> bool:
        return self._stack is not None

    async def start(self) -> None:
        if self._stack is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        stack = contextlib.AsyncExitStack()
        try:
            await self._open(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def stop(self) -> None:
        """Closes what started, last opened first; a second call (or one after a failed start) is a no-op."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
