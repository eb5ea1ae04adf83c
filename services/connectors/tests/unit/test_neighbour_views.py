"""What the connection page makes of the gateway's rate-limit status and the webhooks service's
registrations (docs/adr/0029)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from hub_connectors.domain.rate_limit_status import RateLimitStatus
from hub_connectors.domain.webhook_registration import WebhookRegistration

pytestmark = pytest.mark.unit
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _status(**changes):
    body = {
        "requests_limit": 5000, "requests_remaining": 12, "reset_at": "2030-01-01T01:00:00+00:00",
        "is_limited": False, "retry_after_s": None,
        "gateway": [{"scope": "tenant", "limit": 100, "remaining": 7,
                     "reset_at": "2030-01-01T00:00:10+00:00"}],
        "provider": [{"api_name": "search", "limit": 30, "remaining": 0, "reset_at": None}],
        "provider_blocks": [],
    }  # fmt: skip
    return RateLimitStatus.from_gateway({**body, **changes}, now=NOW)


def test_the_summary_and_every_budget_by_name():
    status = _status()
    assert (status.requests_remaining, status.requests_limit) == (12, 5000)
    assert status.reset_at == NOW + timedelta(hours=1)
    assert not status.is_limited and status.blocked_until is None
    assert [(b.name, b.remaining, b.limit) for b in status.budgets] == [
        ("Hub quota (tenant)", 7, 100),
        ("Provider: search", 0, 30),
    ]


def test_blocked_until_the_latest_provider_block_else_the_hubs_retry_after():
    blocks = [{"until": "2030-01-01T00:05:00+00:00"}, {"until": "2030-01-01T00:09:00+00:00"}]
    assert _status(is_limited=True, provider_blocks=blocks).blocked_until == NOW + timedelta(minutes=9)
    assert _status(is_limited=True, retry_after_s=30).blocked_until == NOW + timedelta(seconds=30)
    assert _status(is_limited=True).blocked_until == NOW + timedelta(hours=1)  # the reset, at least


def _registration(**changes):
    rid = uuid4()
    body = {"id": str(rid), "connection_id": str(uuid4()), "mode": "manual", "status": "active",
            "url": "https://hub.example/webhooks/github/x", "trigger_ids": ["issue_opened"],
            "secret": "whsec-once",
            "steps": ["Store it with PUT /v1/webhooks/registrations/{id}/secret"]}  # fmt: skip
    return rid, WebhookRegistration.from_api({**body, **changes})


def test_a_registration_names_its_own_secret_route_and_never_prints_its_secret():
    rid, registration = _registration()
    assert registration.steps == (f"Store it with PUT /v1/webhooks/registrations/{rid}/secret",)
    assert "whsec-once" not in repr(registration)


def test_only_an_unfiltered_registration_of_the_trigger_covers_it():
    assert _registration()[1].covers("issue_opened")
    assert not _registration()[1].covers("pull_request_opened")
    assert not _registration(filter={"issue.labels": "bug"})[1].covers("issue_opened")
    assert not _registration(status="deleted")[1].covers("issue_opened")
