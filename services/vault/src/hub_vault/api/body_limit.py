"""The vault's request body limits: HMAC routes carry whole webhook payloads, so they get their
own (larger) limit; everything else has the credential limit."""

from __future__ import annotations

import re
from collections.abc import Callable

# The HMAC routes exactly (routes_credentials: POST .../hmac/sign and .../hmac/verify), by path
# segments: a tenant, connection or key named "hmac" must not lift a credential body's limit.
_HMAC_PATH = re.compile(r"/v1/tenants/[^/]+/connections/[^/]+/hmac/(?:sign|verify)")


def body_limit_for(max_bytes: int, max_hmac_bytes: int) -> Callable[[str], int]:
    def limit(path: str) -> int:
        return max_hmac_bytes if _HMAC_PATH.fullmatch(path) else max_bytes

    return limit
