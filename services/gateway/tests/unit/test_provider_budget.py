"""Provider blocks: a long block refuses locally; a short one is handed back to be waited out."""

from __future__ import annotations

import uuid

import pytest

from hub_gateway.domain.errors import ProviderRateLimited
from hub_gateway.domain.provider_limits import Block
from hub_gateway.services.provider_budget import ProviderBudgets

pytestmark = pytest.mark.unit
NOW = 1_000_000.0


def budgets_at(now: list[float]) -> ProviderBudgets:
    return ProviderBudgets(None, None, clock=lambda: now[0])


def test_no_block_means_no_wait():
    assert budgets_at([NOW]).check(uuid.uuid4(), "/v1/messages", wait_up_to=2.0) == 0.0


def test_a_block_longer_than_the_wait_allowance_refuses_with_its_reset():
    now = [NOW]
    budgets, cid = budgets_at(now), uuid.uuid4()
    budgets.record(cid, [Block(NOW + 5, "retry-after")])
    with pytest.raises(ProviderRateLimited) as refused:
        budgets.check(cid, "/v1/messages", wait_up_to=2.0)
    assert refused.value.details["retry_after_s"] == 5


def test_a_short_block_is_returned_as_the_time_left_and_ends_on_its_own():
    now = [NOW]
    budgets, cid = budgets_at(now), uuid.uuid4()
    budgets.record(cid, [Block(NOW + 1, "retry-after")])
    assert budgets.check(cid, "/v1/messages", wait_up_to=2.0) == pytest.approx(1.0)
    with pytest.raises(ProviderRateLimited):
        budgets.check(cid, "/v1/messages")  # without an allowance it refuses
    now[0] = NOW + 1.001
    assert budgets.check(cid, "/v1/messages") == 0.0


def test_a_path_scoped_block_leaves_other_paths_alone():
    budgets, cid = budgets_at([NOW]), uuid.uuid4()
    budgets.record(cid, [Block(NOW + 30, "search", "/search/")])
    assert budgets.check(cid, "/repos/o/r") == 0.0
    with pytest.raises(ProviderRateLimited):
        budgets.check(cid, "/search/code")
