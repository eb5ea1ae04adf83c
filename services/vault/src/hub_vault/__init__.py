"""Integration Hub vault service: Credential Vault."""
