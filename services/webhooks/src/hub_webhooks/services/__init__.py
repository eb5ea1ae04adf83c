"""services of the webhooks service."""
