"""``/v1/admin/...``: key versions, rotation, retirement, rewrap jobs. Never key material."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, status

from hub_vault.api import schemas
from hub_vault.api.deps import CallContextDep, ContainerDep
from hub_vault.services.keys import KeyVersionInfo
from hub_vault.services.rewrap import RewrapJob

router = APIRouter(prefix="/v1/admin", tags=["admin"])
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _version(info: KeyVersionInfo) -> schemas.KeyVersionOut:
    state = (
        "primary"
        if info.primary
        else "retired"
        if info.retired
        else "active"
        if info.in_keyring
        else "missing"
    )
    return schemas.KeyVersionOut(
        version=info.version,
        primary=info.primary,
        state=state,
        in_keyring=info.in_keyring,
        values=info.values,
        created_at=info.created_at,
        registered_at=info.registered_at,
        retired_at=info.retired_at,
    )


def _job(job: RewrapJob, remaining: int | None = None) -> schemas.RewrapJobOut:
    return schemas.RewrapJobOut(
        id=job.id,
        status=job.status,
        target_version=job.target_version,
        batch_size=job.batch_size,
        total=job.total,
        rewrapped=job.rewrapped,
        skipped=job.skipped,
        failed=job.failed,
        passes=job.passes,
        remaining=remaining,
        started_by=job.started_by,
        error=job.error,
        started_at=job.started_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
    )


@router.get("/key-versions", response_model=schemas.KeyVersionList)
async def list_key_versions(ctx: CallContextDep, container: ContainerDep) -> schemas.KeyVersionList:
    """Every version with how many values use it (metadata only)."""
    infos = await container.keys.list_versions(ctx)
    primary = next(i.version for i in infos if i.primary)
    return schemas.KeyVersionList(primary_version=primary, versions=[_version(i) for i in infos])


@router.post("/key-versions", response_model=schemas.KeyVersionOut, status_code=status.HTTP_201_CREATED)
async def rotate_key(ctx: CallContextDep, container: ContainerDep) -> schemas.KeyVersionOut:
    """Rotate: a new random version becomes the primary; older versions keep decrypting."""
    return _version(await container.keys.rotate(ctx))


@router.post("/key-versions/{version}/retire", response_model=schemas.RetireOut)
async def retire_key_version(
    version: Version, ctx: CallContextDep, container: ContainerDep
) -> schemas.RetireOut:
    """Refused with 409 while any value still uses the version (rewrap first)."""
    result = await container.keys.retire(ctx, version)
    return schemas.RetireOut(version=result.version, material_destroyed=result.material_destroyed)


@router.post("/rewrap-jobs", response_model=schemas.RewrapJobOut, status_code=status.HTTP_202_ACCEPTED)
async def start_rewrap(
    ctx: CallContextDep, container: ContainerDep, body: schemas.RewrapRequest | None = None
) -> schemas.RewrapJobOut:
    """Start (or resume) moving every value to the primary version, online, in batches."""
    job = await container.rewrap.start(ctx, body.batch_size if body else None)
    return _job(job)


@router.get("/rewrap-jobs", response_model=schemas.RewrapJobList)
async def list_rewrap_jobs(ctx: CallContextDep, container: ContainerDep) -> schemas.RewrapJobList:
    return schemas.RewrapJobList(jobs=[_job(j) for j in await container.rewrap.recent(ctx)])


@router.get("/rewrap-jobs/{job_id}", response_model=schemas.RewrapJobOut)
async def rewrap_job(job_id: UUID, ctx: CallContextDep, container: ContainerDep) -> schemas.RewrapJobOut:
    job, remaining = await container.rewrap.status(ctx, job_id)
    return _job(job, remaining)
