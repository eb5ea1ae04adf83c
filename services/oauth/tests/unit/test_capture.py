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
    def __init__(self, data, *, fail_writes_after: int | None = None):
        self.data, self.calls = dict(data), []
        self.fail_writes_after = fail_writes_after

    async def read(self, _t, _c, key):
        return self.data.get(key)

    async def store_many(self, _t, _c, values):
        self.calls.append(("store_many", sorted(values)))
        if self.fail_writes_after is not None:
            if self.fail_writes_after == 0:
                raise HubError("vault down", code="vault_unavailable", status_code=503)
            self.fail_writes_after -= 1
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


def connectors_down(_request):
    raise httpx.ConnectError("connection refused")


@pytest.mark.parametrize("answer", [connectors_down, lambda _r: httpx.Response(500, text="boom")])
async def test_a_health_check_that_cannot_run_changes_nothing(answer):
    vault = FakeVault({"api_key": "old", "api_key.region": "eu"})
    service = capture(vault, answer)
    try:
        for _ in range(3):  # retried as often as the client likes: still the old values
            with pytest.raises(HubError) as info:
                await service.capture("t1", CID, {"api_key": "new"})
            assert (info.value.status_code, info.value.code) == (503, "verification_unavailable")
            assert info.value.headers["retry-after"] == "5"
            assert vault.data == {"api_key": "old", "api_key.region": "eu"}
    finally:
        await service.aclose()


async def test_a_first_capture_that_cannot_be_checked_leaves_no_credentials():
    vault = FakeVault({})
    service = capture(vault, connectors_down)
    try:
        with pytest.raises(HubError) as info:
            await service.capture("t1", CID, {"api_key": "new", "region": "us"})
    finally:
        await service.aclose()
    assert info.value.code == "verification_unavailable" and vault.data == {}


async def test_when_the_restore_fails_too_the_answer_says_the_values_are_stored():
    vault = FakeVault({"api_key": "old"}, fail_writes_after=1)  # the new set goes in, the restore fails
    service = capture(vault, connectors_down)
    try:
        with pytest.raises(HubError) as info:
            await service.capture("t1", CID, {"api_key": "new"})
    finally:
        await service.aclose()
    assert (info.value.status_code, info.value.code) == (502, "stored_unverified")
    assert vault.data == {"api_key": "new"}


@pytest.mark.parametrize(
    "answer,status,code",
    [
        (httpx.Response(200, text="<html>oops</html>"), 502, "verification_failed"),
        (httpx.Response(200, json=["not", "an", "object"]), 502, "verification_failed"),
        (httpx.Response(404, json={"error": {"code": "connection_not_found"}}), 404, "verification_refused"),
        (httpx.Response(400, text="odd"), 502, "verification_failed"),
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
