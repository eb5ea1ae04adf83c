"""Which registration an automation's trigger gets when it is saved (services/trigger_webhooks.py):
none for a polled trigger, an unfiltered one already there, else auto where the connector
registers hooks by API, manual where it does not or the webhooks service says it is set up by
hand; any other refusal stops the save with nothing recorded. The webhooks service and the
database are stood in."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from hub_connector_openai import OpenAIConnector

from hub_common.errors import HubError
from hub_common.web.auth import Tier
from hub_connector_github import GitHubConnector
from hub_connector_slack import SlackBotTokenConnector
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus
from hub_connectors.domain.webhook_registration import WebhookRegistration
from hub_connectors.registry import ConnectorRegistry
from hub_connectors.services.caller import Caller
from hub_connectors.services.trigger_webhooks import TriggerWebhooks

pytestmark = pytest.mark.unit
CALLER = Caller("acme", "alice", Tier.TEAMS)


class Conn:
    """An asyncpg connection's three calls, recorded."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.statements.append((sql, args))

    def recorded(self) -> list[UUID]:
        return [a[0] for sql, a in self.statements if sql.startswith("INSERT INTO automation_webhooks")]


class Webhooks:
    def __init__(
        self, existing: list[WebhookRegistration] | None = None, refuse: dict[str, str] | None = None
    ):
        self.existing = existing or []
        self.refuse = refuse or {}  # mode -> error code
        self.created: list[tuple[list[str], str]] = []

    async def of_connection(self, caller: Caller, connection_id: UUID) -> list[WebhookRegistration]:
        return self.existing

    async def create(self, caller: Caller, connection_id: UUID, trigger_ids: list[str], mode: str):
        if mode in self.refuse:
            raise HubError("refused", code=self.refuse[mode], status_code=422)
        self.created.append((trigger_ids, mode))
        return _registration(connection_id, trigger_ids, mode)

    async def delete(self, caller: Caller, registration_id: UUID) -> bool:
        return True

    async def put_secret(self, caller: Caller, registration_id: UUID, secret: str) -> WebhookRegistration:
        raise AssertionError("not used")


def _registration(connection_id: UUID, trigger_ids: list[str], mode: str = "auto", **more: Any):
    return WebhookRegistration(
        uuid4(), connection_id, mode, "active", "https://hub/x", tuple(trigger_ids), **more
    )


def _setup(connector: type) -> tuple[Connection, Any]:
    registry = ConnectorRegistry("9.9.9")
    registered = registry.add_builtin(connector)
    assert registered is not None
    connection = Connection(
        id=uuid4(), tenant_id="acme", user_id="alice", connector_id=registered.id, connector_version="1",
        category="x", custom=False, auth_method="oauth2", name="c", status=ConnectionStatus.ACTIVE,
        base_url="",
    )  # fmt: skip
    return connection, registered


async def _ensure(webhooks: Webhooks, connector: type, trigger_id: str, conn: Conn | None = None):
    connection, registered = _setup(connector)
    trigger = registered.manifest.trigger(trigger_id)
    assert trigger is not None
    return await TriggerWebhooks(webhooks).ensure(conn or Conn(), CALLER, connection, registered, trigger)


async def test_a_polled_trigger_needs_no_registration():
    webhooks = Webhooks()
    assert await _ensure(webhooks, OpenAIConnector, "batch_completed") is None and webhooks.created == []


async def test_an_unfiltered_registration_of_the_trigger_is_used_as_it_is():
    connection_id = uuid4()
    covering = _registration(connection_id, ["issue_closed", "issue_opened"], mode="manual")
    webhooks = Webhooks([_registration(connection_id, ["issue_opened"], filter={"x": 1}), covering])
    conn = Conn()
    ensured = await _ensure(webhooks, GitHubConnector, "issue_opened", conn)
    assert ensured is not None and ensured.registration is covering and not ensured.created
    assert webhooks.created == [] and conn.recorded() == []


async def test_auto_where_the_connector_registers_hooks_and_it_is_remembered():
    webhooks, conn = Webhooks(), Conn()
    ensured = await _ensure(webhooks, GitHubConnector, "issue_opened", conn)
    assert ensured is not None and ensured.created and webhooks.created == [(["issue_opened"], "auto")]
    assert conn.recorded() == [ensured.registration.id]


async def test_manual_where_the_connector_does_not_or_the_webhooks_service_says_so():
    webhooks = Webhooks()
    ensured = await _ensure(webhooks, SlackBotTokenConnector, "reaction_added")
    assert ensured is not None and webhooks.created == [(["reaction_added"], "manual")]
    refused = Webhooks(refuse={"auto": "manual_only"})
    assert await _ensure(refused, GitHubConnector, "issue_opened") is not None
    assert refused.created == [(["issue_opened"], "manual")]


async def test_any_other_refusal_stops_the_save_and_nothing_is_remembered():
    webhooks, conn = Webhooks(refuse={"auto": "provider_forbidden"}), Conn()
    with pytest.raises(HubError) as refused:
        await _ensure(webhooks, GitHubConnector, "issue_opened", conn)
    assert refused.value.code == "provider_forbidden" and webhooks.created == [] and conn.recorded() == []
