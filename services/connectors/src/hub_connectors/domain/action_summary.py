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
MAX_DETAILS_BYTES = 4096
MAX_RETRY_AFTER_S = 86_400.0


def bounded_errors(result: ActionResult) -> ActionResult:
    """The caller's copy of a result: error details (the provider's body excerpt) redacted again
    and bounded here, since plugin code produced them; an absurd Retry-After is capped."""
    update: dict[str, Any] = {}
    if result.error_details:
        details = redact(result.error_details)
        size = len(jsonutil.dumps(details))
        update["error_details"] = (
            details if size <= MAX_DETAILS_BYTES else {"truncated": True, "size_bytes": size}
        )
    if result.retry_after_s is not None and result.retry_after_s > MAX_RETRY_AFTER_S:
        update["retry_after_s"] = MAX_RETRY_AFTER_S
    return result.model_copy(update=update) if update else result


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
