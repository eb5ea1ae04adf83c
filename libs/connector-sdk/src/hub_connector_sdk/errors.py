"""Errors a connector raises; the host turns them into ActionResults or HTTP errors."""

from __future__ import annotations

from typing import Any


class ConnectorError(Exception):
    """A failure with a machine-readable code (never put a secret in the message)."""

    code = "connector_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.status_code = status_code
        self.details = details or {}


class InvalidParameters(ConnectorError):
    code = "invalid_parameters"


class ProviderError(ConnectorError):
    """The provider answered with an error (status_code is the provider's).

    ``retry_after_s``: the provider's (or the gateway's) Retry-After, when it sent one.
    ``body_excerpt``: a bounded excerpt of the error answer with secrets redacted; it reaches
    ``ActionResult.error_details["provider_body"]``.
    """

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, Any] | None = None,
        retry_after_s: float | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code, details=details)
        self.retry_after_s = retry_after_s
        self.body_excerpt = body_excerpt


class GatewayError(ProviderError):
    """The hub's gateway refused or failed the call itself (rate limit, unreachable provider,
    disallowed host...): says nothing about the connection's credentials."""

    code = "gateway_error"


class CredentialsRejected(ProviderError):
    """The provider refused the connection's credentials (401, or 403 on an identity call)."""

    code = "credentials_rejected"


class ManifestError(ConnectorError):
    code = "invalid_manifest"


class UnknownAction(ConnectorError):
    code = "unknown_action"


class UnknownTrigger(ConnectorError):
    code = "unknown_trigger"
