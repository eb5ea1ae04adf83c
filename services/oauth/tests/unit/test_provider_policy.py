"""The connect-time SSRF refusal reaches callers as a provider refusal, not a network error."""

import time

import pytest

from hub_common.ssrf_http import PolicyTransport
from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain.token_response import OAuthProviderError

pytestmark = pytest.mark.unit


async def test_a_refused_destination_is_a_non_retryable_provider_error():
    client = ProviderOAuthClient(attempts=3, backoff_s=5.0, transport=PolicyTransport())
    try:
        started = time.monotonic()
        with pytest.raises(OAuthProviderError) as refused:
            await client.get_json("http://127.0.0.1:9/userinfo", "token")
        assert refused.value.error == "url_not_allowed" and not refused.value.retryable
        assert time.monotonic() - started < 2  # no 5 s backoff: it was not retried
    finally:
        await client.aclose()
