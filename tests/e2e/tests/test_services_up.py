"""Every service starts as a real process against the real stack, answers the common
endpoints, and stops cleanly on SIGTERM."""

import signal

import httpx
import pytest

from hub_common.testing.tracing import trace_id_for, traced
from hub_e2e.processes import ServiceProcess

pytestmark = pytest.mark.e2e
SERVICES = ["vault", "oauth", "connectors", "webhooks", "gateway"]


@pytest.fixture(scope="module")
def stack_env(hub_stack, module_dsn):
    return {
        "HUB_POSTGRES_DSN": module_dsn,
        "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
        "HUB_REDIS_URL": hub_stack.redis_url,
    }


@pytest.mark.parametrize("service", SERVICES)
def test_service_process_lifecycle(service, stack_env):
    env = dict(stack_env)
    svc = ServiceProcess(service, env)
    svc.migrate()
    svc.start()
    try:
        assert httpx.get(f"{svc.url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{svc.url}/readyz").json()
        assert ready["status"] == "ready" and "postgres" in ready["checks"] and "kafka" in ready["checks"]
        missing = httpx.get(f"{svc.url}/v1/definitely-not-here", headers=traced("e2e-1"))
        assert missing.status_code == 404
        # The request id is the trace id of the caller's traceparent, in the header and the body.
        assert missing.headers["x-request-id"] == trace_id_for("e2e-1")
        assert missing.json()["error"]["request_id"] == trace_id_for("e2e-1")
        assert missing.json()["error"]["code"] == "not_found"
        assert "hub_http_request_duration_seconds" in httpx.get(f"{svc.url}/metrics").text
    finally:
        code = svc.stop()
    # uvicorn re-raises SIGTERM after a graceful shutdown, so -15 is a clean exit too.
    assert code in (0, -signal.SIGTERM), svc.log_tail()
    log = svc.log_path.read_text()
    assert "Application shutdown complete" in log
    assert all(line.startswith("{") for line in log.splitlines() if line.strip()), "logs are JSON lines"
