"""Running connector code: every outcome becomes a result, plugins cannot stall the event loop,
and provider calls can only go to the gateway route of their own connection."""

import asyncio
import time

import httpx
import pytest

from hub_connector_sdk import ConnectionContext
from hub_connectors.domain.errors import InvalidParametersError, UnknownActionError
from hub_connectors.runtime import ConnectorRuntime, ProviderClientFactory, ThreadIsolation

pytestmark = pytest.mark.unit
GATEWAY = "http://gateway.test"


class Recorder:
    def __init__(self):
        self.requests: list[httpx.Request] = []
        self.me_status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.split("/", 4)[-1]
        if path == "me":
            if self.me_status == 401:
                return httpx.Response(401, json={"message": "bad credentials"})
            if self.me_status == 502:  # the gateway's own error body
                return httpx.Response(
                    502, json={"error": {"code": "provider_unreachable", "message": "down", "details": {}}}
                )
            return httpx.Response(200, json={"id": "acct-1", "name": "Ada"})
        if path == "echo":
            return httpx.Response(200, json={"echo": request.read().decode()})
        return httpx.Response(404, json={"message": "no such path"})


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def runtime(recorder):
    factory = ProviderClientFactory(GATEWAY, transport_factory=lambda: httpx.MockTransport(recorder))
    return ConnectorRuntime(
        factory,
        isolation=ThreadIsolation(max_threads=4, max_per_connector=2, grace_s=0.2),
        action_timeout_s=0.5,
        health_timeout_s=0.5,
    )


@pytest.fixture
def registry(kit):
    return kit.make_registry()


def ctx(connection_id="c-1"):
    return ConnectionContext(connection_id=connection_id, tenant_id="t-1")


async def test_builtin_action_goes_through_the_gateway_route(runtime, registry, recorder):
    result = await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": "hi", "times": 2})
    assert result.success and result.data == {"echo": '{"message":"hihi"}'}
    assert result.duration_ms is not None
    sent = recorder.requests[0]
    assert str(sent.url) == f"{GATEWAY}/v1/proxy/c-1/echo"
    assert sent.headers["x-hub-tenant"] == "t-1" and sent.headers["x-hub-connector"] == "echoapi"
    assert "x-hub-tier" not in sent.headers  # unknown here: the gateway applies its default


async def test_the_tenants_tier_goes_to_the_gateway_for_its_quota(runtime, registry, recorder):
    result = await runtime.execute(
        registry.get("echoapi"), ctx(), "echo", {"message": "hi", "times": 1}, tier="writerpro"
    )
    assert result.success
    assert recorder.requests[-1].headers["x-hub-tier"] == "writerpro"


async def test_bad_parameters_and_unknown_actions_are_client_errors(runtime, registry):
    with pytest.raises(InvalidParametersError):
        await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": ""})
    with pytest.raises(UnknownActionError):
        await runtime.execute(registry.get("echoapi"), ctx(), "nope", {})


async def test_health_reports_account_and_refused_credentials(runtime, registry, recorder):
    health = await runtime.health(registry.get("echoapi"), ctx())
    assert health.is_healthy and health.account_info == {"id": "acct-1", "name": "Ada"}
    recorder.me_status = 401
    health = await runtime.health(registry.get("echoapi"), ctx())
    assert not health.is_healthy and health.credentials_invalid
    recorder.me_status = 502
    health = await runtime.health(registry.get("echoapi"), ctx())
    assert not health.is_healthy and not health.credentials_invalid and health.message == "down"


async def test_only_health_checks_are_marked_as_such_for_the_gateway(runtime, registry, recorder):
    # The gateway lets a connection still `initializing` through for this mark alone.
    await runtime.health(registry.get("echoapi"), ctx())
    assert recorder.requests[-1].headers["x-hub-purpose"] == "health-check"
    await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": "hi", "times": 1})
    assert "x-hub-purpose" not in recorder.requests[-1].headers


async def test_a_blocking_plugin_times_out_without_freezing_the_loop(runtime, registry):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    result = await runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": 3})
    elapsed = time.perf_counter() - started
    task.cancel()
    assert not result.success and result.error_code == "action_timeout"
    assert elapsed < 1.5, elapsed
    assert ticks > 20, "the event loop was blocked while the plugin slept"


async def test_an_async_hang_is_cancelled_and_frees_its_slot(runtime, registry):
    result = await runtime.execute(registry.get("rogue"), ctx(), "hang", {"seconds": 30})
    assert result.error_code == "action_timeout"
    for _ in range(50):
        if runtime.isolation.in_flight("rogue") == 0:
            break
        await asyncio.sleep(0.02)
    assert runtime.isolation.in_flight("rogue") == 0


async def test_stuck_calls_make_that_connector_busy_not_the_others(runtime, registry):
    first, second = await asyncio.gather(
        runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": 2}),
        runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": 2}),
    )
    assert first.error_code == second.error_code == "action_timeout"
    busy = await runtime.execute(registry.get("rogue"), ctx(), "fast", {})
    assert busy.error_code == "connector_busy"
    assert (await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": "x"})).success
    await asyncio.sleep(1.6)  # the blocked threads finish and give their slots back
    assert (await runtime.execute(registry.get("rogue"), ctx(), "fast", {})).success


@pytest.mark.parametrize(
    ("action", "code", "text"),
    [
        ("explode", "connector_crashed", "RuntimeError: boom"),
        ("exit", "connector_crashed", "SystemExit"),
        ("escape", "host_not_allowed", "only call their provider through the gateway"),
        ("absolute", "invalid_path", "relative"),
    ],
)
async def test_plugin_failures_become_error_results(runtime, registry, recorder, action, code, text):
    result = await runtime.execute(registry.get("rogue"), ctx(), action, {})
    assert not result.success
    if code:
        assert result.error_code == code
    assert text in result.error_message
    assert not any(r.url.host == "evil.test" for r in recorder.requests)


async def test_a_plugin_exit_is_contained_without_asyncio_noise(runtime, registry, caplog):
    result = await runtime.execute(registry.get("rogue"), ctx(), "exit", {})
    assert result.error_code == "connector_crashed"
    assert "never retrieved" not in caplog.text


async def test_plugin_health_runs_isolated_too(runtime, registry):
    health = await runtime.health(registry.get("rogue"), ctx())
    assert health.is_healthy and health.account_info == {"id": "rogue-account"}


async def test_gateway_only_transport_refuses_other_connections():
    factory = ProviderClientFactory(
        GATEWAY, transport_factory=lambda: httpx.MockTransport(lambda r: httpx.Response(200))
    )
    client = factory(ctx("c-1"), "echoapi")
    client._http.base_url = httpx.URL(f"{GATEWAY}/v1/proxy/c-2/")
    with pytest.raises(Exception, match="through the gateway"):
        await client.get("x")
    await client.aclose()
