"""Known request ids for tests: a request id is its trace id, so a test names one by sending a
``traceparent`` (see :mod:`hub_common.web.request_id`)."""

from __future__ import annotations

import hashlib


def trace_id_for(label: str) -> str:
    """A stable 32-hex trace id for a readable label (``"req-store-1"``)."""
    return hashlib.sha256(label.encode()).hexdigest()[:32]


def traced(label: str) -> dict[str, str]:
    """Headers that make ``trace_id_for(label)`` the request id of the call."""
    return {"traceparent": f"00-{trace_id_for(label)}-00f067aa0ba902b7-01"}
