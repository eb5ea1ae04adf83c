"""The provider path of a proxy call and the upstream URL built from it.

The caller's path is taken *as sent* (ASGI ``raw_path``, still percent-encoded) so that the
provider receives exactly the encoding the caller chose (``a%2Fb`` stays one segment). Checks run
on decoded forms too, because a provider or an intermediary may decode ``..%2f`` into ``../``
after us: we decode up to three times to catch ``%252e%252e`` as well, and refuse a path still
encoded after that. A dot segment is also one with parameters (``..;x``: Tomcat, Jetty and Spring
treat it as ``..``) or in full-width dots (U+FF0E, which NFKC turns into ``.``).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from urllib.parse import unquote

from hub_gateway.domain.errors import (
    AbsoluteUrlRefused,
    ConnectionNotFound,
    HostInjection,
    InvalidPath,
    PathTraversal,
)

PROXY_PREFIX = "/v1/proxy/"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1
MAX_PATH_CHARS = 8192
_UUIDS: dict[str, uuid.UUID] = {}  # parsed ids of recent calls (parsing costs more than a lookup)


def split_proxy_path(raw_path: str) -> tuple[uuid.UUID, str]:
    """``/v1/proxy/{connection_id}/{rest}`` → (connection id, encoded rest without leading slash)."""
    tail = raw_path[len(PROXY_PREFIX) :]
    cid, _, rest = tail.partition("/")
    connection_id = _UUIDS.get(cid)
    if connection_id is None:
        try:
            connection_id = uuid.UUID(cid)
        except ValueError:
            raise ConnectionNotFound("the connection id is not a UUID") from None
        if len(_UUIDS) >= 50_000:
            _UUIDS.clear()
        _UUIDS[cid] = connection_id
    if len(rest) > MAX_PATH_CHARS:
        raise InvalidPath(f"provider path longer than {MAX_PATH_CHARS} characters")
    return connection_id, rest


def _decodings(text: str) -> list[str]:
    if "%" not in text:
        return [text]
    forms = [text]
    for _ in range(3):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    if unquote(forms[-1]) != forms[-1]:
        raise InvalidPath("the provider path is percent-encoded more than three times")
    return forms


def _is_dot_segment(segment: str) -> bool:
    if not segment.isascii():  # normalised first: a full-width ";" becomes ";" too
        segment = unicodedata.normalize("NFKC", segment)
    return segment.split(";", 1)[0] in (".", "..")


def check_provider_path(rest: str) -> str:
    """Refuse traversal, absolute URLs and host injection; return ``/`` + the encoded path."""
    if not rest.isascii():
        # RFC 3986 §2.1: anything else is sent percent-encoded. Raw UTF-8 arrives here decoded
        # as latin-1, where U+FF0E twice (full-width dots) would no longer be recognised as "..".
        raise InvalidPath("the provider path must be percent-encoded ASCII (RFC 3986)")
    if rest.startswith("/") or rest.startswith("%2f") or rest.startswith("%2F"):
        # "/v1/proxy/<id>//evil.example/x": a scheme-relative URL names another host.
        raise HostInjection("the provider path must not start with '//' (another host)")
    for form in _decodings(rest):
        if _CONTROL.search(form):
            raise InvalidPath("control characters are not allowed in the provider path")
        if "\\" in form:
            raise InvalidPath("backslashes are not allowed in the provider path")
        if "://" in form or _SCHEME.match(form):
            raise AbsoluteUrlRefused(
                "the provider path must be relative to the connection's base URL, not a URL"
            )
        if form.startswith("/"):
            raise HostInjection("the provider path must not start with '//' (another host)")
        if ("." in form or not form.isascii()) and any(_is_dot_segment(seg) for seg in form.split("/")):
            raise PathTraversal("dot segments ('.', '..', encoded or not) are not allowed")
    return "/" + rest


def upstream_path(provider_path: str, query: str) -> str:
    """``provider_path`` (+ ``?query``) as it goes out under the base URL's own path.

    ``provider_path`` comes from :func:`check_provider_path` (one leading ``/``, no backslash), so
    it can only extend the base URL's path; anything else is refused rather than parsed."""
    if not provider_path.startswith("/") or provider_path.startswith("//") or "\\" in provider_path:
        raise HostInjection("the request would leave the connection's base URL")
    return f"{provider_path}?{query}" if query else provider_path


def join_url(base_url: str, provider_path: str, query: str) -> str:
    """``base_url`` + ``provider_path`` (+ ``?query``); the result stays on the base's origin."""
    return base_url.rstrip("/") + upstream_path(provider_path, query)


def rewrite_prefix(provider_path: str, from_prefix: str, to_prefix: str) -> str:
    """A transform's path rewrite; the result is checked again like a caller's path."""
    if not provider_path.startswith(from_prefix):
        return provider_path
    rewritten = to_prefix + provider_path[len(from_prefix) :]
    if not rewritten.startswith("/"):
        raise InvalidPath("a rewritten path must start with '/'")
    return check_provider_path(rewritten[1:])
