"""Running connector code: every outcome becomes a result, plugins run in worker processes (real
ones: nothing here needs the stack) that cannot stall the event loop, and provider calls can only
go to the gateway route of their own connection."""

import asyncio
import os

import httpx
import pytest

from hub_common.testing.service_keys import service_minter
from hub_connector_sdk import ConnectionContext
from hub_connectors.domain.errors import InvalidParametersError, UnknownActionError
from hub_connectors.runtime import ConnectorRuntime, PluginTokens, ProcessIsolation, ProviderClientFactory
from hub_connectors.runtime.process_isolation import pool_key

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
async def runtime(recorder):
    factory = ProviderClientFactory(GATEWAY, transport_factory=lambda: httpx.MockTransport(recorder))
    runtime = ConnectorRuntime(
        factory,
        plugins=ProcessIsolation(gateway_url=GATEWAY, max_workers=4, max_per_connector=2, grace_s=3.0),
        tokens=PluginTokens(service_minter("connectors")),
        action_timeout_s=2.0,
        health_timeout_s=2.0,
    )
    yield runtime
    await runtime.aclose()


@pytest.fixture
def registry(kit):
    return kit.make_registry()


def ctx(connection_id="c-1", tenant_id="t-1"):
    return ConnectionContext(connection_id=connection_id, tenant_id=tenant_id)


ROGUE = pool_key("rogue", "t-1")  # the pool of the rogue plugin's workers for tenant t-1


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
        await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": ""}, tier="enterprise")
    with pytest.raises(UnknownActionError):
        await runtime.execute(registry.get("echoapi"), ctx(), "nope", {}, tier="enterprise")


async def test_health_reports_account_and_refused_credentials(runtime, registry, recorder):
    health = await runtime.health(registry.get("echoapi"), ctx(), tier="enterprise")
    assert health.is_healthy and health.account_info == {"id": "acct-1", "name": "Ada"}
    recorder.me_status = 401
    health = await runtime.health(registry.get("echoapi"), ctx(), tier="enterprise")
    assert not health.is_healthy and health.credentials_invalid
    recorder.me_status = 502
    health = await runtime.health(registry.get("echoapi"), ctx(), tier="enterprise")
    assert not health.is_healthy and not health.credentials_invalid and health.message == "down"


async def test_only_health_checks_are_marked_as_such_for_the_gateway(runtime, registry, recorder):
    # The gateway lets a connection still `initializing` through for this mark alone.
    await runtime.health(registry.get("echoapi"), ctx(), tier="enterprise")
    assert recorder.requests[-1].headers["x-hub-purpose"] == "health-check"
    await runtime.execute(
        registry.get("echoapi"), ctx(), "echo", {"message": "hi", "times": 1}, tier="enterprise"
    )
    assert "x-hub-purpose" not in recorder.requests[-1].headers


async def test_a_blocking_plugin_is_killed_at_its_deadline_without_freezing_the_loop(runtime, registry):
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    result = await runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": 60}, tier="enterprise")
    task.cancel()
    assert not result.success and result.error_code == "action_timeout"
    assert ticks > 20, "the event loop was blocked while the plugin slept"
    # Its worker was killed: the slot is free and no worker of that connector is left.
    assert runtime.plugins.in_flight(ROGUE) == 0 and runtime.plugins.idle_workers(ROGUE) == 0


async def test_an_async_hang_is_cancelled_inside_its_worker_which_is_reused(runtime, registry):
    result = await runtime.execute(registry.get("rogue"), ctx(), "hang", {"seconds": 60}, tier="enterprise")
    assert result.error_code == "action_timeout"
    assert runtime.plugins.in_flight(ROGUE) == 0 and runtime.plugins.idle_workers(ROGUE) == 1
    assert (await runtime.execute(registry.get("rogue"), ctx(), "fast", {}, tier="enterprise")).success
    assert runtime.plugins.spawned == 1


async def test_workers_are_reused_per_connector_and_tenant_never_across_tenants(runtime, registry):
    first = await runtime.execute(registry.get("rogue"), ctx(), "environ", {}, tier="enterprise")
    second = await runtime.execute(registry.get("rogue"), ctx("c-2"), "environ", {}, tier="enterprise")
    assert first.success and second.success
    assert first.data["pid"] == second.data["pid"] != os.getpid()
    assert runtime.plugins.spawned == 1
    # Another tenant's call never runs in a process that served this tenant (whatever the plugin
    # kept in memory or left running there stays with this tenant).
    other = await runtime.execute(
        registry.get("rogue"), ctx("c-3", tenant_id="t-2"), "environ", {}, tier="enterprise"
    )
    assert other.success and other.data["pid"] != first.data["pid"]
    assert runtime.plugins.spawned == 2


async def test_stuck_calls_make_that_connector_busy_not_the_others(runtime, registry):
    stuck = [
        asyncio.create_task(
            runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": 60}, tier="enterprise")
        )
        for _ in range(2)
    ]
    while runtime.plugins.in_flight(ROGUE) < 2:  # noqa: ASYNC110 - polls the pool's own counter
        await asyncio.sleep(0.01)
    busy = await runtime.execute(registry.get("rogue"), ctx(), "fast", {}, tier="enterprise")
    assert busy.error_code == "connector_busy"
    assert (
        await runtime.execute(registry.get("echoapi"), ctx(), "echo", {"message": "x"}, tier="enterprise")
    ).success
    assert [r.error_code for r in await asyncio.gather(*stuck)] == ["action_timeout"] * 2
    # Killed at the deadline: the slots are free at once.
    assert (await runtime.execute(registry.get("rogue"), ctx(), "fast", {}, tier="enterprise")).success


@pytest.mark.parametrize(
    ("action", "code", "text"),
    [
        ("explode", "connector_crashed", "RuntimeError: boom"),
        ("exit", "connector_crashed", "SystemExit"),
        ("die", "connector_crashed", "the plugin process exited (code 7)"),
        ("escape", "host_not_allowed", "only call their provider through the gateway"),
        ("absolute", "invalid_path", "relative"),
    ],
)
async def test_plugin_failures_become_error_results(runtime, registry, recorder, action, code, text):
    result = await runtime.execute(registry.get("rogue"), ctx(), action, {}, tier="enterprise")
    assert not result.success
    assert result.error_code == code
    assert text in result.error_message
    assert not any(r.url.host == "evil.test" for r in recorder.requests)
    # The service goes on, and so does the connector (in a new worker if its process ended).
    assert (await runtime.execute(registry.get("rogue"), ctx(), "fast", {}, tier="enterprise")).success


async def test_a_plugin_exit_is_contained_without_asyncio_noise(runtime, registry, caplog):
    result = await runtime.execute(registry.get("rogue"), ctx(), "exit", {}, tier="enterprise")
    assert result.error_code == "connector_crashed"
    assert "never retrieved" not in caplog.text


async def test_plugin_parameters_are_checked_in_the_worker_too(runtime, registry):
    with pytest.raises(InvalidParametersError):
        await runtime.execute(registry.get("rogue"), ctx(), "block", {"seconds": "long"}, tier="enterprise")
    with pytest.raises(UnknownActionError):
        await runtime.execute(registry.get("rogue"), ctx(), "nope", {}, tier="enterprise")


async def test_plugin_health_runs_in_its_worker_too(runtime, registry):
    health = await runtime.health(registry.get("rogue"), ctx(), tier="enterprise")
    assert health.is_healthy and health.account_info == {"id": "rogue-account"}
    assert runtime.plugins.spawned == 1


async def test_a_worker_gets_no_hub_secret_from_the_environment(runtime, registry, monkeypatch):
    monkeypatch.setenv("HUB_SERVICE_SECRET", "s" * 32)
    monkeypatch.setenv("HUB_POSTGRES_DSN", "postgresql://hub:secret@127.0.0.1:1/hub")
    monkeypatch.setenv("DATABASE_URL", "postgresql://hub:secret@127.0.0.1:1/hub")
    result = await runtime.execute(registry.get("rogue"), ctx(), "environ", {}, tier="enterprise")
    assert result.success
    assert set(result.data["names"]) <= {
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }


async def test_gateway_only_transport_refuses_other_connections():
    factory = ProviderClientFactory(
        GATEWAY, transport_factory=lambda: httpx.MockTransport(lambda r: httpx.Response(200))
    )
    client = factory(ctx("c-1"), "echoapi")
    client._http.base_url = httpx.URL(f"{GATEWAY}/v1/proxy/c-2/")
    with pytest.raises(Exception, match="through the gateway"):
        await client.get("x")
    await client.aclose()
