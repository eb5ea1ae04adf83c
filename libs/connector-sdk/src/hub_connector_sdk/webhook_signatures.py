"""How a provider signs its webhook deliveries, declared as data, and a verifier for it.

A connector declares ``webhook_signature`` as a preset name (``"github-sha256"``) or as one of
the typed specs below; the manifest carries the resolved spec, so the hub's webhooks service
verifies with exactly what the connector declared (``verify_webhook``) and a simulator signs
with it (``sign_webhook``). Unknown names or fields fail ``manifest()``.

Verification fails closed: a missing header, an undecodable signature, a timestamp outside
the tolerance or an empty secret are all refusals, and comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"
PLACEHOLDER = re.compile(r"\{(body|timestamp|id)\}")
MAX_SIGNATURES = 10  # candidates read from one header (secret rotation sends a few)
_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    preset: str | None = Field(default=None, description="the preset this spec came from, if any")
    delivery_id_header: str | None = Field(
        default=None, pattern=HEADER_NAME, description="header naming the delivery (dedupe)"
    )


class HmacSignature(_Spec):
    """An HMAC of (a template over) the raw body, in a header, possibly several at once."""

    kind: Literal["hmac"] = "hmac"
    header: str = Field(pattern=HEADER_NAME)
    prefix: str = Field(default="", max_length=20, description="e.g. 'sha256=', 'v0=', 'v1,'")
    separator: Literal["comma", "space"] | None = Field(
        default=None, description="several signatures in one header (secret rotation)"
    )
    algorithm: Literal["sha1", "sha256", "sha512"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    signed: str = Field(
        default="{body}",
        max_length=100,
        description="the signed bytes: '{body}', or a template such as 'v0:{timestamp}:{body}'",
    )
    id_header: str | None = Field(default=None, pattern=HEADER_NAME, description="fills {id}")
    timestamp_header: str | None = Field(default=None, pattern=HEADER_NAME, description="fills {timestamp}")
    timestamp_field: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        description="dotted JSON body field holding the timestamp (Linear's webhookTimestamp)",
    )
    timestamp_unit: Literal["s", "ms"] = "s"
    tolerance_s: int = Field(default=300, ge=1, le=86_400, description="allowed clock drift")
    secret_prefix: str = Field(default="", max_length=20, description="stripped from the secret, e.g. whsec_")
    secret_encoding: Literal["utf-8", "base64"] = "utf-8"

    @model_validator(mode="after")
    def _coherent(self) -> HmacSignature:
        names = PLACEHOLDER.findall(self.signed)
        leftover = PLACEHOLDER.sub("", self.signed)
        if "{" in leftover or "}" in leftover:
            raise ValueError(f"signed template {self.signed!r}: only {{body}}, {{timestamp}}, {{id}} exist")
        if names.count("body") != 1:
            raise ValueError(f"signed template {self.signed!r} must contain {{body}} exactly once")
        if "timestamp" in names and self.timestamp_header is None:
            raise ValueError("signed template uses {timestamp}: set timestamp_header")
        if "id" in names and self.id_header is None:
            raise ValueError("signed template uses {id}: set id_header")
        if self.timestamp_header and self.timestamp_field:
            raise ValueError("timestamp_header and timestamp_field exclude each other")
        return self

    @property
    def timestamped(self) -> bool:
        return self.timestamp_header is not None or self.timestamp_field is not None


class TokenSignature(_Spec):
    """The header carries the shared secret itself (GitLab's X-Gitlab-Token)."""

    kind: Literal["token"] = "token"
    header: str = Field(pattern=HEADER_NAME)
    prefix: str = Field(default="", max_length=20)


class JwtSignature(_Spec):
    """An HS256 JWT signed with the app's secret (Atlassian Connect / OAuth apps).

    Checked: the algorithm (only HS256; ``none`` never), the signature, ``exp`` (required)
    and ``nbf`` with ``leeway_s``. Atlassian's ``qsh`` claim is not checked.
    """

    kind: Literal["jwt"] = "jwt"
    header: str = Field(default="Authorization", pattern=HEADER_NAME)
    prefix: str = Field(default="Bearer ", max_length=20)
    leeway_s: int = Field(default=60, ge=0, le=600)


WebhookSignature = Annotated[HmacSignature | TokenSignature | JwtSignature, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[HmacSignature | TokenSignature | JwtSignature] = TypeAdapter(WebhookSignature)

PRESETS: dict[str, HmacSignature | TokenSignature | JwtSignature] = {
    "github-sha256": HmacSignature(
        preset="github-sha256",
        header="X-Hub-Signature-256",
        prefix="sha256=",
        delivery_id_header="X-GitHub-Delivery",
    ),
    "gitlab-token": TokenSignature(
        preset="gitlab-token", header="X-Gitlab-Token", delivery_id_header="Idempotency-Key"
    ),
    # GitLab's signing token (next to X-Gitlab-Token, on instances with webhook signing): Standard
    # Webhooks headers; webhook-id equals the delivery's Idempotency-Key; the token is whsec_<base64>.
    "gitlab-signing": HmacSignature(
        preset="gitlab-signing",
        header="webhook-signature",
        prefix="v1,",
        separator="space",
        encoding="base64",
        signed="{id}.{timestamp}.{body}",
        id_header="webhook-id",
        timestamp_header="webhook-timestamp",
        tolerance_s=300,
        secret_prefix="whsec_",
        secret_encoding="base64",
        delivery_id_header="webhook-id",
    ),
    "slack-v0": HmacSignature(
        preset="slack-v0",
        header="X-Slack-Signature",
        prefix="v0=",
        signed="v0:{timestamp}:{body}",
        timestamp_header="X-Slack-Request-Timestamp",
        tolerance_s=300,
    ),
    "linear": HmacSignature(
        preset="linear",
        header="Linear-Signature",
        timestamp_field="webhookTimestamp",
        timestamp_unit="ms",
        tolerance_s=60,
        delivery_id_header="Linear-Delivery",
    ),
    "jira-hmac": HmacSignature(
        preset="jira-hmac",
        header="X-Hub-Signature",
        prefix="sha256=",
        delivery_id_header="X-Atlassian-Webhook-Identifier",
    ),
    "atlassian-jwt": JwtSignature(
        preset="atlassian-jwt", delivery_id_header="X-Atlassian-Webhook-Identifier"
    ),
    "notion": HmacSignature(preset="notion", header="X-Notion-Signature", prefix="sha256="),
    "standard-webhooks": HmacSignature(
        preset="standard-webhooks",
        header="webhook-signature",
        prefix="v1,",
        separator="space",
        encoding="base64",
        signed="{id}.{timestamp}.{body}",
        id_header="webhook-id",
        timestamp_header="webhook-timestamp",
        tolerance_s=300,
        secret_prefix="whsec_",
        secret_encoding="base64",
        delivery_id_header="webhook-id",
    ),
}


def webhook_signature(value: Any) -> HmacSignature | TokenSignature | JwtSignature:
    """A preset name or a spec (model or mapping) → the typed spec; ValueError when unknown."""
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(
                f"unknown webhook signature preset {value!r} (known: {', '.join(sorted(PRESETS))}; "
                "or declare an HmacSignature, TokenSignature or JwtSignature)"
            )
        return PRESETS[value]
    if isinstance(value, HmacSignature | TokenSignature | JwtSignature):
        return value  # frozen and validated when built: the verifier's hot path skips a re-check
    return _ADAPTER.validate_python(value)


# -- verification -------------------------------------------------------------------------------------
class WebhookVerificationError(Exception):
    """Why a delivery was refused; ``code`` is machine-readable. Never names a secret."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class VerifiedWebhook:
    scheme: str  # hmac | token | jwt
    delivery_id: str | None = None
    timestamp: datetime | None = None
    claims: dict[str, Any] = field(default_factory=dict)  # JWT claims


Secrets = str | bytes | Sequence[str | bytes]


def verify_webhook(
    spec: HmacSignature | TokenSignature | JwtSignature | str,
    secrets: Secrets,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> VerifiedWebhook:
    """Check one delivery; raise WebhookVerificationError unless a secret proves it.

    ``secrets`` may hold several (old and new during a rotation); any one may match.
    """
    resolved = webhook_signature(spec)
    keys = _secret_list(secrets)
    if not keys:
        raise WebhookVerificationError("no_secret", "no signing secret is configured for this webhook")
    lowered = {k.lower(): v for k, v in headers.items()}
    delivery_id = lowered.get(resolved.delivery_id_header.lower()) if resolved.delivery_id_header else None
    clock = time.time() if now is None else now
    if isinstance(resolved, HmacSignature):
        stamp = _verify_hmac(resolved, keys, lowered, body, clock)
        return VerifiedWebhook("hmac", delivery_id, stamp)
    value = _header(lowered, resolved.header, resolved.prefix)
    if isinstance(resolved, TokenSignature):
        sent = value.encode()
        if not _any_equal([_raw(k) for k in keys], [sent]):
            raise WebhookVerificationError("signature_mismatch", f"{resolved.header} does not match")
        return VerifiedWebhook("token", delivery_id)
    claims = _verify_jwt(resolved, keys, value, clock)
    return VerifiedWebhook("jwt", delivery_id, claims=claims)


def sign_webhook(
    spec: HmacSignature | TokenSignature | str,
    secret: str | bytes,
    body: bytes,
    *,
    timestamp: int | None = None,
    message_id: str | None = None,
) -> dict[str, str]:
    """The headers a provider using ``spec`` would send with ``body`` (simulators, tests)."""
    resolved = webhook_signature(spec)
    if isinstance(resolved, TokenSignature):
        return {resolved.header: resolved.prefix + (secret.decode() if isinstance(secret, bytes) else secret)}
    if not isinstance(resolved, HmacSignature):
        raise ValueError(f"sign_webhook supports HMAC and token schemes, not {resolved.kind}")
    out: dict[str, str] = {}
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    if resolved.timestamp_header:
        out[resolved.timestamp_header] = stamp
    if resolved.id_header:
        out[resolved.id_header] = message_id or f"msg_{int(time.time() * 1000)}"
    signed = _signed_bytes(
        resolved, body, out.get(resolved.timestamp_header or ""), out.get(resolved.id_header or "")
    )
    digest = hmac.new(_key(resolved, secret), signed, _ALGORITHMS[resolved.algorithm]).digest()
    encoded = digest.hex() if resolved.encoding == "hex" else base64.b64encode(digest).decode()
    out[resolved.header] = resolved.prefix + encoded
    return out


def _secret_list(secrets: Secrets) -> list[str | bytes]:
    items: Sequence[str | bytes] = [secrets] if isinstance(secrets, str | bytes) else secrets
    return [s for s in items if s]


def _raw(secret: str | bytes) -> bytes:
    return secret if isinstance(secret, bytes) else secret.encode()


def _key(spec: HmacSignature, secret: str | bytes) -> bytes:
    text = secret.decode() if isinstance(secret, bytes) else secret
    if spec.secret_prefix and text.startswith(spec.secret_prefix):
        text = text[len(spec.secret_prefix) :]
    if spec.secret_encoding == "utf-8":
        return text.encode()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("secret_invalid", "the signing secret is not valid base64") from None


def _header(lowered: Mapping[str, str], name: str, prefix: str) -> str:
    value = lowered.get(name.lower())
    if not value:
        raise WebhookVerificationError("signature_missing", f"header {name} is missing")
    if prefix:
        if not value.lower().startswith(prefix.lower()):
            raise WebhookVerificationError("signature_malformed", f"{name} does not start with {prefix!r}")
        value = value[len(prefix) :]
    return value.strip()


def _any_equal(expected: list[bytes], sent: list[bytes]) -> bool:
    matched = False
    for want in expected:
        for got in sent:
            # No early exit: every pair is compared, each in constant time.
            matched |= hmac.compare_digest(want, got)
    return matched


def _verify_hmac(
    spec: HmacSignature, keys: list[str | bytes], lowered: Mapping[str, str], body: bytes, now: float
) -> datetime | None:
    raw = lowered.get(spec.header.lower())
    if not raw:
        raise WebhookVerificationError("signature_missing", f"header {spec.header} is missing")
    stamp_text, stamp = _timestamp(spec, lowered, body, now)
    msg_id = None
    if spec.id_header:
        msg_id = lowered.get(spec.id_header.lower())
        if not msg_id:
            raise WebhookVerificationError("signature_missing", f"header {spec.id_header} is missing")
    candidates = _candidates(spec, raw)
    if not candidates:
        raise WebhookVerificationError("signature_malformed", f"{spec.header} holds no readable signature")
    signed = _signed_bytes(spec, body, stamp_text, msg_id)
    digests = [hmac.new(_key(spec, k), signed, _ALGORITHMS[spec.algorithm]).digest() for k in keys]
    if not _any_equal(digests, candidates):
        raise WebhookVerificationError("signature_mismatch", f"{spec.header} does not match the body")
    return stamp


def _candidates(spec: HmacSignature, raw: str) -> list[bytes]:
    if spec.separator == "comma":
        parts = raw.split(",")
    elif spec.separator == "space":
        parts = raw.split()
    else:
        parts = [raw]
    out: list[bytes] = []
    for part in parts[:MAX_SIGNATURES]:
        part = part.strip()
        if spec.prefix:
            if not part.lower().startswith(spec.prefix.lower()):
                continue  # another scheme's entry (Standard Webhooks' v1a,...)
            part = part[len(spec.prefix) :]
        try:
            value = bytes.fromhex(part) if spec.encoding == "hex" else base64.b64decode(part, validate=True)
        except (ValueError, binascii.Error):
            continue
        if spec.encoding != "hex" and base64.b64encode(value).decode("ascii") != part:
            # Non-canonical base64 (the unused bits of the last character set) decodes to the
            # same bytes: refused, so a signature has one spelling and cannot be varied.
            continue
        out.append(value)
    return out


def _timestamp(
    spec: HmacSignature, lowered: Mapping[str, str], body: bytes, now: float
) -> tuple[str | None, datetime | None]:
    if not spec.timestamped:
        return None, None
    text: str | None
    if spec.timestamp_header:
        text = lowered.get(spec.timestamp_header.lower())
        if not text:
            raise WebhookVerificationError("timestamp_missing", f"header {spec.timestamp_header} is missing")
    else:
        text = _body_field(body, spec.timestamp_field or "")
        if text is None:
            raise WebhookVerificationError(
                "timestamp_missing", f"body field {spec.timestamp_field} is missing"
            )
    try:
        value = float(text.strip())
    except ValueError:
        raise WebhookVerificationError("timestamp_invalid", "the webhook timestamp is not a number") from None
    if not math.isfinite(value):
        # float() reads "nan" and "inf" too; NaN passes every tolerance comparison (all are
        # false) and then fails the conversion to a datetime: refused here, not a crash there.
        raise WebhookVerificationError("timestamp_invalid", "the webhook timestamp is not a finite number")
    seconds = value / 1000 if spec.timestamp_unit == "ms" else value
    if abs(now - seconds) > spec.tolerance_s:
        raise WebhookVerificationError(
            "timestamp_out_of_tolerance",
            f"the webhook timestamp is more than {spec.tolerance_s}s away from now (replay?)",
        )
    return text, datetime.fromtimestamp(seconds, UTC)


def _body_field(body: bytes, dotted: str) -> str | None:
    try:
        node: Any = json.loads(body)
    except ValueError:
        return None
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float | str):
        return None
    return str(node)


def _signed_bytes(spec: HmacSignature, body: bytes, stamp: str | None, msg_id: str | None) -> bytes:
    values = {"body": body, "timestamp": (stamp or "").encode(), "id": (msg_id or "").encode()}
    out = b""
    last = 0
    for match in PLACEHOLDER.finditer(spec.signed):
        out += spec.signed[last : match.start()].encode() + values[match.group(1)]
        last = match.end()
    return out + spec.signed[last:].encode()


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_jwt(spec: JwtSignature, keys: list[str | bytes], token: str, now: float) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise WebhookVerificationError("signature_malformed", "the token is not a JWT")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except (ValueError, binascii.Error):
        raise WebhookVerificationError("signature_malformed", "the JWT is not decodable") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise WebhookVerificationError("signature_malformed", "only HS256 JWTs are accepted")
    signed = f"{parts[0]}.{parts[1]}".encode()
    digests = [hmac.new(_raw(k), signed, hashlib.sha256).digest() for k in keys]
    if not _any_equal(digests, [signature]):
        raise WebhookVerificationError("signature_mismatch", "the JWT signature does not match")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or not math.isfinite(exp):
        # (json reads NaN and Infinity: an exp of NaN would never compare as expired)
        raise WebhookVerificationError("signature_malformed", "the JWT has no exp claim")
    if now > exp + spec.leeway_s:
        raise WebhookVerificationError("timestamp_out_of_tolerance", "the JWT has expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and not math.isfinite(nbf):
        raise WebhookVerificationError("signature_malformed", "the JWT's nbf claim is not a number")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now + spec.leeway_s < nbf:
        raise WebhookVerificationError("timestamp_out_of_tolerance", "the JWT is not valid yet")
    return claims
