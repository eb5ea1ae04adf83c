"""Registrations verified with the connection's OAuth app client secret (docs/adr/0030): the
oauth service's answer (vault keys, never a value) is cached, shared by concurrent deliveries,
asked again after a rotation, and its refusals mean what they say; a delivery signed with a
just-rotated secret verifies on the intake's second ask."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from hub_common.clients.service import ServiceResponse
from hub_common.errors import ServiceUnavailable, Unprocessable
from hub_connector_sdk import WebhookVerificationError
from hub_connector_sdk.webhook_signatures import webhook_signature
from hub_e2e.simulators.atlassian import jwt_hs256
from hub_webhooks.domain.registration import Mode, Registration, SecretSource, Status
from hub_webhooks.services.app_secrets import AppSecretDirectory, NotSignedWithAppSecret
from hub_webhooks.services.intake import Intake

pytestmark = pytest.mark.unit

OWNER = uuid.uuid4()
CONNECTION = uuid.uuid4()


def answer(keys: list[str], status: int = 200, error: dict[str, str] | None = None) -> ServiceResponse:
    body: dict[str, Any] = (
        {"error": error}
        if error
        else {
            "connection_id": str(CONNECTION),
            "connector_id": "jira",
            "owner_id": str(OWNER),
            "keys": keys,
            "app": "tenant",
            "client_id": "app-1",
            "rotated_at": "2026-12-08T00:00:00+00:00",
            "previous_valid_until": None,
        }
    )
    return ServiceResponse(status, {}, json.dumps(body).encode())


class FakeOAuth:
    """The oauth service's internal endpoint as the directory sees it (unit tier)."""

    def __init__(self, *answers: ServiceResponse) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, Any]] = []
        self.gate: asyncio.Event | None = None

    async def request(self, method: str, path: str, *, json: Any = None) -> ServiceResponse:
        self.calls.append((method, path, json))
        if self.gate is not None:
            await self.gate.wait()
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_answers_are_cached_and_shared_by_concurrent_deliveries():
    oauth = FakeOAuth(answer(["client_secret.webhooks-v1"]))
    oauth.gate = asyncio.Event()
    directory = AppSecretDirectory(oauth, ttl_s=30, clock=Clock())  # type: ignore[arg-type]
    waiting = [asyncio.create_task(directory.reference("acme", CONNECTION)) for _ in range(5)]
    await asyncio.sleep(0)
    oauth.gate.set()
    refs = await asyncio.gather(*waiting)
    assert len(oauth.calls) == 1 and {r.owner_id for r in refs} == {OWNER}
    method, path, body = oauth.calls[0]
    assert (method, path, body) == (
        "POST",
        f"/internal/v1/oauth/connections/{CONNECTION}/webhook-secret",
        {"tenant_id": "acme"},
    )
    await directory.reference("acme", CONNECTION)
    assert len(oauth.calls) == 1


async def test_fresh_asks_again_at_most_every_min_refresh_and_a_rotation_event_drops_the_tenant():
    clock = Clock()
    oauth = FakeOAuth(answer(["k1"]), answer(["k2", "k1"]), answer(["k3", "k2"]))
    directory = AppSecretDirectory(oauth, ttl_s=30, min_refresh_s=5, clock=clock)  # type: ignore[arg-type]
    assert (await directory.reference("acme", CONNECTION)).keys == ["k1"]
    assert (await directory.reference("acme", CONNECTION, fresh=True)).keys == ["k1"]  # 0 s old
    clock.now += 5
    assert (await directory.reference("acme", CONNECTION, fresh=True)).keys == ["k2", "k1"]
    directory.forget_tenant("other")
    assert (await directory.reference("acme", CONNECTION)).keys == ["k2", "k1"]
    directory.forget_tenant("acme")
    assert (await directory.reference("acme", CONNECTION)).keys == ["k3", "k2"]
    clock.now += 31
    assert len(oauth.calls) == 3 and (await directory.reference("acme", CONNECTION)).keys == ["k3", "k2"]
    assert len(oauth.calls) == 4  # expired: asked again
    await directory.reference("acme", CONNECTION, force=True)  # a user reading the registration
    assert len(oauth.calls) == 5


@pytest.mark.parametrize(
    ("status", "code", "raised"),
    [
        (409, "webhook_secret_not_from_app", NotSignedWithAppSecret),
        (400, "oauth_app_missing", Unprocessable),
        (409, "client_secret_missing", Unprocessable),
        (503, "unavailable", ServiceUnavailable),
        (403, "service_not_allowed", ServiceUnavailable),
    ],
)
async def test_refusals_of_the_oauth_service(status, code, raised):
    oauth = FakeOAuth(answer([], status, {"code": code, "message": "why"}))
    directory = AppSecretDirectory(oauth, ttl_s=30)  # type: ignore[arg-type]
    with pytest.raises(raised) as caught:
        await directory.reference("acme", CONNECTION)
    if raised is Unprocessable:
        assert caught.value.code == code  # type: ignore[attr-defined]
    # A refusal is not cached: the next delivery asks again.
    with pytest.raises(raised):
        await directory.reference("acme", CONNECTION)
    assert len(oauth.calls) == 2


class VaultCopies:
    """The vault's values as the SecretCache reads them."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read_owner: list[uuid.UUID] = []

    async def values_of(self, tenant_id: str, connection_id: uuid.UUID, keys: list[str]) -> list[str]:
        self.read_owner.append(connection_id)
        return [self.values[k] for k in keys if k in self.values]


def registration() -> Registration:
    now = datetime.now(UTC)
    spec = webhook_signature("atlassian-jwt").model_dump()
    return Registration(
        id=uuid.uuid4(),
        tenant_id="acme",
        user_id="alice",
        connection_id=CONNECTION,
        connector_id="jira",
        mode=Mode.AUTO,
        status=Status.ACTIVE,
        trigger_ids=["status_changed"],
        filter=None,
        events=["jira:issue_updated"],
        routing_key=None,
        external_id="1",
        provider_metadata={},
        signature_spec=spec,
        secret_key=None,
        previous_secret_key=None,
        previous_valid_until=None,
        expires_at=None,
        received_count=0,
        last_received_at=None,
        last_error=None,
        last_error_at=None,
        created_at=now,
        updated_at=now,
        secret_source=SecretSource.OAUTH_APP,
    )


async def test_a_delivery_signed_with_a_just_rotated_secret_verifies_on_the_second_ask():
    clock = Clock()
    oauth = FakeOAuth(answer(["k1"]), answer(["k2", "k1"]))
    directory = AppSecretDirectory(oauth, ttl_s=30, min_refresh_s=5, clock=clock)  # type: ignore[arg-type]
    copies = VaultCopies({"k1": "old-client-secret", "k2": "new-client-secret"})
    secrets = type("Secrets", (), {"values": copies.values_of})()
    intake = Intake(
        None,  # type: ignore[arg-type]  # verification touches no database
        schema="webhooks",
        source="test",
        secrets=secrets,  # type: ignore[arg-type]
        cache=None,  # type: ignore[arg-type]
        counters=None,  # type: ignore[arg-type]
        refusals=None,  # type: ignore[arg-type]
        app_secrets=directory,
    )
    reg = registration()
    spec = webhook_signature(reg.signature_spec)
    body = b'{"webhookEvent": "jira:issue_updated"}'

    def signed(secret: str) -> dict[str, str]:
        token = jwt_hs256({"iss": "jira", "exp": int(time.time()) + 60}, secret)
        return {"authorization": f"Bearer {token}"}

    await intake._verify(reg, spec, signed("old-client-secret"), body)
    assert copies.read_owner == [OWNER]  # the app's owner id, not the connection's
    clock.now += 10
    await intake._verify(reg, spec, signed("new-client-secret"), body)  # asked again, then verified
    assert len(oauth.calls) == 2
    with pytest.raises(WebhookVerificationError) as refused:
        await intake._verify(reg, spec, signed("some-other-secret"), body)
    assert refused.value.code == "signature_mismatch" and len(oauth.calls) == 2  # within min_refresh
