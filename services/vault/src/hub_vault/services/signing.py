"""HMAC-SHA256 sign and verify with stored secrets: the secret never leaves the vault."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from hub_common.db import Database
from hub_common.errors import HubError, Unprocessable
from hub_vault.adapters.keyring_source import KeyringSource
from hub_vault.domain import hmac_signing
from hub_vault.domain.errors import CredentialNotFound, DecryptionFailed, KeyVersionUnavailable
from hub_vault.domain.hmac_signing import BadSecretFormat, SecretFormat, SignatureEncoding
from hub_vault.domain.names import Owner
from hub_vault.domain.operations import Operation
from hub_vault.repositories import credentials
from hub_vault.services import audit_trail, sealing
from hub_vault.services.access import AccessControl
from hub_vault.services.call_context import CallContext
from hub_vault.services.credentials import outcome_of


class SecretNotDecodable(Unprocessable):
    code = "secret_format_mismatch"


@dataclass(frozen=True, slots=True)
class Verification:
    valid: bool
    matched_key: str | None
    candidates_found: int


class SigningService:
    def __init__(self, db: Database, source: KeyringSource, access: AccessControl) -> None:
        self.db = db
        self.source = source
        self.access = access

    def _key_bytes(self, secret: bytes, fmt: SecretFormat) -> bytes:
        try:
            return hmac_signing.hmac_key(secret, fmt)
        except BadSecretFormat as exc:
            raise SecretNotDecodable(str(exc)) from None

    async def sign(
        self, ctx: CallContext, owner: Owner, message: bytes, fmt: SecretFormat, encoding: SignatureEncoding
    ) -> str:
        await self.access.require(
            ctx,
            Operation.HMAC_SIGN,
            tenant_id=owner.tenant_id,
            connection_id=owner.connection_id,
            keys=(owner.credential_key,),
        )
        error: HubError | None = None
        signature = ""
        async with self.db.transaction() as conn:
            stored = await credentials.get(conn, owner)
            if stored is None:
                error = CredentialNotFound()
            else:
                try:
                    key = self._key_bytes(sealing.open_value(self.source, stored), fmt)
                    signature = hmac_signing.encode_signature(hmac_signing.sign(key, message), encoding)
                except (DecryptionFailed, KeyVersionUnavailable, SecretNotDecodable) as exc:
                    error = exc
            await audit_trail.record(
                conn,
                ctx,
                Operation.HMAC_SIGN,
                outcome_of(error),
                owner=owner,
                key_version=stored.sealed.key_version if stored else None,
            )
        if error is not None:
            raise error
        return signature

    async def verify(
        self,
        ctx: CallContext,
        tenant_id: str,
        connection_id: UUID,
        keys: list[str],
        message: bytes,
        signatures: list[str],
        fmt: SecretFormat,
        encoding: SignatureEncoding,
    ) -> Verification:
        """Valid if any signature matches any candidate secret (rotation: old and new)."""
        await self.access.require(
            ctx, Operation.HMAC_VERIFY, tenant_id=tenant_id, connection_id=connection_id, keys=keys
        )
        given = [hmac_signing.decode_signature(s, encoding) for s in signatures]
        error: HubError | None = None
        matched: str | None = None
        unusable: list[str] = []
        async with self.db.transaction() as conn:
            found = await credentials.get_many(conn, tenant_id, connection_id, keys)
            if not found:
                error = CredentialNotFound()
            for stored in sorted(found, key=lambda s: keys.index(s.owner.credential_key)):
                try:
                    key = self._key_bytes(sealing.open_value(self.source, stored), fmt)
                except (DecryptionFailed, KeyVersionUnavailable, SecretNotDecodable) as exc:
                    # One candidate that cannot be used (during a rotation the new secret may be
                    # in another encoding) does not stop the others from matching.
                    error = error or exc
                    unusable.append(stored.owner.credential_key)
                    continue
                # Every candidate is computed and compared: timing does not reveal which matched.
                if hmac_signing.matches(hmac_signing.sign(key, message), given) and matched is None:
                    matched = stored.owner.credential_key
            if matched is not None:
                error = None  # a match is a match; the unusable ones are named in the audit row
            details = {"candidates": keys, "found": len(found), "valid": matched is not None}
            if unusable:
                details["unusable"] = unusable
            await audit_trail.record(
                conn,
                ctx,
                Operation.HMAC_VERIFY,
                outcome_of(error),
                tenant_id=tenant_id,
                connection_id=connection_id,
                credential_key=matched,
                details=details,
            )
        if error is not None:
            raise error
        return Verification(matched is not None, matched, len(found))
