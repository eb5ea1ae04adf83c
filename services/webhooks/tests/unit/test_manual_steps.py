"""What a manual registration tells the user to do at the provider."""

from __future__ import annotations

import pytest

from hub_webhooks.services.registrations import manual_steps

pytestmark = pytest.mark.unit
URL = "https://hub.example/webhooks/slack/0b6f3f0e-9c52-4f2e-8d0e-3f1a2b4c5d6e"


def test_slack_steps_store_the_signing_secret_before_the_request_url_is_set():
    """Slack verifies the Request URL as soon as it is entered: a registration without the signing
    secret would refuse that challenge, so the secret comes first."""
    steps = manual_steps("slack", URL, False, "slack-v0")
    secret_step = next(i for i, s in enumerate(steps) if "/secret" in s)
    url_step = next(i for i, s in enumerate(steps) if URL in s)
    assert secret_step < url_step
    assert "Signing Secret" in steps[0] and "url_verification" in steps[url_step]
    assert any("app_mention" in s and "message.channels" in s for s in steps)


def test_other_providers_keep_the_generic_steps():
    steps = manual_steps("github", URL, True, "github-sha256")
    assert steps[1] == f"Set the webhook (request) URL to: {URL}" and "shown once" in steps[2]
    notion = manual_steps("notion", URL, False, "notion")
    assert any("verification token" in s for s in notion)


def test_a_registration_verified_with_the_apps_client_secret_asks_for_no_secret():
    """Jira signs with the OAuth app's client secret, which the hub already holds (ADR 0030)."""
    steps = manual_steps("jira", URL, False, "atlassian-jwt", app_secret=True)
    assert any(URL in s for s in steps) and any("Nothing to paste" in s for s in steps)
    assert not any("/secret" in s for s in steps)
    assert any("/secret" in s for s in manual_steps("jira", URL, False, "atlassian-jwt"))
