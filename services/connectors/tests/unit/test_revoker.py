"""The revocation seam: oauth's route is used when it exists, skipped (never fatal) otherwise."""

import uuid

import httpx
import pytest

from hub_common.testing.service_keys import service_minter
from hub_connectors.adapters.oauth_revoker import OAuthRevoker
from hub_connectors.domain.connection import Connection
from hub_connectors.domain.states import ConnectionStatus

pytestmark = pytest.mark.unit

CONNECTION = Connection(
    id=uuid.uuid4(), tenant_id="t-1", user_id="u", connector_id="github", connector_version="1.0.0",
    category="source_control", custom=False, auth_method="oauth2", name="gh", status=ConnectionStatus.ACTIVE,
    base_url="https://api.github.com",
)  # fmt: skip


def revoker(handler) -> OAuthRevoker:
    return OAuthRevoker(
        "http://oauth.test",
        service_minter("connectors"),
        transport=httpx.MockTransport(handler),
    )


async def test_revokes_through_the_oauth_service_with_a_service_token():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"revoked": True})

    assert await revoker(handler).revoke(CONNECTION) == "revoked"
    assert seen[0].url.path == f"/v1/oauth/connections/{CONNECTION.id}/revoke"
    assert seen[0].headers["authorization"].startswith("Bearer ")
    assert seen[0].read() == b'{"tenant_id":"t-1"}'


@pytest.mark.parametrize("status", [404, 405, 501, 500, 503])
async def test_missing_route_or_failure_is_skipped(status):
    assert await revoker(lambda r: httpx.Response(status)).revoke(CONNECTION) == "skipped"


async def test_unreachable_oauth_is_skipped():
    def handler(request):
        raise httpx.ConnectError("refused")

    assert await revoker(handler).revoke(CONNECTION) == "skipped"
