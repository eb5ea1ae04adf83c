"""Request and response bodies. Secret values only ever travel in bodies, never in URLs."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub_vault.domain.hmac_signing import SecretFormat, SignatureEncoding
from hub_vault.domain.names import CREDENTIAL_KEY_PATTERN
from hub_vault.services.credentials import Revealed, SecretEncoding, Stored

CredentialKey = Annotated[str, Field(pattern=CREDENTIAL_KEY_PATTERN, strict=True)]


class Body(BaseModel):
    # Unknown fields are refused; scalars are strict (no "5" for 5), enums take their values.
    model_config = ConfigDict(extra="forbid")


MAX_ROW_VERSION = 2**63 - 1  # the column is a bigint: anything larger is bad input, not a DB error


class StoreRequest(Body):
    value: str = Field(min_length=1, strict=True, description="the secret; at most 64 KiB of UTF-8")
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=MAX_ROW_VERSION,
        strict=True,
        description="optimistic concurrency: 0 = only if absent, n = only if at version n",
    )


MAX_VALUES_PER_BATCH = 16


class StoreManyRequest(Body):
    values: dict[CredentialKey, Annotated[str, Field(min_length=1, strict=True)]] = Field(
        min_length=1,
        max_length=MAX_VALUES_PER_BATCH,
        description="key -> secret; each at most 64 KiB of UTF-8, the whole body within the body limit",
    )


class CredentialMeta(BaseModel):
    tenant_id: str
    connection_id: UUID
    key: str
    key_version: int
    version: int = Field(description="row version; bumps on every write and rewrap")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class CredentialValue(CredentialMeta):
    value: str


def meta_of(stored: Stored) -> CredentialMeta:
    o = stored.owner
    return CredentialMeta(
        tenant_id=o.tenant_id,
        connection_id=o.connection_id,
        key=o.credential_key,
        key_version=stored.key_version,
        version=stored.version,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def value_of(revealed: Revealed) -> CredentialValue:
    o = revealed.owner
    return CredentialValue(
        tenant_id=o.tenant_id,
        connection_id=o.connection_id,
        key=o.credential_key,
        key_version=revealed.key_version,
        version=revealed.version,
        value=revealed.value,
    )


class CredentialList(BaseModel):
    tenant_id: str
    connection_id: UUID
    credentials: list[CredentialMeta]


class DeletedAll(BaseModel):
    tenant_id: str
    connection_id: UUID
    deleted: list[str]


class GenerateRequest(Body):
    bytes: int = Field(default=32, ge=16, le=128, strict=True, description="random bytes before encoding")
    encoding: SecretEncoding = SecretEncoding.BASE64URL
    prefix: str = Field(default="", pattern=r"^[A-Za-z0-9_\-]{0,16}$", strict=True, description="e.g. whsec_")
    replace: bool = Field(default=False, strict=True, description="overwrite an existing value")


class _Message(Body):
    message: str | None = Field(default=None, strict=True, description="the message as UTF-8 text")
    message_base64: str | None = Field(default=None, strict=True, description="the message as base64 bytes")
    secret_format: SecretFormat = SecretFormat.RAW
    encoding: SignatureEncoding = SignatureEncoding.HEX

    @model_validator(mode="after")
    def _one_message(self) -> Self:
        if (self.message is None) == (self.message_base64 is None):
            raise ValueError("give exactly one of message and message_base64")
        if self.message_base64 is not None:
            try:
                base64.b64decode(self.message_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("message_base64 is not valid base64") from None
        return self

    def message_bytes(self) -> bytes:
        if self.message_base64 is not None:
            return base64.b64decode(self.message_base64, validate=True)
        assert self.message is not None
        return self.message.encode("utf-8")


class SignRequest(_Message):
    key: CredentialKey


class Signature(BaseModel):
    key: str
    signature: str
    encoding: SignatureEncoding


class VerifyRequest(_Message):
    keys: list[CredentialKey] = Field(
        min_length=1, max_length=10, description="candidate secrets, e.g. current and previous"
    )
    signatures: list[Annotated[str, Field(min_length=1, max_length=1024, strict=True)]] = Field(
        min_length=1, max_length=10
    )


class VerifyResult(BaseModel):
    valid: bool
    key: str | None = Field(description="the candidate that matched")


class KeyVersionOut(BaseModel):
    version: int
    primary: bool
    state: str = Field(description="primary | active | retired | missing (values but no key)")
    in_keyring: bool
    values: int
    created_at: datetime | None
    registered_at: datetime | None
    retired_at: datetime | None


class KeyVersionList(BaseModel):
    primary_version: int
    versions: list[KeyVersionOut]


class RetireOut(BaseModel):
    version: int
    retired: bool = True
    material_destroyed: bool


class RewrapRequest(Body):
    batch_size: int | None = Field(default=None, ge=1, le=10_000, strict=True)


class RewrapJobOut(BaseModel):
    id: UUID
    status: str
    target_version: int
    batch_size: int
    total: int
    rewrapped: int
    skipped: int = Field(description="changed concurrently (already under the primary)")
    failed: int = Field(description="did not decrypt; left unchanged")
    passes: int
    remaining: int | None = None
    started_by: str
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class RewrapJobList(BaseModel):
    jobs: list[RewrapJobOut]
