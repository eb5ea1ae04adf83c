"""``GET /v1/license``."""

from __future__ import annotations

from fastapi import APIRouter

from hub_connectors.api.deps import CallerDep, ContainerDep
from hub_connectors.api.schemas import LicenseOut

router = APIRouter(prefix="/v1/license", tags=["license"])


@router.get("", response_model=LicenseOut)
async def get_license(caller: CallerDep, container: ContainerDep) -> LicenseOut:
    return LicenseOut.model_validate(await container.license.describe(caller))
