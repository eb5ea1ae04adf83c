"""The upstream client's failures, as the proxy service tells them apart (retry, blame, answer)."""

from __future__ import annotations


class UpstreamError(Exception):
    """Base of the client's failures (messages name hosts, never headers or bodies)."""


class ConnectError(UpstreamError):
    """No connection: DNS failure, refused, or an address the SSRF rules refuse."""


class ConnectTimeout(UpstreamError, TimeoutError):
    pass


class ReadTimeout(UpstreamError, TimeoutError):
    pass


class PoolBusy(UpstreamError, TimeoutError):
    """Every connection of this gateway process to the origin stayed busy for the connect
    timeout: local congestion, not a verdict on the provider."""


class Disconnected(UpstreamError):
    """The connection broke; ``response_started`` tells whether any answer byte had arrived."""

    def __init__(self, message: str, *, response_started: bool) -> None:
        super().__init__(message)
        self.response_started = response_started


class ProtocolError(UpstreamError):
    pass


class UploadBroken(Disconnected):
    """The connection broke while the caller's body was still being sent, with no answer yet:
    often the provider giving up on a caller that stalled, so not counted against it."""


class UnsendableHeader(ValueError):
    """A header we were asked to send cannot go out (a line break, NUL, or a character outside
    ISO-8859-1). Raised before anything is sent: not the provider's failure, so it is no
    ``UpstreamError`` (nothing counts it against the provider's circuit)."""


class BodyLengthMismatch(ProtocolError):
    """The request body the caller sent does not match the length it declared."""


class HeadersTooLarge(ProtocolError):
    """The answer's head is larger than the gateway buffers (nothing bounds it otherwise)."""
