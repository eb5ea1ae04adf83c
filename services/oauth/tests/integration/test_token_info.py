"""``GET /v1/oauth/connections/{id}/token``: token metadata, scoped to the caller's tenant in the query."""

from __future__ import annotations

import json

import asyncpg
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_oauth.repositories import tokens

from .test_refresh_revoke import connect

pytestmark = pytest.mark.integration


async def test_token_metadata_is_the_tenants_own(
    oauth, directory, simulator, tenant, user_headers, oauth_dsn
):
    cid = await connect(oauth, directory, simulator, tenant, user_headers)
    mine = await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=user_headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["connection_id"] == str(cid) and "access_token" not in mine.json()

    eve = mint_user_token(HubSettings(), tenant="t-other", user="eve", tier="teams")
    other = {"Authorization": f"Bearer {eve}"}
    theirs = await oauth.get(f"/v1/oauth/connections/{cid}/token", headers=other)
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "token_not_found"

    conn = await asyncpg.connect(oauth_dsn, server_settings={"search_path": "oauth,public"})
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:  # the scope is in the repository's query, not in a check after it
        assert (await tokens.get(conn, tenant, cid)) is not None
        assert await tokens.get(conn, "t-other", cid) is None
    finally:
        await conn.close()
