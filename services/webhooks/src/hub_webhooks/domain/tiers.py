"""What each tier allows here: webhooks from WriterPro up, and how long intake records stay.

Mirrors the license table of the connectors service (docs/adr/0019); a service never imports
another service, so the two facts the webhooks service needs are restated here.
"""

from __future__ import annotations

from hub_common.errors import Forbidden
from hub_common.web.auth import Tier

WEBHOOK_TIERS = (Tier.WRITERPRO, Tier.TEAMS, Tier.ENTERPRISE)
REQUIRED_TIER = Tier.WRITERPRO
# Days intake records (dedupe rows, refused-delivery audit) are kept: the license's audit
# retention. None: kept (Enterprise). Core has no webhooks: what a downgraded tenant left goes
# after a day.
RETENTION_DAYS: dict[Tier, int | None] = {
    Tier.CORE: 1,
    Tier.WRITERPRO: 30,
    Tier.TEAMS: 90,
    Tier.ENTERPRISE: None,
}


class WebhooksNotInTier(Forbidden):
    code = "feature_not_in_tier"

    def __init__(self, current: Tier) -> None:
        super().__init__(
            f"webhooks are not part of the {current} tier; they need {REQUIRED_TIER} or above",
            details={
                "current_tier": str(current),
                "required_tier": str(REQUIRED_TIER),
                "feature": "webhooks",
            },
        )


def require_webhooks(tier: Tier) -> None:
    if tier not in WEBHOOK_TIERS:
        raise WebhooksNotInTier(tier)
