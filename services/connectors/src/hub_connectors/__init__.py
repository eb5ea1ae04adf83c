"""Integration Hub connectors service: Connectors and Integration Manager."""
