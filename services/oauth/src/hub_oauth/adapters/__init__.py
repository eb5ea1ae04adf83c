"""Outbound adapters: providers' OAuth endpoints, the connectors service, Redis locks."""
