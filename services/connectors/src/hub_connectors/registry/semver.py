"""Semantic version ordering: the SDK's, so the hub and the SDK's test kit agree."""

from hub_connector_sdk.versions import at_most, version_key

__all__ = ["at_most", "version_key"]
