"""Credential capture: one vault write for the set, cleared optional fields, odd health answers."""

import uuid
from types import SimpleNamespace

import httpx
import pytest

from hub_common.errors import HubError
from hub_common.testing.service_keys import service_minter
from hub_connector_sdk import ApiKeyPlacement, AuthenticationMethod, AuthSpec, CredentialField
from hub_oauth.services.capture import CredentialCapture

pytestmark = pytest.mark.unit

CID = uuid.uuid4()
AUTH = AuthSpec(
    method=AuthenticationMethod.API_KEY,
    api_key=ApiKeyPlacement(),
    fields=[
        CredentialField(key="api_key", label="Key"),
        CredentialField(key="region", label="Region", secret=False, required=False),
    ],
)


class FakeVault:
    def __init__(self, data):
        self.data, self.calls = dict(data), []

    async def store_many(self, _t, _c, values):
        self.calls.append(("store_many", sorted(values)))
        self.data.update(values)

    async def delete(self, _t, _c, key):
        self.calls.append(("delete", key))
        return self.data.pop(key, None) is not None


class Resolver:
    async def connection(self, _tenant, _cid):
        return SimpleNamespace(manifest=SimpleNamespace(auth=AUTH), connector_id="keyed")


def capture(vault, answer) -> CredentialCapture:
    return CredentialCapture(
        resolver=Resolver(),
        vault=vault,
        connectors_url="http://connectors.test",
        minter=service_minter("oauth"),
        transport=httpx.MockTransport(answer),
    )


async def test_the_set_is_one_vault_write_and_a_left_out_optional_field_is_cleared():
    vault = FakeVault({"api_key": "old", "api_key.region": "eu"})
    service = capture(vault, lambda _r: httpx.Response(200, json={"health": {"is_healthy": True}}))
    try:
        result = await service.capture("t1", CID, {"api_key": "new", "region": ""})
    finally:
        await service.aclose()
    assert result == {"health": {"is_healthy": True}}
    assert vault.data == {"api_key": "new"}
    assert vault.calls == [("store_many", ["api_key"]), ("delete", "api_key.region")]


@pytest.mark.parametrize(
    "answer,status,code",
    [
        (httpx.Response(200, text="<html>oops</html>"), 502, "verification_failed"),
        (httpx.Response(200, json=["not", "an", "object"]), 502, "verification_failed"),
        (httpx.Response(404, json={"error": {"code": "connection_not_found"}}), 404, "verification_refused"),
        (httpx.Response(500, text="boom"), 502, "verification_failed"),
    ],
)
async def test_an_odd_health_check_answer_is_a_clear_error(answer, status, code):
    service = capture(FakeVault({}), lambda _r: answer)
    try:
        with pytest.raises(HubError) as info:
            await service.capture("t1", CID, {"api_key": "k"})
    finally:
        await service.aclose()
    assert (info.value.status_code, info.value.code) == (status, code)
