"""The intake's reactions to other services' events, with the real vault and Postgres: a
deleted credential stops verifying at once (not after the cache time), and a disconnected
connection's registrations end."""

from __future__ import annotations

import json
import uuid

import pytest

from hub_common.events.envelope import decode, encode
from hub_common.events.models import CredentialChanged, HubEvent, IntegrationDisconnected
from hub_connector_sdk import sign_webhook
from hub_webhooks.repositories import registrations

pytestmark = pytest.mark.integration


def _record(event: HubEvent):
    _, value, headers = encode(event, source="/test")
    return decode(value, headers)


async def _post(http, registration, secret: str) -> int:
    body = json.dumps({"n": uuid.uuid4().hex}).encode()
    headers = {**sign_webhook("github-sha256", secret, body), "X-GitHub-Delivery": str(uuid.uuid4())}
    resp = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
    return resp.status_code


async def test_a_deleted_secret_stops_verifying_at_once(http, container, make_registration):
    secret = "gh-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", secret)
    assert await _post(http, registration, secret) == 200  # now cached (60 s)
    await container.vault.delete(registration.tenant_id, registration.connection_id, registration.secret_key)
    assert await _post(http, registration, secret) == 200  # the cache still holds it

    changed = CredentialChanged(
        tenant_id=registration.tenant_id,
        connection_id=registration.connection_id,
        credential_key=registration.secret_key,
        change="deleted",
    )
    await container.intake_events(_record(changed), None)  # type: ignore[arg-type]

    assert await _post(http, registration, secret) == 401


async def test_a_disconnected_connection_ends_its_registrations(http, container, make_registration):
    secret = "gh-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", secret)
    assert await _post(http, registration, secret) == 200
    gone = IntegrationDisconnected(
        tenant_id=registration.tenant_id, connection_id=registration.connection_id, connector_id="acme"
    )
    other_tenant = IntegrationDisconnected(
        tenant_id="someone-else", connection_id=registration.connection_id, connector_id="acme"
    )
    await container.intake_events(_record(other_tenant), None)  # type: ignore[arg-type]
    assert await _post(http, registration, secret) == 200  # scoped to the tenant

    await container.intake_events(_record(gone), None)  # type: ignore[arg-type]

    assert await _post(http, registration, secret) == 404
    async with container.db.connection() as conn:
        assert await registrations.get(conn, registration.tenant_id, registration.id) is None
