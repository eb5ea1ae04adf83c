"""Local provider simulators that follow the providers' documented behaviour (ARCHITECTURE.md §7).

``oauth_provider``: a strict OAuth 2.0 authorization server with GitHub, GitLab, Atlassian,
Slack, Notion and Linear flavors. ``runner.OAuthSimulator`` runs it as a process.
"""

from hub_e2e.simulators.runner import OAuthSimulator

__all__ = ["OAuthSimulator"]
