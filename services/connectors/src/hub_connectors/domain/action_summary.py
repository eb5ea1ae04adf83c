"""What an ``integration.action-executed`` event says about a result: bounded and secret-free.

The caller gets the full ``ActionResult``; the event (read by every consumer of the topic) gets
the data only when it is small, with values under secret-looking keys redacted.
"""

from __future__ import annotations

from typing import Any

from hub_common import jsonutil
from hub_common.events import ActionResultSummary
from hub_common.redaction import redact, redact_text
from hub_connector_sdk import ActionResult

MAX_MESSAGE_CHARS = 1000


def _as_container(data: Any) -> dict[str, Any] | list[Any] | None:
    if data is None or isinstance(data, dict | list):
        return data
    return {"value": data}


def summarize(result: ActionResult, max_bytes: int) -> ActionResultSummary:
    data = _as_container(redact(result.data))
    if data is not None:
        size = len(jsonutil.dumps(data))
        if size > max_bytes:
            data = {"truncated": True, "size_bytes": size}
    return ActionResultSummary(
        success=result.success,
        data=data,
        error_code=result.error_code,
        error_message=redact_text(result.error_message)[:MAX_MESSAGE_CHARS] if result.error_message else None,
        status_code=result.status_code,
    )
