"""Shared by the webhooks service's tests (unit and integration)."""
