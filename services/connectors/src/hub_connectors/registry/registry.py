"""``ConnectorRegistry``: the connectors this process hosts, and the ones it refused.

Ids are unique across built-ins and plugins. Built-ins register first, so a plugin reusing a
built-in id is refused; two plugins claiming the same id are both refused (which one wins would
otherwise depend on install order). Nothing here raises for a bad connector: the problem is
recorded, logged and visible through the API, and the service keeps running.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub_common.redaction import redact_text
from hub_connector_sdk import BaseConnector, ConnectorManifest
from hub_connectors.registry.validation import (
    RegistrationError,
    checked_manifest,
    manifest_from_data,
    validated_manifest,
)

log = logging.getLogger(__name__)
MAX_PROBLEM_CHARS = 500


@dataclass(frozen=True)
class PluginRef:
    """Where a plugin worker finds a connector class: by module name, else from its file (a
    class defined in a test suite's conftest)."""

    module: str
    qualname: str
    file: str | None = None

    @classmethod
    def of(cls, connector_class: type[BaseConnector]) -> PluginRef:
        module = sys.modules.get(connector_class.__module__)
        try:
            file = inspect.getsourcefile(module) if module is not None else None
        except TypeError:
            file = None
        return cls(connector_class.__module__, connector_class.__qualname__, file)


@dataclass(frozen=True)
class DescribedPlugin:
    """A plugin as discovery reported it from outside the service: its manifest as data."""

    manifest: dict[str, Any]
    ref: PluginRef


@dataclass(frozen=True)
class RegisteredConnector:
    manifest: ConnectorManifest
    # Built-ins (and connectors a test registers) are classes here; discovered plugins are
    # never imported by the service: only their ``plugin`` reference is kept.
    connector_class: type[BaseConnector] | None
    source: str  # "builtin:<module.Class>" or "plugin:<entry point name>"
    distribution: str | None = None
    plugin: PluginRef | None = None

    @property
    def id(self) -> str:
        return self.manifest.id

    @property
    def ref(self) -> PluginRef:
        if self.plugin is not None:
            return self.plugin
        assert self.connector_class is not None
        return PluginRef.of(self.connector_class)

    @property
    def custom(self) -> bool:
        """Custom (plugin) connectors are Enterprise-only and run isolated."""
        return not self.manifest.builtin


@dataclass(frozen=True)
class LoadProblem:
    source: str
    error: str
    distribution: str | None = None
    connector_id: str | None = None


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


class ConnectorRegistry:
    def __init__(self, hub_version: str, *, operator_allowlist: Iterable[str] = ()) -> None:
        self.hub_version = hub_version
        self.operator_allowlist = tuple(operator_allowlist)
        self._connectors: dict[str, RegisteredConnector] = {}
        self._problems: list[LoadProblem] = []

    # -- loading --------------------------------------------------------------------------------
    def add_builtin(self, connector_class: type[BaseConnector]) -> RegisteredConnector | None:
        return self._add(connector_class, source=f"builtin:{_qualname(connector_class)}", builtin=True)

    def add_plugin(
        self, candidate: object, *, source: str, distribution: str | None = None
    ) -> RegisteredConnector | None:
        return self._add(candidate, source=f"plugin:{source}", builtin=False, distribution=distribution)

    def add_plugins(self, candidates: Iterable[tuple[object, str, str | None]]) -> None:
        """Register several plugins at once, refusing every plugin whose id another one claims."""
        accepted: list[RegisteredConnector] = []
        for candidate, source, distribution in candidates:
            registered = self._validate(candidate, f"plugin:{source}", False, distribution)
            if registered is not None:
                accepted.append(registered)
        claims: dict[str, list[RegisteredConnector]] = {}
        for r in accepted:
            claims.setdefault(r.id, []).append(r)
        for connector_id, group in claims.items():
            if len(group) > 1:
                sources = ", ".join(r.source for r in group)
                for r in group:
                    self.report(
                        r.source,
                        f"duplicate connector id {connector_id!r} (claimed by {sources})",
                        distribution=r.distribution,
                        connector_id=connector_id,
                    )
                continue
            self._insert(group[0])

    def report(
        self, source: str, error: str, *, distribution: str | None = None, connector_id: str | None = None
    ) -> None:
        problem = LoadProblem(source, redact_text(error)[:MAX_PROBLEM_CHARS], distribution, connector_id)
        self._problems.append(problem)
        log.warning(
            "connector not loaded",
            extra={"source": source, "distribution": distribution, "error": problem.error},
        )

    def _add(
        self, candidate: object, *, source: str, builtin: bool, distribution: str | None = None
    ) -> RegisteredConnector | None:
        registered = self._validate(candidate, source, builtin, distribution)
        return self._insert(registered) if registered is not None else None

    def _validate(
        self, candidate: object, source: str, builtin: bool, distribution: str | None
    ) -> RegisteredConnector | None:
        try:
            if isinstance(candidate, DescribedPlugin):
                manifest = checked_manifest(
                    manifest_from_data(candidate.manifest),
                    hub_version=self.hub_version,
                    builtin=builtin,
                    operator_allowlist=self.operator_allowlist,
                )
                return RegisteredConnector(manifest, None, source, distribution, plugin=candidate.ref)
            manifest = validated_manifest(
                candidate,
                hub_version=self.hub_version,
                builtin=builtin,
                operator_allowlist=self.operator_allowlist,
            )
        except RegistrationError as exc:
            self.report(source, str(exc), distribution=distribution)
            return None
        except Exception as exc:  # a plugin's manifest() may fail in any way
            self.report(source, f"manifest failed: {type(exc).__name__}: {exc}", distribution=distribution)
            return None
        assert isinstance(candidate, type) and issubclass(candidate, BaseConnector)
        return RegisteredConnector(manifest, candidate, source, distribution)

    def _insert(self, registered: RegisteredConnector) -> RegisteredConnector | None:
        existing = self._connectors.get(registered.id)
        if existing is not None:
            self.report(
                registered.source,
                f"duplicate connector id {registered.id!r} (already provided by {existing.source})",
                distribution=registered.distribution,
                connector_id=registered.id,
            )
            return None
        self._connectors[registered.id] = registered
        log.info(
            "connector loaded",
            extra={
                "connector_id": registered.id,
                "source": registered.source,
                "version": registered.manifest.version,
            },
        )
        return registered

    # -- queries --------------------------------------------------------------------------------
    def get(self, connector_id: str) -> RegisteredConnector | None:
        return self._connectors.get(connector_id)

    def all(self) -> list[RegisteredConnector]:
        return sorted(self._connectors.values(), key=lambda r: r.id)

    @property
    def problems(self) -> list[LoadProblem]:
        return list(self._problems)
