"""Signature-bypass attempts on every webhook verifier, through the real intake (docs/adr/0034).

Targets, found at run time so that a new one is attacked without a change here: every connector
of the catalog that declares a webhook signature (and each alternative scheme it offers), and one
``sighook_*`` test connector per preset of ``hub_connector_sdk.webhook_signatures.PRESETS``.
Each gets a manual registration with a secret the test knows, then forged deliveries: missing,
empty, wrong, truncated signatures, another algorithm or prefix, replayed or non-numeric
timestamps, case and whitespace tricks, duplicated headers, a body altered after signing. Every
one must be ``401`` with a documented code, and none may reach Kafka: afterwards one genuine
delivery per registration is accepted, a replay of it is a ``duplicate``, and ``webhook.received``
carries exactly those — nothing from the attacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub_common.testing.events import expect_events
from hub_connector_sdk.webhook_signatures import (
    PRESETS,
    HmacSignature,
    JwtSignature,
    TokenSignature,
    sign_webhook,
    webhook_signature,
)
from hub_e2e.secret_scan import register
from hub_e2e.signed_connectors import connector_id

from .conftest import SecurityHub, user_headers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TENANT = f"e2e-sig-{uuid.uuid4().hex[:6]}"
# The intake's documented refusals (services/webhooks/README.md, "Intake").
REFUSALS = {
    "header_duplicated",
    "no_secret",
    "signature_missing",
    "signature_malformed",
    "signature_mismatch",
    "timestamp_missing",
    "timestamp_invalid",
    "timestamp_out_of_tolerance",
}
Spec = HmacSignature | TokenSignature | JwtSignature


@dataclass
class Target:
    connector_id: str
    connection_id: str
    registration_id: str
    spec: Spec
    secret: str

    @property
    def label(self) -> str:
        return f"{self.connector_id} ({self.spec.preset or self.spec.kind})"


@dataclass(frozen=True)
class Delivery:
    name: str
    headers: list[tuple[str, str]]
    body: bytes
    code: str | None = None  # the exact refusal expected; None: any documented one


# -- building genuine and forged deliveries ------------------------------------------------------------
def _body(spec: Spec, marker: str, *, stamp_ms: int | None = None) -> bytes:
    payload: dict[str, Any] = {"security_suite": marker}
    if isinstance(spec, HmacSignature) and spec.timestamp_field:
        payload[spec.timestamp_field] = stamp_ms if stamp_ms is not None else int(time.time() * 1000)
    return json.dumps(payload).encode()


def _jwt(secret: str, claims: dict[str, Any], alg: str = "HS256") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature) if alg != 'none' else ''}"


def signed(spec: Spec, secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """What the provider sends with ``body``; plus a delivery id header where the spec reads one."""
    if isinstance(spec, JwtSignature):
        out = {spec.header: spec.prefix + _jwt(secret, {"iss": "suite", "exp": int(time.time()) + 120})}
    else:
        out = sign_webhook(spec, secret, body, timestamp=timestamp, message_id=f"msg_{uuid.uuid4().hex}")
    if spec.delivery_id_header and spec.delivery_id_header not in out:
        out[spec.delivery_id_header] = str(uuid.uuid4())
    return out


def _replace(headers: dict[str, str], name: str, value: str | None) -> list[tuple[str, str]]:
    out = [(k, v) for k, v in headers.items() if k.lower() != name.lower()]
    return out if value is None else [*out, (name, value)]


def _truncated(value: str, prefix: str) -> str:
    return value[: len(prefix) + max(1, (len(value) - len(prefix)) // 2)]


def attacks(spec: Spec, secret: str) -> list[Delivery]:
    """The forged deliveries for one verifier."""
    marker = f"attack-{uuid.uuid4().hex[:8]}"
    body = _body(spec, marker)
    good = signed(spec, secret, body)
    sig = good[spec.header]
    out = [
        Delivery("no signature header", _replace(good, spec.header, None), body, "signature_missing"),
        Delivery("empty signature header", _replace(good, spec.header, ""), body, "signature_missing"),
        Delivery("prefix only", _replace(good, spec.header, spec.prefix.strip()), body),
        Delivery(
            "another secret", list(signed(spec, _another(secret), body).items()), body, "signature_mismatch"
        ),
        Delivery("truncated", _replace(good, spec.header, _truncated(sig, spec.prefix)), body),
        Delivery(
            "one character changed",
            _replace(good, spec.header, sig[:-2] + chr(ord(sig[-2]) ^ 1) + sig[-1]),
            body,
        ),
        Delivery(
            "the header twice, a forged copy first",
            [*_replace(good, spec.header, spec.prefix + "00" * 32), (spec.header, sig)],
            body,
            "header_duplicated",
        ),
        Delivery(
            "a forged signature split by spaces",
            _replace(good, spec.header, f"{spec.prefix}{'ab' * 16} \t {'ab' * 16}"),
            body,
        ),
        Delivery(
            "a token for Basic auth",
            _replace(good, spec.header, "Basic " + base64.b64encode(b"a:b").decode()),
            body,
        ),
    ]
    if isinstance(spec, JwtSignature):
        now = int(time.time())
        out += [
            Delivery(
                "alg none",
                _replace(good, spec.header, spec.prefix + _jwt(secret, {"exp": now + 60}, "none")),
                body,
                "signature_malformed",
            ),
            Delivery(
                "alg HS512 label",
                _replace(good, spec.header, spec.prefix + _jwt(secret, {"exp": now + 60}, "HS512")),
                body,
                "signature_malformed",
            ),
            Delivery(
                "expired",
                _replace(good, spec.header, spec.prefix + _jwt(secret, {"exp": now - 3600})),
                body,
                "timestamp_out_of_tolerance",
            ),
            Delivery(
                "not yet valid",
                _replace(
                    good, spec.header, spec.prefix + _jwt(secret, {"exp": now + 7200, "nbf": now + 3600})
                ),
                body,
                "timestamp_out_of_tolerance",
            ),
            Delivery(
                "no exp",
                _replace(good, spec.header, spec.prefix + _jwt(secret, {"iss": "x"})),
                body,
                "signature_malformed",
            ),
            Delivery(
                "exp not a number",
                _replace(good, spec.header, spec.prefix + _jwt(secret, {"exp": "never"})),
                body,
                "signature_malformed",
            ),
        ]
        return out  # Atlassian's JWT does not sign the body (qsh is not checked): docs/security.md
    if isinstance(spec, TokenSignature):
        # GitLab's token is a shared secret, not a signature: the body is not covered (the
        # gitlab-signing scheme covers it; docs/security.md).
        out += [
            Delivery(
                "token upper-cased",
                _replace(good, spec.header, sig.upper() if sig.upper() != sig else sig.lower()),
                body,
                "signature_mismatch",
            ),
            Delivery(
                "token with a suffix", _replace(good, spec.header, sig + "0"), body, "signature_mismatch"
            ),
        ]
        return out
    digest_of = _hmac_variants(spec, secret, body, good)
    out += [
        Delivery(
            "body altered after signing",
            list(good.items()),
            body.replace(b"}", b', "x": 1}'),
            "signature_mismatch",
        ),
        Delivery("body with a trailing newline", list(good.items()), body + b"\n", "signature_mismatch"),
        Delivery(
            "HMAC-SHA1 under the same prefix",
            _replace(good, spec.header, spec.prefix + digest_of(hashlib.sha1)),
            body,
            "signature_mismatch",
        ),
        Delivery(
            "HMAC-SHA512 under the same prefix",
            _replace(good, spec.header, spec.prefix + digest_of(hashlib.sha512)),
            body,
            "signature_mismatch",
        ),
        Delivery(
            "another algorithm's prefix", _replace(good, spec.header, "sha1=" + digest_of(hashlib.sha1)), body
        ),
        Delivery(
            "forged signature upper-cased",
            _replace(good, spec.header, (spec.prefix + "ab" * 32).upper()),
            body,
        ),
        Delivery(
            "a plain hash of the body, no key",
            _replace(good, spec.header, spec.prefix + _encode(spec, hashlib.sha256(body).digest())),
            body,
            "signature_mismatch",
        ),
    ]
    if spec.timestamp_header:
        old = int(time.time()) - spec.tolerance_s - 120
        future = int(time.time()) + spec.tolerance_s + 120
        out += [
            Delivery(
                "replayed: signed long ago",
                list(signed(spec, secret, body, timestamp=old).items()),
                body,
                "timestamp_out_of_tolerance",
            ),
            Delivery(
                "signed for the future",
                list(signed(spec, secret, body, timestamp=future).items()),
                body,
                "timestamp_out_of_tolerance",
            ),
            Delivery(
                "no timestamp header", _replace(good, spec.timestamp_header, None), body, "timestamp_missing"
            ),
            Delivery(
                "timestamp not a number",
                _replace(good, spec.timestamp_header, "yesterday"),
                body,
                "timestamp_invalid",
            ),
            Delivery(
                "timestamp NaN", _replace(good, spec.timestamp_header, "nan"), body, "timestamp_invalid"
            ),
            Delivery("timestamp infinite", _replace(good, spec.timestamp_header, "inf"), body),
            Delivery(
                "timestamp moved, signature kept",
                _replace(good, spec.timestamp_header, str(int(good[spec.timestamp_header]) + 1)),
                body,
                "signature_mismatch",
            ),
        ]
    if spec.timestamp_field:
        field = spec.timestamp_field
        old_ms = int(time.time() * 1000) - (spec.tolerance_s + 120) * 1000
        old_body = _body(spec, marker, stamp_ms=old_ms)
        nan_body = body.replace(json.dumps(json.loads(body)[field]).encode(), b"NaN")
        out += [
            Delivery(
                "replayed: signed long ago",
                list(signed(spec, secret, old_body).items()),
                old_body,
                "timestamp_out_of_tolerance",
            ),
            Delivery(
                "no timestamp field",
                list(good.items()),
                json.dumps({"security_suite": marker}).encode(),
                "timestamp_missing",
            ),
            Delivery(
                "timestamp field NaN",
                list(signed(spec, secret, nan_body).items()),
                nan_body,
                "timestamp_invalid",
            ),
        ]
    if spec.id_header:
        out.append(
            Delivery(
                "message id changed", _replace(good, spec.id_header, "msg_other"), body, "signature_mismatch"
            )
        )
    return out


def _another(secret: str) -> str:
    """A secret of the same shape that is not this one."""
    if secret.startswith("whsec_"):
        return "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()
    return f"another-{uuid.uuid4().hex}"


def _encode(spec: HmacSignature, digest: bytes) -> str:
    return digest.hex() if spec.encoding == "hex" else base64.b64encode(digest).decode()


def _hmac_variants(
    spec: HmacSignature, secret: str, body: bytes, good: dict[str, str]
) -> Callable[[Callable[..., Any]], str]:
    key = secret.removeprefix(spec.secret_prefix)
    raw = base64.b64decode(key) if spec.secret_encoding == "base64" else key.encode()
    stamp = good.get(spec.timestamp_header or "", "")
    msg_id = good.get(spec.id_header or "", "")
    message = spec.signed.replace("{timestamp}", stamp).replace("{id}", msg_id).encode()
    message = message.replace(b"{body}", body)
    return lambda algorithm: _encode(spec, hmac.new(raw, message, algorithm).digest())


# -- the targets ----------------------------------------------------------------------------------------
def _specs_of(entry: dict[str, Any]) -> list[tuple[dict[str, Any], Spec]]:
    """(connection config, spec) for the connector's declared scheme and each alternative."""
    out: list[tuple[dict[str, Any], Spec]] = []
    if entry.get("webhook_signature"):
        out.append(({}, webhook_signature(entry["webhook_signature"])))
    for alternative in entry.get("webhook_signature_alternatives") or []:
        spec = webhook_signature(alternative)
        out.append(({"webhook_signature": spec.preset}, spec))
    return out


def _target(hub: SecurityHub, entry: dict[str, Any], config: dict[str, Any], spec: Spec) -> Target:
    headers = user_headers(TENANT)
    connection = hub.http.post(
        f"{hub.url('connectors')}/v1/connections",
        headers=headers,
        json={"connector_id": entry["id"], "name": f"sig {uuid.uuid4().hex[:8]}", "config": config},
        timeout=30,
    )
    assert connection.status_code == 201, (entry["id"], connection.text)
    cid = connection.json()["id"]
    trigger = next(t["id"] for t in entry["triggers"] if t["delivery"] == "webhook")

    def registered() -> httpx.Response:
        return hub.http.post(
            f"{hub.url('webhooks')}/v1/webhooks/registrations",
            headers=headers,
            json={"connection_id": cid, "trigger_ids": [trigger], "mode": "manual"},
            timeout=30,
        )

    created, app_secret = registered(), None
    if created.status_code == 422 and created.json()["error"]["code"] == "oauth_app_missing":
        # Jira signs with its OAuth app's client secret (ADR 0030): the tenant's app comes first.
        app_secret = f"app-client-secret-{uuid.uuid4().hex}"
        register(app_secret, f"OAuth app client secret of {entry['id']}")
        app = hub.http.put(
            f"{hub.url('oauth')}/v1/oauth/apps/{entry['id']}",
            headers=headers,
            json={"client_id": f"security-{entry['id']}", "client_secret": app_secret},
            timeout=30,
        )
        assert app.status_code in (200, 201), app.text
        created = registered()
    assert created.status_code == 201, (entry["id"], created.text)
    rid, secret = created.json()["id"], created.json().get("secret")
    if created.json().get("secret_source") == "oauth_app":
        assert app_secret is not None and secret is None
        secret = app_secret
    elif secret is None:  # the provider issues it (Slack, Linear, Notion): store one we know
        secret = f"provider-issued-{uuid.uuid4().hex}"
        stored = hub.http.put(
            f"{hub.url('webhooks')}/v1/webhooks/registrations/{rid}/secret",
            headers=headers,
            json={"secret": secret},
            timeout=30,
        )
        assert stored.status_code == 200, stored.text
    register(secret, f"webhook secret of {entry['id']} ({spec.preset or spec.kind})")
    return Target(entry["id"], cid, rid, spec, secret)


@pytest.fixture(scope="module")
def targets(security_hub: SecurityHub) -> list[Target]:
    catalog = security_hub.http.get(
        f"{security_hub.url('connectors')}/v1/connectors", headers=user_headers(TENANT)
    ).json()["connectors"]
    found = [
        _target(security_hub, entry, config, spec) for entry in catalog for config, spec in _specs_of(entry)
    ]
    return found


def post(hub: SecurityHub, target: Target, delivery: Delivery) -> httpx.Response:
    return hub.http.post(
        f"{hub.url('webhooks')}/webhooks/{target.connector_id}/{target.registration_id}",
        content=delivery.body,
        headers=[("content-type", "application/json"), *delivery.headers],
        timeout=30,
    )


# -- the tests --------------------------------------------------------------------------------------------
def test_every_preset_and_every_signing_connector_is_a_target(security_hub, targets):
    presets = {t.spec.preset for t in targets}
    assert set(PRESETS) <= presets, f"presets without a target: {sorted(set(PRESETS) - presets)}"
    assert {connector_id(p) for p in PRESETS} <= {t.connector_id for t in targets}
    catalog = security_hub.http.get(
        f"{security_hub.url('connectors')}/v1/connectors", headers=user_headers(TENANT)
    ).json()["connectors"]
    signing = {e["id"] for e in catalog if e.get("webhook_signature")}
    assert signing <= {t.connector_id for t in targets}
    assert {"github", "gitlab", "slack", "linear", "notion", "jira", "confluence"} <= signing


def _body_of(event: dict[str, Any]) -> bytes:
    body: str = event["body"]
    return base64.b64decode(body) if event.get("body_encoding") == "base64" else body.encode()


async def test_forged_deliveries_are_refused_and_nothing_reaches_kafka(security_hub, targets, hub_stack):
    ours = {t.connection_id for t in targets}
    by_registration = {t.registration_id: t for t in targets}
    wrong: list[str] = []
    counted = ""
    try:
        async with expect_events(
            hub_stack.kafka_bootstrap,
            "webhook.received",
            match=lambda e: e["connection_id"] in ours,
            count=len(targets),
            exact=True,
            settle_s=3.0,
            timeout_s=120,
        ) as received:
            for target in targets:
                for attack in attacks(target.spec, target.secret):
                    answer = post(security_hub, target, attack)
                    is_json = answer.headers.get("content-type", "").startswith("application/json")
                    code = (answer.json().get("error") or {}).get("code") if is_json else None
                    expected = {attack.code} if attack.code else REFUSALS
                    if answer.status_code != 401 or code not in expected:
                        wrong.append(
                            f"{target.label}: {attack.name}: {answer.status_code} {code} "
                            f"(expected 401 {sorted(expected)}) {answer.text[:200]}"
                        )
                    assert target.secret not in answer.text
            # The controls: the genuine delivery is accepted once, its replay is a duplicate.
            for target in targets:
                body = _body(target.spec, f"genuine-{target.registration_id}")
                genuine = Delivery("genuine", list(signed(target.spec, target.secret, body).items()), body)
                first, again = post(security_hub, target, genuine), post(security_hub, target, genuine)
                if first.status_code != 200 or first.json().get("status") != "accepted":
                    wrong.append(
                        f"{target.label}: the genuine delivery got {first.status_code} {first.text[:200]}"
                    )
                if again.status_code != 200 or again.json().get("status") != "duplicate":
                    wrong.append(f"{target.label}: its replay got {again.status_code} {again.text[:200]}")
    except AssertionError as exc:  # the count is wrong: say which deliveries got through
        counted = str(exc)[:200]
    leaked = [
        f"{by_registration[str(e.data['registration_id'])].label}: {_body_of(e.data)[:120]!r}"
        for e in received
        if b"genuine-" not in _body_of(e.data)
    ]
    assert not wrong and not leaked and not counted, "\n".join([counted, *wrong, "published:", *leaked])
    assert sorted(str(e.data["registration_id"]) for e in received) == sorted(by_registration)
