"""api of the webhooks service."""
