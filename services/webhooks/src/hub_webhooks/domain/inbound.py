"""Pure rules of the intake: which headers count, what a delivery's id is, what is kept.

Verification itself is the SDK's ``verify_webhook`` with the connector's declared spec; these
functions prepare its input (refusing ambiguous headers) and read the few facts needed after it
succeeded (delivery id, event name, Slack's challenge, Notion's handshake token).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hub_connector_sdk import WebhookVerificationError
from hub_connector_sdk.webhook_signatures import HmacSignature, JwtSignature, TokenSignature

Spec = HmacSignature | TokenSignature | JwtSignature

# Never copied into the event: they carry credentials (GitLab's token header is the secret
# itself — also when a connection verifies GitLab's signing token instead and a hook sends both —,
# a JWT is a bearer credential) or nothing a consumer may rely on.
_DROPPED = frozenset(
    {"authorization", "cookie", "proxy-authorization", "x-forwarded-for", "forwarded", "x-gitlab-token"}
)
# Event-name headers, per provider family (the first present wins).
_EVENT_HEADERS = ("x-github-event", "x-gitlab-event", "linear-event", "x-event-key", "x-atlassian-event")
# Delivery ids carried in the body, by preset (the rest name a header in their spec).
_BODY_IDS = {"slack-v0": "event_id", "notion": "id"}
# Where one-URL-per-app providers put the workspace/account a delivery belongs to.
_ROUTING_FIELDS = ("team_id", "team.id", "workspace_id", "account_id", "organizationId")


def signed_header_names(spec: Spec) -> list[str]:
    """The headers verification reads: each must appear at most once."""
    names = [spec.header]
    if isinstance(spec, HmacSignature):
        names += [h for h in (spec.timestamp_header, spec.id_header) if h]
    if spec.delivery_id_header:
        names.append(spec.delivery_id_header)
    return [n.lower() for n in names]


def single_headers(raw: Iterable[tuple[bytes, bytes]], spec: Spec) -> dict[str, str]:
    """Lower-cased headers; a signature-relevant header sent twice is refused (which copy was
    signed would otherwise depend on the framework's pick)."""
    watched = set(signed_header_names(spec))
    out: dict[str, str] = {}
    for name_b, value_b in raw:
        name = name_b.decode("latin-1").lower()
        value = value_b.decode("latin-1")
        if name in out and name in watched:
            raise WebhookVerificationError("header_duplicated", f"header {name} appears more than once")
        out[name] = value if name not in out else f"{out[name]}, {value}"
    return out


def kept_headers(headers: Mapping[str, str], spec: Spec) -> dict[str, str]:
    """The headers a consumer gets: minus credentials, minus a header that carries the secret."""
    drop = set(_DROPPED)
    if not isinstance(spec, HmacSignature):
        drop.add(spec.header.lower())
    return {k: v for k, v in headers.items() if k not in drop}


def json_body(body: bytes) -> Any:
    """The decoded JSON body after verification, or None (form posts, other formats)."""
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _dotted(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(payload, dict):
            return None
        payload = payload.get(part)
    return payload


def delivery_id(spec: Spec, headers: Mapping[str, str], payload: Any, body: bytes) -> str:
    """The provider's id of this delivery (dedupe key). Without one, the body's SHA-256: the
    same bytes signed again are the same delivery."""
    if spec.delivery_id_header:
        value = headers.get(spec.delivery_id_header.lower())
        if value:
            return value[:200]
    field = _BODY_IDS.get(spec.preset or "")
    if field:
        value = _dotted(payload, field)
        if isinstance(value, str | int) and str(value):
            return str(value)[:200]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def event_name(headers: Mapping[str, str], payload: Any) -> str | None:
    for name in _EVENT_HEADERS:
        if headers.get(name):
            return headers[name][:200]
    if isinstance(payload, dict):
        for path in ("event.type", "type", "webhookEvent", "eventType"):
            value = _dotted(payload, path)
            if isinstance(value, str) and value:
                return value[:200]
    return None


def routing_key(payload: Any) -> str | None:
    """The workspace/account id of a delivery posted to a one-URL-per-app endpoint."""
    for path in _ROUTING_FIELDS:
        value = _dotted(payload, path)
        if isinstance(value, str | int) and str(value):
            return str(value)
    if isinstance(payload, dict):
        auths = payload.get("authorizations")
        if isinstance(auths, list) and auths and isinstance(auths[0], dict) and auths[0].get("team_id"):
            return str(auths[0]["team_id"])
    return None


def slack_challenge(payload: Any) -> str | None:
    """Slack's ``url_verification``: answered with its challenge (after the signature verified)."""
    if isinstance(payload, dict) and payload.get("type") == "url_verification":
        challenge = payload.get("challenge")
        if isinstance(challenge, str) and 0 < len(challenge) <= 200:
            return challenge
    return None


def notion_verification_token(body: bytes) -> str | None:
    """Notion's one-time handshake: ``{"verification_token": "secret_..."}`` and nothing else.
    The token becomes the registration's signing secret."""
    payload = json_body(body)
    if not isinstance(payload, dict) or set(payload) != {"verification_token"}:
        return None
    token = payload["verification_token"]
    if isinstance(token, str) and 16 <= len(token) <= 512:
        return token
    return None


@dataclass(frozen=True, slots=True)
class EncodedBody:
    text: str
    encoding: str  # utf-8 | base64


def encode_body(body: bytes) -> EncodedBody:
    try:
        return EncodedBody(body.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return EncodedBody(base64.b64encode(body).decode("ascii"), "base64")
