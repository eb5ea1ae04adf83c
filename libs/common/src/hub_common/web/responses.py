"""A JSON response rendered with orjson (for bodies built by hand, such as errors)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from hub_common import jsonutil


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)
