"""stack up / down / status: the three components, in parallel where it helps."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from hubctl.stack import kafka, postgres, redis
from hubctl.stack.common import StackError, StackPaths, cancelled, say, show, stack_lock


@dataclass(frozen=True)
class Component:
    name: str
    up: Callable[[StackPaths], str]
    down: Callable[[StackPaths], str]
    status: Callable[[StackPaths], str]
    purge: Callable[[StackPaths], list[Path]]


# Kafka first: its JVM start (and, on a fresh machine, the jar fetch) is the slowest.
COMPONENTS: tuple[Component, ...] = (
    Component(kafka.NAME, kafka.up, kafka.down, kafka.status, kafka.purge),
    Component(postgres.NAME, postgres.up, postgres.down, postgres.status, postgres.purge),
    Component(redis.NAME, redis.up, redis.down, redis.status, redis.purge),
)


def _timed(fn: Callable[[StackPaths], str], paths: StackPaths) -> tuple[str, float]:
    started = time.monotonic()
    result = fn(paths)
    return result, time.monotonic() - started


Action = Callable[[Component], Callable[[StackPaths], str]]


def _in_parallel(paths: StackPaths, action: Action) -> None:
    """Run one action per component in threads, print a line as each finishes, raise on failure."""
    errors: list[str] = []
    cancelled.clear()
    with ThreadPoolExecutor(max_workers=len(COMPONENTS)) as pool:
        futures: dict[Future[tuple[str, float]], Component] = {
            pool.submit(_timed, action(c), paths): c for c in COMPONENTS
        }
        try:
            for fut in as_completed(futures):
                comp = futures[fut]
                try:
                    message, seconds = fut.result()
                except StackError as exc:
                    errors.append(str(exc))
                    say(f"{comp.name}: failed")
                except OSError as exc:  # permissions, disk full: still one line, no trace
                    errors.append(f"{comp.name}: {exc}")
                    say(f"{comp.name}: failed")
                else:
                    say(f"{comp.name}: {message} ({seconds:.1f}s)")
        except KeyboardInterrupt:
            cancelled.set()  # the waits notice and return; the pool then joins
            say("stack: interrupted; what already started keeps running (`hubctl stack down`)")
            raise
    if errors:
        raise StackError("\n".join(errors))


def stack_up(root: Path) -> None:
    """Install what is missing, start Postgres, Kafka and Redis, wait until each answers."""
    paths = StackPaths(root.resolve())
    paths.ensure()
    with stack_lock(paths):
        _in_parallel(paths, lambda c: c.up)


def stack_down(root: Path, purge: bool = False) -> None:
    """Stop what ``stack_up`` started (data kept unless ``purge``)."""
    paths = StackPaths(root.resolve())
    paths.ensure()
    with stack_lock(paths):
        _in_parallel(paths, lambda c: c.down)
        if purge:
            for comp in COMPONENTS:
                deleted = ", ".join(show(p) for p in comp.purge(paths))
                say(f"{comp.name}: data deleted ({deleted})")


def stack_status(root: Path) -> dict[str, str]:
    """Component name -> 'running (pid N) on ADDR' / 'stopped' (or a starting/taken variant)."""
    paths = StackPaths(root.resolve())
    return {c.name: c.status(paths) for c in COMPONENTS}
