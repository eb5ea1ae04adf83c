"""Registration secrets come in the shape the provider's scheme reads."""

from __future__ import annotations

import base64

import pytest

from hub_webhooks.services.secrets import new_secret

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("preset", ["standard-webhooks", "gitlab-signing"])
def test_schemes_keyed_with_base64_secrets_get_whsec_tokens(preset):
    token = new_secret(preset)
    assert token.startswith("whsec_") and len(base64.b64decode(token[6:], validate=True)) == 32


@pytest.mark.parametrize("preset", ["gitlab-token", "github-sha256", None])
def test_other_schemes_get_hex_text(preset):
    token = new_secret(preset)
    assert len(token) == 64 and int(token, 16) >= 0
