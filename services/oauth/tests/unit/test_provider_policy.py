"""The connect-time SSRF refusal reaches callers as a provider refusal, not a network error."""

import pytest

from hub_common.ssrf_http import PolicyTransport
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.token_response import OAuthProviderError

pytestmark = pytest.mark.unit


class CountingTransport(PolicyTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    async def handle_async_request(self, request):
        self.requests += 1
        return await super().handle_async_request(request)


async def test_a_refused_destination_is_a_non_retryable_provider_error():
    transport = CountingTransport()
    client = ProviderOAuthClient(attempts=3, backoff_s=5.0, transport=transport)
    try:
        with pytest.raises(OAuthProviderError) as refused:
            await client.get_json("http://127.0.0.1:9/userinfo", "token")
        assert refused.value.error == "url_not_allowed" and not refused.value.retryable
        assert transport.requests == 1  # not retried (3 attempts were allowed)
    finally:
        await client.aclose()
