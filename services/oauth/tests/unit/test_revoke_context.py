"""Why a revocation goes on without the provider, and when it must wait instead."""

from types import SimpleNamespace

import pytest

from hub_common.errors import HubError, ServiceUnavailable
from hub_oauth.services.revoke import Revoker

pytestmark = pytest.mark.unit


def Failing(status: int, code: str) -> HubError:
    return HubError("no context", code=code, status_code=status)


INFO = SimpleNamespace(id="c-1")


class Resolver:
    def __init__(self, error: HubError) -> None:
        self.error = error

    async def context(self, info):
        raise self.error


def revoker(error: HubError) -> Revoker:
    return Revoker(db=None, vault=None, resolver=Resolver(error), provider=None, locks=None)  # type: ignore[arg-type]


async def test_a_permanent_reason_is_reported_and_the_tokens_go_anyway():
    ctx, reason = await revoker(Failing(400, "oauth_app_missing"))._context(INFO)  # type: ignore[arg-type]
    assert ctx is None and reason == "oauth_app_missing"


@pytest.mark.parametrize("status", [502, 503])
async def test_a_brief_outage_is_503_so_the_provider_is_not_skipped_for_good(status):
    with pytest.raises(ServiceUnavailable) as err:
        await revoker(Failing(status, "discovery_failed"))._context(INFO)  # type: ignore[arg-type]
    assert err.value.code == "provider_context_unavailable"
