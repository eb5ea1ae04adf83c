"""The copy of an OAuth app's client secret that Jira signs dynamic webhooks with (docs/adr/0030),
against the real vault process and Postgres: named to the webhooks service only (its identity),
readable by it, following the tenant's app through create, rotation (old copy kept for the
overlap), an unchanged PUT, and delete; for the deployment's default app and for a custom
connector on the Atlassian OAuth profile alike."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub_common.testing.service_keys import service_minter
from hub_connector_atlassian import JiraConnector
from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    ConnectorCategory,
    ConnectorManifest,
    JwtSignature,
    OAuthConfig,
)
from hub_oauth.adapters.connections import ConnectionInfo
from hub_oauth.domain.apps import app_secret_owner

from .conftest import manifest_for

pytestmark = pytest.mark.integration

SECRET_1, SECRET_2, SECRET_3 = (f"atlassian-client-secret-{n}-0123456789abcdef" for n in (1, 2, 3))
DEPLOYMENT_SECRET = "deployment-atlassian-client-secret-0123456789"


def _connection(directory, tenant: str, manifest: ConnectorManifest, **config: object) -> uuid.UUID:
    info = ConnectionInfo(
        id=uuid.uuid4(),
        tenant_id=tenant,
        user_id="alice",
        connector_id=manifest.id,
        status="active",
        auth_method="oauth2",
        config=dict(config),
        manifest=manifest,
    )
    return directory.add(info).id


def _ask(oauth, tenant: str, connection_id: uuid.UUID, service: str = "webhooks"):
    return oauth.post(
        f"/internal/v1/oauth/connections/{connection_id}/webhook-secret",
        json={"tenant_id": tenant},
        headers=service_minter(service).headers_for("oauth"),
    )


def custom_atlassian_manifest() -> ConnectorManifest:
    """A tenant's own connector on Atlassian's OAuth profile, declaring its JWT scheme itself."""
    return ConnectorManifest(
        id="jira_custom",
        name="Jira (custom)",
        version="1.0.0",
        category=ConnectorCategory.CUSTOM,
        description="a custom Jira connector on the Atlassian OAuth profile",
        auth=AuthSpec(
            method=AuthenticationMethod.OAUTH2,
            oauth=OAuthConfig(
                authorization_url="https://auth.atlassian.com/authorize",
                token_url="https://auth.atlassian.com/oauth/token",
                profile="atlassian",
                client_auth="client_secret_post",
                token_request_format="json",
            ),
        ),
        api=ApiSpec(base_url="https://api.atlassian.com", allowed_hosts=["api.atlassian.com"]),
        webhook_signature=JwtSignature(delivery_id_header="X-Atlassian-Webhook-Identifier"),
    )


async def test_the_tenant_apps_copy_is_named_to_webhooks_and_follows_the_app(
    oauth, directory, tenant, user_headers, vault_as
):
    cid = _connection(directory, tenant, JiraConnector.manifest())
    put = await oauth.put(
        "/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "app-1", "client_secret": SECRET_1}
    )
    assert put.status_code == 201, put.text
    webhooks_vault = vault_as("webhooks")
    owner = app_secret_owner("jira")

    first = await _ask(oauth, tenant, cid)
    assert first.status_code == 200, first.text
    ref = first.json()
    assert SECRET_1 not in first.text
    assert (ref["app"], ref["client_id"], ref["connector_id"]) == ("tenant", "app-1", "jira")
    assert ref["owner_id"] == str(owner) and ref["previous_valid_until"] is None
    (key_1,) = ref["keys"]
    assert key_1.startswith("client_secret.webhooks-v")
    assert await webhooks_vault.read(tenant, owner, key_1) == SECRET_1
    assert (await _ask(oauth, tenant, cid)).json()["keys"] == [key_1]  # asking again changes nothing

    # Nobody else learns where the secret is: another service, a user, another tenant.
    for service in ("gateway", "connectors"):
        refused = await _ask(oauth, tenant, cid, service)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "service_not_allowed"
    as_user = await oauth.post(
        f"/internal/v1/oauth/connections/{cid}/webhook-secret",
        json={"tenant_id": tenant},
        headers=user_headers,
    )
    assert as_user.status_code in (401, 403)
    assert (await _ask(oauth, "another-tenant", cid)).status_code == 404

    # Rotation: the new secret is current at once, the old one verifies for the overlap (24 h).
    rotated = await oauth.put(
        "/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "app-1", "client_secret": SECRET_2}
    )
    assert rotated.status_code == 200
    ref = (await _ask(oauth, tenant, cid)).json()
    key_2 = ref["keys"][0]
    assert ref["keys"] == [key_2, key_1] and key_2 != key_1
    until = datetime.fromisoformat(ref["previous_valid_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)
    assert [await webhooks_vault.read(tenant, owner, k) for k in ref["keys"]] == [SECRET_2, SECRET_1]

    # A PUT that keeps the secret (a new redirect URI) keeps the copy.
    kept = await oauth.put(
        "/v1/oauth/apps/jira",
        headers=user_headers,
        json={"client_id": "app-1", "redirect_uri": "https://hub.example.test/v1/oauth/callback"},
    )
    assert kept.status_code == 200
    assert (await _ask(oauth, tenant, cid)).json()["keys"] == [key_2, key_1]

    # A second rotation within the overlap: one previous copy at a time, the oldest is deleted.
    await oauth.put(
        "/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "app-1", "client_secret": SECRET_3}
    )
    key_3, previous = (await _ask(oauth, tenant, cid)).json()["keys"]
    assert previous == key_2 and await webhooks_vault.read(tenant, owner, key_1) is None

    # The app deleted (no deployment app): the copies go, and the next ask says why.
    assert (await oauth.delete("/v1/oauth/apps/jira", headers=user_headers)).status_code == 204
    assert [await webhooks_vault.read(tenant, owner, k) for k in (key_3, key_2)] == [None, None]
    gone = await _ask(oauth, tenant, cid)
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "oauth_app_missing"


async def test_the_deployment_app_then_the_tenants_own_on_a_custom_atlassian_connector(
    settings, directory, oauth_dsn, oauth_runner, tenant, user_headers, vault_as
):
    manifest = custom_atlassian_manifest()
    default_apps = {manifest.id: {"client_id": "hub-wide", "client_secret": DEPLOYMENT_SECRET}}
    with_default = settings.model_copy(update={"oauth_default_apps": json.dumps(default_apps)})
    webhooks_vault = vault_as("webhooks")
    owner = app_secret_owner(manifest.id)
    async with oauth_runner(with_default, directory, oauth_dsn) as oauth:
        cid = _connection(directory, tenant, manifest)
        ref = (await _ask(oauth, tenant, cid)).json()
        assert (ref["app"], ref["client_id"]) == ("deployment", "hub-wide")
        (deployment_key,) = ref["keys"]
        assert await webhooks_vault.read(tenant, owner, deployment_key) == DEPLOYMENT_SECRET

        # The deployment's secret is never handed to endpoints a tenant chose (ADR 0012's rule).
        overriding = _connection(directory, tenant, manifest, oauth_token_url="https://evil.example/token")
        refused = await _ask(oauth, tenant, overriding)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "oauth_app_required"

        # The tenant registers its own app: the copy follows at once, the deployment's for the overlap.
        own = await oauth.put(
            f"/v1/oauth/apps/{manifest.id}",
            headers=user_headers,
            json={"client_id": "own", "client_secret": SECRET_1},
        )
        assert own.status_code == 201
        ref = (await _ask(oauth, tenant, cid)).json()
        assert (ref["app"], ref["client_id"]) == ("tenant", "own") and ref["keys"][1] == deployment_key
        assert await webhooks_vault.read(tenant, owner, ref["keys"][0]) == SECRET_1

        # Deleted again: the deployment's app serves the tenant once more.
        await oauth.delete(f"/v1/oauth/apps/{manifest.id}", headers=user_headers)
        ref = (await _ask(oauth, tenant, cid)).json()
        assert ref["app"] == "deployment"
        assert await webhooks_vault.read(tenant, owner, ref["keys"][0]) == DEPLOYMENT_SECRET


async def test_without_overlap_the_previous_copy_is_gone_on_the_next_ask(
    settings, directory, oauth_dsn, oauth_runner, tenant, user_headers, vault_as
):
    no_overlap = settings.model_copy(update={"oauth_app_secret_overlap_s": 0})
    async with oauth_runner(no_overlap, directory, oauth_dsn) as oauth:
        cid = _connection(directory, tenant, JiraConnector.manifest())
        await oauth.put(
            "/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "a", "client_secret": SECRET_1}
        )
        (old,) = (await _ask(oauth, tenant, cid)).json()["keys"]
        await oauth.put(
            "/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "a", "client_secret": SECRET_2}
        )
        ref = (await _ask(oauth, tenant, cid)).json()
        assert len(ref["keys"]) == 1 and ref["keys"][0] != old and ref["previous_valid_until"] is None
        assert await vault_as("webhooks").read(tenant, app_secret_owner("jira"), old) is None


async def test_connectors_not_signing_with_the_app_secret_are_refused(
    oauth, directory, tenant, user_headers, simulator
):
    generic = _connection(directory, tenant, manifest_for(simulator.url))  # no JWT webhooks
    await oauth.put(
        "/v1/oauth/apps/simgeneric", headers=user_headers, json={"client_id": "x", "client_secret": SECRET_1}
    )
    refused = await _ask(oauth, tenant, generic)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "webhook_secret_not_from_app"
    assert SECRET_1 not in refused.text
    missing_secret = _connection(directory, tenant, JiraConnector.manifest())
    await oauth.put("/v1/oauth/apps/jira", headers=user_headers, json={"client_id": "no-secret"})
    answer = await _ask(oauth, tenant, missing_secret)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "client_secret_missing"
