"""Which signature scheme a connection's registrations verify with: the connector's, or the
alternative preset the connection's config names (``webhook_signature``)."""

from __future__ import annotations

import pytest

from hub_connector_gitlab import GitLabConnector
from hub_webhooks.services.connectors_client import chosen_signature

pytestmark = pytest.mark.unit
MANIFEST = GitLabConnector.manifest().model_dump(mode="json")


def test_the_connectors_scheme_by_default():
    assert chosen_signature(MANIFEST, {})["preset"] == "gitlab-token"


def test_an_alternative_the_connection_chose():
    spec = chosen_signature(MANIFEST, {"webhook_signature": "gitlab-signing"})
    assert spec["preset"] == "gitlab-signing" and spec["header"] == "webhook-signature"


@pytest.mark.parametrize("wanted", ["standard-webhooks", "github-sha256", 7, None])
def test_a_scheme_the_connector_does_not_offer_is_never_chosen(wanted):
    assert chosen_signature(MANIFEST, {"webhook_signature": wanted})["preset"] == "gitlab-token"


def test_no_scheme_at_all():
    assert chosen_signature({"webhook_signature": None}, {"webhook_signature": "gitlab-signing"}) is None
