from typing import Any

import pytest
from pydantic import ValidationError

from hub_connector_sdk import (
    ApiSpec,
    AuthenticationMethod,
    AuthSpec,
    BaseConnector,
    ConnectorCategory,
    ConnectorManifest,
    ManifestError,
    OAuthConfig,
    TriggerType,
    action,
    trigger,
)

pytestmark = pytest.mark.unit


class Valid(BaseConnector):
    id = "valid"
    name = "Valid"
    category = ConnectorCategory.CUSTOM
    description = "a valid connector"
    auth = AuthSpec(method=AuthenticationMethod.NONE)
    api = ApiSpec(base_url="https://api.valid.test")


def _manifest_error(cls: type[BaseConnector]) -> str:
    with pytest.raises(ManifestError) as caught:
        cls.manifest()
    assert caught.value.code == "invalid_manifest"
    return caught.value.message


def test_the_baseline_is_valid() -> None:
    assert Valid.manifest().id == "valid"


@pytest.mark.parametrize("bad_id", ["GitHub", "1abc", "a", "has-dash", "x" * 64, "with space"])
def test_bad_connector_id(bad_id: str) -> None:
    class Bad(Valid):
        id = bad_id

    message = _manifest_error(Bad)
    assert message.startswith("Bad: id: String should match pattern")


@pytest.mark.parametrize("bad_version", ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "1.0.0-", "latest"])
def test_bad_semantic_version(bad_version: str) -> None:
    class Bad(Valid):
        version = bad_version

    assert "is not a semantic version" in _manifest_error(Bad)


@pytest.mark.parametrize("good_version", ["0.1.0", "1.2.3-beta.1", "2.0.0+build.5", "10.20.30"])
def test_semantic_versions_accepted(good_version: str) -> None:
    class Good(Valid):
        version = good_version
        min_hub_version = good_version

    assert Good.manifest().version == good_version


def test_bad_min_hub_version() -> None:
    class Bad(Valid):
        min_hub_version = "0.15"

    assert _manifest_error(Bad) == "Bad: min_hub_version: Value error, '0.15' is not a semantic version " + (
        "(MAJOR.MINOR.PATCH)"
    )


def test_duplicate_action_ids_in_one_class_are_reported() -> None:
    class Dupes(Valid):
        @action("send")
        async def send_one(self, params: dict[str, Any]) -> None: ...

        @action("send")
        async def send_two(self, params: dict[str, Any]) -> None: ...

    assert _manifest_error(Dupes) == "Dupes: duplicate action ids: send"


def test_duplicate_trigger_ids_in_one_class_are_reported() -> None:
    class Dupes(Valid):
        @trigger("changed", type=TriggerType.UPDATED, events=["a"])
        def one(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
            return payload

        @trigger("changed", type=TriggerType.UPDATED, events=["b"])
        def two(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
            return payload

    assert _manifest_error(Dupes) == "Dupes: duplicate trigger ids: changed"


def test_one_function_under_two_names_is_not_a_duplicate() -> None:
    class Aliased(Valid):
        @action()
        async def send(self, params: dict[str, Any]) -> None: ...

        send_alias = send

    assert [a.id for a in Aliased.manifest().actions] == ["send"]


def test_duplicate_ids_in_a_manifest_document() -> None:
    data = Valid.manifest().model_dump(mode="json")
    action_doc = {"id": "send", "name": "Send", "description": "d", "parameters_schema": {}}
    data["actions"] = [action_doc, action_doc]

    with pytest.raises(ValidationError, match="duplicate action ids: send"):
        ConnectorManifest.model_validate(data)


def test_bad_action_id() -> None:
    class Bad(Valid):
        @action("Send-Message")
        async def send(self, params: dict[str, Any]) -> None: ...

    assert _manifest_error(Bad).startswith("Bad: action 'Send-Message' id: String should match pattern")


def test_oauth2_without_oauth_config() -> None:
    with pytest.raises(ValidationError, match=r"auth\.method oauth2 needs auth\.oauth"):
        AuthSpec(method=AuthenticationMethod.OAUTH2)


def test_oauth2_with_config_is_accepted() -> None:
    spec = AuthSpec(
        method=AuthenticationMethod.OAUTH2,
        oauth=OAuthConfig(authorization_url="https://a.test/authorize", token_url="https://a.test/token"),
    )
    assert spec.oauth is not None and spec.oauth.use_pkce is True


def test_api_key_without_placement() -> None:
    with pytest.raises(ValidationError, match=r"needs auth\.api_key"):
        AuthSpec(method=AuthenticationMethod.API_KEY)


def test_unknown_auth_method_value() -> None:
    class Bad(Valid):
        auth = {"method": "saml"}  # type: ignore[assignment]  # as a plugin might declare it

    message = _manifest_error(Bad)
    assert message.startswith("Bad: auth.method: Input should be")
    assert "'api_key'" in message and "'oauth2'" in message


def test_unknown_auth_method_in_a_manifest_document() -> None:
    data = Valid.manifest().model_dump(mode="json")
    data["auth"]["method"] = "kerberos"

    with pytest.raises(ValidationError, match=r"auth\.method"):
        ConnectorManifest.model_validate(data)


def test_missing_class_attribute() -> None:
    class NoApi(BaseConnector):
        id = "no_api"
        name = "No API"
        category = ConnectorCategory.CUSTOM
        description = "d"
        auth = AuthSpec(method=AuthenticationMethod.NONE)

    assert _manifest_error(NoApi) == "NoApi: missing class attribute 'api'"


def test_every_problem_is_named() -> None:
    class Bad(Valid):
        id = "Bad"
        version = "one"

    message = _manifest_error(Bad)
    assert "id: String should match pattern" in message
    assert "version: Value error, 'one' is not a semantic version" in message


def test_allowed_hosts_must_be_host_names() -> None:
    with pytest.raises(ValidationError, match="is not a host name"):
        ApiSpec(base_url="https://api.x.test", allowed_hosts=["https://api.x.test/"])
