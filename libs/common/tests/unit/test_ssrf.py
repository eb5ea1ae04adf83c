import ipaddress

import pytest

from hub_common.ssrf import UrlNotAllowed, allow_listed, check_url

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://10.1.2.3/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
        "https://localhost/",
        "https://224.0.0.1/",
        "https://100.64.0.1/",
        "https://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
    ],
)
async def test_non_public_targets_are_refused(url):
    with pytest.raises(UrlNotAllowed):
        await check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "http://8.8.8.8/",
        "https://user:pw@8.8.8.8/",
        "https:///nohost",
        "https://8.8.8.8:99999/",
    ],
)
async def test_bad_shapes_are_refused(url):
    with pytest.raises(UrlNotAllowed):
        await check_url(url)


async def test_public_literal_addresses_pass():
    assert await check_url("https://8.8.8.8/v1") == "https://8.8.8.8/v1"


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "127.0.0.1:8443", "localhost"])
async def test_operator_allowlist_opens_specific_targets(entry):
    url = "https://localhost:8443/api" if entry == "localhost" else "https://127.0.0.1:8443/api"
    assert await check_url(url, allowlist=[entry]) == url


async def test_allowlist_wildcards_and_http_for_listed_hosts():
    assert await check_url("http://127.0.0.1:9000/", allowlist=["127.0.0.1"])
    with pytest.raises(UrlNotAllowed):
        await check_url("https://10.0.0.5/", allowlist=["127.0.0.1"])
    with pytest.raises(UrlNotAllowed):
        await check_url("https://sub.localhost/", allowlist=["*.example.com"])


async def test_an_unresolvable_host_is_its_own_error():
    from hub_common.ssrf import HostUnresolvable

    with pytest.raises(HostUnresolvable) as info:
        await check_url("https://no-such-host.invalid/")
    assert info.value.code == "host_unresolvable"


def test_a_6to4_address_is_as_public_as_the_ipv4_address_it_carries():
    import ipaddress

    from hub_common.ssrf import is_public

    assert is_public(ipaddress.ip_address("2002:808:808::1"))  # 8.8.8.8
    assert not is_public(ipaddress.ip_address("2002:a00:1::1"))  # 10.0.0.1


def test_an_allowed_network_must_cover_every_address_of_a_name():
    internal, metadata = ipaddress.ip_address("10.1.2.3"), ipaddress.ip_address("169.254.169.254")
    assert allow_listed("api.corp", 443, [internal], ["10.0.0.0/8"])
    # A name resolving to an allowed address AND the metadata service is not allowed by the network.
    assert not allow_listed("rebind.example", 443, [metadata, internal], ["10.0.0.0/8"])
    assert not allow_listed("rebind.example", 443, [internal, metadata], ["10.0.0.0/8"])
    assert not allow_listed("nothing.example", 443, [], ["10.0.0.0/8"])
    # Naming the host itself is the operator's explicit choice, whatever it resolves to.
    assert allow_listed("rebind.example", 443, [metadata, internal], ["rebind.example"])


@pytest.mark.parametrize("url", ["https://a..b.com/", "https://" + "x" * 64 + ".example/"])
async def test_a_host_name_that_cannot_exist_is_refused_not_a_crash(url):
    with pytest.raises(UrlNotAllowed):
        await check_url(url)
