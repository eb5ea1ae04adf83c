"""Every refusal the gateway can answer with: a status, a stable code, a message (never a secret)."""

from __future__ import annotations

from typing import Any

from hub_common.errors import HubError


class GatewayError(HubError):
    """Base of the gateway's own errors (rendered in the hub's error shape)."""


class InvalidPath(GatewayError):
    status_code = 400
    code = "invalid_path"


class PathTraversal(InvalidPath):
    code = "path_traversal"


class AbsoluteUrlRefused(InvalidPath):
    code = "absolute_url_not_allowed"


class HostInjection(InvalidPath):
    code = "host_injection"


class MethodNotAllowed(GatewayError):
    status_code = 405
    code = "method_not_allowed"


class ClientGone(GatewayError):
    status_code = 400
    code = "client_disconnected"


class UserRequired(GatewayError):
    status_code = 403
    code = "user_required"


class TenantRequired(GatewayError):
    status_code = 400
    code = "tenant_required"


class FeatureNotInTier(GatewayError):
    status_code = 403
    code = "feature_not_in_tier"


class ServiceNotAllowed(GatewayError):
    status_code = 403
    code = "service_not_allowed"


class PluginScope(GatewayError):
    """A plugin token used beyond what it grants (another tenant, another route)."""

    status_code = 403
    code = "plugin_scope"


class HostNotAllowed(GatewayError):
    status_code = 403
    code = "host_not_allowed"


class ConnectionNotFound(GatewayError):
    status_code = 404
    code = "connection_not_found"

    def __init__(self, message: str = "no such connection", **kw: Any) -> None:
        super().__init__(message, **kw)


class TransformNotFound(GatewayError):
    status_code = 404
    code = "transform_not_found"

    def __init__(self, message: str = "no transform for this connector", **kw: Any) -> None:
        super().__init__(message, **kw)


class ConnectionNotActive(GatewayError):
    status_code = 409
    code = "connection_not_active"


class BodyTooLarge(GatewayError):
    status_code = 413
    code = "body_too_large"


class RateLimited(GatewayError):
    status_code = 429
    code = "rate_limited"


class ProviderRateLimited(GatewayError):
    status_code = 429
    code = "provider_rate_limited"


class UpstreamUnreachable(GatewayError):
    status_code = 502
    code = "upstream_unreachable"


class UpstreamError(GatewayError):
    status_code = 502
    code = "upstream_error"


class CircuitOpen(GatewayError):
    status_code = 503
    code = "circuit_open"


class DependencyUnavailable(GatewayError):
    status_code = 503
    code = "dependency_unavailable"


class BodyLengthInvalid(GatewayError):
    status_code = 400
    code = "body_length_mismatch"


class UpstreamHeadersTooLarge(GatewayError):
    status_code = 502
    code = "upstream_headers_too_large"


class UpstreamTimeout(GatewayError):
    status_code = 504
    code = "upstream_timeout"


class UpstreamPoolBusy(GatewayError):
    """This gateway process has every connection to the provider busy: try again shortly."""

    status_code = 503
    code = "upstream_pool_busy"


class RequestBodyTimeout(GatewayError):
    """The caller stopped sending its declared body (nothing arrived for the body timeout)."""

    status_code = 408
    code = "request_body_timeout"


class InvalidTransform(GatewayError):
    status_code = 422
    code = "invalid_transform"


class HeaderNotSendable(GatewayError):
    """A credential, default or transformed header value cannot be sent in HTTP."""

    status_code = 409
    code = "header_not_sendable"
