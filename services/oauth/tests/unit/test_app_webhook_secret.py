"""Which connectors' webhooks are signed with the OAuth app's client secret, and which copies
of it verify when (docs/adr/0030)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub_connector_atlassian import ConfluenceConnector, JiraConnector, JiraTokenConnector
from hub_connector_github import GitHubConnector
from hub_oauth.domain.app_webhook_secret import Mirror, fingerprint, mirror_key, signed_with_client_secret

pytestmark = pytest.mark.unit


def test_jira_oauth_webhooks_are_signed_with_the_app_secret_and_no_others():
    assert signed_with_client_secret(JiraConnector.manifest())
    assert not signed_with_client_secret(JiraTokenConnector.manifest())  # basic auth: admin webhooks, HMAC
    assert not signed_with_client_secret(ConfluenceConnector.manifest())  # HMAC with a typed secret
    assert not signed_with_client_secret(GitHubConnector.manifest())
    assert not signed_with_client_secret(None)


def test_the_previous_copy_verifies_only_during_the_overlap():
    now = datetime.now(UTC)
    mirror = Mirror(
        "t", "jira", "tenant", "app", "f", mirror_key(2), mirror_key(1), now + timedelta(hours=1), now
    )
    assert mirror.keys(now) == ["client_secret.webhooks-v2", "client_secret.webhooks-v1"]
    assert mirror.keys(now + timedelta(hours=2)) == ["client_secret.webhooks-v2"]


def test_the_fingerprint_changes_with_the_secret_the_client_and_the_app():
    base = fingerprint("tenant", "app", "secret")
    assert base == fingerprint("tenant", "app", "secret")
    changed = {fingerprint("deployment", "app", "secret"), fingerprint("tenant", "app2", "secret")}
    changed.add(fingerprint("tenant", "app", "secret2"))
    assert base not in changed and len(changed) == 3
    assert "secret" not in base
