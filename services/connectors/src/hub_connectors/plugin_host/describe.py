"""Plugin discovery out of the service: import every installed plugin, report its manifest.

Run once at start-up by the connectors service (``registry/discovery.py``) as
``python -I -m hub_connectors.plugin_host.describe <spec JSON>``, like a worker: an environment
without hub secrets, in ``/``, locked into Landlock (no TCP at all here) before any plugin is
imported, so a plugin's module-level code never runs in the service. Writes one JSON line: for
each entry point of ``integration_hub.connectors`` either the class's location and manifest (as
data, which the service validates) or why it could not be loaded.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from hub_connector_sdk import ENTRY_POINT_GROUP, BaseConnector, ManifestError
from hub_connectors.plugin_host import sandbox
from hub_connectors.plugin_host.worker import describe


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) if dist is not None else None


def _module_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(sys.modules[cls.__module__])
    except (KeyError, TypeError):
        return None


def one(ep: EntryPoint) -> dict[str, Any]:
    found: dict[str, Any] = {"name": ep.name, "distribution": _distribution(ep)}
    try:
        candidate = ep.load()
    except BaseException as exc:
        return {**found, "error": f"import failed ({ep.value}): {describe(exc)}"}
    if not (isinstance(candidate, type) and issubclass(candidate, BaseConnector)):
        return {**found, "error": f"{ep.value} is not a BaseConnector subclass"}
    try:
        manifest = candidate.manifest()
    except ManifestError as exc:
        return {**found, "error": f"invalid manifest: {exc.message}"}
    except BaseException as exc:
        return {**found, "error": f"manifest failed: {describe(exc)}"}
    return {
        **found,
        "module": candidate.__module__,
        "qualname": candidate.__qualname__,
        "file": _module_file(candidate),
        "manifest": manifest.model_dump(mode="json"),
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    sys.path[:] = spec["sys_path"]
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a plugin's prints go to stderr
    sys.stdout = sys.stderr
    os.chdir("/")
    mode = "none"
    if spec["sandbox"] != "off":
        try:
            mode = f"landlock-v{sandbox.apply(sandbox.Policy(tuple(spec['read_paths']), ()))}"
        except sandbox.SandboxError as exc:
            if spec["sandbox"] == "required":
                answers.write(json.dumps({"sandbox": "none", "fatal": str(exc)}) + "\n")
                raise SystemExit(2) from None
    listed = spec.get("entry_points")
    eps = (
        [EntryPoint(name, value, ENTRY_POINT_GROUP) for name, value in listed]
        if listed is not None
        else list(entry_points(group=ENTRY_POINT_GROUP))
    )
    plugins = [one(ep) for ep in sorted(eps, key=lambda e: e.name)]
    answers.write(json.dumps({"sandbox": mode, "plugins": plugins}) + "\n")
    answers.flush()


if __name__ == "__main__":
    main()
