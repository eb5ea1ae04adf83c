"""What a tenant id and a credential key may look like (they end up in paths, SQL and audit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
# Lower-case only, so policy globs never depend on case.
CREDENTIAL_KEY_PATTERN = r"^[a-z0-9][a-z0-9._\-]{0,127}$"
MAX_VALUE_BYTES = 64 * 1024

_TENANT = re.compile(TENANT_ID_PATTERN)
_KEY = re.compile(CREDENTIAL_KEY_PATTERN)
# The canonical spelling only: UUID() also reads braces, URNs and other scripts' digits.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_tenant_id(value: str) -> bool:
    return bool(_TENANT.fullmatch(value))


def is_credential_key(value: str) -> bool:
    return bool(_KEY.fullmatch(value))


def is_canonical_uuid(value: str) -> bool:
    return bool(_CANONICAL_UUID.fullmatch(value))


@dataclass(frozen=True, slots=True)
class Owner:
    """The row a value belongs to; bound into the ciphertext as associated data."""

    tenant_id: str
    connection_id: UUID
    credential_key: str

    def __post_init__(self) -> None:
        if not is_tenant_id(self.tenant_id):
            raise ValueError("invalid tenant id")
        if not is_credential_key(self.credential_key):
            raise ValueError("invalid credential key")
