"""adapters of the webhooks service."""
