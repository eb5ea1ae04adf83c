"""consumers of the webhooks service."""
