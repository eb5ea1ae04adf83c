"""Content exports through the connectors API against the real Postgres and Kafka: documents
land on integration.content in order, progress and cursor are visible, an incremental export
starts where the last one ended, and an export resumes from its checkpointed cursor after its
worker dies mid-page (another worker takes it over when the lease runs out)."""

import asyncio
import uuid

import pytest

from hub_common.testing import expect_events
from hub_connectors.services.content_exports import ExportRunner

pytestmark = pytest.mark.component  # neighbouring services stood in (docs/testing.md)


def docs(prefix: str, n: int) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{i}",
            "title": f"Doc {i}",
            "text": f"text of {i} " + "é" * 3,
            "url": f"https://echo.test/docs/{i}",
            "author": "alice",
            "updated_at": f"2026-03-0{1 + i % 9}T10:00:00Z",
        }
        for i in range(n)
    ]


async def connection(api, headers):
    body = {
        "connector_id": "echoapi",
        "name": f"ex-{uuid.uuid4().hex[:6]}",
        "credentials": {"api_key": "good-ex"},
    }
    created = await api.post("/v1/connections", json=body, headers=headers)
    assert created.status_code == 201 and created.json()["status"] == "active", created.text
    return created.json()["id"]


async def finished(api, headers, cid, export_id, wait_for):
    async def done():
        resp = await api.get(f"/v1/connections/{cid}/exports/{export_id}", headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json() if resp.json()["status"] != "running" else None

    return await wait_for(done, timeout_s=30)


async def test_export_publishes_documents_and_reports_progress(
    api, auth, tenant, gateway, kafka_bootstrap, wait_for
):
    headers = auth(tenant)
    cid = await connection(api, headers)
    gateway.documents[cid] = docs("a", 5)

    async with expect_events(
        kafka_bootstrap,
        "integration.content",
        match=lambda d: d["connection_id"] == cid,
        count=5,
        timeout_s=30,
    ) as seen:
        resp = await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)
        assert resp.status_code == 202, resp.text
        started = resp.json()
        assert started["status"] == "running" and started["mode"] == "full"
        again = await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)
        assert again.status_code in (202, 409)
        if again.status_code == 409:  # still running: one export at a time
            assert again.json()["error"]["code"] == "export_running"
            assert again.json()["error"]["details"]["export_id"] == started["id"]
        result = await finished(api, headers, cid, started["id"], wait_for)

    assert result["status"] == "completed", result
    assert result["pages"] == 3 and result["documents"] == 5 and result["cursor"] == "5"
    events = [e.data for e in seen if e.data["export_id"] == started["id"]]
    assert [e["id"] for e in events] == ["a-0", "a-1", "a-2", "a-3", "a-4"]
    first = events[0]
    assert first["connector_id"] == "echoapi" and first["tenant_id"] == tenant
    assert (
        first["title"] == "Doc 0"
        and first["url"] == "https://echo.test/docs/0"
        and first["author"] == "alice"
    )
    assert first["updated_at"].startswith("2026-03-01T10:00:00")

    # Incremental: only what came after the last completed export's cursor.
    gateway.documents[cid] += docs("b", 2)
    listed = (await api.get(f"/v1/connections/{cid}/exports", headers=headers)).json()["exports"]
    assert listed[0]["id"] == result["id"]
    async with expect_events(
        kafka_bootstrap,
        "integration.content",
        match=lambda d: d["connection_id"] == cid,
        count=2,
        timeout_s=30,
    ) as seen:
        resp = await api.post(f"/v1/connections/{cid}/exports", json={"mode": "incremental"}, headers=headers)
        assert resp.status_code == 202 and resp.json()["start_cursor"] == "5", resp.text
        incremental = await finished(api, headers, cid, resp.json()["id"], wait_for)
    assert incremental["status"] == "completed" and incremental["documents"] == 2
    assert [e.data["id"] for e in seen] == ["b-0", "b-1"]


async def test_export_resumes_from_its_cursor_after_its_worker_dies(
    api, auth, tenant, gateway, container, kafka_bootstrap, wait_for
):
    headers = auth(tenant)
    cid = await connection(api, headers)
    gateway.documents[cid] = docs("r", 9)  # five pages, at offsets 0, 2, 4, 6, 8
    gate = gateway.doc_gates[(cid, 6)] = asyncio.Event()  # the worker hangs inside the fourth
    first_worker = container.export_runner

    async with expect_events(
        kafka_bootstrap, "integration.content", match=lambda d: d["connection_id"] == cid, count=9,
        timeout_s=40, exact=True, settle_s=1.0,
    ) as seen:  # fmt: skip
        export_id = (await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)).json()["id"]

        async def at_page_three():
            resp = (await api.get(f"/v1/connections/{cid}/exports/{export_id}", headers=headers)).json()
            return resp if resp["pages"] == 3 else None

        mid = await wait_for(at_page_three, timeout_s=30)
        assert mid["status"] == "running" and mid["cursor"] == "6" and mid["documents"] == 6

        # The worker dies mid-page: no clean release, its lease has to run out.
        await first_worker.stop(release=False)
        gate.set()
        second_worker = ExportRunner(
            container.db, container.registry, container.runtime, container.exports,
            lease_s=2.0, poll_interval_s=0.2,
        )  # fmt: skip
        second_worker.start()
        try:
            result = await finished(api, headers, cid, export_id, wait_for)
        finally:
            await second_worker.stop()
            first_worker.start()

    assert result["status"] == "completed" and result["pages"] == 5 and result["documents"] == 9
    served = [offset for c, offset in gateway.doc_pages_served if c == cid]
    assert served.count(0) == served.count(2) == served.count(4) == 1  # committed pages never again
    assert served.count(6) >= 1 and served.count(8) == 1
    assert sorted(e.data["id"] for e in seen) == sorted(f"r-{i}" for i in range(9))  # none lost or repeated


async def test_a_failing_page_is_retried_and_rejected_credentials_end_the_export(
    api, auth, tenant, gateway, wait_for
):
    headers = auth(tenant)
    cid = await connection(api, headers)
    gateway.documents[cid] = docs("f", 3)
    gateway.doc_failures[cid] = [503]  # once: the provider is briefly unavailable
    export_id = (await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)).json()["id"]
    result = await finished(api, headers, cid, export_id, wait_for)
    assert result["status"] == "completed" and result["documents"] == 3, result

    gateway.doc_failures[cid] = [401]
    export_id = (await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)).json()["id"]
    result = await finished(api, headers, cid, export_id, wait_for)
    assert result["status"] == "failed" and result["error_code"] == "credentials_rejected", result
    assert result["documents"] == 0 and "leak-me-not" not in str(result)


async def test_exports_are_tenant_scoped_and_need_support(api, auth, tenant, gateway):
    headers = auth(tenant)
    cid = await connection(api, headers)
    gateway.documents[cid] = docs("s", 1)
    export_id = (await api.post(f"/v1/connections/{cid}/exports", json={}, headers=headers)).json()["id"]
    other = auth(f"other-{uuid.uuid4().hex[:6]}")
    assert (await api.get(f"/v1/connections/{cid}/exports/{export_id}", headers=other)).status_code == 404
    assert (await api.post(f"/v1/connections/{cid}/exports", json={}, headers=other)).status_code == 404
    missing = await api.get(f"/v1/connections/{cid}/exports/{uuid.uuid4()}", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "export_not_found"
    bad = await api.post(f"/v1/connections/{cid}/exports", json={"mode": "sideways"}, headers=headers)
    assert bad.status_code == 422
