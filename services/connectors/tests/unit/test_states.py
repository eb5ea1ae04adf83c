"""The connection state machine: allowed transitions, refusals, and what counts as 'entering active'."""

import itertools

import pytest

from hub_connectors.domain.states import (
    ALLOWED_TRANSITIONS,
    OCCUPYING,
    ConnectionStatus,
    InvalidTransition,
    can_transition,
    enters_active,
    transition,
)

pytestmark = pytest.mark.unit
S = ConnectionStatus

EXPECTED = {
    (S.INITIALIZING, S.ACTIVE), (S.INITIALIZING, S.TOKEN_INVALID), (S.INITIALIZING, S.ERROR),
    (S.INITIALIZING, S.DISCONNECTED),
    (S.ACTIVE, S.TOKEN_EXPIRED), (S.ACTIVE, S.TOKEN_INVALID), (S.ACTIVE, S.ERROR), (S.ACTIVE, S.DISCONNECTED),
    (S.TOKEN_EXPIRED, S.ACTIVE), (S.TOKEN_EXPIRED, S.TOKEN_INVALID), (S.TOKEN_EXPIRED, S.ERROR),
    (S.TOKEN_EXPIRED, S.DISCONNECTED),
    (S.TOKEN_INVALID, S.ACTIVE), (S.TOKEN_INVALID, S.DISCONNECTED),
    (S.ERROR, S.ACTIVE), (S.ERROR, S.TOKEN_EXPIRED), (S.ERROR, S.TOKEN_INVALID), (S.ERROR, S.DISCONNECTED),
}  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_pair_follows_the_table(current, target):
    allowed = current == target or (current, target) in EXPECTED
    assert can_transition(current, target) is allowed
    if allowed:
        assert transition(current, target) is target
    else:
        with pytest.raises(InvalidTransition) as err:
            transition(current, target)
        assert err.value.status_code == 409
        assert err.value.details == {"status": str(current), "requested": str(target)}


def test_the_table_covers_every_status_and_disconnected_is_terminal():
    assert set(ALLOWED_TRANSITIONS) == set(S)
    assert ALLOWED_TRANSITIONS[S.DISCONNECTED] == frozenset()
    assert all(S.DISCONNECTED in ALLOWED_TRANSITIONS[s] for s in S if s is not S.DISCONNECTED)


def test_a_refused_credential_is_not_downgraded_to_a_transient_error():
    assert not can_transition(S.TOKEN_INVALID, S.ERROR)
    assert not can_transition(S.TOKEN_INVALID, S.TOKEN_EXPIRED)


def test_entering_active_only_from_another_state():
    assert enters_active(S.INITIALIZING, S.ACTIVE)
    assert enters_active(S.ERROR, S.ACTIVE)
    assert not enters_active(S.ACTIVE, S.ACTIVE)
    assert not enters_active(S.DISCONNECTED, S.ACTIVE)
    assert not enters_active(S.INITIALIZING, S.ERROR)


def test_only_disconnected_frees_a_license_slot():
    assert set(S) - OCCUPYING == {S.DISCONNECTED}
