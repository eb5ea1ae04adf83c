import uuid

import pytest

from hub_vault.api.fast_credentials import MANY_ROUTE, ROUTE, _store_body, _store_many_body, match

pytestmark = pytest.mark.unit

CONNECTION = uuid.uuid4()


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "headers": []}


def test_serves_get_and_put_of_one_credential_only():
    path = f"/v1/tenants/acme/connections/{CONNECTION}/credentials/access_token"
    for method in ("GET", "PUT"):
        target = match(_scope(method, path))
        assert target is not None and target.method == method
        assert (target.owner.tenant_id, target.owner.connection_id) == ("acme", CONNECTION)
        assert target.owner.credential_key == "access_token" and target.route == ROUTE
    assert match(_scope("DELETE", path)) is None
    collection = path.rsplit("/", 1)[0]
    assert match(_scope("GET", collection)) is None  # the list route
    assert match(_scope("DELETE", collection)) is None  # delete-all
    many = match(_scope("PUT", collection))
    assert many is not None and many.key is None and many.route == MANY_ROUTE
    assert (many.tenant_id, many.connection_id) == ("acme", CONNECTION)
    assert match(_scope("GET", path + "/generate")) is None


@pytest.mark.parametrize(
    "tenant, connection, key",
    [
        ("acme\n", str(CONNECTION), "api_key"),  # `$` would allow a trailing newline
        ("acme", str(CONNECTION), "api_key\n"),
        ("bad tenant", str(CONNECTION), "api_key"),
        ("acme", CONNECTION.hex, "api_key"),  # other spellings are the FastAPI route's
        ("acme", "{" + str(CONNECTION) + "}", "api_key"),
        ("acme", str(CONNECTION), "UPPER"),
    ],
)
def test_anything_unusual_is_left_to_the_fastapi_routes(tenant, connection, key):
    assert match(_scope("GET", f"/v1/tenants/{tenant}/connections/{connection}/credentials/{key}")) is None


@pytest.mark.parametrize(
    "raw, parsed",
    [
        (b'{"value": "v"}', ("v", None)),
        (b'{"value": "v", "expected_version": 0}', ("v", 0)),
        (b'{"value": "v", "expected_version": null}', ("v", None)),
        (b'{"value": ""}', None),
        (b'{"value": "v", "expected_version": false}', None),
        (b'{"value": "v", "expected_version": 1.0}', None),
        (b'{"value": "v", "other": 1}', None),
        (b'{"expected_version": 1}', None),
        (b'"v"', None),
        (b"{", None),
    ],
)
def test_store_bodies_are_exactly_the_store_request_model(raw, parsed):
    assert _store_body(raw) == parsed


@pytest.mark.parametrize(
    "raw, parsed",
    [
        (
            b'{"values": {"access_token": "a", "refresh_token": "r"}}',
            {"access_token": "a", "refresh_token": "r"},
        ),
        (b'{"values": {}}', None),
        (b'{"values": {"access_token": ""}}', None),
        (b'{"values": {"access_token": 1}}', None),
        (b'{"values": {"UPPER": "v"}}', None),
        (b'{"values": {"access_token": "v"}, "other": 1}', None),
        (b'{"values": [["access_token", "v"]]}', None),
        (b"{}", None),
        (b"{", None),
    ],
)
def test_store_many_bodies_are_exactly_the_store_many_request_model(raw, parsed):
    assert _store_many_body(raw) == parsed


def test_store_many_bodies_over_the_batch_limit_are_left_to_the_fastapi_route():
    values = ", ".join(f'"api_key.k{i}": "v"' for i in range(17))
    assert _store_many_body(f'{{"values": {{{values}}}}}'.encode()) is None
