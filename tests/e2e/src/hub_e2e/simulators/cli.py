"""``hub-sim <provider> --port N``: run one provider simulator (test infrastructure and demo mode).

It prints the base URL, the API base URL(s) and the OAuth endpoints, then serves until stopped.
A hub connection points at it through its per-connection ``base_url`` and ``oauth_*`` overrides;
``POST /_sim/webhooks`` on it sends a signed event to any URL. See docs/adr/0017.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hub_e2e.simulators.anthropic import AnthropicSimulator
from hub_e2e.simulators.atlassian import AtlassianSimulator
from hub_e2e.simulators.framework import ProviderSimulator, create_provider_app
from hub_e2e.simulators.github import GitHubSimulator
from hub_e2e.simulators.gitlab import GitLabSimulator
from hub_e2e.simulators.linear import LinearSimulator
from hub_e2e.simulators.notion import NotionSimulator
from hub_e2e.simulators.openai import OpenAISimulator
from hub_e2e.simulators.slack import SlackSimulator

PROVIDERS: dict[str, type[ProviderSimulator]] = {
    cls.name: cls
    for cls in (
        GitHubSimulator,
        OpenAISimulator,
        AnthropicSimulator,
        NotionSimulator,
        SlackSimulator,
        GitLabSimulator,
        LinearSimulator,
        AtlassianSimulator,
    )
}
DEMO_CLIENT = {"client_id": "hub-sim-demo", "client_secret": "hub-sim-demo-secret"}
DEFAULT_REDIRECT = "http://127.0.0.1:8082/v1/oauth/callback"


def _json_arg(value: str) -> Any:
    """A JSON value, or ``@path`` to read it from a file."""
    return json.loads(Path(value[1:]).read_text() if value.startswith("@") else value)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hub-sim", description="Run a provider simulator")
    parser.add_argument("provider", choices=sorted(PROVIDERS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it on loopback)")
    parser.add_argument(
        "--clients",
        type=_json_arg,
        help="JSON list of OAuth clients ({client_id, client_secret, redirect_uris}), or @file; "
        "default: one demo client",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help=f"redirect URI of the demo client (repeatable; default {DEFAULT_REDIRECT})",
    )
    parser.add_argument(
        "--pat",
        action="append",
        default=[],
        help="personal access token (or API key) to accept, TOKEN or TOKEN:login",
    )
    parser.add_argument("--settings", type=_json_arg, default={}, help="OAuth settings (JSON or @file)")
    parser.add_argument(
        "--require-spec", action="store_true", help="fail when the provider's API description is missing"
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def banner(provider: ProviderSimulator, base: str, clients: list[dict[str, Any]], app: Any) -> str:
    endpoints = app.state.sim.flavor.endpoints
    spec = (
        f"requests and answers checked against {provider.spec_name}"
        if provider.guard.active
        else f"{provider.spec_name} not found (set HUB_SPECS_DIR): nothing is checked"
    )
    payloads = (
        f"checked against {provider.webhook_spec_name}" if provider.webhook_guard.active else "not checked"
    )
    lines = [
        f"hub-sim {provider.name}: {base}",
        f"  base URL:               {base}",
        *[f"  API base URL:           {base}{p}" for p in provider.api_prefixes],
        f"  authorization endpoint: {base}{endpoints.authorize}",
        f"  token endpoint:         {base}{endpoints.token}",
    ]
    if endpoints.revoke:
        lines.append(f"  revocation endpoint:    {base}{endpoints.revoke}")
    lines += [
        f"  send a webhook:         POST {base}/_sim/webhooks",
        f"  API description:        {spec}",
        f"  webhook payloads:       {payloads}",
        *[f"  OAuth client:           {c['client_id']} → {', '.join(c['redirect_uris'])}" for c in clients],
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    args = parse_args(argv)
    try:
        provider = PROVIDERS[args.provider].load(require_spec=args.require_spec)
    except FileNotFoundError as err:
        sys.exit(f"hub-sim: {err}")
    clients: list[dict[str, Any]] = args.clients or [
        {**DEMO_CLIENT, "redirect_uris": args.redirect_uri or [DEFAULT_REDIRECT]}
    ]
    for entry in args.pat:
        token, _, login = entry.partition(":")
        add_pat = getattr(provider, "add_pat", None)
        if add_pat is None:
            sys.exit(f"hub-sim {args.provider} has no personal access tokens")
        add_pat(token, login or "sim-user")
    app = create_provider_app(provider, clients=clients, settings=args.settings)
    print(banner(provider, f"http://{args.host}:{args.port}", clients, app), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
