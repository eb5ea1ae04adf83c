"""One provider simulator and the hub's services around it: what each connector's e2e module runs.

The simulator learns the hub's OAuth callback (the oauth service's port is fixed first) and
its personal tokens; the hub allows outbound calls to 127.0.0.1, where the simulator listens,
plus whatever the connector's own host setting needs (``env``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from hub_connector_sdk.testkit import spec_file
from hub_e2e.processes import CONNECTOR_SERVICES, PublicOAuth, running_hub
from hub_e2e.simulators.runner import ProviderSim


@contextlib.contextmanager
def provider_hub(
    stack: Any,
    dsn: str,
    provider: str,
    env: Mapping[str, str],
    *,
    spec: str,
    client: tuple[str, str] | None = None,
    pats: Mapping[str, str] | None = None,
    services: Sequence[str] = CONNECTOR_SERVICES,
) -> Iterator[dict[str, Any]]:
    """``{"sim": the simulator, <service>: its process, ...}``; skipped without the provider's
    published API description ``spec`` (the simulator serves what it describes)."""
    if spec_file(spec) is None:
        pytest.skip(f"{spec} not available (HUB_SPECS_DIR)")
    oauth = PublicOAuth()
    clients = [oauth.client(*client)] if client else []
    hub_env = {"HUB_OUTBOUND_ALLOWLIST": "127.0.0.1", **env}
    with (
        ProviderSim(provider=provider, clients=clients, pats=dict(pats or {})) as sim,
        running_hub(stack, dsn, services, hub_env, oauth=oauth) as procs,
    ):
        yield {"sim": sim, **procs}
