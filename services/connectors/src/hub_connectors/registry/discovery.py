"""Plugin discovery through the ``integration_hub.connectors`` entry-point group.

An entry point names a ``BaseConnector`` subclass, e.g. in the plugin's pyproject.toml:

    [project.entry-points."integration_hub.connectors"]
    statuspage = "hub_statuspage:StatuspageConnector"

Importing a plugin runs its code, so the service never does: one discovery process
(``plugin_host/describe.py``, sandboxed and without hub secrets like a plugin worker) imports
them all and reports each one's manifest as data, or why it failed (any exception, even
SystemExit); the service validates that data and keeps where the class is, for its workers. A
failure is recorded against the entry point and the rest load normally; a discovery process that
dies or hangs is recorded once and no plugin is loaded.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Any, Literal

from hub_common.redaction import redact_text
from hub_connector_sdk import BaseConnector
from hub_connectors.plugin_host.launch import command, import_path, readable_paths, scrubbed_env
from hub_connectors.registry.builtins import BUILTINS
from hub_connectors.registry.registry import ConnectorRegistry, DescribedPlugin, PluginRef

DESCRIBE_MODULE = "hub_connectors.plugin_host.describe"
SandboxMode = Literal["auto", "required", "off"]


class DiscoveryFailed(Exception):
    pass


def describe_plugins(
    eps: Iterable[EntryPoint] | None = None, *, sandbox: SandboxMode = "auto", timeout_s: float = 120.0
) -> list[dict[str, Any]]:
    """What the discovery process reports for each entry point (all installed ones by default)."""
    spec = {
        "sys_path": import_path(),
        "read_paths": readable_paths(),
        "sandbox": sandbox,
        "entry_points": [[ep.name, ep.value] for ep in eps] if eps is not None else None,
    }
    try:
        done = subprocess.run(  # noqa: S603 - our own module, with a JSON argument
            command(DESCRIBE_MODULE, json.dumps(spec)),
            env=scrubbed_env(),
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            timeout=timeout_s,
            check=False,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise DiscoveryFailed(f"plugin discovery did not finish within {timeout_s:g}s") from None
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or not isinstance(answer.get("plugins"), list):
        reason = answer.get("fatal") if isinstance(answer, dict) else None
        raise DiscoveryFailed(
            f"plugin discovery failed (exit code {done.returncode}): {reason or 'no answer'}"
        )
    return [p for p in answer["plugins"] if isinstance(p, dict)]


def discover_plugins(
    registry: ConnectorRegistry, eps: Iterable[EntryPoint] | None = None, *, sandbox: SandboxMode = "auto"
) -> None:
    try:
        found = describe_plugins(eps, sandbox=sandbox)
    except DiscoveryFailed as exc:
        registry.report("plugin:*", str(exc))
        return
    candidates: list[tuple[object, str, str | None]] = []
    for item in found:
        name = str(item.get("name"))
        distribution = item.get("distribution") if isinstance(item.get("distribution"), str) else None
        if "error" in item:
            registry.report(f"plugin:{name}", redact_text(str(item["error"])), distribution=distribution)
            continue
        ref = PluginRef(str(item.get("module")), str(item.get("qualname")), item.get("file") or None)
        candidates.append((DescribedPlugin(item.get("manifest") or {}, ref), name, distribution))
    registry.add_plugins(candidates)


def load_registry(
    hub_version: str,
    *,
    builtins: Iterable[type[BaseConnector]] = BUILTINS,
    plugins: bool = True,
    operator_allowlist: Iterable[str] = (),
    sandbox: SandboxMode = "auto",
) -> ConnectorRegistry:
    registry = ConnectorRegistry(hub_version, operator_allowlist=operator_allowlist)
    for connector_class in builtins:
        registry.add_builtin(connector_class)
    if plugins:
        discover_plugins(registry, sandbox=sandbox)
    return registry
