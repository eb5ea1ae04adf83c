"""The deployment's OAuth app (and its client secret) only ever goes to the manifest's endpoints."""

import pytest

from hub_common.errors import BadRequest
from hub_oauth.domain.apps import DefaultApp
from hub_oauth.repositories import apps
from hub_oauth.services.oauth_context import ContextResolver

pytestmark = pytest.mark.unit


@pytest.fixture
def resolver(db) -> ContextResolver:
    return ContextResolver(
        db=db,
        directory=None,
        vault=None,
        provider=None,
        default_apps={"github": DefaultApp("hub-app", "DEPLOYMENT-SECRET")},
        outbound_allowlist=[],
    )


@pytest.fixture(autouse=True)
def no_tenant_app(monkeypatch):
    async def none(_conn, _tenant, _connector):
        return None

    monkeypatch.setattr(apps, "get", none)


async def test_the_default_app_serves_a_connection_with_the_manifests_endpoints(resolver):
    client, _, _ = await resolver._client("t1", "github", True, overridden=False)
    assert (client.client_id, client.client_secret) == ("hub-app", "DEPLOYMENT-SECRET")


async def test_a_connection_that_overrides_an_endpoint_needs_the_tenants_own_app(resolver):
    with pytest.raises(BadRequest) as refused:
        await resolver._client("t1", "github", True, overridden=True)
    assert refused.value.code == "oauth_app_required"
    assert "DEPLOYMENT-SECRET" not in refused.value.message
