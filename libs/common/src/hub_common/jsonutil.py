"""Fast JSON (orjson) with one place that decides how dates, UUIDs and models serialise."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)
