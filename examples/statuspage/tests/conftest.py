"""Fixtures for the Statuspage connector's tests.

Cassettes replay by default. To re-record them against the real API (a test page and a key
you own; the key never reaches a cassette):

    HUB_CASSETTE_MODE=record STATUSPAGE_API_KEY=... uv run pytest examples/statuspage

The recorded page id and incident ids then replace the ones the assertions expect.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hub_connector_sdk.testkit import MODE_ENV, DirectProviderTransport, GatewayStub, RecordReplayTransport

HERE = Path(__file__).parent
PAGE_ID = "kctbh9vrtdwd"
CONFIG = {"page_id": PAGE_ID, "webhook_email": "ops@acme.test"}


def _transport(name: str) -> RecordReplayTransport:
    path = HERE / "cassettes" / f"{name}.json"
    if os.environ.get(MODE_ENV) != "record":
        return RecordReplayTransport(path, mode="replay")
    key = os.environ.get("STATUSPAGE_API_KEY")
    if not key:
        pytest.skip("recording needs STATUSPAGE_API_KEY")
    real = DirectProviderTransport(
        "https://api.statuspage.io/v1", auth_headers={"Authorization": f"OAuth {key}"}
    )
    return RecordReplayTransport(path, mode="record", real=real, secrets=[key])


@pytest.fixture
def cassette() -> Callable[[str], GatewayStub]:
    """``cassette("create_incident")`` → a gateway stub answering from that cassette."""
    return lambda name: GatewayStub(cassette=_transport(name))


@pytest.fixture
def payload() -> Callable[[str], dict[str, Any]]:
    """A webhook notification body as Statuspage sends it (``tests/payloads/<name>.json``)."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((HERE / "payloads" / f"{name}.json").read_text())
        return data

    return load
