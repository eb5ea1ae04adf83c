"""Slack's user token is a grant of its own: a reconnect without it drops it, a revoke revokes it."""

import contextlib
import uuid
from types import SimpleNamespace

import httpx
import pytest

from hub_common.clients.vault import StoredCredential
from hub_common.errors import HubError
from hub_connector_sdk import OAuthConfig
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.endpoints import Endpoints
from hub_oauth.domain.errors import FlowRevoked
from hub_oauth.domain.token_response import parse
from hub_oauth.services import token_store
from hub_oauth.services.oauth_context import ClientCredentials
from hub_oauth.services.revoke import Revoker
from hub_oauth.services.token_store import TokenStore

pytestmark = pytest.mark.unit

CID = uuid.uuid4()


class FakeVault:
    """Values with row versions, as the vault keeps them (a write bumps the version)."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = dict(data)
        self.versions = dict.fromkeys(data, 1)

    def _put(self, key, value):
        self.data[key] = value
        self.versions[key] = self.versions.get(key, 0) + 1
        return StoredCredential(key, 1, self.versions[key])

    async def store_many(self, _t, _c, values):
        return [self._put(key, value) for key, value in values.items()]

    async def store(self, _t, _c, key, value, expected_version=None):
        return self._put(key, value)

    async def delete(self, _t, _c, key, expected_version=None):
        if key in self.data and expected_version not in (None, self.versions[key]):
            raise HubError("vault: changed", code="version_conflict", status_code=409)
        self.versions.pop(key, None)
        return self.data.pop(key, None) is not None

    async def read(self, _t, _c, key):
        return self.data.get(key)

    async def list_keys(self, _t, _c):
        return sorted(self.data)


class FreeLocks:
    @contextlib.asynccontextmanager
    async def hold(self, _name):
        yield True


async def test_a_reconnect_without_user_scopes_drops_the_old_grants_user_token(monkeypatch, db):
    async def connect(*_a, **_k):
        return 1

    async def previous_grant(_conn, _cid):
        # A token row exists (a reconnect); that grant had a refresh token and user scopes.
        return SimpleNamespace(has_refresh_token=True, metadata={"user_scopes": ["chat:write"]})

    monkeypatch.setattr(token_store.tokens, "connect", connect)
    monkeypatch.setattr(token_store.tokens, "get_unscoped", previous_grant)
    vault = FakeVault(
        {
            "access_token": "xoxb-old",
            "refresh_token": "xoxe-old",
            "access_token.user": "xoxp-old-user",
            "refresh_token.user": "xoxe-old-user",
            "signing_secret": "not a token: kept",
        }
    )
    answer = parse("slack", 200, {"ok": True, "access_token": "xoxb-new", "team": {"id": "T2"}})
    ctx = SimpleNamespace(info=SimpleNamespace(tenant_id="t", id=CID, connector_id="slack", user_id="u"))
    store = TokenStore(db, vault, FreeLocks())
    await store.store_initial(ctx, answer, external_account_id="T2", metadata={})
    assert vault.data == {"access_token": "xoxb-new", "signing_secret": "not a token: kept"}


async def test_a_first_grant_clears_a_refresh_token_a_crashed_connect_left(monkeypatch, db):
    async def connect(*_a, **_k):
        return 1

    async def no_row(_conn, _cid):
        return None

    monkeypatch.setattr(token_store.tokens, "connect", connect)
    monkeypatch.setattr(token_store.tokens, "get_unscoped", no_row)
    vault = FakeVault({"refresh_token": "left by a connect that never wrote its row"})
    answer = parse("slack", 200, {"ok": True, "access_token": "xoxb-new", "team": {"id": "T2"}})
    ctx = SimpleNamespace(info=SimpleNamespace(tenant_id="t", id=CID, connector_id="slack", user_id="u"))
    await TokenStore(db, vault, FreeLocks()).store_initial(ctx, answer, external_account_id="T2", metadata={})
    assert vault.data == {"access_token": "xoxb-new"}


async def test_a_connect_a_revoke_ended_deletes_only_the_values_it_wrote(monkeypatch, db):
    """The lock lapsed: a revoke ended this flow, and a newer connect took the lock and wrote its
    own access token meanwhile. The refused connect removes its refresh token, not that newer
    access token."""

    async def no_row(_conn, _cid):
        return None

    vault = FakeVault({})

    async def refused_after_a_newer_connect(*_a, **_k):
        vault._put("access_token", "xoxb-newer-connect")
        return None  # the connect statement found the flow ended

    monkeypatch.setattr(token_store.tokens, "get_unscoped", no_row)
    monkeypatch.setattr(token_store.tokens, "connect", refused_after_a_newer_connect)
    answer = parse(
        "slack",
        200,
        {"ok": True, "access_token": "xoxb-mine", "refresh_token": "xoxe-mine", "team": {"id": "T2"}},
    )
    ctx = SimpleNamespace(info=SimpleNamespace(tenant_id="t", id=CID, connector_id="slack", user_id="u"))
    with pytest.raises(FlowRevoked):
        await TokenStore(db, vault, FreeLocks()).store_initial(
            ctx, answer, external_account_id="T2", metadata={}
        )
    assert vault.data == {"access_token": "xoxb-newer-connect"}


SLACK = OAuthConfig(
    authorization_url="https://slack.com/oauth/v2/authorize",
    token_url="https://slack.com/api/oauth.v2.access",
    revocation_url="https://slack.com/api/auth.revoke",
    revocation_style="slack",
    profile="slack",
)


async def revoke_slack(refused: frozenset[str] = frozenset()) -> tuple[tuple[bool, str | None], list[str]]:
    """Revoke a connection holding a bot and a user token; ``auth.revoke`` refuses the tokens
    named in ``refused``. Returns the result and the Authorization headers sent, in order."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        sent.append(auth)
        if auth.removeprefix("Bearer ") in refused:
            return httpx.Response(200, json={"ok": False, "error": "token_expired"})
        return httpx.Response(200, json={"ok": True, "revoked": True})

    provider = ProviderOAuthClient(attempts=1, transport=httpx.MockTransport(answer))
    ctx = SimpleNamespace(
        info=SimpleNamespace(tenant_id="t", id=CID),
        oauth=SLACK,
        client=ClientCredentials("c", "s"),
        endpoints=Endpoints(SLACK.authorization_url, SLACK.token_url, SLACK.revocation_url, None),
    )
    vault = FakeVault({"access_token": "xoxb-bot", "access_token.user": "xoxp-user"})
    revoker = Revoker(db=None, vault=vault, resolver=None, provider=provider, locks=None)
    try:
        return await revoker._at_provider(ctx), sent
    finally:
        await provider.aclose()


async def test_revoking_a_slack_connection_revokes_the_user_token_too():
    result, sent = await revoke_slack()
    assert result == (True, None)
    assert sent == ["Bearer xoxb-bot", "Bearer xoxp-user"]


async def test_a_failed_bot_revoke_still_revokes_the_user_token():
    result, sent = await revoke_slack(refused=frozenset({"xoxb-bot"}))
    assert result == (False, "token_expired")
    assert sent == ["Bearer xoxb-bot", "Bearer xoxp-user"]


async def test_a_failed_write_deletes_nothing_of_the_previous_grant(monkeypatch, db):
    """The previous grant's keys go only once the new values are stored: a write that fails
    leaves the connection on its old, complete grant."""
    events: list[str] = []

    async def previous_grant(_conn, _cid):
        return SimpleNamespace(has_refresh_token=True, metadata={"user_scopes": ["chat:write"]})

    class FailingWrites(FakeVault):
        async def store_many(self, _t, _c, values):
            raise RuntimeError("vault down")

        async def delete(self, _t, _c, key, expected_version=None):
            events.append(f"deleted {key}")
            return True

    monkeypatch.setattr(token_store.tokens, "get_unscoped", previous_grant)
    answer = parse("slack", 200, {"ok": True, "access_token": "xoxb-new", "team": {"id": "T2"}})
    ctx = SimpleNamespace(info=SimpleNamespace(tenant_id="t", id=CID, connector_id="slack", user_id="u"))
    store = TokenStore(db, FailingWrites({}), FreeLocks())
    with pytest.raises(RuntimeError, match="vault down"):
        await store.store_initial(ctx, answer, external_account_id="T2", metadata={})
    assert events == []
