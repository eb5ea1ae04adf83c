"""Local provider simulators that follow the providers' documented behaviour (docs/architecture.md §7).

``oauth_provider``: a strict OAuth 2.0 authorization server with GitHub, GitLab, Atlassian,
Slack, Notion and Linear flavors. ``runner.OAuthSimulator`` runs it as a process.

``framework``: a provider simulator = that OAuth server + the provider's API (validated against
its published description) + signed webhooks: ``github``, ``openai``, ``anthropic``,
``atlassian`` (Jira and Confluence). ``hub-sim <provider>``
(``cli``) runs one; ``runner.ProviderSim`` runs it from tests. See docs/adr/0017.
"""

from hub_e2e.simulators.runner import OAuthSimulator, ProviderSim

__all__ = ["OAuthSimulator", "ProviderSim"]
