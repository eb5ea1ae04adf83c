"""Provider answers that are not what they should be end as provider errors, never crashes."""

import httpx
import pytest

from hub_oauth.adapters.provider_http import ProviderOAuthClient
from hub_oauth.domain import endpoints
from hub_oauth.domain.token_response import OAuthProviderError

pytestmark = pytest.mark.unit

ISSUER = "https://idp.example/tenant1"
METADATA = {
    "issuer": ISSUER,
    "authorization_endpoint": "https://idp.example/authorize",
    "token_endpoint": "https://idp.example/token",
}


def client_answering(answer) -> ProviderOAuthClient:
    return ProviderOAuthClient(attempts=1, transport=httpx.MockTransport(answer))


async def test_an_identity_call_answering_html_is_an_identity_error():
    client = client_answering(lambda _r: httpx.Response(200, text="<html>login</html>"))
    try:
        with pytest.raises(OAuthProviderError) as info:
            await client.get_json("https://api.example/user", "token")
        assert info.value.error == "identity_failed" and not info.value.retryable
    finally:
        await client.aclose()


async def test_metadata_answering_html_is_a_discovery_error():
    client = client_answering(lambda _r: httpx.Response(200, text="<html>oops</html>"))
    try:
        with pytest.raises(OAuthProviderError) as info:
            await client.discover("https://idp.example")
        assert info.value.error == "discovery_failed"
    finally:
        await client.aclose()


async def test_metadata_for_an_issuer_with_a_path_is_read_at_rfc_8414s_location_first():
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=METADATA)

    client = client_answering(answer)
    try:
        assert (await client.discover(ISSUER))["token_endpoint"] == METADATA["token_endpoint"]
    finally:
        await client.aclose()
    assert asked == ["https://idp.example/.well-known/oauth-authorization-server/tenant1"]


async def test_metadata_falls_back_to_the_appended_location_on_404():
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.startswith("/.well-known/"):
            return httpx.Response(404)
        return httpx.Response(200, json=METADATA)

    client = client_answering(answer)
    try:
        await client.discover(ISSUER)
    finally:
        await client.aclose()
    assert asked == [
        "/.well-known/oauth-authorization-server/tenant1",
        "/tenant1/.well-known/oauth-authorization-server",
    ]


@pytest.mark.parametrize(
    "odd,pkce,iss",
    [
        ({"code_challenge_methods_supported": 5}, False, False),
        ({"code_challenge_methods_supported": "S256-not-really"}, False, False),
        ({"code_challenge_methods_supported": ["S256"]}, True, False),
        ({"authorization_response_iss_parameter_supported": "false"}, False, False),
        ({"authorization_response_iss_parameter_supported": True}, False, True),
    ],
)
def test_metadata_fields_are_read_strictly(odd, pkce, iss):
    base = endpoints.Endpoints("https://x/a", "https://x/t", revocation_url=None, identity_url=None)
    applied = endpoints.from_metadata(base, ISSUER, {**METADATA, **odd})
    assert (applied.pkce, applied.iss_required) == (pkce, iss)


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(302, headers={"location": "/login"}),
        httpx.Response(403),
        httpx.Response(200, text="<html>login</html>"),
    ],
)
async def test_metadata_falls_back_whatever_the_host_root_answers(first):
    def answer(request: httpx.Request) -> httpx.Response:
        return first if request.url.path.startswith("/.well-known/") else httpx.Response(200, json=METADATA)

    client = client_answering(answer)
    try:
        assert (await client.discover(ISSUER))["issuer"] == ISSUER
    finally:
        await client.aclose()


async def test_metadata_nowhere_is_a_discovery_error():
    client = client_answering(lambda _r: httpx.Response(404))
    try:
        with pytest.raises(OAuthProviderError) as info:
            await client.discover(ISSUER)
        assert info.value.error == "discovery_failed" and not info.value.retryable
    finally:
        await client.aclose()


@pytest.mark.parametrize("size", [2048, 2049])
async def test_the_answer_cap_is_exact_and_configurable(size):
    body = b'{"access_token": "' + b"a" * (size - 20) + b'"}'
    assert len(body) == size
    client = ProviderOAuthClient(
        attempts=1,
        max_answer_bytes=2048,
        transport=httpx.MockTransport(
            lambda _r: httpx.Response(200, content=body, headers={"content-type": "application/json"})
        ),
    )
    try:
        if size <= 2048:
            assert len(await client.get_json("https://api.example/user", "token")) == 1
        else:
            with pytest.raises(OAuthProviderError) as info:
                await client.get_json("https://api.example/user", "token")
            assert info.value.error == "answer_too_large"
    finally:
        await client.aclose()


async def test_a_compressed_answer_counts_at_its_decompressed_size():
    import gzip

    bomb = gzip.compress(b"0" * (8 * 1024 * 1024))  # 8 MiB of zeros in a few KiB
    assert len(bomb) < 64 * 1024
    client = ProviderOAuthClient(
        attempts=1,
        max_answer_bytes=1024 * 1024,
        transport=httpx.MockTransport(
            lambda _r: httpx.Response(
                200, content=bomb, headers={"content-type": "application/json", "content-encoding": "gzip"}
            )
        ),
    )
    try:
        with pytest.raises(OAuthProviderError) as info:
            await client.get_json("https://api.example/user", "token")
        assert info.value.error == "answer_too_large"
    finally:
        await client.aclose()
