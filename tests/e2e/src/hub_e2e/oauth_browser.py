"""Play the user's browser through a hub OAuth flow, as the binding requires (docs/adr/0012).

The browser opens the flow's one-time ``start_url`` (the hub sets the binding cookie and sends
it to the provider), the provider redirects it back, and the same browser (the same cookie jar)
delivers the callback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx


def complete_in_browser(
    flow: dict[str, Any], *, account: str | None = None, accept: str = "application/json"
) -> httpx.Response:
    """Open ``flow["start_url"]`` in a fresh browser, consent at the provider (``account``: the
    simulator's ``sim_user``), and return the hub callback's answer."""
    with httpx.Client(timeout=30, headers={"accept": accept}) as browser:
        opened = browser.get(flow["start_url"])
        assert opened.status_code == 303, opened.text
        provider_url = opened.headers["location"]
        if account is not None:
            provider_url = f"{provider_url}&{urlencode({'sim_user': account})}"
        at_provider = browser.get(provider_url)
        assert at_provider.status_code in (302, 303), at_provider.text
        return browser.get(at_provider.headers["location"])
