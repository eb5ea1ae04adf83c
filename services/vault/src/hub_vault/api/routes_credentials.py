"""``/v1/tenants/{tenant_id}/connections/{connection_id}/...``: credentials and HMAC."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from hub_vault.api import schemas
from hub_vault.api.deps import CallContextDep, ConnectionId, ContainerDep, CredentialKeyPath, TenantId
from hub_vault.domain.names import Owner
from hub_vault.services.credentials import CredentialMeta

router = APIRouter(prefix="/v1/tenants/{tenant_id}/connections/{connection_id}", tags=["credentials"])


def _listed(tenant_id: str, connection_id: UUID, m: CredentialMeta) -> schemas.CredentialMeta:
    return schemas.CredentialMeta(
        tenant_id=tenant_id,
        connection_id=connection_id,
        key=m.credential_key,
        key_version=m.key_version,
        version=m.version,
        created_at=m.created_at,
        updated_at=m.updated_at,
    )


@router.put(
    "/credentials/{key}",
    response_model=schemas.CredentialMeta,
    responses={201: {"model": schemas.CredentialMeta}},
)
async def store_credential(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    key: CredentialKeyPath,
    body: schemas.StoreRequest,
    ctx: CallContextDep,
    container: ContainerDep,
    response: Response,
) -> schemas.CredentialMeta:
    """Store (create or replace) one value. 201 when created, 200 when replaced."""
    stored = await container.credentials.store(
        ctx, Owner(tenant_id, connection_id, key), body.value, body.expected_version
    )
    response.status_code = status.HTTP_201_CREATED if stored.created else status.HTTP_200_OK
    return schemas.meta_of(stored)


@router.get("/credentials/{key}", response_model=schemas.CredentialValue)
async def read_credential(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    key: CredentialKeyPath,
    ctx: CallContextDep,
    container: ContainerDep,
) -> schemas.CredentialValue:
    return schemas.value_of(await container.credentials.read(ctx, Owner(tenant_id, connection_id, key)))


@router.delete("/credentials/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_credential(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    key: CredentialKeyPath,
    ctx: CallContextDep,
    container: ContainerDep,
    expected_version: Annotated[int | None, Query(ge=1, le=schemas.MAX_ROW_VERSION)] = None,
) -> Response:
    """With ``expected_version``, only if the stored row is still at that version (else 409
    ``version_conflict``, and the value stays)."""
    await container.credentials.delete(ctx, Owner(tenant_id, connection_id, key), expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/credentials", response_model=schemas.CredentialList)
async def store_credentials(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    body: schemas.StoreManyRequest,
    ctx: CallContextDep,
    container: ContainerDep,
) -> schemas.CredentialList:
    """Store (create or replace) several values at once: all or none, each audited and
    announced as a single store would be."""
    stored = await container.credentials.store_many(ctx, tenant_id, connection_id, body.values)
    return schemas.CredentialList(
        tenant_id=tenant_id, connection_id=connection_id, credentials=[schemas.meta_of(s) for s in stored]
    )


@router.get("/credentials", response_model=schemas.CredentialList)
async def list_credentials(
    tenant_id: TenantId, connection_id: ConnectionId, ctx: CallContextDep, container: ContainerDep
) -> schemas.CredentialList:
    """The connection's keys and versions, never values."""
    metas = await container.credentials.list_keys(ctx, tenant_id, connection_id)
    return schemas.CredentialList(
        tenant_id=tenant_id,
        connection_id=connection_id,
        credentials=[_listed(tenant_id, connection_id, m) for m in metas],
    )


@router.delete("/credentials", response_model=schemas.DeletedAll)
async def delete_all_credentials(
    tenant_id: TenantId, connection_id: ConnectionId, ctx: CallContextDep, container: ContainerDep
) -> schemas.DeletedAll:
    deleted = await container.credentials.delete_all(ctx, tenant_id, connection_id)
    return schemas.DeletedAll(tenant_id=tenant_id, connection_id=connection_id, deleted=deleted)


@router.post(
    "/credentials/{key}/generate", response_model=schemas.CredentialValue, status_code=status.HTTP_201_CREATED
)
async def generate_secret(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    key: CredentialKeyPath,
    body: schemas.GenerateRequest,
    ctx: CallContextDep,
    container: ContainerDep,
) -> schemas.CredentialValue:
    """Create a random secret, store it, and return it this once."""
    stored, value = await container.credentials.generate(
        ctx,
        Owner(tenant_id, connection_id, key),
        n_bytes=body.bytes,
        encoding=body.encoding,
        prefix=body.prefix,
        replace=body.replace,
    )
    return schemas.CredentialValue(**schemas.meta_of(stored).model_dump(), value=value)


@router.post("/hmac/sign", response_model=schemas.Signature)
async def hmac_sign(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    body: schemas.SignRequest,
    ctx: CallContextDep,
    container: ContainerDep,
) -> schemas.Signature:
    signature = await container.signing.sign(
        ctx,
        Owner(tenant_id, connection_id, body.key),
        body.message_bytes(),
        body.secret_format,
        body.encoding,
    )
    return schemas.Signature(key=body.key, signature=signature, encoding=body.encoding)


@router.post("/hmac/verify", response_model=schemas.VerifyResult)
async def hmac_verify(
    tenant_id: TenantId,
    connection_id: ConnectionId,
    body: schemas.VerifyRequest,
    ctx: CallContextDep,
    container: ContainerDep,
) -> schemas.VerifyResult:
    """200 with valid=true/false; 404 only when none of the candidate secrets exists."""
    result = await container.signing.verify(
        ctx,
        tenant_id,
        connection_id,
        body.keys,
        body.message_bytes(),
        body.signatures,
        body.secret_format,
        body.encoding,
    )
    return schemas.VerifyResult(valid=result.valid, key=result.matched_key)
