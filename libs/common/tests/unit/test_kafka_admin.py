"""Waiting for the group coordinator: retried while the broker is still loading, bounded."""

import pytest
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    GroupCoordinatorNotAvailableError,
    UnknownTopicOrPartitionError,
)

from hub_common.errors import ConfigurationError
from hub_common.kafka.admin import PROBE_GROUP, wait_for_group_coordinator

pytestmark = pytest.mark.unit


class ScriptedAdmin:
    """Answers find_coordinator from a script: exceptions are raised, ints returned."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked: list[str] = []
        self.closed = False

    def __call__(self, **_):
        return self

    async def start(self):
        pass

    async def close(self):
        self.closed = True

    async def find_coordinator(self, group_id):
        self.asked.append(group_id)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


async def test_it_retries_while_the_coordinator_is_not_there_yet():
    admin = ScriptedAdmin([GroupCoordinatorNotAvailableError(), CoordinatorLoadInProgressError(), 1])
    node = await wait_for_group_coordinator("k:1", interval_s=0, admin_factory=admin)
    assert node == 1
    assert admin.asked == [PROBE_GROUP] * 3
    assert admin.closed


async def test_it_gives_up_with_a_clear_error_after_the_timeout():
    admin = ScriptedAdmin([GroupCoordinatorNotAvailableError()])
    with pytest.raises(ConfigurationError, match=r"no group coordinator after 0\.05s"):
        await wait_for_group_coordinator("k:1", timeout_s=0.05, interval_s=0.01, admin_factory=admin)
    assert len(admin.asked) > 1
    assert admin.closed


async def test_other_errors_are_not_waited_out():
    admin = ScriptedAdmin([UnknownTopicOrPartitionError()])
    with pytest.raises(UnknownTopicOrPartitionError):
        await wait_for_group_coordinator("k:1", interval_s=0, admin_factory=admin)
    assert admin.asked == [PROBE_GROUP]
    assert admin.closed
