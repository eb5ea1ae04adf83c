"""repositories of the webhooks service."""
