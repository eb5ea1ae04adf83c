"""The Integration Manager UI in headless Chromium against real processes and the provider
simulators (docs/adr/0029): sign in with a bearer token; add a GitHub connection through the
simulator's OAuth pages and an OpenAI connection with an API key; build "when a GitHub issue is
opened, post a Slack message" with a Slack bot connection (the action side takes any connector's
action) — saving registers GitHub's webhook —, see it run when the GitHub simulator sends the
webhook, the message arrive at the Slack simulator and the run in the activity log; the
connection's rate limits and webhook registrations, a manual one's secret and steps; delete the
automation (its registration goes with it); disconnect; and an end user connecting through a
connect session with no hub login.

Set ``HUB_UI_SCREENSHOTS=docs/screenshots`` to write a screenshot of every page there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub_common.settings import HubSettings
from hub_common.web.auth import mint_user_token
from hub_connector_sdk.testkit import spec_file
from hub_e2e.browser import Browser, chromium_paths, headless_chromium
from hub_e2e.processes import ServiceProcess, free_port
from hub_e2e.simulators.runner import ProviderSim

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
TENANT = "e2e-ui"
CLIENT_ID, CLIENT_SECRET = "Iv1.e2eui", "e2e-ui-github-secret-0123456789"
GITHUB_PAT = "ghp_e2eUiSimulatedPersonalAccessToken1"
OPENAI_KEY = "sk-proj-e2eUiSimulatedOpenAIKey00000001"
SLACK_BOT = "xoxb-e2eUiSimulatedBotToken-0000000001"
CHANNEL = "C0SIMRANDOM0"
REPO = "sim-user/sandbox"


def token(tenant: str = TENANT) -> str:
    return mint_user_token(HubSettings(), tenant=tenant, user="alice", tier="enterprise")


def api_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {token()}"}


@pytest.fixture(scope="module")
def hub(hub_stack, module_dsn) -> Iterator[dict]:
    if chromium_paths() is None:
        pytest.skip("chromium and chromium-driver are not installed (`make up` installs them)")
    if spec_file("github-rest.json") is None or spec_file("openai.json") is None:
        pytest.skip("github-rest.json / openai.json not available (HUB_SPECS_DIR)")
    oauth_port = free_port()
    public = f"http://127.0.0.1:{oauth_port}"
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{public}/v1/oauth/callback"],
    }
    with (
        ProviderSim(provider="github", clients=[client], pats={GITHUB_PAT: "sim-user"}) as github,
        ProviderSim(provider="openai", pats={OPENAI_KEY: "e2e"}) as openai,
        ProviderSim(provider="slack", pats={SLACK_BOT: "hubbot"}) as slack,
    ):
        vault, connectors = ServiceProcess("vault", {}), ServiceProcess("connectors", {})
        oauth, gateway = ServiceProcess("oauth", {}, port=oauth_port), ServiceProcess("gateway", {})
        webhooks = ServiceProcess("webhooks", {})
        env = {
            "HUB_POSTGRES_DSN": module_dsn,
            "HUB_KAFKA_BOOTSTRAP": hub_stack.kafka_bootstrap,
            "HUB_REDIS_URL": hub_stack.redis_url,
            "HUB_OUTBOUND_ALLOWLIST": "127.0.0.1",
            "HUB_GITHUB_ENTERPRISE_HOSTS": "127.0.0.1",
            "HUB_OPENAI_COMPATIBLE_HOSTS": "127.0.0.1",
            "HUB_SLACK_HOSTS": "127.0.0.1",
            "HUB_VAULT_URL": vault.url,
            "HUB_CONNECTORS_URL": connectors.url,
            "HUB_OAUTH_URL": oauth.url,
            "HUB_GATEWAY_URL": gateway.url,
            "HUB_WEBHOOKS_URL": webhooks.url,
            "HUB_OAUTH_PUBLIC_URL": public,
            # The UI lives on this run's connectors port: OAuth may send the browser back there.
            "HUB_OAUTH_UI_URL": f"{connectors.url}/ui",
            "HUB_OAUTH_RETURN_TO_ALLOWLIST": connectors.url,
            "HUB_CONNECTORS_CONSUMER_OFFSET_RESET": "latest",
            "HUB_WEBHOOKS_DELIVERY_OFFSET_RESET": "latest",
        }
        procs = [vault, connectors, oauth, gateway, webhooks]
        try:
            for proc in procs:
                proc.env = env
                proc.migrate()
            for proc in procs:
                proc.start()
            yield {"github": github, "openai": openai, "slack": slack, "connectors": connectors,
                   "oauth": oauth, "webhooks": webhooks}  # fmt: skip
        finally:
            for proc in reversed(procs):
                proc.stop()


@pytest.fixture(scope="module")
def browser(hub) -> Iterator[Browser]:
    with headless_chromium() as b:
        yield b


class Shots:
    """Screenshots of every page, when HUB_UI_SCREENSHOTS names a directory."""

    def __init__(self, browser: Browser) -> None:
        where = os.environ.get("HUB_UI_SCREENSHOTS")
        self.dir = Path(where) if where else None
        self.browser = browser

    def __call__(self, name: str, width: int = 1280) -> None:
        if self.dir is None:
            return
        self.browser.size(width, 900)
        self.browser.screenshot(self.dir / f"{name}.png")
        self.browser.size(1280, 900)


def submit(browser: Browser, selector: str = "main form button[type=submit]") -> None:
    browser.find(selector).click()


def reload_until(browser: Browser, url: str, text: str, timeout_s: float = 60.0) -> None:
    def there() -> bool:
        browser.go(url)
        return text in browser.source

    browser.wait_for(there, timeout_s=timeout_s, what=f"{text!r} on {url}")


def sign_in(browser: Browser, ui: str, shots: Shots | None = None) -> None:
    browser.go(f"{ui}/login")
    if shots:
        shots("01-sign-in")
    browser.find("#token").type(token())
    submit(browser)
    browser.wait_for(lambda: browser.url.endswith("/ui/connections"), what="signed in")


def test_connect_build_run_audit_disconnect(hub, browser):
    ui = f"{hub['connectors'].url}/ui"
    shots = Shots(browser)
    github, openai = hub["github"], hub["openai"]
    sign_in(browser, ui, shots)
    assert "No connections" in browser.source
    shots("02-connections-empty")
    # Keyboard: the first Tab lands on the skip link, which is visible when focused.
    browser.press("tab")
    assert browser.script("return document.activeElement.className") == "skip"

    # The operator registered the hub's GitHub OAuth app (oauth's API); the user connects.
    app = httpx.put(f"{hub['oauth'].url}/v1/oauth/apps/github", headers=api_headers(),
                    json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})  # fmt: skip
    assert app.status_code in (200, 201), app.text
    browser.go(f"{ui}/connections/new")
    shots("03-add-connection-picker")
    browser.find("#pick-github").click()
    browser.fill({
        "#name": "GitHub (simulator)",
        "#config-base_url": f"{github.url}/api/v3",
        "#config-webhook_repository": REPO,
        "#config-oauth_authorization_url": f"{github.url}/login/oauth/authorize",
        "#config-oauth_token_url": f"{github.url}/login/oauth/access_token",
        "#config-oauth_revocation_url": f"{github.url}/applications/{{client_id}}/token",
        "#config-oauth_identity_url": f"{github.url}/api/v3/user",
    })  # fmt: skip
    shots("04-add-github-form")
    submit(browser)
    # The simulator's authorize page consents and redirects; the hub's callback sends us back.
    browser.wait_for(lambda: "/ui/connections/" in browser.url and "status=connected" in browser.url,
                     what="back from GitHub")  # fmt: skip
    gh_id = browser.url.split("/ui/connections/")[1].split("?")[0]
    reload_until(browser, f"{ui}/connections/{gh_id}", "✓</span> Active")
    shots("05-github-connection-detail")

    browser.go(f"{ui}/connections/new")
    browser.find("#pick-openai").click()
    browser.fill(
        {"#name": "OpenAI (simulator)", "#config-base_url": f"{openai.url}/v1", "#cred-api_key": OPENAI_KEY}
    )
    shots("06-add-openai-form")
    submit(browser)
    browser.wait_for(lambda: "/ui/connections/" in browser.url, what="OpenAI created")
    assert "✓</span> Active" in browser.source, browser.source[:2000]
    openai_id = browser.url.split("/ui/connections/")[1].split("?")[0]
    browser.go(f"{ui}/connections")
    assert "GitHub (simulator)" in browser.source and "OpenAI (simulator)" in browser.source
    shots("07-connections")
    shots("07b-connections-360px", width=360)
    browser.size(360, 800)
    browser.go(f"{ui}/connections")
    assert browser.script("return document.documentElement.scrollWidth") <= 360
    browser.size(1280, 900)

    # A Slack bot token, pasted into the connector's credential form.
    slack = hub["slack"]
    browser.go(f"{ui}/connections/new")
    browser.find("#pick-slack_bot").click()
    browser.fill(
        {"#name": "Slack (simulator)", "#config-base_url": f"{slack.url}/api", "#cred-token": SLACK_BOT}
    )
    submit(browser)
    browser.wait_for(lambda: "/ui/connections/" in browser.url, what="Slack created")
    slack_id = browser.url.split("/ui/connections/")[1].split("?")[0]
    reload_until(browser, f"{ui}/connections/{slack_id}", "✓</span> Active")

    # The connection's page: the gateway's rate-limit status, and no webhook registration yet.
    browser.go(f"{ui}/connections/{gh_id}")
    assert "Not limited" in browser.source and "Hub quota (connection)" in browser.source, browser.source[
        :3000
    ]
    assert "No webhook registration" in browser.source

    # The builder: GitHub issue opened → a Slack message (any connector's action fits here). Each
    # trigger is named with its connection (two GitHub connections would be told apart).
    browser.go(f"{ui}/automations/new")
    trigger_label = f'<option value="{gh_id}:issue_opened">GitHub (simulator): Issue opened</option>'
    assert trigger_label in browser.source, browser.source[:3000]
    browser.find("#name").type("Tell the team about new issues")
    browser.choose("#trigger", f"{gh_id}:issue_opened")
    browser.choose("#action", f"{slack_id}:send_message")
    browser.find("button[value=choose]").click()
    browser.fill({
        "#param-channel": CHANNEL,
        "#param-text": "New issue #{{ payload.issue.number }}: “{{ payload.issue.title }}”",
    })  # fmt: skip
    browser.find("button[value=preview]").click()
    browser.find("#h-preview")
    assert "Fits the action" in browser.source, browser.source[:3000]
    shots("08-automation-builder-preview")
    # Saving registers GitHub's issue webhook at the provider (GitHub registers hooks by API).
    browser.find("button[value=save]").click()
    browser.wait_for(lambda: "/ui/automations/" in browser.url and "Run history" in browser.source,
                     what="automation saved")  # fmt: skip
    assert "Its webhook was registered at the provider." in browser.source
    automation_url = browser.url.split("?")[0]
    browser.go(f"{ui}/connections/{gh_id}")
    assert "issue_opened</strong> — registered at the provider by the hub" in browser.source, browser.source[
        :4000
    ]

    # An issue opened at GitHub: the simulator sends the webhook, the automation posts to Slack.
    opened = httpx.post(f"{github.url}/api/v3/repos/{REPO}/issues", json={"title": "Login page is blank"},
                        headers={"Authorization": f"Bearer {GITHUB_PAT}"}, timeout=30)  # fmt: skip
    assert opened.status_code == 201, opened.text
    number = opened.json()["number"]
    reload_until(browser, automation_url, "✓</span> Succeeded", timeout_s=90)
    shots("09-automation-runs")
    expected = f"New issue #{number}: “Login page is blank”"
    automation_id = automation_url.rsplit("/", 1)[1]
    runs = httpx.get(
        f"{hub['connectors'].url}/v1/automations/{automation_id}/runs", headers=api_headers()
    ).json()
    [run] = runs["runs"]
    assert run["rendered_parameters"] == {"channel": CHANNEL, "text": expected}
    assert run["result"]["success"] is True
    # The message is in the channel at Slack (read back through Slack's own Web API).
    posted = httpx.get(f"{slack.url}/api/conversations.replies",
                       params={"channel": CHANNEL, "ts": run["result"]["data"]["ts"]},
                       headers={"Authorization": f"Bearer {SLACK_BOT}"}, timeout=30).json()  # fmt: skip
    assert posted["ok"] is True and posted["messages"][0]["text"] == expected, posted
    # The connection's detail counts what its webhook registration received.
    reload_until(browser, f"{ui}/connections/{gh_id}", "Events received per webhook registration")
    assert "<td>issue_opened</td><td>1</td>" in browser.source

    # The registration counts what reached the hub (GitHub's ping on creation included).
    def received() -> bool:
        browser.go(f"{ui}/connections/{gh_id}")
        return re.search(r"<dt>Received</dt><dd>[1-9][0-9]* ·", browser.source) is not None

    browser.wait_for(received, timeout_s=60, what="the registration's received count")
    shots("05b-github-connection-webhooks")

    # A manual registration made on the page: URL, the secret shown this once, and the steps.
    browser.find("input[name=trigger_ids][value=issue_closed]").click()
    browser.find("input[name=mode][value=manual]").click()
    browser.find("form[action$='/webhooks'] button[type=submit]").click()
    browser.wait_for(lambda: "webhook-steps" in browser.source, what="manual steps")
    secret = browser.find("#webhook-secret").text
    assert secret and "/webhooks/github/" in browser.find("#webhook-url").text
    assert "Set the webhook (request) URL to" in browser.source
    shots("18-webhook-manual-steps")
    browser.go(f"{ui}/connections/{gh_id}")
    assert "issue_closed</strong> — set up by hand" in browser.source and secret not in browser.source
    shots("05c-github-connection-rate-limits-registrations")
    shots("05d-github-connection-360px", width=360)
    browser.size(360, 800)
    browser.go(f"{ui}/connections/{gh_id}")  # long webhook URLs wrap: nothing wider than the screen
    assert browser.script("return document.documentElement.scrollWidth") <= 360
    browser.size(1280, 900)
    browser.go(f"{ui}/automations")
    shots("10-automations")

    reload_until(browser, f"{ui}/activity?event_type=automation.run", "automation run", timeout_s=60)
    shots("11-activity")
    browser.go(f"{ui}/activity")
    assert "integration.connected" in browser.source

    browser.go(f"{ui}/credentials")
    assert OPENAI_KEY not in browser.source and "Secrets kept: API key" in browser.source
    shots("12-credentials")
    browser.go(f"{ui}/license")
    assert "enterprise" in browser.source
    shots("13-license")

    # Slack's Events API is set up in the app's settings: saving an automation on a Slack trigger
    # makes a manual registration and shows its steps; the signing secret Slack issues is then
    # stored on the connection's page.
    browser.go(f"{ui}/automations/new")
    browser.find("#name").type("Echo reactions")
    browser.choose("#trigger", f"{slack_id}:reaction_added")
    browser.choose("#action", f"{slack_id}:send_message")
    browser.find("button[value=choose]").click()
    browser.fill({"#param-channel": CHANNEL, "#param-text": "Reaction {{ payload.reaction }}"})
    browser.find("button[value=save]").click()
    browser.wait_for(lambda: "one more step" in browser.source, what="the manual steps after saving")
    assert "Signing Secret" in browser.find("#webhook-steps").text
    assert "/webhooks/slack_bot/" in browser.find("#webhook-url").text
    assert "webhook-secret" not in browser.source  # Slack issues the secret, the hub has none to show
    shots("19-automation-saved-manual-steps")
    browser.go(f"{ui}/connections/{slack_id}")
    assert "Waiting for the provider's signing secret" in browser.source
    browser.find("input[name=secret]").type("slack-signing-secret-from-the-app-settings")
    browser.find("form[action$='/secret'] button").click()
    browser.wait_for(lambda: "Signing secret stored." in browser.source, what="secret stored")
    assert "Waiting for the provider's signing secret" not in browser.source
    assert re.search(r'reaction_added</strong> — set up by hand ·\s*<span class="badge ok">', browser.source)

    # Deleting the last automation on GitHub's issue_opened removes the registration saving made
    # (the hook at GitHub too); the one made by hand stays.
    browser.go(automation_url)
    browser.find(f"form[action='/ui/automations/{automation_id}/delete'] button").click()
    browser.wait_for(lambda: "Automation deleted." in browser.source, what="automation deleted")
    left = httpx.get(f"{hub['webhooks'].url}/v1/webhooks/registrations", params={"connection_id": gh_id},
                     headers=api_headers()).json()["registrations"]  # fmt: skip
    assert [r["trigger_ids"] for r in left] == [["issue_closed"]], left

    # Disconnect OpenAI, after a confirmation that says what will happen.
    browser.go(f"{ui}/connections/{openai_id}")
    assert "Its triggers are polled by the hub: no webhook is needed." in browser.source  # batches
    browser.find("a.danger").click()
    assert "delete the stored credentials from the vault" in browser.source
    shots("14-disconnect-confirmation")
    submit(browser, "main form button.danger")
    browser.wait_for(lambda: "disconnected." in browser.source, what="disconnected")
    assert "OpenAI (simulator)</a>" not in browser.source
    gone = httpx.get(f"{hub['connectors'].url}/v1/connections/{openai_id}", headers=api_headers())
    assert gone.json()["status"] == "disconnected"


def test_an_end_user_connects_through_a_connect_session(hub, browser):
    ui = f"{hub['connectors'].url}/ui"
    shots = Shots(browser)
    # No hub session in this browser.
    browser.go(f"{ui}/connections")
    if "/ui/login" not in browser.url:
        browser.find("form.signout button").click()
        browser.wait_for(lambda: "/ui/login" in browser.url, what="signed out")
    body = {
        "end_user": {"id": "customer-7", "email": "c7@example.com"},
        "allowed_connectors": ["openai"],
        "return_to": "https://app.example/integrations",
    }
    made = httpx.post(f"{hub['connectors'].url}/v1/connect/sessions", headers=api_headers(), json=body)
    assert made.status_code == 201, made.text
    browser.go(made.json()["connect_url"])
    browser.wait_for(lambda: browser.url.endswith("/ui/connect/start"), what="connect session opened")
    assert "OpenAI" in browser.source and "pick-github" not in browser.source
    shots("15-connect-start")
    browser.find("#pick-openai").click()
    browser.fill(
        {
            "#name": "Customer 7 OpenAI",
            "#config-base_url": f"{hub['openai'].url}/v1",
            "#cred-api_key": OPENAI_KEY,
        }
    )
    shots("16-connect-form")
    submit(browser)
    browser.wait_for(lambda: "is connected" in browser.source, what="end user connected")
    assert "https://app.example/integrations" in browser.source
    shots("17-connect-done")
    # The end user sees no hub page; the hub user sees the connection, tagged.
    browser.go(f"{ui}/connections")
    assert "for hub users" in browser.source
    browser.go(f"{ui}/connect/start")
    sign_in(browser, ui)
    assert "end user: customer-7" in browser.source
    # A used link opens nothing.
    browser.go(made.json()["connect_url"])
    assert "expired or was already used" in browser.source
