from __future__ import annotations

import uuid
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub_gateway.domain.errors import (
    AbsoluteUrlRefused,
    ConnectionNotFound,
    GatewayError,
    HostInjection,
    InvalidPath,
    PathTraversal,
)
from hub_gateway.domain.paths import (
    check_provider_path,
    join_url,
    rewrite_prefix,
    split_proxy_path,
    upstream_path,
)

pytestmark = pytest.mark.unit
CID = uuid.UUID("6f1c2b1e-0000-4000-8000-000000000001")


def test_split_keeps_the_encoded_rest():
    assert split_proxy_path(f"/v1/proxy/{CID}/repos/a%2Fb") == (CID, "repos/a%2Fb")
    assert split_proxy_path(f"/v1/proxy/{CID}") == (CID, "")
    with pytest.raises(ConnectionNotFound):
        split_proxy_path("/v1/proxy/nope/x")


@pytest.mark.parametrize(
    ("rest", "error"),
    [
        ("..", PathTraversal),
        ("a/../b", PathTraversal),
        ("a/./b", PathTraversal),
        ("a/%2e%2e/b", PathTraversal),
        ("a/%2E%2e", PathTraversal),
        ("a/..%2fb", PathTraversal),
        ("a/%252e%252e/b", PathTraversal),
        ("a/%25252e%25252e/b", PathTraversal),
        ("http://evil", AbsoluteUrlRefused),
        ("javascript:alert(1)", AbsoluteUrlRefused),
        ("x%3A%2F%2Fevil", AbsoluteUrlRefused),
        ("/evil.example", HostInjection),
        ("%2fevil.example", HostInjection),
        ("%252fevil.example", HostInjection),
        ("a\\b", InvalidPath),
        ("a%5cb", InvalidPath),
        ("a%0d%0aHost:%20evil", InvalidPath),
        # Dot segments with parameters (Tomcat, Jetty and Spring read "..;" as "..").
        ("rest/api/2/..;/..;/admin", PathTraversal),
        ("..;/admin", PathTraversal),
        ("a/%2e%2e%3b/b", PathTraversal),
        ("a/..%3Bjsessionid=1/b", PathTraversal),
        ("a/.;x/b", PathTraversal),
        # Full-width dots, which NFKC normalization turns into "..".
        ("a/%ef%bc%8e%ef%bc%8e/b", PathTraversal),
        # Not percent-encoded: refused whatever it would mean (RFC 3986 §2.1). The latin-1 form is
        # how raw UTF-8 bytes reach the check (ASGI raw_path decoded as latin-1).
        ("a/\uff0e\uff0e/b", InvalidPath),
        ("a/\xef\xbc\x8e\xef\xbc\x8e/admin", InvalidPath),
        ("caf\xe9", InvalidPath),
        ("a%C2%85b", InvalidPath),  # a C1 control (NEL), encoded
        ("a/..%EF%BC%9Bx/b", PathTraversal),  # a full-width ";" after ".."
        ("a/%EF%BC%8E%EF%BC%8E%EF%BC%9B/b", PathTraversal),
        # Encoded more than the three rounds the checks decode.
        ("a/%2525252e%2525252e/b", InvalidPath),
    ],
)
def test_refused(rest, error):
    with pytest.raises(error):
        check_provider_path(rest)


@pytest.mark.parametrize(
    "rest",
    ["", "repos/o/r", "a%2Fb", "v1/@scope/pkg", "x..y/.hidden/...", "a:b", "m;v=1/x", "caf%C3%A9/..x"],
)
def test_accepted_paths_are_returned_as_sent(rest):
    if rest == "a:b":  # a colon in the first segment reads as a scheme: refused
        with pytest.raises(AbsoluteUrlRefused):
            check_provider_path(rest)
        return
    assert check_provider_path(rest) == "/" + rest


def test_join_stays_on_the_base_origin():
    assert join_url("https://api.x.com/v4/", "/users", "a=1") == "https://api.x.com/v4/users?a=1"
    assert join_url("https://api.x.com", "/", "") == "https://api.x.com/"
    with pytest.raises(HostInjection):
        join_url("https://api.x.com", "@evil.com/x", "")
    assert upstream_path("/users", "a=1") == "/users?a=1" and upstream_path("/", "") == "/"
    for bad in ("@evil.com/x", "//evil.com/x", "/a\\b"):
        with pytest.raises(HostInjection):
            upstream_path(bad, "")


def test_rewrite_prefix_is_checked_again():
    assert rewrite_prefix("/v1/items", "/v1/", "/v2/") == "/v2/items"
    assert rewrite_prefix("/other", "/v1/", "/v2/") == "/other"
    with pytest.raises(GatewayError):
        rewrite_prefix("/v1/x", "/v1/", "//evil/")


@given(st.text(alphabet=st.sampled_from(list("ab./%2eEfF5c:@?#\\ ")), max_size=24))
def test_fuzz_whatever_passes_never_leaves_the_origin_nor_climbs(rest):
    try:
        path = check_provider_path(rest)
    except GatewayError:
        return
    url = join_url("https://api.example.com/base", path, "")
    parts = urlsplit(url)
    assert parts.netloc == "api.example.com"
    decoded = path
    for _ in range(4):
        decoded = unquote(decoded)
    assert ".." not in decoded.split("/") and "\\" not in decoded
