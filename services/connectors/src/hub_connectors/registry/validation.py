"""Everything checked about a connector class before it is hosted. Each failure names the cause."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from hub_connector_sdk import BaseConnector, ConnectorManifest, ManifestError
from hub_connector_sdk.models import HOSTED_AUTH_METHODS  # what the gateway knows how to inject
from hub_connector_sdk.versions import at_most
from hub_connectors.domain.hosts import (
    HostNotAllowed,
    check_declared,
    check_not_internal,
    effective_allowed_hosts,
)


class RegistrationError(Exception):
    """Why a connector was not loaded (shown to operators; never a secret)."""


def validated_manifest(
    candidate: object, *, hub_version: str, builtin: bool, operator_allowlist: tuple[str, ...] = ()
) -> ConnectorManifest:
    """A connector class's manifest, checked."""
    if not (isinstance(candidate, type) and issubclass(candidate, BaseConnector)):
        raise RegistrationError(f"{candidate!r} is not a BaseConnector subclass")
    try:
        manifest = candidate.manifest()
    except ManifestError as exc:
        raise RegistrationError(f"invalid manifest: {exc.message}") from None
    return checked_manifest(
        manifest, hub_version=hub_version, builtin=builtin, operator_allowlist=operator_allowlist
    )


def manifest_from_data(data: Any) -> ConnectorManifest:
    """A manifest reported by plugin discovery (another process: untrusted data)."""
    try:
        return ConnectorManifest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10])
        raise RegistrationError(f"invalid manifest: {problems}") from None


def checked_manifest(
    manifest: ConnectorManifest, *, hub_version: str, builtin: bool, operator_allowlist: tuple[str, ...] = ()
) -> ConnectorManifest:
    if manifest.auth.method not in HOSTED_AUTH_METHODS:
        supported = ", ".join(sorted(str(m) for m in HOSTED_AUTH_METHODS))
        raise RegistrationError(
            f"{manifest.id}: auth method {manifest.auth.method!s} is not supported (supported: {supported})"
        )
    if not at_most(manifest.min_hub_version, hub_version):
        raise RegistrationError(
            f"{manifest.id}: needs hub {manifest.min_hub_version} or newer; this hub is {hub_version}"
        )
    try:
        Draft202012Validator.check_schema(manifest.api.config_schema)
    except SchemaError as exc:
        raise RegistrationError(
            f"{manifest.id}: api.config_schema is not a JSON Schema: {exc.message}"
        ) from None
    try:
        check_declared(
            manifest.api.base_url, effective_allowed_hosts(manifest.api.base_url, manifest.api.allowed_hosts)
        )
        if not builtin:  # built-ins are trusted with any host they declare
            check_not_internal(manifest.api.base_url, operator_allowlist)
    except HostNotAllowed as exc:
        raise RegistrationError(f"{manifest.id}: api.base_url: {exc.message}") from None
    # The registry, not the plugin, says what is built in.
    return manifest.model_copy(update={"builtin": builtin})
