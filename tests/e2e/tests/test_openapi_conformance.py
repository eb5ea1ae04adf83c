"""Every service against its own OpenAPI document, with schemathesis, as real processes: generated
requests (valid and invalid, a bounded number per operation, with a real user token — for the
vault, a service token its policy accepts for the operation) must never
get a 5xx, nor a status code, content type or body the document does not describe.

The services run with a database of their own; tokens belong to a tenant of their own, so most
generated ids are another tenant's or nobody's (404), which is exactly what must hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from hub_common.settings import HubSettings
from hub_common.testing.service_keys import service_minter
from hub_common.web.auth import mint_user_token
from hub_e2e.processes import ServiceProcess

pytestmark = pytest.mark.e2e
SERVICES = ("vault", "connectors", "oauth", "gateway", "webhooks")
MAX_EXAMPLES = 12
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict[str, ServiceProcess]]:
    procs = {name: ServiceProcess(name, {}) for name in SERVICES}
    env = {
        "HUB_POSTGRES_DSN": module_dsn,
        "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
        "HUB_REDIS_URL": hub_stack.redis_url,
        **{f"HUB_{name.upper()}_URL": proc.url for name, proc in procs.items()},
        "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
    }
    try:
        for proc in procs.values():
            proc.env = env
            proc.migrate()
        for proc in procs.values():
            proc.start(timeout_s=60)
        yield procs
    finally:
        for proc in reversed(list(procs.values())):
            proc.stop()


def _token() -> str:
    return mint_user_token(HubSettings(), tenant="e2e-openapi", user="alice", tier="enterprise")


def _headers(service: str, path: str) -> dict[str, str]:
    """A user token, except for the vault (internal: service callers only), where each operation
    gets a caller its policy allows, so that generated requests reach the handlers instead of
    stopping at 401: operators for key administration, webhooks for HMACs and generated
    secrets, oauth for credentials (policies.toml)."""
    if service != "vault":
        return {"Authorization": f"Bearer {_token()}"}
    if path.startswith("/v1/admin/"):
        caller = "hubctl"
    elif "/hmac/" in path or path.endswith("/generate"):
        caller = "webhooks"
    else:
        caller = "oauth"
    return service_minter(caller).headers_for("vault")


def _schema(hub: dict[str, ServiceProcess], service: str) -> Any:
    raw = httpx.get(f"{hub[service].url}/openapi.json", timeout=15).json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=hub[service].url)
    return schema


def _failures(hub: dict[str, ServiceProcess], service: str) -> list[str]:
    """Run every operation of the service's document; the failures, one line each."""
    raw = httpx.get(f"{hub[service].url}/openapi.json", timeout=15).json()
    schema = schemathesis.openapi.from_dict(raw)
    schema.config.update(base_url=hub[service].url)
    checks = [getattr(schemathesis.checks, name) for name in CHECKS]
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        headers = _headers(service, operation.path)

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=checks, timeout=30)  # noqa: B023 - run() runs in this iteration

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # one line per failing operation; all at the end
            failures.append(f"{operation.label}: {str(exc).strip()[:1500]}")
    print(f"{service}: {operations} operations, {MAX_EXAMPLES} examples max each, {len(failures)} failing")
    return failures


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_conforms_to_its_openapi_document(hub, service):
    failures = _failures(hub, service)
    assert not failures, "\n\n".join(failures)


def test_every_error_response_is_documented_with_the_error_schema(hub):
    for service in SERVICES:
        document = httpx.get(f"{hub[service].url}/openapi.json", timeout=15).json()
        assert "ErrorBody" in document["components"]["schemas"], service
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if method == "parameters":
                    continue
                for status in ("401", "404", "422", "503"):
                    schema = operation["responses"][status]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        service,
                        method,
                        path,
                        status,
                    )
    gateway = httpx.get(f"{hub['gateway'].url}/openapi.json", timeout=15).json()
    assert any(path.startswith("/v1/proxy/") for path in gateway["paths"]), "the proxy route is documented"
    webhooks = httpx.get(f"{hub['webhooks'].url}/openapi.json", timeout=15).json()
    assert "/webhooks/{connector_id}/{registration_id}" in webhooks["paths"], "the intake is documented"
