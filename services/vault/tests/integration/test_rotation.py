"""Rotation, online rewrap under load, retirement, and a keyring that does not belong."""

import asyncio
import base64
import json
import logging
import random
import uuid

import pytest

from hub_common.testing import eventually, expect_events
from hub_vault.adapters.keyring_source import write_keyring_file
from hub_vault.config import VaultSettings
from hub_vault.domain.errors import KeyringMismatch
from hub_vault.domain.keyring import new_keyring, parse_keyring
from hub_vault.inject import Container

pytestmark = pytest.mark.integration


def _url(tenant, connection, key):
    return f"/v1/tenants/{tenant}/connections/{connection}/credentials/{key}"


async def _versions(admin):
    response = await admin.get("/v1/admin/key-versions")
    assert response.status_code == 200, response.text
    return {v["version"]: v for v in response.json()["versions"]}


async def _wait_for_job(admin, job_id, timeout_s=60.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        job = (await admin.get(f"/v1/admin/rewrap-jobs/{job_id}")).json()
        if job["status"] != "running":
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"rewrap job still running: {job}")


async def _finish_rows(vault, job_id) -> list[dict]:
    """The job's ``admin.rewrap.finish`` audit rows, details decoded."""
    conn = await vault.db()
    try:
        rows = await conn.fetch(
            "SELECT caller, outcome, key_version, details FROM audit "
            "WHERE operation = 'admin.rewrap.finish' AND details->>'job_id' = $1",
            str(job_id),
        )
    finally:
        await conn.close()
    out = []
    for row in rows:
        details = row["details"]
        out.append({**dict(row), "details": json.loads(details) if isinstance(details, str) else details})
    return out


async def test_rotate_and_rewrap_under_concurrent_reads_and_writes(private_vault, tenant, kafka_bootstrap):
    vault = private_vault
    owners = [(uuid.uuid4(), key) for _ in range(150) for key in ("access_token", "refresh_token")]
    read_only = owners[: len(owners) // 2]  # exact values checked on every read
    churned = owners[len(owners) // 2 :]  # rewritten all along; last write must win
    latest: dict[tuple, str] = {}
    failures: list[str] = []
    counts = {"reads": 0, "writes": 0}
    stop = asyncio.Event()

    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        for connection, key in owners:
            value = f"v0-{connection}-{key}"
            assert (await oauth.put(_url(tenant, connection, key), json={"value": value})).status_code == 201
            latest[(connection, key)] = value

        async def reader() -> None:
            while not stop.is_set():
                connection, key = random.choice(read_only)
                response = await oauth.get(_url(tenant, connection, key))
                counts["reads"] += 1
                if response.status_code != 200 or response.json()["value"] != latest[(connection, key)]:
                    failures.append(f"read {response.status_code} {response.text[:120]}")

        async def writer(n: int) -> None:
            mine = churned[n::2]  # each writer owns its keys, so its last write must be what is stored
            i = 0
            while not stop.is_set():
                connection, key = mine[i % len(mine)]
                value = f"w{n}-{i}-{uuid.uuid4().hex}"
                i += 1
                response = await oauth.put(_url(tenant, connection, key), json={"value": value})
                counts["writes"] += 1
                if response.status_code not in (200, 201):
                    failures.append(f"write {response.status_code} {response.text[:120]}")
                else:
                    latest[(connection, key)] = value

        load = [asyncio.create_task(reader()) for _ in range(4)]
        load += [asyncio.create_task(writer(n)) for n in range(2)]
        await eventually(lambda: counts["reads"] >= 20 and counts["writes"] >= 5, what="the load running")

        rotated = await admin.post("/v1/admin/key-versions")
        assert rotated.status_code == 201, rotated.text
        assert rotated.json()["version"] == 2 and rotated.json()["primary"] is True

        refused = await admin.post("/v1/admin/key-versions/1/retire")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "key_version_in_use"

        probe = read_only[0][0]
        async with expect_events(
            kafka_bootstrap,
            "credential.changed",
            match=lambda e: e["connection_id"] == str(probe) and e["change"] == "rewrapped",
            count=1,
            timeout_s=30,
        ) as seen:
            started = await admin.post("/v1/admin/rewrap-jobs", json={"batch_size": 25})
            assert started.status_code == 202, started.text
            job = await _wait_for_job(admin, started.json()["id"])
        assert seen[0].data["key_version"] == 2
        so_far = dict(counts)  # keep the load on after the rewrap, too
        await eventually(
            lambda: counts["reads"] >= so_far["reads"] + 20 and counts["writes"] >= so_far["writes"] + 5,
            what="the load running after the rewrap",
        )
        stop.set()
        await asyncio.gather(*load)

        assert failures == []
        assert counts["reads"] > 100 and counts["writes"] > 20
        assert job["status"] == "completed", job
        assert job["remaining"] == 0 and job["failed"] == 0
        assert job["rewrapped"] + job["skipped"] >= 1
        versions = await _versions(admin)
        assert versions[1]["values"] == 0
        assert versions[2]["values"] == len(owners) and versions[2]["state"] == "primary"

        # Every value, including the ones rewritten during the rewrap, is the last one written.
        for (connection, key), value in latest.items():
            response = await oauth.get(_url(tenant, connection, key))
            assert response.json() == {**response.json(), "value": value, "key_version": 2}

        retired = await admin.post("/v1/admin/key-versions/1/retire")
        assert retired.status_code == 200, retired.text
        assert retired.json()["material_destroyed"] is True
        assert [k["version"] for k in json.loads(vault.keyring_path.read_text())["keys"]] == [2]
        versions = await _versions(admin)
        assert versions[1]["state"] == "retired" and versions[1]["in_keyring"] is False
        assert "material" not in json.dumps(versions)

        primary = await admin.post("/v1/admin/key-versions/2/retire")
        assert primary.status_code == 409 and primary.json()["error"]["code"] == "key_version_is_primary"
        unknown = await admin.post("/v1/admin/key-versions/99/retire")
        assert unknown.status_code == 404


async def test_rewrap_resumes_and_reports_progress(private_vault, tenant):
    vault = private_vault
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        connection = uuid.uuid4()
        for i in range(30):
            await oauth.put(_url(tenant, connection, f"api_key.{i}"), json={"value": f"k{i}"})
        await admin.post("/v1/admin/key-versions")
        conn = await vault.db()
        try:
            # A job left "running" by a process that died after its first batch.
            first = await conn.fetchval("SELECT id FROM credentials ORDER BY id OFFSET 10 LIMIT 1")
            job_id = await conn.fetchval(
                "INSERT INTO rewrap_jobs (target_version, batch_size, total, started_by, cursor) "
                "VALUES (2, 7, 30, 'hubctl', $1) RETURNING id",
                first,
            )
        finally:
            await conn.close()
        started = await admin.post("/v1/admin/rewrap-jobs")
        assert started.status_code == 202
        assert started.json()["id"] == str(job_id)  # resumed, not restarted
        job = await _wait_for_job(admin, job_id)
        assert job["status"] == "completed" and job["remaining"] == 0
        assert job["passes"] >= 1  # the rows before the cursor were picked up on a second pass
        listed = (await admin.get("/v1/admin/rewrap-jobs")).json()["jobs"]
        assert listed[0]["id"] == str(job_id)
        finished = await _finish_rows(vault, job_id)
        assert len(finished) == 1
        row = finished[0]
        assert (row["caller"], row["outcome"], row["key_version"]) == ("hubctl", "ok", 2)
        details = row["details"]
        assert details["status"] == "completed" and details["failed"] == 0 and details["error"] is None
        assert details["rewrapped"] == job["rewrapped"]


async def test_rows_a_request_holds_through_a_whole_pass_are_rewrapped_on_a_later_one(private_vault, tenant):
    """The rewrap skips what a request holds; a pass that could only skip is not the end."""
    vault = private_vault
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        connection = uuid.uuid4()
        for key in ("access_token", "refresh_token"):
            await oauth.put(_url(tenant, connection, key), json={"value": f"v-{key}"})
        await admin.post("/v1/admin/key-versions")
        holder = await vault.db()
        try:
            tx = holder.transaction()
            await tx.start()
            await holder.execute("SELECT 1 FROM credentials FOR UPDATE")  # every row, for a while
            started = await admin.post("/v1/admin/rewrap-jobs")
            assert started.status_code == 202
            job_url = f"/v1/admin/rewrap-jobs/{started.json()['id']}"

            async def a_pass_done() -> bool:
                return (await admin.get(job_url)).json()["passes"] >= 1

            await eventually(a_pass_done, what="a first pass, which could only skip")
            await tx.rollback()
        finally:
            await holder.close()
        job = await _wait_for_job(admin, started.json()["id"])
        assert job["status"] == "completed" and job["remaining"] == 0, job
        assert (await _versions(admin))[1]["values"] == 0


async def test_a_job_for_an_older_primary_is_superseded_and_its_end_audited(private_vault, tenant):
    vault = private_vault
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        await oauth.put(_url(tenant, uuid.uuid4(), "api_key"), json={"value": "k"})
        await admin.post("/v1/admin/key-versions")
        await admin.post("/v1/admin/key-versions")  # primary is 3 now
        conn = await vault.db()
        try:
            # Left "running" for version 2 by a process that died before the second rotation.
            stale = await conn.fetchval(
                "INSERT INTO rewrap_jobs (target_version, batch_size, total, started_by) "
                "VALUES (2, 7, 1, 'hubctl') RETURNING id"
            )
        finally:
            await conn.close()
        started = await admin.post("/v1/admin/rewrap-jobs")
        assert started.status_code == 202 and started.json()["id"] != str(stale)
        assert (await _wait_for_job(admin, started.json()["id"]))["status"] == "completed"
        assert (await admin.get(f"/v1/admin/rewrap-jobs/{stale}")).json()["status"] == "superseded"
        finished = await _finish_rows(vault, stale)
        assert [(r["outcome"], r["key_version"]) for r in finished] == [("ok", 2)]
        assert finished[0]["details"]["status"] == "superseded"


async def test_a_job_whose_end_cannot_be_audited_stays_resumable(private_vault, tenant, caplog):
    vault = private_vault
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        for i in range(5):
            await oauth.put(_url(tenant, uuid.uuid4(), "api_key"), json={"value": f"k{i}"})
        await admin.post("/v1/admin/key-versions")
        conn = await vault.db()
        await conn.execute("""
            CREATE FUNCTION vault.refuse_finish() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.operation = 'admin.rewrap.finish' THEN RAISE EXCEPTION 'audit full'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER finish_broken BEFORE INSERT ON vault.audit
                FOR EACH ROW EXECUTE FUNCTION vault.refuse_finish();
        """)
        try:
            with caplog.at_level(logging.ERROR, logger="hub_vault.services.rewrap"):
                job_id = (await admin.post("/v1/admin/rewrap-jobs")).json()["id"]
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 30
                while "its end was not recorded" not in caplog.text:
                    assert loop.time() < deadline, "the job's end was never attempted"
                    await asyncio.sleep(0.05)
            job = (await admin.get(f"/v1/admin/rewrap-jobs/{job_id}")).json()
            assert job["status"] == "running" and job["remaining"] == 0
        finally:
            await conn.execute("DROP TRIGGER finish_broken ON vault.audit")
            await conn.close()
        resumed = await admin.post("/v1/admin/rewrap-jobs")
        while resumed.status_code == 409:  # the failed run still lets go of its lock
            assert resumed.json()["error"]["code"] == "rewrap_running"
            await asyncio.sleep(0.05)
            resumed = await admin.post("/v1/admin/rewrap-jobs")
        assert resumed.status_code == 202 and resumed.json()["id"] == job_id
        assert (await _wait_for_job(admin, job_id))["status"] == "completed"
        assert len(await _finish_rows(vault, job_id)) == 1


async def test_a_rotation_is_recorded_before_the_file_changes_and_skips_a_dead_reservation(
    private_vault, tenant
):
    """A rotation that died between its record and its file write left version 2 reserved:
    the next rotation goes to 3, and its audit row and version row came before the file."""
    vault = private_vault
    conn = await vault.db()
    try:
        await conn.execute(
            "INSERT INTO key_versions (version, key_check) VALUES (2, 'reserved-by-a-dead-rotation')"
        )
    finally:
        await conn.close()
    async with vault.http("hubctl") as admin, vault.http("oauth") as oauth:
        rotated = await admin.post("/v1/admin/key-versions")
        assert rotated.status_code == 201, rotated.text
        assert rotated.json()["version"] == 3
        stored = await oauth.put(_url(tenant, uuid.uuid4(), "access_token"), json={"value": "after"})
        assert stored.status_code == 201 and stored.json()["key_version"] == 3
    conn = await vault.db()
    try:
        audit = await conn.fetch(
            "SELECT outcome, key_version FROM audit WHERE operation = 'admin.keys.rotate' ORDER BY id"
        )
    finally:
        await conn.close()
    assert [(r["outcome"], r["key_version"]) for r in audit] == [("ok", 3)]


async def test_rotation_needs_a_writable_keyring(
    vault_database, kafka_bootstrap, credential_topic, tmp_path, vault_runner
):
    from hub_vault.domain.keyring import dump_keyring_json

    dsn = await vault_database()
    inline = dump_keyring_json(new_keyring())
    async with vault_runner(dsn, kafka_bootstrap, tmp_path / "unused.json", vault_keyring=inline) as vault:
        async with vault.http("hubctl") as admin:
            response = await admin.post("/v1/admin/key-versions")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "keyring_read_only"


async def test_a_foreign_keyring_is_refused_at_startup(vault_database, tmp_path, kafka_bootstrap):
    dsn = await vault_database()
    path = tmp_path / "keyring.json"
    for attempt in range(2):
        write_keyring_file(path, new_keyring())  # a different key 1 the second time
        settings = VaultSettings(
            environment="test", postgres_dsn=dsn, kafka_bootstrap=kafka_bootstrap, vault_keyring_file=path
        )
        container = Container(settings, needs=("postgres",))
        try:
            if attempt == 0:
                await container.start()
            else:
                with pytest.raises(KeyringMismatch, match="key check differs"):
                    await container.start()
        finally:
            await container.stop()


async def test_a_reloaded_keyring_with_another_key_for_a_known_version_is_refused(
    private_vault, tenant, caplog
):
    """The startup check on reload: the file is swapped for one with a different key 1."""
    vault = private_vault
    url = _url(tenant, uuid.uuid4(), "access_token")
    original = parse_keyring(vault.keyring_path.read_text())
    foreign = new_keyring()
    async with vault.http("oauth") as oauth:
        assert (await oauth.put(url, json={"value": "before"})).status_code == 201
        with caplog.at_level(logging.ERROR, logger="hub_vault.adapters.keyring_source"):
            write_keyring_file(vault.keyring_path, foreign)
            for _ in range(3):  # a reload check is due every 0.05 s here, on the next request
                await asyncio.sleep(0.1)
                # The previous keyring stays in use: reads work, writes still use the right key.
                assert (await oauth.get(url)).json()["value"] == "before"
            assert (await oauth.put(url, json={"value": "during"})).status_code == 200
        refusals = [r for r in caplog.records if r.getMessage().startswith("keyring reload refused")]
        assert len(refusals) >= 2  # tried again on every reload, not once and forgotten
        assert all(r.key_versions == [1] for r in refusals)
        material = base64.b64encode(foreign.primary.material).decode()
        assert material not in caplog.text and material[:16] not in caplog.text

        write_keyring_file(vault.keyring_path, original.rotated())  # the right key, plus version 2

        async def stored_under_2():
            stored = await oauth.put(url, json={"value": "after"})
            assert stored.status_code == 200, stored.text
            return stored.json()["key_version"] == 2

        await eventually(stored_under_2, what="the reloaded keyring's primary in use")
        assert (await oauth.get(url)).json()["value"] == "after"
    conn = await vault.db()
    try:
        recorded = await conn.fetchval("SELECT key_check FROM key_versions WHERE version = 1")
    finally:
        await conn.close()
    assert recorded == original.primary.key_check != foreign.primary.key_check


async def test_rewrap_never_overwrites_a_concurrent_write(private_vault, tenant):
    """The optimistic check, step by step: read a batch, a write lands, the batch is applied."""
    from hub_vault.domain import crypto
    from hub_vault.repositories import credentials
    from hub_vault.repositories.credentials import Rewrapped

    vault = private_vault
    connection = uuid.uuid4()
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        loaded = await _two_values_then_rotate(vault, oauth, admin, tenant, connection)
        conn = await vault.db()
        try:
            batch = await credentials.batch_not_at(conn, 2, None, 10)
            assert len(batch) == 2
            items = [Rewrapped(s.id, s.version, *_wrapped(crypto, loaded, s)) for s in batch]
            # A write lands between the rewrap's read and its update.
            await oauth.put(_url(tenant, connection, "access_token"), json={"value": "new-value"})
            moved = await credentials.apply_rewraps(conn, 2, items)
        finally:
            await conn.close()
        assert [o.credential_key for o in moved] == ["refresh_token"]
        assert (await oauth.get(_url(tenant, connection, "access_token"))).json()["value"] == "new-value"
        untouched = await oauth.get(_url(tenant, connection, "refresh_token"))
        assert untouched.json()["value"] == "old-refresh_token"


async def test_a_rewrap_keeps_a_compare_and_swap_valid_and_never_waits_on_a_writer(private_vault, tenant):
    """oauth reads a refresh token with its version, a rewrap batch lands while it is at the
    provider, and its write with expected_version still succeeds. A row a request holds locked
    during the batch is skipped (no wait, no deadlock) and left for the next pass."""
    from hub_vault.domain import crypto
    from hub_vault.repositories import credentials
    from hub_vault.repositories.credentials import Rewrapped

    vault = private_vault
    connection = uuid.uuid4()
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        loaded = await _two_values_then_rotate(vault, oauth, admin, tenant, connection)
        read = (await oauth.get(_url(tenant, connection, "refresh_token"))).json()
        writer, rewrapper = await vault.db(), await vault.db()
        try:
            batch = await credentials.batch_not_at(rewrapper, 2, None, 10)
            items = [Rewrapped(s.id, s.version, *_wrapped(crypto, loaded, s)) for s in batch]
            held = next(s for s in batch if s.owner.credential_key == "access_token")
            async with writer.transaction():  # a request holding the access token's row
                await writer.execute("SELECT 1 FROM credentials WHERE id = $1 FOR UPDATE", held.id)
                moved = await asyncio.wait_for(credentials.apply_rewraps(rewrapper, 2, items), 5)
            assert [o.credential_key for o in moved] == ["refresh_token"]
            assert len(await credentials.batch_not_at(rewrapper, 2, None, 10)) == 1  # the next pass's
        finally:
            await writer.close()
            await rewrapper.close()
        swapped = await oauth.put(
            _url(tenant, connection, "refresh_token"),
            json={"value": "rotated", "expected_version": read["version"]},
        )
        assert swapped.status_code == 200, swapped.text
        assert (await oauth.get(_url(tenant, connection, "refresh_token"))).json()["value"] == "rotated"


async def _two_values_then_rotate(vault, oauth, admin, tenant, connection):
    """Two values under version 1, then version 2 made primary; the keyring as the vault has it."""
    from hub_vault.adapters.keyring_source import open_keyring_source

    for key in ("access_token", "refresh_token"):
        await oauth.put(_url(tenant, connection, key), json={"value": f"old-{key}"})
    await admin.post("/v1/admin/key-versions")
    source = open_keyring_source(
        inline=None, file=vault.keyring_path, dev_mode=False, dev_path=vault.keyring_path, reload_interval_s=0
    )
    return source.current()


def _wrapped(crypto, loaded, stored):
    sealed = crypto.rewrap(loaded.ciphers[1], loaded.ciphers[2], stored.owner, stored.sealed)
    return sealed.dek_encrypted, sealed.dek_iv


async def test_a_write_recovers_when_its_key_version_row_is_missing(private_vault, tenant):
    """Regression: a writer once trusted a version registered by a not-yet-committed rotation."""
    vault = private_vault
    async with vault.http("oauth") as oauth, vault.http("hubctl") as admin:
        assert (await admin.post("/v1/admin/key-versions")).status_code == 201
        conn = await vault.db()
        try:
            # the vault still believes version 2 is registered
            await conn.execute("DELETE FROM key_versions WHERE version = 2")
        finally:
            await conn.close()
        stored = await oauth.put(_url(tenant, uuid.uuid4(), "access_token"), json={"value": "after-rotation"})
        assert stored.status_code == 201, stored.text
        assert stored.json()["key_version"] == 2


async def test_a_rotation_whose_outcome_is_unknown_keeps_its_version_usable(
    private_vault, tenant, monkeypatch
):
    """The keyring file was replaced, then an error came, and the file could not be read back
    (here: garbage in its place for a moment): whether the rotation took effect is unknown. Its
    reserved version stays live, so once the file reads again, writes under the new primary
    work (retiring the reservation would have refused every one of them)."""
    from hub_vault.adapters import keyring_source

    path = private_vault.keyring_path
    aside = path.with_name(path.name + ".aside")
    real_write = keyring_source.write_keyring_file

    def write_then_fail(target, keyring):
        real_write(target, keyring)  # the new primary is in the file
        path.rename(aside)
        path.write_bytes(b"\xff\xfe not a keyring")  # unreadable until the test puts it back
        raise OSError("the directory fsync failed")

    monkeypatch.setattr(keyring_source, "write_keyring_file", write_then_fail)
    async with private_vault.http("hubctl") as admin:
        failed = await admin.post("/v1/admin/key-versions")
    assert failed.status_code == 500, failed.text
    assert "fsync" not in failed.text
    monkeypatch.setattr(keyring_source, "write_keyring_file", real_write)
    aside.replace(path)  # readable again: it holds version 2 as its primary
    connection = uuid.uuid4()
    async with private_vault.http("oauth") as oauth:
        for _ in range(50):  # the vault re-reads a changed file at most once a second
            stored = await oauth.put(_url(tenant, connection, "access_token"), json={"value": "after"})
            assert stored.status_code in (200, 201), stored.text
            if stored.json()["key_version"] == 2:
                break
            await asyncio.sleep(0.1)
        assert stored.json()["key_version"] == 2
        assert (await oauth.get(_url(tenant, connection, "access_token"))).json()["value"] == "after"
    conn = await private_vault.db()
    try:
        audit = await conn.fetch(
            "SELECT outcome, key_version, details FROM audit "
            "WHERE operation = 'admin.keys.rotate' ORDER BY id"
        )
        retired = await conn.fetchval("SELECT retired_at FROM key_versions WHERE version = 2")
    finally:
        await conn.close()
    assert [(r["outcome"], r["key_version"]) for r in audit] == [("ok", 2), ("error", 2)]
    assert json.loads(audit[1]["details"]) == {"reason": "OSError", "applied": "unknown"}
    assert retired is None
