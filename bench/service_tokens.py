"""Cost of a service token (ADR 0010): mint and verify an Ed25519 (EdDSA) JWT, the hub's own
code against PyJWT doing the same, and a verification served from the receiver's cache.

    uv run python bench/service_tokens.py      # prints a table (µs per operation, same run)

The hub's code is what ``hub_common.web.auth`` runs; PyJWT is the alternative it was measured
against. A receiver verifies a caller's token once and then answers from its cache until the
token's ``exp`` (callers reuse a token for ~4 minutes), so the cached row is the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub_common.service_keys import format_public_keys
from hub_common.settings import HubSettings
from hub_common.web.auth import Authenticator, mint_service_token


def per_op_us(fn: Callable[[], object], min_time_s: float = 0.5) -> float:
    n, elapsed, start = 0, 0.0, time.perf_counter()
    while elapsed < min_time_s:
        for _ in range(200):
            fn()
        n += 200
        elapsed = time.perf_counter() - start
    return elapsed / n * 1e6


def measure() -> dict[str, float]:
    key = Ed25519PrivateKey.generate()
    keys = format_public_keys([("oauth", key.public_key())])
    settings = HubSettings(service_name="vault", service_public_keys=keys)
    token = mint_service_token(key, service_id="oauth", audience="vault")

    auth = Authenticator(settings)

    def hub_verify() -> object:
        auth._verified.clear()  # every call verifies the signature
        return auth.verify_service(token, "vault")

    now = int(time.time())
    claims = {"typ": "service", "sub": "oauth", "aud": "vault", "iat": now, "exp": now + 300, "jti": "j"}
    pyjwt_token = jwt.encode(claims, key, algorithm="EdDSA")
    public = key.public_key()
    auth.verify_service(token, "vault")
    return {
        "hub mint": per_op_us(lambda: mint_service_token(key, service_id="oauth", audience="vault")),
        "PyJWT mint": per_op_us(lambda: jwt.encode(claims, key, algorithm="EdDSA")),
        "hub verify": per_op_us(hub_verify),
        "PyJWT verify": per_op_us(
            lambda: jwt.decode(pyjwt_token, public, algorithms=["EdDSA"], audience="vault")
        ),
        "hub verify, cached": per_op_us(lambda: auth.verify_service(token, "vault")),
    }


def main() -> None:
    results = measure()
    width = max(map(len, results))
    for name, micros in results.items():
        print(f"{name:<{width}}  {micros:8.1f} µs")


if __name__ == "__main__":
    main()
