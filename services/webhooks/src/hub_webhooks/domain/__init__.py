"""domain of the webhooks service."""
