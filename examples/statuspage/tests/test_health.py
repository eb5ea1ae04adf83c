from collections.abc import Callable

import pytest

from hub_connector_sdk.testkit import GatewayStub, run_health_check
from hub_connector_statuspage import StatuspageConnector

from .conftest import CONFIG

pytestmark = pytest.mark.unit


async def test_a_reachable_page_is_healthy_and_named(cassette: Callable[[str], GatewayStub]) -> None:
    stub = cassette("health_check")

    health = await run_health_check(StatuspageConnector, config=CONFIG, stub=stub)

    assert health.is_healthy and not health.credentials_invalid
    assert health.account_info == {
        "id": "kctbh9vrtdwd",
        "name": "Acme Cloud",
        "url": "https://status.acme.test",
        "subdomain": "acmecloud",
    }
    assert [c.path for c in stub.calls] == ["/pages/kctbh9vrtdwd"]


async def test_a_rejected_key_marks_the_credentials_invalid() -> None:
    health = await run_health_check(
        StatuspageConnector,
        config=CONFIG,
        responses={"GET /pages/{page_id}": (401, {"error": "Could not authenticate"})},
    )

    assert not health.is_healthy and health.credentials_invalid
    assert health.message == "Could not authenticate"


async def test_an_unknown_page_is_unhealthy_but_not_a_credentials_problem() -> None:
    health = await run_health_check(
        StatuspageConnector, config=CONFIG, responses={"GET /pages/{page_id}": (404, {"error": "Not found"})}
    )

    assert not health.is_healthy and not health.credentials_invalid


async def test_a_connection_without_page_id_is_unhealthy() -> None:
    health = await run_health_check(StatuspageConnector, config={})

    assert not health.is_healthy and "page_id" in (health.message or "")
