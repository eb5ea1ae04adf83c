"""The intake against the real stack: verify before parsing and fail closed per scheme, durable
before the 2xx, duplicates change nothing, a refusal stores nothing but a rate-limited audit row.

Each scheme's refusals are followed by one valid delivery on the same registration, and exactly
one ``webhook.received`` for that registration must come out of Kafka: the refusals produced none.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from hub_common.testing.events import expect_events
from hub_connector_sdk import sign_webhook
from hub_webhooks.repositories import registrations

pytestmark = pytest.mark.integration
TOPIC = "webhook.received"


def _jwt(secret: str, *, exp: float, nbf: float | None = None) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims: dict[str, Any] = {"iss": "jira", "exp": int(exp), "iat": int(time.time())}
    if nbf is not None:
        claims["nbf"] = int(nbf)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + b64(sig)


@dataclass(frozen=True)
class Scheme:
    preset: str
    secret: str
    # (secret, body, unix time) -> headers; the delivery id rides along where the scheme has one
    sign: Callable[[str, bytes, int], dict[str, str]]
    body: Callable[[int], bytes]  # unix time -> body (Linear puts its timestamp in the body)
    timestamped: bool
    signature_header: str


def _hmac_scheme(preset: str, extra: Callable[[], dict[str, str]], header: str, timestamped: bool) -> Scheme:
    def sign(secret: str, body: bytes, now: int) -> dict[str, str]:
        return {
            **sign_webhook(preset, secret, body, timestamp=now, message_id=f"msg_{uuid.uuid4().hex}"),
            **extra(),
        }

    return Scheme(preset, f"{preset}-secret-{uuid.uuid4().hex}", sign, _json_body, timestamped, header)


def _json_body(now: int) -> bytes:
    return json.dumps(
        {"action": "opened", "id": uuid.uuid4().hex, "event_id": f"Ev{uuid.uuid4().hex}"}
    ).encode()


def _linear_body(now: int) -> bytes:
    return json.dumps({"action": "create", "type": "Issue", "webhookTimestamp": now * 1000}).encode()


def _sw_secret() -> str:
    return "whsec_" + base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()


SCHEMES = [
    _hmac_scheme(
        "github-sha256",
        lambda: {"X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Event": "issues"},
        "X-Hub-Signature-256",
        False,
    ),
    Scheme(
        "gitlab-token",
        f"gitlab-{uuid.uuid4().hex}",
        lambda s, b, n: {
            "X-Gitlab-Token": s,
            "Idempotency-Key": str(uuid.uuid4()),
            "X-Gitlab-Event": "Issue Hook",
        },
        _json_body,
        False,
        "X-Gitlab-Token",
    ),
    _hmac_scheme("slack-v0", dict, "X-Slack-Signature", True),
    Scheme(
        "linear",
        f"lin_wh_{uuid.uuid4().hex}",
        lambda s, b, n: {
            **sign_webhook("linear", s, b),
            "Linear-Delivery": str(uuid.uuid4()),
            "Linear-Event": "Issue",
        },
        _linear_body,
        True,
        "Linear-Signature",
    ),
    _hmac_scheme(
        "jira-hmac", lambda: {"X-Atlassian-Webhook-Identifier": str(uuid.uuid4())}, "X-Hub-Signature", False
    ),
    Scheme(
        "atlassian-jwt",
        f"atl-{uuid.uuid4().hex}",
        lambda s, b, n: {
            "Authorization": f"Bearer {_jwt(s, exp=n + 300, nbf=n - 10)}",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
        },
        _json_body,
        False,
        "Authorization",
    ),
    _hmac_scheme("notion", dict, "X-Notion-Signature", False),
    Scheme(
        "standard-webhooks",
        _sw_secret(),
        lambda s, b, n: sign_webhook(
            "standard-webhooks", s, b, timestamp=n, message_id=f"msg_{uuid.uuid4().hex}"
        ),
        _json_body,
        True,
        "webhook-signature",
    ),
]


def _for(registration_id: uuid.UUID) -> Callable[[Any], bool]:
    return lambda data: data.get("registration_id") == str(registration_id)


async def _inbound(container, registration_id) -> list[str]:
    async with container.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT delivery_id FROM webhook_inbound WHERE registration_id = $1", registration_id
        )
    return [r["delivery_id"] for r in rows]


async def _audit(container, registration_id) -> list[str]:
    async with container.db.connection() as conn:
        rows = await conn.fetch(
            "SELECT code FROM webhook_intake_audit WHERE registration_id = $1 ORDER BY id", registration_id
        )
    return [r["code"] for r in rows]


def _refusals(scheme: Scheme, now: int) -> list[tuple[str, bytes, list[tuple[str, str]]]]:
    """(what, body, headers) the intake must refuse with 401."""
    body = scheme.body(now)
    good = scheme.sign(scheme.secret, body, now)
    cases: list[tuple[str, bytes, list[tuple[str, str]]]] = []
    if scheme.preset not in ("gitlab-token", "atlassian-jwt"):  # these schemes do not cover the body
        cases.append(("tampered body", body.replace(b"}", b', "x": 1}', 1), list(good.items())))
    wrong_secret = _sw_secret() if scheme.preset == "standard-webhooks" else f"wrong-{uuid.uuid4().hex}"
    cases.append(("wrong secret", body, list(scheme.sign(wrong_secret, body, now).items())))
    cases.append(
        (
            "missing header",
            body,
            [(k, v) for k, v in good.items() if k.lower() != scheme.signature_header.lower()],
        )
    )
    cases.append(
        ("duplicated header", body, [*good.items(), (scheme.signature_header, good[scheme.signature_header])])
    )
    if scheme.timestamped or scheme.preset == "atlassian-jwt":
        for what, when in (("stale", now - 3600), ("future", now + 3600)):
            skewed = scheme.body(when)
            cases.append((what, skewed, list(scheme.sign(scheme.secret, skewed, when).items())))
    return cases


@pytest.mark.parametrize("scheme", SCHEMES, ids=lambda s: s.preset)
async def test_each_scheme_refuses_every_bad_delivery_and_accepts_the_good_one(
    scheme, http, container, make_registration, kafka_bootstrap
):
    registration = await make_registration(scheme.preset, scheme.secret)
    url = f"/webhooks/acme/{registration.id}"
    now = int(time.time())

    async with expect_events(
        kafka_bootstrap, TOPIC, match=_for(registration.id), count=1, exact=True
    ) as seen:
        for what, body, headers in _refusals(scheme, now):
            resp = await http.post(url, content=body, headers=headers)
            assert resp.status_code == 401, (what, resp.text)
            assert resp.json()["error"]["code"] in {
                "signature_mismatch",
                "signature_missing",
                "signature_malformed",
                "header_duplicated",
                "timestamp_out_of_tolerance",
                "timestamp_missing",
                "timestamp_invalid",
                "jwt_expired",
                "jwt_not_yet_valid",
                "jwt_invalid",
            }, (what, resp.text)
            assert scheme.secret not in resp.text
            assert await _inbound(container, registration.id) == [], what
        body = scheme.body(now)
        ok = await http.post(url, content=body, headers=scheme.sign(scheme.secret, body, now))
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "accepted"

    (event,) = seen
    data = event.data
    assert data["connector_id"] == "acme" and data["tenant_id"] == registration.tenant_id
    assert data["body"] == body.decode()
    assert scheme.secret not in json.dumps(data)  # GitLab's token header and JWTs are not copied
    assert len(await _inbound(container, registration.id)) == 1
    assert len(await _audit(container, registration.id)) >= 1


async def test_durable_before_the_2xx_and_a_duplicate_changes_nothing(
    http, container, make_registration, kafka_bootstrap
):
    secret = "gh-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", secret)
    body = json.dumps({"action": "opened", "issue": {"number": 1}}).encode()
    delivery = str(uuid.uuid4())
    headers = {
        **sign_webhook("github-sha256", secret, body),
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Event": "issues",
    }

    async with expect_events(
        kafka_bootstrap, TOPIC, match=_for(registration.id), count=1, exact=True
    ) as seen:
        first = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
        # The answer came after the commit: the dedupe row is there the moment the 2xx is.
        assert first.status_code == 200 and first.json() == {"status": "accepted", "delivery_id": delivery}
        assert await _inbound(container, registration.id) == [delivery]
        for _ in range(3):  # the provider retries (GitHub redelivery, Slack X-Slack-Retry-Num)
            again = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
            assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert seen[0].data["delivery_id"] == delivery and seen[0].data["event_name"] == "issues"
    assert await _inbound(container, registration.id) == [delivery]

    async def counted() -> Any:
        async with container.db.connection() as conn:
            return await registrations.get(conn, registration.tenant_id, registration.id)

    for _ in range(100):
        current = await counted()
        if current.received_count:
            break
        await asyncio.sleep(0.1)
    # Every answer above came after its count (if any) was taken: one more flush folds in
    # whatever the duplicates would have counted.
    await container.counters.flush()
    current = await counted()
    assert current.received_count == 1 and current.last_received_at is not None


async def test_oversized_is_413_and_nothing_is_stored(http, container, make_registration):
    secret = "gh-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", secret)
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {**sign_webhook("github-sha256", secret, body), "X-GitHub-Delivery": str(uuid.uuid4())}
    resp = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    assert await _inbound(container, registration.id) == []


async def test_refusals_are_audited_at_a_bounded_rate(http, container, make_registration):
    registration = await make_registration("github-sha256", "gh-" + uuid.uuid4().hex)
    headers = {"X-Hub-Signature-256": "sha256=" + "0" * 64, "X-GitHub-Delivery": "forged"}
    for _ in range(container.settings.webhooks_audit_per_minute + 15):
        resp = await http.post(f"/webhooks/acme/{registration.id}", content=b"{}", headers=headers)
        assert resp.status_code == 401
    codes = await _audit(container, registration.id)
    # At most per_minute rows (a minute boundary during the loop may allow one more window).
    assert 1 <= len(codes) <= 2 * container.settings.webhooks_audit_per_minute
    assert set(codes) == {"signature_mismatch"}
    assert await _inbound(container, registration.id) == []


async def test_unknown_registration_is_404_and_audited_without_a_tenant(http, container):
    connector = f"c{uuid.uuid4().hex[:8]}"
    resp = await http.post(f"/webhooks/{connector}/{uuid.uuid4()}", content=b"{}")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "registration_not_found"
    bad = await http.post(f"/webhooks/{connector}/not-a-uuid", content=b"{}")
    assert bad.status_code == 404
    async with container.db.connection() as conn:
        n = await conn.fetchval(
            "SELECT count(*) FROM webhook_intake_audit WHERE connector_id = $1", connector
        )
    assert n == 2


async def test_no_secret_is_401(http, container, make_registration):
    registration = await make_registration("github-sha256", None)
    body = b'{"a": 1}'
    headers = {**sign_webhook("github-sha256", "anything", body), "X-GitHub-Delivery": "d1"}
    resp = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "no_secret"
    assert await _inbound(container, registration.id) == []


async def test_slack_url_verification_is_answered_only_when_signed(http, container, make_registration):
    secret = "slack-" + uuid.uuid4().hex
    registration = await make_registration("slack-v0", secret)
    body = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "token": "x",
        }
    ).encode()
    unsigned = await http.post(f"/webhooks/acme/{registration.id}", content=body)
    assert unsigned.status_code == 401
    resp = await http.post(
        f"/webhooks/acme/{registration.id}", content=body, headers=sign_webhook("slack-v0", secret, body)
    )
    assert resp.status_code == 200 and resp.json() == {
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    }
    assert await _inbound(container, registration.id) == []


async def test_one_url_per_app_routes_by_workspace(http, container, make_registration, kafka_bootstrap):
    secret = "slack-" + uuid.uuid4().hex
    team = f"T{uuid.uuid4().hex[:8].upper()}"
    connector = f"slack{uuid.uuid4().hex[:6]}"
    registration = await make_registration("slack-v0", secret, connector_id=connector, routing_key=team)
    body = json.dumps(
        {"type": "event_callback", "team_id": team, "event_id": "Ev01", "event": {"type": "message"}}
    ).encode()
    async with expect_events(kafka_bootstrap, TOPIC, match=_for(registration.id), count=1) as seen:
        resp = await http.post(
            f"/webhooks/{connector}", content=body, headers=sign_webhook("slack-v0", secret, body)
        )
        assert resp.status_code == 200 and resp.json() == {"status": "accepted", "delivery_id": "Ev01"}
    assert seen[0].data["event_name"] == "message"  # the inner event type names it
    other = body.replace(team.encode(), b"TOTHER")
    resp = await http.post(
        f"/webhooks/{connector}", content=other, headers=sign_webhook("slack-v0", secret, other)
    )
    assert resp.status_code == 404


async def test_notion_handshake_sets_the_secret_once(http, container, make_registration):
    registration = await make_registration("notion", None)
    url = f"/webhooks/acme/{registration.id}"
    token = "secret_" + uuid.uuid4().hex
    early = b'{"id": "e1", "type": "page.created"}'
    assert (await http.post(url, content=early)).status_code == 401
    resp = await http.post(url, json={"verification_token": token})
    assert resp.status_code == 200 and resp.json() == {"status": "verification_token_stored"}
    again = await http.post(url, json={"verification_token": "secret_" + uuid.uuid4().hex})
    assert again.status_code == 401  # the second "handshake" is just an unsigned delivery now
    body = b'{"id": "evt-1", "type": "page.created"}'
    ok = await http.post(url, content=body, headers=sign_webhook("notion", token, body))
    assert ok.status_code == 200 and ok.json() == {"status": "accepted", "delivery_id": "evt-1"}


async def test_rotation_old_and_new_secrets_verify_during_the_overlap_only(
    http, container, make_registration, clock
):
    old = "gh-old-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", old)
    caller_new = "gh-new-" + uuid.uuid4().hex
    from hub_common.web.auth import Tier
    from hub_webhooks.services.registrations import Caller

    caller = Caller(registration.tenant_id, "u1", Tier.WRITERPRO)
    await container.registrations.put_secret(caller, registration.id, caller_new)

    async def post(secret: str) -> int:
        body = json.dumps({"n": uuid.uuid4().hex}).encode()
        headers = {**sign_webhook("github-sha256", secret, body), "X-GitHub-Delivery": str(uuid.uuid4())}
        return (
            await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
        ).status_code

    assert await post(caller_new) == 200
    assert await post(old) == 200
    clock.pinned = time.time() + 24 * 3600 + 60
    assert await post(caller_new) == 200
    assert await post(old) == 401


# -- the providers' published examples, through the intake -----------------------------------------
async def test_githubs_documented_example(http, container, make_registration):
    registration = await make_registration("github-sha256", "It's a Secret to Everybody")
    headers = {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "X-GitHub-Delivery": str(uuid.uuid4()),
    }
    resp = await http.post(f"/webhooks/acme/{registration.id}", content=b"Hello, World!", headers=headers)
    assert resp.status_code == 200 and resp.json()["status"] == "accepted"


SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)


async def test_slacks_documented_example_inside_its_window_only(http, container, make_registration, clock):
    registration = await make_registration("slack-v0", "8f742231b10e8888abcd99yyyzzz85a5")
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    url = f"/webhooks/acme/{registration.id}"
    clock.pinned = 1531420618 + 299
    assert (await http.post(url, content=SLACK_BODY, headers=headers)).status_code == 200
    clock.pinned = 1531420618 + 301
    late = await http.post(url, content=SLACK_BODY, headers=headers)
    assert late.status_code == 401 and late.json()["error"]["code"] == "timestamp_out_of_tolerance"


async def test_standard_webhooks_documented_example(http, container, make_registration, clock):
    registration = await make_registration("standard-webhooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    clock.pinned = 1614265330 + 10
    resp = await http.post(
        f"/webhooks/acme/{registration.id}", content=b'{"test": 2432232314}', headers=headers
    )
    assert resp.status_code == 200 and resp.json() == {
        "status": "accepted",
        "delivery_id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    }


async def test_a_signed_json_body_with_an_escaped_nul_is_accepted_not_422(http, container, make_registration):
    """The edge refuses ``\\u0000`` in JSON bodies elsewhere (Postgres text cannot hold it); a
    provider's delivery is verified byte for byte and kept as bytes, so it must get through."""
    secret = "gh-" + uuid.uuid4().hex
    registration = await make_registration("github-sha256", secret)
    body = b'{"comment": {"body": "nul \\u0000 inside"}}'
    headers = {
        **sign_webhook("github-sha256", secret, body),
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    resp = await http.post(f"/webhooks/acme/{registration.id}", content=body, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted"


async def test_per_app_delivery_without_a_workspace_tries_each_registration_and_marks_none(
    http, container, make_registration
):
    """Slack's url_verification names no workspace: the app's registrations are tried in turn; the
    one whose secret verifies takes it, and a forged one marks no tenant's registration."""
    connector = f"slack{uuid.uuid4().hex[:6]}"
    secrets = ["slack-a-" + uuid.uuid4().hex, "slack-b-" + uuid.uuid4().hex]
    first = await make_registration(
        "slack-v0", secrets[0], connector_id=connector, tenant_id=f"ta-{uuid.uuid4().hex[:6]}"
    )
    second = await make_registration(
        "slack-v0", secrets[1], connector_id=connector, tenant_id=f"tb-{uuid.uuid4().hex[:6]}"
    )
    body = json.dumps({"type": "url_verification", "challenge": "chal-" + uuid.uuid4().hex}).encode()

    ok = await http.post(
        f"/webhooks/{connector}", content=body, headers=sign_webhook("slack-v0", secrets[0], body)
    )
    assert ok.status_code == 200 and ok.json() == {"challenge": json.loads(body)["challenge"]}

    forged = await http.post(
        f"/webhooks/{connector}", content=body, headers=sign_webhook("slack-v0", "nope", body)
    )
    assert forged.status_code == 401
    await container.counters.flush()
    async with container.db.connection() as conn:
        for registration in (first, second):
            current = await registrations.get(conn, registration.tenant_id, registration.id)
            assert current is not None and current.last_error is None
        audited = await conn.fetchval(
            "SELECT count(*) FROM webhook_intake_audit WHERE connector_id = $1 AND registration_id IS NULL",
            connector,
        )
    assert audited == 1
