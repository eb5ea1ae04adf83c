"""Start and stop the OAuth simulator as a real process on a free port (for e2e tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hub_e2e.processes import ManagedProcess, free_port, new_log
from hub_e2e.secret_scan import register


@dataclass
class OAuthSimulator(ManagedProcess):
    """``with OAuthSimulator("github", clients=[...]) as sim: ...`` -- ``sim.url`` is the base URL."""

    flavor: str = "generic"
    clients: Sequence[Mapping[str, Any]] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/_sim/health"

    def __post_init__(self) -> None:
        self.log_path = new_log(f"oauth-sim-{self.flavor}")

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "hub_e2e.simulators.oauth_provider",
            "--port",
            str(self.port),
            "--flavor",
            self.flavor,
            "--issuer",
            self.settings.get("issuer", self.url),
            "--clients",
            json.dumps(list(self.clients)),
            "--settings",
            json.dumps({k: v for k, v in self.settings.items() if k != "issuer"}),
        ]

    # -- the run's secret scan (docs/adr/0034): what this provider knows is a secret ----------

    def start(self, timeout_s: float = 30.0) -> Any:
        for client in self.clients:
            register(client.get("client_secret"), f"{self.flavor} simulator client secret", strict=False)
        return super().start(timeout_s)

    def stop(self, timeout_s: float = 15.0) -> int | None:
        self._register_issued()
        return super().stop(timeout_s)

    def _register_issued(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            values = httpx.get(f"{self.url}/_sim/issued", timeout=10).json()
        except (httpx.HTTPError, ValueError):
            return  # a simulator a test broke on purpose: what it issued is not known
        for value in values:
            register(value, f"{self.flavor} simulator token or client secret", strict=False)

    # -- /_sim administration -----------------------------------------------------------------

    def _admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = httpx.request(method, f"{self.url}/_sim{path}", json=body, timeout=10)
        response.raise_for_status()
        return response

    def register_client(
        self, client_id: str, client_secret: str, redirect_uris: Sequence[str], **extra: Any
    ) -> dict[str, Any]:
        body = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uris": list(redirect_uris),
            **extra,
        }
        result: dict[str, Any] = self._admin("POST", "/clients", body).json()
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/stats").json()
        return result

    def reset(self, *, clients: bool = False) -> None:
        self._register_issued()  # the reset forgets them
        self._admin("POST", "/reset", {"clients": clients})

    def inject_fault(self, endpoint: str, action: str = "status", **options: Any) -> None:
        self._admin("POST", "/faults", {"endpoint": endpoint, "action": action, **options})

    def clear_faults(self) -> None:
        self._admin("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        """The faults not used up yet: one that is gone has met its request."""
        result: list[dict[str, Any]] = self._admin("GET", "/faults").json()
        return result

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("PATCH", "/settings", changes).json()
        return result

    def introspect(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("POST", "/introspect", {"token": token}).json()
        return result

    def expire(self, *, token: str | None = None, family_id: str | None = None) -> None:
        """Make an access token, or every access token of a family, expire now."""
        self._admin("POST", "/expire", {"token": token} if token else {"family_id": family_id})

    def families(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._admin("GET", "/families").json()
        return result


@dataclass
class ProviderSim(OAuthSimulator):
    """``with ProviderSim("github", clients=[...]) as sim: ...``: ``hub-sim <provider>`` as a process.

    The provider's API, OAuth endpoints and webhooks on one port; the OAuth administration of
    :class:`OAuthSimulator` works unchanged.
    """

    provider: str = "github"
    pats: Mapping[str, str] = field(default_factory=dict)  # token -> login
    require_spec: bool = True

    def __post_init__(self) -> None:
        self.flavor = self.provider
        self.log_path = new_log(f"hub-sim-{self.provider}")
        for token in self.pats:
            register(token, f"{self.provider} simulator PAT", strict=False)

    def command(self) -> list[str]:
        command = [
            str(Path(sys.executable).parent / "hub-sim"),  # the console script users run
            self.provider,
            "--port",
            str(self.port),
            "--clients",
            json.dumps(list(self.clients)),
            "--settings",
            json.dumps(dict(self.settings)),
            *[f"--pat={token}:{login}" for token, login in self.pats.items()],
        ]
        return [*command, "--require-spec"] if self.require_spec else command

    def send_webhook(
        self, event: str, url: str, *, action: str | None = None, secret: str | None = None, **data: Any
    ) -> dict[str, Any]:
        body = {"event": event, "action": action, "url": url, "secret": secret, "data": data}
        result: dict[str, Any] = self._admin("POST", "/webhooks", body).json()
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt, oldest first (after the queued ones were attempted)."""
        self._admin("POST", f"/{self.provider}/drain")
        result: list[dict[str, Any]] = self._admin("GET", "/webhooks").json()
        return result

    def info(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/provider").json()
        return result
