"""The connectors shipped with the hub. Empty until the nine built-ins land (a later issue):
each will be a ``BaseConnector`` subclass listed here, loaded before any plugin so that a plugin
can never shadow a built-in id."""

from __future__ import annotations

from hub_connector_sdk import BaseConnector

BUILTINS: tuple[type[BaseConnector], ...] = ()
