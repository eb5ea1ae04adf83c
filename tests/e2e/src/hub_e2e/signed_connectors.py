"""One test connector per webhook signature preset of the SDK (``sighook_<preset>``), so that the
security suite attacks every verifier through the real intake, including presets no built-in
connector declares yet (``standard-webhooks``). Generated from ``PRESETS``: a new preset gets
its connector, and its attacks, without a change here (docs/adr/0034).

``plugin_path`` writes a throw-away distribution exposing them (and the connectors of
:mod:`hub_e2e.connectors`) as ``integration_hub.connectors`` entry points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_connector_sdk import (
    ApiKeyPlacement,
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    CredentialField,
    TriggerType,
    trigger,
)
from hub_connector_sdk.webhook_signatures import PRESETS
from hub_e2e import connectors as test_connectors

EVENT = "security.suite"  # the one event the triggers listen to; attacks and controls send others


def connector_id(preset: str) -> str:
    return "sighook_" + preset.replace("-", "_")


def _connector(preset: str) -> type[BaseConnector]:
    class SignedHooks(BaseConnector):
        id = connector_id(preset)
        name = f"Signed webhooks ({preset})"
        version = "1.0.0"
        category = ConnectorCategory.CUSTOM
        description = f"Receives webhooks signed with the {preset} preset (tests/e2e security suite)."
        auth = AuthSpec(
            method=AuthenticationMethod.API_KEY,
            api_key=ApiKeyPlacement(location="header", name="X-Api-Key", prefix=""),
            fields=[CredentialField(key="api_key", label="API key")],
        )
        api = ApiSpec(base_url="https://sighook.simulator.invalid")
        webhook_signature = preset

        @trigger("suite_event", type=TriggerType.CREATED, events=[EVENT])
        def on_event(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
            """The only trigger: never fired by the suite's deliveries."""
            return payload

    SignedHooks.__name__ = SignedHooks.__qualname__ = f"SignedHooks_{connector_id(preset)}"
    return SignedHooks


CONNECTORS: dict[str, type[BaseConnector]] = {preset: _connector(preset) for preset in PRESETS}
globals().update({cls.__name__: cls for cls in CONNECTORS.values()})


def plugin_path(folder: Path) -> Path:
    """The test connectors of :mod:`hub_e2e.connectors` plus one ``sighook_*`` per preset."""
    test_connectors.plugin_path(folder)
    entry_points = folder / "hub_e2e_test_connectors-0.0.0.dist-info" / "entry_points.txt"
    lines = [f"{cls.id} = hub_e2e.signed_connectors:{cls.__name__}\n" for cls in CONNECTORS.values()]
    entry_points.write_text(entry_points.read_text() + "".join(lines))
    return folder
