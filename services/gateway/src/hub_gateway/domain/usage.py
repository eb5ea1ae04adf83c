"""Token usage in AI providers' answers (pure), for connections whose manifest declares
``api.usage_format`` (docs/adr/0021).

==========  ==================================================================================
format      where the usage is
==========  ==================================================================================
openai      a JSON answer's ``usage``: ``prompt_tokens``/``completion_tokens`` (chat, embeddings)
            or ``input_tokens``/``output_tokens`` (responses); streamed: the chunk with
            ``usage`` (sent last with ``stream_options.include_usage``), or the
            ``response.completed`` event's ``response.usage``
anthropic   a JSON answer's ``usage.input_tokens``/``output_tokens``; streamed:
            ``message_start``'s ``message.usage`` (input) and ``message_delta``'s ``usage``
            (output so far: the last one is the total)
==========  ==================================================================================

A stream is read as it passes, chunk by chunk, and never held back: :class:`StreamMeter` keeps
only the unfinished last line of what it saw, and parses a line only when it mentions
``usage`` (a few lines per stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

MAX_LINE = 1 << 20  # a line longer than this is nobody's usage event: dropped, not buffered


@dataclass(slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def empty(self) -> bool:
        return self.input_tokens == 0 and self.output_tokens == 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _from_usage(usage: Any, into: TokenUsage) -> None:
    if not isinstance(usage, dict):
        return
    given = usage.get("input_tokens", usage.get("prompt_tokens"))
    made = usage.get("output_tokens", usage.get("completion_tokens"))
    if given is not None:
        into.input_tokens = _int(given)
    if made is not None:
        into.output_tokens = _int(made)


def from_json(body: bytes) -> TokenUsage | None:
    """The usage of a whole JSON answer (either format), or None when it has none."""
    if b'"usage"' not in body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    found = TokenUsage()
    if isinstance(data, dict):
        _from_usage(data.get("usage"), found)
    return None if found.empty else found


class StreamMeter:
    """Server-sent events → the stream's token usage, fed chunk by chunk."""

    __slots__ = ("_tail", "seen", "usage")

    def __init__(self) -> None:
        self._tail = b""
        self.usage = TokenUsage()
        self.seen = False

    def feed(self, chunk: bytes) -> None:
        if b"usage" not in chunk and b"\n" not in chunk:
            # A fragment of a line: keep it only if the line may turn out to matter.
            if len(self._tail) < MAX_LINE:
                self._tail += chunk
            return
        data = self._tail + chunk
        lines = data.split(b"\n")
        self._tail = lines.pop()
        if len(self._tail) > MAX_LINE:
            self._tail = b""
        for line in lines:
            # OpenAI's chunks say "usage":null until the last one: not worth parsing.
            if b"usage" in line and not (b'"usage":null' in line and line.count(b"usage") == 1):
                self._line(line)

    def close(self) -> TokenUsage | None:
        if self._tail and b"usage" in self._tail:
            self._line(self._tail)
        self._tail = b""
        return self.usage if self.seen and not self.usage.empty else None

    def _line(self, line: bytes) -> None:
        line = line.strip()
        if not line.startswith(b"data:"):
            return
        try:
            event = orjson.loads(line[5:].strip())
        except orjson.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start":  # Anthropic: input tokens (and the first output token)
            message = event.get("message")
            if isinstance(message, dict):
                _from_usage(message.get("usage"), self.usage)
                self.seen = True
        elif kind == "response.completed":  # OpenAI Responses API
            response = event.get("response")
            if isinstance(response, dict):
                _from_usage(response.get("usage"), self.usage)
                self.seen = True
        elif isinstance(event.get("usage"), dict):  # OpenAI chat chunk; Anthropic message_delta
            _from_usage(event["usage"], self.usage)
            self.seen = True
