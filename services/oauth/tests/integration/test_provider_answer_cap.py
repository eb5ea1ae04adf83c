"""Provider answers are read within a cap (#22 item 9): a local server streams 64 MiB at every
kind of provider call, and each one ends as the provider error ``answer_too_large`` after about
the cap, not after the whole body."""

from __future__ import annotations

import pytest

from hub_connector_sdk import OAuthConfig
from hub_oauth.adapters.provider_http import ClientCredentials, ProviderOAuthClient
from hub_oauth.domain.endpoints import Endpoints
from hub_oauth.domain.token_response import OAuthProviderError

pytestmark = pytest.mark.integration

CAP = 256 * 1024
CLIENT = ClientCredentials("app", "secret")


def _oauth(url: str) -> OAuthConfig:
    return OAuthConfig(
        authorization_url=f"{url}/authorize", token_url=f"{url}/token", revocation_url=f"{url}/revoke"
    )


def _endpoints(url: str) -> Endpoints:
    return Endpoints(f"{url}/authorize", f"{url}/token", f"{url}/revoke", f"{url}/userinfo")


CALLS = {
    "token": lambda p, url: p.exchange_code(
        _endpoints(url), _oauth(url), CLIENT, code="c", redirect_uri="https://hub.test/cb", verifier=None
    ),
    "refresh": lambda p, url: p.refresh(_endpoints(url), _oauth(url), CLIENT, refresh_token="r"),
    "identity": lambda p, url: p.get_json(f"{url}/userinfo", "token"),
    "discovery": lambda p, url: p.discover(url),
    "revocation": lambda p, url: p.revoke(
        _endpoints(url), _oauth(url), CLIENT, access_token="a", refresh_token="r"
    ),
}


@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "content-length"])
@pytest.mark.parametrize("call", list(CALLS))
async def test_an_oversized_answer_is_a_provider_error_read_only_to_the_cap(huge_server, call, declare):
    huge_server.declare = declare
    provider = ProviderOAuthClient(attempts=3, backoff_s=0.01, max_answer_bytes=CAP)
    try:
        with pytest.raises(OAuthProviderError) as info:
            await CALLS[call](provider, huge_server.url)
    finally:
        await provider.aclose()
    assert info.value.error == "answer_too_large" and not info.value.retryable
    assert str(CAP) in info.value.description
    # Not retried, and hung up long before the end (what was written is the cap plus socket buffers).
    assert huge_server.requests == 1
    assert huge_server.sent < huge_server.total // 4
