"""An API-key provider for end-to-end tests: a small HTTP server on loopback, and the connector
that calls it (its key travels in the query string, where a trace must never show it).

``KeyedProvider`` answers ``GET /me`` with the account when ``?api_key=`` is its key (401
otherwise), ``GET /boom`` with a 500, and drops ``GET /crash`` without an answer.
``keyed_plugin_path`` installs ``keyedsim`` as a connector plugin (a throw-away distribution,
like :func:`hub_e2e.connectors.plugin_path`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    CredentialField,
    action,
)

_NO_PARAMS = {"type": "object", "properties": {}, "additionalProperties": False}


class KeyedSimConnector(BaseConnector):
    id = "keyedsim"
    name = "Simulated API-key provider"
    version = "1.0.0"
    category = ConnectorCategory.CUSTOM
    description = "Test connector for hub_e2e.keyed_provider (tests/e2e)."
    auth = AuthSpec(
        method=AuthenticationMethod.API_KEY,
        api_key=ApiKeyPlacement(location="query", name="api_key", prefix=""),
        fields=[CredentialField(key="api_key", label="API key")],
    )
    api = ApiSpec(
        base_url="https://keyed.simulator.invalid",
        allowed_hosts=["keyed.simulator.invalid", "127.0.0.1"],
        config_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"base_url": {"type": "string", "format": "uri", "maxLength": 2048}},
        },
    )
    health_path = "/me"

    @action(params=_NO_PARAMS)
    async def whoami(self, params: dict[str, Any]) -> Any:
        """The account the key belongs to."""
        return (await self.client.get("/me")).json()

    @action(params=_NO_PARAMS)
    async def boom(self, params: dict[str, Any]) -> Any:
        """A call the provider fails (500)."""
        return (await self.client.get("/boom")).json()

    @action(params=_NO_PARAMS)
    async def crash(self, params: dict[str, Any]) -> Any:
        """A call whose connection the provider drops without answering."""
        return (await self.client.get("/crash")).json()


class KeyedProvider:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.calls: list[str] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                provider.calls.append(url.path)
                if parse_qs(url.query).get("api_key") != [provider.api_key]:
                    self._answer(401, {"error": "bad key"})
                elif url.path == "/me":
                    self._answer(200, {"id": "acct-1", "name": "Keyed account"})
                elif url.path == "/boom":
                    self._answer(500, {"error": "provider failure"})
                elif url.path == "/crash":
                    self.close_connection = True  # closed with no answer at all
                else:
                    self._answer(404, {"error": "not found"})

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> KeyedProvider:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def keyed_plugin_path(folder: Path) -> Path:
    """Write a distribution exposing ``keyedsim`` as a connector plugin; returns ``folder``."""
    dist = folder / "hub_e2e_keyed_connector-0.0.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-e2e-keyed-connector\nVersion: 0.0.0\n")
    (dist / "entry_points.txt").write_text(
        "[integration_hub.connectors]\nkeyedsim = hub_e2e.keyed_provider:KeyedSimConnector\n"
    )
    return folder
