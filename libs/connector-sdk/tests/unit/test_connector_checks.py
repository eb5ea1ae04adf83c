from typing import Any

import pytest

from hub_connector_sdk import ApiSpec, BaseConnector, TriggerType, action, trigger
from hub_connector_sdk.testkit import assert_valid_connector, connector_problems

pytestmark = pytest.mark.unit


def test_a_well_formed_connector_has_no_problems(tracker: type[BaseConnector]) -> None:
    assert connector_problems(tracker) == []
    assert_valid_connector(tracker)


def test_common_mistakes_are_named(tracker: type[BaseConnector]) -> None:
    class Sloppy(tracker):  # type: ignore[valid-type,misc]
        id = "sloppy"
        api = ApiSpec(base_url="https://api.elsewhere.test", allowed_hosts=["api.tracker.test"])
        health_path = "orgs/{org}/me"
        webhook_event_name = BaseConnector.webhook_event_name

        @action()
        def not_async(self, params: dict[str, Any]) -> None: ...

        @trigger("parsed_async", type=TriggerType.CUSTOM, events=["x"])
        async def parsed_async(self, event: str, payload: dict[str, Any]) -> None: ...

    problems = connector_problems(Sloppy)

    assert problems == [
        "api.base_url host 'api.elsewhere.test' is not in api.allowed_hosts ['api.tracker.test']",
        "action not_async must be an async def",
        "webhook trigger parsed_async parses synchronously: use def, not async def",
        "webhook triggers issue_opened, issue_closed, parsed_async never fire: override webhook_event_name()",
        "health_path placeholder {org} is not a property of api.config_schema",
    ]
    with pytest.raises(AssertionError, match="Sloppy:"):
        assert_valid_connector(Sloppy)


def test_an_invalid_manifest_is_the_only_problem_reported(tracker: type[BaseConnector]) -> None:
    class Bad(tracker):  # type: ignore[valid-type,misc]
        version = "1"

    assert connector_problems(Bad) == [
        "Bad: version: Value error, '1' is not a semantic version (MAJOR.MINOR.PATCH)"
    ]


def test_a_missing_health_check(tracker: type[BaseConnector]) -> None:
    class Blind(tracker):  # type: ignore[valid-type,misc]
        health_path = None

    assert connector_problems(Blind) == ["no health check: set health_path or override health_check()"]


@pytest.mark.parametrize(
    ("base_url", "allowed", "ok"),
    [
        ("https://api.tracker.test", ["api.tracker.test"], True),
        ("https://api.tracker.test:8443", ["api.tracker.test:8443"], True),
        # The gateway refuses every call to this default base URL (its port is not 8443): the
        # test kit said nothing before ADR 0028, as it ignored ports.
        ("https://api.tracker.test", ["api.tracker.test:8443"], False),
        ("https://tracker.test", ["*.tracker.test"], False),
    ],
)
def test_base_url_host_is_checked_as_the_gateway_does(
    tracker: type[BaseConnector], base_url: str, allowed: list[str], ok: bool
) -> None:
    class Declared(tracker):  # type: ignore[valid-type,misc]
        api = ApiSpec(base_url=base_url, allowed_hosts=allowed)

    host_problems = [p for p in connector_problems(Declared) if p.startswith("api.base_url host")]
    assert (host_problems == []) is ok
