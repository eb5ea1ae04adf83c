"""Integration Hub webhooks service: Webhook system: inbound verification and outbound delivery."""
