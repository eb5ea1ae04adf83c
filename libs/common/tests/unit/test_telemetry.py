"""Server spans by route template, 5xx as errors with (redacted) exception events, URLs without
their query, and no one-span traces from background database calls (ADR 0015)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind, StatusCode

from hub_common import telemetry
from hub_common.errors import HubError, NotFound
from hub_common.settings import HubSettings
from hub_common.telemetry import NoOrphanClientSpans, url_without_query
from hub_common.web import create_app, middleware

pytestmark = pytest.mark.unit
SECRET = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


@pytest.fixture
def spans(monkeypatch) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(middleware, "tracer", provider.get_tracer("test"))
    return exporter


def make_app():
    app = create_app(HubSettings(service_name="testsvc"), title="t")
    router = APIRouter()

    @router.get("/v1/tenants/{tenant_id}/things/{thing_id}")
    async def thing(tenant_id: str, thing_id: str) -> dict:
        if thing_id == "missing":
            raise NotFound("no such thing")
        if thing_id == "down":
            raise HubError("the store is down", code="store_down", status_code=503)
        if thing_id == "bug":
            raise RuntimeError(f"failed with api_key={SECRET}")
        return {"ok": True}

    app.include_router(router)
    return app


async def get(app, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_server_span_is_named_by_its_route_template(spans):
    resp = await get(make_app(), "/v1/tenants/acme/things/42?api_key=" + SECRET)
    assert resp.status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /v1/tenants/{tenant_id}/things/{thing_id}"
    assert span.attributes["http.route"] == "/v1/tenants/{tenant_id}/things/{thing_id}"
    assert span.attributes["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET
    assert SECRET not in repr(dict(span.attributes))  # the query is not recorded


async def test_a_4xx_is_not_an_error_and_an_unmatched_path_is_named_by_its_method(spans):
    assert (await get(make_app(), "/v1/tenants/acme/things/missing")).status_code == 404
    assert (await get(make_app(), "/nowhere/acme")).status_code == 404
    found, unmatched = spans.get_finished_spans()
    assert found.status.status_code is StatusCode.UNSET and not found.events
    assert unmatched.name == "GET" and "http.route" not in unmatched.attributes


async def test_a_5xx_hub_error_is_an_error_span_with_its_exception(spans):
    assert (await get(make_app(), "/v1/tenants/acme/things/down")).status_code == 503
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 503
    (event,) = span.events
    assert event.name == "exception" and event.attributes["exception.type"].endswith("HubError")


async def test_an_unhandled_exception_is_an_error_span_whose_event_is_redacted(spans):
    assert (await get(make_app(), "/v1/tenants/acme/things/bug")).status_code == 500
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /v1/tenants/{tenant_id}/things/{thing_id}"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 500
    (event,) = span.events
    assert event.attributes["exception.type"] == "RuntimeError"
    assert "failed with" in event.attributes["exception.message"]
    assert SECRET not in event.attributes["exception.message"]
    assert SECRET not in event.attributes["exception.stacktrace"]


def test_urls_lose_their_query_and_user_info():
    assert url_without_query("https://u:p@api.example.com:8443/v1/x?api_key=k#f") == (
        "https://api.example.com:8443/v1/x"
    )
    assert url_without_query("http://[::1]/a?b=c") == "http://[::1]/a"


def test_client_spans_without_a_parent_are_not_sampled_but_their_children_of_requests_are():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=NoOrphanClientSpans()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("poll", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span("GET /x", kind=SpanKind.SERVER),
        tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT),
    ):
        pass
    with tracer.start_as_current_span("process t", kind=SpanKind.CONSUMER):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["SELECT", "GET /x", "process t"]


def test_without_an_endpoint_nothing_is_instrumented(monkeypatch):
    monkeypatch.setattr(telemetry, "_configured", False)
    monkeypatch.setattr(telemetry, "_exporting", False)
    called = []
    monkeypatch.setattr(telemetry, "_instrument_libraries", lambda libs: called.append(libs))
    monkeypatch.setattr(telemetry.trace, "set_tracer_provider", lambda provider: None)
    telemetry.setup_telemetry("hub-test", None)
    assert called == [] and not telemetry.exporting()
